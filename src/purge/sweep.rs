//! The sweep: data files no retained version references (left by failed or killed statements),
//! and log entries and checkpoints behind the newest checkpoint, once older than the grace period.

use std::collections::HashSet;

use futures::TryStreamExt;
use object_store::{ObjectStoreExt, PutPayload};

use super::clock::store_now;
use super::expire::referenced;
use super::report::PurgeReport;
use crate::error::Result;
use crate::log::{CHECKPOINT_INTERVAL, Project, parse_number, superseded_checkpoints};

/// Where a full purge leaves its marker (project-relative); its store timestamp says when it ran.
pub(super) const SWEPT_MARKER: &str = "_swept";

/// Deletes the files that purges freed more than a grace period ago (at most `budget`).
pub(crate) async fn delete_freed(project: &Project, budget: usize, report: &mut PurgeReport) -> Result<()> {
    let grace = chrono::Duration::from_std(project.grace()).unwrap_or_default();
    // Commit times come from the project's clock: compare with the same clock.
    let settled = project.clock().now() - grace;
    let due: Vec<String> =
        project.state().freed.iter().filter(|(_, at)| **at <= settled).map(|(p, _)| p.clone()).collect();
    let room = budget.saturating_sub(report.files_deleted);
    let all = due.len() <= room;
    for path in due.into_iter().take(room) {
        match project.store().delete(&project.path(&path)).await {
            Ok(()) | Err(object_store::Error::NotFound { .. }) => report.files_deleted += 1,
            Err(e) => return Err(e.into()),
        }
    }
    if all {
        project.freed_deleted_through(settled);
    }
    Ok(())
}

/// Deletes the files purges freed once the grace period has passed, data files that no retained
/// version references and that are older than the grace period (left by failed statements),
/// and log entries and checkpoints behind a checkpoint that is itself older than the grace
/// period (a process that listed the log or the checkpoints a moment ago still reads them).
pub(super) async fn sweep(project: &Project, budget: usize, report: &mut PurgeReport) -> Result<()> {
    project.refresh().await?;
    delete_freed(project, budget, report).await?;
    let grace = chrono::Duration::from_std(project.grace()).unwrap_or_default();
    // Object stores stamp files with their own clock: ages are measured with it, not with this
    // process's. For checkpoints, "old enough" is taken after this sweep writes one: that
    // checkpoint must count as having existed for a grace period of zero whatever the grain of
    // the store's timestamps (taken before the write, it counted only when a coarse file-system
    // clock stamped it no later than that instant).
    let old_enough = async || Ok::<_, crate::Error>(store_now(project).await? - grace);
    let (keep, freed) = {
        let state = project.state();
        (referenced(&state), state.freed.keys().cloned().collect::<HashSet<_>>())
    };
    // Data files: taken after the state that says what is referenced, so that a file a
    // statement writes (and commits) after that state is younger than this instant.
    let data_old_enough = old_enough().await?;
    let prefix = format!("{}/", project.name());
    let data: Vec<_> = project.store().list(Some(&project.path("data"))).try_collect().await?;
    for meta in data {
        if report.files_deleted >= budget {
            break;
        }
        let relative = meta.location.as_ref().strip_prefix(&prefix).unwrap_or(meta.location.as_ref());
        // Freed files wait for their own grace period (counted from the purge, not the write).
        if !keep.contains(relative) && !freed.contains(relative) && meta.last_modified <= data_old_enough {
            project.store().delete(&meta.location).await?;
            report.files_deleted += 1;
        }
    }
    // A checkpoint of the current state lets older log entries go (the commit that made a
    // multiple of the interval writes its own).
    let version = project.state().version;
    if version > 0 && !version.is_multiple_of(CHECKPOINT_INTERVAL) {
        project.write_checkpoint(version).await?;
    }
    let checkpoints: Vec<_> = project.store().list(Some(&project.checkpoint_dir())).try_collect().await?;
    let old_enough = old_enough().await?;
    // The newest checkpoint that has existed for a grace period: what an opener uses.
    let settled = checkpoints
        .iter()
        .filter(|m| m.last_modified <= old_enough)
        .filter_map(|m| parse_number(&m.location))
        .max()
        .unwrap_or(0);
    let logs: Vec<_> = project.store().list(Some(&project.log_dir())).try_collect().await?;
    let stale_logs = logs
        .iter()
        .filter(|m| parse_number(&m.location).is_some_and(|v| v < settled) && m.last_modified <= old_enough)
        .map(|m| m.location.clone());
    for path in superseded_checkpoints(&checkpoints, old_enough).into_iter().chain(stale_logs) {
        project.store().delete(&path).await?;
        report.log_files_deleted += 1;
    }
    // When this full purge ran, for the next statement to tell whether another is due (the store
    // stamps it with the clock every process shares).
    project.store().put(&project.path(SWEPT_MARKER), PutPayload::from_static(b"swept")).await?;
    Ok(())
}
