//! Copy-on-write of row-level changes (DELETE, UPDATE): a file holding rows that change is read
//! and written anew; every other file stays shared with the previous
//! version, so a change to a few rows of a big table writes one file's worth, not the table.

use std::collections::BTreeMap;
use std::sync::Arc;

use datafusion::arrow::array::{Array, ArrayRef, BooleanArray, RecordBatch};
use datafusion::arrow::compute::kernels::zip::zip;
use datafusion::arrow::compute::{cast, filter_record_batch};
use datafusion::common::config::TableParquetOptions;
use datafusion::datasource::TableProvider;
use datafusion::error::{DataFusionError, Result as DfResult};
use datafusion::execution::{SendableRecordBatchStream, TaskContext};
use datafusion::physical_expr::PhysicalExpr;
use datafusion::physical_plan::ExecutionPlan;
use datafusion::physical_plan::stream::RecordBatchStreamAdapter;
use futures::{StreamExt, TryStreamExt};

use super::changes::{ChangeFiles, ChangeKind, ChangeRows, change_writer};
use super::provider::VersionedTable;
use super::writer::PartitionWriter;
use crate::error::Result;
use crate::log::Project;
use crate::state::model::{DataFile, Partition};

/// What happens to the rows of a table.
#[derive(Debug)]
pub enum RowChange {
    /// The rows where the predicate is true go (every row when there is none).
    Delete {
        /// Over the table's columns (data, then partition columns).
        predicate: Option<Arc<dyn PhysicalExpr>>,
    },
    /// The rows where the predicate is true get new values in some columns.
    Update {
        /// Over the table's columns.
        predicate: Option<Arc<dyn PhysicalExpr>>,
        /// (index of the column in the table schema, its new value).
        assignments: Vec<(usize, Arc<dyn PhysicalExpr>)>,
    },
}

impl RowChange {
    fn predicate(&self) -> Option<Arc<dyn PhysicalExpr>> {
        let (RowChange::Delete { predicate } | RowChange::Update { predicate, .. }) = self;
        predicate.clone()
    }

    /// True for each row of `batch` that the change touches.
    fn mask(&self, batch: &RecordBatch) -> DfResult<BooleanArray> {
        let (RowChange::Delete { predicate } | RowChange::Update { predicate, .. }) = self;
        let Some(predicate) = predicate else {
            return Ok(BooleanArray::from(vec![true; batch.num_rows()]));
        };
        let value = predicate.evaluate(batch)?.into_array(batch.num_rows())?;
        let value = cast(&value, &datafusion::arrow::datatypes::DataType::Boolean)?;
        let value = value.as_any().downcast_ref::<BooleanArray>().ok_or_else(|| {
            DataFusionError::Internal(format!("the row predicate gave {}, not booleans", value.data_type()))
        })?;
        // SQL's three-valued logic: NULL does not match.
        Ok(value.iter().map(|v| Some(v == Some(true))).collect())
    }

    /// `batch` after the change, cast to the table's types; the rows it changes go to `changes`.
    fn apply(&self, batch: &RecordBatch, changes: &ChangeRows) -> DfResult<RecordBatch> {
        let mask = self.mask(batch)?;
        let schema = batch.schema();
        match self {
            RowChange::Delete { .. } => {
                changes.send(batch, &mask, ChangeKind::Delete)?;
                let keep: BooleanArray = mask.iter().map(|v| Some(v != Some(true))).collect();
                Ok(filter_record_batch(batch, &keep)?)
            }
            RowChange::Update { assignments, .. } => {
                let mut columns: Vec<ArrayRef> = batch.columns().to_vec();
                for (i, expr) in assignments {
                    let new = expr.evaluate_selection(batch, &mask)?.into_array(batch.num_rows())?;
                    let new = cast(&new, schema.field(*i).data_type())?;
                    columns[*i] = zip(&mask, &new.as_ref(), &columns[*i].as_ref())?;
                }
                let updated = RecordBatch::try_new(schema, columns)?;
                changes.send(batch, &mask, ChangeKind::Preimage)?;
                changes.send(&updated, &mask, ChangeKind::Postimage)?;
                Ok(updated)
            }
        }
    }
}

/// The outcome of a rewrite, per partition touched.
#[derive(Debug, Default)]
pub struct Rewritten {
    /// Partition values → (paths of the files replaced, the files written in their place).
    pub partitions: BTreeMap<Vec<String>, (Vec<String>, Vec<DataFile>)>,
    /// Partition values → the change files holding the rows that changed (empty when the rows
    /// did not change: MERGE SMALLFILES).
    pub changes: ChangeFiles,
    /// Rows deleted or updated.
    pub rows: u64,
}

/// Applies `change` to the files of `partitions` of `table` (a version of a table of `project`):
/// a first pass finds the files with rows it touches, a second writes those files anew.
pub async fn rewrite(
    project: &Arc<Project>,
    table: &VersionedTable,
    partitions: &[&Partition],
    change: Arc<RowChange>,
    ctx: Arc<TaskContext>,
) -> Result<Rewritten> {
    let options = parquet_options(&ctx);
    let mut out = Rewritten::default();
    for partition in partitions {
        let mut touched: Vec<&DataFile> = vec![];
        for file in &partition.files {
            let mut rows = table
                .scan_file(partition, file, options.clone(), change.predicate(), &ctx.runtime_env())?
                .execute(0, Arc::clone(&ctx))?;
            let mut n = 0u64;
            while let Some(batch) = rows.next().await {
                n += change.mask(&batch?)?.true_count() as u64;
            }
            if n > 0 {
                touched.push(file);
                out.rows += n;
            }
        }
        if touched.is_empty() {
            continue;
        }
        let snapshot = table.snapshot();
        let statics = partition.values.iter().cloned().map(Some).collect();
        let ids = BTreeMap::from([(partition.values.clone(), partition.id.clone())]);
        let (changes, changes_written) = change_writer(project, &snapshot.id, &snapshot.schema, statics, ids)?;
        let change = Arc::clone(&change);
        let apply = move |b: RecordBatch| change.apply(&b, &changes);
        let rewritten = write_again(project, table, partition, &touched, &options, &ctx, apply, None);
        let ((files, _), mut changed) = futures::try_join!(rewritten, changes_written)?;
        let removed = touched.iter().map(|f| f.path.clone()).collect();
        out.partitions.insert(partition.values.clone(), (removed, files));
        out.changes.insert(partition.values.clone(), changed.remove(&partition.values).unwrap_or_default());
    }
    Ok(out)
}

/// The session's Parquet read options, for scans of single files.
pub(super) fn parquet_options(ctx: &TaskContext) -> TableParquetOptions {
    let mut options = TableParquetOptions::default();
    options.global = ctx.session_config().options().execution.parquet.clone();
    options
}

/// Reads `files` of `partition` in order, passes each batch through `map` and writes the rows
/// as new files of the partition (closed near `target_bytes` when given): the files written and
/// their rows. Nothing is committed.
#[allow(clippy::too_many_arguments)]
pub(super) async fn write_again<F>(
    project: &Arc<Project>,
    table: &VersionedTable,
    partition: &Partition,
    files: &[&DataFile],
    options: &TableParquetOptions,
    ctx: &Arc<TaskContext>,
    map: F,
    target_bytes: Option<usize>,
) -> Result<(Vec<DataFile>, u64)>
where
    F: Fn(RecordBatch) -> DfResult<RecordBatch> + Send + 'static,
{
    let plans = files
        .iter()
        .map(|f| table.scan_file(partition, f, options.clone(), None, &ctx.runtime_env()))
        .collect::<DfResult<Vec<Arc<dyn ExecutionPlan>>>>()?;
    let task = Arc::clone(ctx);
    let rows = futures::stream::iter(plans)
        .map(move |plan| plan.execute(0, Arc::clone(&task)))
        .try_flatten()
        .map(move |batch| batch.and_then(&map));
    let rows: SendableRecordBatchStream = Box::pin(RecordBatchStreamAdapter::new(TableProvider::schema(table), rows));
    let snapshot = table.snapshot();
    let statics = partition.values.iter().cloned().map(Some).collect();
    let ids = BTreeMap::from([(partition.values.clone(), partition.id.clone())]);
    let mut writer = PartitionWriter::new(Arc::clone(project), &snapshot.id, &snapshot.schema, statics, ids)?;
    if let Some(bytes) = target_bytes {
        writer = writer.with_target_file_size(bytes);
    }
    let written = writer.write_stream(rows).await?;
    let files = written.partitions.get(&partition.values).cloned().unwrap_or_default();
    Ok((files, written.rows))
}

/// The files of `partition` once `removed` are replaced by `added`; None when one of `removed`
/// is no longer there (another statement rewrote or dropped it: a conflict).
pub fn replaced_files(partition: &Partition, removed: &[String], added: &[DataFile]) -> Option<Vec<DataFile>> {
    if !removed.iter().all(|r| partition.files.iter().any(|f| &f.path == r)) {
        return None;
    }
    let mut files: Vec<DataFile> = partition.files.iter().filter(|f| !removed.contains(&f.path)).cloned().collect();
    files.extend(added.iter().cloned());
    Some(files)
}
