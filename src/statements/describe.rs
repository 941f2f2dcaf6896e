//! `DESC [EXTENDED] t [PARTITION (…)]`: a table's columns, partition columns and metadata (or a
//! partition's size and times), as rows of (col_name, data_type, comment) in the layout Spark and
//! Hive use, with MaxCompute's labels.

use std::sync::Arc;

use datafusion::arrow::array::StringArray;
use datafusion::arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use datafusion::arrow::record_batch::RecordBatch;

use super::ddl::spec_values;
use super::env::{Env, live_table};
use super::history::{format_time, lines};
use super::result::StatementResult;
use crate::error::{Error, Result};
use crate::sql::{PartitionSpec, TABLE_COMMENT};
use crate::state::expiry::RETENTION_KEY;
use crate::state::model::{ColumnDef, format_lsn, partition_spec};

/// The columns of DESC's result.
pub(crate) fn describe_schema() -> SchemaRef {
    Arc::new(Schema::new(vec![
        Field::new("col_name", DataType::Utf8, false),
        Field::new("data_type", DataType::Utf8, false),
        Field::new("comment", DataType::Utf8, false),
    ]))
}

/// DESC [EXTENDED] table.
pub(crate) async fn describe(env: &Env, table: &str, extended: bool) -> Result<StatementResult> {
    let project = &env.project;
    project.refresh().await?;
    let state = project.state();
    let t = live_table(&state, table)?;
    let mut rows: Vec<[String; 3]> = vec![];
    let mut push = |a: &str, b: String, c: &str| rows.push([a.to_string(), b, c.to_string()]);
    let time = |t: Option<chrono::DateTime<chrono::Utc>>| t.map(format_time).unwrap_or_default();
    let column = |push: &mut dyn FnMut(&str, String, &str), c: &ColumnDef| {
        let comment = if extended && c.field.is_some() {
            format!("{} (field {})", c.comment, c.file_name()).trim_start().to_string()
        } else {
            c.comment.clone()
        };
        push(&c.name, c.data_type.clone(), &comment);
    };
    push("# Native Columns", String::new(), "");
    for c in &t.schema.columns {
        column(&mut push, c);
    }
    if t.schema.is_partitioned() {
        push("", String::new(), "");
        push("# Partition Columns", String::new(), "");
        for c in &t.schema.partition_columns {
            column(&mut push, c);
        }
    }
    let files: Vec<_> = t.partitions.values().flat_map(|p| &p.files).collect();
    push("", String::new(), "");
    push("# Table Information", String::new(), "");
    push("Project", project.name().to_string(), "");
    push("TableName", t.name.clone(), "");
    if let Some(comment) = t.properties.get(TABLE_COMMENT) {
        push("TableComment", comment.clone(), "");
    }
    push("ObjectId", t.id.clone(), "");
    let created = state.tables.get(&t.id).map(|h| h.created);
    push("CreateTime", time(created), "");
    push("LastDDLTime", time(t.ddl_time), "");
    push("LastModifiedTime", time(t.data_modified()), "");
    let lifecycle = match (t.lifecycle, t.lifecycle_disabled) {
        (None, _) => String::new(),
        (Some(d), false) => d.to_string(),
        (Some(d), true) => format!("{d} (disabled)"),
    };
    push("Lifecycle", lifecycle, "");
    push("Size", files.iter().map(|f| f.size).sum::<u64>().to_string(), "bytes");
    push("RecordNum", t.row_count().to_string(), "");
    if extended {
        push("", String::new(), "");
        push("# Extended Info", String::new(), "");
        push("LSN", format_lsn(t.lsn), "current version");
        push("FileNum", files.len().to_string(), "");
        let vectors: Vec<u64> = files.iter().filter_map(|f| f.deleted.as_ref().map(|d| d.count())).collect();
        if !vectors.is_empty() {
            // Merge-on-read: rows the files still hold but the version does not.
            push("DeletionVectors", vectors.len().to_string(), "files with deleted rows");
            push("DeletedRows", vectors.iter().sum::<u64>().to_string(), "skipped by scans until MERGE SMALLFILES");
        }
        push("StoredAs", "Parquet".to_string(), "");
        push(RETENTION_KEY, state.retention_days().to_string(), "project retention of backups");
        if t.schema.is_partitioned() {
            let disabled = t.partitions.values().filter(|p| p.lifecycle_disabled).count();
            push("PartitionNum", t.partitions.len().to_string(), "");
            push("LifecycleDisabledPartitions", disabled.to_string(), "");
        }
        if let Some(c) = &t.schema.clustering {
            let (kind, columns, sorted) = super::clustering::describe(c);
            push("ClusterType", kind, "");
            if let Some(n) = c.buckets {
                push("BucketNum", n.to_string(), "");
            }
            push("ClusterColumns", columns, "");
            if !c.sorted_by.is_empty() {
                push("SortColumns", sorted, "");
            }
        }
        for (key, value) in &t.properties {
            push(key, value.clone(), "table property");
        }
    }
    let column = |i: usize| Arc::new(StringArray::from_iter_values(rows.iter().map(|r| r[i].clone()))) as _;
    let batch = RecordBatch::try_new(describe_schema(), vec![column(0), column(1), column(2)])?;
    Ok(StatementResult::query(batch))
}

/// `DESC [EXTENDED] t PARTITION (…)`: the partition's size and times (MaxCompute's
/// PartitionSize, CreateTime, LastDDLTime, LastModifiedTime); EXTENDED adds its ObjectId, files,
/// rows and lifecycle setting.
pub(crate) async fn describe_partition(
    env: &Env,
    table: &str,
    spec: &PartitionSpec,
    extended: bool,
) -> Result<StatementResult> {
    let project = &env.project;
    project.refresh().await?;
    let state = project.state();
    let t = live_table(&state, table)?;
    let values = spec_values(table, &t.schema, spec)?;
    let name = partition_spec(&t.schema.partition_columns, &values);
    let p = t
        .partitions
        .get(&values)
        .ok_or_else(|| Error::not_found(format!("partition {name} of table {table} does not exist")))?;
    // Its first retained version (older ones have expired: then the table's creation bounds it).
    let history = state.tables.get(&t.id).ok_or_else(|| Error::not_found(format!("table {table}")))?;
    let created = lines(&state, history, project.clock().now())
        .into_iter()
        .filter(|l| l.object_id == p.id)
        .map(|l| l.time)
        .min()
        .unwrap_or(history.created);
    let time = |t: Option<chrono::DateTime<chrono::Utc>>| t.map(format_time).unwrap_or_default();
    let mut rows: Vec<[String; 3]> = vec![];
    let mut push = |a: &str, b: String, c: &str| rows.push([a.to_string(), b, c.to_string()]);
    push("PartitionSize", p.files.iter().map(|f| f.size).sum::<u64>().to_string(), "bytes");
    push("CreateTime", time(Some(created)), "");
    push("LastDDLTime", time(Some(created)), "");
    push("LastModifiedTime", time(p.modified), "");
    if extended {
        push("Partition", name.clone(), "");
        push("ObjectId", p.id.clone(), "");
        push("FileNum", p.files.len().to_string(), "");
        push("RecordNum", p.files.iter().map(|f| f.live_rows()).sum::<u64>().to_string(), "");
        push("LifecycleDisabled", p.lifecycle_disabled.to_string(), "");
    }
    let column = |i: usize| Arc::new(StringArray::from_iter_values(rows.iter().map(|r| r[i].clone()))) as _;
    let batch = RecordBatch::try_new(describe_schema(), vec![column(0), column(1), column(2)])?;
    Ok(StatementResult::query(batch))
}
