//! Deletion vectors: the rows of a data file that a version no longer holds (merge-on-read).
//! DELETE, UPDATE and MERGE on a table in `merge-on-read` mode record the positions of the rows
//! they remove instead of rewriting the file; scans skip those rows. A vector is inline in the
//! log entry (positions ascending, as delta-encoded varints in base64: the gaps between rows, or
//! ranges of consecutive rows, whichever is shorter), so time travel, RESTORE and CLONE bring
//! vectors back with the file list at no cost, and the purge has nothing more to free than the
//! data file. In memory a vector stays in that encoding (a byte or so per row deleted here and
//! there, a few per range), decoded as a scan or a statement walks it: every retained version
//! holds the whole vector of each file it changed, and eight bytes a row made a day of hourly
//! 1% deletes of a 6M-row table cost gigabytes.

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
    /// Deleted positions (0-based, ascending, no repeats), encoded.
    positions: Encoded,
    /// Never in the log: `positions` are the only rows read, not the rows skipped (the change
    /// feed reads the rows one vector deletes and the one before did not).
    #[serde(skip)]
    pub only: bool,
}

impl Deletions {
    /// A new vector (a fresh id) of `positions`.
    pub fn new(positions: BTreeSet<u64>) -> Self {
        Self { id: fresh_id(), positions: Encoded::of(positions.into_iter()), only: false }
    }

    /// A new vector (a fresh id) of the positions of `old` (None: no vector) and `more` (in any
    /// order, repeats allowed), merged as they are walked: no set of every position is built.
    pub fn adding(old: Option<&Self>, mut more: Vec<u64>) -> Self {
        more.sort_unstable();
        more.dedup();
        let mut theirs = old.into_iter().flat_map(|d| d.iter()).peekable();
        let mut ours = more.into_iter().peekable();
        let merged = std::iter::from_fn(move || match (theirs.peek().copied(), ours.peek().copied()) {
            (Some(a), Some(b)) if a == b => {
                ours.next();
                theirs.next()
            }
            (Some(a), Some(b)) if a < b => theirs.next(),
            (Some(_), Some(_)) | (None, Some(_)) => ours.next(),
            (Some(_), None) => theirs.next(),
            (None, None) => None,
        });
        Self { id: fresh_id(), positions: Encoded::of(merged), only: false }
    }

    /// A selection of `positions` alone (see [`Self::only`]).
    pub fn only(mut positions: Vec<u64>) -> Self {
        positions.sort_unstable();
        positions.dedup();
        Self { id: String::new(), positions: Encoded::of(positions.into_iter()), only: true }
    }

    /// The positions of `self` not in `other` (None: no vector), ascending.
    pub fn minus(this: Option<&Self>, other: Option<&Self>) -> Vec<u64> {
        let Some(this) = this else { return vec![] };
        let Some(other) = other else { return this.iter().collect() };
        let mut theirs = other.iter().peekable();
        this.iter()
            .filter(|&p| {
                while theirs.next_if(|&q| q < p).is_some() {}
                theirs.peek() != Some(&p)
            })
            .collect()
    }

    /// How many rows are deleted.
    pub fn count(&self) -> u64 {
        self.positions.rows
    }

    /// The deleted positions, ascending.
    pub fn iter(&self) -> impl Iterator<Item = u64> + '_ {
        self.positions.iter()
    }

    /// True when position `p` is deleted (walks the vector up to `p`).
    pub fn contains(&self, p: u64) -> bool {
        self.iter().take_while(|&q| q <= p).any(|q| q == p)
    }
}

/// A new vector's id (see [`Deletions::id`]).
fn fresh_id() -> String {
    uuid::Uuid::new_v4().simple().to_string()[..12].to_string()
}

/// Positions as varints: the gaps between them, or (gap, length - 1) per range of consecutive
/// positions, whichever is shorter. A gap is the distance past the position before, less one
/// (the first position is its own gap).
#[derive(Debug, Clone, PartialEq, Eq)]
struct Encoded {
    bytes: Arc<[u8]>,
    ranges: bool,
    rows: u64,
}

impl Encoded {
    fn of(positions: impl Iterator<Item = u64>) -> Self {
        let (mut gaps, mut ranges) = (vec![], vec![]);
        let (mut rows, mut last) = (0u64, None::<u64>);
        // The range being gathered: its first position and the end of the range before it.
        let mut run: Option<(u64, Option<u64>)> = None;
        for p in positions {
            varint(&mut gaps, last.map_or(p, |l| p - l - 1));
            match (run, last) {
                (Some(_), Some(l)) if l.checked_add(1) == Some(p) => {}
                (Some((first, before)), Some(l)) => {
                    range(&mut ranges, first, before, l);
                    run = Some((p, Some(l)));
                }
                _ => run = Some((p, None)),
            }
            (rows, last) = (rows + 1, Some(p));
        }
        if let (Some((first, before)), Some(l)) = (run, last) {
            range(&mut ranges, first, before, l);
        }
        let ranges_shorter = ranges.len() < gaps.len();
        let bytes = if ranges_shorter { ranges } else { gaps };
        Self { bytes: bytes.into(), ranges: ranges_shorter, rows }
    }

    /// The positions, decoded as they are walked (the encoding was checked when read or made,
    /// so nothing here fails or overflows).
    fn iter(&self) -> impl Iterator<Item = u64> + '_ {
        let mut values = Varints { bytes: &self.bytes, at: 0 };
        let ranges = self.ranges;
        // The position after the last one given (none yet: the first gap is a position).
        let mut after: Option<u64> = None;
        // The rest of a range: the next position to give and the range's last.
        let mut run: Option<(u64, u64)> = None;
        std::iter::from_fn(move || {
            if let Some((p, last)) = run {
                run = (p < last).then(|| (p + 1, last));
                return Some(p);
            }
            let gap = values.next()?.ok()?;
            let start = after.map_or(gap, |a| a + gap);
            let len = if ranges { values.next()?.ok()? } else { 0 };
            let last = start + len;
            if len > 0 {
                run = Some((start + 1, last));
            }
            // Past u64::MAX there is no position, and none follows (checked when read).
            after = Some(last.wrapping_add(1));
            Some(start)
        })
    }
}

/// Appends the range `first..=last`, after the range ending at `before`.
fn range(out: &mut Vec<u8>, first: u64, before: Option<u64>, last: u64) {
    varint(out, before.map_or(first, |b| first - b - 1));
    varint(out, last - first);
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

/// The varints of `bytes`, in order.
struct Varints<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl Iterator for Varints<'_> {
    type Item = Result<u64, &'static str>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.at == self.bytes.len() {
            return None;
        }
        let (mut v, mut shift) = (0u64, 0u32);
        while let Some(&b) = self.bytes.get(self.at) {
            self.at += 1;
            if shift > 63 {
                return Some(Err("deletion vector: a position overflows"));
            }
            v |= u64::from(b & 0x7f) << shift;
            shift += 7;
            if b & 0x80 == 0 {
                return Some(Ok(v));
            }
        }
        Some(Err("deletion vector: truncated"))
    }
}

/// Marks the range encoding in the log (`:` is not in base64's alphabet, so a vector logged
/// before ranges were encoded never starts with it).
const RANGES: &str = "r:";

/// The most rows one vector may delete when read back (no data file holds more).
const MAX_ROWS: u64 = 1 << 32;

impl Serialize for Encoded {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let text = STANDARD.encode(&self.bytes);
        if self.ranges { s.serialize_str(&format!("{RANGES}{text}")) } else { s.serialize_str(&text) }
    }
}

impl<'de> Deserialize<'de> for Encoded {
    /// Checks the whole encoding once, so that walking it later cannot fail or overflow.
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        use serde::de::Error;
        let text = String::deserialize(d)?;
        let (ranges, text) = match text.strip_prefix(RANGES) {
            Some(rest) => (true, rest),
            None => (false, text.as_str()),
        };
        let bytes = STANDARD.decode(text).map_err(D::Error::custom)?;
        let overflow = || D::Error::custom("deletion vector: a position overflows");
        let mut values = Varints { bytes: &bytes, at: 0 };
        let (mut rows, mut next) = (0u64, None::<u64>);
        while let Some(gap) = values.next() {
            let gap = gap.map_err(D::Error::custom)?;
            let start = match next {
                None => gap,
                Some(n) => n.checked_add(gap).ok_or_else(overflow)?,
            };
            let len = match ranges {
                true => values.next().ok_or_else(|| D::Error::custom("deletion vector: truncated"))?,
                false => Ok(0),
            };
            let len = len.map_err(D::Error::custom)?;
            let last = start.checked_add(len).ok_or_else(overflow)?;
            rows = rows.saturating_add(len).saturating_add(1);
            if rows > MAX_ROWS {
                return Err(D::Error::custom(format!(
                    "deletion vector: more than {MAX_ROWS} rows, more than a data file holds"
                )));
            }
            // The next position must come after `last`: past u64::MAX there is none.
            next = Some(match last.checked_add(1) {
                Some(n) => n,
                None if values.at == bytes.len() => u64::MAX,
                None => return Err(overflow()),
            });
        }
        Ok(Self { bytes: bytes.into(), ranges, rows })
    }
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
        assert_eq!(back.iter().collect::<BTreeSet<_>>(), positions);
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
            assert_eq!(back.iter().collect::<BTreeSet<_>>(), set, "{json}");
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
        assert_eq!(back.iter().collect::<Vec<_>>(), vec![0, 1, 2, 127]);
    }

    #[test]
    fn walking_a_vector_gives_its_positions_and_minus_the_difference() {
        // Random sets with ranges and lone rows, against BTreeSet's answers.
        let mut seed = 0x2545_f491_4f6c_dd1du64;
        let mut next = |m: u64| {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed % m
        };
        for _ in 0..200 {
            let mut sets = [BTreeSet::new(), BTreeSet::new()];
            for set in &mut sets {
                let mut p = next(5);
                for _ in 0..next(40) {
                    let len = if next(2) == 0 { 1 } else { 1 + next(30) };
                    set.extend(p..p + len);
                    p += len + next(200);
                }
            }
            let [a, b] = sets.map(|set| {
                let d = Deletions::new(set.clone());
                let back: Deletions = serde_json::from_str(&serde_json::to_string(&d).unwrap()).unwrap();
                assert_eq!(back.iter().collect::<BTreeSet<_>>(), set);
                assert_eq!(back.count(), set.len() as u64);
                (back, set)
            });
            let union: BTreeSet<u64> = a.1.union(&b.1).copied().collect();
            let more: Vec<u64> = b.1.iter().rev().chain(&b.1).copied().collect();
            assert_eq!(Deletions::adding(Some(&a.0), more.clone()).iter().collect::<BTreeSet<_>>(), union);
            assert_eq!(Deletions::adding(None, more).iter().collect::<BTreeSet<_>>(), b.1);
            let expected: Vec<u64> = a.1.difference(&b.1).copied().collect();
            assert_eq!(Deletions::minus(Some(&a.0), Some(&b.0)), expected);
            assert_eq!(Deletions::minus(Some(&a.0), None), a.1.iter().copied().collect::<Vec<_>>());
            assert!(Deletions::minus(None, Some(&a.0)).is_empty());
            for p in 0..50 {
                assert_eq!(a.0.contains(p), a.1.contains(&p));
            }
        }
    }
}
