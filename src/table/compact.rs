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
/// three quarters of it (a file near the target is left alone), when there are two or more.
pub fn small_files(partition: &Partition, target: u64) -> Vec<&DataFile> {
    let small: Vec<&DataFile> = partition.files.iter().filter(|f| f.size < target / 4 * 3).collect();
    if small.len() < 2 { vec![] } else { small }
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
        let small = small_files(partition, target);
        if small.is_empty() {
            continue;
        }
        // In the order the files were written, so that rows keep their order.
        let (files, rows) = write_again(project, table, partition, &small, &options, &ctx, Ok, target_bytes).await?;
        out.rows += rows;
        let removed = small.iter().map(|f| f.path.clone()).collect();
        out.partitions.insert(partition.values.clone(), (removed, files));
    }
    Ok(out)
}
