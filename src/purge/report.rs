//! What a purge did, for the statement that ran it and for the maintenance journal.

/// What a purge did.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct PurgeReport {
    /// Tables whose older versions were forgotten.
    pub tables_trimmed: usize,
    /// Dropped tables forgotten entirely.
    pub tables_forgotten: usize,
    /// Data files that forgotten versions alone referenced (deleted after the grace period).
    pub files_freed: usize,
    /// Data files deleted.
    pub files_deleted: usize,
    /// Log entries and checkpoints deleted.
    pub log_files_deleted: usize,
    /// Partitions and tables reclaimed because their LIFECYCLE ended.
    pub reclaimed: usize,
}
