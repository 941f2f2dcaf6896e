//! One version of a table: materialized ([`TableSnapshot`]) or as a delta on the version before
//! it ([`VersionEntry`]).

use std::collections::BTreeMap;
use std::sync::Arc;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::lazy::Lazy;
use super::model::{Action, HistoryRow, TableSchema};
use super::partitions::{Partitions, apply_to_partitions, changes_partitions};

/// Versions of a table, oldest first.
pub type Entries = imbl::Vector<Arc<VersionEntry>>;

/// A table as it is at one LSN.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TableSnapshot {
    /// ObjectId of the table.
    pub id: String,
    /// The LSN of this version.
    pub lsn: u64,
    /// Commit time of this version.
    pub time: DateTime<Utc>,
    /// Table name at this version.
    pub name: String,
    /// Schema at this version.
    pub schema: TableSchema,
    /// Partitions by their values (an unpartitioned table has one, keyed by no values).
    pub partitions: Lazy<Partitions>,
    /// True once dropped (until undropped).
    pub dropped: bool,
    /// `LIFECYCLE n` in days, if set.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lifecycle: Option<u64>,
    /// `ALTER TABLE … DISABLE LIFECYCLE`: nothing of the table is reclaimed.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub lifecycle_disabled: bool,
    /// When the schema or lifecycle last changed (MaxCompute's LastDDLTime).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ddl_time: Option<DateTime<Utc>>,
    /// `ALTER TABLE … SET TBLPROPERTIES`: the table's properties (keys in lowercase).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub properties: BTreeMap<String, String>,
}

impl TableSnapshot {
    pub(super) fn empty(id: &str) -> Self {
        Self {
            id: id.to_string(),
            lsn: 0,
            time: DateTime::<Utc>::MIN_UTC,
            name: String::new(),
            schema: TableSchema { columns: vec![], partition_columns: vec![], clustering: None },
            partitions: Lazy::default(),
            dropped: false,
            lifecycle: None,
            lifecycle_disabled: false,
            ddl_time: None,
            properties: BTreeMap::new(),
        }
    }

    /// Applies one version's actions in place. A file list not yet decoded stays so: its
    /// changes wait for the first reader.
    pub(super) fn apply(&mut self, lsn: u64, time: DateTime<Utc>, actions: &[Action]) {
        self.lsn = lsn;
        self.time = time;
        for action in actions {
            match action {
                Action::Create { name, schema, lifecycle } => {
                    self.name = name.clone();
                    self.schema = schema.clone();
                    self.dropped = false;
                    self.lifecycle = *lifecycle;
                    self.ddl_time = Some(time);
                }
                Action::Rename { name } => self.name = name.clone(),
                Action::Drop => self.dropped = true,
                Action::Undrop { name } => {
                    self.dropped = false;
                    self.name = name.clone();
                }
                Action::Replace { schema, .. } => {
                    if *schema != self.schema {
                        self.ddl_time = Some(time);
                    }
                    self.schema = schema.clone();
                }
                Action::AlterSchema { schema } => {
                    self.schema = schema.clone();
                    self.ddl_time = Some(time);
                }
                Action::SetLifecycle { days } => {
                    self.lifecycle = *days;
                    self.ddl_time = Some(time);
                }
                Action::SetProperties { set, unset } => {
                    for key in unset {
                        self.properties.remove(key);
                    }
                    self.properties.extend(set.iter().map(|(k, v)| (k.clone(), v.clone())));
                    self.ddl_time = Some(time);
                }
                Action::EnableLifecycle { values: None, enabled } => {
                    self.lifecycle_disabled = !enabled;
                    self.ddl_time = Some(time);
                }
                Action::PutPartition { .. }
                | Action::ChangeData { .. }
                | Action::DropPartition { .. }
                | Action::Touch { .. }
                | Action::EnableLifecycle { values: Some(_), .. } => {}
            }
        }
        if !actions.iter().any(changes_partitions) {
            return;
        }
        if self.partitions.is_decoded() {
            apply_to_partitions(&mut self.partitions, &self.id, time, actions);
        } else {
            let (id, actions) = (self.id.clone(), actions.to_vec());
            self.partitions.defer(move |p| apply_to_partitions(p, &id, time, &actions));
        }
    }

    /// Total rows over all partitions.
    pub fn row_count(&self) -> u64 {
        self.partitions.values().flat_map(|p| &p.files).map(|f| f.live_rows()).sum()
    }

    /// When the table's data last changed (MaxCompute's LastModifiedTime).
    pub fn data_modified(&self) -> Option<DateTime<Utc>> {
        self.partitions.values().filter_map(|p| p.modified).max()
    }
}

/// One retained version of a table, as a delta on the version before it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct VersionEntry {
    /// The version's LSN.
    pub lsn: u64,
    /// Commit time.
    pub time: DateTime<Utc>,
    /// Rows shown by SHOW HISTORY.
    pub history: Vec<HistoryRow>,
    /// The change from the previous version.
    pub actions: Vec<Action>,
    /// True when the version wrote new rows (see [`TableChange::writes`](crate::state::model::TableChange::writes)).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub writes: bool,
    /// Who committed it (None: a session without a user).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user: Option<String>,
}
