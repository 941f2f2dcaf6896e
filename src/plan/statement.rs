//! From a parsed statement to its plan: privileges checked first, then the time machine's own
//! statements become a [`StatementNode`] (with the query they write as input) and DataFusion's are
//! planned by DataFusion.

use datafusion::execution::session_state::SessionState;
use datafusion::logical_expr::{LogicalPlan, LogicalPlanBuilder};
use datafusion::sql::parser::{DFParser, Statement as DfStatement};
use datafusion::sql::sqlparser::ast;

use super::node::StatementNode;
use super::query::{by_names, cast_to, name_by_position, query_plan};
use super::{merge, privileges, rowlevel, subqueries};
use crate::error::{Error, Result};
use crate::sql::{Statement, as_merge, single_table};
use crate::statements::{Env, Request, ResultKind, ddl, dml};

/// A planned statement and what it returns.
#[derive(Debug)]
pub(crate) struct Planned {
    /// The plan.
    pub plan: LogicalPlan,
    /// Query rows, a confirmation, or a count of rows written.
    pub kind: ResultKind,
}

/// Plans `statement` (parsed from `text`) against `state`; `env` and `state` are bound to the
/// statement's snapshot (`Env::at`, `Binder::bind`), which has caught up with the log: nothing
/// here refreshes again.
/// Fails, before anything runs, when the session's user lacks a privilege the statement needs.
pub(crate) async fn plan_statement(
    env: &Env,
    state: &SessionState,
    text: &str,
    statement: Statement,
) -> Result<Planned> {
    privileges::check_statement(env, &statement)?;
    // The table a MERGE (or a DELETE or UPDATE, which may become one) writes: reading it is
    // part of writing it.
    let merge_target =
        written_table(&statement).and_then(|table| env.planning_state().live_table(&table).map(|t| t.id.clone()));
    let planned = plan_checked_statement(env, state, text, statement).await?;
    privileges::check_local_files(env, &planned.plan)?;
    privileges::check_reads(env, &planned.plan, merge_target.as_deref())?;
    Ok(planned)
}

async fn plan_checked_statement(env: &Env, state: &SessionState, text: &str, statement: Statement) -> Result<Planned> {
    let node = |request: Request, input: Option<LogicalPlan>| -> Result<Planned> {
        let kind = request.kind();
        Ok(Planned { plan: StatementNode::new(text, request, input)?.into_plan(), kind })
    };
    match statement {
        Statement::DataFusion(stmt) => {
            let original = match stmt.as_ref() {
                DfStatement::Statement(s) => Some(s.as_ref().clone()),
                _ => None,
            };
            // DELETE … USING joins from the start: a MERGE (DataFusion plans no such DELETE).
            if let Some(delete @ ast::Statement::Delete(d)) = &original
                && d.using.is_some()
                && let Some(merge) = as_merge(delete)?
            {
                privileges::check_statement(env, &merge)?;
                return Box::pin(plan_checked_statement(env, state, text, merge)).await;
            }
            let planned = datafusion_plan(state, *stmt).await?;
            let LogicalPlan::Dml(_) = &planned.plan else { return Ok(planned) };
            // Types are coerced (`v * 2` on a DOUBLE) before the expressions are taken out.
            let analyzed = state.analyzer().execute_and_check(planned.plan, state.config_options(), |_, _| {})?;
            privileges::check_writes(env, &analyzed)?;
            let resolved = subqueries::resolve(env, state, analyzed).await?;
            // What is still a join (a correlated subquery) is planned as the MERGE it means,
            // on a versioned table.
            if rowlevel::needs_join(&resolved)
                && let Some(merge) = original.as_ref().map(as_merge).transpose()?.flatten()
            {
                privileges::check_statement(env, &merge)?;
                return Box::pin(plan_checked_statement(env, state, text, merge)).await;
            }
            let plan = rowlevel::plan_row_changes(resolved, Some(text), state)?;
            Ok(Planned { plan, ..planned })
        }
        // Session-only tables are DataFusion's.
        Statement::DropTable { name, .. } if env.session_tables.contains(&name) => {
            let mut stmts = DFParser::parse_sql(text)?;
            let stmt = stmts.pop_front().ok_or_else(|| Error::Syntax("empty statement".into()))?;
            datafusion_plan(state, stmt).await
        }
        Statement::DropView { name, .. } if env.session_tables.contains(&name) => {
            let mut stmts = DFParser::parse_sql(text)?;
            let stmt = stmts.pop_front().ok_or_else(|| Error::Syntax("empty statement".into()))?;
            datafusion_plan(state, stmt).await
        }
        Statement::CreateView(mut view) => {
            // Planned now: a view that does not plan, or reads what its creator may not read,
            // is refused before it is stored.
            let mut query = view.query.clone();
            name_by_position(&mut query, true);
            let plan = query_plan(state, query).await?;
            privileges::check_reads(env, &plan, None)?;
            let width = plan.schema().fields().len();
            if !view.columns.is_empty() && view.columns.len() != width {
                return Err(Error::invalid(format!(
                    "view {} names {} columns ({}) but its query gives {width}",
                    view.name,
                    view.columns.len(),
                    view.columns.join(", ")
                )));
            }
            // What the query names (a view it reads is inlined in `plan`, so named here).
            let statement = DfStatement::Statement(Box::new(ast::Statement::Query(view.query.clone())));
            let mut reads: Vec<String> =
                state.resolve_table_references(&statement)?.iter().map(|r| r.table().to_lowercase()).collect();
            reads.dedup();
            view.reads = reads;
            // Its columns, so that listing the project shows them even when the view no longer plans.
            view.fields = plan
                .schema()
                .fields()
                .iter()
                .enumerate()
                .map(|(i, f)| (view.columns.get(i).unwrap_or(f.name()).clone(), f.data_type().to_string()))
                .collect();
            node(Request::Statement(Statement::CreateView(view)), None)
        }
        Statement::Describe { table, .. }
            if env.session_tables.contains(&table) || env.planning_state().view(&table).is_some() =>
        {
            let mut stmts = DFParser::parse_sql(&format!("DESCRIBE {table}"))?;
            let stmt = stmts.pop_front().ok_or_else(|| Error::Syntax("empty statement".into()))?;
            datafusion_plan(state, stmt).await
        }
        Statement::Insert(ins) if env.session_tables.contains(&ins.table) => {
            datafusion_plan(state, *ins.original).await
        }
        Statement::Insert(ins) => {
            let target = dml::prepare_insert(env, &ins).await?;
            let mut source = ins.source;
            name_by_position(&mut source, false);
            let mut query = query_plan(state, source).await?;
            if !ins.columns.is_empty() {
                query = by_names(query, &ins.table, &ins.columns, &target.columns)?;
            }
            let query = cast_to(query, &ins.table, &target.columns, target.base.schema.columns.len())?;
            node(Request::Insert(target), Some(query))
        }
        Statement::CreateTable(c) if c.query.is_some() => {
            let Some(mut source) = c.query.clone() else {
                return Err(Error::invalid("internal: CREATE TABLE … AS without its query"));
            };
            name_by_position(&mut source, true);
            let query = query_plan(state, source).await?;
            let columns: Vec<_> =
                query.schema().fields().iter().map(|f| (f.name().clone(), f.data_type().clone())).collect();
            match ddl::prepare_create_as(env, &c, &columns).await? {
                Some(target) => {
                    let query = cast_to(query, &c.name, &target.schema.columns, target.schema.columns.len())?;
                    node(Request::CreateAs(target), Some(query))
                }
                // IF NOT EXISTS and it exists: nothing to write.
                None => node(Request::Statement(Statement::CreateTable(c)), None),
            }
        }
        Statement::Merge { table, merge, kind } => {
            let (target, query) = merge::plan_merge(env, state, &table, &merge, kind).await?;
            node(Request::Merge(target), Some(query))
        }
        Statement::Explain { analyze, verbose, statement } => {
            let inner = Box::pin(plan_statement(env, state, explained_text(text), *statement)).await?;
            let plan = LogicalPlanBuilder::from(inner.plan).explain(verbose, analyze)?.build()?;
            Ok(Planned { plan, kind: ResultKind::Query })
        }
        other => node(Request::Statement(other), None),
    }
}

/// The versioned table a MERGE writes, or that a DELETE or UPDATE names.
fn written_table(statement: &Statement) -> Option<String> {
    let relation = match statement {
        Statement::Merge { table, .. } => return Some(table.clone()),
        Statement::DataFusion(stmt) => match stmt.as_ref() {
            DfStatement::Statement(s) => match s.as_ref() {
                ast::Statement::Update(u) => &u.table.relation,
                ast::Statement::Delete(d) => {
                    let (ast::FromTable::WithFromKeyword(from) | ast::FromTable::WithoutKeyword(from)) = &d.from;
                    &from.first()?.relation
                }
                _ => return None,
            },
            _ => return None,
        },
        _ => return None,
    };
    let ast::TableFactor::Table { name, .. } = relation else { return None };
    single_table(name).ok()
}

/// The statement after `EXPLAIN [ANALYZE] [VERBOSE]`.
fn explained_text(text: &str) -> &str {
    let mut rest = text.trim_start();
    for word in ["EXPLAIN", "ANALYZE", "VERBOSE"] {
        if rest.len() >= word.len() && rest[..word.len()].eq_ignore_ascii_case(word) {
            rest = rest[word.len()..].trim_start();
        }
    }
    rest
}

/// Plans a DataFusion statement; DML reports a count, DDL a confirmation.
async fn datafusion_plan(state: &SessionState, stmt: DfStatement) -> Result<Planned> {
    let plan = state.statement_to_plan(stmt).await?;
    let kind = match &plan {
        LogicalPlan::Dml(_) => ResultKind::RowsAffected(0),
        LogicalPlan::Ddl(_) | LogicalPlan::Statement(_) | LogicalPlan::Copy(_) => ResultKind::Ok,
        _ => ResultKind::Query,
    };
    Ok(Planned { plan, kind })
}
