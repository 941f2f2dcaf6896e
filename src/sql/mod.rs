//! SQL: the MaxCompute dialect, parsed into the statements this crate owns (parsing only).

mod ast;
mod dialect;
mod parser;

pub use ast::{AlterChange, ColumnSpec, CreateTable, GrantObject, Insert, PartitionSpec, Restore, Secret, Statement};
pub use dialect::MaxComputeDialect;
pub use parser::{TIMESTAMP_BETWEEN, VERSION_AS_OF, VERSION_BETWEEN, parse, split_statements};
