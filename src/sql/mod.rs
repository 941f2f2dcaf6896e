//! SQL: the MaxCompute dialect, parsed into the statements this crate owns (parsing only).
//!
//! `script.rs` splits scripts, `version_clauses.rs` rewrites MaxCompute's version clauses on the
//! token stream, `parser.rs` dispatches each statement to its family (`ddl.rs`, `grants.rs`, the
//! rest in place), `type_names.rs` reads column types, `words.rs` the keywords sqlparser lacks.

mod ast;
mod ddl;
mod dialect;
mod dml_merge;
mod grants;
mod insert;
mod odps;
pub(crate) mod params;
mod parser;
mod script;
mod type_names;
mod version_clauses;
mod views;
mod words;

pub use ast::{
    AlterChange, CloneTable, ClusterSpec, ColumnSpec, CreateTable, CreateView, GrantObject, Insert, MergeKind,
    OnExisting, PartitionSpec, Restore, Secret, Statement,
};
pub use ddl::TABLE_COMMENT;
pub use dialect::MaxComputeDialect;
pub use dml_merge::{POSITION_COLUMN, as_merge, rows_with_position, single_table};
pub use parser::parse;
pub use script::split_statements;
pub use type_names::normalize_type;
pub use version_clauses::VersionClause;
