//! LIFECYCLE reclamation: a partition (or an unpartitioned table) whose data has not changed for
//! `LIFECYCLE n` days leaves the table as a new version, restorable within the retention period
//! like a dropped partition (or a dropped table).

use chrono::{DateTime, Duration, Utc};

use crate::error::Result;
use crate::log::{Draft, Project};
use crate::state::model::{Action, HistoryRow, ObjectType, Operation, TableChange, partition_spec};
use crate::state::{ProjectState, TableSnapshot};

/// The reclamation of one table at `now`, if its lifecycle has ended for any of it.
fn reclaim_table(t: &TableSnapshot, now: DateTime<Utc>) -> Option<TableChange> {
    let days = t.lifecycle.filter(|_| !t.dropped && !t.lifecycle_disabled)?;
    let ended = |modified: Option<DateTime<Utc>>| {
        modified.is_some_and(|m| m + Duration::days(i64::try_from(days).unwrap_or(i64::MAX / 86_400_000)) <= now)
    };
    let (history, actions) = if t.schema.is_partitioned() {
        t.partitions
            .values()
            .filter(|p| !p.lifecycle_disabled && ended(p.modified))
            .map(|p| {
                let row = HistoryRow {
                    object_type: ObjectType::Partition,
                    object_id: p.id.clone(),
                    object_name: partition_spec(&t.schema.partition_columns, &p.values),
                    operation: Operation::Reclaim,
                };
                (row, Action::DropPartition { values: p.values.clone() })
            })
            .unzip()
    } else if ended(t.data_modified()) {
        let row = HistoryRow {
            object_type: ObjectType::Table,
            object_id: t.id.clone(),
            object_name: t.name.clone(),
            operation: Operation::Reclaim,
        };
        (vec![row], vec![Action::Drop])
    } else {
        return None;
    };
    (!actions.is_empty()).then(|| TableChange {
        table_id: t.id.clone(),
        lsn: t.lsn + 1,
        history,
        actions,
        writes: false,
    })
}

/// Every reclamation due at `now` (of the table `only`, or of all).
pub(super) fn due(state: &ProjectState, now: DateTime<Utc>, only: Option<&str>) -> Vec<TableChange> {
    state
        .tables
        .values()
        .filter(|t| only.is_none_or(|name| t.current.name == name) && state.check_readable(&t.id).is_ok())
        .filter_map(|t| reclaim_table(&t.current, now))
        .collect()
}

/// Reclaims, as one commit, what LIFECYCLE has ended (for the table `only`, or for all).
/// Returns the partitions and tables reclaimed.
pub(crate) async fn reclaim(project: &Project, statement: &str, only: Option<&str>) -> Result<usize> {
    project.refresh().await?;
    let now = || project.clock().now();
    if due(&project.state(), now(), only).is_empty() {
        return Ok(0);
    }
    let commit =
        project.commit(statement, |state| Ok(Draft { tables: due(state, now(), only), ..Default::default() })).await?;
    Ok(commit.tables.iter().map(|c| c.history.len()).sum())
}
