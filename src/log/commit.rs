//! The commit loop: a statement's draft, built against the latest state, written as the next log
//! entry with put-if-absent; a lost race re-reads and tries again.

use std::collections::BTreeMap;
use std::time::Duration;

use object_store::path::Path;
use object_store::{ObjectStoreExt, PutMode, PutOptions, PutPayload};

use super::compaction::CHECKPOINT_INTERVAL;
use super::project::{Project, numbered};
use crate::error::{Error, Result};
use crate::state::ProjectState;
use crate::state::expiry::{GRACE_KEY, carried_expiry};
use crate::state::model::{Action, Commit, Expiry, TableChange};

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
    pub expire: Vec<Expiry>,
    /// Files the forgotten versions alone referenced (see [`Commit::freed`]).
    pub freed: Vec<String>,
}

impl Project {
    /// Sets [`Project::grace`] for every process: a commit of the project property.
    pub async fn set_grace(&self, grace: Duration) -> Result<()> {
        let key = GRACE_KEY;
        let secs = grace.as_secs().to_string();
        let statement = format!("SETPROJECT {key}={secs}");
        let properties = BTreeMap::from([(key.to_string(), secs)]);
        self.commit(&statement, |_| Ok(Draft { properties: properties.clone(), ..Default::default() })).await?;
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
        let commit = self.commit_unless_done(statement, user, |state| draft(state).map(Some)).await?;
        // Never None: every attempt has a draft.
        commit.ok_or_else(|| Error::invalid(format!("nothing to commit for {statement}")))
    }

    /// [`Project::commit_as`] of a statement that may find, on the latest state, that there is
    /// nothing left to do (`draft` gives None: `CREATE … IF NOT EXISTS` that lost the race to
    /// another statement creating the same object): then nothing is written and None returned.
    pub async fn commit_unless_done<F>(
        &self,
        statement: &str,
        user: Option<&str>,
        mut draft: F,
    ) -> Result<Option<Commit>>
    where
        F: FnMut(&ProjectState) -> Result<Option<Draft>>,
    {
        for attempt in 0..MAX_COMMIT_ATTEMPTS {
            self.refresh().await?;
            let commit = {
                let state = self.state();
                let Some(d) = draft(&state)? else { return Ok(None) };
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
                    && let Some((expire, freed)) = carried_expiry(&state, &commit)
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
            return Ok(Some(commit));
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
    pub(super) fn listed_recently(&self) -> bool {
        self.last_listed.lock().unwrap_or_else(|e| e.into_inner()).is_some_and(|t| t.elapsed() < self.grace() / 2)
    }

    /// A data file that `commit` puts into a partition and that is not in the store.
    async fn missing_file(&self, commit: &Commit) -> Option<String> {
        let files = commit.tables.iter().flat_map(|c| &c.actions).flat_map(|a| match a {
            Action::PutPartition { partition, .. } | Action::ChangeData { partition } => {
                partition.files.iter().collect::<Vec<_>>()
            }
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
