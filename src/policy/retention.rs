//! What users may do with retention: its limits, which versions they may restore, and how an
//! LSN is written.

use chrono::{DateTime, Utc};

use crate::error::{Error, Result};
use crate::state::expiry::{RETENTION_KEY, cutoff, has_expired_versions, restorable, table_expired};
use crate::state::model::format_lsn;
use crate::state::{ProjectState, TableHistory};

/// Largest accepted retention.
pub const MAX_RETENTION_DAYS: i64 = 30;

/// Largest accepted grace period (seven days).
pub const MAX_GRACE_SECONDS: u64 = 7 * 24 * 3600;

/// The error for a version that is gone.
pub fn expired_error(what: &str, state: &ProjectState) -> Error {
    let days = state.retention_days();
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
    // A live tag holds its version past retention (the purge keeps it).
    let tagged = || state.tags(&table.id, now).iter().any(|t| t.lsn == lsn);
    let kept = if tagged() {
        table.oldest().0.is_some_and(|first| lsn >= first)
    } else if table_expired(table, cut) {
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
