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
use std::sync::Arc;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::lazy::{Codec, Lazy, decode_json, encode_json};
use super::model::{Action, Commit, HistoryRow, Partition, PutMode, TableChange, TableSchema};
use super::past::Past;

/// A table's partitions by their values: a persistent map, stored as the list of its partitions
/// (the key is each partition's `values`; JSON keys must be strings).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Partitions(pub imbl::OrdMap<Vec<String>, Partition>);

impl std::ops::Deref for Partitions {
    type Target = imbl::OrdMap<Vec<String>, Partition>;

    fn deref(&self) -> &Self::Target {
        &self.0
    }
}

impl std::ops::DerefMut for Partitions {
    fn deref_mut(&mut self) -> &mut Self::Target {
        &mut self.0
    }
}

impl FromIterator<(Vec<String>, Partition)> for Partitions {
    fn from_iter<I: IntoIterator<Item = (Vec<String>, Partition)>>(iter: I) -> Self {
        Self(iter.into_iter().collect())
    }
}

impl Serialize for Partitions {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(self.0.values())
    }
}

impl Codec for Partitions {
    fn encode(&self) -> Result<Vec<u8>, String> {
        encode_json(self)
    }

    fn decode(bytes: &[u8]) -> Result<Self, String> {
        decode_json(bytes)
    }
}

impl<'de> Deserialize<'de> for Partitions {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let list = Vec::<Partition>::deserialize(d)?;
        Ok(list.into_iter().map(|p| (p.values.clone(), p)).collect())
    }
}

/// Versions of a table, oldest first.
pub type Entries = imbl::Vector<Arc<VersionEntry>>;

/// A table as it is at one LSN.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TableSnapshot {
    /// ObjectId of the table.
    pub id: String,
    /// The LSN of this version.
    pub lsn: u64,
    /// Commit time of this version.
    pub time: DateTime<Utc>,
    /// Table name at this version.
    pub name: String,
    /// Schema at this version.
    pub schema: TableSchema,
    /// Partitions by their values (an unpartitioned table has one, keyed by no values).
    pub partitions: Lazy<Partitions>,
    /// True once dropped (until undropped).
    pub dropped: bool,
    /// `LIFECYCLE n` in days, if set.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lifecycle: Option<u64>,
    /// `ALTER TABLE … DISABLE LIFECYCLE`: nothing of the table is reclaimed.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub lifecycle_disabled: bool,
    /// When the schema or lifecycle last changed (MaxCompute's LastDDLTime).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ddl_time: Option<DateTime<Utc>>,
}

impl TableSnapshot {
    fn empty(id: &str) -> Self {
        Self {
            id: id.to_string(),
            lsn: 0,
            time: DateTime::<Utc>::MIN_UTC,
            name: String::new(),
            schema: TableSchema { columns: vec![], partition_columns: vec![] },
            partitions: Lazy::default(),
            dropped: false,
            lifecycle: None,
            lifecycle_disabled: false,
            ddl_time: None,
        }
    }

    /// Applies one version's actions in place. A file list not yet decoded stays so: its
    /// changes wait for the first reader.
    fn apply(&mut self, lsn: u64, time: DateTime<Utc>, actions: &[Action]) {
        self.lsn = lsn;
        self.time = time;
        for action in actions {
            match action {
                Action::Create { name, schema, lifecycle } => {
                    self.name = name.clone();
                    self.schema = schema.clone();
                    self.dropped = false;
                    self.lifecycle = *lifecycle;
                    self.ddl_time = Some(time);
                }
                Action::Rename { name } => self.name = name.clone(),
                Action::Drop => self.dropped = true,
                Action::Undrop { name } => {
                    self.dropped = false;
                    self.name = name.clone();
                }
                Action::Replace { schema, .. } => {
                    if *schema != self.schema {
                        self.ddl_time = Some(time);
                    }
                    self.schema = schema.clone();
                }
                Action::AlterSchema { schema } => {
                    self.schema = schema.clone();
                    self.ddl_time = Some(time);
                }
                Action::SetLifecycle { days } => {
                    self.lifecycle = *days;
                    self.ddl_time = Some(time);
                }
                Action::EnableLifecycle { values: None, enabled } => {
                    self.lifecycle_disabled = !enabled;
                    self.ddl_time = Some(time);
                }
                Action::PutPartition { .. }
                | Action::DropPartition { .. }
                | Action::Touch { .. }
                | Action::EnableLifecycle { values: Some(_), .. } => {}
            }
        }
        if !actions.iter().any(changes_partitions) {
            return;
        }
        if self.partitions.is_decoded() {
            apply_to_partitions(&mut self.partitions, &self.id, time, actions);
        } else {
            let (id, actions) = (self.id.clone(), actions.to_vec());
            self.partitions.defer(move |p| apply_to_partitions(p, &id, time, &actions));
        }
    }

    /// Total rows over all partitions.
    pub fn row_count(&self) -> u64 {
        self.partitions.values().flat_map(|p| &p.files).map(|f| f.rows).sum()
    }

    /// When the table's data last changed (MaxCompute's LastModifiedTime).
    pub fn data_modified(&self) -> Option<DateTime<Utc>> {
        self.partitions.values().filter_map(|p| p.modified).max()
    }
}

/// One retained version of a table, as a delta on the version before it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct VersionEntry {
    /// The version's LSN.
    pub lsn: u64,
    /// Commit time.
    pub time: DateTime<Utc>,
    /// Rows shown by SHOW HISTORY.
    pub history: Vec<HistoryRow>,
    /// The change from the previous version.
    pub actions: Vec<Action>,
    /// True when the version wrote new rows (see [`TableChange::writes`]).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub writes: bool,
    /// Who committed it (None: a session without a user).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user: Option<String>,
}

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
    fn of(entries: &Entries) -> Self {
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
    /// (an overwrite, a dropped partition, a restore, a rewrite): only then can forgetting the
    /// versions before `lsn` free a file.
    pub fn may_remove_files_through(&self, lsn: u64) -> bool {
        let first = self.oldest().0.unwrap_or(0);
        self.entries_through(Some(lsn)).iter().filter(|e| e.lsn > first && e.lsn <= lsn).flat_map(|e| &e.actions).any(
            |a| {
                !matches!(
                    a,
                    Action::PutPartition { mode: PutMode::Append, .. }
                        | Action::Rename { .. }
                        | Action::AlterSchema { .. }
                        | Action::SetLifecycle { .. }
                        | Action::Touch { .. }
                        | Action::EnableLifecycle { .. }
                )
            },
        )
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
        for action in entries.iter().skip(1).flat_map(|e| &e.actions) {
            let added: Vec<&Partition> = match action {
                Action::PutPartition { partition, .. } => vec![partition],
                Action::Replace { partitions, .. } => partitions.iter().collect(),
                _ => vec![],
            };
            out.extend(added.into_iter().flat_map(|p| &p.files).map(|f| f.path.clone()));
        }
        out
    }

    fn push(&mut self, time: DateTime<Utc>, change: &TableChange, user: Option<&str>) {
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
        let horizon = chrono::Duration::from_std(super::retention::grace(self) * 2).unwrap_or_default();
        self.freed.retain(|_, at| *at + horizon >= commit.time);
        self.version = commit.version;
        self.last_time = Some(commit.time);
        Ok(())
    }

    /// The data files that only the versions `expire` forgets reference (no other retained
    /// version of any table does).
    pub fn files_freed_by(&self, expire: &[super::model::Expiry]) -> Vec<String> {
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

/// The serialized form of a [`ProjectState`] (a checkpoint).
#[derive(Debug, Serialize, Deserialize)]
pub struct Checkpoint {
    /// The last commit included.
    pub version: u64,
    /// Its time.
    pub last_time: Option<DateTime<Utc>>,
    /// Project properties.
    pub properties: BTreeMap<String, String>,
    /// Every retained table.
    pub tables: Vec<CheckpointTable>,
    /// Tables whose metadata could not be read, with the reason.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub corrupt: BTreeMap<String, String>,
    /// Files freed by purges, awaiting deletion after the grace period.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub freed: BTreeMap<String, DateTime<Utc>>,
}

/// One table in a checkpoint.
#[derive(Debug, Serialize, Deserialize)]
pub struct CheckpointTable {
    /// ObjectId.
    pub id: String,
    /// Creation time.
    pub created: DateTime<Utc>,
    /// State before the first retained entry.
    pub base: Option<TableSnapshot>,
    /// Retained versions.
    pub entries: Vec<VersionEntry>,
}

impl From<&ProjectState> for Checkpoint {
    fn from(s: &ProjectState) -> Self {
        Checkpoint {
            version: s.version,
            last_time: s.last_time,
            properties: s.properties.clone(),
            tables: s
                .tables
                .values()
                .map(|t| CheckpointTable {
                    id: t.id.clone(),
                    created: t.created,
                    base: t.base().cloned(),
                    entries: t.entries().iter().map(|e| e.as_ref().clone()).collect(),
                })
                .collect(),
            corrupt: s.corrupt.clone(),
            freed: s.freed.clone(),
        }
    }
}

impl From<Checkpoint> for ProjectState {
    fn from(c: Checkpoint) -> Self {
        ProjectState {
            version: c.version,
            last_time: c.last_time,
            properties: c.properties,
            tables: c
                .tables
                .into_iter()
                .map(|t| (t.id.clone(), TableHistory::from_parts(t.id, t.created, t.base, t.entries)))
                .collect(),
            corrupt: c.corrupt,
            freed: c.freed,
        }
    }
}

/// True when `action` changes partitions.
fn changes_partitions(action: &Action) -> bool {
    !matches!(
        action,
        Action::Rename { .. }
            | Action::Drop
            | Action::AlterSchema { .. }
            | Action::SetLifecycle { .. }
            | Action::EnableLifecycle { values: None, .. }
    )
}

/// The part of a version's actions that changes the partitions of table `id`.
fn apply_to_partitions(partitions: &mut Partitions, id: &str, time: DateTime<Utc>, actions: &[Action]) {
    for action in actions {
        match action {
            Action::Create { schema, .. } => {
                partitions.clear();
                if !schema.is_partitioned() {
                    let p = Partition { id: id.to_string(), modified: Some(time), ..Default::default() };
                    partitions.insert(vec![], p);
                }
            }
            // Restored data starts its LIFECYCLE anew (else it would be reclaimed again at once).
            Action::Undrop { .. } => touch(partitions, time, None),
            Action::Replace { partitions: replaced, .. } => {
                *partitions = replaced
                    .iter()
                    .map(|p| (p.values.clone(), Partition { modified: Some(time), ..p.clone() }))
                    .collect();
            }
            Action::PutPartition { partition, mode } => match (mode, partitions.get_mut(&partition.values)) {
                (PutMode::Append, Some(existing)) => {
                    existing.files.extend(partition.files.iter().cloned());
                    existing.modified = Some(time);
                }
                (_, existing) => {
                    // An overwrite keeps the partition's lifecycle setting.
                    let disabled = existing.map_or(partition.lifecycle_disabled, |e| e.lifecycle_disabled);
                    let p = Partition { modified: Some(time), lifecycle_disabled: disabled, ..partition.clone() };
                    partitions.insert(partition.values.clone(), p);
                }
            },
            Action::DropPartition { values } => {
                partitions.remove(values);
            }
            Action::Touch { values } => touch(partitions, time, values.as_ref()),
            Action::EnableLifecycle { values: Some(values), enabled } => {
                if let Some(p) = partitions.get_mut(values) {
                    p.lifecycle_disabled = !enabled;
                }
            }
            Action::Rename { .. }
            | Action::Drop
            | Action::AlterSchema { .. }
            | Action::SetLifecycle { .. }
            | Action::EnableLifecycle { values: None, .. } => {}
        }
    }
}

/// Changes the last modified time of every partition (`values` None) or of one.
fn touch(partitions: &mut Partitions, time: DateTime<Utc>, values: Option<&Vec<String>>) {
    let keys: Vec<Vec<String>> = partitions.keys().filter(|k| values.is_none_or(|v| v == *k)).cloned().collect();
    for k in keys {
        if let Some(p) = partitions.get_mut(&k) {
            p.modified = Some(time);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::log::model::{ColumnDef, DataFile, Expiry};

    fn put(s: &mut ProjectState, path: &str, mode: PutMode) {
        let lsn = s.tables.values().next().map_or(1, |t| t.current.lsn + 1);
        let actions = if lsn == 1 {
            let schema = TableSchema { columns: vec![ColumnDef::new("v", "bigint")], partition_columns: vec![] };
            vec![Action::Create { name: "t".into(), schema, lifecycle: None }]
        } else {
            let file = DataFile { path: path.into(), size: 1, rows: 1, stats: Default::default() };
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
