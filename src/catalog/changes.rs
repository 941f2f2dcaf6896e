//! `table_changes('t', start [, end])`: the change feed. Every row that the versions start..=end
//! of table t (end: the current one when not given) inserted, deleted or updated, with t's
//! columns as of `end` and `_change_type` (`insert`, `delete`, `update_preimage`,
//! `update_postimage`), `_commit_version` (the LSN) and `_commit_timestamp`. It reads only the
//! files those versions added or removed and the change files of their row-level changes (see
//! `state/changes.rs`), and streams them.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use datafusion::arrow::datatypes::{DataType, TimeUnit};
use datafusion::catalog::default_table_source::provider_as_source;
use datafusion::catalog::view::ViewTable;
use datafusion::catalog::{TableFunctionImpl, TableProvider};
use datafusion::common::{Column, DFSchema, ScalarValue};
use datafusion::error::{DataFusionError, Result as DfResult};
use datafusion::logical_expr::simplify::SimplifyContext;
use datafusion::logical_expr::{Expr, LogicalPlan, LogicalPlanBuilder, lit};
use datafusion::optimizer::simplify_expressions::ExprSimplifier;

use crate::error::Error;
use crate::log::Project;
use crate::policy::acl::{Acl, Permission, denied};
use crate::policy::retention::expired_error;
use crate::state::expiry::{cutoff, restorable};
use crate::state::lazy::Lazy;
use crate::state::model::{CHANGE_TYPE_COLUMN, Partition, format_lsn};
use crate::state::{ProjectState, TableHistory, TableSnapshot};
use crate::table::{ChangeKind, VersionedTable, change_schema};
use crate::time_travel::lsn_at;

const USAGE: &str = "usage: table_changes('table', start [, end]): the changes of the versions start..end (both \
                     included; end defaults to the current version), each an LSN, a timestamp or a tag name";

/// `table_changes('t', start, end)` over a project, for the session of a user.
#[derive(Debug)]
pub struct ChangesFunction {
    project: Arc<Project>,
    user: Option<String>,
    /// The session runs its queries on a Ballista cluster, which does not run the feed yet.
    distributed: bool,
    /// The statement's snapshot when bound to one; else the latest state the project knows.
    snapshot: Option<Arc<ProjectState>>,
}

impl ChangesFunction {
    /// The function over `project`, for the session of `user`.
    pub fn new(project: Arc<Project>, user: Option<String>) -> Self {
        Self { project, user, distributed: false, snapshot: None }
    }

    /// Refuses to run (with an error saying so) when `distributed`: a Ballista session.
    pub fn in_process_only(mut self, distributed: bool) -> Self {
        self.distributed = distributed;
        self
    }

    /// This function as one statement reads it: from `snapshot` (see `Binder::bind`); None
    /// reads the latest state the project knows.
    pub fn reading(mut self, snapshot: Option<Arc<ProjectState>>) -> Self {
        self.snapshot = snapshot;
        self
    }
}

/// One end of the range, as given.
enum Bound {
    Lsn(u64),
    Instant(DateTime<Utc>),
    Tag(String),
}

impl TableFunctionImpl for ChangesFunction {
    fn call(&self, args: &[Expr]) -> DfResult<Arc<dyn TableProvider>> {
        if self.distributed {
            return Err(DataFusionError::NotImplemented(
                "table_changes on a Ballista session: read the change feed from a session without --ballista \
                 (the same warehouse)"
                    .into(),
            ));
        }
        let (name, start, end) = match args {
            [name, start] => (name, start, None),
            [name, start, end] => (name, start, Some(end)),
            _ => return Err(DataFusionError::Plan(USAGE.into())),
        };
        let name = match constant(name)? {
            ScalarValue::Utf8(Some(s)) | ScalarValue::Utf8View(Some(s)) | ScalarValue::LargeUtf8(Some(s)) => {
                s.to_lowercase()
            }
            other => return Err(DataFusionError::Plan(format!("{USAGE}; the table is a string, got {other}"))),
        };
        let (start, end) = (bound(start)?, end.map(bound).transpose()?);
        let state = self.project.state_or(self.snapshot.as_ref());
        let table = state.live_table(&name).ok_or_else(|| Error::not_found(format!("table {name} does not exist")))?;
        let user = self.user.as_deref();
        if !Acl::of(&state).allows(user, Permission::Select, Some(&table.id)) {
            return Err(denied(user, Permission::Select, &format!("read the changes of table {name}")).into());
        }
        state.check_decodable(&table.id, true)?;
        let now = self.project.clock().now();
        let to = match end {
            Some(end) => end_lsn(&state, table, end, now)?,
            None => table.current.lsn,
        };
        let from = start_lsn(&state, table, start, now)?;
        Ok(feed(&self.project, &state, table, from, to, now)?)
    }
}

/// Folds an argument to a constant (`now() - interval '1' day`, `'2026-01-01'`, `3`).
fn constant(e: &Expr) -> DfResult<ScalarValue> {
    let simplifier = ExprSimplifier::new(SimplifyContext::builder().with_current_time().build());
    match simplifier.simplify(e.clone())? {
        Expr::Literal(v, _) if !v.is_null() => Ok(v),
        other => Err(DataFusionError::Plan(format!("{USAGE}; got {other}, which is not a constant"))),
    }
}

fn bound(e: &Expr) -> DfResult<Bound> {
    let value = constant(e)?;
    if value.data_type().is_integer() {
        return match value.cast_to(&DataType::Int64)? {
            ScalarValue::Int64(Some(n)) if n >= 0 => Ok(Bound::Lsn(n as u64)),
            other => Err(DataFusionError::Plan(format!("{USAGE}; an LSN is not negative, got {other}"))),
        };
    }
    if let ScalarValue::Utf8(Some(s)) | ScalarValue::Utf8View(Some(s)) | ScalarValue::LargeUtf8(Some(s)) = &value {
        if let Ok(n) = s.parse::<u64>() {
            return Ok(Bound::Lsn(n));
        }
        if s.starts_with(|c: char| c.is_ascii_alphabetic()) {
            return Ok(Bound::Tag(s.to_lowercase()));
        }
    }
    let utc = DataType::Timestamp(TimeUnit::Nanosecond, Some("+00:00".into()));
    match value.cast_to(&utc) {
        Ok(ScalarValue::TimestampNanosecond(Some(ns), _)) => Ok(Bound::Instant(DateTime::from_timestamp_nanos(ns))),
        _ => Err(DataFusionError::Plan(format!("{USAGE}; {value} is none of them"))),
    }
}

fn tag_lsn(state: &ProjectState, table: &TableHistory, tag: &str, now: DateTime<Utc>) -> crate::Result<u64> {
    let name = &table.current.name;
    let found = state.tag(&table.id, tag, now);
    found
        .map(|t| t.lsn)
        .ok_or_else(|| Error::not_found(format!("table {name} has no tag {tag} (see SHOW TAGS FOR TABLE)")))
}

/// The first version of the range: an instant starts at the first version committed at or after it.
fn start_lsn(state: &ProjectState, table: &TableHistory, start: Bound, now: DateTime<Utc>) -> crate::Result<u64> {
    match start {
        Bound::Lsn(lsn) => Ok(lsn),
        Bound::Tag(tag) => tag_lsn(state, table, &tag, now),
        Bound::Instant(at) => {
            let first = table.entries().iter().find(|e| e.time >= at).map(|e| e.lsn);
            Ok(first.unwrap_or(table.current.lsn + 1))
        }
    }
}

/// The last version of the range: an instant ends at the version current then.
fn end_lsn(state: &ProjectState, table: &TableHistory, end: Bound, now: DateTime<Utc>) -> crate::Result<u64> {
    match end {
        Bound::Lsn(lsn) => Ok(lsn),
        Bound::Tag(tag) => tag_lsn(state, table, &tag, now),
        Bound::Instant(at) => lsn_at(state, table, at),
    }
}

/// The change feed of `table` over `from..=to`, as a view over the scans of the files involved.
fn feed(
    project: &Arc<Project>,
    state: &ProjectState,
    table: &TableHistory,
    from: u64,
    to: u64,
    now: DateTime<Utc>,
) -> crate::Result<Arc<dyn TableProvider>> {
    let name = &table.current.name;
    let current = table.current.lsn;
    if to > current {
        return Err(Error::not_found(format!(
            "table_changes: table {name} has no LSN {} (its latest is {})",
            format_lsn(to),
            format_lsn(current)
        )));
    }
    if from > to {
        return Err(Error::invalid(format!(
            "table_changes on table {name}: the start {from} is after the end {to} (the range is start..end, both included)"
        )));
    }
    let retained = restorable(table, cutoff(state, now));
    let first_retained = retained.front().map_or(current, |e| e.lsn);
    let entries = table.entries();
    // From before the table existed: from its creation (when that version is still retained).
    let created = entries.front().filter(|e| table.base().is_none() && e.lsn == first_retained).map(|e| e.lsn);
    let from = match created {
        Some(created) if from < created => created,
        _ => from,
    };
    let expired = || expired_error(&format!("LSN {} of table {name}", format_lsn(from)), state);
    if from < first_retained {
        return Err(expired());
    }
    let end = table.state_at(to).ok_or_else(expired)?;
    let changes = table.changes_between(from, to).ok_or_else(expired)?;
    let mut plans = vec![];
    for change in changes {
        let version = [
            lit(ScalarValue::Int64(Some(change.lsn as i64))).alias("_commit_version"),
            lit(ScalarValue::TimestampMillisecond(Some(change.time.timestamp_millis()), None))
                .alias("_commit_timestamp"),
        ];
        if !change.change_files.is_empty() {
            let kind = Expr::Column(Column::new_unqualified(CHANGE_TYPE_COLUMN));
            plans.push(rows(project, &end, change.change_files, true, kind, &version)?);
            continue;
        }
        let kinds = if change.updates {
            [ChangeKind::Preimage, ChangeKind::Postimage]
        } else {
            [ChangeKind::Delete, ChangeKind::Insert]
        };
        for (files, kind) in [change.removed, change.added].into_iter().zip(kinds) {
            if !files.is_empty() {
                plans.push(rows(project, &end, files, false, lit(kind.as_str()), &version)?);
            }
        }
    }
    let plan = match plans.pop() {
        None => empty(project, &end)?,
        Some(last) => {
            let mut builder = LogicalPlanBuilder::from(last);
            for plan in plans.into_iter().rev() {
                builder = builder.union(plan)?;
            }
            builder.build()?
        }
    };
    Ok(Arc::new(ViewTable::new(plan, None)))
}

/// The rows of `files` read under `end`'s columns (change files also hold `_change_type`),
/// followed by `kind` and the version's columns.
fn rows(
    project: &Arc<Project>,
    end: &TableSnapshot,
    files: Vec<Partition>,
    change_files: bool,
    kind: Expr,
    version: &[Expr; 2],
) -> crate::Result<LogicalPlan> {
    let mut snapshot = end.clone();
    if change_files {
        snapshot.schema = change_schema(&end.schema);
    }
    snapshot.partitions = Lazy::new(files.into_iter().map(|p| (p.values.clone(), p)).collect());
    let provider = VersionedTable::try_new(Arc::clone(project), Arc::new(snapshot))?;
    let mut columns: Vec<Expr> = end
        .schema
        .columns
        .iter()
        .chain(&end.schema.partition_columns)
        .map(|c| Expr::Column(Column::new_unqualified(&c.name)))
        .collect();
    columns.push(kind.alias(CHANGE_TYPE_COLUMN));
    columns.extend(version.iter().cloned());
    Ok(LogicalPlanBuilder::scan(end.name.as_str(), provider_as_source(Arc::new(provider)), None)?
        .project(columns)?
        .build()?)
}

/// No change: the feed's columns and no rows.
fn empty(project: &Arc<Project>, end: &TableSnapshot) -> crate::Result<LogicalPlan> {
    let version = [
        lit(ScalarValue::Int64(Some(0))).alias("_commit_version"),
        lit(ScalarValue::TimestampMillisecond(Some(0), None)).alias("_commit_timestamp"),
    ];
    let plan = rows(project, end, vec![], false, lit(ChangeKind::Insert.as_str()), &version)?;
    let schema = Arc::new(DFSchema::try_from(plan.schema().as_arrow().clone())?);
    Ok(LogicalPlan::EmptyRelation(datafusion::logical_expr::EmptyRelation { produce_one_row: false, schema }))
}
