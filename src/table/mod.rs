//! Tables as DataFusion sees them: the provider of one version, the write path, and the
//! session-only tables beside the versioned ones.

mod changes;
mod compact;
mod deleted_rows;
mod field_names;
mod file_settings;
mod layout;
mod provider;
mod rewrite;
mod session_tables;
mod stats;
mod update_pass;
mod upload;
mod vectors_exec;
mod write_commit;
mod writer;

pub use changes::{ChangeFiles, ChangeKind, ChangeRows, change_schema, change_writer};
pub use compact::{merge_small_files, merges_by_bucket, small_files};
pub(crate) use file_settings::compression;
pub use file_settings::{BLOOM_FILTER_COLUMNS_KEY, COMPRESSION_KEY, bloom_filter_columns};
pub use provider::{FILE_COLUMN, POSITION_COLUMN, ScanLocation, VersionedTable};
pub use rewrite::{Rewritten, RowChange, materialize, replaced_files, rewrite};
pub use session_tables::SessionTables;
pub use vectors_exec::{DeletionVectorsExec, ScanVectors};
pub use write_commit::{WriteMode, commit_write};
pub use writer::{PartitionWriter, WriteOutput};
