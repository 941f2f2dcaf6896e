//! The statements this crate owns, as the parser reads them (data only: no execution here).

use datafusion::sql::parser::Statement as DfStatement;
use datafusion::sql::sqlparser::ast::Query;

/// A partition spec as written: `(ds='20191201', hr='00')`, or `('id'='…')` for an ObjectId.
pub type PartitionSpec = Vec<(String, String)>;

/// A statement, as this crate executes it.
#[derive(Debug, Clone)]
pub enum Statement {
    /// `CREATE TABLE [IF NOT EXISTS] t (…) [PARTITIONED BY (…)] [LIFECYCLE n] [AS SELECT …]`.
    CreateTable(CreateTable),
    /// `CREATE [OR REPLACE] VIEW [IF NOT EXISTS] v [(c, …)] [COMMENT '…'] AS SELECT …`.
    CreateView(CreateView),
    /// `DROP VIEW [IF EXISTS] v`.
    DropView {
        /// View name.
        name: String,
        /// IF EXISTS given.
        if_exists: bool,
    },
    /// `DROP TABLE [IF EXISTS] t`.
    DropTable {
        /// Table name.
        name: String,
        /// IF EXISTS given.
        if_exists: bool,
    },
    /// `ALTER TABLE t RENAME TO u`.
    Rename {
        /// Current name.
        from: String,
        /// New name.
        to: String,
    },
    /// `ALTER TABLE t` schema and lifecycle changes.
    Alter {
        /// Table name.
        table: String,
        /// What changes.
        change: AlterChange,
    },
    /// `DESC [EXTENDED] t [PARTITION (…)]`.
    Describe {
        /// Table name.
        table: String,
        /// EXTENDED given.
        extended: bool,
        /// `PARTITION (…)`: that partition's size and times instead.
        partition: Option<PartitionSpec>,
    },
    /// `ALTER TABLE t DROP [IF EXISTS] PARTITION (…)[, PARTITION (…)]`.
    DropPartitions {
        /// Table name.
        table: String,
        /// IF EXISTS given.
        if_exists: bool,
        /// The partitions.
        specs: Vec<PartitionSpec>,
    },
    /// `LIST PARTITIONS t`, `SHOW PARTITIONS t [PARTITION (…)]`.
    ListPartitions {
        /// Table name.
        table: String,
        /// `PARTITION (…)`: only the partitions with these values (some of the columns may be named).
        filter: Option<PartitionSpec>,
    },
    /// `SHOW CREATE TABLE t`: the statement that creates t as it is.
    ShowCreateTable {
        /// Table name.
        table: String,
    },
    /// `SET odps.… = …`: a MaxCompute session flag (accepted; the engine's behaviour is fixed).
    SessionFlag {
        /// The flag's name, lowercase.
        key: String,
        /// Its value, as written.
        value: String,
    },
    /// `INSERT {INTO|OVERWRITE} [TABLE] t [PARTITION (…)] {VALUES …|SELECT …}`.
    Insert(Insert),
    /// `TRUNCATE TABLE t [PARTITION (…)…]`.
    Truncate {
        /// Table name.
        table: String,
        /// Partitions to empty (all when none).
        specs: Vec<PartitionSpec>,
    },
    /// `SHOW HISTORY FOR TABLES`.
    ShowHistoryTables,
    /// `SHOW HISTORY FOR TABLE t [('id'='…')] [PARTITION (…)…]`.
    ShowHistory {
        /// Table name.
        table: String,
        /// `('id'='…')` given.
        id: Option<String>,
        /// Partition specs (or `('id'='…')` forms).
        specs: Vec<PartitionSpec>,
    },
    /// Every RESTORE form.
    Restore(Restore),
    /// `CLONE TABLE src [PARTITION (…), …] TO dst [IF EXISTS {OVERWRITE|IGNORE}]`.
    Clone(CloneTable),
    /// `ALTER TABLE t CREATE TAG name [AS OF VERSION k] [RETAIN n DAYS]`.
    CreateTag {
        /// Table name.
        table: String,
        /// Tag name (lowercase).
        name: String,
        /// The LSN as written (the current version when None).
        lsn: Option<String>,
        /// `RETAIN n DAYS` (kept until dropped when None).
        retain_days: Option<u64>,
    },
    /// `ALTER TABLE t DROP TAG name`.
    DropTag {
        /// Table name.
        table: String,
        /// Tag name (lowercase).
        name: String,
    },
    /// `SHOW TAGS FOR TABLE t`.
    ShowTags {
        /// Table name.
        table: String,
    },
    /// `ALTER TABLE t [PARTITION (…)[, PARTITION (…)]] MERGE SMALLFILES`.
    MergeSmallFiles {
        /// Table name.
        table: String,
        /// The partitions to merge (all when none).
        specs: Vec<PartitionSpec>,
    },
    /// `SETPROJECT [key=value]`.
    SetProject {
        /// `(key, value)`, or None to list the properties.
        property: Option<(String, String)>,
    },
    /// `PURGE TABLE t`.
    Purge {
        /// Table name.
        table: String,
    },
    /// `MERGE INTO t USING s ON … WHEN [NOT] MATCHED …` on a versioned table.
    Merge {
        /// Target table name.
        table: String,
        /// The statement as sqlparser read it (its clauses are planned as SQL).
        merge: Box<datafusion::sql::sqlparser::ast::Merge>,
        /// What the user wrote: a MERGE, or a DELETE or UPDATE planned as one (see `dml_merge.rs`).
        kind: MergeKind,
    },
    /// `ADD USER u [IDENTIFIED BY 'password']` / `REMOVE USER u`.
    User {
        /// The user's name (lowercase).
        name: String,
        /// ADD rather than REMOVE.
        add: bool,
        /// The password given with `IDENTIFIED BY` (ADD only).
        password: Option<Secret>,
    },
    /// `ALTER USER u IDENTIFIED BY 'password'`.
    SetPassword {
        /// The user's name (lowercase).
        name: String,
        /// The new password.
        password: Secret,
    },
    /// `GRANT Select, Update ON TABLE t TO USER u`, `GRANT List ON PROJECT p TO USER u`,
    /// `GRANT admin TO u`, and their REVOKE … FROM forms.
    Grant {
        /// Privileges (`select`, `list`, …) or a role (`admin`), lowercase.
        grants: Vec<String>,
        /// `ON PROJECT p` or `ON TABLE t`, when given.
        on: Option<GrantObject>,
        /// The user.
        user: String,
        /// REVOKE rather than GRANT.
        revoke: bool,
    },
    /// `SHOW GRANTS [FOR u]`.
    ShowGrants {
        /// The user, or None for every user.
        user: Option<String>,
    },
    /// `RECLAIM [TABLE t]`: reclaims now what LIFECYCLE has ended (the automatic purge does it too).
    Reclaim {
        /// The table, or None for every table.
        table: Option<String>,
    },
    /// `EXPLAIN [ANALYZE] [VERBOSE]` of one of the statements above.
    Explain {
        /// ANALYZE: run it and show the metrics.
        analyze: bool,
        /// VERBOSE.
        verbose: bool,
        /// The statement explained.
        statement: Box<Statement>,
    },
    /// Anything else: DataFusion plans and runs it.
    DataFusion(Box<DfStatement>),
}

/// A column as declared: its lowercase name and normalized MaxCompute type (`string`, `bigint`, …).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ColumnSpec {
    /// Column name, lowercase.
    pub name: String,
    /// MaxCompute type name, lowercase (`decimal(10,2)`, …).
    pub data_type: String,
    /// COMMENT '…', or empty.
    pub comment: String,
}

/// The statement a [`Statement::Merge`] came from (the history shows it).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MergeKind {
    /// `MERGE INTO`.
    Merge,
    /// A DELETE that needs a join (a correlated subquery, `USING`).
    Delete,
    /// An UPDATE that needs a join (a correlated subquery, `FROM`).
    Update,
}

/// The change of an `ALTER TABLE t …` that is not a rename or a partition drop.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AlterChange {
    /// `ADD COLUMNS (c T [COMMENT '…'], …)`.
    AddColumns(Vec<ColumnSpec>),
    /// `PARTITION (…) RENAME TO PARTITION (…)`: the partition's rows under other values.
    RenamePartition {
        /// The partition.
        from: PartitionSpec,
        /// Its new values.
        to: PartitionSpec,
    },
    /// `ADD [IF NOT EXISTS] PARTITION (…) [PARTITION (…)…]`: empty partitions.
    AddPartitions {
        /// The partitions.
        specs: Vec<PartitionSpec>,
        /// IF NOT EXISTS given (an existing partition is skipped).
        if_not_exists: bool,
    },
    /// `DROP COLUMNS c[, …]`.
    DropColumns(Vec<String>),
    /// `CHANGE [COLUMN] a RENAME TO b`.
    RenameColumn {
        /// Current name.
        from: String,
        /// New name.
        to: String,
    },
    /// `CHANGE [COLUMN] a b <type> [COMMENT '…']`: a rename when b differs, and a safe widening
    /// (or the same type).
    ChangeColumn {
        /// The column changed.
        column: String,
        /// Its new declaration.
        spec: ColumnSpec,
    },
    /// `CHANGE [COLUMN] a COMMENT '…'`.
    CommentColumn {
        /// The column.
        column: String,
        /// Its new comment.
        comment: String,
    },
    /// `TOUCH [PARTITION (…)]`: the data's last-modified time becomes now (its LIFECYCLE
    /// restarts).
    Touch {
        /// The partition, or None for every partition of the table.
        partition: Option<PartitionSpec>,
    },
    /// `SET LIFECYCLE n`.
    SetLifecycle(u64),
    /// `SET TBLPROPERTIES ('k'='v', …)` (keys in lowercase).
    SetProperties(Vec<(String, String)>),
    /// `UNSET TBLPROPERTIES [IF EXISTS] ('k', …)`.
    UnsetProperties {
        /// The keys (in lowercase).
        keys: Vec<String>,
        /// IF EXISTS: a key the table does not have is no error.
        if_exists: bool,
    },
    /// `[PARTITION (…)] {ENABLE|DISABLE} LIFECYCLE`.
    EnableLifecycle {
        /// The partition, or None for the table.
        partition: Option<PartitionSpec>,
        /// ENABLE rather than DISABLE.
        enabled: bool,
    },
}

/// `CREATE TABLE`.
#[derive(Debug, Clone)]
pub struct CreateTable {
    /// Table name.
    pub name: String,
    /// IF NOT EXISTS given.
    pub if_not_exists: bool,
    /// Data columns.
    pub columns: Vec<ColumnSpec>,
    /// Partition columns.
    pub partition_columns: Vec<ColumnSpec>,
    /// LIFECYCLE in days.
    pub lifecycle: Option<u64>,
    /// `TBLPROPERTIES ('k'='v', …)` (keys lowercase).
    pub properties: Vec<(String, String)>,
    /// `[RANGE] CLUSTERED BY (…) [SORTED BY (…)] [INTO n BUCKETS]`.
    pub cluster: Option<ClusterSpec>,
    /// `LIKE t`: the columns, partition columns and lifecycle of t.
    pub like: Option<String>,
    /// The query of CREATE TABLE … AS.
    pub query: Option<Box<Query>>,
}

/// `CREATE VIEW`: a named query of the project.
#[derive(Debug, Clone)]
pub struct CreateView {
    /// View name.
    pub name: String,
    /// OR REPLACE given.
    pub or_replace: bool,
    /// IF NOT EXISTS given.
    pub if_not_exists: bool,
    /// `(c, …)`: names for the query's columns.
    pub columns: Vec<String>,
    /// COMMENT '…'.
    pub comment: String,
    /// The query.
    pub query: Box<Query>,
    /// The tables and views the query reads (filled in when it is planned).
    pub reads: Vec<String>,
    /// Its columns as `(name, Arrow type)` (filled in when it is planned).
    pub fields: Vec<(String, String)>,
}

/// `[RANGE] CLUSTERED BY (c, …) [SORTED BY (c [ASC|DESC], …)] [INTO n BUCKETS]`, as written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClusterSpec {
    /// RANGE CLUSTERED rather than (hash) CLUSTERED.
    pub range: bool,
    /// The key columns, lowercase.
    pub columns: Vec<String>,
    /// SORTED BY: each column and whether it is DESC.
    pub sorted_by: Vec<(String, bool)>,
    /// INTO n BUCKETS.
    pub buckets: Option<u64>,
}

/// `INSERT`.
#[derive(Debug, Clone)]
pub struct Insert {
    /// Target table.
    pub table: String,
    /// OVERWRITE rather than INTO.
    pub overwrite: bool,
    /// `PARTITION (k='v', k2)`: a value per static column, None for dynamic ones.
    pub partition: Option<Vec<(String, Option<String>)>>,
    /// `(c, …)` after the table: the columns the rows give, in order (the others get NULL);
    /// empty: every column, in table order.
    pub columns: Vec<String>,
    /// The rows.
    pub source: Box<Query>,
    /// The original sqlparser statement (for inserts into session-only tables).
    pub original: Box<DfStatement>,
}

/// `RESTORE TABLE …`.
#[derive(Debug, Clone)]
pub struct Restore {
    /// Table name.
    pub table: String,
    /// `('id'='…')`: the ObjectId of a dropped table.
    pub id: Option<String>,
    /// `PARTITION (…)` specs, or `PARTITION ('id'='…')`.
    pub specs: Vec<PartitionSpec>,
    /// `TO LSN '…'`.
    pub lsn: Option<String>,
    /// `AS u`.
    pub target: Option<String>,
}

/// `CLONE TABLE …`: dst gets src's current files (no data copied).
#[derive(Debug, Clone)]
pub struct CloneTable {
    /// Source table.
    pub source: String,
    /// `PARTITION (…)` specs of the source (all partitions when none).
    pub specs: Vec<PartitionSpec>,
    /// Destination table.
    pub target: String,
    /// `IF EXISTS OVERWRITE|IGNORE`: what to do when dst exists (None: an error).
    pub if_exists: Option<OnExisting>,
}

/// What CLONE TABLE does with an existing destination.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OnExisting {
    /// Replace the destination's content (the cloned partitions of a partitioned table).
    Overwrite,
    /// Keep what exists (partitions of the destination are skipped, new ones added).
    Ignore,
}

/// What a GRANT is on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum GrantObject {
    /// `ON PROJECT p`.
    Project(String),
    /// `ON TABLE t`.
    Table(String),
}

/// A password as written in a statement: never shown by `Debug`, so that no log or error built
/// from a parsed statement carries it.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(pub String);

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secret(********)")
    }
}
