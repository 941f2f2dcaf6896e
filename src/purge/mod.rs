//! Purge: forget versions that left the retention period, delete the data files that no
//! retained version of any table references, and compact the log behind a checkpoint.
//!
//! Forgetting is itself a commit (so every process agrees on what is gone), written before any
//! file is deleted. Restores validate retention against the latest log when they commit, so a
//! restore that loses the race against a purge fails cleanly instead of pointing at deleted
//! files. Files that nothing references yet (a statement in flight) are deleted only once older
//! than the project's grace period.
//!
//! One file per job: `expire.rs` (the expiry commit and the files it frees), `sweep.rs`
//! (orphaned files, log compaction); this file schedules them.

mod expire;
mod lifecycle;
mod sweep;

use std::sync::Arc;

pub use expire::forget;
pub use lifecycle::reclaim;
pub use sweep::delete_freed;

use crate::error::{Error, Result};
use crate::log::retention::{self, expired};
use crate::log::{CHECKPOINT_INTERVAL, MaintenanceEvent, Project};

/// Most files one automatic purge deletes (the rest waits for the next one).
const AUTO_DELETE_BUDGET: usize = 1_000;

/// What a purge did.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct PurgeReport {
    /// Tables whose older versions were forgotten.
    pub tables_trimmed: usize,
    /// Dropped tables forgotten entirely.
    pub tables_forgotten: usize,
    /// Data files that forgotten versions alone referenced (deleted after the grace period).
    pub files_freed: usize,
    /// Data files deleted.
    pub files_deleted: usize,
    /// Log entries and checkpoints deleted.
    pub log_files_deleted: usize,
    /// Partitions and tables reclaimed because their LIFECYCLE ended.
    pub reclaimed: usize,
}

/// How far this process's clock may run ahead of the object store's before purges refuse to
/// expire anything (expiry is irreversible; a fast clock would expire everyone's versions early).
const MAX_CLOCK_AHEAD: chrono::Duration = chrono::Duration::minutes(5);

/// How far this process's clock is ahead of the object store's: the store stamps a small object
/// it is given with its own time (the clock every process shares).
async fn clock_ahead_of_store(project: &Project) -> Result<chrono::Duration> {
    use object_store::ObjectStoreExt;
    let path = project.path("_clock");
    project.store().put(&path, object_store::PutPayload::from_static(b"clock")).await?;
    let store_time = project.store().head(&path).await?.last_modified;
    Ok(project.clock().now() - store_time)
}

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
async fn expire_and_reclaim(project: &Project, budget: usize) -> Result<PurgeReport> {
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

/// After a statement: starts a bounded purge in the background when versions have expired, freed
/// files are due for deletion or lifecycles ended (or every few commits, to sweep), unless one is
/// already running. Never blocks or fails the statement; a CLI waits for it before exiting.
/// Commits of a process whose clock was checked lately forget expired versions of the tables
/// they write themselves, so continuous writes at retention 0 need no purge commit per statement.
pub fn spawn_auto(project: &Arc<Project>) {
    if project.purge_running() {
        return;
    }
    let (needed, full) = {
        let state = project.state();
        let now = project.clock().now();
        // The sweep (listing `data/` and the log) runs every few commits, and at most every half
        // grace period in this process: what it deletes must be older than the grace period.
        let full = state.version.is_multiple_of(CHECKPOINT_INTERVAL) && project.claim_sweep();
        let grace = chrono::Duration::from_std(retention::grace(&state)).unwrap_or_default();
        let due = !expired(&state, now, |_| true).is_empty()
            || project.freed_due(now - grace)
            || !lifecycle::due(&state, now, None).is_empty();
        (due || full, full)
    };
    if needed {
        let p = Arc::clone(project);
        project.add_purge(tokio::spawn(async move {
            let purge = async {
                if full { purge_project(&p, AUTO_DELETE_BUDGET).await } else { expire_and_reclaim(&p, AUTO_DELETE_BUDGET).await }
            };
            let outcome = match purge.await {
                Ok(r) => {
                    tracing::info!(project = p.name(), ?r, "automatic purge");
                    Ok(format!(
                        "{} reclaimed by lifecycle, {} tables trimmed, {} forgotten, {} files freed, {} files and {} log \
                         files deleted",
                        r.reclaimed, r.tables_trimmed, r.tables_forgotten, r.files_freed, r.files_deleted, r.log_files_deleted
                    ))
                }
                Err(e) => {
                    tracing::warn!(project = p.name(), error = %e, "automatic purge failed");
                    Err(e.to_string())
                }
            };
            let what = "automatic purge".to_string();
            p.record(MaintenanceEvent { time: p.clock().now(), what, outcome });
        }));
    }
}
