//! MERGE SMALLFILES: the small files of a partition read and written again as few files near a
//! target size. The rows do not change; older versions keep reading the old files until
//! retention lets the purge free them.

use std::sync::Arc;

use datafusion::execution::TaskContext;

use super::provider::VersionedTable;
use super::rewrite::{Rewritten, parquet_options, write_again};
use crate::error::Result;
use crate::log::Project;
use crate::state::model::{DataFile, Partition};

/// The files of `partition` that MERGE SMALLFILES rewrites for `target` bytes: those under
/// three quarters of it (a file near the target is left alone), when there are two or more. In
/// a hash-clustered table (`by_bucket`) files merge within their bucket only (a file holds one
/// bucket), so a bucket's one small file is left alone.
pub fn small_files(partition: &Partition, target: u64, by_bucket: bool) -> Vec<&DataFile> {
    // A file with a deletion vector is rewritten whatever its size: the merge writes the
    // vector into the data (its rows gone for good, scans no longer skip them).
    let small: Vec<&DataFile> =
        partition.files.iter().filter(|f| f.size < target / 4 * 3 || f.deleted.is_some()).collect();
    let group = |f: &DataFile| if by_bucket { f.bucket } else { None };
    let mut per_group: std::collections::HashMap<Option<u32>, usize> = Default::default();
    for f in &small {
        *per_group.entry(group(f)).or_default() += 1;
    }
    small.into_iter().filter(|f| per_group[&group(f)] >= 2 || f.deleted.is_some()).collect()
}

/// True when the files of `table` merge within their bucket (see [`small_files`]).
pub fn merges_by_bucket(table: &crate::state::TableSnapshot) -> bool {
    table.schema.clustering.as_ref().is_some_and(|c| c.kind == crate::state::model::ClusterKind::Hash)
}

/// Rewrites the small files of each of `partitions` of `table` into files of about `target`
/// bytes. `rows` of the outcome counts the rows moved.
pub async fn merge_small_files(
    project: &Arc<Project>,
    table: &VersionedTable,
    partitions: &[&Partition],
    target: u64,
    ctx: Arc<TaskContext>,
) -> Result<Rewritten> {
    let options = parquet_options(&ctx);
    let target_bytes = Some(usize::try_from(target).unwrap_or(usize::MAX));
    let mut out = Rewritten::default();
    for partition in partitions {
        let small = small_files(partition, target, merges_by_bucket(table.snapshot()));
        if small.is_empty() {
            continue;
        }
        // In the order the files were written, so that rows keep their order.
        let (files, rows) = write_again(project, table, partition, &small, &options, &ctx, target_bytes).await?;
        out.rows += rows;
        let removed = small.iter().map(|f| f.key()).collect();
        out.partitions.insert(partition.values.clone(), (removed, files));
    }
    Ok(out)
}
