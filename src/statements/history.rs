//! The history of tables as rows: what SHOW HISTORY prints and the history table functions
//! serve (resolving a table by name or id, its restorable versions, the batches).

use std::sync::Arc;

use chrono::{DateTime, Utc};
use datafusion::arrow::array::{ArrayRef, StringArray};
use datafusion::arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use datafusion::arrow::record_batch::RecordBatch;

use crate::error::{Error, Result};
use crate::policy::retention::expired_error;
use crate::state::expiry::{cutoff, restorable_or_tagged, table_expired};
use crate::state::model::{ObjectType, format_lsn};
use crate::state::{ProjectState, TableHistory};

/// Formats a commit time as MaxCompute does: `2020-02-18 14:17:58` (UTC).
pub(crate) fn format_time(t: DateTime<Utc>) -> String {
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
pub(crate) fn resolve<'a>(
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
                return Err(Error::not_found(format!("table id {id} is named {}, not {name}", t.current.name)));
            }
            if table_expired(t, cut) {
                return Err(expired_error(&format!("dropped table {name} ('id'='{id}')"), state));
            }
            state.check_decodable(&t.id, true)?;
            Ok(t)
        }
        None => {
            let t = live_or_dropped_hint(state, name, cut)?;
            state.check_decodable(&t.id, true)?;
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
pub(crate) struct HistoryLine {
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
    /// Who committed the version (empty: a session without a user).
    pub user: String,
}

/// The restorable history of `table`, ordered by LSN.
pub(crate) fn lines(state: &ProjectState, table: &TableHistory, now: DateTime<Utc>) -> Vec<HistoryLine> {
    restorable_or_tagged(state, table, now)
        .iter()
        .flat_map(|e| {
            e.history.iter().map(move |h| HistoryLine {
                object_type: h.object_type,
                object_id: h.object_id.clone(),
                object_name: h.object_name.clone(),
                lsn: e.lsn,
                time: e.time,
                operation: h.operation.to_string(),
                user: e.user.clone().unwrap_or_default(),
            })
        })
        .collect()
}

fn utf8(values: Vec<String>) -> ArrayRef {
    Arc::new(StringArray::from(values))
}

fn text_schema(names: &[&str]) -> SchemaRef {
    Arc::new(Schema::new(names.iter().map(|n| Field::new(*n, DataType::Utf8, false)).collect::<Vec<_>>()))
}

/// The columns of SHOW HISTORY FOR TABLE.
pub(crate) fn history_schema() -> SchemaRef {
    text_schema(&["ObjectType", "ObjectId", "ObjectName", "LSN", "Time", "Operation"])
}

/// The columns of SHOW HISTORY FOR TABLES.
pub(crate) fn tables_schema() -> SchemaRef {
    text_schema(&["Name", "Id", "Type", "IsPartitioned", "CreateTime", "DropTime"])
}

/// SHOW HISTORY output: ObjectType, ObjectId, ObjectName, LSN, Time, Operation.
pub(crate) fn history_batch(lines: &[HistoryLine]) -> Result<RecordBatch> {
    Ok(RecordBatch::try_new(
        history_schema(),
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
pub(crate) fn listed_tables(state: &ProjectState, now: DateTime<Utc>) -> Vec<&TableHistory> {
    let cut = cutoff(state, now);
    let mut tables: Vec<&TableHistory> = state.tables.values().filter(|t| !table_expired(t, cut)).collect();
    tables.sort_by(|a, b| (&a.current.name, a.created).cmp(&(&b.current.name, b.created)));
    tables
}

/// SHOW HISTORY FOR TABLES output: Name, Id, Type, IsPartitioned, CreateTime, DropTime.
pub(crate) fn tables_batch(tables: &[&TableHistory]) -> Result<RecordBatch> {
    Ok(RecordBatch::try_new(
        tables_schema(),
        vec![
            utf8(tables.iter().map(|t| t.current.name.clone()).collect()),
            utf8(tables.iter().map(|t| t.id.clone()).collect()),
            utf8(tables.iter().map(|_| "MANAGED_TABLE".to_string()).collect()),
            utf8(
                tables
                    .iter()
                    .map(|t| if t.current.schema.is_partitioned() { "TRUE" } else { "FALSE" }.to_string())
                    .collect(),
            ),
            utf8(tables.iter().map(|t| format_time(t.created)).collect()),
            utf8(
                tables
                    .iter()
                    .map(|t| if t.current.dropped { format_time(t.current.time) } else { String::new() })
                    .collect(),
            ),
        ],
    )?)
}
