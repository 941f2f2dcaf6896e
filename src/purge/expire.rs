//! The expiry commit: versions that left the retention period are forgotten (a commit every
//! process reads), naming the data files only they referenced for deletion after the grace period.

use std::collections::{BTreeMap, HashSet};

use super::report::PurgeReport;
use crate::error::Result;
use crate::log::{Draft, Project};
use crate::state::ProjectState;
use crate::state::model::Expiry;

pub(super) fn referenced(state: &ProjectState) -> HashSet<String> {
    state.tables.values().flat_map(|t| t.referenced_files()).collect()
}

/// Commits `expiries` (recomputed against the latest state on each attempt by `compute`) with
/// the files only the forgotten versions referenced. Nothing is deleted here: the sweep deletes
/// those files once the commit is older than the grace period, so a query planned against a
/// forgotten version a moment ago still finds them.
pub(crate) async fn forget<F>(project: &Project, statement: &str, compute: F) -> Result<PurgeReport>
where
    F: Fn(&ProjectState) -> Result<Vec<Expiry>>,
{
    forget_with(project, statement, |state| Ok((compute(state)?, BTreeMap::new()))).await
}

/// [`forget`] with project properties set in the same commit (PURGE TABLE drops the table's
/// tags with its versions).
pub(crate) async fn forget_with<F>(project: &Project, statement: &str, compute: F) -> Result<PurgeReport>
where
    F: Fn(&ProjectState) -> Result<(Vec<Expiry>, BTreeMap<String, String>)>,
{
    project.refresh().await?;
    let mut report = PurgeReport::default();
    let (expire, properties) = compute(&project.state())?;
    if expire.is_empty() && properties.is_empty() {
        return Ok(report);
    }
    let commit = project
        .commit(statement, |state| {
            let (expire, properties) = compute(state)?;
            let freed = state.files_freed_by(&expire);
            Ok(Draft { expire, freed, properties, ..Default::default() })
        })
        .await?;
    report.tables_forgotten = commit.expire.iter().filter(|e| e.keep_from.is_none()).count();
    report.tables_trimmed = commit.expire.len() - report.tables_forgotten;
    report.files_freed = commit.freed.len();
    Ok(report)
}
