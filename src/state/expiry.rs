//! How versions leave the retention period: which versions of a table are still restorable, and
//! which a commit or a purge forgets.
//!
//! A version stays restorable while it was the table's current version at some moment of the
//! last N days: the current version always; LSN k while the commit time of LSN k+1 is later than
//! now − N days. A dropped table stays restorable while its drop is younger than N days.

use chrono::{DateTime, Duration, Utc};

use super::history::TableHistory;
use super::model::{Commit, Expiry};
use super::project::ProjectState;
pub use super::project::{DEFAULT_GRACE_SECONDS, DEFAULT_RETENTION_DAYS, GRACE_KEY, RETENTION_KEY};
use super::snapshot::Entries;

/// Versions whose successor was committed at or before this instant have expired.
pub fn cutoff(state: &ProjectState, now: DateTime<Utc>) -> DateTime<Utc> {
    now - Duration::days(state.retention_days())
}

/// True when the whole table has expired (dropped longer ago than the retention).
pub fn table_expired(table: &TableHistory, cutoff: DateTime<Utc>) -> bool {
    table.current.dropped && table.current.time <= cutoff
}

/// The retained entries that are still restorable (a suffix of the entries; empty if the table
/// expired).
pub fn restorable(table: &TableHistory, cutoff: DateTime<Utc>) -> Entries {
    if table_expired(table, cutoff) {
        return Entries::new();
    }
    let entries = table.entries();
    // Entry i is restorable while entry i+1 came after the cutoff; the last always is.
    let first =
        (0..entries.len()).find(|&i| i + 1 == entries.len() || entries[i + 1].time > cutoff).unwrap_or(entries.len());
    entries.skip(first)
}

/// The restorable entries (see [`restorable`]) and, before them, the retained versions that a
/// live tag holds past retention.
pub fn restorable_or_tagged(state: &ProjectState, table: &TableHistory, now: DateTime<Utc>) -> Entries {
    let suffix = restorable(table, cutoff(state, now));
    let tagged: Vec<u64> = state.tags(&table.id, now).iter().map(|t| t.lsn).collect();
    let first = suffix.front().map_or(u64::MAX, |e| e.lsn);
    if tagged.iter().all(|lsn| *lsn >= first) {
        return suffix;
    }
    let mut out: Entries =
        table.entries().iter().filter(|e| e.lsn < first && tagged.contains(&e.lsn)).cloned().collect();
    out.append(suffix);
    out
}

/// True when some retained version of `table` has expired (without decoding its history when
/// nothing has: the oldest expires once its successor is older than the cutoff).
pub fn has_expired_versions(table: &TableHistory, cutoff: DateTime<Utc>) -> bool {
    table.oldest().1.is_some_and(|second| second <= cutoff)
}

/// Versions of the tables `only` keeps that have left the retention period at `now`.
pub fn expired(state: &ProjectState, now: DateTime<Utc>, only: impl Fn(&TableHistory) -> bool) -> Vec<Expiry> {
    let cut = cutoff(state, now);
    state
        .tables
        .values()
        .filter(|t| only(t))
        .filter_map(|t| {
            // A live tag keeps its version, and (the history being a chain) those after it.
            let tagged = state.oldest_tagged(&t.id, now);
            let first = if table_expired(t, cut) {
                match tagged {
                    None => return Some(Expiry { table_id: t.id.clone(), keep_from: None }),
                    Some(lsn) => lsn,
                }
            } else {
                if !has_expired_versions(t, cut) {
                    return None;
                }
                let first = restorable(t, cut).front()?.lsn;
                tagged.map_or(first, |lsn| lsn.min(first))
            };
            (t.oldest().0? < first).then(|| Expiry { table_id: t.id.clone(), keep_from: Some(first) })
        })
        .collect()
}

/// The expiry a commit that writes tables carries itself: the versions of those tables that
/// have left the retention period once it lands (at retention 0, the very version it
/// supersedes), and the data files only they referenced. Continuous writes then need no purge
/// commit of their own per statement. None when nothing of theirs expires.
pub fn carried_expiry(state: &ProjectState, commit: &Commit) -> Option<(Vec<Expiry>, Vec<String>)> {
    let cut = cutoff(state, commit.time);
    // Cheap test first (no history decoded, no state copied): once the commit lands, the oldest
    // retained version of a table it writes is followed by the same version as now, or by the
    // commit itself when only the current version is retained.
    let written = |id: &str| commit.tables.iter().any(|c| c.table_id == id);
    let due = commit
        .tables
        .iter()
        .any(|c| state.tables.get(&c.table_id).is_some_and(|t| t.oldest().1.unwrap_or(commit.time) <= cut));
    if !due || !commit.expire.is_empty() {
        return None;
    }
    let mut next = state.clone();
    next.apply(commit).ok()?;
    let expire = expired(&next, commit.time, |t| written(&t.id));
    if expire.is_empty() {
        return None;
    }
    let freed = next.files_freed_by(&expire);
    Some((expire, freed))
}
