//! What each of the time machine's statements does, one file per family. Called by the plan
//! layer's execution node; never parses, never plans queries (INSERT and CREATE TABLE … AS get
//! their rows as a stream).

mod alter;
pub(crate) mod ddl;
mod describe;
pub(crate) mod dml;
pub(crate) mod grants;
pub mod history;
pub(crate) mod merge;
mod progress;
mod properties;
mod purge;
mod restore;
pub(crate) mod rowlevel;
mod show;

use std::sync::Arc;

use datafusion::arrow::array::UInt64Array;
use datafusion::arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use datafusion::arrow::record_batch::RecordBatch;
use datafusion::execution::{SendableRecordBatchStream, TaskContext};

pub use ddl::CreateAsTarget;
pub use dml::InsertTarget;
pub use merge::MergeTarget;
pub use progress::Progress;
pub use rowlevel::RowChangeTarget;

use crate::error::{Error, Result};
use crate::log::Project;
use crate::log::state::{ProjectState, TableSnapshot};
use crate::sql::Statement;
use crate::table::SessionTables;

/// What statements run against: the project and the session tables beside it.
#[derive(Debug, Clone)]
pub struct Env {
    /// The project.
    pub project: Arc<Project>,
    /// Session-only tables (their names are taken too).
    pub session_tables: Arc<SessionTables>,
    /// Rows and bytes the running write has taken in.
    pub progress: Arc<Progress>,
    /// The session's user (None: a session without one), for permission checks.
    pub user: Option<String>,
    /// Whether statements may read or write files of this machine outside the warehouse
    /// (CREATE EXTERNAL TABLE, COPY … TO): yes for the holder of the warehouse, never for a
    /// client of the server.
    pub local_files: bool,
}

impl Env {
    /// Commits one statement of this session (see [`Project::commit`]): the log records its
    /// text and the session's user.
    pub(crate) async fn commit<F>(&self, text: &str, draft: F) -> Result<crate::log::model::Commit>
    where
        F: FnMut(&ProjectState) -> Result<crate::log::Draft>,
    {
        self.project.commit_as(text, self.user.as_deref(), draft).await
    }
}

/// What a statement returned.
#[derive(Debug, Clone)]
pub struct StatementResult {
    /// Schema of the rows.
    pub schema: SchemaRef,
    /// The rows (empty for DDL).
    pub batches: Vec<RecordBatch>,
    /// Whether this is a query result, a confirmation, or a count of rows written.
    pub kind: ResultKind,
}

/// The kind of a [`StatementResult`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ResultKind {
    /// Rows of a query (SELECT, SHOW, LIST, EXPLAIN …).
    Query,
    /// A statement that returns nothing (DDL, RESTORE …).
    Ok,
    /// A write: the number of rows written.
    RowsAffected(u64),
}

impl StatementResult {
    pub(crate) fn ok() -> Self {
        Self { schema: Arc::new(Schema::empty()), batches: vec![], kind: ResultKind::Ok }
    }

    pub(crate) fn rows_affected(n: u64) -> Self {
        let batch = RecordBatch::try_new(count_schema(), vec![Arc::new(UInt64Array::from(vec![n]))])
            .expect("one UInt64 column");
        Self { schema: count_schema(), batches: vec![batch], kind: ResultKind::RowsAffected(n) }
    }

    pub(crate) fn query(batch: RecordBatch) -> Self {
        Self { schema: batch.schema(), batches: vec![batch], kind: ResultKind::Query }
    }

    /// Total number of rows in `batches`.
    pub fn num_rows(&self) -> usize {
        self.batches.iter().map(RecordBatch::num_rows).sum()
    }
}

/// The schema of a write's result: one `count` row, as DataFusion's DML returns.
pub fn count_schema() -> SchemaRef {
    Arc::new(Schema::new(vec![Field::new("count", DataType::UInt64, false)]))
}

/// A statement of the time machine, ready to run.
#[derive(Debug, Clone)]
pub enum Request {
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
    pub fn kind(&self) -> ResultKind {
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
                | Statement::ShowGrants { .. }
                | Statement::SetProject { property: None } => ResultKind::Query,
                _ => ResultKind::Ok,
            },
        }
    }

    /// The schema of the rows it returns.
    pub fn output_schema(&self) -> SchemaRef {
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
                Statement::ShowGrants { .. } => grants::grants_schema(),
                Statement::SetProject { property: None } => properties::properties_schema(),
                _ => Arc::new(Schema::empty()),
            },
        }
    }
}

/// Runs `request` (its text is recorded in the log); `input` holds the rows of INSERT and
/// CREATE TABLE … AS (one stream per partition of the query, written in parallel) and MERGE (one
/// stream). After a change, starts the automatic purge.
pub async fn run(
    env: &Env,
    text: &str,
    request: &Request,
    input: Option<Vec<SendableRecordBatchStream>>,
    context: Arc<TaskContext>,
) -> Result<StatementResult> {
    if let Request::Done(result) = request {
        return Ok(result.clone());
    }
    let result = match (request, input) {
        (Request::Insert(target), Some(rows)) => dml::insert(env, text, target, rows).await,
        (Request::CreateAs(target), Some(rows)) => ddl::create_as(env, text, target, rows).await,
        (Request::Merge(target), Some(rows)) => merge::run(env, text, target, rows).await,
        (Request::Statement(s), None) => run_statement(env, text, s).await,
        (Request::RowChange(target), None) => rowlevel::run(env, text, target, context).await,
        _ => Err(Error::invalid("internal: a statement got rows it does not take, or none it needs")),
    }?;
    if result.kind != ResultKind::Query {
        crate::purge::spawn_auto(&env.project);
    }
    Ok(result)
}

async fn run_statement(env: &Env, text: &str, statement: &Statement) -> Result<StatementResult> {
    match statement {
        Statement::CreateTable(c) => ddl::create_table(env, text, c).await,
        Statement::DropTable { name, if_exists } => ddl::drop_table(env, text, name, *if_exists).await,
        Statement::Rename { from, to } => ddl::rename(env, text, from, to).await,
        Statement::DropPartitions { table, if_exists, specs } => {
            ddl::drop_partitions(env, text, table, *if_exists, specs).await
        }
        Statement::ListPartitions { table } => ddl::list_partitions(env, table).await,
        Statement::Alter { table, change } => alter::alter(env, text, table, change).await,
        Statement::Describe { table, extended } => describe::describe(env, table, *extended).await,
        Statement::Truncate { table, specs } => ddl::truncate(env, text, table, specs).await,
        Statement::ShowHistoryTables => show::show_tables(env).await,
        Statement::ShowHistory { table, id, specs } => show::show_table(env, table, id.as_deref(), specs).await,
        Statement::Restore(r) => restore::restore(env, text, r).await,
        Statement::SetProject { property } => properties::setproject(env, text, property.clone()).await,
        Statement::Purge { table } => purge::purge_table(env, text, table).await,
        Statement::User { name, add, password } => grants::user(env, text, name, *add, password.as_ref()).await,
        Statement::SetPassword { name, password } => grants::set_password(env, name, password).await,
        Statement::Grant { grants, on, user, revoke } => {
            grants::grant(env, text, grants, on.as_ref(), user, *revoke).await
        }
        Statement::ShowGrants { user } => grants::show_grants(env, user.as_deref()).await,
        Statement::Reclaim { table } => purge::reclaim_now(env, text, table.as_deref()).await,
        Statement::Insert(_) | Statement::Merge { .. } | Statement::Explain { .. } | Statement::DataFusion(_) => {
            Err(Error::invalid("internal: this statement is planned, not run directly"))
        }
    }
}

/// The current version of the live table `name`.
pub(crate) fn live_table(state: &ProjectState, name: &str) -> Result<Arc<TableSnapshot>> {
    let t = state.live_table(name).ok_or_else(|| Error::not_found(format!("table {name} does not exist")))?;
    state.check_readable(&t.id)?;
    Ok(Arc::clone(&t.current))
}
