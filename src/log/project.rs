//! A project handle: opening (checkpoint + log replay), refreshing, and the commit loop.

use std::collections::BTreeMap;
use std::fmt;
use std::future::Future;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock};
use std::time::Duration;

use futures::TryStreamExt;
use object_store::path::Path;
use object_store::{ObjectMeta, ObjectStore, ObjectStoreExt, PutMode, PutOptions, PutPayload};

use super::checkpoint;
use super::model::{Commit, TableChange};
use super::state::ProjectState;
use crate::clock::Clock;
use crate::error::{Error, Result};
use crate::warehouse::Warehouse;

/// Distinguishes project handles (a statement snapshot belongs to one).
static NEXT_HANDLE: AtomicU64 = AtomicU64::new(1);

/// The snapshot of one project that the running statement reads.
#[derive(Clone)]
struct Pinned {
    handle: u64,
    state: Arc<ProjectState>,
}

tokio::task_local! {
    static PINNED: Option<Pinned>;
}

/// A checkpoint is written after every commit whose number is a multiple of this.
pub const CHECKPOINT_INTERVAL: u64 = 50;

/// Log entries read at once when catching up.
const PROBE_BATCH: u64 = 16;

/// One log entry read: its number, path and bytes; None when it does not exist.
type LogRead = Option<(u64, Path, bytes::Bytes)>;

/// What reading the checkpoints gives: the state, the error of a newer unreadable checkpoint
/// that was skipped, and the log entries after the newest checkpoint when they were read too.
type CheckpointRead = (ProjectState, Option<Error>, Option<Vec<Result<LogRead>>>);

/// Give up after this many lost races for one statement.
const MAX_COMMIT_ATTEMPTS: usize = 10_000;

/// What a statement wants to commit, computed against the latest state.
#[derive(Debug, Default)]
pub struct Draft {
    /// Per-table changes (LSNs computed from the state the draft was built on).
    pub tables: Vec<TableChange>,
    /// Project properties to set.
    pub properties: BTreeMap<String, String>,
    /// Versions to forget (purge).
    pub expire: Vec<super::model::Expiry>,
    /// Files the forgotten versions alone referenced (see [`Commit::freed`]).
    pub freed: Vec<String>,
}

/// An open project: its object store, its latest known state, and the clock it commits with.
pub struct Project {
    name: String,
    warehouse: Warehouse,
    root: Path,
    clock: Arc<dyn Clock>,
    /// Which project handle this is (for statement snapshots).
    handle: u64,
    state: RwLock<Arc<ProjectState>>,
    refresh_lock: tokio::sync::Mutex<()>,
    /// When the last full listing of the log started.
    last_listed: std::sync::Mutex<Option<std::time::Instant>>,
    /// Background tasks, each marked true when it is an automatic purge.
    background: std::sync::Mutex<Vec<(bool, tokio::task::JoinHandle<()>)>>,
    /// What background maintenance (automatic purges) did in this process, newest last.
    journal: std::sync::Mutex<std::collections::VecDeque<MaintenanceEvent>>,
    upkeep: super::upkeep::Upkeep,
}

/// One background maintenance run (an automatic purge) of this process: when, and what came of
/// it, so an operator can see that reclamation works or keeps failing.
#[derive(Debug, Clone)]
pub struct MaintenanceEvent {
    /// When it finished.
    pub time: chrono::DateTime<chrono::Utc>,
    /// What ran (`automatic purge`).
    pub what: String,
    /// What it did, or why it failed.
    pub outcome: std::result::Result<String, String>,
}

/// Events kept in [`Project::journal`].
const JOURNAL_LENGTH: usize = 100;

impl fmt::Debug for Project {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Project").field("name", &self.name).field("warehouse", &self.warehouse).finish()
    }
}

fn numbered(dir: &Path, version: u64) -> Path {
    dir.clone().join(format!("{version:020}.json"))
}

/// Where the checkpoint of `version` goes.
fn checkpoint_path(dir: &Path, version: u64) -> Path {
    dir.clone().join(format!("{version:020}.{}", checkpoint::EXTENSION))
}

/// The number of a log entry or checkpoint file (`<number>.json`, `<number>.ckpt`).
pub(crate) fn parse_number(path: &Path) -> Option<u64> {
    let name = path.filename()?;
    let stem = name.strip_suffix(".json").or_else(|| name.strip_suffix(&format!(".{}", checkpoint::EXTENSION)))?;
    stem.parse().ok()
}

impl Project {
    /// Opens (or starts) the project `name` in `warehouse`: reads the newest readable
    /// checkpoint, then the commits after it.
    pub async fn open(warehouse: Warehouse, name: &str, clock: Arc<dyn Clock>) -> Result<Self> {
        crate::names::validate_identifier("project", name)?;
        let project = Self {
            name: name.to_string(),
            root: Path::from(name),
            warehouse,
            clock,
            handle: NEXT_HANDLE.fetch_add(1, Ordering::Relaxed),
            state: RwLock::new(Arc::default()),
            refresh_lock: tokio::sync::Mutex::new(()),
            last_listed: std::sync::Mutex::new(None),
            background: std::sync::Mutex::new(Vec::new()),
            journal: std::sync::Mutex::new(std::collections::VecDeque::new()),
            upkeep: Default::default(),
        };
        let started = std::time::Instant::now();
        let (state, skipped, after) = project.read_checkpoints(true).await?;
        *project.state.write().unwrap_or_else(|e| e.into_inner()) = Arc::new(state);
        if skipped.is_none() {
            // The checkpoints were just listed and the newest read: no need to look again.
            *project.last_listed.lock().unwrap_or_else(|e| e.into_inner()) = Some(started);
        }
        // The entries after the checkpoint, read while it was (none when an older checkpoint
        // stood in): read on unless they reached the end of the log.
        let caught_up = match after {
            Some(reads) => project.apply_reads(reads)?,
            None => false,
        };
        if !caught_up {
            project.refresh_reading(PROBE_BATCH).await?;
        }
        Ok(project)
    }

    /// How old an unreferenced data file, a compacted log entry or a file of a forgotten version
    /// must be before a purge deletes it: the project property
    /// [`GRACE_KEY`](super::retention::GRACE_KEY) (default one hour), the same for every process.
    pub fn grace(&self) -> Duration {
        super::retention::grace(&self.state())
    }

    /// Sets [`Project::grace`] for every process: a commit of the project property.
    pub async fn set_grace(&self, grace: Duration) -> Result<()> {
        let key = super::retention::GRACE_KEY;
        let secs = grace.as_secs().to_string();
        let statement = format!("SETPROJECT {key}={secs}");
        let properties = BTreeMap::from([(key.to_string(), secs)]);
        self.commit(&statement, |_| Ok(Draft { properties: properties.clone(), ..Default::default() })).await?;
        Ok(())
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

    /// Runs `work` (the planning of one statement) with one snapshot of the project: every table
    /// it resolves ([`Project::snapshot`], [`Project::statement_state`]) comes from the same log
    /// version, so a statement never sees half of another statement's multi-table commit.
    pub async fn with_snapshot<F: Future>(&self, work: F) -> Result<F::Output> {
        self.refresh().await?;
        let pinned = Pinned { handle: self.handle, state: self.state() };
        Ok(PINNED.scope(Some(pinned), work).await)
    }

    /// The state the running statement reads: its snapshot (see [`Project::with_snapshot`]), or
    /// else the latest state after catching up with other writers.
    pub async fn snapshot(&self) -> Result<Arc<ProjectState>> {
        if let Some(state) = self.pinned() {
            return Ok(state);
        }
        self.refresh().await?;
        Ok(self.state())
    }

    /// [`Project::snapshot`] without catching up (for synchronous planning hooks).
    pub fn statement_state(&self) -> Arc<ProjectState> {
        self.pinned().unwrap_or_else(|| self.state())
    }

    fn pinned(&self) -> Option<Arc<ProjectState>> {
        PINNED.try_with(|p| p.as_ref().filter(|p| p.handle == self.handle).map(|p| Arc::clone(&p.state))).ok().flatten()
    }

    /// The newest readable checkpoint (and what made newer ones unreadable). With `read_after`,
    /// also the log entries after the newest checkpoint, read at the same time (see
    /// [`Project::read_log`]); None when the state comes from an older checkpoint.
    async fn read_checkpoints(&self, read_after: bool) -> Result<CheckpointRead> {
        // A checkpoint listed a moment ago may be deleted (superseded) before it is read: list
        // again then, a newer one exists.
        for _ in 0..3 {
            match self.read_newest_checkpoint(read_after).await {
                Err(Error::Storage(object_store::Error::NotFound { .. })) => continue,
                other => return other,
            }
        }
        self.read_newest_checkpoint(read_after).await
    }

    async fn read_newest_checkpoint(&self, read_after: bool) -> Result<CheckpointRead> {
        let metas: Vec<ObjectMeta> = self.store().list(Some(&self.checkpoint_dir())).try_collect().await?;
        let mut numbered: Vec<(u64, Path)> =
            metas.into_iter().filter_map(|m| parse_number(&m.location).map(|v| (v, m.location))).collect();
        numbered.sort_by_key(|(v, _)| *v);
        let newest = numbered.last().map_or(0, |(v, _)| *v);
        let mut after = None;
        if numbered.is_empty() && read_after {
            after = Some(self.read_log(1, PROBE_BATCH).await);
        }
        // Newest first; an unreadable checkpoint falls back to the one before it.
        let mut skipped = None;
        for (v, path) in numbered.into_iter().rev() {
            let get = async { Ok::<_, Error>(self.store().get(&path).await?.bytes().await?) };
            let bytes = if v == newest && read_after {
                let (bytes, entries) = futures::future::join(get, self.read_log(v + 1, PROBE_BATCH)).await;
                after = Some(entries);
                bytes?
            } else {
                get.await?
            };
            let read = if path.as_ref().ends_with(".json") {
                checkpoint::decode_json(&bytes)
            } else {
                checkpoint::decode(bytes)
            };
            match read {
                Ok(state) => return Ok((state, skipped, after.filter(|_| v == newest))),
                Err(message) => {
                    skipped.get_or_insert(Error::Corrupt { path: path.to_string(), message });
                }
            }
        }
        // Without any readable checkpoint the log must start at 1; refresh checks that.
        Ok((ProjectState::default(), skipped, after.filter(|_| newest == 0)))
    }

    /// Reads log entries `from`, `from + 1`, … (`count` of them) at once: each read's entry, or
    /// None where it is missing (in order: a failed read past the end of the log does not count).
    async fn read_log(&self, from: u64, count: u64) -> Vec<Result<LogRead>> {
        let reads = (from..from + count).map(|v| async move {
            let path = numbered(&self.log_dir(), v);
            match self.store().get(&path).await {
                Ok(r) => Ok(Some((v, path, r.bytes().await?))),
                Err(object_store::Error::NotFound { .. }) => Ok(None),
                Err(e) => Err(Error::from(e)),
            }
        });
        futures::future::join_all(reads).await
    }

    /// Reads the commits that other writers added since this handle last looked: GETs
    /// `_log/<v+1>`, `_log/<v+2>`, … until one is missing, so the cost does not grow with the
    /// length of the log.
    ///
    /// A purge deletes log entries only behind the newest checkpoint and only once older than the
    /// grace period, so entries this handle has not seen cannot disappear while it looked within
    /// half the grace period. Otherwise it first looks for a newer checkpoint, and restarts from
    /// it when there is one.
    pub async fn refresh(&self) -> Result<()> {
        self.refresh_reading(1).await
    }

    /// [`Project::refresh`], reading `first` log entries at once to begin with.
    async fn refresh_reading(&self, first: u64) -> Result<()> {
        let _guard = self.refresh_lock.lock().await;
        let recent = self.listed_recently();
        let started = std::time::Instant::now();
        // A handle that has not looked at the checkpoints lately starts from the newest one
        // before reading the log: an entry below it is never read again by anyone, and may be a
        // stalled writer's put into a slot that compaction emptied (it sees that and fails, but
        // the entry stays until deleted). Reading the log first would apply it.
        if !recent {
            let newest = self.newest_checkpoint().await?;
            if newest > self.state().version {
                let (state, skipped, _) = self.read_checkpoints(false).await?;
                if state.version > self.state().version {
                    *self.state.write().unwrap_or_else(|e| e.into_inner()) = Arc::new(state);
                }
                self.probe(1).await?;
                if self.state().version < newest {
                    // The newest checkpoint is unreadable and the log behind it is gone.
                    return Err(match skipped {
                        Some(Error::Corrupt { path, message }) => Error::Corrupt {
                            path,
                            message: format!(
                                "{message}; no older checkpoint or complete log to fall back on. \
                                 Recover by restoring that file from a backup of the warehouse"
                            ),
                        },
                        _ => Error::Corrupt {
                            path: numbered(&self.log_dir(), self.state().version + 1).to_string(),
                            message: format!("missing, but checkpoint {newest} follows it"),
                        },
                    });
                }
            }
        }
        self.probe(first).await?;
        if !recent {
            *self.last_listed.lock().unwrap_or_else(|e| e.into_inner()) = Some(started);
        }
        Ok(())
    }

    async fn newest_checkpoint(&self) -> Result<u64> {
        let metas: Vec<_> = self.store().list(Some(&self.checkpoint_dir())).try_collect().await?;
        Ok(metas.iter().filter_map(|m| parse_number(&m.location)).max().unwrap_or(0))
    }

    /// Reads `_log/<v+1>`, `_log/<v+2>`, … until one is missing: `first` at once to begin with
    /// (1 for a refresh, which most often finds nothing new), then more at a time, applied in
    /// order up to the first missing one.
    async fn probe(&self, first: u64) -> Result<()> {
        let mut batch = first;
        loop {
            if self.apply_reads(self.read_log(self.state().version + 1, batch).await)? {
                return Ok(());
            }
            batch = (batch * 2).min(PROBE_BATCH);
        }
    }

    /// Applies consecutive log reads in order up to the first missing entry; true when one was
    /// missing (the end of the log).
    fn apply_reads(&self, reads: Vec<Result<LogRead>>) -> Result<bool> {
        for read in reads {
            let Some((v, path, bytes)) = read? else { return Ok(true) };
            self.apply_entry(v, &path, &bytes)?;
        }
        Ok(false)
    }

    /// Applies log entry `v` (its bytes); an unreadable entry makes the tables it names unreadable.
    fn apply_entry(&self, v: u64, path: &Path, bytes: &[u8]) -> Result<()> {
        {
            let parsed = serde_json::from_slice::<Commit>(bytes).map_err(|e| e.to_string());
            let mut guard = self.state.write().unwrap_or_else(|e| e.into_inner());
            // Copy-on-write: snapshots handed out keep the state they were given.
            let state = Arc::make_mut(&mut guard);
            let applied = parsed.and_then(|commit| {
                if commit.version != v {
                    return Err(format!("the file holds commit {}", commit.version));
                }
                state.apply(&commit)
            });
            if let Err(message) = applied {
                // Keep the other tables working: only the tables this entry names (as far as
                // they can be read from it) become unreadable.
                let ids = salvage_table_ids(bytes);
                if ids.is_empty() {
                    return Err(Error::Corrupt { path: path.to_string(), message });
                }
                let reason = format!(
                    "corrupt metadata in {path}: {message}. Recover by restoring that file from a backup of the warehouse; other tables are not affected"
                );
                state.skip_corrupt(v, &ids, &reason);
            }
        }
        Ok(())
    }

    /// Commits one statement's changes: builds the draft against the latest state, writes it as
    /// the next log entry with put-if-absent, and on losing the race re-reads and tries again.
    /// `draft` is called once per attempt; it must check for logical conflicts with whatever
    /// other writers committed and return an error if the statement can no longer apply.
    pub async fn commit<F>(&self, statement: &str, draft: F) -> Result<Commit>
    where
        F: FnMut(&ProjectState) -> Result<Draft>,
    {
        self.commit_as(statement, None, draft).await
    }

    /// [`Project::commit`] recording `user` as who committed (the history shows it).
    pub async fn commit_as<F>(&self, statement: &str, user: Option<&str>, mut draft: F) -> Result<Commit>
    where
        F: FnMut(&ProjectState) -> Result<Draft>,
    {
        for attempt in 0..MAX_COMMIT_ATTEMPTS {
            self.refresh().await?;
            let commit = {
                let state = self.state();
                let d = draft(&state)?;
                let now = self.clock.now();
                let time = state.last_time.map_or(now, |last| now.max(last));
                let mut commit = Commit {
                    version: state.version + 1,
                    time,
                    statement: statement.to_string(),
                    user: user.map(str::to_string),
                    tables: d.tables,
                    properties: d.properties,
                    expire: d.expire,
                    freed: d.freed,
                };
                if self.upkeep.clock_trusted()
                    && let Some((expire, freed)) = super::retention::carried_expiry(&state, &commit)
                {
                    commit.expire = expire;
                    commit.freed = freed;
                }
                for change in &commit.tables {
                    state.check_readable(&change.table_id)?;
                }
                // Never write a commit that readers would reject.
                state.check(&commit).map_err(Error::Invalid)?;
                commit
            };
            // A statement that stalled past half the grace period may have had the files it
            // wrote swept as orphans: never commit a version that points at missing files.
            if !self.listed_recently()
                && let Some(missing) = self.missing_file(&commit).await
            {
                return Err(Error::conflict(format!(
                    "file {missing} that this statement wrote or points at was removed by a purge while it stalled \
                     (longer than the grace period); nothing of it was committed"
                )));
            }
            let path = numbered(&self.log_dir(), commit.version);
            let bytes =
                serde_json::to_vec(&commit).map_err(|e| Error::invalid(format!("cannot serialize commit: {e}")))?;
            let opts = PutOptions { mode: PutMode::Create, ..Default::default() };
            match self.store().put_opts(&path, PutPayload::from(bytes.clone()), opts).await {
                Ok(_) => {}
                Err(object_store::Error::AlreadyExists { .. }) => {
                    backoff(attempt).await;
                    continue;
                }
                Err(e) => {
                    // The put may have landed even though the call failed: look before failing.
                    match self.landed(&path, &bytes).await {
                        Some(true) => {}
                        Some(false) => {
                            backoff(attempt).await;
                            continue;
                        }
                        None => return Err(e.into()),
                    }
                }
            }
            // A log entry below a checkpoint is never read again: compaction may have emptied
            // this slot while this handle stalled, and a put into it lands where nobody looks.
            // The same stall may have let a purge sweep the files the statement wrote, so the
            // statement fails (nothing of it is visible) rather than retrying with them.
            if self.behind_a_checkpoint(commit.version).await {
                let _ = self.store().delete(&path).await;
                *self.last_listed.lock().unwrap_or_else(|e| e.into_inner()) = None;
                return Err(Error::conflict(format!(
                    "the log was compacted past commit {} while this statement stalled (longer than the \
                     grace period); nothing of it was committed",
                    commit.version
                )));
            }
            // The commit is durable now: nothing after this point may fail the statement.
            // A failed catch-up leaves this handle behind; the next statement catches up.
            let _ = self.refresh().await;
            if commit.version % CHECKPOINT_INTERVAL == 0 {
                self.spawn_checkpoint(commit.version);
            }
            return Ok(commit);
        }
        Err(Error::conflict(format!(
            "gave up after {MAX_COMMIT_ATTEMPTS} attempts to commit: too many concurrent writers"
        )))
    }

    /// True when a checkpoint at or after `version` exists, so that the entry just put at
    /// `version` is invisible. Only possible when this handle last looked at the checkpoints
    /// half a grace period ago or more (compaction deletes entries older than the grace period),
    /// so the common case costs nothing. If the listing fails the entry is taken as visible, as
    /// before this check: it is visible unless this handle also stalled past the grace period.
    async fn behind_a_checkpoint(&self, version: u64) -> bool {
        if self.listed_recently() {
            return false;
        }
        for _ in 0..3 {
            if let Ok(newest) = self.newest_checkpoint().await {
                return newest >= version;
            }
        }
        false
    }

    /// True when this handle looked at the checkpoints less than half a grace period ago.
    fn listed_recently(&self) -> bool {
        self.last_listed.lock().unwrap_or_else(|e| e.into_inner()).is_some_and(|t| t.elapsed() < self.grace() / 2)
    }

    /// A data file that `commit` puts into a partition and that is not in the store.
    async fn missing_file(&self, commit: &Commit) -> Option<String> {
        use super::model::Action;
        let files = commit.tables.iter().flat_map(|c| &c.actions).flat_map(|a| match a {
            Action::PutPartition { partition, .. } => partition.files.iter().collect::<Vec<_>>(),
            Action::Replace { partitions, .. } => partitions.iter().flat_map(|p| &p.files).collect(),
            _ => vec![],
        });
        for f in files {
            if let Err(object_store::Error::NotFound { .. }) = self.store().head(&self.path(&f.path)).await {
                return Some(f.path.clone());
            }
        }
        None
    }

    /// Whether our commit is at `path` (Some(false): another writer's is; None: cannot tell,
    /// so the put certainly did not land where anyone can read it now).
    async fn landed(&self, path: &Path, bytes: &[u8]) -> Option<bool> {
        for _ in 0..3 {
            match self.store().get(path).await {
                Ok(r) => match r.bytes().await {
                    Ok(b) => return Some(b.as_ref() == bytes),
                    Err(_) => continue,
                },
                Err(object_store::Error::NotFound { .. }) => return None,
                Err(_) => continue,
            }
        }
        None
    }

    /// Writes the checkpoint of `version` in the background, so that the commit that reached it
    /// does not wait (best effort: a missing checkpoint only makes the next open replay more).
    fn spawn_checkpoint(&self, version: u64) {
        let state = self.state();
        if state.version != version {
            return;
        }
        let store = Arc::clone(self.store());
        let path = checkpoint_path(&self.checkpoint_dir(), version);
        let dir = self.checkpoint_dir();
        let grace = self.grace();
        self.add_background(tokio::spawn(async move {
            // Encoding may decode and compress every retained version: off the async threads.
            let Ok(Ok(bytes)) = tokio::task::spawn_blocking(move || checkpoint::encode(&state)).await else { return };
            let opts = PutOptions { mode: PutMode::Create, ..Default::default() };
            if store.put_opts(&path, PutPayload::from(bytes), opts).await.is_err() {
                return;
            }
            let _ = delete_superseded_checkpoints(store.as_ref(), &dir, grace).await;
        }));
    }

    pub(crate) async fn write_checkpoint(&self, version: u64) -> Result<()> {
        let state = self.state();
        if state.version != version {
            return Ok(());
        }
        let bytes = tokio::task::spawn_blocking(move || checkpoint::encode(&state))
            .await
            .map_err(|e| Error::invalid(format!("cannot write checkpoint {version}: {e}")))?
            .map_err(|e| Error::invalid(format!("cannot serialize checkpoint {version}: {e}")))?;
        let path = checkpoint_path(&self.checkpoint_dir(), version);
        let opts = PutOptions { mode: PutMode::Create, ..Default::default() };
        match self.store().put_opts(&path, PutPayload::from(bytes), opts).await {
            Ok(_) | Err(object_store::Error::AlreadyExists { .. }) => Ok(()),
            Err(e) => Err(e.into()),
        }
    }
}

/// The checkpoints worth keeping: the newest two (in case the newest is ever damaged), the
/// newest one that has existed for the grace period (log entries before it may go: no process
/// can still be reading them), and the oldest younger one (the next to settle, so that the
/// settled checkpoint advances under continuous writes). Returns the others.
pub(crate) fn superseded_checkpoints(metas: &[ObjectMeta], settled_before: chrono::DateTime<chrono::Utc>) -> Vec<Path> {
    let mut numbered: Vec<(u64, &ObjectMeta)> =
        metas.iter().filter_map(|m| parse_number(&m.location).map(|v| (v, m))).collect();
    numbered.sort_by_key(|(v, _)| *v);
    let mut keep: Vec<u64> = numbered.iter().rev().take(2).map(|(v, _)| *v).collect();
    keep.extend(numbered.iter().rev().find(|(_, m)| m.last_modified <= settled_before).map(|(v, _)| *v));
    keep.extend(numbered.iter().find(|(_, m)| m.last_modified > settled_before).map(|(v, _)| *v));
    numbered.into_iter().filter(|(v, _)| !keep.contains(v)).map(|(_, m)| m.location.clone()).collect()
}

async fn delete_superseded_checkpoints(store: &dyn ObjectStore, dir: &Path, grace: Duration) -> Result<usize> {
    let metas: Vec<ObjectMeta> = store.list(Some(dir)).try_collect().await?;
    let settled_before = chrono::Utc::now() - chrono::Duration::from_std(grace).unwrap_or_default();
    let mut deleted = 0;
    for path in superseded_checkpoints(&metas, settled_before) {
        store.delete(&path).await?;
        deleted += 1;
    }
    Ok(deleted)
}

/// The table ObjectIds a (possibly damaged) commit file names.
fn salvage_table_ids(bytes: &[u8]) -> Vec<String> {
    let text = String::from_utf8_lossy(bytes);
    let mut ids = Vec::new();
    for (i, _) in text.match_indices("\"table_id\"") {
        let rest = text[i + 10..].trim_start_matches([':', ' ', '"']);
        let id: String = rest.chars().take_while(|c| c.is_ascii_hexdigit()).collect();
        if id.len() == 32 && !ids.contains(&id) {
            ids.push(id);
        }
    }
    ids
}

/// Waits a little after a lost race, longer as races repeat, with jitter so racers spread out.
/// The first retry is at once: most races are with one other commit (a background purge's, or
/// another process's), which the refresh before the retry has just read.
async fn backoff(attempt: usize) {
    if attempt == 0 {
        return;
    }
    let jitter = u64::from(uuid::Uuid::new_v4().as_bytes()[0]) % 8;
    let ms = (attempt.min(6) as u64) * 2 + jitter;
    tokio::time::sleep(Duration::from_millis(ms)).await;
}

#[cfg(test)]
mod tests {
    use super::*;

    fn meta(v: u64, minutes_ago: i64) -> ObjectMeta {
        ObjectMeta {
            location: numbered(&Path::from("p/_checkpoints"), v),
            last_modified: chrono::Utc::now() - chrono::Duration::minutes(minutes_ago),
            size: 1,
            e_tag: None,
            version: None,
        }
    }

    #[test]
    fn checkpoints_kept_newest_two_settled_and_next_to_settle() {
        // Grace of an hour: 50 and 100 settled, 150..300 younger.
        let metas: Vec<_> = [(50, 200), (100, 90), (150, 50), (200, 30), (250, 10), (300, 1)]
            .into_iter()
            .map(|(v, ago)| meta(v, ago))
            .collect();
        let settled_before = chrono::Utc::now() - chrono::Duration::hours(1);
        let gone: Vec<u64> = superseded_checkpoints(&metas, settled_before).iter().filter_map(parse_number).collect();
        // Kept: 300 and 250 (newest), 100 (newest settled), 150 (next to settle).
        assert_eq!(gone, vec![50, 200]);
    }
}
