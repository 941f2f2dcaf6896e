//! The in-memory state of a project, rebuilt from a checkpoint plus the commits after it.
//!
//! Each table keeps the deltas of its retained versions ([`VersionEntry`]) and the state just
//! before the first of them (`base`). The current version is kept materialized; any older one
//! is rebuilt by replaying deltas ([`TableHistory::state_at`]), so memory and checkpoints grow
//! with the number of changes, not with versions × files.
//!
//! File lists and version lists are persistent structures (`imbl`): a commit shares everything it
//! does not change with the version before it, so its cost does not grow with the number of
//! versions or files, even while a running statement holds the previous state. What a
//! checkpoint holds beyond the catalog (file lists, history) stays encoded until used ([`Lazy`]).

use std::collections::{BTreeMap, HashSet};

use chrono::{DateTime, Utc};

use super::history::TableHistory;
use super::model::{Action, Commit, Expiry};

/// The project property that sets the retention.
pub const RETENTION_KEY: &str = "odps.timemachine.retention.days";
/// Retention when the property is not set.
pub const DEFAULT_RETENTION_DAYS: i64 = 1;
/// The project property that sets the grace period: how old an unreferenced data file, a
/// compacted log entry or a file of a forgotten version must be before a purge deletes it (a
/// statement in flight or a reader may still use it). One value in the log for every process.
pub const GRACE_KEY: &str = "timemachine.purge.grace.seconds";
/// Grace period when the property is not set (one hour).
pub const DEFAULT_GRACE_SECONDS: u64 = 3600;

impl ProjectState {
    /// How old an unreferenced data file, a compacted log entry or a file of a forgotten version
    /// must be before a purge deletes it: the project property [`GRACE_KEY`] (default one hour),
    /// the same for every process.
    pub fn grace(&self) -> std::time::Duration {
        let secs = self.properties.get(GRACE_KEY).and_then(|v| v.parse().ok()).unwrap_or(DEFAULT_GRACE_SECONDS);
        std::time::Duration::from_secs(secs)
    }

    /// The project's retention in days ([`RETENTION_KEY`]).
    pub fn retention_days(&self) -> i64 {
        self.properties.get(RETENTION_KEY).and_then(|v| v.parse().ok()).unwrap_or(DEFAULT_RETENTION_DAYS)
    }
}

/// The whole project: every table (live or dropped and still retained) and the properties.
#[derive(Debug, Clone, Default)]
pub struct ProjectState {
    /// The last commit applied.
    pub version: u64,
    /// Time of the last commit applied.
    pub last_time: Option<DateTime<Utc>>,
    /// Project properties (`odps.timemachine.retention.days`, …).
    pub properties: BTreeMap<String, String>,
    /// Tables by ObjectId.
    pub tables: BTreeMap<String, TableHistory>,
    /// Tables whose metadata could not be read, by ObjectId, with the reason (file and error).
    /// Their later changes are skipped; reading or writing them fails with the reason.
    pub corrupt: BTreeMap<String, String>,
    /// Data files that purges freed and when (commit time): deleted once the grace period has
    /// passed; forgotten here after twice the grace period (an unreferenced old file is an
    /// orphan then, which the sweep deletes).
    pub freed: BTreeMap<String, DateTime<Utc>>,
}

impl ProjectState {
    /// The live (not dropped) table called `name`.
    pub fn live_table(&self, name: &str) -> Option<&TableHistory> {
        self.tables.values().find(|t| !t.current.dropped && t.current.name == name)
    }

    /// Names of all live tables, sorted.
    pub fn live_names(&self) -> Vec<String> {
        let mut names: Vec<String> =
            self.tables.values().filter(|t| !t.current.dropped).map(|t| t.current.name.clone()).collect();
        names.sort();
        names
    }

    /// Applies the next commit. Fails (without changing anything) if the commit does not follow
    /// this state: wrong version, LSN gaps, a change to an unknown table.
    pub fn apply(&mut self, commit: &Commit) -> Result<(), String> {
        self.check(commit)?;
        for change in commit.tables.iter().filter(|c| !self.corrupt.contains_key(&c.table_id)) {
            let table = self
                .tables
                .entry(change.table_id.clone())
                .or_insert_with(|| TableHistory::from_parts(change.table_id.clone(), commit.time, None, vec![]));
            table.push(commit.time, change, commit.user.as_deref());
        }
        for expiry in &commit.expire {
            match expiry.keep_from {
                None => {
                    self.tables.remove(&expiry.table_id);
                }
                Some(lsn) => {
                    if let Some(t) = self.tables.get_mut(&expiry.table_id) {
                        t.expire_before(lsn);
                    }
                }
            }
        }
        self.properties.extend(commit.properties.clone());
        for path in &commit.freed {
            self.freed.insert(path.clone(), commit.time);
        }
        let horizon = chrono::Duration::from_std(self.grace() * 2).unwrap_or_default();
        self.freed.retain(|_, at| *at + horizon >= commit.time);
        self.version = commit.version;
        self.last_time = Some(commit.time);
        Ok(())
    }

    /// The data files that only the versions `expire` forgets reference (no other retained
    /// version of any table does).
    pub fn files_freed_by(&self, expire: &[Expiry]) -> Vec<String> {
        let mut candidates = HashSet::new();
        let mut kept = HashSet::new();
        for e in expire {
            let Some(t) = self.tables.get(&e.table_id) else { continue };
            // Appends only: every file of the forgotten versions is still in the first kept one
            // (the usual case at retention 0, without walking the table's files per statement).
            if let Some(lsn) = e.keep_from
                && !t.may_remove_files_through(lsn)
            {
                continue;
            }
            candidates.extend(t.referenced_files());
            if let Some(lsn) = e.keep_from {
                let mut trimmed = t.clone();
                trimmed.expire_before(lsn);
                kept.extend(trimmed.referenced_files());
            }
        }
        candidates.retain(|p| !kept.contains(p));
        if !candidates.is_empty() {
            // Files are shared across tables after RESTORE … AS.
            for t in self.tables.values().filter(|t| !expire.iter().any(|e| e.table_id == t.id)) {
                for path in t.referenced_files() {
                    candidates.remove(&path);
                }
            }
        }
        let mut freed: Vec<String> = candidates.into_iter().collect();
        freed.sort();
        freed
    }

    /// Skips the unreadable commit `version`: the tables it may have changed (`table_ids`, as far
    /// as they could be salvaged from the file) become unreadable with `reason`.
    pub fn skip_corrupt(&mut self, version: u64, table_ids: &[String], reason: &str) {
        for id in table_ids {
            self.corrupt.insert(id.clone(), reason.to_string());
        }
        self.version = version;
    }

    /// The reason the table `id` is unreadable, if it is.
    pub fn corruption(&self, id: &str) -> Option<&str> {
        self.corrupt.get(id).map(String::as_str)
    }

    /// Fails if the table `id` is unreadable.
    pub fn check_readable(&self, id: &str) -> crate::Result<()> {
        match self.corruption(id) {
            None => Ok(()),
            Some(reason) => Err(crate::Error::Unreadable {
                table: self.tables.get(id).map_or_else(|| id.to_string(), |t| t.current.name.clone()),
                reason: reason.to_string(),
            }),
        }
    }

    /// Fails if the table `id` is unreadable, or if what a reader needs of it (the current file
    /// list; with `past`, every retained version) does not decode: called before reading, so
    /// that such a table fails the statement, not the process.
    pub fn check_decodable(&self, id: &str, past: bool) -> crate::Result<()> {
        self.check_readable(id)?;
        let Some(t) = self.tables.get(id) else { return Ok(()) };
        t.check_decodable(past).map_err(|reason| crate::Error::Unreadable { table: t.current.name.clone(), reason })
    }

    /// Checks that `commit` follows this state, without applying it.
    pub fn check(&self, commit: &Commit) -> Result<(), String> {
        if commit.version != self.version + 1 {
            return Err(format!("commit {} does not follow commit {}", commit.version, self.version));
        }
        for change in commit.tables.iter().filter(|c| !self.corrupt.contains_key(&c.table_id)) {
            let expected = self.tables.get(&change.table_id).map_or(1, |t| t.current.lsn + 1);
            if change.lsn != expected {
                return Err(format!("table {} jumps to LSN {} (expected {expected})", change.table_id, change.lsn));
            }
            if expected == 1 && !matches!(change.actions.first(), Some(Action::Create { .. })) {
                return Err(format!("table {} starts without CREATE", change.table_id));
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::state::model::{ColumnDef, DataFile, Partition, PutMode, TableChange, TableSchema};

    fn put(s: &mut ProjectState, path: &str, mode: PutMode) {
        let lsn = s.tables.values().next().map_or(1, |t| t.current.lsn + 1);
        let actions = if lsn == 1 {
            let schema = TableSchema {
                columns: vec![ColumnDef::new("v", "bigint")],
                partition_columns: vec![],
                clustering: None,
            };
            vec![Action::Create { name: "t".into(), schema, lifecycle: None }]
        } else {
            let file = DataFile {
                path: path.into(),
                size: 1,
                rows: 1,
                stats: Default::default(),
                bucket: None,
                deleted: None,
            };
            vec![Action::PutPartition {
                partition: Partition { id: "p".into(), files: imbl::vector![file], ..Default::default() },
                mode,
            }]
        };
        let change = TableChange { table_id: "t".into(), lsn, history: vec![], actions, writes: true };
        let commit = Commit {
            version: s.version + 1,
            time: Utc::now(),
            statement: String::new(),
            user: None,
            tables: vec![change],
            properties: BTreeMap::new(),
            expire: vec![],
            freed: vec![],
        };
        s.apply(&commit).unwrap();
    }

    #[test]
    fn forgetting_appends_frees_nothing_and_forgetting_an_overwritten_version_frees_its_files() {
        let mut s = ProjectState::default();
        put(&mut s, "", PutMode::Append);
        for f in ["a", "b", "c"] {
            put(&mut s, f, PutMode::Append);
        }
        let expire = |keep| vec![Expiry { table_id: "t".into(), keep_from: Some(keep) }];
        assert!(!s.tables["t"].may_remove_files_through(4));
        assert!(s.files_freed_by(&expire(4)).is_empty());
        put(&mut s, "d", PutMode::Replace);
        assert!(s.tables["t"].may_remove_files_through(5));
        assert_eq!(s.files_freed_by(&expire(5)), vec!["a", "b", "c"]);
        assert!(s.files_freed_by(&expire(4)).is_empty(), "version 4 still holds them");
    }
}
