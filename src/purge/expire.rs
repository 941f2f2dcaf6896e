//! The expiry commit: versions that left the retention period are forgotten (a commit every
//! process reads), then the data files only they referenced are deleted.

use std::collections::HashSet;

use chrono::{DateTime, Utc};
use object_store::ObjectStoreExt;

use super::PurgeReport;
use crate::error::Result;
use crate::log::model::Expiry;
use crate::log::retention::{cutoff, restorable, table_expired};
use crate::log::state::ProjectState;
use crate::log::{Draft, Project};

/// Versions that have left the retention period.
pub(super) fn expired(state: &ProjectState, now: DateTime<Utc>) -> Vec<Expiry> {
    let cut = cutoff(state, now);
    state
        .tables
        .values()
        .filter_map(|t| {
            if table_expired(t, cut) {
                return Some(Expiry { table_id: t.id.clone(), keep_from: None });
            }
            let first = restorable(t, cut).first()?.lsn;
            (t.entries.first()?.lsn < first).then(|| Expiry { table_id: t.id.clone(), keep_from: Some(first) })
        })
        .collect()
}

pub(super) fn referenced(state: &ProjectState) -> HashSet<String> {
    state.tables.values().flat_map(|t| t.referenced_files()).collect()
}

/// Commits `expiries` (recomputed against the latest state on each attempt by `compute`), then
/// deletes the files only the forgotten versions referenced. Returns the report so far.
pub async fn forget<F>(project: &Project, statement: &str, budget: usize, compute: F) -> Result<PurgeReport>
where
    F: Fn(&ProjectState) -> Result<Vec<Expiry>>,
{
    project.refresh().await?;
    let (first, before) = {
        let state = project.state();
        (compute(&state)?, referenced(&state))
    };
    let mut report = PurgeReport::default();
    if first.is_empty() {
        return Ok(report);
    }
    let commit = project
        .commit(statement, |state| Ok(Draft { expire: compute(state)?, ..Default::default() }))
        .await?;
    report.tables_forgotten = commit.expire.iter().filter(|e| e.keep_from.is_none()).count();
    report.tables_trimmed = commit.expire.len() - report.tables_forgotten;
    let after = referenced(&project.state());
    for path in before.difference(&after).take(budget) {
        match project.store().delete(&project.path(path)).await {
            Ok(()) | Err(object_store::Error::NotFound { .. }) => report.files_deleted += 1,
            Err(e) => return Err(e.into()),
        }
    }
    Ok(report)
}

