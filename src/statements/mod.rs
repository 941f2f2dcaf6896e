//! What each of the time machine's statements does, one file per family. Called by the plan
//! layer's execution node; never parses, never plans queries (INSERT and CREATE TABLE … AS get
//! their rows as a stream).

mod alter;
mod auto_merge;
mod clone;
mod clustering;
mod compact;
pub(crate) mod ddl;
mod describe;
pub(crate) mod dml;
mod env;
pub(crate) mod grants;
pub(crate) mod history;
pub(crate) mod merge;
mod progress;
mod properties;
mod purge;
mod request;
mod restore;
mod result;
pub(crate) mod rowlevel;
mod show;
mod show_create;
mod tags;
mod views;

use std::sync::Arc;

use datafusion::execution::{SendableRecordBatchStream, TaskContext};

pub(crate) use env::Env;
pub(crate) use env::live_table;
pub(crate) use merge::MergeTarget;
pub use progress::Progress;
pub(crate) use request::Request;
pub use result::{ResultKind, StatementResult};
pub(crate) use rowlevel::RowChangeTarget;
pub(crate) use rowlevel::merge_on_read;

use crate::error::{Error, Result};
use crate::sql::Statement;

/// Runs `request` (its text is recorded in the log); `input` holds the rows of INSERT and
/// CREATE TABLE … AS (one stream per partition of the query, written in parallel) and MERGE (one
/// stream). After a change, starts the automatic merge and purge.
pub(crate) async fn run(
    env: &Env,
    text: &str,
    request: &Request,
    input: Option<Vec<SendableRecordBatchStream>>,
    context: Arc<TaskContext>,
) -> Result<StatementResult> {
    if let Request::Done(result) = request {
        return Ok(result.clone());
    }
    let background = Arc::clone(&context);
    let result = match (request, input) {
        (Request::Insert(target), Some(rows)) => dml::insert(env, text, target, rows).await,
        (Request::CreateAs(target), Some(rows)) => ddl::create_as(env, text, target, rows).await,
        (Request::Merge(target), Some(rows)) => merge::run(env, text, target, rows, Arc::clone(&context)).await,
        (Request::Statement(Statement::MergeSmallFiles { table, specs }), None) => {
            compact::merge_small_files(env, text, table, specs, context).await
        }
        (Request::Statement(s), None) => run_statement(env, text, s).await,
        (Request::RowChange(target), None) => rowlevel::run(env, text, target, context).await,
        _ => Err(Error::invalid("internal: a statement got rows it does not take, or none it needs")),
    }?;
    if result.kind != ResultKind::Query {
        // A merge that is due runs first: the purge waits for the next statement.
        auto_merge::spawn(env, background);
        crate::purge::spawn_auto(&env.project);
    }
    Ok(result)
}

async fn run_statement(env: &Env, text: &str, statement: &Statement) -> Result<StatementResult> {
    match statement {
        Statement::CreateTable(c) => ddl::create_table(env, text, c).await,
        Statement::CreateView(c) => views::create_view(env, text, c).await,
        Statement::DropView { name, if_exists } => views::drop_view(env, text, name, *if_exists).await,
        Statement::DropTable { name, if_exists } => ddl::drop_table(env, text, name, *if_exists).await,
        Statement::Rename { from, to } => ddl::rename(env, text, from, to).await,
        Statement::DropPartitions { table, if_exists, specs } => {
            ddl::drop_partitions(env, text, table, *if_exists, specs).await
        }
        Statement::ListPartitions { table, filter } => ddl::list_partitions(env, table, filter.as_ref()).await,
        Statement::ShowCreateTable { table } => show_create::show_create_table(env, table).await,
        Statement::SessionFlag { key, value } => properties::session_flag(key, value),
        Statement::Alter { table, change } => alter::alter(env, text, table, change).await,
        Statement::Describe { table, extended, partition: None } => describe::describe(env, table, *extended).await,
        Statement::Describe { table, extended, partition: Some(spec) } => {
            describe::describe_partition(env, table, spec, *extended).await
        }
        Statement::Truncate { table, specs } => ddl::truncate(env, text, table, specs).await,
        Statement::ShowHistoryTables => show::show_tables(env).await,
        Statement::ShowHistory { table, id, specs } => show::show_table(env, table, id.as_deref(), specs).await,
        Statement::Restore(r) => restore::restore(env, text, r).await,
        Statement::Clone(c) => clone::clone_table(env, text, c).await,
        Statement::SetProject { property } => properties::setproject(env, text, property.clone()).await,
        Statement::Purge { table } => purge::purge_table(env, text, table).await,
        Statement::User { name, add, password } => grants::user(env, text, name, *add, password.as_ref()).await,
        Statement::SetPassword { name, password } => grants::set_password(env, name, password).await,
        Statement::Grant { grants, on, user, revoke } => {
            grants::grant(env, text, grants, on.as_ref(), user, *revoke).await
        }
        Statement::ShowGrants { user } => grants::show_grants(env, user.as_deref()).await,
        Statement::Reclaim { table } => purge::reclaim_now(env, text, table.as_deref()).await,
        Statement::CreateTag { table, name, lsn, retain_days } => {
            tags::create_tag(env, text, table, name, lsn.as_deref(), *retain_days).await
        }
        Statement::DropTag { table, name } => tags::drop_tag(env, text, table, name).await,
        Statement::ShowTags { table } => tags::show_tags(env, table).await,
        Statement::Insert(_)
        | Statement::Merge { .. }
        | Statement::MergeSmallFiles { .. }
        | Statement::Explain { .. }
        | Statement::DataFusion(_) => Err(Error::invalid("internal: this statement is planned, not run directly")),
    }
}
