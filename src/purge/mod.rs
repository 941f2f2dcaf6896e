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
mod sweep;

use std::sync::Arc;

pub use expire::forget;
pub use sweep::delete_freed;

use crate::error::Result;
use crate::log::{CHECKPOINT_INTERVAL, Project};

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
}

/// A full purge of the project: expired versions, unreferenced files, compacted log.
pub async fn purge_project(project: &Project, budget: usize) -> Result<PurgeReport> {
    let now = || project.clock().now();
    let mut report = forget(project, "PURGE (retention)", |s| Ok(expire::expired(s, now()))).await?;
    sweep::sweep(project, budget, &mut report).await?;
    Ok(report)
}

/// After a statement: starts a bounded purge in the background when versions have expired (or
/// every few commits, to sweep), unless one is already running. Never blocks or fails the
/// statement; a CLI waits for it before exiting.
pub fn spawn_auto(project: &Arc<Project>) {
    if project.background_running() {
        return;
    }
    let needed = {
        let state = project.state();
        !expire::expired(&state, project.clock().now()).is_empty() || state.version.is_multiple_of(CHECKPOINT_INTERVAL)
    };
    if needed {
        let p = Arc::clone(project);
        project.add_background(tokio::spawn(async move {
            let _ = purge_project(&p, AUTO_DELETE_BUDGET).await;
        }));
    }
}

