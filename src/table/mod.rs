//! Tables as DataFusion sees them: the provider of one version, the write path, and the
//! session-only tables beside the versioned ones.

mod provider;
mod session_tables;
mod write_commit;
mod writer;

pub use provider::{ScanLocation, VersionedTable};
pub use session_tables::SessionTables;
pub use write_commit::{WriteMode, commit_write};
pub use writer::{PartitionWriter, WriteOutput};
