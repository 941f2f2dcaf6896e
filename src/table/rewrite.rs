//! Copy-on-write of row-level changes (DELETE, UPDATE): a file holding rows that change is read
//! and written anew; every other file stays shared with the previous
//! version, so a change to a few rows of a big table writes one file's worth, not the table.

use std::collections::BTreeMap;
use std::sync::Arc;

use datafusion::arrow::array::{Array, ArrayRef, AsArray, BooleanArray, RecordBatch};
use datafusion::arrow::compute::kernels::zip::zip;
use datafusion::arrow::compute::{cast, filter_record_batch};
use datafusion::arrow::datatypes::Int64Type;
use datafusion::common::config::TableParquetOptions;
use datafusion::datasource::TableProvider;
use datafusion::error::{DataFusionError, Result as DfResult};
use datafusion::execution::{SendableRecordBatchStream, TaskContext};
use datafusion::physical_expr::PhysicalExpr;
use datafusion::physical_expr::utils::{collect_columns, reassign_expr_columns};
use datafusion::physical_plan::ExecutionPlan;
use datafusion::physical_plan::stream::{RecordBatchReceiverStream, RecordBatchStreamAdapter};
use futures::future::BoxFuture;
use futures::{StreamExt, TryStreamExt};

use super::changes::{ChangeFiles, ChangeKind, ChangeRows, change_writer};
use super::provider::VersionedTable;
use super::writer::PartitionWriter;
use crate::error::Result;
use crate::log::Project;
use crate::state::Deletions;
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
    pub(super) fn predicate(&self) -> Option<Arc<dyn PhysicalExpr>> {
        let (RowChange::Delete { predicate } | RowChange::Update { predicate, .. }) = self;
        predicate.clone()
    }

    /// True for each row of `batch` that the change touches.
    pub(super) fn mask(&self, batch: &RecordBatch) -> DfResult<BooleanArray> {
        match self.predicate() {
            Some(predicate) => matching(&predicate, batch),
            None => Ok(BooleanArray::from(vec![true; batch.num_rows()])),
        }
    }

    /// `batch` after the change, cast to the table's types; the rows it changes go to `changes`.
    async fn apply(&self, batch: &RecordBatch, changes: &ChangeRows) -> DfResult<RecordBatch> {
        let mask = self.mask(batch)?;
        self.apply_to(batch, &mask, changes).await
    }

    /// [`Self::apply`] to the rows of `mask` (the rows the change touches).
    pub(super) async fn apply_to(
        &self,
        batch: &RecordBatch,
        mask: &BooleanArray,
        changes: &ChangeRows,
    ) -> DfResult<RecordBatch> {
        let schema = batch.schema();
        match self {
            RowChange::Delete { .. } => {
                changes.send(batch, mask, ChangeKind::Delete).await?;
                let keep: BooleanArray = mask.iter().map(|v| Some(v != Some(true))).collect();
                Ok(filter_record_batch(batch, &keep)?)
            }
            RowChange::Update { assignments, .. } => {
                let mut columns: Vec<ArrayRef> = batch.columns().to_vec();
                for (i, expr) in assignments {
                    let new = expr.evaluate_selection(batch, mask)?.into_array(batch.num_rows())?;
                    let new = cast(&new, schema.field(*i).data_type())?;
                    columns[*i] = zip(mask, &new.as_ref(), &columns[*i].as_ref())?;
                }
                let updated = crate::types::conformed(&schema, columns)?;
                changes.send(batch, mask, ChangeKind::Preimage).await?;
                changes.send(&updated, mask, ChangeKind::Postimage).await?;
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

/// The search of one file for the rows a change touches: the file and their positions.
type Search<'a> = BoxFuture<'a, Result<(&'a DataFile, Vec<u64>)>>;

/// What a row-level change does to the files of one partition.
struct Touched<'a> {
    partition: &'a Partition,
    /// Files written anew (copy-on-write, or most of their rows go).
    copied: Vec<&'a DataFile>,
    /// Files that keep their data and get a deletion vector of these positions.
    marked: Vec<(&'a DataFile, Vec<u64>)>,
    /// Files every live row of which goes.
    dropped: Vec<&'a DataFile>,
}

/// Applies `change` to the files of `partitions` of `table` (a version of a table of `project`):
/// a first pass finds the rows it touches in each file (their positions), a second writes the
/// change. Copy-on-write writes each touched file anew; with `merge_on_read`, a file keeps its
/// data and gets a deletion vector of the touched rows (UPDATE writes their new images to new
/// files), unless the change touches most of its rows: that file is rewritten.
pub async fn rewrite(
    project: &Arc<Project>,
    table: &VersionedTable,
    partitions: &[&Partition],
    change: Arc<RowChange>,
    ctx: Arc<TaskContext>,
    merge_on_read: bool,
) -> Result<Rewritten> {
    let options = parquet_options(&ctx);
    if merge_on_read && matches!(*change, RowChange::Update { .. }) {
        let once = super::update_pass::update_by_vectors(project, table, partitions, &change, &options, &ctx);
        if let Some(out) = Box::pin(once).await? {
            return Ok(out);
        }
    }
    let mut out = Rewritten::default();
    let mut touched = vec![];
    // Files are searched side by side: each search is one file's scan, on one core.
    let parallel = ctx.session_config().target_partitions().max(1);
    for partition in partitions {
        // Collected and boxed with their Send bound spelled out: a stream over a closure that
        // borrows these locals is not provably Send (rust-lang/rust#102211).
        let searches: Vec<Search<'_>> = partition
            .files
            .iter()
            .map(|file| {
                let (options, change, ctx) = (&options, &change, &ctx);
                let search =
                    async move { Ok((file, touched_rows(table, partition, file, options, change, ctx).await?)) };
                Box::pin(search) as Search<'_>
            })
            .collect();
        let found: Vec<(&DataFile, Vec<u64>)> =
            futures::stream::iter(searches).buffered(parallel).try_collect().await?;
        let mut t = Touched { partition, copied: vec![], marked: vec![], dropped: vec![] };
        for (file, positions) in found.into_iter().filter(|(_, p)| !p.is_empty()) {
            out.rows += positions.len() as u64;
            if positions.len() as u64 == file.live_rows() {
                t.dropped.push(file);
            } else if merge_on_read && !file.loses_most(positions.len() as u64) {
                t.marked.push((file, positions));
            } else {
                t.copied.push(file);
            }
        }
        touched.push(t);
    }
    // A change that only marks rows and drops whole files: the version's file lists say exactly
    // which rows went (the change feed reads them from the old files through the vectors) and,
    // for an UPDATE, the files it adds hold exactly the new images (the feed pairs them as an
    // UPDATE's), so no change file is written; a DELETE does not even read the rows' other
    // columns. Any file rewritten carries kept rows into a new file, which only change files
    // can tell apart.
    let exact = touched.iter().all(|t| t.copied.is_empty());
    let deletes = matches!(*change, RowChange::Delete { .. });
    for t in touched {
        let Touched { partition, mut copied, marked, mut dropped } = t;
        if copied.is_empty() && marked.is_empty() && dropped.is_empty() {
            continue;
        }
        let (mut files, mut changed) = (vec![], ChangeFiles::default());
        if !(exact && deletes) {
            // Read like any rewritten file: their rows are the change's rows.
            copied.append(&mut dropped);
            let read = (copied.as_slice(), marked.as_slice());
            let written = write_change(project, table, partition, read, &change, !exact, &options, &ctx);
            (files, changed) = Box::pin(written).await?;
        }
        let mut removed: Vec<String> = copied.iter().chain(&dropped).map(|f| f.key()).collect();
        for (file, positions) in marked {
            removed.push(file.key());
            let deleted = Deletions::adding(file.deleted.as_deref(), positions);
            files.push(DataFile { deleted: Some(Arc::new(deleted)), ..file.clone() });
        }
        out.partitions.insert(partition.values.clone(), (removed, files));
        out.changes.insert(partition.values.clone(), changed.remove(&partition.values).unwrap_or_default());
    }
    Ok(out)
}

/// Writes `change` to `copied` (each written anew) and to the rows of `marked` (read once: their
/// change rows, and UPDATE's new images): the data files written and, with `change_files`, the
/// change files.
#[allow(clippy::too_many_arguments)]
async fn write_change(
    project: &Arc<Project>,
    table: &VersionedTable,
    partition: &Partition,
    (copied, marked): (&[&DataFile], &[(&DataFile, Vec<u64>)]),
    change: &Arc<RowChange>,
    change_files: bool,
    options: &TableParquetOptions,
    ctx: &Arc<TaskContext>,
) -> Result<(Vec<DataFile>, ChangeFiles)> {
    let snapshot = table.snapshot();
    let (changes, changes_written) = if change_files {
        let statics = partition.values.iter().cloned().map(Some).collect();
        let ids = BTreeMap::from([(partition.values.clone(), partition.id.clone())]);
        let (rows, written) =
            change_writer(project, (&snapshot.id, &snapshot.schema, &snapshot.properties), statics, ids)?;
        (rows, Box::pin(written) as BoxFuture<'static, Result<ChangeFiles>>)
    } else {
        (ChangeRows::unneeded(), Box::pin(async { Ok(ChangeFiles::default()) }) as BoxFuture<'static, _>)
    };
    let mut plans = vec![];
    for file in copied {
        plans.push((table.scan_file(partition, file, options.clone(), None, &ctx.runtime_env())?, false));
    }
    for (file, positions) in marked {
        let runtime = ctx.runtime_env();
        let plan =
            table.scan_file_positions(partition, file, (options.clone(), None), &runtime, Some(positions), None)?;
        plans.push((plan, true));
    }
    let width = TableProvider::schema(table).fields().len();
    let change = Arc::clone(change);
    let apply = move |b: RecordBatch, selected: bool| -> BoxFuture<'static, DfResult<RecordBatch>> {
        let (change, changes) = (Arc::clone(&change), changes.clone());
        Box::pin(async move {
            if !selected {
                return change.apply(&b, &changes).await;
            }
            let b = b.project(&(0..width).collect::<Vec<_>>())?;
            let all = BooleanArray::from(vec![true; b.num_rows()]);
            change.apply_to(&b, &all, &changes).await
        })
    };
    let rewritten = write_plans(project, table, partition, plans, ctx, apply, None);
    let ((files, _), changed) = futures::try_join!(rewritten, changes_written)?;
    Ok((files, changed))
}

/// The positions of the rows of `file` that `change` touches (row groups that the predicate's
/// statistics rule out are not read).
async fn touched_rows(
    table: &VersionedTable,
    partition: &Partition,
    file: &DataFile,
    options: &TableParquetOptions,
    change: &RowChange,
    ctx: &Arc<TaskContext>,
) -> Result<Vec<u64>> {
    let Some(predicate) = change.predicate() else {
        return Ok(live_positions(file));
    };
    // Only the predicate's columns are read, and the predicate also runs inside the reader: a
    // change of a few rows spread over every page decodes nothing else (the rows' other columns
    // are read later, and only when the change needs them).
    let mut columns: Vec<usize> = collect_columns(&predicate).iter().map(|c| c.index()).collect();
    columns.sort_unstable();
    columns.dedup();
    let mut options = options.clone();
    options.global.pushdown_filters = true;
    options.global.reorder_filters = true;
    let runtime = ctx.runtime_env();
    let scan = (options, Some(Arc::clone(&predicate)));
    let plan = table.scan_file_positions(partition, file, scan, &runtime, None, Some(&columns))?;
    // The predicate again, over the columns read: the reader may not apply every filter.
    let predicate = reassign_expr_columns(predicate, &plan.schema())?;
    let mut rows = plan.execute(0, Arc::clone(ctx))?;
    let mut out = vec![];
    while let Some(batch) = rows.next().await {
        let batch = batch?;
        let mask = matching(&predicate, &batch)?;
        let positions = batch.column(batch.num_columns() - 1).as_primitive::<Int64Type>();
        out.extend(mask.iter().zip(positions.iter()).filter(|(m, _)| *m == Some(true)).filter_map(|(_, p)| p));
    }
    let mut out: Vec<u64> = out.into_iter().map(|p| p as u64).collect();
    out.sort_unstable();
    Ok(out)
}

/// The positions of the rows `file` holds (those its deletion vector does not name).
fn live_positions(file: &DataFile) -> Vec<u64> {
    match &file.deleted {
        Some(d) if d.only => d.iter().collect(),
        Some(d) => {
            let mut deleted = d.iter().peekable();
            (0..file.rows).filter(|&p| deleted.next_if_eq(&p).is_none()).collect()
        }
        None => (0..file.rows).collect(),
    }
}

/// True for each row of `batch` where `predicate` is true (SQL's three-valued logic: NULL does
/// not match).
fn matching(predicate: &Arc<dyn PhysicalExpr>, batch: &RecordBatch) -> DfResult<BooleanArray> {
    let value = predicate.evaluate(batch)?.into_array(batch.num_rows())?;
    let value = cast(&value, &datafusion::arrow::datatypes::DataType::Boolean)?;
    let value = value.as_any().downcast_ref::<BooleanArray>().ok_or_else(|| {
        DataFusionError::Internal(format!("the row predicate gave {}, not booleans", value.data_type()))
    })?;
    Ok(value.iter().map(|v| Some(v == Some(true))).collect())
}

/// `files` of `partition` (entries of `table`, with the deletion vectors to apply) written anew
/// without the rows their vectors name: the files written. Nothing is committed.
pub async fn materialize(
    project: &Arc<Project>,
    table: &VersionedTable,
    partition: &Partition,
    files: &[DataFile],
    ctx: Arc<TaskContext>,
) -> Result<Vec<DataFile>> {
    let files: Vec<&DataFile> = files.iter().collect();
    let options = parquet_options(&ctx);
    Ok(write_again(project, table, partition, &files, &options, &ctx, None).await?.0)
}

/// The session's Parquet read options, for scans of single files.
pub(super) fn parquet_options(ctx: &TaskContext) -> TableParquetOptions {
    let mut options = TableParquetOptions::default();
    options.global = ctx.session_config().options().execution.parquet.clone();
    options
}

/// Reads the live rows of `files` of `partition` and writes them as new files of the partition
/// (closed near `target_bytes` when given): the files written and their rows. Nothing is
/// committed.
pub(super) async fn write_again(
    project: &Arc<Project>,
    table: &VersionedTable,
    partition: &Partition,
    files: &[&DataFile],
    options: &TableParquetOptions,
    ctx: &Arc<TaskContext>,
    target_bytes: Option<usize>,
) -> Result<(Vec<DataFile>, u64)> {
    let plans = files
        .iter()
        .map(|f| Ok((table.scan_file(partition, f, options.clone(), None, &ctx.runtime_env())?, false)))
        .collect::<DfResult<Vec<_>>>()?;
    let same = |b: RecordBatch, _| -> BoxFuture<'static, DfResult<RecordBatch>> { Box::pin(async move { Ok(b) }) };
    write_plans(project, table, partition, plans, ctx, same, target_bytes).await
}

/// Runs `plans` in order, passes each batch through `map` (with the tag its plan came with; a
/// future, which may wait for the change writer) and writes the rows as new files of
/// `partition`: the files written and their rows.
pub(super) async fn write_plans<T, F>(
    project: &Arc<Project>,
    table: &VersionedTable,
    partition: &Partition,
    plans: Vec<(Arc<dyn ExecutionPlan>, T)>,
    ctx: &Arc<TaskContext>,
    map: F,
    target_bytes: Option<usize>,
) -> Result<(Vec<DataFile>, u64)>
where
    T: Copy + Send + 'static,
    F: Fn(RecordBatch, T) -> BoxFuture<'static, DfResult<RecordBatch>> + Send + Sync + 'static,
{
    let task = Arc::clone(ctx);
    let map = Arc::new(map);
    // Files are read side by side, each in a task of its own (decoding is most of a rewrite's
    // time); the rows of different files may interleave, which no file written relies on.
    let parallel = ctx.session_config().target_partitions().max(1);
    let rows = futures::stream::iter(plans)
        .map(move |(plan, flag)| {
            let map = Arc::clone(&map);
            spawned(plan, Arc::clone(&task)).then(move |b| match b {
                Ok(b) => map(b, flag),
                Err(e) => Box::pin(async move { Err(e) }),
            })
        })
        .flatten_unordered(parallel);
    let rows: SendableRecordBatchStream = Box::pin(RecordBatchStreamAdapter::new(TableProvider::schema(table), rows));
    let snapshot = table.snapshot();
    let statics = partition.values.iter().cloned().map(Some).collect();
    let ids = BTreeMap::from([(partition.values.clone(), partition.id.clone())]);
    let mut writer = PartitionWriter::new(Arc::clone(project), &snapshot.id, &snapshot.schema, statics, ids)?
        .with_table_properties(&snapshot.properties)?;
    if let Some(bytes) = target_bytes {
        writer = writer.with_target_file_size(bytes);
    }
    let written = writer.write_stream(rows).await?;
    let files = written.partitions.get(&partition.values).cloned().unwrap_or_default();
    Ok((files, written.rows))
}

/// The rows of `plan` (one partition), read by a task of its own.
fn spawned(plan: Arc<dyn ExecutionPlan>, ctx: Arc<TaskContext>) -> SendableRecordBatchStream {
    let mut builder = RecordBatchReceiverStream::builder(plan.schema(), 2);
    let tx = builder.tx();
    builder.spawn(async move {
        let mut rows = plan.execute(0, ctx)?;
        while let Some(batch) = rows.next().await {
            // The reader is gone (the statement failed or was cancelled): stop reading.
            if tx.send(batch).await.is_err() {
                break;
            }
        }
        Ok(())
    });
    builder.build()
}

/// The files of `partition` once `removed` (by [`DataFile::key`]: a file whose deletion vector
/// changed since is another entry) are replaced by `added`; None when one of `removed` is no
/// longer there (another statement rewrote it, deleted rows of it or dropped it: a conflict).
pub fn replaced_files(partition: &Partition, removed: &[String], added: &[DataFile]) -> Option<Vec<DataFile>> {
    if !removed.iter().all(|r| partition.files.iter().any(|f| &f.key() == r)) {
        return None;
    }
    let mut files: Vec<DataFile> = partition.files.iter().filter(|f| !removed.contains(&f.key())).cloned().collect();
    files.extend(added.iter().cloned());
    Some(files)
}
