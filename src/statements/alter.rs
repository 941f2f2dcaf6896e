//! ALTER TABLE schema and lifecycle changes: each one version, metadata only (no data file is
//! rewritten; files written before a change are read through the new schema).

use super::env::{Env, live_table};
use super::result::StatementResult;
use crate::error::{Error, Result};
use crate::log::Draft;
use crate::sql::{AlterChange, ColumnSpec, PartitionSpec};
use crate::state::TableSnapshot;
use crate::state::model::{
    Action, ColumnDef, HistoryRow, ObjectType, Operation, Partition, PutMode, TableChange, TableSchema, partition_spec,
};
use crate::types;

use super::ddl::spec_values;

/// Runs `ALTER TABLE table <change>` as one version.
pub(crate) async fn alter(env: &Env, text: &str, table: &str, change: &AlterChange) -> Result<StatementResult> {
    let project = &env.project;
    project.refresh().await?;
    let base = live_table(&project.state(), table)?;
    // Validate against what we saw (so bad input fails before any commit), then again against the
    // table as it is when the commit lands.
    let draft = |cur: &TableSnapshot| match change {
        AlterChange::AddPartitions { specs, if_not_exists } => add_partitions(cur, specs, *if_not_exists),
        AlterChange::RenamePartition { from, to } => rename_partition(cur, from, to).map(Some),
        _ => draft(cur, change).map(Some),
    };
    if draft(&base)?.is_none() {
        return Ok(StatementResult::ok());
    }
    env.commit(text, |state| {
        let cur = match state.tables.get(&base.id) {
            Some(t) if !t.current.dropped && t.current.name == base.name => &t.current,
            _ => return Err(Error::conflict(format!("table {table} was dropped or renamed by another statement"))),
        };
        Ok(Draft { tables: draft(cur)?.into_iter().collect(), ..Default::default() })
    })
    .await?;
    Ok(StatementResult::ok())
}

/// `PARTITION (…) RENAME TO PARTITION (…)`: in one version the partition is dropped (its
/// history stays, restorable by its id) and its files become a new partition under the new
/// values, with no data copied; the change feed reads it as its rows moving.
fn rename_partition(cur: &TableSnapshot, from: &PartitionSpec, to: &PartitionSpec) -> Result<TableChange> {
    let old = spec_values(&cur.name, &cur.schema, from)?;
    let new = spec_values(&cur.name, &cur.schema, to)?;
    let cols = &cur.schema.partition_columns;
    let (old_name, new_name) = (partition_spec(cols, &old), partition_spec(cols, &new));
    let p = cur
        .partitions
        .get(&old)
        .ok_or_else(|| Error::not_found(format!("partition {old_name} of table {} does not exist", cur.name)))?;
    if cur.partitions.contains_key(&new) {
        return Err(Error::AlreadyExists(format!("partition {new_name} of table {} already exists", cur.name)));
    }
    let id = uuid::Uuid::new_v4().simple().to_string();
    let row = |object_id: &str, object_name: String| HistoryRow {
        object_type: ObjectType::Partition,
        object_id: object_id.to_string(),
        object_name,
        operation: Operation::Rename,
    };
    let renamed = Partition { id: id.clone(), values: new, modified: None, ..p.clone() };
    Ok(TableChange {
        table_id: cur.id.clone(),
        lsn: cur.lsn + 1,
        history: vec![row(&p.id, old_name), row(&id, new_name)],
        actions: vec![
            Action::DropPartition { values: old },
            Action::PutPartition { partition: renamed, mode: PutMode::Replace },
        ],
        writes: false,
    })
}

/// `ADD [IF NOT EXISTS] PARTITION (…) …`: each partition created empty, in one version; None
/// when IF NOT EXISTS finds them all.
fn add_partitions(cur: &TableSnapshot, specs: &[PartitionSpec], if_not_exists: bool) -> Result<Option<TableChange>> {
    let (mut history, mut actions) = (vec![], vec![]);
    let mut added: Vec<Vec<String>> = vec![];
    for spec in specs {
        let values = spec_values(&cur.name, &cur.schema, spec)?;
        let name = partition_spec(&cur.schema.partition_columns, &values);
        if cur.partitions.contains_key(&values) || added.contains(&values) {
            if if_not_exists {
                continue;
            }
            return Err(Error::AlreadyExists(format!(
                "partition {name} of table {} already exists (ADD IF NOT EXISTS PARTITION skips it)",
                cur.name
            )));
        }
        let id = uuid::Uuid::new_v4().simple().to_string();
        history.push(HistoryRow {
            object_type: ObjectType::Partition,
            object_id: id.clone(),
            object_name: name,
            operation: Operation::Create,
        });
        let partition = Partition { id, values: values.clone(), ..Default::default() };
        actions.push(Action::PutPartition { partition, mode: PutMode::Append });
        added.push(values);
    }
    if actions.is_empty() {
        return Ok(None);
    }
    Ok(Some(TableChange { table_id: cur.id.clone(), lsn: cur.lsn + 1, history, actions, writes: false }))
}

fn draft(cur: &TableSnapshot, change: &AlterChange) -> Result<TableChange> {
    let lsn = cur.lsn + 1;
    let mut row = HistoryRow {
        object_type: ObjectType::Table,
        object_id: cur.id.clone(),
        object_name: cur.name.clone(),
        operation: Operation::Alter,
    };
    let action = match change {
        AlterChange::AddColumns(cols) => Action::AlterSchema { schema: add_columns(cur, cols, lsn)? },
        AlterChange::AddPartitions { .. } | AlterChange::RenamePartition { .. } => {
            return Err(Error::invalid("internal: a partition change drafted as a table change"));
        }
        AlterChange::DropColumns(names) => Action::AlterSchema { schema: drop_columns(cur, names)? },
        AlterChange::RenameColumn { from, to } => Action::AlterSchema { schema: rename_column(cur, from, to)? },
        AlterChange::ChangeColumn { column, spec } if &spec.name != column => {
            // A rename, then the type change, in one version.
            let renamed = TableSnapshot { schema: rename_column(cur, column, &spec.name)?, ..cur.clone() };
            Action::AlterSchema { schema: change_column(&renamed, &spec.name, spec)? }
        }
        AlterChange::ChangeColumn { column, spec } => Action::AlterSchema { schema: change_column(cur, column, spec)? },
        AlterChange::CommentColumn { column, comment } => {
            find(cur, column)?;
            let mut schema = cur.schema.clone();
            for c in schema.columns.iter_mut().filter(|c| &c.name == column) {
                c.comment = comment.clone();
            }
            Action::AlterSchema { schema }
        }
        AlterChange::Touch { partition: None } => Action::Touch { values: None },
        AlterChange::Touch { partition: Some(spec) } => {
            let (values, partition_row) = partition_row(cur, spec, row)?;
            row = partition_row;
            Action::Touch { values: Some(values) }
        }
        AlterChange::SetLifecycle(0) => {
            return Err(Error::invalid("LIFECYCLE must be a positive number of days"));
        }
        AlterChange::SetLifecycle(days) => Action::SetLifecycle { days: Some(*days) },
        AlterChange::SetProperties(pairs) => {
            for (key, value) in pairs {
                super::auto_merge::check_property(key, value, &cur.schema)?;
            }
            Action::SetProperties { set: pairs.iter().cloned().collect(), unset: vec![] }
        }
        AlterChange::UnsetProperties { keys, if_exists } => {
            if let Some(missing) = keys.iter().find(|k| !cur.properties.contains_key(*k))
                && !if_exists
            {
                return Err(Error::not_found(format!(
                    "table {} has no property {missing} (UNSET TBLPROPERTIES IF EXISTS ignores it)",
                    cur.name
                )));
            }
            Action::SetProperties { set: Default::default(), unset: keys.clone() }
        }
        AlterChange::EnableLifecycle { partition: None, enabled } => {
            Action::EnableLifecycle { values: None, enabled: *enabled }
        }
        AlterChange::EnableLifecycle { partition: Some(spec), enabled } => {
            let (values, partition_row) = partition_row(cur, spec, row)?;
            row = partition_row;
            Action::EnableLifecycle { values: Some(values), enabled: *enabled }
        }
    };
    Ok(TableChange { table_id: cur.id.clone(), lsn, history: vec![row], actions: vec![action], writes: false })
}

/// The values of the existing partition `spec` names, and `row` made about that partition.
fn partition_row(cur: &TableSnapshot, spec: &PartitionSpec, row: HistoryRow) -> Result<(Vec<String>, HistoryRow)> {
    let values = spec_values(&cur.name, &cur.schema, spec)?;
    let name = partition_spec(&cur.schema.partition_columns, &values);
    let p = cur
        .partitions
        .get(&values)
        .ok_or_else(|| Error::not_found(format!("partition {name} of table {} does not exist", cur.name)))?;
    let row = HistoryRow { object_type: ObjectType::Partition, object_id: p.id.clone(), object_name: name, ..row };
    Ok((values, row))
}

fn find<'a>(cur: &'a TableSnapshot, name: &str) -> Result<&'a ColumnDef> {
    if cur.schema.partition_columns.iter().any(|c| c.name == name) {
        return Err(Error::not_supported(format!(
            "changing partition column {name} of table {}: partition columns are fixed at CREATE TABLE",
            cur.name
        )));
    }
    cur.schema
        .columns
        .iter()
        .find(|c| c.name == name)
        .ok_or_else(|| Error::not_found(format!("table {} has no column {name}", cur.name)))
}

fn check_new_name(cur: &TableSnapshot, name: &str) -> Result<()> {
    if cur.schema.columns.iter().chain(&cur.schema.partition_columns).any(|c| c.name == name) {
        return Err(Error::AlreadyExists(format!("table {} already has a column {name}", cur.name)));
    }
    Ok(())
}

fn add_columns(cur: &TableSnapshot, cols: &[ColumnSpec], lsn: u64) -> Result<TableSchema> {
    let mut schema = cur.schema.clone();
    for c in cols {
        check_new_name(&TableSnapshot { schema: schema.clone(), ..cur.clone() }, &c.name)?;
        // A fresh name in the files, unlike any earlier column's: files written before a DROP
        // COLUMNS of the same name keep their values to themselves.
        let field = Some(format!("{}#{lsn}", c.name));
        schema.columns.push(ColumnDef { field, comment: c.comment.clone(), ..ColumnDef::new(&c.name, &c.data_type) });
    }
    Ok(schema)
}

fn drop_columns(cur: &TableSnapshot, names: &[String]) -> Result<TableSchema> {
    let mut schema = cur.schema.clone();
    for name in names {
        find(cur, name)?;
        if let Some(clustering) = &cur.schema.clustering
            && clustering.uses(name)
        {
            return Err(Error::invalid(format!(
                "column {name} of table {} is part of its CLUSTERED BY / SORTED BY clause and cannot be dropped",
                cur.name
            )));
        }
        schema.columns.retain(|c| &c.name != name);
    }
    if schema.columns.is_empty() {
        return Err(Error::invalid(format!(
            "dropping every data column of table {}; a table keeps at least one (DROP TABLE drops it)",
            cur.name
        )));
    }
    Ok(schema)
}

fn rename_column(cur: &TableSnapshot, from: &str, to: &str) -> Result<TableSchema> {
    let col = find(cur, from)?.clone();
    if from == to {
        return Err(Error::invalid(format!("column {from} of table {} is already called {to}", cur.name)));
    }
    check_new_name(cur, to)?;
    let mut schema = cur.schema.clone();
    for c in schema.columns.iter_mut().filter(|c| c.name == from) {
        let field = col.file_name().to_string();
        c.field = (field != to).then_some(field);
        c.name = to.to_string();
    }
    // The layout names columns by their names in the table.
    if let Some(clustering) = &mut schema.clustering {
        for c in clustering.columns.iter_mut().filter(|c| *c == from) {
            *c = to.to_string();
        }
        for k in clustering.sorted_by.iter_mut().filter(|k| k.column == from) {
            k.column = to.to_string();
        }
    }
    Ok(schema)
}

fn change_column(cur: &TableSnapshot, column: &str, spec: &ColumnSpec) -> Result<TableSchema> {
    let col = find(cur, column)?;
    // A row's bucket is the hash of its key's value as its type spells it: 5 as an INT and 5.0 as
    // a DOUBLE would land in different buckets, and bucket pruning would miss rows.
    if col.data_type != spec.data_type
        && let Some(clustering) = &cur.schema.clustering
        && clustering.columns.iter().any(|c| c == column)
    {
        return Err(Error::invalid(format!(
            "column {column} of table {} is its clustering key: its type cannot change",
            cur.name
        )));
    }
    if !types::is_safe_widening(&col.data_type, &spec.data_type)? {
        return Err(Error::not_supported(format!(
            "changing column {column} of table {} from {} to {}: only widenings that keep every value \
             (TINYINT→SMALLINT→INT→BIGINT, FLOAT→DOUBLE, integers→DOUBLE, DECIMAL(p,s)→wider DECIMAL, \
             VARCHAR(n)→longer VARCHAR or STRING)",
            cur.name,
            col.data_type.to_uppercase(),
            spec.data_type.to_uppercase()
        )));
    }
    let mut schema = cur.schema.clone();
    for c in schema.columns.iter_mut().filter(|c| c.name == column) {
        c.data_type = spec.data_type.clone();
        if !spec.comment.is_empty() {
            c.comment = spec.comment.clone();
        }
    }
    Ok(schema)
}
