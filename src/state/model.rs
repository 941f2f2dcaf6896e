//! What the commit log stores: commits, per-table changes and the actions that make them.
//!
//! Everything here is serialized as JSON. A commit holds the changes of one statement to every
//! table it touched, so one conditional put makes a multi-table statement atomic.

use std::collections::BTreeMap;
use std::fmt;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// A column of a table: its lowercase name and its MaxCompute type (`string`, `bigint`, …).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ColumnDef {
    /// Column name, lowercase.
    pub name: String,
    /// MaxCompute type name, lowercase (`string`, `decimal(10,2)`, …).
    #[serde(rename = "type")]
    pub data_type: String,
    /// The column's name inside the data files when it differs from `name`: a renamed column
    /// keeps reading the files written before the rename, and a re-added name gets a fresh one
    /// (`b#7`), so it never resurrects the values of a dropped column. The stable field id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
    /// COMMENT given when the column was declared.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub comment: String,
}

impl ColumnDef {
    /// A column with no comment, stored under its own name.
    pub fn new(name: impl Into<String>, data_type: impl Into<String>) -> Self {
        Self { name: name.into(), data_type: data_type.into(), field: None, comment: String::new() }
    }

    /// The column's name inside the data files.
    pub fn file_name(&self) -> &str {
        self.field.as_deref().unwrap_or(&self.name)
    }
}

/// The schema of a table: data columns, then partition columns, and how rows are laid out.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TableSchema {
    /// Columns stored in the data files.
    pub columns: Vec<ColumnDef>,
    /// Partition columns (values live in metadata, not in the files).
    #[serde(default)]
    pub partition_columns: Vec<ColumnDef>,
    /// `[RANGE] CLUSTERED BY …`: how the rows of a partition are placed in files and sorted.
    /// Part of the version, so a restore brings back the layout with the files.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub clustering: Option<Clustering>,
}

/// MaxCompute's clustered tables. Hash: `CLUSTERED BY (c, …) [SORTED BY (…)] INTO n BUCKETS`,
/// each row goes to the bucket its key hashes to, each file holds one bucket, sorted. Range:
/// `RANGE CLUSTERED BY (c, …) [SORTED BY (…)] [INTO n BUCKETS]`, the rows a statement writes to
/// a partition are sorted by the key and cut into files of consecutive key ranges.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Clustering {
    /// Hash or range.
    pub kind: ClusterKind,
    /// The clustering key (data columns, by their names in the table).
    pub columns: Vec<String>,
    /// `SORTED BY`: the order of rows within each file (after the key, for range clustering).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub sorted_by: Vec<SortKey>,
    /// `INTO n BUCKETS` (required for hash clustering).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub buckets: Option<u32>,
}

/// Hash or range clustering.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ClusterKind {
    /// `CLUSTERED BY`.
    Hash,
    /// `RANGE CLUSTERED BY`.
    Range,
}

/// A column of `SORTED BY`, ascending unless `descending`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SortKey {
    /// The column's name in the table.
    pub column: String,
    /// DESC.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub descending: bool,
}

impl Clustering {
    /// The order of rows within each file: for range clustering the key (ascending) first.
    pub fn file_order(&self) -> Vec<SortKey> {
        let mut order: Vec<SortKey> = match self.kind {
            ClusterKind::Hash => vec![],
            ClusterKind::Range => {
                self.columns.iter().map(|c| SortKey { column: c.clone(), descending: false }).collect()
            }
        };
        for key in &self.sorted_by {
            if !order.iter().any(|k| k.column == key.column) {
                order.push(key.clone());
            }
        }
        order
    }

    /// True when `column` is part of the clustering key or of the sort order.
    pub fn uses(&self, column: &str) -> bool {
        self.columns.iter().any(|c| c == column) || self.sorted_by.iter().any(|k| k.column == column)
    }
}

impl TableSchema {
    /// True when the table has partition columns.
    pub fn is_partitioned(&self) -> bool {
        !self.partition_columns.is_empty()
    }

    /// The schema as MaxCompute prints it in errors: `[{"comment":"","id":"","name":"a","type":"string"}]`.
    pub fn describe(&self) -> String {
        let cols: Vec<String> = self
            .columns
            .iter()
            .chain(&self.partition_columns)
            .map(|c| {
                format!(
                    r#"{{"comment":{},"id":"","name":{},"type":{}}}"#,
                    serde_json::Value::String(c.comment.clone()),
                    serde_json::Value::String(c.name.clone()),
                    serde_json::Value::String(c.data_type.clone())
                )
            })
            .collect();
        format!("[{}]", cols.join(","))
    }
}

/// One immutable Parquet file, by its path relative to the project root.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DataFile {
    /// Path relative to the project directory (`data/<table>/<partition>/<uuid>.parquet`).
    pub path: String,
    /// Size in bytes.
    pub size: u64,
    /// Number of rows.
    pub rows: u64,
    /// Per column (by its name in the file): null count, min and max, as the Parquet writer
    /// computed them. Scans hand them to DataFusion (files pruned before they are opened,
    /// `count(*)`, `min`, `max` answered from metadata). Empty for files written before
    /// statistics were recorded.
    /// Shared: replaying versions (time travel) copies files without copying their statistics.
    #[serde(default, skip_serializing_if = "no_stats")]
    pub stats: std::sync::Arc<BTreeMap<String, ColumnStats>>,
    /// Written by the clustered writer (so its rows are in the table's file order): for hash
    /// clustering the bucket its rows hash to, for range clustering the file's rank among the
    /// files one statement wrote to the partition. None for files of unclustered tables.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bucket: Option<u32>,
    /// The rows of the file this version no longer holds (merge-on-read DELETE, UPDATE, MERGE);
    /// None when every row is live.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deleted: Option<std::sync::Arc<super::deletions::Deletions>>,
}

impl DataFile {
    /// The rows the file holds in this version (its rows less those deleted).
    pub fn live_rows(&self) -> u64 {
        match &self.deleted {
            Some(d) if d.only => d.count(),
            Some(d) => self.rows.saturating_sub(d.count()),
            None => self.rows,
        }
    }

    /// True when a row-level change removing `n` of its live rows rewrites the file instead of
    /// giving it a deletion vector (more than half go: copy-on-write where it wins).
    pub fn loses_most(&self, n: u64) -> bool {
        n.saturating_mul(2) > self.live_rows()
    }

    /// What identifies this entry in conflict checks: its path, and its deletion vector if any
    /// (deleting rows of a file replaces the entry under the same path).
    pub fn key(&self) -> String {
        match &self.deleted {
            Some(d) => format!("{}#{}", self.path, d.id),
            None => self.path.clone(),
        }
    }
}

fn no_stats(stats: &std::sync::Arc<BTreeMap<String, ColumnStats>>) -> bool {
    stats.is_empty()
}

/// The statistics of one column of one data file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ColumnStats {
    /// Null values.
    #[serde(rename = "n")]
    pub nulls: u64,
    /// The smallest non-null value, as text (absent when unknown, or a string over 64 bytes).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min: Option<String>,
    /// The largest non-null value, as text.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max: Option<String>,
}

/// A partition: its ObjectId, its values (in partition-column order) and its files.
/// An unpartitioned table has exactly one partition with no values.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Partition {
    /// ObjectId of the partition.
    pub id: String,
    /// Values of the partition columns.
    pub values: Vec<String>,
    /// Files holding the partition's rows (a persistent vector: an append shares the others).
    pub files: imbl::Vector<DataFile>,
    /// When its data last changed (set when a version puts files into it): the clock that
    /// LIFECYCLE reclamation reads.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub modified: Option<DateTime<Utc>>,
    /// `ALTER TABLE … PARTITION (…) DISABLE LIFECYCLE`: never reclaimed.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub lifecycle_disabled: bool,
}

/// How a [`Action::PutPartition`] combines with what the partition held.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum PutMode {
    /// Add the files to the partition's files (INSERT INTO).
    Append,
    /// The files become the partition's only files (create, overwrite, restore).
    Replace,
    /// The files become the partition's only files, holding the same rows (MERGE SMALLFILES):
    /// the data did not change, so its last modified time (and LIFECYCLE clock) stays.
    Rewrite,
}

/// One change to a table's state. A table version is the previous version plus its actions.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "action", rename_all = "snake_case")]
// Deserialize: see `action_de.rs` (the same form, read without buffering).
pub enum Action {
    /// The table comes into existence (empty).
    Create {
        /// Table name.
        name: String,
        /// Table schema.
        schema: TableSchema,
        /// `LIFECYCLE n`: days after its last change that a partition (or an unpartitioned
        /// table) is reclaimed.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        lifecycle: Option<u64>,
    },
    /// The table gets a new name.
    Rename {
        /// The new name.
        name: String,
    },
    /// The table is dropped (its history stays until it expires).
    Drop,
    /// A dropped table is live again under `name`.
    Undrop {
        /// The name it comes back under.
        name: String,
    },
    /// The whole content and schema are replaced (restore to an LSN).
    Replace {
        /// The schema of the restored version.
        schema: TableSchema,
        /// Its partitions.
        partitions: Vec<Partition>,
    },
    /// A partition gets files (creating it if needed).
    PutPartition {
        /// The partition (its files are added or replace the old ones, per `mode`).
        partition: Partition,
        /// Append or replace.
        mode: PutMode,
    },
    /// A partition is removed.
    DropPartition {
        /// Values of the partition to remove.
        values: Vec<String>,
    },
    /// The schema changes (ADD / DROP / CHANGE COLUMN); no data file is rewritten.
    AlterSchema {
        /// The new schema.
        schema: TableSchema,
    },
    /// `ALTER TABLE … SET LIFECYCLE n`.
    SetLifecycle {
        /// Days; None removes the lifecycle.
        days: Option<u64>,
    },
    /// `ALTER TABLE … TOUCH [PARTITION (…)]`: last modified now.
    Touch {
        /// The partition, or None for all of them.
        values: Option<Vec<String>>,
    },
    /// `ALTER TABLE … {SET|UNSET} TBLPROPERTIES`.
    SetProperties {
        /// Properties set (key in lowercase, value).
        #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
        set: BTreeMap<String, String>,
        /// Properties removed.
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        unset: Vec<String>,
    },
    /// The rows a row-level change (DELETE, UPDATE, MERGE) changed, for the change feed: files
    /// with the table's columns and [`CHANGE_TYPE_COLUMN`] (`delete`, `update_preimage`,
    /// `update_postimage`, `insert`). The table's state does not change; the files live as long
    /// as the version does. A copy-on-write rewrite also carries unchanged rows into new files:
    /// these files say which rows really changed, without a diff of the files.
    ChangeData {
        /// The partition the rows belong to (its values and ObjectId) and the change files.
        partition: Partition,
    },
    /// `ALTER TABLE … [PARTITION (…)] {ENABLE|DISABLE} LIFECYCLE`.
    EnableLifecycle {
        /// The partition, or None for the table.
        values: Option<Vec<String>>,
        /// ENABLE rather than DISABLE.
        enabled: bool,
    },
}

/// The column of change files (and of `table_changes`) that says what happened to a row.
pub const CHANGE_TYPE_COLUMN: &str = "_change_type";

/// The operation shown in history.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum Operation {
    /// CREATE TABLE, or a partition created.
    Create,
    /// INSERT INTO.
    Append,
    /// INSERT OVERWRITE, or a restore into an existing table.
    Overwrite,
    /// DROP TABLE / DROP PARTITION.
    Drop,
    /// RESTORE.
    Restore,
    /// ALTER TABLE … RENAME TO.
    Rename,
    /// TRUNCATE TABLE.
    Truncate,
    /// A schema change (ALTER TABLE … ADD / DROP / CHANGE COLUMN) or a lifecycle setting.
    Alter,
    /// DELETE FROM.
    Delete,
    /// UPDATE.
    Update,
    /// MERGE INTO.
    Merge,
    /// Reclaimed after its LIFECYCLE ended (restorable like a drop).
    Reclaim,
    /// ALTER TABLE … MERGE SMALLFILES: the same rows in fewer files.
    #[serde(rename = "MERGE SMALLFILES")]
    MergeSmallFiles,
}

impl fmt::Display for Operation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let s = match self {
            Operation::Create => "CREATE",
            Operation::Append => "APPEND",
            Operation::Overwrite => "OVERWRITE",
            Operation::Drop => "DROP",
            Operation::Restore => "RESTORE",
            Operation::Rename => "RENAME",
            Operation::Truncate => "TRUNCATE",
            Operation::Alter => "ALTER",
            Operation::Delete => "DELETE",
            Operation::Update => "UPDATE",
            Operation::Merge => "MERGE",
            Operation::Reclaim => "RECLAIM",
            Operation::MergeSmallFiles => "MERGE SMALLFILES",
        };
        f.pad(s)
    }
}

/// Whether a history row is about the table or one of its partitions.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum ObjectType {
    /// The table itself.
    Table,
    /// A partition of the table.
    Partition,
}

impl fmt::Display for ObjectType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad(match self {
            ObjectType::Table => "TABLE",
            ObjectType::Partition => "PARTITION",
        })
    }
}

/// One row of `SHOW HISTORY` (without LSN and time, which come from the version).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HistoryRow {
    /// TABLE or PARTITION.
    pub object_type: ObjectType,
    /// ObjectId of the table or partition.
    pub object_id: String,
    /// Table name, or partition spec `ds=20191201`.
    pub object_name: String,
    /// What happened.
    pub operation: Operation,
}

/// The change one statement made to one table: its next LSN, history rows and actions.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TableChange {
    /// ObjectId of the table.
    pub table_id: String,
    /// The table's new LSN (previous + 1; 1 for CREATE).
    pub lsn: u64,
    /// Rows shown by SHOW HISTORY for this version.
    pub history: Vec<HistoryRow>,
    /// The state change.
    pub actions: Vec<Action>,
    /// True when the statement wrote new rows (INSERT, CTAS): what an incremental query
    /// (`VERSION BETWEEN`) returns. Restores point at old files and are not new data.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub writes: bool,
}

/// One entry of the project's commit log: everything one statement changed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Commit {
    /// Position in the project log (1, 2, …).
    pub version: u64,
    /// Commit time.
    pub time: DateTime<Utc>,
    /// The statement, for auditing.
    #[serde(default)]
    pub statement: String,
    /// The session's user (the authenticated one through the server), for auditing.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user: Option<String>,
    /// Per-table changes.
    #[serde(default)]
    pub tables: Vec<TableChange>,
    /// Project properties set by this commit.
    #[serde(default)]
    pub properties: BTreeMap<String, String>,
    /// Versions that this commit (a purge) forgets.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub expire: Vec<Expiry>,
    /// Data files (project-relative paths) that no retained version references once `expire`
    /// is applied. They are deleted only after the grace period: a reader that planned against
    /// a forgotten version a moment ago still reads them.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub freed: Vec<String>,
}

/// A purge's instruction to forget old versions of one table.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Expiry {
    /// ObjectId of the table.
    pub table_id: String,
    /// Keep the versions from this LSN on; None forgets the table entirely.
    pub keep_from: Option<u64>,
}

/// Formats an LSN the way MaxCompute shows it: 16 zero-padded digits.
pub fn format_lsn(lsn: u64) -> String {
    format!("{lsn:016}")
}

/// Formats partition values as a spec: `ds=20191201`, `a=1/b=2`.
pub fn partition_spec(columns: &[ColumnDef], values: &[String]) -> String {
    columns.iter().zip(values).map(|(c, v)| format!("{}={}", c.name, v)).collect::<Vec<_>>().join("/")
}
