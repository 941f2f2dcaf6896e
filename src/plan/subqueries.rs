//! Subqueries in DELETE and UPDATE (`DELETE FROM orders WHERE o_orderkey IN (SELECT …)`, TPC-H's
//! refresh): an uncorrelated subquery is run first, with the session's privileges checked on
//! what it reads, and its answer becomes constants (an IN list, a scalar, true or false), so
//! that the row change sees a filter over the table's own columns. A correlated subquery stays:
//! the statement is planned as a MERGE (`sql/dml_merge.rs`).

use datafusion::arrow::array::Array;
use datafusion::common::ScalarValue;
use datafusion::common::tree_node::{Transformed, TreeNode, TreeNodeRecursion};
use datafusion::dataframe::DataFrame;
use datafusion::execution::session_state::SessionState;
use datafusion::logical_expr::expr::{Exists, InList, InSubquery};
use datafusion::logical_expr::{Expr, LogicalPlan, Subquery, lit};

use super::privileges;
use crate::error::{Error, Result};
use crate::statements::Env;

/// Longest IN list a subquery may turn into.
const MAX_VALUES: usize = 1_000_000;

fn uncorrelated(s: &Subquery) -> bool {
    s.outer_ref_columns.is_empty()
}

/// `dml` (a DELETE or UPDATE) with its uncorrelated subqueries replaced by their answers.
pub(super) async fn resolve(env: &Env, state: &SessionState, dml: LogicalPlan) -> Result<LogicalPlan> {
    // First the subqueries, each once.
    let mut found: Vec<Subquery> = vec![];
    dml.apply(|node| {
        node.apply_expressions(|e| {
            e.apply(|e| {
                let s = match e {
                    Expr::InSubquery(InSubquery { subquery, .. }) | Expr::Exists(Exists { subquery, .. }) => subquery,
                    Expr::ScalarSubquery(s) => s,
                    _ => return Ok(TreeNodeRecursion::Continue),
                };
                if uncorrelated(s) && !found.contains(s) {
                    found.push(s.clone());
                }
                // Subqueries inside it are run with it.
                Ok(TreeNodeRecursion::Jump)
            })
        })
    })?;
    if found.is_empty() {
        return Ok(dml);
    }
    // The answers, in the order of `found`.
    let mut answers: Vec<Vec<ScalarValue>> = Vec::with_capacity(found.len());
    for s in &found {
        privileges::check_reads(env, &s.subquery, None)?;
        let batches = DataFrame::new(state.clone(), s.subquery.as_ref().clone()).collect().await?;
        let mut values = vec![];
        for b in &batches {
            let column = b.column(0);
            for row in 0..column.len() {
                values.push(ScalarValue::try_from_array(column, row)?);
            }
            if values.len() > MAX_VALUES {
                return Err(Error::not_supported(format!(
                    "a subquery of more than {MAX_VALUES} rows in DELETE or UPDATE: use MERGE INTO"
                )));
            }
        }
        answers.push(values);
    }
    let answer = |s: &Subquery| found.iter().position(|f| f == s).map(|i| &answers[i]);
    let out = dml.transform_down(|node| {
        node.map_expressions(|e| {
            e.transform_down(|e| {
                let replaced = match &e {
                    Expr::InSubquery(InSubquery { expr, subquery, negated }) => match answer(subquery) {
                        // x IN (no rows) is false even for a NULL x.
                        Some(values) if values.is_empty() => lit(*negated),
                        Some(values) => Expr::InList(InList {
                            expr: expr.clone(),
                            list: values.iter().cloned().map(lit).collect(),
                            negated: *negated,
                        }),
                        None => return Ok(Transformed::no(e)),
                    },
                    Expr::Exists(Exists { subquery, negated }) => match answer(subquery) {
                        Some(values) => lit(values.is_empty() == *negated),
                        None => return Ok(Transformed::no(e)),
                    },
                    Expr::ScalarSubquery(s) => match answer(s).map(Vec::as_slice) {
                        Some([]) => lit(ScalarValue::try_from(s.subquery.schema().field(0).data_type())?),
                        Some([one]) => lit(one.clone()),
                        Some(_) => {
                            return Err(datafusion::error::DataFusionError::Execution(
                                "a scalar subquery in DELETE or UPDATE returned more than one row".into(),
                            ));
                        }
                        None => return Ok(Transformed::no(e)),
                    },
                    _ => return Ok(Transformed::no(e)),
                };
                Ok(Transformed::new(replaced, true, TreeNodeRecursion::Jump))
            })
        })
    })?;
    Ok(out.data)
}
