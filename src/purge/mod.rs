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
//! (orphaned files, log compaction), `lifecycle.rs` (LIFECYCLE reclamation), `run.rs` (the
//! bounded and the full purge), `auto.rs` (when a statement starts one), `clock.rs` (the clock
//! check before anything expires).

mod auto;
mod clock;
mod expire;
mod lifecycle;
mod report;
mod run;
mod sweep;

pub(crate) use auto::spawn_auto;
pub(crate) use expire::forget_with;
pub(crate) use lifecycle::reclaim;
pub use report::PurgeReport;
pub use run::purge_project;
pub(crate) use sweep::delete_freed;
