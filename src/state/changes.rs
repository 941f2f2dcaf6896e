//! What each version of a table changed in its files: the input of the change feed
//! (`table_changes`). A version's change is the difference between its file lists and those of
//! the version before (files shared by both are untouched rows), or, for a row-level change,
//! the change files it wrote ([`Action::ChangeData`]): a copy-on-write rewrite carries unchanged
//! rows into new files, which a difference of file lists would report as deleted and inserted.
//! A row-level change through deletion vectors alone writes none: its vectors name the rows it
//! removed and the files it added hold only new rows (an UPDATE's new images).

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use chrono::{DateTime, Utc};

use super::deletions::Deletions;
use super::history::TableHistory;
use super::model::{Action, DataFile, Operation, Partition, PutMode};
use super::snapshot::TableSnapshot;

/// What one version changed in a table's files.
#[derive(Debug, Clone, Default)]
pub struct VersionChange {
    /// The version's LSN.
    pub lsn: u64,
    /// Its commit time.
    pub time: DateTime<Utc>,
    /// Files whose rows left the table (their rows are deletes).
    pub removed: Vec<Partition>,
    /// Files whose rows came into the table (their rows are inserts).
    pub added: Vec<Partition>,
    /// Change files of a row-level change: when present, they alone say what changed (each row
    /// carries its `_change_type`).
    pub change_files: Vec<Partition>,
    /// An UPDATE without change files (deletion vectors alone): its removed rows are the old
    /// images of the rows it updated and its added rows their new images.
    pub updates: bool,
}

impl TableHistory {
    /// The changes of every version with LSN in `from..=to`, oldest first; None when the version
    /// before `from` is no longer known (expired).
    pub fn changes_between(&self, from: u64, to: u64) -> Option<Vec<VersionChange>> {
        let entries = self.entries();
        let first = entries.iter().position(|e| e.lsn >= from)?;
        let mut prev = if first == 0 {
            match self.base() {
                // The versions from `from` up to the base were folded into it.
                Some(base) if from <= base.lsn => return None,
                Some(base) => base.clone(),
                None => TableSnapshot::empty(&self.id),
            }
        } else {
            self.state_at(entries[first - 1].lsn)?
        };
        let mut out = vec![];
        for entry in entries.iter().skip(first).take_while(|e| e.lsn <= to) {
            let mut next = prev.clone();
            next.apply(entry.lsn, entry.time, &entry.actions);
            let mut change = VersionChange { lsn: entry.lsn, time: entry.time, ..Default::default() };
            for action in &entry.actions {
                if let Action::ChangeData { partition } = action {
                    change.change_files.push(partition.clone());
                }
            }
            if change.change_files.is_empty() {
                change.updates =
                    !entry.history.is_empty() && entry.history.iter().all(|h| h.operation == Operation::Update);
                // MERGE SMALLFILES moves the same rows into other files: nothing changed.
                let moved: BTreeSet<&Vec<String>> = entry
                    .actions
                    .iter()
                    .filter_map(|a| match a {
                        Action::PutPartition { partition, mode: PutMode::Rewrite } => Some(&partition.values),
                        _ => None,
                    })
                    .collect();
                let (before, after) = (live_files(&prev), live_files(&next));
                for values in before.keys().chain(after.keys()).collect::<BTreeSet<_>>() {
                    if moved.contains(values) {
                        continue;
                    }
                    let (b, a) = (before.get(values), after.get(values));
                    let gone = only_in(b, a);
                    let came = only_in(a, b);
                    if !gone.files.is_empty() {
                        change.removed.push(gone);
                    }
                    if !came.files.is_empty() {
                        change.added.push(came);
                    }
                }
            }
            out.push(change);
            prev = next;
        }
        Some(out)
    }
}

/// The partitions of `s` by values (none once the table is dropped: its rows are gone).
fn live_files(s: &TableSnapshot) -> BTreeMap<Vec<String>, &Partition> {
    if s.dropped {
        return BTreeMap::new();
    }
    s.partitions.iter().map(|(k, p)| (k.clone(), p)).collect()
}

/// The rows of `a` that `b` does not hold, as a partition like `a`: its files that `b` lacks,
/// and of a file both hold with other deletion vectors, the rows `a` holds and `b` deleted.
fn only_in(a: Option<&&Partition>, b: Option<&&Partition>) -> Partition {
    let Some(a) = a else { return Partition::default() };
    let files: Vec<DataFile> = match b {
        Some(b) if b.files.ptr_eq(&a.files) => vec![],
        Some(b) => {
            let theirs: BTreeMap<&str, &DataFile> = b.files.iter().map(|f| (f.path.as_str(), f)).collect();
            a.files
                .iter()
                .filter_map(|f| match theirs.get(f.path.as_str()) {
                    None => Some(f.clone()),
                    Some(g) if g.key() == f.key() => None,
                    Some(g) => {
                        let rows = Deletions::minus(g.deleted.as_deref(), f.deleted.as_deref());
                        let only = Deletions::only(rows);
                        (only.count() != 0).then(|| DataFile { deleted: Some(Arc::new(only)), ..f.clone() })
                    }
                })
                .collect()
        }
        None => a.files.iter().cloned().collect(),
    };
    Partition { id: a.id.clone(), values: a.values.clone(), files: files.into(), ..Default::default() }
}
