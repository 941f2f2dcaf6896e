//! A statement ready to run ([`Request`]) and what it will return, known before it runs (the plan
//! node's schema).

use std::sync::Arc;

use datafusion::arrow::datatypes::{Schema, SchemaRef};

use super::ddl::CreateAsTarget;
use super::dml::InsertTarget;
use super::merge::MergeTarget;
use super::result::{ResultKind, StatementResult, count_schema};
use super::rowlevel::RowChangeTarget;
use super::{ddl, describe, grants, history, properties, show_create, tags};
use crate::sql::Statement;

/// A statement of the time machine, ready to run.
#[derive(Debug, Clone)]
pub(crate) enum Request {
    /// A statement that reads no rows of a query.
    Statement(Statement),
    /// INSERT: the rows of the planned query go into this table.
    Insert(InsertTarget),
    /// CREATE TABLE … AS: the rows of the planned query make the new table.
    CreateAs(CreateAsTarget),
    /// DELETE or UPDATE: rewrites the files with rows that change.
    RowChange(RowChangeTarget),
    /// MERGE INTO: its planned rows rewrite the touched files and add the inserted rows.
    Merge(MergeTarget),
    /// A statement that already ran: its result, served where it ran (a Ballista cluster never
    /// sees it).
    Done(StatementResult),
}

impl Request {
    /// What the statement returns.
    pub(crate) fn kind(&self) -> ResultKind {
        match self {
            Request::Insert(_)
            | Request::CreateAs(_)
            | Request::RowChange(_)
            | Request::Merge(_)
            | Request::Statement(Statement::Reclaim { .. }) => ResultKind::RowsAffected(0),
            Request::Done(result) => result.kind,
            Request::Statement(s) => match s {
                Statement::ShowHistoryTables
                | Statement::ShowHistory { .. }
                | Statement::ListPartitions { .. }
                | Statement::Describe { .. }
                | Statement::ShowCreateTable { .. }
                | Statement::ShowGrants { .. }
                | Statement::ShowTags { .. }
                | Statement::SetProject { property: None } => ResultKind::Query,
                _ => ResultKind::Ok,
            },
        }
    }

    /// The schema of the rows it returns.
    pub(crate) fn output_schema(&self) -> SchemaRef {
        match self {
            Request::Insert(_)
            | Request::CreateAs(_)
            | Request::RowChange(_)
            | Request::Merge(_)
            | Request::Statement(Statement::Reclaim { .. }) => count_schema(),
            Request::Done(result) => Arc::clone(&result.schema),
            Request::Statement(s) => match s {
                Statement::ShowHistoryTables => history::tables_schema(),
                Statement::ShowHistory { .. } => history::history_schema(),
                Statement::ListPartitions { .. } => ddl::partitions_schema(),
                Statement::Describe { .. } => describe::describe_schema(),
                Statement::ShowCreateTable { .. } => show_create::show_create_schema(),
                Statement::ShowGrants { .. } => grants::grants_schema(),
                Statement::ShowTags { .. } => tags::tags_schema(),
                Statement::SetProject { property: None } => properties::properties_schema(),
                _ => Arc::new(Schema::empty()),
            },
        }
    }
}
