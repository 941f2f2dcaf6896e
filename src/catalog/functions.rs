//! The history table functions: `timemachine_history('t' [, 'id'])` (with typed `lsn_number`
//! and `commit_time` beside MaxCompute's text columns) and `timemachine_tables()`.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use datafusion::arrow::array::{BooleanArray, Int64Array, StringArray, TimestampMillisecondArray};
use datafusion::arrow::datatypes::{DataType, Field, Schema, TimeUnit};
use datafusion::arrow::record_batch::RecordBatch;
use datafusion::catalog::{TableFunctionImpl, TableProvider};
use datafusion::common::ScalarValue;
use datafusion::datasource::MemTable;
use datafusion::error::{DataFusionError, Result as DfResult};
use datafusion::logical_expr::Expr;

use crate::log::Project;
use crate::policy::acl::{Acl, Permission, denied};
use crate::state::ProjectState;
use crate::statements::history::{history_batch, lines, listed_tables, resolve, tables_batch};
use crate::table::VersionedTable;

fn string_args(name: &str, args: &[Expr]) -> DfResult<Vec<String>> {
    args.iter()
        .map(|e| match e {
            Expr::Literal(
                ScalarValue::Utf8(Some(s)) | ScalarValue::Utf8View(Some(s)) | ScalarValue::LargeUtf8(Some(s)),
                _,
            ) => Ok(s.clone()),
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
    user: Option<String>,
    /// The statement's snapshot when bound to one; else the latest state the project knows.
    snapshot: Option<Arc<ProjectState>>,
}

impl HistoryFunction {
    /// The function over `project`, for the session of `user`.
    pub fn new(project: Arc<Project>, user: Option<String>) -> Self {
        Self { project, user, snapshot: None }
    }

    /// This function as one statement reads it: from `snapshot` (see `Binder::bind`); None
    /// reads the latest state the project knows.
    pub fn reading(mut self, snapshot: Option<Arc<ProjectState>>) -> Self {
        self.snapshot = snapshot;
        self
    }
}

/// Fails unless `user` has the List permission in `state`.
fn require_list(state: &crate::state::ProjectState, user: Option<&str>, what: &str) -> DfResult<()> {
    if Acl::of(state).allows(user, Permission::List, None) {
        Ok(())
    } else {
        Err(denied(user, Permission::List, what).into())
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
        let state = self.project.state_or(self.snapshot.as_ref());
        let now = self.project.clock().now();
        let table = resolve(&state, &name, id, now)?;
        // ShowHistory on the table, or List on the project (the history of every table); a
        // dropped table by id needs List, as SHOW HISTORY … ('id'='…') does.
        let user = self.user.as_deref();
        if id.is_some() {
            require_list(&state, user, "read timemachine_history of a table by id")?;
        } else if !Acl::of(&state).allows(user, Permission::ShowHistory, Some(&table.id)) {
            let what = format!("read the history of table {name} (timemachine_history)");
            require_list(&state, user, &what).map_err(|_| denied(user, Permission::ShowHistory, &what))?;
        }
        let lines = lines(&state, table, now);
        let text = history_batch(&lines)?;
        let mut fields: Vec<Field> =
            text.schema().fields().iter().map(|f| Field::new(f.name().to_lowercase(), DataType::Utf8, false)).collect();
        fields.push(Field::new("lsn_number", DataType::Int64, false));
        fields.push(Field::new("commit_time", DataType::Timestamp(TimeUnit::Millisecond, None), false));
        fields.push(Field::new("user", DataType::Utf8, false));
        // The names of the live tags on each version (comma-separated; empty when none).
        fields.push(Field::new("tags", DataType::Utf8, false));
        let tags = state.tags(&table.id, now);
        let tags_of =
            |lsn: u64| tags.iter().filter(|t| t.lsn == lsn).map(|t| t.name.as_str()).collect::<Vec<_>>().join(",");
        let mut columns = text.columns().to_vec();
        columns.push(Arc::new(Int64Array::from(lines.iter().map(|l| l.lsn as i64).collect::<Vec<_>>())));
        columns
            .push(Arc::new(TimestampMillisecondArray::from(lines.iter().map(|l| millis(l.time)).collect::<Vec<_>>())));
        columns.push(Arc::new(datafusion::arrow::array::StringArray::from(
            lines.iter().map(|l| l.user.clone()).collect::<Vec<_>>(),
        )));
        columns.push(Arc::new(datafusion::arrow::array::StringArray::from(
            lines.iter().map(|l| tags_of(l.lsn)).collect::<Vec<_>>(),
        )));
        let batch = RecordBatch::try_new(Arc::new(Schema::new(fields)), columns)?;
        Ok(Arc::new(MemTable::try_new(batch.schema(), vec![vec![batch]])?))
    }
}

/// `timemachine_tables()`: SHOW HISTORY FOR TABLES as a table, lowercase column names.
#[derive(Debug)]
pub struct TablesFunction {
    project: Arc<Project>,
    user: Option<String>,
    /// The statement's snapshot when bound to one; else the latest state the project knows.
    snapshot: Option<Arc<ProjectState>>,
}

impl TablesFunction {
    /// The function over `project`, for the session of `user`.
    pub fn new(project: Arc<Project>, user: Option<String>) -> Self {
        Self { project, user, snapshot: None }
    }

    /// This function as one statement reads it: from `snapshot` (see `Binder::bind`); None
    /// reads the latest state the project knows.
    pub fn reading(mut self, snapshot: Option<Arc<ProjectState>>) -> Self {
        self.snapshot = snapshot;
        self
    }
}

impl TableFunctionImpl for TablesFunction {
    fn call(&self, args: &[Expr]) -> DfResult<Arc<dyn TableProvider>> {
        if !args.is_empty() {
            return Err(DataFusionError::Plan("usage: timemachine_tables()".into()));
        }
        let state = self.project.state_or(self.snapshot.as_ref());
        require_list(&state, self.user.as_deref(), "read timemachine_tables")?;
        let batch = tables_batch(&listed_tables(&state, self.project.clock().now()))?;
        let fields: Vec<Field> = batch
            .schema()
            .fields()
            .iter()
            .map(|f| Field::new(f.name().to_lowercase(), DataType::Utf8, false))
            .collect();
        let batch = RecordBatch::try_new(Arc::new(Schema::new(fields)), batch.columns().to_vec())?;
        Ok(Arc::new(MemTable::try_new(batch.schema(), vec![vec![batch]])?))
    }
}

/// `timemachine_purges()`: the automatic purges this process ran (time, what, ok, detail), so an
/// operator can see that reclamation works or keeps failing.
#[derive(Debug)]
pub struct PurgesFunction {
    project: Arc<Project>,
}

impl PurgesFunction {
    /// The function over `project`.
    pub fn new(project: Arc<Project>) -> Self {
        Self { project }
    }
}

impl TableFunctionImpl for PurgesFunction {
    fn call(&self, args: &[Expr]) -> DfResult<Arc<dyn TableProvider>> {
        if !args.is_empty() {
            return Err(DataFusionError::Plan("usage: timemachine_purges()".into()));
        }
        let journal = self.project.journal();
        let schema = Arc::new(Schema::new(vec![
            Field::new("time", DataType::Timestamp(TimeUnit::Millisecond, None), false),
            Field::new("what", DataType::Utf8, false),
            Field::new("ok", DataType::Boolean, false),
            Field::new("detail", DataType::Utf8, false),
        ]));
        let batch = RecordBatch::try_new(
            Arc::clone(&schema),
            vec![
                Arc::new(TimestampMillisecondArray::from(journal.iter().map(|e| millis(e.time)).collect::<Vec<_>>())),
                Arc::new(StringArray::from(journal.iter().map(|e| e.what.clone()).collect::<Vec<_>>())),
                Arc::new(BooleanArray::from(journal.iter().map(|e| e.outcome.is_ok()).collect::<Vec<_>>())),
                Arc::new(StringArray::from(
                    journal.iter().map(|e| e.outcome.clone().unwrap_or_else(|err| err)).collect::<Vec<_>>(),
                )),
            ],
        )?;
        Ok(Arc::new(MemTable::try_new(schema, vec![vec![batch]])?))
    }
}

/// `timemachine_row_files('t')`: the rows of table t (the statement's version) with the column
/// `__tm_file`, the data file holding each row. MERGE reads its target through it, to rewrite
/// only the files holding rows it changes.
#[derive(Debug)]
pub struct RowFilesFunction {
    project: Arc<Project>,
    /// The statement's snapshot when bound to one; else the latest state the project knows.
    snapshot: Option<Arc<ProjectState>>,
}

impl RowFilesFunction {
    /// The function over `project`.
    pub fn new(project: Arc<Project>) -> Self {
        Self { project, snapshot: None }
    }

    /// This function as one statement reads it: from `snapshot` (see `Binder::bind`); None
    /// reads the latest state the project knows.
    pub fn reading(mut self, snapshot: Option<Arc<ProjectState>>) -> Self {
        self.snapshot = snapshot;
        self
    }
}

impl TableFunctionImpl for RowFilesFunction {
    fn call(&self, args: &[Expr]) -> DfResult<Arc<dyn TableProvider>> {
        let args = string_args("timemachine_row_files", args)?;
        let [name] = args.as_slice() else {
            return Err(DataFusionError::Plan("usage: timemachine_row_files('table')".into()));
        };
        let state = self.project.state_or(self.snapshot.as_ref());
        let snapshot = crate::statements::live_table(&state, &name.to_lowercase())?;
        Ok(Arc::new(VersionedTable::try_new(Arc::clone(&self.project), snapshot)?.with_file_column()))
    }
}
