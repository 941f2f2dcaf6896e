//! CREATE, DROP, ALTER (rename, drop partition), LIST PARTITIONS and TRUNCATE on versioned tables.

use std::collections::HashSet;
use std::sync::Arc;

use datafusion::arrow::array::StringArray;
use datafusion::arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use datafusion::arrow::record_batch::RecordBatch;
use datafusion::execution::SendableRecordBatchStream;

use super::env::{Env, live_table};
use super::result::StatementResult;
use crate::error::{Error, Result};
use crate::log::Draft;
use crate::names::validate_column_name;
use crate::sql::{ColumnSpec, CreateTable, PartitionSpec};
use crate::state::model::{
    Action, ColumnDef, HistoryRow, ObjectType, Operation, Partition, PutMode, TableChange, TableSchema, partition_spec,
};
use crate::state::{ProjectState, TableSnapshot};
use crate::table::{PartitionWriter, WriteOutput};
use crate::types;

fn table_row(snapshot_id: &str, name: &str, operation: Operation) -> HistoryRow {
    HistoryRow {
        object_type: ObjectType::Table,
        object_id: snapshot_id.to_string(),
        object_name: name.to_string(),
        operation,
    }
}

/// The table `base` read, still live and unchanged since; otherwise a conflict.
fn unchanged<'a>(state: &'a ProjectState, base: &TableSnapshot, doing: &str) -> Result<&'a TableSnapshot> {
    match state.tables.get(&base.id) {
        Some(t) if !t.current.dropped && t.current.lsn == base.lsn => Ok(&t.current),
        _ => Err(Error::conflict(format!("table {} was changed by another statement while {doing}", base.name))),
    }
}

/// The values of a partition spec in partition-column order; every column exactly once.
pub(crate) fn spec_values(table: &str, schema: &TableSchema, spec: &PartitionSpec) -> Result<Vec<String>> {
    let cols = &schema.partition_columns;
    if cols.is_empty() {
        return Err(Error::invalid(format!("table {table} is not partitioned")));
    }
    for (k, _) in spec {
        if !cols.iter().any(|c| &c.name == k) {
            return Err(Error::invalid(format!("table {table} has no partition column {k}")));
        }
    }
    cols.iter()
        .map(|c| {
            let mut vals = spec.iter().filter(|(k, _)| k == &c.name);
            match (vals.next(), vals.next()) {
                (Some((_, v)), None) => types::partition_value(c, v),
                _ => Err(Error::invalid(format!(
                    "a partition spec of {table} names each partition column once: {}",
                    cols.iter().map(|c| c.name.as_str()).collect::<Vec<_>>().join(", ")
                ))),
            }
        })
        .collect()
}

fn check_columns(columns: &[ColumnDef], partition_columns: &[ColumnDef]) -> Result<()> {
    let mut seen = HashSet::new();
    for c in columns.iter().chain(partition_columns) {
        validate_column_name(&c.name)?;
        if !seen.insert(c.name.as_str()) {
            return Err(Error::invalid(format!("duplicate column name {}", c.name)));
        }
    }
    if columns.is_empty() {
        return Err(Error::invalid("a table needs at least one data column"));
    }
    for c in partition_columns {
        let t = types::arrow_type(&c.data_type)?;
        if t.is_nested() || matches!(t, DataType::Binary) || c.data_type == "json" {
            return Err(Error::invalid(format!(
                "partition column {} cannot be of type {}: use a text, integer or date type",
                c.name,
                c.data_type.to_uppercase()
            )));
        }
    }
    Ok(())
}

/// CREATE TABLE … AS: the new table, its id and schema (derived from the query at planning).
#[derive(Debug, Clone)]
pub(crate) struct CreateAsTarget {
    /// Table name.
    pub name: String,
    /// IF NOT EXISTS given.
    pub if_not_exists: bool,
    /// The schema the query's rows are cast to.
    pub schema: TableSchema,
    /// LIFECYCLE n.
    pub lifecycle: Option<u64>,
    /// TBLPROPERTIES (checked).
    pub properties: Vec<(String, String)>,
}

fn to_columns(specs: &[ColumnSpec]) -> Vec<ColumnDef> {
    specs
        .iter()
        .map(|c| ColumnDef { comment: c.comment.clone(), ..ColumnDef::new(c.name.clone(), c.data_type.clone()) })
        .collect()
}

/// Fails unless `name` is free (or IF NOT EXISTS makes the statement a no-op: Ok(false)).
fn name_free(env: &Env, name: &str, if_not_exists: bool) -> Result<bool> {
    if env.session_tables.contains(name) {
        return Err(Error::AlreadyExists(format!("table {name} already exists (session table)")));
    }
    let state = env.project.state();
    if state.view(name).is_some() {
        return Err(Error::AlreadyExists(format!("a view named {name} already exists")));
    }
    match state.live_table(name) {
        Some(_) if if_not_exists => Ok(false),
        Some(_) => Err(Error::AlreadyExists(format!("table {name} already exists"))),
        None => Ok(true),
    }
}

/// The target of CREATE TABLE `name` AS a query whose columns are `columns` (name, Arrow type);
/// None when IF NOT EXISTS finds the table.
pub(crate) async fn prepare_create_as(
    env: &Env,
    c: &CreateTable,
    columns: &[(String, DataType)],
) -> Result<Option<CreateAsTarget>> {
    if !c.columns.is_empty() || !c.partition_columns.is_empty() {
        return Err(Error::not_supported(
            "columns or PARTITIONED BY with AS SELECT; create the table, then INSERT … SELECT",
        ));
    }
    if !name_free(env, &c.name, c.if_not_exists)? {
        return Ok(None);
    }
    let columns = columns
        .iter()
        .map(|(name, t)| Ok(ColumnDef::new(name.to_lowercase(), types::from_arrow(t)?)))
        .collect::<Result<Vec<_>>>()?;
    check_columns(&columns, &[])?;
    let clustering = c.cluster.as_ref().map(|spec| super::clustering::clustering(spec, &columns, &[])).transpose()?;
    let schema = TableSchema { columns, partition_columns: vec![], clustering };
    let properties = checked_properties(&c.properties, &schema)?;
    let (name, if_not_exists, lifecycle) = (c.name.clone(), c.if_not_exists, c.lifecycle);
    Ok(Some(CreateAsTarget { name, if_not_exists, schema, lifecycle, properties }))
}

/// The TBLPROPERTIES of CREATE TABLE, each key once and the values of the keys we read valid.
fn checked_properties(pairs: &[(String, String)], schema: &TableSchema) -> Result<Vec<(String, String)>> {
    let mut seen = HashSet::new();
    for (key, value) in pairs {
        if !seen.insert(key.as_str()) {
            return Err(Error::invalid(format!("TBLPROPERTIES sets {key} twice")));
        }
        super::auto_merge::check_property(key, value, schema)?;
    }
    Ok(pairs.to_vec())
}

/// CREATE TABLE (without AS).
pub(crate) async fn create_table(env: &Env, text: &str, c: &CreateTable) -> Result<StatementResult> {
    env.project.refresh().await?;
    if !name_free(env, &c.name, c.if_not_exists)? {
        return Ok(StatementResult::ok());
    }
    let (schema, lifecycle) = match &c.like {
        // CREATE TABLE u LIKE t: t's columns (under their own names: u has no old files),
        // partition columns and lifecycle.
        Some(like) => {
            let src = live_table(&env.project.state(), like)?;
            let plain = |cols: &[ColumnDef]| cols.iter().map(|c| ColumnDef { field: None, ..c.clone() }).collect();
            let schema = TableSchema {
                columns: plain(&src.schema.columns),
                partition_columns: plain(&src.schema.partition_columns),
                clustering: src.schema.clustering.clone(),
            };
            (schema, c.lifecycle.or(src.lifecycle))
        }
        None => {
            let (columns, partition_columns) = (to_columns(&c.columns), to_columns(&c.partition_columns));
            check_columns(&columns, &partition_columns)?;
            let clustering = c
                .cluster
                .as_ref()
                .map(|spec| super::clustering::clustering(spec, &columns, &partition_columns))
                .transpose()?;
            (TableSchema { columns, partition_columns, clustering }, c.lifecycle)
        }
    };
    let properties = checked_properties(&c.properties, &schema)?;
    let id = uuid::Uuid::new_v4().simple().to_string();
    commit_create(env, text, &c.name, c.if_not_exists, &id, (schema, lifecycle, properties), None).await
}

/// CREATE TABLE … AS: writes the rows, then commits the table with them as LSN 1.
pub(crate) async fn create_as(
    env: &Env,
    text: &str,
    target: &CreateAsTarget,
    rows: Vec<SendableRecordBatchStream>,
) -> Result<StatementResult> {
    let id = uuid::Uuid::new_v4().simple().to_string();
    let writer = PartitionWriter::new(Arc::clone(&env.project), &id, &target.schema, vec![], Default::default())?
        .with_table_properties(&target.properties.iter().cloned().collect())?;
    let out = writer.write_streams(rows).await?;
    let definition = (target.schema.clone(), target.lifecycle, target.properties.clone());
    commit_create(env, text, &target.name, target.if_not_exists, &id, definition, Some(out)).await
}

async fn commit_create(
    env: &Env,
    text: &str,
    name: &str,
    if_not_exists: bool,
    id: &str,
    (schema, lifecycle, properties): (TableSchema, Option<u64>, Vec<(String, String)>),
    written: Option<WriteOutput>,
) -> Result<StatementResult> {
    let mut actions = vec![Action::Create { name: name.to_string(), schema, lifecycle }];
    if !properties.is_empty() {
        actions.push(Action::SetProperties { set: properties.into_iter().collect(), unset: vec![] });
    }
    if let Some(out) = &written {
        actions.push(put_written(id, out));
    }
    let history = vec![table_row(id, name, Operation::Create)];
    let result = env
        .commit(text, |state| {
            if state.live_table(name).is_some() {
                return Err(Error::AlreadyExists(format!("table {name} already exists")));
            }
            let properties = super::grants::creator_grant(env, state, id, name)?;
            let change = TableChange {
                table_id: id.to_string(),
                lsn: 1,
                history: history.clone(),
                actions: actions.clone(),
                writes: written.is_some(),
            };
            Ok(Draft { tables: vec![change], properties, ..Default::default() })
        })
        .await;
    match result {
        Ok(_) => Ok(written.map_or_else(StatementResult::ok, |o| StatementResult::rows_affected(o.rows))),
        Err(Error::AlreadyExists(_)) if if_not_exists => Ok(StatementResult::ok()),
        Err(e) => Err(e),
    }
}

fn put_written(table_id: &str, out: &WriteOutput) -> Action {
    let files = out.partitions.get(&Vec::new()).cloned().unwrap_or_default();
    Action::PutPartition {
        partition: Partition { id: table_id.to_string(), files: files.into(), ..Default::default() },
        mode: PutMode::Replace,
    }
}

/// DROP TABLE: the table leaves the namespace; its versions stay restorable until they expire.
pub(crate) async fn drop_table(env: &Env, text: &str, name: &str, if_exists: bool) -> Result<StatementResult> {
    let project = &env.project;
    project.refresh().await?;
    if project.state().view(name).is_some() {
        return Err(Error::invalid(format!("{name} is a view, not a table: DROP VIEW {name}")));
    }
    let base = match live_table(&project.state(), name) {
        Ok(b) => b,
        Err(_) if if_exists => return Ok(StatementResult::ok()),
        Err(e) => return Err(e),
    };
    env.commit(text, |state| {
        let cur = unchanged(state, &base, "being dropped")?;
        let change = TableChange {
            table_id: cur.id.clone(),
            lsn: cur.lsn + 1,
            history: vec![table_row(&cur.id, &cur.name, Operation::Drop)],
            actions: vec![Action::Drop],
            writes: false,
        };
        Ok(Draft { tables: vec![change], ..Default::default() })
    })
    .await?;
    Ok(StatementResult::ok())
}

/// ALTER TABLE t RENAME TO u.
pub(crate) async fn rename(env: &Env, text: &str, from: &str, to: &str) -> Result<StatementResult> {
    let project = &env.project;
    project.refresh().await?;
    let base = live_table(&project.state(), from)?;
    if env.session_tables.contains(to) {
        return Err(Error::AlreadyExists(format!("table {to} already exists (session table)")));
    }
    if from == to {
        return Err(Error::invalid(format!("table {from} is already called {to}")));
    }
    env.commit(text, |state| {
        let cur = match state.tables.get(&base.id) {
            Some(t) if !t.current.dropped && t.current.name == base.name => &t.current,
            _ => return Err(Error::conflict(format!("table {from} was dropped or renamed by another statement"))),
        };
        if state.live_table(to).is_some() {
            return Err(Error::AlreadyExists(format!("table {to} already exists")));
        }
        let change = TableChange {
            table_id: cur.id.clone(),
            lsn: cur.lsn + 1,
            history: vec![table_row(&cur.id, to, Operation::Rename)],
            actions: vec![Action::Rename { name: to.to_string() }],
            writes: false,
        };
        Ok(Draft { tables: vec![change], ..Default::default() })
    })
    .await?;
    Ok(StatementResult::ok())
}

/// ALTER TABLE t DROP [IF EXISTS] PARTITION (…)[, PARTITION (…)]: all in one version.
pub(crate) async fn drop_partitions(
    env: &Env,
    text: &str,
    table: &str,
    if_exists: bool,
    specs: &[PartitionSpec],
) -> Result<StatementResult> {
    let project = &env.project;
    project.refresh().await?;
    let base = live_table(&project.state(), table)?;
    let mut keys = Vec::new();
    for spec in specs {
        let key = spec_values(table, &base.schema, spec)?;
        if !keys.contains(&key) {
            keys.push(key);
        }
    }
    let present: Vec<Vec<String>> = keys.iter().filter(|k| base.partitions.contains_key(*k)).cloned().collect();
    if let Some(missing) = keys.iter().find(|k| !base.partitions.contains_key(*k))
        && !if_exists
    {
        return Err(Error::not_found(format!(
            "partition {} of table {table} does not exist",
            partition_spec(&base.schema.partition_columns, missing)
        )));
    }
    if present.is_empty() {
        return Ok(StatementResult::ok());
    }
    env.commit(text, |state| {
        let cur = match state.tables.get(&base.id) {
            Some(t) if !t.current.dropped && t.current.schema == base.schema => &t.current,
            _ => return Err(Error::conflict(format!("table {table} was dropped or restored by another statement"))),
        };
        let mut history = vec![];
        let mut actions = vec![];
        for key in &present {
            let spec = partition_spec(&cur.schema.partition_columns, key);
            let Some(p) = cur.partitions.get(key).filter(|p| Some(&p.id) == base.partitions.get(key).map(|b| &b.id))
            else {
                return Err(Error::conflict(format!(
                    "partition {spec} of table {table} was dropped or re-created by another statement"
                )));
            };
            history.push(HistoryRow {
                object_type: ObjectType::Partition,
                object_id: p.id.clone(),
                object_name: spec,
                operation: Operation::Drop,
            });
            actions.push(Action::DropPartition { values: key.clone() });
        }
        let change = TableChange { table_id: cur.id.clone(), lsn: cur.lsn + 1, history, actions, writes: false };
        Ok(Draft { tables: vec![change], ..Default::default() })
    })
    .await?;
    Ok(StatementResult::ok())
}

/// The column of LIST PARTITIONS.
pub(crate) fn partitions_schema() -> SchemaRef {
    Arc::new(Schema::new(vec![Field::new("Partition", DataType::Utf8, false)]))
}

/// LIST PARTITIONS t: one row per partition, its spec.
pub(crate) async fn list_partitions(env: &Env, table: &str, filter: Option<&PartitionSpec>) -> Result<StatementResult> {
    let project = &env.project;
    project.refresh().await?;
    let snapshot = live_table(&project.state(), table)?;
    if !snapshot.schema.is_partitioned() {
        return Err(Error::invalid(format!("table {table} is not partitioned")));
    }
    let cols = &snapshot.schema.partition_columns;
    // `PARTITION (ds='1')` of a table partitioned by (ds, hr): the partitions with ds = 1.
    let mut wanted: Vec<(usize, String)> = vec![];
    for (k, v) in filter.into_iter().flatten() {
        let i = cols
            .iter()
            .position(|c| &c.name == k)
            .ok_or_else(|| Error::invalid(format!("table {table} has no partition column {k}")))?;
        wanted.push((i, types::partition_value(&cols[i], v)?));
    }
    let specs: Vec<String> = snapshot
        .partitions
        .keys()
        .filter(|k| wanted.iter().all(|(i, v)| &k[*i] == v))
        .map(|k| partition_spec(cols, k))
        .collect();
    Ok(StatementResult::query(RecordBatch::try_new(partitions_schema(), vec![Arc::new(StringArray::from(specs))])?))
}

/// TRUNCATE TABLE t [PARTITION (…)…]: the named partitions (or all) become empty.
pub(crate) async fn truncate(env: &Env, text: &str, table: &str, specs: &[PartitionSpec]) -> Result<StatementResult> {
    let project = &env.project;
    project.refresh().await?;
    let base = live_table(&project.state(), table)?;
    let keys: Vec<Vec<String>> = if specs.is_empty() {
        base.partitions.keys().cloned().collect()
    } else {
        let mut keys = vec![];
        for spec in specs {
            let key = spec_values(table, &base.schema, spec)?;
            if !base.partitions.contains_key(&key) {
                return Err(Error::not_found(format!(
                    "partition {} of table {table} does not exist",
                    partition_spec(&base.schema.partition_columns, &key)
                )));
            }
            keys.push(key);
        }
        keys
    };
    env.commit(text, |state| {
        let cur = unchanged(state, &base, "being truncated")?;
        let mut history = vec![];
        let mut actions = vec![];
        for key in &keys {
            let p = &cur.partitions[key];
            if !specs.is_empty() {
                history.push(HistoryRow {
                    object_type: ObjectType::Partition,
                    object_id: p.id.clone(),
                    object_name: partition_spec(&cur.schema.partition_columns, key),
                    operation: Operation::Truncate,
                });
            }
            actions.push(Action::PutPartition {
                partition: Partition { id: p.id.clone(), values: key.clone(), ..Default::default() },
                mode: PutMode::Replace,
            });
        }
        if history.is_empty() {
            history.push(table_row(&cur.id, &cur.name, Operation::Truncate));
        }
        let change = TableChange { table_id: cur.id.clone(), lsn: cur.lsn + 1, history, actions, writes: false };
        Ok(Draft { tables: vec![change], ..Default::default() })
    })
    .await?;
    Ok(StatementResult::ok())
}
