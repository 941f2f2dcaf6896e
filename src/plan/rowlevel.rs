//! DataFusion plans DELETE and UPDATE as `LogicalPlan::Dml`; on a versioned table they become
//! statement nodes that rewrite, copy-on-write, the files holding the rows they change.
//!
//! DataFusion hands a provider's `delete_from` only the filters it can find on the target scan,
//! so a WHERE with a correlated subquery (planned as a join; uncorrelated ones were answered
//! before, see `subqueries.rs`) or one the optimizer folded away (`WHERE
//! false` becomes an empty relation) would reach the provider as "no filter": every row. Here
//! the whole input is checked: only a filter over the table's own columns is accepted. What
//! needs a join ([`needs_join`]) is planned as a MERGE before it gets here (`statement.rs`);
//! only a plan built by plain `ctx.sql` still meets the refusal.

use std::sync::Arc;

use datafusion::catalog::Session;
use datafusion::common::tree_node::{Transformed, TreeNode, TreeNodeRecursion};
use datafusion::common::{Column, DFSchema};
use datafusion::datasource::DefaultTableSource;
use datafusion::logical_expr::simplify::SimplifyContext;
use datafusion::logical_expr::utils::{conjunction, split_conjunction};
use datafusion::logical_expr::{DmlStatement, Expr, LogicalPlan, WriteOp};
use datafusion::optimizer::simplify_expressions::ExprSimplifier;
use datafusion::physical_expr::create_physical_expr;

use super::node::StatementNode;
use crate::error::{Error, Result};
use crate::state::model::Operation;
use crate::statements::{Request, RowChangeTarget, StatementResult};
use crate::table::{RowChange, VersionedTable};

/// Replaces every DELETE and UPDATE on a versioned table in `plan` by a statement node; `text`
/// is the statement recorded in the log (derived from the plan when None).
pub(super) fn plan_row_changes(plan: LogicalPlan, text: Option<&str>, session: &dyn Session) -> Result<LogicalPlan> {
    let mut failure = None;
    let out = plan.transform_up(|node| {
        let LogicalPlan::Dml(dml) = &node else { return Ok(Transformed::no(node)) };
        let Some(table) = versioned_target(dml) else { return Ok(Transformed::no(node)) };
        match row_change(dml, table, text, session) {
            Ok(planned) => Ok(Transformed::yes(planned)),
            Err(e) => {
                failure = Some(e);
                Ok(Transformed::new(node, false, TreeNodeRecursion::Stop))
            }
        }
    })?;
    match failure {
        Some(e) => Err(e),
        None => Ok(out.data),
    }
}

fn versioned_target(dml: &DmlStatement) -> Option<Arc<VersionedTable>> {
    if !matches!(dml.op, WriteOp::Delete | WriteOp::Update) {
        return None;
    }
    let source = dml.target.downcast_ref::<DefaultTableSource>()?;
    source.table_provider.downcast_ref::<VersionedTable>().map(|t| Arc::new(t.clone()))
}

fn not_supported(table: &str, what: &str) -> Error {
    Error::not_supported(format!(
        "DELETE or UPDATE on {table} with {what}: through plain DataFusion the WHERE clause and the new values may \
         use the table's own columns, constants and functions; run it through TimeMachine::execute or \
         TimeMachine::sql, which plan subqueries and joins (or use MERGE INTO)"
    ))
}

fn strip_qualifiers(e: Expr) -> Result<Expr> {
    Ok(e.transform(|e| match e {
        Expr::Column(c) => Ok(Transformed::yes(Expr::Column(Column::new_unqualified(c.name)))),
        other => Ok(Transformed::no(other)),
    })?
    .data)
}

fn has_subquery(e: &Expr) -> bool {
    e.exists(|e| {
        Ok(matches!(
            e,
            Expr::ScalarSubquery(_) | Expr::InSubquery(_) | Expr::Exists(_) | Expr::OuterReferenceColumn(..)
        ))
    })
    .unwrap_or(true)
}

/// True for the plan steps of a DELETE's or UPDATE's input that [`row_change`] reads as a
/// filter (and new values) over the table's own rows.
fn own_rows_step(node: &LogicalPlan) -> bool {
    matches!(
        node,
        LogicalPlan::Filter(_)
            | LogicalPlan::TableScan(_)
            | LogicalPlan::Projection(_)
            | LogicalPlan::SubqueryAlias(_)
            | LogicalPlan::EmptyRelation(_)
    )
}

/// True when a DELETE or UPDATE on a versioned table in `plan` still holds a subquery (a
/// correlated one: the uncorrelated ones were answered) or a join: no filter over the table's
/// own columns expresses it, and it is planned as a MERGE instead.
pub(super) fn needs_join(plan: &LogicalPlan) -> bool {
    plan.exists(|node| {
        let LogicalPlan::Dml(dml) = node else { return Ok(false) };
        if versioned_target(dml).is_none() {
            return Ok(false);
        }
        dml.input.exists(|n| {
            let simple = own_rows_step(n);
            let mut subquery = false;
            n.apply_expressions(|e| {
                subquery |= has_subquery(e);
                Ok(TreeNodeRecursion::Continue)
            })?;
            Ok(!simple || subquery)
        })
    })
    .unwrap_or(false)
}

fn row_change(
    dml: &DmlStatement,
    table: Arc<VersionedTable>,
    text: Option<&str>,
    session: &dyn Session,
) -> Result<LogicalPlan> {
    let name = dml.table_name.to_string();
    let mut filters = vec![];
    let mut projection = None;
    let mut scans = 0;
    let mut refused = None;
    dml.input.apply(|node| {
        match node {
            LogicalPlan::Filter(f) => filters.extend(split_conjunction(&f.predicate).into_iter().cloned()),
            LogicalPlan::TableScan(scan) => {
                scans += 1;
                filters.extend(scan.filters.iter().cloned());
            }
            LogicalPlan::Projection(p) => {
                projection.get_or_insert_with(|| p.expr.clone());
            }
            other if !own_rows_step(other) => refused = Some(other.display().to_string()),
            _ => {}
        }
        Ok(TreeNodeRecursion::Continue)
    })?;
    if let Some(what) = refused {
        // Through `ctx.sql` the optimizer has already turned a subquery into a join.
        return Err(not_supported(
            &name,
            &format!(
                "a plan step {what} (a subquery planned as a join: run the statement through TimeMachine::execute or TimeMachine::sql, which answer uncorrelated subqueries first)"
            ),
        ));
    }
    if scans > 1 {
        return Err(not_supported(&name, "more than one table"));
    }
    let text = text.map(str::to_string).unwrap_or_else(|| derived_text(dml, &filters));
    if scans == 0 {
        // The optimizer proved that no row matches (WHERE false).
        let done = Request::Done(StatementResult::rows_affected(0));
        return Ok(StatementNode::new(&text, done, None)?.into_plan());
    }
    let schema = table.snapshot().schema.clone();
    let arrow = datafusion::datasource::TableProvider::schema(table.as_ref());
    let df_schema = DFSchema::try_from(Arc::clone(&arrow))?;
    // now(), current_date() and the like have no value until folded to the statement's start
    // time, as DataFusion's optimizer does for a query (this plan may not have been optimized).
    let props = session.execution_props();
    let start = props.query_execution_start_time.unwrap_or_else(chrono::Utc::now);
    let simplify = SimplifyContext::builder()
        .with_schema(Arc::new(df_schema.clone()))
        .with_config_options(Arc::new(session.config_options().clone()))
        .with_query_execution_start_time(Some(start));
    let simplifier = ExprSimplifier::new(simplify.build());
    let physical = |e: &Expr| -> Result<_> {
        if has_subquery(e) {
            return Err(not_supported(&name, "a correlated subquery (one that refers to the table's rows)"));
        }
        let e = simplifier.simplify(strip_qualifiers(e.clone())?)?;
        Ok(create_physical_expr(&e, &df_schema, props, &Default::default())?)
    };
    let filters = filters.into_iter().map(strip_qualifiers).collect::<Result<Vec<_>>>()?;
    let predicate = conjunction(filters.iter().cloned()).map(|p| physical(&p)).transpose()?;
    let (change, operation) = match dml.op {
        WriteOp::Delete => (RowChange::Delete { predicate }, Operation::Delete),
        _ => {
            let mut assignments = vec![];
            for e in projection.unwrap_or_default() {
                let Expr::Alias(alias) = &e else { continue };
                if matches!(alias.expr.as_ref(), Expr::Column(c) if c.name == alias.name) {
                    continue;
                }
                let index = arrow
                    .index_of(&alias.name)
                    .map_err(|_| Error::not_found(format!("table {name} has no column {}", alias.name)))?;
                if index >= schema.columns.len() {
                    return Err(Error::not_supported(format!(
                        "UPDATE of partition column {} of table {name}: move rows with INSERT … SELECT and DELETE",
                        alias.name
                    )));
                }
                assignments.push((index, physical(&alias.expr)?));
            }
            (RowChange::Update { predicate, assignments }, Operation::Update)
        }
    };
    let target = RowChangeTarget { table, change: Arc::new(change), filters, operation };
    Ok(StatementNode::new(&text, Request::RowChange(target), None)?.into_plan())
}

/// `DELETE FROM t WHERE …` for a statement planned by DataFusion directly (`ctx.sql`).
fn derived_text(dml: &DmlStatement, filters: &[Expr]) -> String {
    let verb = if dml.op == WriteOp::Delete { "DELETE FROM" } else { "UPDATE" };
    match conjunction(filters.iter().cloned()) {
        Some(p) => format!("{verb} {} WHERE {p}", dml.table_name),
        None => format!("{verb} {}", dml.table_name),
    }
}
