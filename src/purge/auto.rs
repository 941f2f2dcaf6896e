//! The automatic purge: after a statement, a bounded purge in the background when something is
//! due, so storage comes back without anyone running PURGE.
//!
//! The full purge (which also deletes orphaned files and compacts the log) runs every
//! [`CHECKPOINT_INTERVAL`] commits, and whenever a statement finds that none ran for half a grace
//! period (at least [`MIN_SWEEP_INTERVAL`]): each full purge leaves a marker object whose store
//! timestamp says when. Without the time trigger a quiet project kept a dropped table's files
//! until its 50th next commit; with it, storage comes back within retention + grace period, at
//! the statements that follow, whatever the commit rate.

use std::sync::Arc;
use std::time::Duration;

use object_store::ObjectStoreExt;

use super::lifecycle;
use super::run::{expire_and_reclaim, purge_project};
use super::sweep::SWEPT_MARKER;
use crate::log::{CHECKPOINT_INTERVAL, MaintenanceEvent, Project};
use crate::state::expiry::expired;

/// Most files one automatic purge deletes (the rest waits for the next one).
const AUTO_DELETE_BUDGET: usize = 1_000;

/// The shortest time between two full purges that the clock (not the commit count) starts: a
/// project with a grace period of zero would otherwise list `data/` at every statement.
pub(crate) const MIN_SWEEP_INTERVAL: Duration = Duration::from_secs(60);

/// How long after a full purge the next one is due: half the grace period, at least
/// [`MIN_SWEEP_INTERVAL`].
fn sweep_interval(grace: Duration) -> Duration {
    (grace / 2).max(MIN_SWEEP_INTERVAL)
}

/// True when the project's last full purge is `interval` or more ago. A project without a marker
/// counts from its first log entry (a new project has nothing to sweep); when that is gone too
/// (compacted before markers existed), it is overdue. Unknown (the store failed): not overdue.
async fn sweep_overdue(project: &Project, interval: Duration) -> bool {
    let store = project.store();
    let last = match store.head(&project.path(SWEPT_MARKER)).await {
        Ok(meta) => meta.last_modified,
        Err(object_store::Error::NotFound { .. }) => {
            match store.head(&project.path("_log/00000000000000000001.json")).await {
                Ok(meta) => meta.last_modified,
                Err(object_store::Error::NotFound { .. }) => return true,
                Err(_) => return false,
            }
        }
        Err(_) => return false,
    };
    let interval = chrono::Duration::from_std(interval).unwrap_or(chrono::Duration::MAX);
    project.clock().now() - last >= interval
}

/// After a statement: starts a bounded purge in the background when versions have expired, freed
/// files are due for deletion or lifecycles ended, and a full one every few commits or when none
/// ran for half a grace period, unless one is already running. Never blocks or fails the
/// statement; a CLI waits for it before exiting. Commits of a process whose clock was checked
/// lately forget expired versions of the tables they write themselves, so continuous writes at
/// retention 0 need no purge commit per statement.
pub(crate) fn spawn_auto(project: &Arc<Project>) {
    // An empty project has nothing to purge or sweep (and a query on it writes nothing).
    if project.purge_running() || project.state().version == 0 {
        return;
    }
    let (due, by_count, check_time, interval) = {
        let state = project.state();
        let now = project.clock().now();
        // The sweep (listing `data/` and the log) runs every few commits, and at most every half
        // grace period in this process: what it deletes must be older than the grace period.
        let by_count = state.version.is_multiple_of(CHECKPOINT_INTERVAL) && project.claim_sweep();
        let interval = sweep_interval(state.grace());
        let check_time = !by_count && project.claim_sweep_check(interval);
        let grace = chrono::Duration::from_std(state.grace()).unwrap_or_default();
        let due = !expired(&state, now, |_| true).is_empty()
            || project.freed_due(now - grace)
            || !lifecycle::due(&state, now, None).is_empty();
        (due, by_count, check_time, interval)
    };
    if !(due || by_count || check_time) {
        return;
    }
    let p = Arc::clone(project);
    let task = tokio::spawn(async move {
        let full = by_count || (check_time && sweep_overdue(&p, interval).await);
        let result = if full {
            purge_project(&p, AUTO_DELETE_BUDGET).await
        } else if due {
            expire_and_reclaim(&p, AUTO_DELETE_BUDGET).await
        } else {
            return;
        };
        let outcome = match result {
            Ok(r) => {
                tracing::info!(project = p.name(), ?r, full, "automatic purge");
                Ok(format!(
                    "{} reclaimed by lifecycle, {} tables trimmed, {} forgotten, {} files freed, {} files and {} log \
                     files deleted",
                    r.reclaimed,
                    r.tables_trimmed,
                    r.tables_forgotten,
                    r.files_freed,
                    r.files_deleted,
                    r.log_files_deleted
                ))
            }
            Err(e) => {
                tracing::warn!(project = p.name(), error = %e, "automatic purge failed");
                Err(e.to_string())
            }
        };
        let what = if full { "automatic full purge" } else { "automatic purge" }.to_string();
        p.record(MaintenanceEvent { time: p.clock().now(), what, outcome });
    });
    if due || by_count {
        project.add_purge(task);
    } else {
        // Only asking whether a full purge is overdue (one HEAD): that must not hold back the
        // purge a later statement finds due meanwhile.
        project.add_background(task);
    }
}
