//! `ALTER TABLE t [PARTITION (…)…] MERGE SMALLFILES`: one version in which the small files of
//! the table (or of the named partitions) are replaced by few files near the target size
//! (`timemachine.merge.target.bytes`, a project property). The rows, their LIFECYCLE clock and
//! what `VERSION BETWEEN` returns do not change; older versions keep their files until
//! retention ends.

use std::sync::Arc;

use datafusion::execution::TaskContext;

use super::ddl::spec_values;
use super::env::{Env, live_table};
use super::result::StatementResult;
use super::rowlevel::replace_files;
use crate::error::{Error, Result};
use crate::log::Draft;
use crate::sql::PartitionSpec;
use crate::state::model::{Operation, Partition, PutMode, partition_spec};
use crate::state::{ProjectState, TableSnapshot};
use crate::table::{VersionedTable, merge_small_files as rewrite_small_files};

/// The project property that sets the size MERGE SMALLFILES aims at, in bytes.
pub(crate) const MERGE_TARGET_KEY: &str = "timemachine.merge.target.bytes";
/// 128 MiB, as Iceberg, Delta and Lance aim at.
pub(crate) const DEFAULT_MERGE_TARGET: u64 = 128 << 20;
/// The largest target accepted (1 TiB).
pub(crate) const MAX_MERGE_TARGET: u64 = 1 << 40;

/// The target file size of `table`: its property `timemachine.merge.target.bytes`, else the
/// project's, else the default.
pub(crate) fn table_merge_target(state: &ProjectState, table: &TableSnapshot) -> u64 {
    let own = table.properties.get(MERGE_TARGET_KEY).and_then(|v| v.parse().ok());
    own.or_else(|| state.properties.get(MERGE_TARGET_KEY).and_then(|v| v.parse().ok())).unwrap_or(DEFAULT_MERGE_TARGET)
}

/// Runs MERGE SMALLFILES on `table` (the partitions of `specs`, or all). Commits nothing when no
/// partition has two or more small files.
pub(crate) async fn merge_small_files(
    env: &Env,
    text: &str,
    table: &str,
    specs: &[PartitionSpec],
    ctx: Arc<TaskContext>,
) -> Result<StatementResult> {
    if env.session_tables.contains(table) {
        return Err(Error::not_supported(format!(
            "MERGE SMALLFILES of session table {table}: it merges the files of the project's tables"
        )));
    }
    let state = env.project.snapshot().await?;
    let base = live_table(&state, table)?;
    let mut parts: Vec<&Partition> = vec![];
    if specs.is_empty() {
        parts.extend(base.partitions.values());
    }
    for spec in specs {
        let key = spec_values(table, &base.schema, spec)?;
        let p = base.partitions.get(&key).ok_or_else(|| {
            let spec = partition_spec(&base.schema.partition_columns, &key);
            Error::not_found(format!("partition {spec} of table {table} does not exist"))
        })?;
        if !parts.iter().any(|q| q.values == p.values) {
            parts.push(p);
        }
    }
    merge_partitions(env, text, &base, &parts, table_merge_target(&state, &base), ctx).await?;
    Ok(StatementResult::ok())
}

/// Merges the small files of `parts` of `base` (a version of a table) into files near `target`
/// bytes, as one version; true when there was something to merge.
pub(crate) async fn merge_partitions(
    env: &Env,
    text: &str,
    base: &Arc<TableSnapshot>,
    parts: &[&Partition],
    target: u64,
    ctx: Arc<TaskContext>,
) -> Result<bool> {
    let versioned = VersionedTable::try_new(Arc::clone(&env.project), Arc::clone(base))?;
    let out = rewrite_small_files(&env.project, &versioned, parts, target, ctx).await?;
    if out.partitions.is_empty() {
        return Ok(false);
    }
    let rewrite = |state: &ProjectState| {
        let change = replace_files(state, base, Operation::MergeSmallFiles, PutMode::Rewrite, &out)?;
        Ok(Draft { tables: vec![change], ..Default::default() })
    };
    env.commit(text, rewrite).await?;
    Ok(true)
}
