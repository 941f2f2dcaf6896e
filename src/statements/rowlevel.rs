//! DELETE and UPDATE on a versioned table: each statement is one version that changes only the
//! files holding rows it changes (a deletion vector each, or a rewrite: `table/rewrite.rs`).

use std::sync::Arc;

use datafusion::execution::TaskContext;
use datafusion::logical_expr::Expr;

use super::env::Env;
use super::result::StatementResult;
use crate::error::{Error, Result};
use crate::log::Draft;
use crate::state::model::{Action, HistoryRow, ObjectType, Operation, Partition, PutMode, TableChange, partition_spec};
use crate::state::{ProjectState, TableSnapshot};
use crate::table::{ChangeFiles, Rewritten, RowChange, VersionedTable, replaced_files, rewrite};

/// The table property choosing how DELETE, UPDATE and MERGE change rows: `merge-on-read` (the
/// default: deletion vectors, a file that loses most of its rows written anew) or
/// `copy-on-write` (every file holding changed rows written anew).
pub(crate) const DELETE_MODE_KEY: &str = "timemachine.delete.mode";

/// True when `table` takes row-level changes as deletion vectors.
pub(crate) fn merge_on_read(table: &TableSnapshot) -> bool {
    !table.properties.get(DELETE_MODE_KEY).is_some_and(|v| v.eq_ignore_ascii_case("copy-on-write"))
}

/// A DELETE or UPDATE planned against one version of a table.
#[derive(Debug, Clone)]
pub(crate) struct RowChangeTarget {
    /// The version the statement read (pinned at planning), with its project.
    pub table: Arc<VersionedTable>,
    /// What happens to the rows.
    pub change: Arc<RowChange>,
    /// The statement's filters (those on partition columns prune partitions).
    pub filters: Vec<Expr>,
    /// DELETE or UPDATE (for SHOW HISTORY).
    pub operation: Operation,
}

/// Runs `target`: rewrites the files with rows that change, then commits them as one version.
/// Changing no row commits nothing.
pub(crate) async fn run(
    env: &Env,
    text: &str,
    target: &RowChangeTarget,
    ctx: Arc<TaskContext>,
) -> Result<StatementResult> {
    let table = &target.table;
    let partitions = table.pruned_partitions(&target.filters)?;
    let mor = merge_on_read(table.snapshot());
    let out = rewrite(&env.project, table, &partitions, Arc::clone(&target.change), ctx, mor).await?;
    if out.partitions.is_empty() {
        return Ok(StatementResult::rows_affected(0));
    }
    env.commit(text, |state| Ok(Draft { tables: vec![draft(state, target, &out)?], ..Default::default() })).await?;
    Ok(StatementResult::rows_affected(out.rows))
}

/// The version: each rewritten partition gets its new file list. Rebases onto concurrent changes
/// that left the rewritten files in place (an append to the same partition); anything else that
/// touched them is a conflict.
pub(crate) fn draft(state: &ProjectState, target: &RowChangeTarget, out: &Rewritten) -> Result<TableChange> {
    replace_files(state, target.table.snapshot(), target.operation, PutMode::Replace, out)
}

/// The version in which each partition of `out` has its files replaced (`mode` Replace for
/// changed rows, Rewrite for the same rows in other files), as `operation` in the history.
/// Rebases onto concurrent changes that left the replaced files in place.
pub(crate) fn replace_files(
    state: &ProjectState,
    base: &TableSnapshot,
    operation: Operation,
    mode: PutMode,
    out: &Rewritten,
) -> Result<TableChange> {
    let name = &base.name;
    let cur = match state.tables.get(&base.id) {
        Some(t) if !t.current.dropped && t.current.schema == base.schema => &t.current,
        _ => {
            return Err(Error::conflict(format!("table {name} was dropped, restored or altered by another statement")));
        }
    };
    let cols = &cur.schema.partition_columns;
    let mut actions = vec![];
    let mut history = vec![];
    for (values, (removed, added)) in &out.partitions {
        let spec = partition_spec(cols, values);
        let what = if cols.is_empty() { format!("table {name}") } else { format!("partition {spec} of table {name}") };
        let conflict = || Error::conflict(format!("{what} was changed by another statement"));
        let p = cur.partitions.get(values).filter(|p| Some(&p.id) == base.partitions.get(values).map(|b| &b.id));
        let p = p.ok_or_else(conflict)?;
        let files = replaced_files(p, removed, added).ok_or_else(conflict)?;
        actions.push(Action::PutPartition {
            partition: Partition {
                id: p.id.clone(),
                values: values.clone(),
                files: files.into(),
                ..Default::default()
            },
            mode,
        });
        if !cols.is_empty() {
            history.push(HistoryRow {
                object_type: ObjectType::Partition,
                object_id: p.id.clone(),
                object_name: spec,
                operation,
            });
        }
    }
    if history.is_empty() {
        history.push(HistoryRow {
            object_type: ObjectType::Table,
            object_id: cur.id.clone(),
            object_name: cur.name.clone(),
            operation,
        });
    }
    actions.extend(change_data(&actions, &out.changes));
    Ok(TableChange { table_id: cur.id.clone(), lsn: cur.lsn + 1, history, actions, writes: false })
}

/// The [`Action::ChangeData`] of a version whose `actions` put the partitions of `changes`
/// (change files per partition).
pub(crate) fn change_data(actions: &[Action], changes: &ChangeFiles) -> Vec<Action> {
    let id = |values: &Vec<String>| {
        actions.iter().find_map(|a| match a {
            Action::PutPartition { partition, .. } if &partition.values == values => Some(partition.id.clone()),
            _ => None,
        })
    };
    changes
        .iter()
        .filter(|(_, files)| !files.is_empty())
        .map(|(values, files)| Action::ChangeData {
            partition: Partition {
                id: id(values).unwrap_or_default(),
                values: values.clone(),
                files: files.iter().cloned().collect(),
                ..Default::default()
            },
        })
        .collect()
}
