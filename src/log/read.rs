//! Catching up with the log: the newest readable checkpoint, then the entries after it, applied
//! in order; an unreadable entry makes only the tables it names unreadable.

use std::sync::{Arc, RwLock};

use futures::TryStreamExt;
use object_store::path::Path;
use object_store::{ObjectMeta, ObjectStoreExt};

use super::checkpoint;
use super::project::{Project, numbered, parse_number};
use crate::clock::Clock;
use crate::error::{Error, Result};
use crate::state::ProjectState;
use crate::state::model::Commit;
use crate::warehouse::Warehouse;

/// Log entries read at once when catching up.
pub(super) const PROBE_BATCH: u64 = 16;

/// One log entry read: its number, path and bytes; None when it does not exist.
type LogRead = Option<(u64, Path, bytes::Bytes)>;

/// What reading the checkpoints gives: the state, the error of a newer unreadable checkpoint
/// that was skipped, and the log entries after the newest checkpoint when they were read too.
type CheckpointRead = (ProjectState, Option<Error>, Option<Vec<Result<LogRead>>>);

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

    /// The latest state, after catching up with other writers. A statement reads one such
    /// snapshot throughout its planning (`TimeMachine` binds its session state to it), so it
    /// never sees half of another statement's multi-table commit.
    pub async fn snapshot(&self) -> Result<Arc<ProjectState>> {
        self.refresh().await?;
        Ok(self.state())
    }

    /// The newest readable checkpoint (and what made newer ones unreadable). With `read_after`,
    /// also the log entries after the newest checkpoint, read at the same time (see
    /// [`Project::read_log`]); None when the state comes from an older checkpoint.
    pub(super) async fn read_checkpoints(&self, read_after: bool) -> Result<CheckpointRead> {
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
    pub(super) async fn refresh_reading(&self, first: u64) -> Result<()> {
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

    pub(super) async fn newest_checkpoint(&self) -> Result<u64> {
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
    pub(super) fn apply_reads(&self, reads: Vec<Result<LogRead>>) -> Result<bool> {
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
