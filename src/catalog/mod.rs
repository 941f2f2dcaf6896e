//! A project as DataFusion's catalog sees it: the schema provider of its tables and the table
//! functions that serve its history to ordinary SQL.

mod functions;
mod schema;

pub use functions::{HistoryFunction, PurgesFunction, RowFilesFunction, TablesFunction};
pub use schema::ProjectSchema;
