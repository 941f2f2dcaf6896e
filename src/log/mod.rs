//! The versioned metadata of a project: the commit log, checkpoints and the state they build.
//!
//! Layout under `<warehouse>/<project>/`:
//! - `_log/<version>.json`: one commit per statement, 20 zero-padded digits, written with
//!   `PutMode::Create` so that exactly one writer wins each number;
//! - `_checkpoints/<version>.json`: the full retained state after that commit, written every
//!   [`CHECKPOINT_INTERVAL`] commits so that opening a project reads a bounded amount;
//! - `data/<table_id>/<partition_id>/<uuid>.parquet`: immutable data files.

pub mod acl;
pub mod model;
mod project;
pub mod retention;
pub mod state;

pub use project::{CHECKPOINT_INTERVAL, Draft, MaintenanceEvent, Project};
pub(crate) use project::{parse_number, superseded_checkpoints};
