//! A project as DataFusion's catalog sees it: the schema provider of its tables, the table
//! functions that serve its history to ordinary SQL, and MaxCompute's `get_latest_version` /
//! `get_latest_timestamp` (`latest.rs`), the change feed `table_changes` (`changes.rs`) and
//! MaxCompute's `dateadd`, `datediff`, `datetrunc` (`dates.rs`); `bind.rs` binds them all to
//! the snapshot one statement plans against.

mod bind;
mod changes;
mod dates;
mod functions;
mod latest;
mod schema;
mod stale_view;

pub use bind::Binder;
pub use changes::ChangesFunction;
pub(crate) use dates::register as register_dates;
pub use dates::{DateFunction, DateUdf};
pub use functions::{HistoryFunction, PurgesFunction, RowFilesFunction, TablesFunction};
pub use latest::{Latest, LatestFunction};
pub use schema::{ProjectSchema, ViewPlanner};
