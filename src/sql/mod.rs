//! SQL: the MaxCompute-dialect parser and the statement executor.

pub(crate) mod ddl;
mod dialect;
mod dml;
mod exec;
mod parser;

pub use dialect::MaxComputeDialect;
pub(crate) use exec::execute;
pub use parser::{
    CreateTable, Insert, PartitionSpec, Restore, Statement, TIMESTAMP_BETWEEN, VERSION_BETWEEN, parse,
    split_statements,
};
