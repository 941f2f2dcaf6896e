//! Checkpoints: the state after one commit, in a form whose opening cost does not grow with the
//! number of versions.
//!
//! `_checkpoints/<version>.ckpt` holds [`MAGIC`], the length of the header (u32, little
//! endian), the header (JSON) and then the parts. The header is the catalog: project
//! properties, and for each table its current version without its files. Each table has two
//! parts, its current file list and its history (the state before its first retained version
//! and the deltas since), stored as zstd-compressed JSON with a CRC-32 in the header. Opening
//! parses the header and checks the CRCs; a part is decoded when a statement first uses it
//! ([`Lazy`]). A checkpoint copies the parts that did not change since the one it was read from
//! instead of encoding them again.
//!
//! Checkpoints written before this format (`<version>.json`, the whole state as JSON) are still
//! read.

use std::collections::BTreeMap;

use bytes::Bytes;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::legacy::Checkpoint;
use crate::state::lazy::{Codec, Lazy};
use crate::state::model::TableSchema;
use crate::state::past::Past;
use crate::state::{PastSummary, ProjectState, TableHistory, TableSnapshot};

/// The first bytes of a checkpoint.
pub(crate) const MAGIC: &[u8; 8] = b"TMCKPT2\n";

/// The file name extension of checkpoints in this format.
pub(crate) const EXTENSION: &str = "ckpt";

#[derive(Serialize, Deserialize)]
struct Header {
    version: u64,
    last_time: Option<DateTime<Utc>>,
    properties: BTreeMap<String, String>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    corrupt: BTreeMap<String, String>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    freed: BTreeMap<String, DateTime<Utc>>,
    tables: Vec<HeaderTable>,
}

#[derive(Serialize, Deserialize)]
struct HeaderTable {
    id: String,
    created: DateTime<Utc>,
    current: Head,
    /// The current version's partitions.
    partitions: Part,
    /// The retained versions.
    past: Part,
    summary: PastSummary,
}

/// A table version without its partitions.
#[derive(Serialize, Deserialize)]
struct Head {
    lsn: u64,
    time: DateTime<Utc>,
    name: String,
    schema: TableSchema,
    dropped: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    lifecycle: Option<u64>,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    lifecycle_disabled: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    ddl_time: Option<DateTime<Utc>>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    properties: BTreeMap<String, String>,
}

/// Where a part is (offset from the end of the header) and its CRC-32.
#[derive(Serialize, Deserialize)]
struct Part {
    offset: u64,
    len: u64,
    crc: u32,
}

/// Appends `bytes` to `body` and says where.
fn put(body: &mut Vec<u8>, bytes: &[u8]) -> Part {
    let part = Part { offset: body.len() as u64, len: bytes.len() as u64, crc: crc32fast::hash(bytes) };
    body.extend_from_slice(bytes);
    part
}

/// The checkpoint of `state`.
pub(crate) fn encode(state: &ProjectState) -> Result<Vec<u8>, String> {
    let mut body = Vec::new();
    let mut tables = Vec::with_capacity(state.tables.len());
    for t in state.tables.values() {
        let c = &t.current;
        let partitions = match c.partitions.encoded_bytes() {
            Some(bytes) => put(&mut body, bytes),
            None => put(&mut body, &c.partitions.encode()?),
        };
        let (past, summary) = t.encoded_past()?;
        let past = put(&mut body, &past);
        let current = Head {
            lsn: c.lsn,
            time: c.time,
            name: c.name.clone(),
            schema: c.schema.clone(),
            dropped: c.dropped,
            lifecycle: c.lifecycle,
            lifecycle_disabled: c.lifecycle_disabled,
            properties: c.properties.clone(),
            ddl_time: c.ddl_time,
        };
        tables.push(HeaderTable { id: t.id.clone(), created: t.created, current, partitions, past, summary });
    }
    let header = Header {
        version: state.version,
        last_time: state.last_time,
        properties: state.properties.clone(),
        corrupt: state.corrupt.clone(),
        freed: state.freed.clone(),
        tables,
    };
    let header = serde_json::to_vec(&header).map_err(|e| e.to_string())?;
    let len = u32::try_from(header.len()).map_err(|_| "checkpoint header over 4 GiB".to_string())?;
    let mut out = Vec::with_capacity(MAGIC.len() + 4 + header.len() + body.len());
    out.extend_from_slice(MAGIC);
    out.extend_from_slice(&len.to_le_bytes());
    out.extend_from_slice(&header);
    out.extend_from_slice(&body);
    Ok(out)
}

/// Reads a checkpoint in this format: parses the header and checks every part's CRC, leaving
/// the parts encoded. The error says what is wrong (the caller names the file).
pub(crate) fn decode(bytes: Bytes) -> Result<ProjectState, String> {
    let rest = bytes.strip_prefix(MAGIC.as_slice()).ok_or("not a checkpoint (wrong leading bytes)")?;
    let (len, rest) = rest.split_first_chunk::<4>().ok_or("truncated before the header length")?;
    let len = u32::from_le_bytes(*len) as usize;
    let header = rest.get(..len).ok_or("truncated in the header")?;
    let header: Header = serde_json::from_slice(header).map_err(|e| format!("header: {e}"))?;
    let body_start = MAGIC.len() + 4 + len;
    let part = |p: &Part, what: &str, id: &str| -> Result<Bytes, String> {
        let start = body_start + usize::try_from(p.offset).map_err(|e| e.to_string())?;
        let end = start + usize::try_from(p.len).map_err(|e| e.to_string())?;
        if end > bytes.len() {
            return Err(format!("the {what} of table {id} lies past the end of the file (truncated)"));
        }
        let slice = bytes.slice(start..end);
        if crc32fast::hash(&slice) != p.crc {
            return Err(format!("the {what} of table {id} fails its checksum"));
        }
        Ok(slice)
    };
    let mut tables = BTreeMap::new();
    for t in header.tables {
        let partitions = Lazy::encoded(part(&t.partitions, "file list", &t.id)?);
        let past =
            Past::read(part(&t.past, "history", &t.id)?).map_err(|e| format!("the history of table {}: {e}", t.id))?;
        let h = t.current;
        let current = TableSnapshot {
            id: t.id.clone(),
            lsn: h.lsn,
            time: h.time,
            name: h.name,
            schema: h.schema,
            partitions,
            dropped: h.dropped,
            lifecycle: h.lifecycle,
            lifecycle_disabled: h.lifecycle_disabled,
            ddl_time: h.ddl_time,
            properties: h.properties,
        };
        tables.insert(t.id.clone(), TableHistory::from_checkpoint(t.id, t.created, current, past, t.summary));
    }
    Ok(ProjectState {
        version: header.version,
        last_time: header.last_time,
        properties: header.properties,
        tables,
        corrupt: header.corrupt,
        freed: header.freed,
    })
}

/// Reads a checkpoint in the earlier format (the whole state as JSON).
pub(crate) fn decode_json(bytes: &[u8]) -> Result<ProjectState, String> {
    serde_json::from_slice::<Checkpoint>(bytes).map(ProjectState::from).map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::state::model::{Action, ColumnDef, Commit, DataFile, Partition, PutMode, TableChange};

    fn commit(version: u64, lsn: u64, actions: Vec<Action>) -> Commit {
        Commit {
            version,
            time: Utc::now(),
            statement: String::new(),
            user: None,
            tables: vec![TableChange { table_id: "t".repeat(32), lsn, history: vec![], actions, writes: true }],
            properties: BTreeMap::new(),
            expire: vec![],
            freed: vec![],
        }
    }

    fn state(appends: u64) -> ProjectState {
        let mut s = ProjectState::default();
        let schema =
            TableSchema { columns: vec![ColumnDef::new("v", "bigint")], partition_columns: vec![], clustering: None };
        s.apply(&commit(1, 1, vec![Action::Create { name: "t".into(), schema, lifecycle: None }])).unwrap();
        for i in 0..appends {
            let file = DataFile {
                path: format!("data/{i}.parquet"),
                size: 10,
                rows: 1,
                stats: Default::default(),
                bucket: None,
                deleted: None,
            };
            let partition = Partition { id: "t".repeat(32), files: imbl::vector![file], ..Default::default() };
            s.apply(&commit(i + 2, i + 2, vec![Action::PutPartition { partition, mode: PutMode::Append }])).unwrap();
        }
        s
    }

    #[test]
    fn round_trips_and_leaves_the_parts_encoded() {
        // More versions than one history chunk holds: chunks decode in parallel, in order.
        let s = state(2500);
        let read = decode(encode(&s).unwrap().into()).unwrap();
        let (a, b) = (&s.tables.values().next().unwrap(), read.tables.values().next().unwrap());
        assert!(!b.current.partitions.is_decoded());
        assert_eq!(b.retained(), 2501);
        assert_eq!(b.oldest(), a.oldest());
        assert_eq!(b.current.row_count(), 2500);
        assert_eq!(b.entries(), a.entries());
        assert_eq!(b.state_at(1700), a.state_at(1700));
        assert_eq!(b.state_at(1700).unwrap().row_count(), 1699);
        // Unchanged parts are copied, not encoded again: the same bytes.
        assert_eq!(encode(&read).unwrap(), encode(&read).unwrap());
    }

    #[test]
    fn a_damaged_part_is_an_error_at_read_time() {
        let mut bytes = encode(&state(2)).unwrap();
        let last = bytes.len() - 3;
        bytes[last] ^= 0xff;
        let err = decode(bytes.clone().into()).unwrap_err();
        assert!(err.contains("fails its checksum"), "{err}");
        let err = decode(Bytes::from(bytes[..bytes.len() - 10].to_vec())).unwrap_err();
        assert!(err.contains("truncated"), "{err}");
        assert!(decode(Bytes::from_static(b"{\"version\":1}")).unwrap_err().contains("not a checkpoint"));
    }

    #[test]
    fn a_part_that_passes_its_checksum_but_does_not_decode_fails_its_reader_not_the_process() {
        // What a newer version might write: a well-formed part this build cannot read.
        let mut s = state(2);
        let t = s.tables.values_mut().next().unwrap();
        let mut current = t.current.as_ref().clone();
        current.partitions = Lazy::encoded(Bytes::from(crate::state::lazy::encode_json(&"not partitions").unwrap()));
        t.current = std::sync::Arc::new(current);
        let read = decode(encode(&s).unwrap().into()).unwrap();
        let id = read.tables.keys().next().unwrap().clone();
        let err = read.check_decodable(&id, false).unwrap_err().to_string();
        assert!(err.contains("does not decode") && err.contains("newer version"), "{err}");
        // The past still decodes on its own; the error repeats, nothing panics.
        assert!(read.check_decodable(&id, true).is_err());
    }
}
