//! Every RESTORE form. Restores write metadata only: the new version points at the data files
//! of the version restored from, whatever their size.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};

use super::ddl::spec_values;
use super::env::Env;
use super::grants::{creator_grant, require_on};
use super::history::resolve;
use super::result::StatementResult;
use crate::error::{Error, Result};
use crate::log::Draft;
use crate::policy::acl::{Acl, Permission};
use crate::policy::retention::{check_restorable, expired_error, parse_lsn};
use crate::sql::{PartitionSpec, Restore};
use crate::state::expiry::cutoff;
use crate::state::model::{
    Action, HistoryRow, ObjectType, Operation, Partition, PutMode, TableChange, format_lsn, partition_spec,
};
use crate::state::{ProjectState, TableHistory, TableSnapshot};

/// A fresh ObjectId (tables and partitions).
pub(super) fn new_id() -> String {
    uuid::Uuid::new_v4().simple().to_string()
}

/// One SHOW HISTORY row of a version.
pub(super) fn row(object_type: ObjectType, id: &str, name: &str, operation: Operation) -> HistoryRow {
    HistoryRow { object_type, object_id: id.to_string(), object_name: name.to_string(), operation }
}

fn change(table: &TableSnapshot, history: Vec<HistoryRow>, actions: Vec<Action>) -> TableChange {
    TableChange { table_id: table.id.clone(), lsn: table.lsn + 1, history, actions, writes: false }
}

fn one(change: TableChange) -> Result<Draft> {
    Ok(Draft { tables: vec![change], ..Default::default() })
}

/// Runs a RESTORE statement.
pub(crate) async fn restore(env: &Env, text: &str, r: &Restore) -> Result<StatementResult> {
    let project = &env.project;
    if let Some(u) = &r.target {
        if env.session_tables.contains(u) {
            return Err(Error::AlreadyExists(format!("table {u} already exists (session table)")));
        }
        if r.lsn.is_none() {
            return Err(Error::Syntax("AS <table> needs TO LSN '…'".into()));
        }
    }
    if env.session_tables.contains(&r.table) {
        return Err(Error::AlreadyExists(format!(
            "table {} is a session table: rename it first, then restore",
            r.table
        )));
    }
    let lsn = r.lsn.as_deref().map(parse_lsn).transpose()?;
    let now = || project.clock().now();
    let id = r.id.as_deref();
    let (table, target) = (r.table.as_str(), r.target.as_deref());
    match (lsn, r.specs.is_empty()) {
        (None, true) => {
            let id = id
                .ok_or_else(|| Error::Syntax("RESTORE TABLE t needs ('id'='…'), TO LSN '…' or PARTITION (…)".into()))?;
            env.commit(text, |s| authorized(env, s, r, undrop(s, table, id, now()))).await?;
        }
        (Some(lsn), true) => {
            env.commit(text, |s| authorized(env, s, r, restore_table(s, table, id, lsn, target, now()))).await?;
        }
        (None, false) => {
            let ids = partition_ids(&r.specs)?;
            if id.is_some() {
                return Err(Error::Syntax("name the table without an id to restore its partitions".into()));
            }
            env.commit(text, |s| authorized(env, s, r, undrop_partitions(s, table, &ids, now()))).await?;
        }
        (Some(lsn), false) => {
            let draft = |s: &ProjectState| restore_partitions(s, table, id, &r.specs, lsn, target, now());
            env.commit(text, |s| authorized(env, s, r, draft(s))).await?;
        }
    }
    Ok(StatementResult::ok())
}

/// `draft` when the session's user may make it: the tables it changes need Update (RESTORE …
/// AS u: Select on the source as well), a table it brings into being needs CreateTable (and its
/// creator gets All on it). Checked against the state the commit is built on.
fn authorized(env: &Env, state: &ProjectState, r: &Restore, draft: Result<Draft>) -> Result<Draft> {
    let mut draft = draft?;
    if r.target.is_some() {
        let source = r.id.as_deref().and_then(|id| state.tables.get(id)).or_else(|| state.live_table(&r.table));
        if let Some(t) = source {
            let what = format!("read table {} (RESTORE … AS {})", r.table, r.target.as_deref().unwrap_or_default());
            require_on(env, state, Permission::Select, &t.id, &what)?;
        }
    }
    for change in &draft.tables {
        match state.tables.get(&change.table_id) {
            Some(t) if !t.current.dropped => {
                let what = format!("restore table {}", t.current.name);
                require_on(env, state, Permission::Update, &t.id, &what)?;
            }
            // A dropped table comes back: its own Update privilege, or CreateTable.
            Some(t) if Acl::of(state).allows(env.user.as_deref(), Permission::Update, Some(&t.id)) => {}
            Some(t) => draft.properties.extend(creator_grant(env, state, &t.id, &t.current.name)?),
            None => {
                let name = r.target.as_deref().unwrap_or(&r.table);
                draft.properties.extend(creator_grant(env, state, &change.table_id, name)?);
            }
        }
    }
    Ok(draft)
}

fn partition_ids(specs: &[PartitionSpec]) -> Result<Vec<String>> {
    specs
        .iter()
        .map(|s| match s.as_slice() {
            [(k, v)] if k == "id" => Ok(v.clone()),
            _ => Err(Error::Syntax(
                "without TO LSN, PARTITION takes ('id'='…') of a dropped partition; to restore partitions to a version add TO LSN '…'".into(),
            )),
        })
        .collect()
}

/// RESTORE TABLE t ('id'='…'): a dropped table comes back under its name.
fn undrop(state: &ProjectState, name: &str, id: &str, now: DateTime<Utc>) -> Result<Draft> {
    let t = resolve(state, name, Some(id), now)?;
    if !t.current.dropped {
        return Err(Error::invalid(format!("table {name} ('id'='{id}') is not dropped: nothing to restore")));
    }
    if state.live_table(name).is_some() {
        return Err(Error::AlreadyExists(format!(
            "table {name} already exists: rename it first (ALTER TABLE {name} RENAME TO …), then restore"
        )));
    }
    let cur = &t.current;
    one(change(
        cur,
        vec![row(ObjectType::Table, &cur.id, name, Operation::Restore)],
        vec![Action::Undrop { name: name.to_string() }],
    ))
}

/// The source table of a TO LSN restore and its version `lsn`.
fn source_version(
    state: &ProjectState,
    name: &str,
    id: Option<&str>,
    lsn: u64,
    now: DateTime<Utc>,
) -> Result<(TableSnapshot, bool)> {
    let t: &TableHistory = resolve(state, name, id, now)?;
    check_restorable(state, t, lsn, now)?;
    let snap =
        t.state_at(lsn).ok_or_else(|| expired_error(&format!("LSN {} of table {name}", format_lsn(lsn)), state))?;
    if snap.dropped {
        return Err(Error::invalid(format!(
            "LSN {} of table {name} is its DROP: restore the version before it",
            format_lsn(lsn)
        )));
    }
    Ok((snap, t.current.dropped))
}

/// Partitions of `snap` re-identified for table `table_id`: unpartitioned data takes the table's
/// id; partitions keep the id `ids` gives for their values, or get a new one.
fn reidentify(snap: &TableSnapshot, table_id: &str, ids: &BTreeMap<Vec<String>, String>) -> Vec<Partition> {
    snap.partitions
        .values()
        .map(|p| Partition {
            id: if p.values.is_empty() {
                table_id.to_string()
            } else {
                ids.get(&p.values).cloned().unwrap_or_else(new_id)
            },
            values: p.values.clone(),
            files: p.files.clone(),
            lifecycle_disabled: p.lifecycle_disabled,
            modified: None,
        })
        .collect()
}

fn schema_mismatch(src: &TableSnapshot, dst: &TableSnapshot) -> Error {
    Error::invalid(format!(
        "Restore table failed because: field schema not same, {} vs {} (restoring {} into {})",
        src.schema.describe(),
        dst.schema.describe(),
        src.name,
        dst.name
    ))
}

fn ids_of(t: &TableSnapshot) -> BTreeMap<Vec<String>, String> {
    t.partitions.iter().map(|(k, p)| (k.clone(), p.id.clone())).collect()
}

/// RESTORE TABLE t TO LSN '…' [AS u].
fn restore_table(
    state: &ProjectState,
    name: &str,
    id: Option<&str>,
    lsn: u64,
    target: Option<&str>,
    now: DateTime<Utc>,
) -> Result<Draft> {
    let (snap, src_dropped) = source_version(state, name, id, lsn, now)?;
    let dst = target.filter(|u| *u != name).map(|u| (u, state.live_table(u)));
    match dst {
        None => {
            if src_dropped {
                return Err(Error::invalid(format!(
                    "table {name} is dropped: undrop it with RESTORE TABLE {name} ('id'='{}'), or restore AS a new table",
                    snap.id
                )));
            }
            let cur = &state.tables[&snap.id].current;
            let action = Action::Replace {
                schema: snap.schema.clone(),
                partitions: snap.partitions.values().cloned().collect(),
            };
            one(change(cur, vec![row(ObjectType::Table, &cur.id, name, Operation::Restore)], vec![action]))
        }
        Some((u, Some(existing))) => {
            let dst = &existing.current;
            if dst.id == snap.id {
                return restore_table(state, name, id, lsn, None, now);
            }
            if dst.schema != snap.schema {
                return Err(schema_mismatch(&snap, dst));
            }
            let partitions = reidentify(&snap, &dst.id, &ids_of(dst));
            let action = Action::Replace { schema: snap.schema.clone(), partitions };
            one(change(dst, vec![row(ObjectType::Table, &dst.id, u, Operation::Overwrite)], vec![action]))
        }
        Some((u, None)) => {
            let new = new_id();
            let partitions = reidentify(&snap, &new, &BTreeMap::new());
            let actions = vec![
                Action::Create { name: u.to_string(), schema: snap.schema.clone(), lifecycle: snap.lifecycle },
                Action::Replace { schema: snap.schema.clone(), partitions },
            ];
            let history = vec![row(ObjectType::Table, &new, u, Operation::Create)];
            one(TableChange { table_id: new, lsn: 1, history, actions, writes: false })
        }
    }
}

/// RESTORE TABLE t PARTITION ('id'='…')…: dropped partitions come back with their data.
fn undrop_partitions(state: &ProjectState, name: &str, ids: &[String], now: DateTime<Utc>) -> Result<Draft> {
    let t = resolve(state, name, None, now)?;
    let cur = &t.current;
    let cut = cutoff(state, now);
    let mut history = vec![];
    let mut actions: Vec<Action> = vec![];
    for id in ids {
        if cur.partitions.values().any(|p| &p.id == id) {
            return Err(Error::invalid(format!("partition ('id'='{id}') of table {name} is not dropped")));
        }
        let entries = t.entries();
        let drop = entries.iter().rev().find(|e| {
            e.history.iter().any(|h| {
                h.object_type == ObjectType::Partition
                    && &h.object_id == id
                    && matches!(h.operation, Operation::Drop | Operation::Reclaim)
            })
        });
        let Some(drop) = drop else {
            return Err(Error::not_found(format!(
                "table {name} has no dropped partition with id {id} (or it was purged)"
            )));
        };
        if drop.time <= cut {
            return Err(expired_error(&format!("dropped partition ('id'='{id}') of table {name}"), state));
        }
        let before = t
            .state_at(drop.lsn - 1)
            .ok_or_else(|| expired_error(&format!("dropped partition ('id'='{id}') of table {name}"), state))?;
        let p = before.partitions.values().find(|p| &p.id == id).ok_or_else(|| Error::Corrupt {
            path: format!("table {}", t.id),
            message: format!("partition {id} is dropped at LSN {} but absent before it", drop.lsn),
        })?;
        let spec = partition_spec(&cur.schema.partition_columns, &p.values);
        // Its files read through the current schema (columns match by field).
        if before.schema.partition_columns != cur.schema.partition_columns {
            return Err(Error::invalid(format!(
                "partition {spec} was dropped under another schema of table {name}; restore the table to an LSN instead"
            )));
        }
        let taken = cur.partitions.contains_key(&p.values)
            || actions
                .iter()
                .any(|a| matches!(a, Action::PutPartition { partition, .. } if partition.values == p.values));
        if taken {
            return Err(Error::AlreadyExists(format!(
                "partition {spec} of table {name} already exists: drop it first, or restore it TO LSN"
            )));
        }
        history.push(row(ObjectType::Partition, id, &spec, Operation::Restore));
        actions.push(Action::PutPartition { partition: p.clone(), mode: PutMode::Replace });
    }
    one(change(cur, history, actions))
}

/// RESTORE TABLE t PARTITION (spec)… TO LSN '…' [AS u].
fn restore_partitions(
    state: &ProjectState,
    name: &str,
    id: Option<&str>,
    specs: &[PartitionSpec],
    lsn: u64,
    target: Option<&str>,
    now: DateTime<Utc>,
) -> Result<Draft> {
    let (snap, src_dropped) = source_version(state, name, id, lsn, now)?;
    let mut parts: Vec<Partition> = vec![];
    for spec in specs {
        let key = spec_values(name, &snap.schema, spec)?;
        let p = snap.partitions.get(&key).ok_or_else(|| {
            Error::invalid(format!(
                "partition {} of table {name} did not exist at LSN {}",
                partition_spec(&snap.schema.partition_columns, &key),
                format_lsn(lsn)
            ))
        })?;
        if !parts.iter().any(|q| q.values == p.values) {
            parts.push(p.clone());
        }
    }
    let cols = &snap.schema.partition_columns;
    let dst = target.filter(|u| *u != name).map(|u| (u, state.live_table(u)));
    match dst {
        None => {
            if src_dropped {
                return Err(Error::invalid(format!(
                    "table {name} is dropped: undrop it first, or restore AS a new table"
                )));
            }
            let cur = &state.tables[&snap.id].current;
            // Old files read through the current schema (columns match by their field), so only
            // the partition columns must be the same.
            if cur.schema.partition_columns != snap.schema.partition_columns {
                return Err(Error::invalid(format!(
                    "the schema of table {name} changed since LSN {}: restore the whole table TO LSN instead",
                    format_lsn(lsn)
                )));
            }
            let history = parts
                .iter()
                .map(|p| row(ObjectType::Partition, &p.id, &partition_spec(cols, &p.values), Operation::Restore))
                .collect();
            let actions =
                parts.into_iter().map(|p| Action::PutPartition { partition: p, mode: PutMode::Replace }).collect();
            one(change(cur, history, actions))
        }
        Some((_, Some(existing))) => {
            let dst = &existing.current;
            if dst.id == snap.id {
                return restore_partitions(state, name, id, specs, lsn, None, now);
            }
            if dst.schema != snap.schema {
                return Err(schema_mismatch(&snap, dst));
            }
            let mut history = vec![];
            let mut actions = vec![];
            for p in parts {
                let (pid, op) = match dst.partitions.get(&p.values) {
                    Some(existing) => (existing.id.clone(), Operation::Overwrite),
                    None => (new_id(), Operation::Create),
                };
                history.push(row(ObjectType::Partition, &pid, &partition_spec(cols, &p.values), op));
                actions.push(Action::PutPartition { partition: Partition { id: pid, ..p }, mode: PutMode::Replace });
            }
            one(change(dst, history, actions))
        }
        Some((u, None)) => {
            let new = new_id();
            let mut actions =
                vec![Action::Create { name: u.to_string(), schema: snap.schema.clone(), lifecycle: snap.lifecycle }];
            actions.extend(
                parts.into_iter().map(|p| Action::PutPartition {
                    partition: Partition { id: new_id(), ..p },
                    mode: PutMode::Replace,
                }),
            );
            let history = vec![row(ObjectType::Table, &new, u, Operation::Create)];
            one(TableChange { table_id: new, lsn: 1, history, actions, writes: false })
        }
    }
}
