//! Deletion vectors: the rows of a data file that a version no longer holds (merge-on-read).
//! DELETE, UPDATE and MERGE on a table in `merge-on-read` mode record the positions of the rows
//! they remove instead of rewriting the file; scans skip those rows. A vector is inline in the
//! log entry (positions ascending, as delta-encoded varints in base64), so time travel, RESTORE
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

fn encode<S: Serializer>(positions: &Arc<Vec<u64>>, s: S) -> Result<S::Ok, S::Error> {
    let mut bytes = Vec::with_capacity(positions.len() * 2);
    let mut last = 0u64;
    for (i, &p) in positions.iter().enumerate() {
        // The first position as is, then gaps (small for rows deleted close together).
        let mut v = if i == 0 { p } else { p - last - 1 };
        last = p;
        loop {
            let byte = (v & 0x7f) as u8;
            v >>= 7;
            if v == 0 {
                bytes.push(byte);
                break;
            }
            bytes.push(byte | 0x80);
        }
    }
    s.serialize_str(&STANDARD.encode(bytes))
}

fn decode<'de, D: Deserializer<'de>>(d: D) -> Result<Arc<Vec<u64>>, D::Error> {
    let text = String::deserialize(d)?;
    let bytes = STANDARD.decode(text).map_err(serde::de::Error::custom)?;
    let mut out: Vec<u64> = vec![];
    let (mut v, mut shift) = (0u64, 0u32);
    for b in bytes {
        if shift > 63 {
            return Err(serde::de::Error::custom("deletion vector: a position overflows"));
        }
        v |= u64::from(b & 0x7f) << shift;
        shift += 7;
        if b & 0x80 == 0 {
            let p = match out.last() {
                None => Some(v),
                Some(&last) => last.checked_add(v).and_then(|p| p.checked_add(1)),
            };
            let p = p.ok_or_else(|| serde::de::Error::custom("deletion vector: a position overflows"))?;
            out.push(p);
            (v, shift) = (0, 0);
        }
    }
    if shift != 0 {
        return Err(serde::de::Error::custom("deletion vector: truncated"));
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
}
