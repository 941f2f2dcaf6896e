//! Automatic MERGE SMALLFILES: a table whose property `timemachine.merge.auto` is `true` gets a
//! partition merged once it holds more than `timemachine.merge.auto.files` small files (default
//! 64), in the background after a statement (off its critical path), as a version of its own
//! (operation MERGE SMALLFILES). Also here: the checks of the table properties this crate reads.

use std::sync::Arc;

use datafusion::execution::TaskContext;

use super::compact::{MAX_MERGE_TARGET, MERGE_TARGET_KEY, merge_partitions, table_merge_target};
use super::env::Env;
use super::rowlevel::DELETE_MODE_KEY;
use crate::error::{Error, Result};
use crate::log::MaintenanceEvent;
use crate::state::model::{Partition, TableSchema, partition_spec};
use crate::state::{ProjectState, TableSnapshot};
use crate::table::{BLOOM_FILTER_COLUMNS_KEY, COMPRESSION_KEY, bloom_filter_columns, compression};
use crate::table::{merges_by_bucket, small_files};

/// The table property that turns automatic merging on (`true`) or off (`false`, the default).
pub(crate) const AUTO_KEY: &str = "timemachine.merge.auto";
/// The table property: how many small files a partition may hold before it is merged.
pub(crate) const AUTO_FILES_KEY: &str = "timemachine.merge.auto.files";
const DEFAULT_AUTO_FILES: usize = 64;

/// Fails unless `value` is valid for `key`, when `key` is a property this crate reads (any other
/// key is the user's own and any value goes).
pub(crate) fn check_property(key: &str, value: &str, schema: &TableSchema) -> Result<()> {
    if key == BLOOM_FILTER_COLUMNS_KEY {
        return bloom_filter_columns(value, schema).map(|_| ());
    }
    if key == COMPRESSION_KEY {
        return compression(value).map(|_| ());
    }
    let ok = match key {
        AUTO_KEY => matches!(value.to_lowercase().as_str(), "true" | "false"),
        AUTO_FILES_KEY => value.parse::<usize>().is_ok_and(|n| (2..=1_000_000).contains(&n)),
        MERGE_TARGET_KEY => value.parse::<u64>().is_ok_and(|n| (1..=MAX_MERGE_TARGET).contains(&n)),
        DELETE_MODE_KEY => matches!(value.to_lowercase().as_str(), "copy-on-write" | "merge-on-read"),
        _ => true,
    };
    if ok {
        return Ok(());
    }
    let wanted = match key {
        AUTO_KEY => "true or false".to_string(),
        AUTO_FILES_KEY => "a number of files from 2 to 1000000".to_string(),
        DELETE_MODE_KEY => "copy-on-write or merge-on-read".to_string(),
        _ => format!("a number of bytes from 1 to {MAX_MERGE_TARGET}"),
    };
    Err(Error::invalid(format!("table property {key} takes {wanted}, got '{value}'")))
}

/// The partitions of `table` due for an automatic merge.
fn due<'a>(state: &ProjectState, table: &'a TableSnapshot) -> Vec<&'a Partition> {
    if !table.properties.get(AUTO_KEY).is_some_and(|v| v.eq_ignore_ascii_case("true")) {
        return vec![];
    }
    let limit = table.properties.get(AUTO_FILES_KEY).and_then(|v| v.parse().ok()).unwrap_or(DEFAULT_AUTO_FILES);
    let target = table_merge_target(state, table);
    let by_bucket = merges_by_bucket(table);
    table.partitions.values().filter(|p| small_files(p, target, by_bucket).len() > limit).collect()
}

/// After a statement: merges, in the background, the due partitions of every live table that
/// asks for it, one version per table, unless a purge or merge of this process is running. Never
/// blocks or fails the statement; what happened goes to `timemachine_purges()`.
pub(crate) fn spawn(env: &Env, ctx: Arc<TaskContext>) {
    let project = &env.project;
    if project.purge_running() {
        return;
    }
    let tables: Vec<Arc<TableSnapshot>> = {
        let state = project.state();
        let mut out = vec![];
        for t in state.tables.values().filter(|t| !t.current.dropped) {
            // The current file list may still be encoded: a table that asks for merging is read.
            if t.current.properties.contains_key(AUTO_KEY)
                && t.current.partitions.try_get().is_ok()
                && !due(&state, &t.current).is_empty()
            {
                out.push(Arc::clone(&t.current));
            }
        }
        out
    };
    if tables.is_empty() {
        return;
    }
    let env = env.clone();
    let task = tokio::spawn(async move {
        for table in tables {
            let state = env.project.state();
            let parts = due(&state, &table);
            let cols = &table.schema.partition_columns;
            let specs: Vec<String> =
                parts.iter().map(|p| format!(" PARTITION ({})", partition_spec(cols, &p.values))).collect();
            let text = format!("ALTER TABLE {}{} MERGE SMALLFILES -- automatic", table.name, specs.join(","));
            let target = table_merge_target(&state, &table);
            drop(state);
            let outcome = merge_partitions(&env, &text, &table, &parts, target, Arc::clone(&ctx)).await;
            if let Err(e) = &outcome {
                tracing::warn!(table = table.name, error = %e, "automatic merge failed");
            }
            env.project.record(MaintenanceEvent {
                time: env.project.clock().now(),
                what: format!("automatic merge of {} partition(s) of table {}", parts.len(), table.name),
                outcome: outcome.map(|_| text).map_err(|e| e.to_string()),
            });
        }
    });
    project.add_purge(task);
}
