//! Purge: forget versions that left the retention period, delete the data files that no
//! retained version of any table references, and compact the log behind a checkpoint.
//!
//! Forgetting is itself a commit (so every process agrees on what is gone), written before any
//! file is deleted. Restores validate retention against the latest log when they commit, so a
//! restore that loses the race against a purge fails cleanly instead of pointing at deleted
//! files. Files that nothing references yet (a statement in flight) are deleted only once older
//! than the project's grace period.

use std::collections::HashSet;
use std::sync::Arc;

use chrono::{DateTime, Utc};
use futures::TryStreamExt;
use object_store::ObjectStoreExt;

use super::retention::{cutoff, restorable, table_expired};
use crate::error::{Error, Result};
use crate::log::model::Expiry;
use crate::log::state::ProjectState;
use crate::log::{CHECKPOINT_INTERVAL, Draft, Project, parse_number};
use crate::session::{StatementResult, TimeMachine};

/// Most files one automatic purge deletes (the rest waits for the next one).
const AUTO_DELETE_BUDGET: usize = 1_000;

/// What a purge did.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct PurgeReport {
    /// Tables whose older versions were forgotten.
    pub tables_trimmed: usize,
    /// Dropped tables forgotten entirely.
    pub tables_forgotten: usize,
    /// Data files deleted.
    pub files_deleted: usize,
    /// Log entries and checkpoints deleted.
    pub log_files_deleted: usize,
}

/// Versions that have left the retention period.
fn expired(state: &ProjectState, now: DateTime<Utc>) -> Vec<Expiry> {
    let cut = cutoff(state, now);
    state
        .tables
        .values()
        .filter_map(|t| {
            if table_expired(t, cut) {
                return Some(Expiry { table_id: t.id.clone(), keep_from: None });
            }
            let first = restorable(t, cut).first()?.lsn;
            (t.entries.first()?.lsn < first).then(|| Expiry { table_id: t.id.clone(), keep_from: Some(first) })
        })
        .collect()
}

fn referenced(state: &ProjectState) -> HashSet<String> {
    state.tables.values().flat_map(|t| t.referenced_files()).collect()
}

/// Commits `expiries` (recomputed against the latest state on each attempt by `compute`), then
/// deletes the files only the forgotten versions referenced. Returns the report so far.
async fn forget<F>(project: &Project, statement: &str, budget: usize, compute: F) -> Result<PurgeReport>
where
    F: Fn(&ProjectState) -> Result<Vec<Expiry>>,
{
    project.refresh().await?;
    let (first, before) = {
        let state = project.state();
        (compute(&state)?, referenced(&state))
    };
    let mut report = PurgeReport::default();
    if first.is_empty() {
        return Ok(report);
    }
    let commit = project
        .commit(statement, |state| Ok(Draft { expire: compute(state)?, ..Default::default() }))
        .await?;
    report.tables_forgotten = commit.expire.iter().filter(|e| e.keep_from.is_none()).count();
    report.tables_trimmed = commit.expire.len() - report.tables_forgotten;
    let after = referenced(&project.state());
    for path in before.difference(&after).take(budget) {
        match project.store().delete(&project.path(path)).await {
            Ok(()) | Err(object_store::Error::NotFound { .. }) => report.files_deleted += 1,
            Err(e) => return Err(e.into()),
        }
    }
    Ok(report)
}

/// Deletes data files that no retained version references and that are older than the grace
/// period, and log entries and checkpoints behind the newest checkpoint.
async fn sweep(project: &Project, budget: usize, report: &mut PurgeReport) -> Result<()> {
    project.refresh().await?;
    let grace = chrono::Duration::from_std(project.grace()).unwrap_or_default();
    let old_enough = Utc::now() - grace;
    let keep = referenced(&project.state());
    let prefix = format!("{}/", project.name());
    let data: Vec<_> = project.store().list(Some(&project.path("data"))).try_collect().await?;
    for meta in data {
        if report.files_deleted >= budget {
            break;
        }
        let relative = meta.location.as_ref().strip_prefix(&prefix).unwrap_or(meta.location.as_ref());
        if !keep.contains(relative) && meta.last_modified <= old_enough {
            project.store().delete(&meta.location).await?;
            report.files_deleted += 1;
        }
    }
    // A checkpoint of the current state lets older log entries go.
    let version = project.state().version;
    if version > 0 {
        project.write_checkpoint(version).await?;
    }
    let checkpoints: Vec<_> = project.store().list(Some(&project.checkpoint_dir())).try_collect().await?;
    let newest = checkpoints.iter().filter_map(|m| parse_number(&m.location)).max().unwrap_or(0);
    let logs: Vec<_> = project.store().list(Some(&project.log_dir())).try_collect().await?;
    let stale = checkpoints
        .iter()
        .filter(|m| parse_number(&m.location).is_some_and(|v| v < newest))
        // The newest entry stays: a handle behind the checkpoint notices the gap before it and
        // reloads from the checkpoint.
        .chain(logs.iter().filter(|m| parse_number(&m.location).is_some_and(|v| v < newest)));
    for meta in stale {
        if meta.last_modified <= old_enough {
            project.store().delete(&meta.location).await?;
            report.log_files_deleted += 1;
        }
    }
    Ok(())
}

/// A full purge of the project: expired versions, unreferenced files, compacted log.
pub async fn purge_project(project: &Project, budget: usize) -> Result<PurgeReport> {
    let now = || project.clock().now();
    let mut report = forget(project, "PURGE (retention)", budget, |s| Ok(expired(s, now()))).await?;
    sweep(project, budget, &mut report).await?;
    Ok(report)
}

/// After a statement: starts a bounded purge in the background when versions have expired (or
/// every few commits, to sweep), unless one is already running. Never blocks or fails the
/// statement; a CLI waits for it before exiting.
pub(crate) fn spawn_auto(project: &Arc<Project>) {
    if project.background_running() {
        return;
    }
    let needed = {
        let state = project.state();
        !expired(&state, project.clock().now()).is_empty() || state.version.is_multiple_of(CHECKPOINT_INTERVAL)
    };
    if needed {
        let p = Arc::clone(project);
        project.add_background(tokio::spawn(async move {
            let _ = purge_project(&p, AUTO_DELETE_BUDGET).await;
        }));
    }
}

/// PURGE TABLE t: all past versions of the live table t, and every dropped table named t.
pub(crate) async fn purge_table(tm: &TimeMachine, text: &str, name: &str) -> Result<StatementResult> {
    let project = tm.project();
    let compute = |state: &ProjectState| {
        let mut out: Vec<Expiry> = state
            .tables
            .values()
            .filter(|t| t.current.dropped && t.current.name == name)
            .map(|t| Expiry { table_id: t.id.clone(), keep_from: None })
            .collect();
        match state.live_table(name) {
            Some(t) if t.entries.len() > 1 => {
                out.push(Expiry { table_id: t.id.clone(), keep_from: Some(t.current.lsn) })
            }
            Some(_) => {}
            None if out.is_empty() => return Err(Error::not_found(format!("table {name} does not exist"))),
            None => {}
        }
        Ok(out)
    };
    forget(project, text, usize::MAX, compute).await?;
    Ok(StatementResult::ok())
}
