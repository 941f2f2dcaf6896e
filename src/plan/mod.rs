//! Planning: every statement becomes a DataFusion `LogicalPlan`. The time machine's own
//! statements become a [`StatementNode`] (INSERT and CREATE TABLE … AS with the query they write
//! as its input); DataFusion's statements are planned by DataFusion.

mod compact_views;
mod exec;
mod merge;
mod node;
mod privileges;
mod query;
mod rowlevel;
mod statement;
mod subqueries;

pub(crate) use exec::install;
pub(crate) use node::StatementNode;
pub(crate) use statement::{Planned, plan_statement};
