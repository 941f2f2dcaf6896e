//! SHOW HISTORY FOR TABLES, SHOW HISTORY FOR TABLE …, and the same data as table functions
//! (`timemachine_history('t' [, 'id'])`, `timemachine_tables()`) for ordinary SQL.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use datafusion::arrow::array::{ArrayRef, Int64Array, StringArray, TimestampMillisecondArray};
use datafusion::arrow::datatypes::{DataType, Field, Schema, TimeUnit};
use datafusion::arrow::record_batch::RecordBatch;
use datafusion::catalog::{TableFunctionImpl, TableProvider};
use datafusion::common::ScalarValue;
use datafusion::datasource::MemTable;
use datafusion::error::{DataFusionError, Result as DfResult};
use datafusion::logical_expr::Expr;

use super::retention::{cutoff, expired_error, restorable, table_expired};
use crate::error::{Error, Result};
use crate::log::Project;
use crate::log::model::{ObjectType, format_lsn};
use crate::log::state::{ProjectState, TableHistory};

/// Formats a commit time as MaxCompute does: `2020-02-18 14:17:58` (UTC).
pub fn format_time(t: DateTime<Utc>) -> String {
    t.format("%Y-%m-%d %H:%M:%S").to_string()
}

fn check_id(id: &str) -> Result<()> {
    if id.len() != 32 || !id.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)) {
        return Err(Error::invalid(format!(
            "malformed id '{id}': an ObjectId is 32 lowercase hex characters (see SHOW HISTORY)"
        )));
    }
    Ok(())
}

/// The table that `name` (and optionally `('id'='…')`) designates: with an id, that table (live
/// or dropped and within retention); without, the live table of that name.
pub fn resolve<'a>(
    state: &'a ProjectState,
    name: &str,
    id: Option<&str>,
    now: DateTime<Utc>,
) -> Result<&'a TableHistory> {
    let cut = cutoff(state, now);
    match id {
        Some(id) => {
            check_id(id)?;
            let t = state
                .tables
                .get(id)
                .ok_or_else(|| Error::not_found(format!("no table has id {id} (or it was purged)")))?;
            if t.current.name != name {
                return Err(Error::not_found(format!(
                    "table id {id} is named {}, not {name}",
                    t.current.name
                )));
            }
            if table_expired(t, cut) {
                return Err(expired_error(&format!("dropped table {name} ('id'='{id}')"), state));
            }
            state.check_readable(&t.id)?;
            Ok(t)
        }
        None => {
            let t = live_or_dropped_hint(state, name, cut)?;
            state.check_readable(&t.id)?;
            Ok(t)
        }
    }
}

/// The live table `name`, or an error that lists the dropped tables of that name.
fn live_or_dropped_hint<'a>(state: &'a ProjectState, name: &str, cut: DateTime<Utc>) -> Result<&'a TableHistory> {
    state.live_table(name).ok_or_else(|| {
            let dropped: Vec<&str> = state
                .tables
                .values()
                .filter(|t| t.current.dropped && t.current.name == name && !table_expired(t, cut))
                .map(|t| t.id.as_str())
                .collect();
            if dropped.is_empty() {
                Error::not_found(format!("table {name} does not exist"))
            } else {
                Error::not_found(format!(
                    "table {name} does not exist; it was dropped: name it by id, e.g. {name}('id'='{}') (ids: {})",
                    dropped[0],
                    dropped.join(", ")
                ))
            }
        })
}

/// One history row with its version's LSN and time.
pub struct HistoryLine {
    /// TABLE or PARTITION.
    pub object_type: ObjectType,
    /// ObjectId.
    pub object_id: String,
    /// Table name or partition spec.
    pub object_name: String,
    /// LSN of the version.
    pub lsn: u64,
    /// Commit time.
    pub time: DateTime<Utc>,
    /// Operation.
    pub operation: String,
}

/// The restorable history of `table`, ordered by LSN.
pub fn lines(state: &ProjectState, table: &TableHistory, now: DateTime<Utc>) -> Vec<HistoryLine> {
    restorable(table, cutoff(state, now))
        .iter()
        .flat_map(|e| {
            e.history.iter().map(move |h| HistoryLine {
                object_type: h.object_type,
                object_id: h.object_id.clone(),
                object_name: h.object_name.clone(),
                lsn: e.lsn,
                time: e.time,
                operation: h.operation.to_string(),
            })
        })
        .collect()
}

fn utf8(values: Vec<String>) -> ArrayRef {
    Arc::new(StringArray::from(values))
}

/// SHOW HISTORY output: ObjectType, ObjectId, ObjectName, LSN, Time, Operation.
pub fn history_batch(lines: &[HistoryLine]) -> Result<RecordBatch> {
    let names = ["ObjectType", "ObjectId", "ObjectName", "LSN", "Time", "Operation"];
    let schema = Schema::new(names.iter().map(|n| Field::new(*n, DataType::Utf8, false)).collect::<Vec<_>>());
    Ok(RecordBatch::try_new(
        Arc::new(schema),
        vec![
            utf8(lines.iter().map(|l| l.object_type.to_string()).collect()),
            utf8(lines.iter().map(|l| l.object_id.clone()).collect()),
            utf8(lines.iter().map(|l| l.object_name.clone()).collect()),
            utf8(lines.iter().map(|l| format_lsn(l.lsn)).collect()),
            utf8(lines.iter().map(|l| format_time(l.time)).collect()),
            utf8(lines.iter().map(|l| l.operation.clone()).collect()),
        ],
    )?)
}

/// Tables shown by SHOW HISTORY FOR TABLES: live ones and dropped ones within retention,
/// by name then creation time.
pub fn listed_tables(state: &ProjectState, now: DateTime<Utc>) -> Vec<&TableHistory> {
    let cut = cutoff(state, now);
    let mut tables: Vec<&TableHistory> = state.tables.values().filter(|t| !table_expired(t, cut)).collect();
    tables.sort_by(|a, b| (&a.current.name, a.created).cmp(&(&b.current.name, b.created)));
    tables
}

/// SHOW HISTORY FOR TABLES output: Name, Id, Type, IsPartitioned, CreateTime, DropTime.
pub fn tables_batch(tables: &[&TableHistory]) -> Result<RecordBatch> {
    let names = ["Name", "Id", "Type", "IsPartitioned", "CreateTime", "DropTime"];
    let schema = Schema::new(names.iter().map(|n| Field::new(*n, DataType::Utf8, false)).collect::<Vec<_>>());
    Ok(RecordBatch::try_new(
        Arc::new(schema),
        vec![
            utf8(tables.iter().map(|t| t.current.name.clone()).collect()),
            utf8(tables.iter().map(|t| t.id.clone()).collect()),
            utf8(tables.iter().map(|_| "MANAGED_TABLE".to_string()).collect()),
            utf8(tables.iter().map(|t| if t.current.schema.is_partitioned() { "TRUE" } else { "FALSE" }.to_string()).collect()),
            utf8(tables.iter().map(|t| format_time(t.created)).collect()),
            utf8(tables.iter().map(|t| if t.current.dropped { format_time(t.current.time) } else { String::new() }).collect()),
        ],
    )?)
}

fn string_args(name: &str, args: &[Expr]) -> DfResult<Vec<String>> {
    args.iter()
        .map(|e| match e {
            Expr::Literal(ScalarValue::Utf8(Some(s)) | ScalarValue::Utf8View(Some(s)) | ScalarValue::LargeUtf8(Some(s)), _) => Ok(s.clone()),
            other => Err(DataFusionError::Plan(format!("{name} takes string literals, got {other}"))),
        })
        .collect()
}

fn millis(t: DateTime<Utc>) -> i64 {
    t.timestamp_millis()
}

/// `timemachine_history('t' [, 'id'])`: the history of a table as a table, with typed
/// `lsn_number` and `commit_time` beside MaxCompute's text columns.
#[derive(Debug)]
pub struct HistoryFunction {
    project: Arc<Project>,
}

impl HistoryFunction {
    /// The function over `project`.
    pub fn new(project: Arc<Project>) -> Self {
        Self { project }
    }
}

impl TableFunctionImpl for HistoryFunction {
    fn call(&self, args: &[Expr]) -> DfResult<Arc<dyn TableProvider>> {
        let args = string_args("timemachine_history", args)?;
        let (name, id) = match args.as_slice() {
            [name] => (name.to_lowercase(), None),
            [name, id] => (name.to_lowercase(), Some(id.as_str())),
            _ => return Err(DataFusionError::Plan("usage: timemachine_history('table' [, 'id'])".into())),
        };
        let state = self.project.state();
        let now = self.project.clock().now();
        let table = resolve(&state, &name, id, now)?;
        let lines = lines(&state, table, now);
        let text = history_batch(&lines)?;
        let mut fields: Vec<Field> = text.schema().fields().iter().map(|f| Field::new(f.name().to_lowercase(), DataType::Utf8, false)).collect();
        fields.push(Field::new("lsn_number", DataType::Int64, false));
        fields.push(Field::new("commit_time", DataType::Timestamp(TimeUnit::Millisecond, None), false));
        let mut columns = text.columns().to_vec();
        columns.push(Arc::new(Int64Array::from(lines.iter().map(|l| l.lsn as i64).collect::<Vec<_>>())));
        columns.push(Arc::new(TimestampMillisecondArray::from(lines.iter().map(|l| millis(l.time)).collect::<Vec<_>>())));
        let batch = RecordBatch::try_new(Arc::new(Schema::new(fields)), columns)?;
        Ok(Arc::new(MemTable::try_new(batch.schema(), vec![vec![batch]])?))
    }
}

/// `timemachine_tables()`: SHOW HISTORY FOR TABLES as a table, lowercase column names.
#[derive(Debug)]
pub struct TablesFunction {
    project: Arc<Project>,
}

impl TablesFunction {
    /// The function over `project`.
    pub fn new(project: Arc<Project>) -> Self {
        Self { project }
    }
}

impl TableFunctionImpl for TablesFunction {
    fn call(&self, args: &[Expr]) -> DfResult<Arc<dyn TableProvider>> {
        if !args.is_empty() {
            return Err(DataFusionError::Plan("usage: timemachine_tables()".into()));
        }
        let state = self.project.state();
        let batch = tables_batch(&listed_tables(&state, self.project.clock().now()))?;
        let fields: Vec<Field> = batch.schema().fields().iter().map(|f| Field::new(f.name().to_lowercase(), DataType::Utf8, false)).collect();
        let batch = RecordBatch::try_new(Arc::new(Schema::new(fields)), batch.columns().to_vec())?;
        Ok(Arc::new(MemTable::try_new(batch.schema(), vec![vec![batch]])?))
    }
}
