//! # datafusion-timemachine
//!
//! Every table a time machine: versioned tables for [Apache DataFusion](https://datafusion.apache.org)
//! stored as Parquet through `object_store`, with MaxCompute's backup-and-restore statements.
//!
//! Each modification statement commits one new version of every table it changes, numbered by
//! the table's LSN (1 for CREATE, then 2, 3, …), as one entry of the project's commit log written
//! with a conditional put. Data files are immutable and shared between versions, so restoring an
//! old version writes metadata only.
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")] async fn main() -> datafusion_timemachine::Result<()> {
//! use datafusion_timemachine::TimeMachine;
//!
//! let tm = TimeMachine::open("memory://").await?;
//! tm.execute("CREATE TABLE test_restore_x (a STRING)").await?;
//! tm.execute(r#"INSERT OVERWRITE TABLE test_restore_x VALUES ("0")"#).await?;
//! tm.execute(r#"INSERT INTO TABLE test_restore_x VALUES ("1")"#).await?;
//! let rows = tm.execute("SELECT count(*) FROM test_restore_x").await?;
//! assert_eq!(rows.num_rows(), 1);
//! // Every statement is a version: CREATE = LSN 1, OVERWRITE = 2, APPEND = 3.
//! let table = tm.project().state().live_table("test_restore_x").unwrap().current.clone();
//! assert_eq!(table.lsn, 3);
//! # Ok(()) }
//! ```
#![warn(missing_docs, unreachable_pub, clippy::clone_on_ref_ptr)]

pub mod catalog;
#[cfg(feature = "cli")]
pub mod cli;
mod clock;
#[cfg(feature = "ballista")]
pub mod distributed;
mod error;
mod log;
pub mod names;
mod plan;
pub mod policy;
mod purge;
pub mod server;
mod session;
pub mod sql;
pub mod state;
mod statements;
pub mod table;
pub mod time_travel;
pub mod type_syntax;
pub mod types;
mod warehouse;

pub use clock::{Clock, ManualClock, SystemClock};
pub use error::{Error, Result};
pub use log::{CHECKPOINT_INTERVAL, MaintenanceEvent, Project};
pub use purge::{PurgeReport, purge_project};
pub use session::{TimeMachine, TimeMachineBuilder};
pub use statements::{Progress, ResultKind, StatementResult};
pub use warehouse::Warehouse;
