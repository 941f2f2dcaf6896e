//! The privileges a statement needs, checked once it is planned and before anything runs: the
//! statement's own (Update to write a table, Drop to drop it, …) and Select on every versioned
//! table the plan reads, in subqueries and time travel included. Statements that manage the
//! project (users, grants, retention, PURGE) and RESTORE check inside their commit, against the
//! state they commit on.

use datafusion::common::tree_node::{TreeNode, TreeNodeRecursion};
use datafusion::datasource::{DefaultTableSource, ViewTable};
use datafusion::logical_expr::{DdlStatement, LogicalPlan, WriteOp};

use crate::error::Result;
use crate::policy::acl::{Acl, Permission, denied};
use crate::sql::{MergeKind, Statement};
use crate::statements::Env;
use crate::statements::grants::{require, require_on};
use crate::table::VersionedTable;

/// Checks what `statement` itself needs (a missing table is left to the statement to report).
pub(super) fn check_statement(env: &Env, statement: &Statement) -> Result<()> {
    let state = env.planning_state();
    let (acl, user) = (Acl::of(&state), env.user.as_deref());
    let on = |permission: Permission, table: &str, what: String| -> Result<()> {
        if env.session_tables.contains(table) {
            return Ok(());
        }
        match state.live_table(table) {
            Some(t) => require_on(env, &state, permission, &t.id, &what),
            None => Ok(()),
        }
    };
    match statement {
        Statement::CreateTable(c) if !env.session_tables.contains(&c.name) => {
            require(env, &state, Permission::CreateTable, &format!("create table {}", c.name))?;
            match &c.like {
                Some(like) => on(Permission::Describe, like, format!("describe table {like} (CREATE TABLE … LIKE)")),
                None => Ok(()),
            }
        }
        Statement::DropTable { name, .. } => on(Permission::Drop, name, format!("drop table {name}")),
        Statement::CreateView(v) if !env.session_tables.contains(&v.name) => {
            require(env, &state, Permission::CreateTable, &format!("create view {}", v.name))
        }
        Statement::DropView { name, .. } if !env.session_tables.contains(name) => {
            require(env, &state, Permission::CreateTable, &format!("drop view {name}"))
        }
        Statement::Rename { from, .. } => on(Permission::Alter, from, format!("rename table {from}")),
        Statement::DropPartitions { table, .. } => {
            on(Permission::Alter, table, format!("drop partitions of table {table}"))
        }
        Statement::Alter { table, .. } => on(Permission::Alter, table, format!("alter table {table}")),
        Statement::CreateTag { table, name, .. } => {
            on(Permission::Alter, table, format!("create tag {name} of table {table}"))
        }
        Statement::DropTag { table, name } => on(Permission::Alter, table, format!("drop tag {name} of table {table}")),
        Statement::ShowTags { table } => on(Permission::Describe, table, format!("show the tags of table {table}")),
        Statement::MergeSmallFiles { table, .. } => {
            on(Permission::Alter, table, format!("merge the small files of table {table}"))
        }
        Statement::Describe { table, .. } => on(Permission::Describe, table, format!("describe table {table}")),
        Statement::ShowCreateTable { table } => on(Permission::Describe, table, format!("show create table {table}")),
        Statement::ListPartitions { table, .. } => {
            on(Permission::Describe, table, format!("list the partitions of table {table}"))
        }
        Statement::Truncate { table, .. } => on(Permission::Update, table, format!("truncate table {table}")),
        Statement::Insert(ins) => on(Permission::Update, &ins.table, format!("insert into table {}", ins.table)),
        // In the words of what the user wrote: a DELETE or UPDATE that joins is planned as a MERGE.
        Statement::Merge { table, kind, .. } => {
            let verb = match kind {
                MergeKind::Merge => "merge into",
                MergeKind::Delete => "delete from",
                MergeKind::Update => "update",
            };
            on(Permission::Update, table, format!("{verb} table {table}"))
        }
        // ShowHistory on the table, or List on the project; `('id'='…')` needs List (checked
        // where the statement runs).
        Statement::ShowHistory { table, id: None, .. }
            if state.live_table(table).is_some_and(|t| !acl.allows(user, Permission::ShowHistory, Some(&t.id))) =>
        {
            let what = format!("SHOW HISTORY FOR TABLE {table}");
            require(env, &state, Permission::List, &what).map_err(|_| denied(user, Permission::ShowHistory, &what))
        }
        Statement::Explain { statement, .. } => check_statement(env, statement),
        _ => Ok(()),
    }
}

/// Checks Update on the versioned table of every DELETE and UPDATE in `plan` (DataFusion's DML,
/// before it becomes a statement node).
pub(super) fn check_writes(env: &Env, plan: &LogicalPlan) -> Result<()> {
    let state = env.planning_state();
    let mut failure = None;
    plan.apply(|node| {
        if let LogicalPlan::Dml(dml) = node
            && matches!(dml.op, WriteOp::Delete | WriteOp::Update | WriteOp::Insert(_))
            && let Some(t) = versioned(dml.target.downcast_ref::<DefaultTableSource>())
        {
            let snapshot = t.snapshot();
            let verb = match dml.op {
                WriteOp::Delete => "delete from",
                WriteOp::Update => "update",
                _ => "insert into",
            };
            if let Err(e) =
                require_on(env, &state, Permission::Update, &snapshot.id, &format!("{verb} table {}", snapshot.name))
            {
                failure = Some(e);
                return Ok(TreeNodeRecursion::Stop);
            }
        }
        Ok(TreeNodeRecursion::Continue)
    })?;
    failure.map_or(Ok(()), Err)
}

/// Refuses, for a session without `local_files`, statements that read or write this machine's
/// own files: a client of the server must not reach the server's file system.
pub(super) fn check_local_files(env: &Env, plan: &LogicalPlan) -> Result<()> {
    if env.local_files {
        return Ok(());
    }
    // Anywhere in the plan: EXPLAIN ANALYZE runs what it explains.
    let mut found = None;
    plan.apply(|node| {
        found = match node {
            LogicalPlan::Copy(_) => Some("COPY … TO"),
            LogicalPlan::Ddl(DdlStatement::CreateExternalTable(_)) => Some("CREATE EXTERNAL TABLE"),
            _ => None,
        };
        Ok(if found.is_some() { TreeNodeRecursion::Stop } else { TreeNodeRecursion::Continue })
    })?;
    let Some(what) = found else { return Ok(()) };
    Err(crate::Error::PermissionDenied(format!(
        "{what} reads or writes files of the server's machine, which its clients may not reach; load data \
         with INSERT … VALUES, or ask the holder of the warehouse"
    )))
}

/// Checks Select on every versioned table `plan` scans (subqueries included), except the one
/// with id `exempt` (the target of a MERGE, which Update covers).
pub(super) fn check_reads(env: &Env, plan: &LogicalPlan, exempt: Option<&str>) -> Result<()> {
    let state = env.planning_state();
    let mut failure = None;
    plan.apply_with_subqueries(|node| {
        // A view reads with the reader's privileges: what it reads is checked as if read here.
        if let LogicalPlan::TableScan(scan) = node
            && let Some(view) = scan
                .source
                .downcast_ref::<DefaultTableSource>()
                .and_then(|s| s.table_provider.downcast_ref::<ViewTable>())
            && let Err(e) = check_reads(env, view.logical_plan(), exempt)
        {
            failure = Some(e);
            return Ok(TreeNodeRecursion::Stop);
        }
        if let LogicalPlan::TableScan(scan) = node
            && let Some(t) = versioned(scan.source.downcast_ref::<DefaultTableSource>())
        {
            let snapshot = t.snapshot();
            if exempt != Some(snapshot.id.as_str())
                && let Err(e) =
                    require_on(env, &state, Permission::Select, &snapshot.id, &format!("read table {}", snapshot.name))
            {
                failure = Some(e);
                return Ok(TreeNodeRecursion::Stop);
            }
        }
        Ok(TreeNodeRecursion::Continue)
    })?;
    failure.map_or(Ok(()), Err)
}

fn versioned(source: Option<&DefaultTableSource>) -> Option<&VersionedTable> {
    source?.table_provider.downcast_ref::<VersionedTable>()
}
