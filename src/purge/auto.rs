//! The automatic purge: after a statement, a bounded purge in the background when something is
//! due, so storage comes back without anyone running PURGE.

use std::sync::Arc;

use super::lifecycle;
use super::run::{expire_and_reclaim, purge_project};
use crate::log::{CHECKPOINT_INTERVAL, MaintenanceEvent, Project};
use crate::state::expiry::expired;

/// Most files one automatic purge deletes (the rest waits for the next one).
const AUTO_DELETE_BUDGET: usize = 1_000;

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
        let grace = chrono::Duration::from_std(state.grace()).unwrap_or_default();
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
