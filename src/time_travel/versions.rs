//! Which version (or which rows) a version clause designates, under the retention rules that
//! RESTORE obeys too.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};

use crate::error::{Error, Result};
use crate::policy::retention::{check_restorable, expired_error};
use crate::state::expiry::{cutoff, restorable};
use crate::state::lazy::Lazy;
use crate::state::model::{Action, Partition, format_lsn};
use crate::state::{ProjectState, TableHistory, TableSnapshot};
use crate::statements::history::format_time;

/// The LSN that was current at `at`: the newest version committed at or before it.
///
/// An instant without a fractional second means that whole second, so the `Time` column of
/// SHOW HISTORY (whole seconds) designates the version it shows.
pub fn lsn_at(state: &ProjectState, table: &TableHistory, at: DateTime<Utc>) -> Result<u64> {
    let at = instant_end(at);
    let name = &table.current.name;
    let newest = table.newest_at(at);
    let newest = newest.or_else(|| table.base().filter(|b| b.lsn > 0 && b.time <= at).map(|b| b.lsn));
    match newest {
        Some(lsn) => Ok(lsn),
        None if at < table.created => Err(Error::not_found(format!(
            "table {name} did not exist at {} (it was created at {})",
            format_time(at),
            format_time(table.created)
        ))),
        None => Err(expired_error(&format!("the version of table {name} current at {}", format_time(at)), state)),
    }
}

/// The last moment `at` designates: a whole second means all of it.
pub fn instant_end(at: DateTime<Utc>) -> DateTime<Utc> {
    if at.timestamp_subsec_nanos() == 0 { at + chrono::Duration::nanoseconds(999_999_999) } else { at }
}

/// Table `table` exactly as at `lsn`, if that version is still restorable.
pub fn version(state: &ProjectState, table: &TableHistory, lsn: u64, now: DateTime<Utc>) -> Result<TableSnapshot> {
    let name = &table.current.name;
    check_restorable(state, table, lsn, now)?;
    let snap =
        table.state_at(lsn).ok_or_else(|| expired_error(&format!("LSN {} of table {name}", format_lsn(lsn)), state))?;
    if snap.dropped {
        return Err(Error::invalid(format!(
            "LSN {} of table {name} is its DROP: the table had no rows then; read the version before it",
            format_lsn(lsn)
        )));
    }
    Ok(snap)
}

/// The rows written (INSERT INTO / OVERWRITE, CTAS) by the versions of `table` with LSN in
/// `(from, to]`, as a table snapshot whose partitions hold just those files. Restores, renames,
/// drops and truncates add nothing: restored data is not new data.
pub fn changes(
    state: &ProjectState,
    table: &TableHistory,
    from: u64,
    to: u64,
    now: DateTime<Utc>,
) -> Result<TableSnapshot> {
    let name = &table.current.name;
    if from > to {
        return Err(Error::invalid(format!(
            "VERSION BETWEEN {from} AND {to} on table {name}: the start is after the end (the range is (start, end], start ≤ end)"
        )));
    }
    if to > table.current.lsn {
        return Err(Error::not_found(format!(
            "table {name} has no LSN {} (its latest is {})",
            format_lsn(to),
            format_lsn(table.current.lsn)
        )));
    }
    let mut snap = version(state, table, to, now)?;
    // Every version in (from, to] must still be retained to know what it wrote.
    let first_retained = restorable(table, cutoff(state, now)).front().map_or(table.current.lsn, |e| e.lsn);
    if from < to && from + 1 < first_retained {
        return Err(expired_error(&format!("LSN {} of table {name}", format_lsn(from + 1)), state));
    }
    let entries = table.entries();
    let in_range = entries.iter().filter(|e| e.lsn > from && e.lsn <= to);
    for entry in in_range.clone() {
        let other_schema =
            entry.actions.iter().any(|a| matches!(a, Action::Replace { schema, .. } if *schema != snap.schema));
        if other_schema {
            return Err(Error::not_supported(format!(
                "VERSION BETWEEN across a schema change of table {name} (LSN {}): split the range there",
                format_lsn(entry.lsn)
            )));
        }
    }
    let mut written: BTreeMap<Vec<String>, Partition> = BTreeMap::new();
    for action in in_range.filter(|e| e.writes).flat_map(|e| &e.actions) {
        if let Action::PutPartition { partition, .. } = action {
            let p = written.entry(partition.values.clone()).or_insert_with(|| Partition {
                id: partition.id.clone(),
                values: partition.values.clone(),
                ..Default::default()
            });
            p.files.extend(partition.files.iter().cloned());
        }
    }
    snap.partitions = Lazy::new(written.into_iter().collect());
    Ok(snap)
}
