//! Tables as DataFusion sees them: the provider of one version, and the write path.

mod provider;
mod write_commit;
mod writer;

pub use provider::VersionedTable;
pub use write_commit::{WriteMode, commit_write};
pub use writer::{PartitionWriter, WriteOutput};
