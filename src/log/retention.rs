//! What "backup kept N days" means: which versions of a table are still restorable.
//!
//! A version stays restorable while it was the table's current version at some moment of the
//! last N days: the current version always; LSN k while the commit time of LSN k+1 is later than
//! now − N days. A dropped table stays restorable while its drop is younger than N days.

use chrono::{DateTime, Duration, Utc};

use crate::error::{Error, Result};
use crate::log::model::{Commit, Expiry, format_lsn};
use crate::log::state::{Entries, ProjectState, TableHistory};

/// The project property that sets the retention.
pub const RETENTION_KEY: &str = "odps.timemachine.retention.days";
/// Retention when the property is not set.
pub const DEFAULT_RETENTION_DAYS: i64 = 1;
/// Largest accepted retention.
pub const MAX_RETENTION_DAYS: i64 = 30;

/// The project property that sets the grace period: how old an unreferenced data file, a
/// compacted log entry or a file of a forgotten version must be before a purge deletes it (a
/// statement in flight or a reader may still use it). One value in the log for every process.
pub const GRACE_KEY: &str = "timemachine.purge.grace.seconds";
/// Grace period when the property is not set (one hour).
pub const DEFAULT_GRACE_SECONDS: u64 = 3600;
/// Largest accepted grace period (seven days).
pub const MAX_GRACE_SECONDS: u64 = 7 * 24 * 3600;

/// The project's grace period.
pub fn grace(state: &ProjectState) -> std::time::Duration {
    let secs = state.properties.get(GRACE_KEY).and_then(|v| v.parse().ok()).unwrap_or(DEFAULT_GRACE_SECONDS);
    std::time::Duration::from_secs(secs)
}

/// The project's retention in days.
pub fn retention_days(state: &ProjectState) -> i64 {
    state.properties.get(RETENTION_KEY).and_then(|v| v.parse().ok()).unwrap_or(DEFAULT_RETENTION_DAYS)
}

/// Versions whose successor was committed at or before this instant have expired.
pub fn cutoff(state: &ProjectState, now: DateTime<Utc>) -> DateTime<Utc> {
    now - Duration::days(retention_days(state))
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
            if table_expired(t, cut) {
                return Some(Expiry { table_id: t.id.clone(), keep_from: None });
            }
            if !has_expired_versions(t, cut) {
                return None;
            }
            let first = restorable(t, cut).front()?.lsn;
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

/// The error for a version that is gone.
pub fn expired_error(what: &str, state: &ProjectState) -> Error {
    let days = retention_days(state);
    Error::NotFound(format!(
        "{what} has expired: versions are kept for {days} day{} ({RETENTION_KEY}={days})",
        if days == 1 { "" } else { "s" }
    ))
}

/// Parses an LSN as users write it: `0000000000000004` or `4`.
pub fn parse_lsn(text: &str) -> Result<u64> {
    let t = text.trim();
    if t.is_empty() || t.len() > 16 || !t.bytes().all(|b| b.is_ascii_digit()) {
        return Err(Error::invalid(format!(
            "malformed LSN '{text}': write 1 to 16 digits, such as '0000000000000004'"
        )));
    }
    match t.parse::<u64>() {
        Ok(0) | Err(_) => Err(Error::invalid(format!("malformed LSN '{text}': LSNs start at 1"))),
        Ok(n) => Ok(n),
    }
}

/// Checks that `lsn` is a restorable version of `table` and returns it.
pub fn check_restorable(state: &ProjectState, table: &TableHistory, lsn: u64, now: DateTime<Utc>) -> Result<()> {
    let name = &table.current.name;
    if lsn > table.current.lsn {
        return Err(Error::not_found(format!(
            "table {name} has no LSN {} (its latest is {})",
            format_lsn(lsn),
            format_lsn(table.current.lsn)
        )));
    }
    let cut = cutoff(state, now);
    // When nothing has expired yet, every retained version is (without decoding the history).
    let kept = if table_expired(table, cut) {
        false
    } else if lsn == table.current.lsn {
        true
    } else if !has_expired_versions(table, cut) {
        table.oldest().0.is_some_and(|first| lsn >= first)
    } else {
        restorable(table, cut).iter().any(|e| e.lsn == lsn)
    };
    if !kept {
        return Err(expired_error(&format!("LSN {} of table {name}", format_lsn(lsn)), state));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lsn_forms() {
        assert_eq!(parse_lsn("0000000000000004").unwrap(), 4);
        assert_eq!(parse_lsn("12").unwrap(), 12);
        for bad in ["", "0", "00000000000000000004", "-1", "1a", "99999999999999999"] {
            assert!(parse_lsn(bad).is_err(), "{bad}");
        }
    }
}
