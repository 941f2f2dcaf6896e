//! The commit log of a project and its checkpoints: the I/O that builds and advances the
//! [`state`](crate::state).
//!
//! Layout under `<warehouse>/<project>/`:
//! - `_log/<version>.json`: one commit per statement, 20 zero-padded digits, written with
//!   `PutMode::Create` so that exactly one writer wins each number;
//! - `_checkpoints/<version>.ckpt`: the retained state after that commit, written every
//!   [`CHECKPOINT_INTERVAL`] commits: a catalog opened at once, with file lists and histories
//!   decoded when first used (see [`checkpoint`]);
//! - `data/<table_id>/<partition_id>/<uuid>.parquet`: immutable data files.

pub(crate) mod checkpoint;
mod commit;
mod compaction;
pub(crate) mod legacy;
mod project;
mod read;
mod upkeep;

pub(crate) use commit::Draft;
pub use compaction::CHECKPOINT_INTERVAL;
pub(crate) use compaction::superseded_checkpoints;
pub use project::Project;
pub(crate) use project::parse_number;
pub use upkeep::MaintenanceEvent;
