//! CLONE TABLE: the destination gets the source's current files in one commit, no data copied.
//! The files are then shared by two tables; the purge frees a file only when no retained version
//! of any table references it (see `ProjectState::files_freed_by`).

use super::ddl::spec_values;
use super::env::{Env, live_table};
use super::grants::{creator_grant, require_on};
use super::restore::{new_id, row};
use super::result::StatementResult;
use crate::error::{Error, Result};
use crate::log::Draft;
use crate::policy::acl::Permission;
use crate::sql::{CloneTable, OnExisting};
use crate::state::model::{
    Action, ObjectType, Operation, Partition, PutMode, TableChange, TableSchema, partition_spec,
};
use crate::state::{ProjectState, TableSnapshot};

/// Runs `CLONE TABLE src [PARTITION (…), …] TO dst [IF EXISTS {OVERWRITE|IGNORE}]`.
pub(crate) async fn clone_table(env: &Env, text: &str, c: &CloneTable) -> Result<StatementResult> {
    for name in [&c.source, &c.target] {
        if env.session_tables.contains(name) {
            return Err(Error::not_supported(format!(
                "CLONE TABLE of session table {name}: it clones the project's tables (use CREATE TABLE … AS)"
            )));
        }
    }
    if c.source == c.target {
        return Err(Error::invalid(format!(
            "CLONE TABLE {0} TO {0}: the source and the destination are one table",
            c.source
        )));
    }
    // IF EXISTS IGNORE over a destination that already has every partition: nothing to commit.
    let state = env.project.snapshot().await?;
    if draft(env, &state, c)?.is_none() {
        return Ok(StatementResult::ok());
    }
    env.commit(text, |state| {
        draft(env, state, c)?.ok_or_else(|| {
            Error::conflict(format!("table {} was changed by another statement while cloning into it", c.target))
        })
    })
    .await?;
    Ok(StatementResult::ok())
}

/// The commit of the clone against `state`, or None when IGNORE leaves nothing to do. The
/// session's user needs Select on the source and CreateTable for a new destination (its creator
/// gets All on it), Update on an existing one.
fn draft(env: &Env, state: &ProjectState, c: &CloneTable) -> Result<Option<Draft>> {
    let src = live_table(state, &c.source)?;
    require_on(env, state, Permission::Select, &src.id, &format!("read table {} (CLONE TABLE)", c.source))?;
    let parts = chosen_partitions(&src, c)?;
    let Some(dst) = state.live_table(&c.target) else {
        let (id, change) = into_new_table(&src, parts, &c.target);
        let properties = creator_grant(env, state, &id, &c.target)?;
        return Ok(Some(Draft { tables: vec![change], properties, ..Default::default() }));
    };
    let dst = &dst.current;
    require_on(env, state, Permission::Update, &dst.id, &format!("clone into table {}", c.target))?;
    let Some(mode) = c.if_exists else {
        return Err(Error::AlreadyExists(format!(
            "table {} already exists: add IF EXISTS OVERWRITE to replace its data (or IF EXISTS IGNORE to keep it)",
            c.target
        )));
    };
    if !same_layout(&src.schema, &dst.schema) {
        return Err(Error::invalid(format!(
            "CLONE TABLE failed because the schemas differ: {} ({}) vs {} ({}); the destination must have the \
             source's columns, types and partition columns",
            src.schema.describe(),
            src.name,
            dst.schema.describe(),
            dst.name
        )));
    }
    // Files carry the bucket of the source's hash layout: only the same layout reads them right.
    if src.schema.clustering != dst.schema.clustering {
        return Err(Error::invalid(format!(
            "CLONE TABLE failed because the clusterings differ: {} and {} must have the same CLUSTERED BY / SORTED BY \
             / INTO n BUCKETS (or none)",
            src.name, dst.name
        )));
    }
    Ok(into_existing(parts, dst, mode).map(|change| Draft { tables: vec![change], ..Default::default() }))
}

/// The source partitions the statement names (all when it names none), in its order.
fn chosen_partitions<'a>(src: &'a TableSnapshot, c: &CloneTable) -> Result<Vec<&'a Partition>> {
    if c.specs.is_empty() {
        return Ok(src.partitions.values().collect());
    }
    let mut parts: Vec<&Partition> = vec![];
    for spec in &c.specs {
        let key = spec_values(&c.source, &src.schema, spec)?;
        let p = src.partitions.get(&key).ok_or_else(|| {
            Error::not_found(format!(
                "partition {} of table {} does not exist",
                partition_spec(&src.schema.partition_columns, &key),
                c.source
            ))
        })?;
        if !parts.iter().any(|q| q.values == p.values) {
            parts.push(p);
        }
    }
    Ok(parts)
}

/// The same columns (names, types and the names their data has in the files) and partition
/// columns: a file of one reads as the other. Comments may differ.
fn same_layout(a: &TableSchema, b: &TableSchema) -> bool {
    let key = |s: &TableSchema| {
        s.columns
            .iter()
            .chain(&s.partition_columns)
            .map(|c| (c.name.clone(), c.data_type.clone(), c.file_name().to_string()))
            .collect::<Vec<_>>()
    };
    a.partition_columns.len() == b.partition_columns.len() && key(a) == key(b)
}

/// A partition of the source as the destination's partition `id` (its own ObjectId; the last
/// modified time is the clone's, set when the version applies).
fn adopted(p: &Partition, id: String) -> Partition {
    Partition { id, modified: None, ..p.clone() }
}

/// A new table `name` like the source (columns, partition columns, lifecycle) holding `parts`.
fn into_new_table(src: &TableSnapshot, parts: Vec<&Partition>, name: &str) -> (String, TableChange) {
    let id = new_id();
    let cols = &src.schema.partition_columns;
    let mut history = vec![row(ObjectType::Table, &id, name, Operation::Create)];
    let partitions: Vec<Partition> = parts
        .into_iter()
        .map(|p| {
            if p.values.is_empty() {
                return adopted(p, id.clone());
            }
            let pid = new_id();
            history.push(row(ObjectType::Partition, &pid, &partition_spec(cols, &p.values), Operation::Create));
            adopted(p, pid)
        })
        .collect();
    let actions = vec![
        Action::Create { name: name.to_string(), schema: src.schema.clone(), lifecycle: src.lifecycle },
        Action::Replace { schema: src.schema.clone(), partitions },
    ];
    (id.clone(), TableChange { table_id: id, lsn: 1, history, actions, writes: true })
}

/// `parts` put into the existing table `dst`: OVERWRITE replaces the partitions they meet (an
/// unpartitioned table's content), IGNORE skips them. None when nothing changes.
fn into_existing(parts: Vec<&Partition>, dst: &TableSnapshot, mode: OnExisting) -> Option<TableChange> {
    let cols = &dst.schema.partition_columns;
    let mut history = vec![];
    let mut actions = vec![];
    for p in parts {
        let existing = dst.partitions.get(&p.values);
        let (id, operation) = match (existing, mode) {
            (Some(_), OnExisting::Ignore) => continue,
            (Some(e), OnExisting::Overwrite) => (e.id.clone(), Operation::Overwrite),
            (None, _) if p.values.is_empty() => (dst.id.clone(), Operation::Overwrite),
            (None, _) => (new_id(), Operation::Create),
        };
        if dst.schema.is_partitioned() {
            history.push(row(ObjectType::Partition, &id, &partition_spec(cols, &p.values), operation));
        }
        // The destination's own lifecycle setting of the partition stays.
        let disabled = existing.is_some_and(|e| e.lifecycle_disabled);
        let partition = Partition { lifecycle_disabled: disabled, ..adopted(p, id) };
        actions.push(Action::PutPartition { partition, mode: PutMode::Replace });
    }
    if actions.is_empty() {
        return None;
    }
    if !dst.schema.is_partitioned() {
        history.push(row(ObjectType::Table, &dst.id, &dst.name, Operation::Overwrite));
    }
    Some(TableChange { table_id: dst.id.clone(), lsn: dst.lsn + 1, history, actions, writes: true })
}
