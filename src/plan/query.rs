//! Planning the queries that statements carry: the query an INSERT or
//! CREATE TABLE … AS writes (named by position, cast to the target's columns).

use datafusion::arrow::datatypes::DataType;
use datafusion::common::ScalarValue;
use datafusion::execution::session_state::SessionState;
use datafusion::functions::core::expr_fn::{get_field, named_struct};
use datafusion::logical_expr::{Expr, LogicalPlan, LogicalPlanBuilder, cast, lit, when};
use datafusion::sql::parser::Statement as DfStatement;
use datafusion::sql::sqlparser::ast::{self, Ident, Query, SelectItem, SetExpr};

use crate::error::{Error, Result};
use crate::state::model::ColumnDef;
use crate::types;

/// Plans a query (VALUES or SELECT).
pub(super) async fn query_plan(state: &SessionState, query: Box<Query>) -> Result<LogicalPlan> {
    let stmt = DfStatement::Statement(Box::new(ast::Statement::Query(query)));
    Ok(state.statement_to_plan(stmt).await?)
}

/// Names the unnamed expressions of the query's select list by position (`_c0`, `_c1`, …, as
/// MaxCompute names them): values go into a table by position, so two expressions that
/// DataFusion would name alike (`SELECT CAST(v AS STRING), v`, `SELECT a, a`) must not collide.
/// With `keep_columns`, plain column references keep their names (CREATE TABLE … AS takes
/// column names from them).
pub(super) fn name_by_position(query: &mut Query, keep_columns: bool) {
    let mut body = query.body.as_mut();
    // The leftmost SELECT of a UNION names the columns.
    while let SetExpr::SetOperation { left, .. } = body {
        body = left.as_mut();
    }
    if let SetExpr::Query(inner) = body {
        return name_by_position(inner, keep_columns);
    }
    let SetExpr::Select(select) = body else { return };
    for (i, item) in select.projection.iter_mut().enumerate() {
        if let SelectItem::UnnamedExpr(expr) = item
            && !(keep_columns && matches!(expr, ast::Expr::Identifier(_) | ast::Expr::CompoundIdentifier(_)))
        {
            let alias = Ident::new(format!("_c{i}"));
            *item = SelectItem::ExprWithAlias { expr: expr.clone(), alias };
        }
    }
}

/// Casts the query's columns, by position, to the target columns. Targets from `text_from` on
/// are dynamic partition columns: a text value stays text, so that the writer checks it as it
/// checks a static value (an error naming the column and its type, not a bare cast error).
pub(super) fn cast_to(plan: LogicalPlan, table: &str, targets: &[ColumnDef], text_from: usize) -> Result<LogicalPlan> {
    let got = plan.schema().fields().len();
    if got != targets.len() {
        let want: Vec<String> = targets.iter().map(|c| format!("{} {}", c.name, c.data_type.to_uppercase())).collect();
        return Err(Error::invalid(format!(
            "INSERT into {table} expects {} values per row ({}) but the query gives {got}",
            targets.len(),
            want.join(", ")
        )));
    }
    let exprs = plan
        .schema()
        .columns()
        .into_iter()
        .zip(plan.schema().fields())
        .zip(targets)
        .enumerate()
        .map(|(i, ((c, field), t))| {
            let text = matches!(field.data_type(), DataType::Utf8 | DataType::Utf8View | DataType::LargeUtf8);
            if i >= text_from && text {
                return Ok(Expr::Column(c).alias(&t.name));
            }
            let to = types::arrow_type(&t.data_type)?;
            Ok(cast(by_position(Expr::Column(c), field.data_type(), &to), to).alias(&t.name))
        })
        .collect::<Result<Vec<_>>>()?;
    Ok(LogicalPlanBuilder::from(plan).project(exprs)?.build()?)
}

/// The rows of `plan`, which give the columns `listed` in that order, as rows of every column of
/// `targets` (in table order): a column not listed is NULL.
pub(super) fn by_names(
    plan: LogicalPlan,
    table: &str,
    listed: &[String],
    targets: &[ColumnDef],
) -> Result<LogicalPlan> {
    let got = plan.schema().fields().len();
    if got != listed.len() {
        return Err(Error::invalid(format!(
            "INSERT into {table} names {} columns ({}) but the query gives {got} values per row",
            listed.len(),
            listed.join(", ")
        )));
    }
    for (i, name) in listed.iter().enumerate() {
        if !targets.iter().any(|t| &t.name == name) {
            let all: Vec<&str> = targets.iter().map(|t| t.name.as_str()).collect();
            return Err(Error::invalid(format!(
                "INSERT into {table} names column {name}, which it cannot take (columns: {})",
                all.join(", ")
            )));
        }
        if listed[..i].contains(name) {
            return Err(Error::invalid(format!("INSERT into {table} names column {name} twice")));
        }
    }
    let columns = plan.schema().columns();
    let exprs: Vec<Expr> = targets
        .iter()
        .map(|t| match listed.iter().position(|n| n == &t.name) {
            Some(j) => Expr::Column(columns[j].clone()).alias(&t.name),
            None => lit(ScalarValue::Null).alias(&t.name),
        })
        .collect();
    Ok(LogicalPlanBuilder::from(plan).project(exprs)?.build()?)
}

/// A struct whose field names differ from the target's (`struct(1, 'a')` names them c0, c1) goes
/// in by position, as values go into a table: DataFusion casts structs by field name only.
fn by_position(expr: Expr, from: &DataType, to: &DataType) -> Expr {
    let (DataType::Struct(from), DataType::Struct(to)) = (from, to) else { return expr };
    if from.len() != to.len() || from.iter().zip(to.iter()).all(|(a, b)| a.name() == b.name()) {
        return expr;
    }
    let mut args = Vec::with_capacity(2 * to.len());
    for (a, b) in from.iter().zip(to.iter()) {
        args.push(lit(b.name().as_str()));
        args.push(by_position(get_field(expr.clone(), a.name().as_str()), a.data_type(), b.data_type()));
    }
    // A NULL struct stays NULL (named_struct would make a struct of NULL fields).
    let rebuilt = named_struct(args);
    when(expr.clone().is_null(), lit(ScalarValue::Null)).otherwise(rebuilt.clone()).unwrap_or(rebuilt)
}
