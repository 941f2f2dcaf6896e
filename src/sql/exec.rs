//! Runs one statement: the time machine's own statements here, everything else in DataFusion.

use std::sync::Arc;

use datafusion::arrow::array::AsArray;
use datafusion::logical_expr::LogicalPlan;
use datafusion::sql::parser::Statement as DfStatement;

use super::parser::{self, Statement};
use super::{ddl, dml};
use crate::error::{Error, Result};
use crate::ops;
use crate::log::state::{ProjectState, TableSnapshot};
use crate::session::{ResultKind, StatementResult, TimeMachine};

/// Parses and runs `sql`.
pub(crate) async fn execute(tm: &TimeMachine, sql: &str) -> Result<StatementResult> {
    let result = dispatch(tm, sql).await?;
    if result.kind != ResultKind::Query {
        ops::purge::spawn_auto(tm.project());
    }
    Ok(result)
}

async fn dispatch(tm: &TimeMachine, sql: &str) -> Result<StatementResult> {
    let statement = parser::parse(sql)?;
    let text = sql.trim().trim_end_matches(';').trim();
    match statement {
        Statement::CreateTable(c) => ddl::create_table(tm, text, c).await,
        Statement::DropTable { name, .. } if tm.schema_provider().is_session_table(&name) => {
            datafusion_statement(tm, parser_fallback(sql)?).await
        }
        Statement::DropTable { name, if_exists } => ddl::drop_table(tm, text, &name, if_exists).await,
        Statement::Rename { from, to } => ddl::rename(tm, text, &from, &to).await,
        Statement::DropPartitions { table, if_exists, specs } => {
            ddl::drop_partitions(tm, text, &table, if_exists, &specs).await
        }
        Statement::ListPartitions { table } => ddl::list_partitions(tm, &table).await,
        Statement::Truncate { table, specs } => ddl::truncate(tm, text, &table, &specs).await,
        Statement::Insert(insert) if tm.schema_provider().is_session_table(&insert.table) => {
            datafusion_statement(tm, *insert.original).await
        }
        Statement::Insert(insert) => dml::insert(tm, text, insert).await,
        Statement::ShowHistoryTables => ops::show::show_tables(tm).await,
        Statement::ShowHistory { table, id, specs } => {
            ops::show::show_table(tm, &table, id.as_deref(), &specs).await
        }
        Statement::Restore(r) => ops::restore::restore(tm, text, r).await,
        Statement::SetProject { property } => ops::properties::setproject(tm, text, property).await,
        Statement::Purge { table } => ops::purge::purge_table(tm, text, &table).await,
        Statement::DataFusion(stmt) => {
            // Table functions read the cached state: catch up first.
            tm.project().refresh().await?;
            datafusion_statement(tm, *stmt).await
        }
    }
}

/// Parses `sql` with DataFusion's own parser (for statements on session-only tables).
fn parser_fallback(sql: &str) -> Result<DfStatement> {
    let mut stmts = datafusion::sql::parser::DFParser::parse_sql(sql)?;
    stmts.pop_front().ok_or_else(|| Error::Syntax("empty statement".into()))
}

/// Plans and runs a statement with DataFusion.
async fn datafusion_statement(tm: &TimeMachine, stmt: DfStatement) -> Result<StatementResult> {
    let state = tm.context().state();
    let plan = state.statement_to_plan(stmt).await?;
    let kind = match &plan {
        LogicalPlan::Dml(_) => ResultKind::RowsAffected(0),
        LogicalPlan::Ddl(_) | LogicalPlan::Statement(_) | LogicalPlan::Copy(_) => ResultKind::Ok,
        _ => ResultKind::Query,
    };
    let df = tm.context().execute_logical_plan(plan).await?;
    let schema = Arc::new(df.schema().as_arrow().clone());
    let batches = df.collect().await?;
    let kind = match kind {
        ResultKind::RowsAffected(_) => ResultKind::RowsAffected(count_of(&batches)),
        other => other,
    };
    Ok(StatementResult { schema, batches, kind })
}

/// The `count` column DataFusion's DML returns.
fn count_of(batches: &[datafusion::arrow::record_batch::RecordBatch]) -> u64 {
    batches
        .iter()
        .filter(|b| b.num_columns() == 1 && b.num_rows() == 1)
        .filter_map(|b| b.column(0).as_primitive_opt::<datafusion::arrow::datatypes::UInt64Type>().map(|a| a.value(0)))
        .sum()
}

/// The current version of the live table `name`.
pub(crate) fn live_table(state: &ProjectState, name: &str) -> Result<Arc<TableSnapshot>> {
    let t = state
        .live_table(name)
        .ok_or_else(|| Error::not_found(format!("table {name} does not exist")))?;
    state.check_readable(&t.id)?;
    Ok(Arc::clone(&t.current))
}
