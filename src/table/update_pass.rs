//! An UPDATE through deletion vectors in one read of each file. The two-pass rewrite first
//! reads the predicate's columns of every row to find the touched rows, then their other columns
//! for the new images; with vectors alone, one scan filtering inside the Parquet reader does
//! both (it decodes the predicate's columns, then the others for the rows it keeps only) and
//! notes each kept row's position for the file's vector. Only when a file turns out to lose most
//! of its rows (rewritten instead, which needs change files) is what it wrote discarded and the
//! two-pass rewrite run instead.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use datafusion::arrow::array::{AsArray, BooleanArray, RecordBatch};
use datafusion::arrow::compute::filter_record_batch;
use datafusion::arrow::datatypes::Int64Type;
use datafusion::common::config::TableParquetOptions;
use datafusion::datasource::TableProvider;
use datafusion::error::Result as DfResult;
use datafusion::execution::TaskContext;
use futures::future::BoxFuture;

use super::changes::ChangeRows;
use super::provider::VersionedTable;
use super::rewrite::{Rewritten, RowChange, write_plans};
use crate::error::Result;
use crate::log::Project;
use crate::state::Deletions;
use crate::state::model::{DataFile, Partition};

/// Applies `change` (an UPDATE) to the files of `partitions` through deletion vectors, reading
/// each file once: the outcome, or None when some file loses most of its rows (nothing written
/// stays; the two-pass rewrite takes over).
pub(super) async fn update_by_vectors(
    project: &Arc<Project>,
    table: &VersionedTable,
    partitions: &[&Partition],
    change: &Arc<RowChange>,
    options: &TableParquetOptions,
    ctx: &Arc<TaskContext>,
) -> Result<Option<Rewritten>> {
    let mut out = Rewritten::default();
    let mut written: Vec<DataFile> = vec![];
    for partition in partitions {
        let (files, touched) = match one_pass(project, table, partition, change, options, ctx).await {
            Ok(found) => found,
            Err(e) => {
                // The partitions done so far wrote files no version will reference.
                super::writer::discard(project, &written).await;
                return Err(e);
            }
        };
        written.extend(files.iter().cloned());
        // Rewritten instead, which only change files can tell apart from the rows it keeps.
        let most = |(f, at): &(&DataFile, Vec<u64>)| (at.len() as u64) < f.live_rows() && f.loses_most(at.len() as u64);
        if touched.iter().any(most) {
            super::writer::discard(project, &written).await;
            return Ok(None);
        }
        if touched.is_empty() && files.is_empty() {
            continue;
        }
        let (mut removed, mut added) = (vec![], files);
        for (file, at) in touched {
            out.rows += at.len() as u64;
            removed.push(file.key());
            // A file every live row of which was updated goes whole; the others get a vector.
            if (at.len() as u64) < file.live_rows() {
                let deleted = Deletions::adding(file.deleted.as_deref(), at);
                added.push(DataFile { deleted: Some(Arc::new(deleted)), ..file.clone() });
            }
        }
        out.partitions.insert(partition.values.clone(), (removed, added));
        out.changes.insert(partition.values.clone(), Default::default());
    }
    Ok(Some(out))
}

/// Reads every file of `partition` once, writing the new images of the rows `change` touches:
/// the files written, and the positions updated in each touched file.
async fn one_pass<'a>(
    project: &Arc<Project>,
    table: &VersionedTable,
    partition: &'a Partition,
    change: &Arc<RowChange>,
    options: &TableParquetOptions,
    ctx: &Arc<TaskContext>,
) -> Result<(Vec<DataFile>, Vec<(&'a DataFile, Vec<u64>)>)> {
    let predicate = change.predicate();
    let mut options = options.clone();
    options.global.pushdown_filters = true;
    options.global.reorder_filters = true;
    let runtime = ctx.runtime_env();
    let plans = (0..partition.files.len())
        .map(|i| {
            let scan = (options.clone(), predicate.clone());
            Ok((table.scan_file_positions(partition, &partition.files[i], scan, &runtime, None, None)?, i))
        })
        .collect::<DfResult<Vec<_>>>()?;
    let width = TableProvider::schema(table).fields().len();
    let found: Arc<Mutex<HashMap<usize, Vec<u64>>>> = Arc::default();
    let (change, noted) = (Arc::clone(change), Arc::clone(&found));
    let apply = move |b: RecordBatch, file: usize| -> BoxFuture<'static, DfResult<RecordBatch>> {
        let (change, noted) = (Arc::clone(&change), Arc::clone(&noted));
        Box::pin(async move {
            let positions = b.column(width).as_primitive::<Int64Type>().clone();
            let b = b.project(&(0..width).collect::<Vec<_>>())?;
            // The predicate again: the reader may not apply every filter.
            let mask = change.mask(&b)?;
            let kept = mask.iter().zip(positions.iter()).filter(|(m, _)| *m == Some(true));
            let at: Vec<u64> = kept.filter_map(|(_, p)| p).map(|p| p as u64).collect();
            // Noting only: a poisoned lock still holds whole lists.
            noted.lock().unwrap_or_else(|e| e.into_inner()).entry(file).or_default().extend(at);
            let rows = filter_record_batch(&b, &mask)?;
            let all = BooleanArray::from(vec![true; rows.num_rows()]);
            change.apply_to(&rows, &all, &ChangeRows::unneeded()).await
        })
    };
    let (files, _) = Box::pin(write_plans(project, table, partition, plans, ctx, apply, None)).await?;
    let found = std::mem::take(&mut *found.lock().unwrap_or_else(|e| e.into_inner()));
    let mut touched: Vec<(&DataFile, Vec<u64>)> = found
        .into_iter()
        .filter(|(_, at)| !at.is_empty())
        .map(|(i, mut at)| {
            at.sort_unstable();
            (&partition.files[i], at)
        })
        .collect();
    touched.sort_by(|a, b| a.0.path.cmp(&b.0.path));
    Ok((files, touched))
}
