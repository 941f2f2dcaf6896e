//! Every retained version of one table: the base before the first, the versions up to the
//! checkpoint (decoded when first needed) and the versions applied since.

use std::collections::HashSet;
use std::sync::Arc;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::model::{Action, Partition, PutMode, TableChange};
use super::past::Past;
use super::snapshot::{Entries, TableSnapshot, VersionEntry};

/// What a purge after every statement needs of a table's history without decoding it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct PastSummary {
    /// Number of entries.
    pub len: usize,
    /// LSN of the first entry.
    pub first_lsn: Option<u64>,
    /// Commit time of the second entry: once it is past the retention cutoff, the first entry
    /// has expired (times ascend).
    pub second_time: Option<DateTime<Utc>>,
}

impl PastSummary {
    pub(super) fn of(entries: &Entries) -> Self {
        Self {
            len: entries.len(),
            first_lsn: entries.front().map(|e| e.lsn),
            second_time: entries.get(1).map(|e| e.time),
        }
    }
}

/// Every retained version of one table.
#[derive(Debug, Clone)]
pub struct TableHistory {
    /// ObjectId of the table.
    pub id: String,
    /// When the table was created.
    pub created: DateTime<Utc>,
    /// The latest version, materialized.
    pub current: Arc<TableSnapshot>,
    /// The versions up to the checkpoint this state was read from (decoded as asked).
    past: Past,
    /// What is known of `past` without decoding it.
    summary: PastSummary,
    /// Versions applied since.
    recent: Entries,
}

impl TableHistory {
    /// Rebuilds the history (and its current version) from its parts.
    pub fn from_parts(
        id: String,
        created: DateTime<Utc>,
        base: Option<TableSnapshot>,
        entries: Vec<VersionEntry>,
    ) -> Self {
        let mut current = base.clone().unwrap_or_else(|| TableSnapshot::empty(&id));
        for e in &entries {
            current.apply(e.lsn, e.time, &e.actions);
        }
        let entries: Entries = entries.into_iter().map(Arc::new).collect();
        let summary = PastSummary::of(&entries);
        Self {
            id,
            created,
            current: Arc::new(current),
            past: Past::new(base, &entries),
            summary,
            recent: Entries::new(),
        }
    }

    /// A history read from a checkpoint: the current version, and the past still encoded.
    pub(crate) fn from_checkpoint(
        id: String,
        created: DateTime<Utc>,
        current: TableSnapshot,
        past: Past,
        summary: PastSummary,
    ) -> Self {
        Self { id, created, current: Arc::new(current), past, summary, recent: Entries::new() }
    }

    /// The retained versions, ascending LSN, no gaps (decodes the history on first use).
    pub fn entries(&self) -> Entries {
        self.entries_through(None)
    }

    /// The retained versions up to at least `through` (only the stored chunks it needs are
    /// decoded; later versions may follow).
    fn entries_through(&self, through: Option<u64>) -> Entries {
        let mut all = self.past.entries(through);
        all.append(self.recent.clone());
        all
    }

    /// The newest retained version committed at or before `at`, if any. The stored history is
    /// decoded only when neither the current version nor one applied since the checkpoint answers
    /// (reading "as of now" or of a moment ago costs nothing).
    pub fn newest_at(&self, at: DateTime<Utc>) -> Option<u64> {
        if self.current.time <= at {
            return Some(self.current.lsn);
        }
        if let Some(e) = self.recent.iter().rev().find(|e| e.time <= at) {
            return Some(e.lsn);
        }
        self.past.entries(None).iter().rev().find(|e| e.time <= at).map(|e| e.lsn)
    }

    /// The state just before the first retained version (None when that is the CREATE).
    pub fn base(&self) -> Option<&TableSnapshot> {
        self.past.base()
    }

    /// Decodes now what a reader of the current version needs (its file list) and, with `past`,
    /// every retained version: the error of a checkpoint part that does not decode.
    pub fn check_decodable(&self, past: bool) -> Result<(), String> {
        self.current.partitions.try_get()?;
        if past {
            self.past.try_decode()?;
        }
        Ok(())
    }

    /// True once some of the history read from a checkpoint has been decoded (a statement asked
    /// for it).
    pub fn history_decoded(&self) -> bool {
        self.past.any_decoded()
    }

    /// The number of retained versions (without decoding the history).
    pub fn retained(&self) -> usize {
        self.summary.len + self.recent.len()
    }

    /// The LSN of the oldest retained version and the commit time of the one after it (without
    /// decoding the history): what tells whether anything expired.
    pub fn oldest(&self) -> (Option<u64>, Option<DateTime<Utc>>) {
        let s = self.summary;
        let first = s.first_lsn.or_else(|| self.recent.front().map(|e| e.lsn));
        let second = match s.len {
            0 => self.recent.get(1).map(|e| e.time),
            1 => self.recent.front().map(|e| e.time),
            _ => s.second_time,
        };
        (first, second)
    }

    /// The history as a checkpoint stores it (the chunks read from the last checkpoint and not
    /// changed since are copied), and its summary.
    pub(crate) fn encoded_past(&self) -> Result<(Vec<u8>, PastSummary), String> {
        let (first_lsn, second_time) = self.oldest();
        let summary = PastSummary { len: self.retained(), first_lsn, second_time };
        Ok((self.past.followed_by(&self.recent).write()?, summary))
    }

    /// The table as it was at `lsn`, if that version is retained.
    pub fn state_at(&self, lsn: u64) -> Option<TableSnapshot> {
        if lsn == self.current.lsn {
            return Some(self.current.as_ref().clone());
        }
        // Retained versions have consecutive LSNs from the oldest to the current one.
        if self.oldest().0.is_none_or(|first| lsn < first) || lsn > self.current.lsn {
            return self.base().filter(|b| b.lsn == lsn && lsn > 0).cloned();
        }
        let entries = self.entries_through(Some(lsn));
        let mut s = self.base().cloned().unwrap_or_else(|| TableSnapshot::empty(&self.id));
        for e in entries.iter().take_while(|e| e.lsn <= lsn) {
            s.apply(e.lsn, e.time, &e.actions);
        }
        Some(s)
    }

    /// Forgets the versions before `lsn`: they fold into `base`.
    pub fn expire_before(&mut self, lsn: u64) {
        let entries = self.entries();
        let n = entries.iter().take_while(|e| e.lsn < lsn).count();
        if n == 0 || n == entries.len() {
            return;
        }
        let mut base = self.base().cloned().unwrap_or_else(|| TableSnapshot::empty(&self.id));
        for e in entries.iter().take(n) {
            base.apply(e.lsn, e.time, &e.actions);
        }
        let entries = entries.skip(n);
        self.summary = PastSummary::of(&entries);
        self.past = Past::new(Some(base), &entries);
        self.recent = Entries::new();
    }

    /// True when a version after the oldest retained one, up to `lsn`, may have removed files
    /// (an overwrite, a dropped partition, a restore, a rewrite), or a forgotten version wrote
    /// change files: only then can forgetting the versions before `lsn` free a file.
    pub fn may_remove_files_through(&self, lsn: u64) -> bool {
        let first = self.oldest().0.unwrap_or(0);
        let entries = self.entries_through(Some(lsn));
        let mut actions = entries
            .iter()
            .filter(|e| e.lsn >= first && e.lsn <= lsn)
            .flat_map(|e| e.actions.iter().map(|a| (e.lsn, a)));
        actions.any(|(at, a)| match a {
            Action::ChangeData { .. } => at < lsn,
            _ => {
                at > first
                    && !matches!(
                        a,
                        Action::PutPartition { mode: PutMode::Append, .. }
                            | Action::Rename { .. }
                            | Action::AlterSchema { .. }
                            | Action::SetLifecycle { .. }
                            | Action::SetProperties { .. }
                            | Action::Touch { .. }
                            | Action::EnableLifecycle { .. }
                    )
            }
        })
    }

    /// Paths of every data file that some retained version references.
    pub fn referenced_files(&self) -> HashSet<String> {
        let mut out = HashSet::new();
        let entries = self.entries();
        let Some(first) = entries.front() else {
            return out;
        };
        // The first retained version in full, then only what later versions add.
        let mut s = self.base().cloned().unwrap_or_else(|| TableSnapshot::empty(&self.id));
        s.apply(first.lsn, first.time, &first.actions);
        out.extend(s.partitions.values().flat_map(|p| &p.files).map(|f| f.path.clone()));
        for (i, action) in entries.iter().enumerate().flat_map(|(i, e)| e.actions.iter().map(move |a| (i, a))) {
            let added: Vec<&Partition> = match action {
                Action::PutPartition { partition, .. } if i > 0 => vec![partition],
                Action::Replace { partitions, .. } if i > 0 => partitions.iter().collect(),
                // Every retained version's change files (the change feed reads them).
                Action::ChangeData { partition } => vec![partition],
                _ => vec![],
            };
            out.extend(added.into_iter().flat_map(|p| &p.files).map(|f| f.path.clone()));
        }
        out
    }

    pub(super) fn push(&mut self, time: DateTime<Utc>, change: &TableChange, user: Option<&str>) {
        // Shares every partition and file the change leaves alone (persistent maps).
        let mut next = self.current.as_ref().clone();
        next.apply(change.lsn, time, &change.actions);
        self.recent.push_back(Arc::new(VersionEntry {
            lsn: change.lsn,
            time,
            history: change.history.clone(),
            actions: change.actions.clone(),
            writes: change.writes,
            user: user.map(str::to_string),
        }));
        self.current = Arc::new(next);
    }
}
