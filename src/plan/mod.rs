//! Planning: every statement becomes a DataFusion `LogicalPlan`. The time machine's own
//! statements become a [`StatementNode`] (INSERT and CREATE TABLE … AS with the query they write
//! as its input); DataFusion's statements are planned by DataFusion.

mod exec;
mod merge;
mod node;
mod privileges;
mod query;
mod rowlevel;
mod statement;
mod subqueries;

pub use exec::{StatementExec, TimeMachineQueryPlanner, install};
pub use node::StatementNode;
pub use statement::{Planned, plan_statement};
