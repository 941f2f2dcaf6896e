//! INSERT INTO / INSERT OVERWRITE (static and dynamic partitions) and the query plumbing that
//! CREATE TABLE … AS shares with it.

use std::collections::BTreeMap;
use std::sync::Arc;

use datafusion::arrow::datatypes::Field;
use datafusion::dataframe::DataFrame;
use datafusion::logical_expr::{Expr, cast};
use datafusion::sql::parser::Statement as DfStatement;
use datafusion::sql::sqlparser::ast::{self, Query};

use super::exec::live_table;
use super::parser::Insert;
use crate::error::{Error, Result};
use crate::log::model::ColumnDef;
use crate::names::validate_partition_value;
use crate::session::{StatementResult, TimeMachine};
use crate::table::{PartitionWriter, WriteMode, commit_write};
use crate::types;

/// Plans a query (VALUES or SELECT) with DataFusion.
pub(super) async fn plan_query(tm: &TimeMachine, query: Box<Query>) -> Result<DataFrame> {
    let stmt = DfStatement::Statement(Box::new(ast::Statement::Query(query)));
    let plan = tm.context().state().statement_to_plan(stmt).await?;
    Ok(tm.context().execute_logical_plan(plan).await?)
}

/// Casts the query's columns, by position, to the target columns.
pub(super) fn cast_to(df: DataFrame, table: &str, targets: &[ColumnDef]) -> Result<DataFrame> {
    let got = df.schema().fields().len();
    if got != targets.len() {
        let want: Vec<String> =
            targets.iter().map(|c| format!("{} {}", c.name, c.data_type.to_uppercase())).collect();
        return Err(Error::invalid(format!(
            "INSERT into {table} expects {} values per row ({}) but the query gives {got}",
            targets.len(),
            want.join(", ")
        )));
    }
    let fields: Vec<Field> = targets
        .iter()
        .map(|c| Ok(Field::new(&c.name, types::arrow_type(&c.data_type)?, true)))
        .collect::<Result<_>>()?;
    let exprs: Vec<Expr> = df
        .schema()
        .columns()
        .into_iter()
        .zip(&fields)
        .map(|(c, f)| cast(Expr::Column(c), f.data_type().clone()).alias(f.name()))
        .collect();
    Ok(df.select(exprs)?)
}

/// `PARTITION (…)` of an INSERT as one entry per partition column: Some(static value) or None.
fn static_values(
    table: &str,
    partition_columns: &[ColumnDef],
    spec: Option<&[(String, Option<String>)]>,
) -> Result<Vec<Option<String>>> {
    let Some(spec) = spec else {
        return Ok(vec![None; partition_columns.len()]);
    };
    if partition_columns.is_empty() {
        return Err(Error::invalid(format!(
            "table {table} is not partitioned: remove the PARTITION clause"
        )));
    }
    let mut given: BTreeMap<&str, &Option<String>> = BTreeMap::new();
    for (k, v) in spec {
        if !partition_columns.iter().any(|c| &c.name == k) {
            return Err(Error::invalid(format!("table {table} has no partition column {k}")));
        }
        if given.insert(k, v).is_some() {
            return Err(Error::invalid(format!("partition column {k} is given twice")));
        }
    }
    partition_columns
        .iter()
        .map(|c| match given.get(c.name.as_str()) {
            Some(Some(v)) => {
                validate_partition_value(&c.name, v)?;
                Ok(Some(v.clone()))
            }
            Some(None) => Ok(None),
            None => Err(Error::invalid(format!(
                "PARTITION (…) must name every partition column of {table}: {}",
                partition_columns.iter().map(|c| c.name.as_str()).collect::<Vec<_>>().join(", ")
            ))),
        })
        .collect()
}

/// Runs an INSERT into a versioned table: writes new files, then commits them.
pub(super) async fn insert(tm: &TimeMachine, text: &str, ins: Insert) -> Result<StatementResult> {
    let project = tm.project();
    project.refresh().await?;
    let snapshot = live_table(&project.state(), &ins.table)?;
    let schema = &snapshot.schema;
    let statics = static_values(&ins.table, &schema.partition_columns, ins.partition.as_deref())?;
    let mut targets = schema.columns.clone();
    targets.extend(
        schema.partition_columns.iter().zip(&statics).filter(|(_, s)| s.is_none()).map(|(c, _)| c.clone()),
    );
    let df = cast_to(plan_query(tm, ins.source).await?, &ins.table, &targets)?;
    let existing =
        snapshot.partitions.iter().map(|(k, p)| (k.clone(), p.id.clone())).collect();
    let writer = PartitionWriter::new(Arc::clone(project), &snapshot.id, schema, statics, existing)?;
    let out = writer.write_stream(df.execute_stream().await?).await?;
    let mode = if ins.overwrite { WriteMode::Overwrite } else { WriteMode::Append };
    let rows = commit_write(project, text, &snapshot, mode, &out).await?;
    Ok(StatementResult::rows_affected(rows))
}
