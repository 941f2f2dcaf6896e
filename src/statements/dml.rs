//! INSERT INTO / INSERT OVERWRITE into a versioned table (static and dynamic partitions): the
//! target is fixed when the statement is planned; the rows arrive as a stream.

use std::collections::BTreeMap;
use std::sync::Arc;

use datafusion::execution::SendableRecordBatchStream;

use super::env::{Env, live_table};
use super::result::StatementResult;
use crate::error::{Error, Result};
use crate::sql::Insert;
use crate::state::TableSnapshot;
use crate::state::model::ColumnDef;
use crate::table::{PartitionWriter, WriteMode, commit_write};
use crate::types;

/// Where an INSERT writes: the table version it was planned against, and its static partition
/// values.
#[derive(Debug, Clone)]
pub(crate) struct InsertTarget {
    /// The version the statement read (the base of conflict checks).
    pub base: Arc<TableSnapshot>,
    /// One entry per partition column: Some(static value) or None (from the rows).
    pub statics: Vec<Option<String>>,
    /// OVERWRITE rather than INTO.
    pub overwrite: bool,
    /// The columns the query must give, in order (data columns, then dynamic partition columns).
    pub columns: Vec<ColumnDef>,
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
        return Err(Error::invalid(format!("table {table} is not partitioned: remove the PARTITION clause")));
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
            Some(Some(v)) => Ok(Some(types::partition_value(c, v)?)),
            Some(None) => Ok(None),
            None => Err(Error::invalid(format!(
                "PARTITION (…) must name every partition column of {table}: {}",
                partition_columns.iter().map(|c| c.name.as_str()).collect::<Vec<_>>().join(", ")
            ))),
        })
        .collect()
}

/// The target of `ins`, against the table's latest version.
pub(crate) async fn prepare_insert(env: &Env, ins: &Insert) -> Result<InsertTarget> {
    let state = env.project.snapshot().await?;
    let base = live_table(&state, &ins.table)?;
    let schema = &base.schema;
    let statics = static_values(&ins.table, &schema.partition_columns, ins.partition.as_deref())?;
    let mut columns = schema.columns.clone();
    columns.extend(schema.partition_columns.iter().zip(&statics).filter(|(_, s)| s.is_none()).map(|(c, _)| c.clone()));
    Ok(InsertTarget { base, statics, overwrite: ins.overwrite, columns })
}

/// Writes `rows` as new files, then commits them as the table's next version.
pub(crate) async fn insert(
    env: &Env,
    text: &str,
    target: &InsertTarget,
    rows: Vec<SendableRecordBatchStream>,
) -> Result<StatementResult> {
    let base = &target.base;
    let existing = base.partitions.iter().map(|(k, p)| (k.clone(), p.id.clone())).collect();
    let writer =
        PartitionWriter::new(Arc::clone(&env.project), &base.id, &base.schema, target.statics.clone(), existing)?
            .with_table_properties(&base.properties)?;
    let out = writer.write_streams(rows).await?;
    let mode = if target.overwrite { WriteMode::Overwrite } else { WriteMode::Append };
    let rows = commit_write(&env.project, (text, env.user.as_deref()), base, mode, &out).await?;
    Ok(StatementResult::rows_affected(rows))
}
