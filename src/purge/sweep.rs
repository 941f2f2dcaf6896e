//! The sweep: data files no retained version references (left by failed or killed statements),
//! and log entries and checkpoints behind the newest checkpoint, once older than the grace period.

use chrono::Utc;
use futures::TryStreamExt;
use object_store::ObjectStoreExt;

use super::PurgeReport;
use super::expire::referenced;
use crate::error::Result;
use crate::log::{Project, parse_number};

/// Deletes data files that no retained version references and that are older than the grace
/// period, and log entries and checkpoints behind the newest checkpoint.
pub(super) async fn sweep(project: &Project, budget: usize, report: &mut PurgeReport) -> Result<()> {
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

