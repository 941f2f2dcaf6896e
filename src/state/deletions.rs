//! Deletion vectors: the rows of a data file that a version no longer holds (merge-on-read).
//! DELETE, UPDATE and MERGE on a table in `merge-on-read` mode record the positions of the rows
//! they remove instead of rewriting the file; scans skip those rows. A vector is inline in the
//! log entry (positions ascending, as delta-encoded varints in base64: the gaps between rows, or
//! ranges of consecutive rows, whichever is shorter), so time travel, RESTORE
//! and CLONE bring vectors back with the file list at no cost, and the purge has nothing more to
//! free than the data file.

use std::collections::BTreeSet;
use std::sync::Arc;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// The deleted rows of one data file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Deletions {
    /// Unique per vector: in conflict checks a file is its path and this id, so two statements
    /// that each delete rows of the same file cannot both win.
    pub id: String,
    /// Deleted positions (0-based, ascending, no repeats).
    #[serde(serialize_with = "encode", deserialize_with = "decode")]
    pub positions: Arc<Vec<u64>>,
    /// Never in the log: `positions` are the only rows read, not the rows skipped (the change
    /// feed reads the rows one vector deletes and the one before did not).
    #[serde(skip)]
    pub only: bool,
}

impl Deletions {
    /// A new vector (a fresh id) of `positions`.
    pub fn new(positions: BTreeSet<u64>) -> Self {
        let id = uuid::Uuid::new_v4().simple().to_string()[..12].to_string();
        Self { id, positions: Arc::new(positions.into_iter().collect()), only: false }
    }

    /// A selection of `positions` alone (see [`Self::only`]).
    pub fn only(positions: Vec<u64>) -> Self {
        Self { id: String::new(), positions: Arc::new(positions), only: true }
    }

    /// The positions of `self` not in `other` (None: no vector).
    pub fn minus(this: Option<&Self>, other: Option<&Self>) -> Vec<u64> {
        let Some(this) = this else { return vec![] };
        this.positions.iter().copied().filter(|p| !other.is_some_and(|o| o.contains(*p))).collect()
    }

    /// How many rows are deleted.
    pub fn count(&self) -> u64 {
        self.positions.len() as u64
    }

    /// True when position `p` is deleted.
    pub fn contains(&self, p: u64) -> bool {
        self.positions.binary_search(&p).is_ok()
    }
}

/// Marks the range encoding in the log (`:` is not in base64's alphabet, so a vector logged
/// before ranges were encoded never starts with it).
const RANGES: &str = "r:";

/// The most rows one vector may delete when read back (no data file holds more): a garbled
/// range is refused before it is expanded.
const MAX_ROWS: u64 = 1 << 32;

/// Two encodings, the shorter one logged: gaps between positions (a byte per row for rows
/// deleted here and there), or ranges, a (gap, length) pair per run of consecutive rows (a
/// few bytes per range, whatever its length: a DELETE of a key range of sorted data).
fn encode<S: Serializer>(positions: &Arc<Vec<u64>>, s: S) -> Result<S::Ok, S::Error> {
    let (mut gaps, mut ranges) = (Vec::with_capacity(positions.len() * 2), vec![]);
    let mut last = 0u64;
    for (i, &p) in positions.iter().enumerate() {
        // The first position as is, then gaps (small for rows deleted close together).
        varint(&mut gaps, if i == 0 { p } else { p - last - 1 });
        last = p;
    }
    let mut i = 0;
    let mut end = 0u64;
    while i < positions.len() {
        let first = positions[i];
        let mut n = 1;
        while i + n < positions.len() && first.checked_add(n as u64) == Some(positions[i + n]) {
            n += 1;
        }
        varint(&mut ranges, if i == 0 { first } else { first - end - 1 });
        varint(&mut ranges, n as u64 - 1);
        end = first + (n as u64 - 1);
        i += n;
    }
    if ranges.len() < gaps.len() {
        s.serialize_str(&format!("{RANGES}{}", STANDARD.encode(ranges)))
    } else {
        s.serialize_str(&STANDARD.encode(gaps))
    }
}

fn varint(out: &mut Vec<u8>, mut v: u64) {
    loop {
        let byte = (v & 0x7f) as u8;
        v >>= 7;
        if v == 0 {
            out.push(byte);
            return;
        }
        out.push(byte | 0x80);
    }
}

/// The varints of `bytes`.
fn varints(bytes: &[u8]) -> Result<Vec<u64>, &'static str> {
    let mut out = vec![];
    let (mut v, mut shift) = (0u64, 0u32);
    for &b in bytes {
        if shift > 63 {
            return Err("deletion vector: a position overflows");
        }
        v |= u64::from(b & 0x7f) << shift;
        shift += 7;
        if b & 0x80 == 0 {
            out.push(v);
            (v, shift) = (0, 0);
        }
    }
    if shift != 0 {
        return Err("deletion vector: truncated");
    }
    Ok(out)
}

fn decode<'de, D: Deserializer<'de>>(d: D) -> Result<Arc<Vec<u64>>, D::Error> {
    use serde::de::Error;
    let text = String::deserialize(d)?;
    let overflow = || D::Error::custom("deletion vector: a position overflows");
    let (ranges, text) = match text.strip_prefix(RANGES) {
        Some(rest) => (true, rest),
        None => (false, text.as_str()),
    };
    let values = varints(&STANDARD.decode(text).map_err(D::Error::custom)?).map_err(D::Error::custom)?;
    let mut out: Vec<u64> = vec![];
    if !ranges {
        for v in values {
            let p = match out.last() {
                None => Some(v),
                Some(&last) => last.checked_add(v).and_then(|p| p.checked_add(1)),
            };
            out.push(p.ok_or_else(overflow)?);
        }
        return Ok(Arc::new(out));
    }
    if values.len() % 2 != 0 {
        return Err(D::Error::custom("deletion vector: truncated"));
    }
    let mut rows = 0u64;
    for pair in values.chunks(2) {
        rows = rows.checked_add(pair[1]).and_then(|r| r.checked_add(1)).ok_or_else(overflow)?;
    }
    if rows > MAX_ROWS {
        return Err(D::Error::custom(format!("deletion vector: {rows} rows, more than a data file holds")));
    }
    out.reserve(rows as usize);
    for pair in values.chunks(2) {
        let first = match out.last() {
            None => Some(pair[0]),
            Some(&last) => last.checked_add(pair[0]).and_then(|p| p.checked_add(1)),
        };
        let first = first.ok_or_else(overflow)?;
        let last = first.checked_add(pair[1]).ok_or_else(overflow)?;
        out.extend(first..=last);
    }
    Ok(Arc::new(out))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn positions_survive_the_log_and_stay_small() {
        let positions: BTreeSet<u64> = [0, 1, 2, 127, 128, 300, 1 << 40].into_iter().collect();
        let d = Deletions::new(positions.clone());
        let json = serde_json::to_string(&d).unwrap();
        let back: Deletions = serde_json::from_str(&json).unwrap();
        assert_eq!(back, d);
        assert_eq!(back.positions.iter().copied().collect::<BTreeSet<_>>(), positions);
        assert!(back.contains(128) && !back.contains(129));
        // 10,000 rows deleted one in a hundred: about a byte each.
        let spread = Deletions::new((0..10_000u64).map(|i| i * 100).collect());
        let encoded = serde_json::to_string(&spread).unwrap();
        assert!(encoded.len() < 14_000, "{} bytes", encoded.len());
        let truncated = r#"{"id":"x","positions":"gA=="}"#;
        assert!(serde_json::from_str::<Deletions>(truncated).is_err());
        // u64::MAX, then the next position after it: refused, not an overflow.
        let past_the_end = STANDARD.encode([0xffu8, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01, 0x00]);
        let garbled = format!(r#"{{"id":"x","positions":"{past_the_end}"}}"#);
        let err = serde_json::from_str::<Deletions>(&garbled).unwrap_err().to_string();
        assert!(err.contains("overflows"), "{err}");
    }

    #[test]
    fn ranges_of_deleted_rows_cost_bytes_per_range_not_per_row() {
        // 40% of a 6M-row file deleted in ranges of 1,600 rows (a DELETE of a key range on
        // sorted data): a few kilobytes in the log, not a byte per row.
        let ranges: BTreeSet<u64> = (0..6_000_000u64).filter(|p| p % 4_000 < 1_600).collect();
        let d = Deletions::new(ranges.clone());
        let json = serde_json::to_string(&d).unwrap();
        assert!(json.len() < 16_000, "{} bytes for {} rows in 1,500 ranges", json.len(), ranges.len());
        let back: Deletions = serde_json::from_str(&json).unwrap();
        assert_eq!(back, d);
        // Spread rows stay about a byte each; mixed shapes and the edges round-trip.
        for set in [
            (0..10_000u64).map(|i| i * 100).collect::<BTreeSet<u64>>(),
            [0, 1, 2, 3, 10, 11, 500, 1 << 40, (1 << 40) + 1, u64::MAX - 1, u64::MAX].into_iter().collect(),
            [u64::MAX].into_iter().collect(),
            BTreeSet::new(),
        ] {
            let d = Deletions::new(set.clone());
            let json = serde_json::to_string(&d).unwrap();
            let back: Deletions = serde_json::from_str(&json).unwrap();
            assert_eq!(back.positions.iter().copied().collect::<BTreeSet<_>>(), set, "{json}");
        }
        // A garbled range is refused, not expanded: a pair cut short, a range of 2^40 rows.
        for (bytes, error) in [(vec![5u8], "truncated"), (vec![0, 0x80, 0x80, 0x80, 0x80, 0x80, 0x20], "more than")] {
            let garbled = format!(r#"{{"id":"x","positions":"{RANGES}{}"}}"#, STANDARD.encode(bytes));
            let err = serde_json::from_str::<Deletions>(&garbled).unwrap_err().to_string();
            assert!(err.contains(error), "{err}");
        }
        // Vectors logged before ranges were encoded still read: gaps of 0, 0, 124 after 0.
        let old = format!(r#"{{"id":"x","positions":"{}"}}"#, STANDARD.encode([0u8, 0, 0, 124]));
        let back: Deletions = serde_json::from_str(&old).unwrap();
        assert_eq!(*back.positions, vec![0, 1, 2, 127]);
    }
}
