//! The two purges: the bounded one a statement starts when versions expired or freed files are
//! due, and the full one that also sweeps `data/` and compacts the log.

use super::clock::{MAX_CLOCK_AHEAD, clock_ahead_of_store};
use super::expire::forget;
use super::lifecycle::reclaim;
use super::report::PurgeReport;
use super::sweep::{self, delete_freed};
use crate::error::{Error, Result};
use crate::log::Project;
use crate::state::expiry::expired;

/// A full purge of the project: expired versions, unreferenced files, compacted log. Refused
/// when this process's clock runs more than five minutes ahead of the object store's.
pub async fn purge_project(project: &Project, budget: usize) -> Result<PurgeReport> {
    let mut report = expire_and_reclaim(project, budget).await?;
    sweep::sweep(project, budget, &mut report).await?;
    Ok(report)
}

/// What a purge must do after every statement that let versions expire (retention 0 expires the
/// previous version at each commit): reclaim, forget, and delete the files freed a grace period
/// ago, all known from the log. The listing of data files (orphans of failed statements) and log
/// compaction wait for the periodic full purge, so the cost per statement stays bounded.
pub(super) async fn expire_and_reclaim(project: &Project, budget: usize) -> Result<PurgeReport> {
    let ahead = clock_ahead_of_store(project).await?;
    if ahead > MAX_CLOCK_AHEAD {
        return Err(Error::invalid(format!(
            "refusing to purge: this process's clock is {} minutes ahead of the object store's, so it would \
             expire versions early (irreversibly); fix the clock (NTP)",
            ahead.num_minutes()
        )));
    }
    project.trust_clock();
    let now = || project.clock().now();
    let reclaimed = reclaim(project, "RECLAIM (lifecycle)", None).await?;
    let mut report = forget(project, "PURGE (retention)", |s| Ok(expired(s, now(), |_| true))).await?;
    report.reclaimed = reclaimed;
    delete_freed(project, budget, &mut report).await?;
    Ok(report)
}
