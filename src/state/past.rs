//! The retained versions of a table as a checkpoint stores them: the state before the first of
//! them (the base) and the versions in chunks of [`CHUNK`].
//!
//! Each chunk is compressed on its own and decoded only when a statement needs it: time travel
//! to LSN k decodes the chunks up to k, SHOW HISTORY all of them, several at once on every
//! core. A checkpoint copies the chunks it read and did not change, so writing one encodes only
//! the versions committed since.
//!
//! Stored form: the length of a JSON layout (u32, little endian), the layout (the base's length,
//! then each chunk's first and last LSN and length), then the parts.

use std::sync::Arc;

use bytes::Bytes;
use serde::{Deserialize, Serialize};

use chrono::{DateTime, Utc};

use super::lazy::{Codec, Lazy, decode_json, encode_json};
use super::model::{Action, HistoryRow};
use super::snapshot::{Entries, TableSnapshot, VersionEntry};

/// Versions per chunk: small enough that time travel decodes little past the LSN it wants and
/// that the cores share the work evenly.
pub(crate) const CHUNK: usize = 256;

/// The state before the first retained version (None when that version is the CREATE).
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct Base(pub Option<TableSnapshot>);

impl Codec for Base {
    fn encode(&self) -> Result<Vec<u8>, String> {
        encode_json(&self.0)
    }

    fn decode(bytes: &[u8]) -> Result<Self, String> {
        decode_json(bytes).map(Base)
    }
}

/// Consecutive versions.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct Chunk(pub Entries);

/// A version as a chunk stores it: its time in nanoseconds, which decodes several times faster
/// than RFC 3339 text.
#[derive(Serialize)]
struct EntryOut<'a> {
    lsn: u64,
    #[serde(with = "chrono::serde::ts_nanoseconds")]
    time: DateTime<Utc>,
    history: &'a [HistoryRow],
    actions: &'a [Action],
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    writes: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    user: Option<&'a str>,
}

/// [`EntryOut`], read back.
#[derive(Deserialize)]
struct EntryIn {
    lsn: u64,
    #[serde(with = "chrono::serde::ts_nanoseconds")]
    time: DateTime<Utc>,
    history: Vec<HistoryRow>,
    actions: Vec<Action>,
    #[serde(default)]
    writes: bool,
    #[serde(default)]
    user: Option<String>,
}

impl Codec for Chunk {
    fn encode(&self) -> Result<Vec<u8>, String> {
        let out: Vec<EntryOut<'_>> = self
            .0
            .iter()
            .map(|e| EntryOut {
                lsn: e.lsn,
                time: e.time,
                history: &e.history,
                actions: &e.actions,
                writes: e.writes,
                user: e.user.as_deref(),
            })
            .collect();
        encode_json(&out)
    }

    fn decode(bytes: &[u8]) -> Result<Self, String> {
        let entries: Vec<EntryIn> = decode_json(bytes)?;
        Ok(Chunk(
            entries
                .into_iter()
                .map(|e| {
                    let (lsn, time, history, actions, writes, user) =
                        (e.lsn, e.time, e.history, e.actions, e.writes, e.user);
                    Arc::new(VersionEntry { lsn, time, history, actions, writes, user })
                })
                .collect(),
        ))
    }
}

#[derive(Debug, Clone)]
struct Stored {
    first: u64,
    last: u64,
    entries: Lazy<Chunk>,
}

/// The base and the versions after it, each part decoded when first needed.
#[derive(Debug, Clone, Default)]
pub(crate) struct Past {
    base: Lazy<Base>,
    chunks: Vec<Stored>,
}

#[derive(Serialize, Deserialize)]
struct Layout {
    base: u64,
    /// First LSN, last LSN and length of each chunk.
    chunks: Vec<(u64, u64, u64)>,
}

impl Past {
    /// A past of decoded parts.
    pub(crate) fn new(base: Option<TableSnapshot>, entries: &Entries) -> Self {
        Self { base: Lazy::new(Base(base)), chunks: Vec::new() }.followed_by(entries)
    }

    /// This past with `entries` after it. Full chunks are kept as they are (still encoded if
    /// they were); a last chunk with room is filled up.
    pub(crate) fn followed_by(&self, entries: &Entries) -> Self {
        let mut out = self.clone();
        let mut rest = entries.clone();
        if out.chunks.last().is_some_and(|last| last.entries.0.len() < CHUNK)
            && !rest.is_empty()
            && let Some(last) = out.chunks.pop()
        {
            let mut merged = last.entries.0.clone();
            merged.append(rest);
            rest = merged;
        }
        while !rest.is_empty() {
            let tail = rest.split_off(rest.len().min(CHUNK));
            let first = rest.front().map_or(0, |e| e.lsn);
            let last = rest.back().map_or(0, |e| e.lsn);
            out.chunks.push(Stored { first, last, entries: Lazy::new(Chunk(rest)) });
            rest = tail;
        }
        out
    }

    /// Reads the stored form: only the layout is parsed; the parts stay encoded.
    pub(crate) fn read(bytes: Bytes) -> Result<Self, String> {
        let (len, _) = bytes.split_first_chunk::<4>().ok_or("history truncated")?;
        let len = u32::from_le_bytes(*len) as usize;
        let layout = bytes.get(4..4 + len).ok_or("history truncated in its layout")?;
        let layout: Layout = serde_json::from_slice(layout).map_err(|e| format!("history layout: {e}"))?;
        let mut at = 4 + len;
        let mut part = |n: u64| -> Result<Bytes, String> {
            let n = usize::try_from(n).map_err(|e| e.to_string())?;
            if at + n > bytes.len() {
                return Err("history truncated in its parts".into());
            }
            at += n;
            Ok(bytes.slice(at - n..at))
        };
        let base = Lazy::encoded(part(layout.base)?);
        let mut chunks = Vec::with_capacity(layout.chunks.len());
        for (first, last, len) in layout.chunks {
            chunks.push(Stored { first, last, entries: Lazy::encoded(part(len)?) });
        }
        Ok(Self { base, chunks })
    }

    /// The stored form, copying the parts that are still as they were read.
    pub(crate) fn write(&self) -> Result<Vec<u8>, String> {
        let bytes = |lazy_bytes: Option<&Bytes>, encode: &dyn Fn() -> Result<Vec<u8>, String>| match lazy_bytes {
            Some(b) => Ok(b.to_vec()),
            None => encode(),
        };
        let base = bytes(self.base.encoded_bytes(), &|| self.base.encode())?;
        let mut parts = Vec::with_capacity(self.chunks.len());
        for c in &self.chunks {
            parts.push((c.first, c.last, bytes(c.entries.encoded_bytes(), &|| c.entries.encode())?));
        }
        let layout = Layout {
            base: base.len() as u64,
            chunks: parts.iter().map(|(f, l, p)| (*f, *l, p.len() as u64)).collect(),
        };
        let layout = serde_json::to_vec(&layout).map_err(|e| e.to_string())?;
        let len = u32::try_from(layout.len()).map_err(|_| "history layout over 4 GiB".to_string())?;
        let mut out = len.to_le_bytes().to_vec();
        out.extend_from_slice(&layout);
        out.extend_from_slice(&base);
        for (_, _, p) in parts {
            out.extend_from_slice(&p);
        }
        Ok(out)
    }

    /// The base.
    pub(crate) fn base(&self) -> Option<&TableSnapshot> {
        self.base.0.as_ref()
    }

    /// The versions, or those of the chunks that start at or before `through`.
    pub(crate) fn entries(&self, through: Option<u64>) -> Entries {
        let wanted: Vec<&Stored> = self.chunks.iter().filter(|c| through.is_none_or(|lsn| c.first <= lsn)).collect();
        decode_in_parallel(&wanted);
        let mut out = Entries::new();
        for c in wanted {
            out.append(c.entries.0.clone());
        }
        out
    }

    /// Decodes the base and every chunk now (on every core): the error of a part that does not
    /// decode, where a statement can still report it.
    pub(crate) fn try_decode(&self) -> Result<(), String> {
        self.base.try_get()?;
        decode_in_parallel(&self.chunks.iter().collect::<Vec<_>>());
        for c in &self.chunks {
            c.entries.try_get()?;
        }
        Ok(())
    }

    /// True once some chunk of versions has been decoded.
    pub(crate) fn any_decoded(&self) -> bool {
        self.chunks.iter().any(|c| c.entries.is_decoded())
    }
}

/// Decodes the chunks not yet decoded, on every core (each thread takes the next chunk).
fn decode_in_parallel(chunks: &[&Stored]) {
    use std::sync::atomic::{AtomicUsize, Ordering};
    let pending: Vec<&Stored> = chunks.iter().copied().filter(|c| !c.entries.is_decoded()).collect();
    let workers = std::thread::available_parallelism().map_or(1, |n| n.get()).min(pending.len());
    if workers <= 1 {
        return;
    }
    let next = AtomicUsize::new(0);
    std::thread::scope(|scope| {
        for _ in 0..workers {
            scope.spawn(|| {
                while let Some(c) = pending.get(next.fetch_add(1, Ordering::Relaxed)) {
                    // A part that does not decode stays encoded: its reader reports the error.
                    let _ = c.entries.try_get();
                }
            });
        }
    });
}

#[cfg(test)]
mod tests {
    use chrono::Utc;

    use super::*;

    fn entries(from: u64, to: u64) -> Entries {
        (from..=to)
            .map(|lsn| {
                Arc::new(VersionEntry {
                    lsn,
                    time: Utc::now(),
                    history: vec![],
                    actions: vec![],
                    writes: false,
                    user: None,
                })
            })
            .collect()
    }

    #[test]
    fn chunks_decode_as_needed_and_unchanged_chunks_are_copied() {
        let c = CHUNK as u64;
        let past = Past::new(None, &entries(1, 2 * c + c / 2));
        let stored = Past::read(past.write().unwrap().into()).unwrap();
        assert_eq!(stored.chunks.len(), 3);
        assert!(!stored.any_decoded());
        let upto = stored.entries(Some(c + 10));
        assert_eq!((upto.front().unwrap().lsn, upto.back().unwrap().lsn), (1, 2 * c));
        assert!(stored.chunks[1].entries.is_decoded() && !stored.chunks[2].entries.is_decoded());
        // Appending fills the last chunk and leaves the full ones encoded.
        let longer = stored.followed_by(&entries(2 * c + c / 2 + 1, 3 * c + 10));
        assert!(longer.chunks[0].entries.encoded_bytes().is_some());
        let again = Past::read(longer.write().unwrap().into()).unwrap();
        let all = again.entries(None);
        assert_eq!(all.len() as u64, 3 * c + 10);
        assert!(all.iter().zip(1..).all(|(e, lsn)| e.lsn == lsn));
        assert_eq!(all[5].time, past.entries(None)[5].time, "times survive to the nanosecond");
        let bounds: Vec<(u64, u64)> = again.chunks.iter().map(|x| (x.first, x.last)).collect();
        assert_eq!(bounds, vec![(1, c), (c + 1, 2 * c), (2 * c + 1, 3 * c), (3 * c + 1, 3 * c + 10)]);
    }

    #[test]
    fn a_truncated_history_is_an_error() {
        let bytes = Past::new(None, &entries(1, 10)).write().unwrap();
        assert!(Past::read(Bytes::from(bytes[..bytes.len() - 1].to_vec())).is_err());
        assert!(Past::read(Bytes::from_static(b"\x01")).is_err());
    }
}
