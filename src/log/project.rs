//! A project handle: what it holds and the state it last read.
//!
//! Its other jobs live next door: catching up with the log ([`super::read`]), the commit loop
//! ([`super::commit`]), checkpoints and compaction ([`super::compaction`]) and background
//! bookkeeping ([`super::upkeep`]).

use std::fmt;
use std::sync::{Arc, RwLock};
use std::time::Duration;

use object_store::ObjectStore;
use object_store::path::Path;

use super::checkpoint;
use super::upkeep::{JOURNAL_LENGTH, MaintenanceEvent};
use crate::clock::Clock;
use crate::state::ProjectState;
use crate::warehouse::Warehouse;

/// An open project: its object store, its latest known state, and the clock it commits with.
pub struct Project {
    pub(super) name: String,
    pub(super) warehouse: Warehouse,
    pub(super) root: Path,
    pub(super) clock: Arc<dyn Clock>,
    pub(super) state: RwLock<Arc<ProjectState>>,
    pub(super) refresh_lock: tokio::sync::Mutex<()>,
    /// When the last full listing of the log started.
    pub(super) last_listed: std::sync::Mutex<Option<std::time::Instant>>,
    /// Background tasks, each marked true when it is an automatic purge.
    pub(super) background: std::sync::Mutex<Vec<(bool, tokio::task::JoinHandle<()>)>>,
    /// What background maintenance (automatic purges) did in this process, newest last.
    pub(super) journal: std::sync::Mutex<std::collections::VecDeque<MaintenanceEvent>>,
    pub(super) upkeep: super::upkeep::Upkeep,
}

impl fmt::Debug for Project {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Project").field("name", &self.name).field("warehouse", &self.warehouse).finish()
    }
}

pub(super) fn numbered(dir: &Path, version: u64) -> Path {
    dir.clone().join(format!("{version:020}.json"))
}

/// Where the checkpoint of `version` goes.
pub(super) fn checkpoint_path(dir: &Path, version: u64) -> Path {
    dir.clone().join(format!("{version:020}.{}", checkpoint::EXTENSION))
}

/// The number of a log entry or checkpoint file (`<number>.json`, `<number>.ckpt`).
pub(crate) fn parse_number(path: &Path) -> Option<u64> {
    let name = path.filename()?;
    let stem = name.strip_suffix(".json").or_else(|| name.strip_suffix(&format!(".{}", checkpoint::EXTENSION)))?;
    stem.parse().ok()
}

impl Project {
    /// How old an unreferenced data file, a compacted log entry or a file of a forgotten version
    /// must be before a purge deletes it: the project property
    /// [`GRACE_KEY`](crate::state::expiry::GRACE_KEY) (default one hour), the same for every process.
    pub fn grace(&self) -> Duration {
        self.state().grace()
    }

    /// Keeps a background task (a checkpoint) so that [`Project::wait_background`] can let it
    /// finish.
    pub fn add_background(&self, task: tokio::task::JoinHandle<()>) {
        self.keep_background(false, task);
    }

    /// Keeps an automatic purge, as [`Project::add_background`]; [`Project::purge_running`] tells
    /// whether one still runs.
    pub fn add_purge(&self, task: tokio::task::JoinHandle<()>) {
        self.keep_background(true, task);
    }

    fn keep_background(&self, purge: bool, task: tokio::task::JoinHandle<()>) {
        let mut tasks = self.background.lock().unwrap_or_else(|e| e.into_inner());
        tasks.retain(|(_, t)| !t.is_finished());
        tasks.push((purge, task));
    }

    /// Records a background maintenance run (kept for the last 100).
    pub fn record(&self, event: MaintenanceEvent) {
        let mut journal = self.journal.lock().unwrap_or_else(|e| e.into_inner());
        if journal.len() == JOURNAL_LENGTH {
            journal.pop_front();
        }
        journal.push_back(event);
    }

    /// The background maintenance runs of this process, oldest first.
    pub fn journal(&self) -> Vec<MaintenanceEvent> {
        self.journal.lock().unwrap_or_else(|e| e.into_inner()).iter().cloned().collect()
    }

    /// Notes that this process's clock was just found to agree with the object store's: for a
    /// while its commits forget the versions of the tables they write that left the retention
    /// period (a purge's clock check, which they would otherwise skip).
    pub fn trust_clock(&self) {
        self.upkeep.trust_clock();
    }

    /// Notes that every file freed at or before `settled` has been deleted.
    pub fn freed_deleted_through(&self, settled: chrono::DateTime<chrono::Utc>) {
        self.upkeep.freed_deleted_through(settled);
    }

    /// True when some file freed at or before `settled` may still await deletion.
    pub fn freed_due(&self, settled: chrono::DateTime<chrono::Utc>) -> bool {
        self.upkeep.freed_due(&self.state(), settled)
    }

    /// True (and noted) when this process's last automatic sweep of `data/` and the log began
    /// half a grace period ago or more.
    pub fn claim_sweep(&self) -> bool {
        self.upkeep.claim_sweep(self.grace())
    }

    /// True (and noted) when this process has not asked within `interval` whether the project's
    /// last full purge is overdue (see `purge::spawn_auto`).
    pub fn claim_sweep_check(&self, interval: Duration) -> bool {
        self.upkeep.claim_sweep_check(interval)
    }

    /// True while an automatic purge is running (a checkpoint being written does not count:
    /// it must not hold back the purge due after the commit that wrote it).
    pub fn purge_running(&self) -> bool {
        self.background.lock().unwrap_or_else(|e| e.into_inner()).iter().any(|(purge, t)| *purge && !t.is_finished())
    }

    /// Waits for background tasks (a CLI calls this before exiting).
    pub async fn wait_background(&self) {
        let tasks: Vec<_> = self.background.lock().unwrap_or_else(|e| e.into_inner()).drain(..).collect();
        for (_, t) in tasks {
            let _ = t.await;
        }
    }

    /// The project name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The warehouse holding the project.
    pub fn warehouse(&self) -> &Warehouse {
        &self.warehouse
    }

    /// The object store.
    pub fn store(&self) -> &Arc<dyn ObjectStore> {
        self.warehouse.store()
    }

    /// The clock used for commit times and retention.
    pub fn clock(&self) -> &Arc<dyn Clock> {
        &self.clock
    }

    /// Object path of a project-relative path (`data/…`).
    pub fn path(&self, relative: &str) -> Path {
        Path::from(format!("{}/{relative}", self.root))
    }

    pub(crate) fn log_dir(&self) -> Path {
        self.root.clone().join("_log")
    }

    pub(crate) fn checkpoint_dir(&self) -> Path {
        self.root.clone().join("_checkpoints")
    }

    /// The latest state this handle knows (call [`Project::refresh`] first to catch up).
    ///
    /// An `Arc` snapshot: holding it across an `.await` blocks nobody.
    pub fn state(&self) -> Arc<ProjectState> {
        Arc::clone(&self.state.read().unwrap_or_else(|e| e.into_inner()))
    }

    /// `snapshot` (a statement's) when there is one, else the latest state this handle knows:
    /// what a function or planner bound to a statement reads, and what it reads unbound (a plain
    /// `SessionContext::sql`).
    pub fn state_or(&self, snapshot: Option<&Arc<ProjectState>>) -> Arc<ProjectState> {
        snapshot.map(Arc::clone).unwrap_or_else(|| self.state())
    }
}
