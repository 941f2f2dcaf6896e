//! The first checkpoint format, JSON: still read, so that a warehouse written before the
//! compressed format opens.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::state::{ProjectState, TableHistory, TableSnapshot, VersionEntry};

/// The serialized form of a [`ProjectState`] (a checkpoint).
#[derive(Debug, Serialize, Deserialize)]
pub struct Checkpoint {
    /// The last commit included.
    pub version: u64,
    /// Its time.
    pub last_time: Option<DateTime<Utc>>,
    /// Project properties.
    pub properties: BTreeMap<String, String>,
    /// Every retained table.
    pub tables: Vec<CheckpointTable>,
    /// Tables whose metadata could not be read, with the reason.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub corrupt: BTreeMap<String, String>,
    /// Files freed by purges, awaiting deletion after the grace period.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub freed: BTreeMap<String, DateTime<Utc>>,
}

/// One table in a checkpoint.
#[derive(Debug, Serialize, Deserialize)]
pub struct CheckpointTable {
    /// ObjectId.
    pub id: String,
    /// Creation time.
    pub created: DateTime<Utc>,
    /// State before the first retained entry.
    pub base: Option<TableSnapshot>,
    /// Retained versions.
    pub entries: Vec<VersionEntry>,
}

impl From<&ProjectState> for Checkpoint {
    fn from(s: &ProjectState) -> Self {
        Checkpoint {
            version: s.version,
            last_time: s.last_time,
            properties: s.properties.clone(),
            tables: s
                .tables
                .values()
                .map(|t| CheckpointTable {
                    id: t.id.clone(),
                    created: t.created,
                    base: t.base().cloned(),
                    entries: t.entries().iter().map(|e| e.as_ref().clone()).collect(),
                })
                .collect(),
            corrupt: s.corrupt.clone(),
            freed: s.freed.clone(),
        }
    }
}

impl From<Checkpoint> for ProjectState {
    fn from(c: Checkpoint) -> Self {
        ProjectState {
            version: c.version,
            last_time: c.last_time,
            properties: c.properties,
            tables: c
                .tables
                .into_iter()
                .map(|t| (t.id.clone(), TableHistory::from_parts(t.id, t.created, t.base, t.entries)))
                .collect(),
            corrupt: c.corrupt,
            freed: c.freed,
        }
    }
}
