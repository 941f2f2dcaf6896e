//! SQL: the MaxCompute-dialect parser and the statement executor.

pub(crate) mod ddl;
mod dml;
mod exec;
mod parser;

pub(crate) use exec::execute;
pub use parser::{CreateTable, Insert, PartitionSpec, Restore, Statement, parse, split_statements};
