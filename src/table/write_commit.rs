//! Turning written files into a table version: the draft of an INSERT, rebased on whatever
//! other writers committed meanwhile.

use std::sync::Arc;

use crate::error::{Error, Result};
use crate::log::{Draft, Project};
use crate::state::model::{Action, HistoryRow, ObjectType, Operation, Partition, PutMode, TableChange, partition_spec};
use crate::state::{ProjectState, TableSnapshot};
use crate::table::writer::WriteOutput;

/// INSERT INTO adds files; INSERT OVERWRITE replaces the partitions it names or writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WriteMode {
    /// Add the written files to their partitions.
    Append,
    /// The written files replace the content of their partitions.
    Overwrite,
}

/// Commits `out` as the next version of the table whose state the writer started from (`base`).
///
/// Appends rebase onto any concurrent change that keeps the table and its schema. An overwrite
/// fails with a conflict if another statement changed one of its partitions after `base`. The
/// log records `statement` as committed by `user`.
pub async fn commit_write(
    project: &Project,
    (statement, user): (&str, Option<&str>),
    base: &Arc<TableSnapshot>,
    mode: WriteMode,
    out: &WriteOutput,
) -> Result<u64> {
    project
        .commit_as(statement, user, |state| {
            Ok(Draft { tables: vec![draft(state, base, mode, out)?], ..Default::default() })
        })
        .await?;
    Ok(out.rows)
}

fn draft(state: &ProjectState, base: &TableSnapshot, mode: WriteMode, out: &WriteOutput) -> Result<TableChange> {
    let name = &base.name;
    let cur = match state.tables.get(&base.id) {
        Some(t) if !t.current.dropped => &t.current,
        _ => return Err(Error::conflict(format!("table {name} was dropped by another statement"))),
    };
    if cur.schema != base.schema {
        return Err(Error::conflict(format!(
            "table {name} was restored to a version with another schema by another statement"
        )));
    }
    let partitioned = cur.schema.is_partitioned();
    let mut actions = Vec::new();
    let mut history = Vec::new();
    for (key, files) in &out.partitions {
        let spec = partition_spec(&cur.schema.partition_columns, key);
        let (id, put, op) = match (mode, cur.partitions.get(key)) {
            (WriteMode::Append, Some(p)) => (p.id.clone(), PutMode::Append, Operation::Append),
            (WriteMode::Overwrite, Some(p)) => {
                if base.partitions.get(key) != Some(p) {
                    let what =
                        if partitioned { format!("partition {spec} of table {name}") } else { format!("table {name}") };
                    return Err(Error::conflict(format!("{what} was changed by another statement")));
                }
                (p.id.clone(), PutMode::Replace, Operation::Overwrite)
            }
            (WriteMode::Overwrite, None) if base.partitions.contains_key(key) => {
                return Err(Error::conflict(format!(
                    "partition {spec} of table {name} was dropped by another statement"
                )));
            }
            (_, None) => (out.ids[key].clone(), PutMode::Replace, Operation::Create),
        };
        actions.push(Action::PutPartition {
            partition: Partition {
                id: id.clone(),
                values: key.clone(),
                files: files.iter().cloned().collect(),
                ..Default::default()
            },
            mode: put,
        });
        if partitioned {
            history.push(HistoryRow {
                object_type: ObjectType::Partition,
                object_id: id,
                object_name: spec,
                operation: op,
            });
        }
    }
    if history.is_empty() {
        let operation = match mode {
            WriteMode::Append => Operation::Append,
            WriteMode::Overwrite => Operation::Overwrite,
        };
        history.push(HistoryRow {
            object_type: ObjectType::Table,
            object_id: cur.id.clone(),
            object_name: cur.name.clone(),
            operation,
        });
    }
    Ok(TableChange { table_id: cur.id.clone(), lsn: cur.lsn + 1, history, actions, writes: true })
}
