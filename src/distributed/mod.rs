//! Distributed queries on Apache Ballista (feature `ballista`): a codec that carries a pinned
//! table version to the scheduler and the executors, an object store registry that resolves a
//! shared warehouse's URL from the usual configuration on every process, and the helpers that
//! start a client session, a scheduler and an executor with them.
//!
//! Queries (current and past versions alike) run on the cluster; the time machine's own
//! statements and every commit run on the client, where the project's log is read.

mod cluster;
mod codec;
mod physical_codec;
mod stores;

pub use cluster::{
    ExecutorOptions, SchedulerOptions, ballista_context, is_ballista, run_executor, run_scheduler, standalone_context,
};
pub use codec::TimeMachineCodec;
pub use physical_codec::TimeMachinePhysicalCodec;
pub use stores::WarehouseStores;
