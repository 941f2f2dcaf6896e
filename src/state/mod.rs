//! The model of a project: what the commit log says, and the state it builds.
//!
//! [`model`] is the log's vocabulary (commits, actions, schemas, files); [`ProjectState`] is
//! every retained version of every table after applying commits, with [`TableHistory`] per
//! table, [`TableSnapshot`] per version and [`expiry`] saying which versions leave the
//! retention period. Nothing here does I/O: `log` reads and writes this state, `policy` judges
//! what users may do with it.

mod action_de;
mod changes;
pub mod deletions;
pub mod expiry;
mod history;
pub mod lazy;
pub mod model;
mod partitions;
pub(crate) mod past;
mod project;
mod snapshot;
pub mod tags;
pub mod views;

pub use changes::VersionChange;
pub use deletions::Deletions;
pub use history::{PastSummary, TableHistory};
pub use partitions::Partitions;
pub use project::ProjectState;
pub use snapshot::{Entries, TableSnapshot, VersionEntry};
pub use tags::Tag;
pub use views::View;
