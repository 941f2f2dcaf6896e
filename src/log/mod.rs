//! The versioned metadata of a project: the commit log, checkpoints and the state they build.
//!
//! Layout under `<warehouse>/<project>/`:
//! - `_log/<version>.json`: one commit per statement, 20 zero-padded digits, written with
//!   `PutMode::Create` so that exactly one writer wins each number;
//! - `_checkpoints/<version>.ckpt`: the retained state after that commit, written every
//!   [`CHECKPOINT_INTERVAL`] commits: a catalog opened at once, with file lists and histories
//!   decoded when first used (see [`checkpoint`]);
//! - `data/<table_id>/<partition_id>/<uuid>.parquet`: immutable data files.

pub mod acl;
mod action_de;
pub mod checkpoint;
pub mod lazy;
pub mod model;
mod past;
mod project;
pub mod retention;
pub mod state;
mod upkeep;

pub use project::{CHECKPOINT_INTERVAL, Draft, MaintenanceEvent, Project};
pub(crate) use project::{parse_number, superseded_checkpoints};
