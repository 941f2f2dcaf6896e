//! `[RANGE] CLUSTERED BY … [SORTED BY …] [INTO n BUCKETS]` of CREATE TABLE, checked against the
//! table's columns and turned into the layout the version records.

use std::collections::HashSet;

use datafusion::arrow::datatypes::DataType;

use crate::error::{Error, Result};
use crate::sql::ClusterSpec;
use crate::state::model::{ClusterKind, Clustering, ColumnDef, SortKey};
use crate::types;

/// The most buckets a hash-clustered table may have.
pub(crate) const MAX_BUCKETS: u64 = 4096;

/// The layout `spec` declares for a table with data columns `columns` and partition columns
/// `partition_columns`.
pub(crate) fn clustering(
    spec: &ClusterSpec,
    columns: &[ColumnDef],
    partition_columns: &[ColumnDef],
) -> Result<Clustering> {
    let clause = if spec.range { "RANGE CLUSTERED BY" } else { "CLUSTERED BY" };
    let column = |name: &str, what: &str| -> Result<&ColumnDef> {
        if partition_columns.iter().any(|c| c.name == name) {
            return Err(Error::invalid(format!(
                "{what} column {name} is a partition column: cluster and sort by data columns (each partition is \
                 clustered on its own)"
            )));
        }
        columns.iter().find(|c| c.name == name).ok_or_else(|| {
            Error::invalid(format!(
                "{what} names column {name}, which the table does not have (columns: {})",
                columns.iter().map(|c| c.name.as_str()).collect::<Vec<_>>().join(", ")
            ))
        })
    };
    let mut seen = HashSet::new();
    for name in &spec.columns {
        let c = column(name, clause)?;
        if !seen.insert(name) {
            return Err(Error::invalid(format!("{clause} names column {name} twice")));
        }
        let t = types::arrow_type(&c.data_type)?;
        if t.is_nested() || matches!(t, DataType::Binary | DataType::LargeBinary) || c.data_type == "json" {
            return Err(Error::invalid(format!(
                "{clause} column {name} cannot be of type {}: cluster by a text, number, date or time column",
                c.data_type.to_uppercase()
            )));
        }
    }
    let mut sorted = HashSet::new();
    for (name, _) in &spec.sorted_by {
        let c = column(name, "SORTED BY")?;
        if !sorted.insert(name) {
            return Err(Error::invalid(format!("SORTED BY names column {name} twice")));
        }
        if types::arrow_type(&c.data_type)?.is_nested() {
            return Err(Error::invalid(format!(
                "SORTED BY column {name} cannot be of type {}: sort by a column of a simple type",
                c.data_type.to_uppercase()
            )));
        }
    }
    if let Some(n) = spec.buckets
        && !(1..=MAX_BUCKETS).contains(&n)
    {
        return Err(Error::invalid(format!("INTO {n} BUCKETS: the number of buckets must be from 1 to {MAX_BUCKETS}")));
    }
    Ok(Clustering {
        kind: if spec.range { ClusterKind::Range } else { ClusterKind::Hash },
        columns: spec.columns.clone(),
        sorted_by: spec.sorted_by.iter().map(|(c, d)| SortKey { column: c.clone(), descending: *d }).collect(),
        buckets: spec.buckets.map(|n| n as u32),
    })
}

/// The clause as CREATE TABLE writes it (for DESC EXTENDED and errors).
pub(crate) fn describe(c: &Clustering) -> (String, String, String) {
    let kind = match c.kind {
        ClusterKind::Hash => "hash",
        ClusterKind::Range => "range",
    };
    let sort = c
        .sorted_by
        .iter()
        .map(|k| format!("{} {}", k.column, if k.descending { "DESC" } else { "ASC" }))
        .collect::<Vec<_>>()
        .join(", ");
    (kind.to_string(), format!("[{}]", c.columns.join(", ")), format!("[{sort}]"))
}
