//! MERGE INTO: one version that changes the files holding matched rows and adds the inserted
//! rows. Merge-on-read (the default), the rows arrive as the matched rows that change (with
//! their file and position: they go into deletion vectors, their new images into new files)
//! and the source rows to insert; copy-on-write, as every row of each touched file (changed or
//! not, with the file it came from and what happens to it), then the source rows to insert,
//! and the touched files are written anew.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};

use datafusion::arrow::array::{Array, AsArray, BooleanArray, RecordBatch};
use datafusion::arrow::compute::filter_record_batch;
use datafusion::arrow::datatypes::{Int32Type, Int64Type, Schema};
use datafusion::error::{DataFusionError, Result as DfResult};
use datafusion::execution::{SendableRecordBatchStream, TaskContext};
use datafusion::physical_plan::stream::RecordBatchStreamAdapter;
use futures::StreamExt;

use super::env::Env;
use super::result::StatementResult;
use crate::error::{Error, Result};
use crate::log::Draft;
use crate::state::model::{
    Action, DataFile, HistoryRow, ObjectType, Operation, Partition, PutMode, TableChange, partition_spec,
};
use crate::state::{ProjectState, TableSnapshot};
use crate::table::{ChangeKind, ChangeRows, PartitionWriter, VersionedTable, WriteOutput, change_writer, materialize};

/// What happens to a row of the merge's stream (its last column).
pub(crate) mod act {
    /// A row of a touched file that stays as it is.
    pub(crate) const KEEP: i32 = 0;
    /// A matched row that WHEN MATCHED … UPDATE changes.
    pub(crate) const UPDATE: i32 = 1;
    /// A matched row that WHEN MATCHED … DELETE removes.
    pub(crate) const DELETE: i32 = 2;
    /// A source row that WHEN NOT MATCHED … INSERT adds.
    pub(crate) const INSERT: i32 = 3;
}

/// A MERGE planned against one version of its target.
#[derive(Debug, Clone)]
pub(crate) struct MergeTarget {
    /// The version the statement read.
    pub base: Arc<TableSnapshot>,
    /// The columns (index among data, then partition columns) that some WHEN MATCHED … UPDATE
    /// sets: the rows carry their old values after the act, in this order (`__tm_old_<i>`).
    pub updated: Vec<usize>,
    /// What the history calls it: MERGE, or the DELETE or UPDATE planned as one.
    pub operation: Operation,
    /// Deletion vectors: the rows are only those that change, each with its position in its
    /// file as the last column (`__tm_pos`).
    pub merge_on_read: bool,
}

#[derive(Default)]
struct Tally {
    /// Rows seen per touched file (to catch a target row that several source rows match).
    per_file: HashMap<String, u64>,
    /// Rows updated, deleted or inserted.
    affected: u64,
    /// Merge-on-read: the positions of the rows removed from each file (updated or deleted).
    positions: HashMap<String, Vec<u64>>,
}

/// Runs a MERGE whose rows are `rows` (the table's columns, then `__tm_file`, then the act), in
/// one or more streams written in parallel (a target file's rows may be in any of them: the
/// tally is shared).
pub(crate) async fn run(
    env: &Env,
    text: &str,
    target: &MergeTarget,
    rows: Vec<SendableRecordBatchStream>,
    ctx: Arc<TaskContext>,
) -> Result<StatementResult> {
    let base = &target.base;
    let file_rows: Arc<HashMap<String, u64>> =
        Arc::new(base.partitions.values().flat_map(|p| &p.files).map(|f| (f.path.clone(), f.live_rows())).collect());
    let tally = Arc::new(Mutex::new(Tally::default()));
    let width = base.schema.columns.len() + base.schema.partition_columns.len();
    let existing: BTreeMap<Vec<String>, String> =
        base.partitions.iter().map(|(k, p)| (k.clone(), p.id.clone())).collect();
    let statics = vec![None; base.schema.partition_columns.len()];
    let (changes, changes_written) =
        change_writer(&env.project, (&base.id, &base.schema, &base.properties), statics.clone(), existing.clone())?;
    let changed = (changes, Arc::new(target.updated.clone()));
    let kept = rows
        .into_iter()
        .map(|stream| {
            let positions = target.merge_on_read;
            let name = (base.name.as_str(), target.operation);
            tallied(stream, (width, positions), Arc::clone(&file_rows), Arc::clone(&tally), name, changed.clone())
        })
        .collect::<Result<Vec<_>>>()?;
    drop(changed);
    let writer = PartitionWriter::new(Arc::clone(&env.project), &base.id, &base.schema, statics, existing)?
        .with_table_properties(&base.properties)?;
    let (written, changes) = futures::try_join!(writer.write_streams(kept), changes_written)?;
    let tally = std::mem::take(&mut *tally.lock().unwrap_or_else(|e| e.into_inner()));
    if tally.affected == 0 {
        return Ok(StatementResult::rows_affected(0));
    }
    // Copy-on-write counts rows per file; merge-on-read collects their positions.
    let touched: Vec<String> = tally.per_file.into_keys().chain(tally.positions.keys().cloned()).collect();
    let marked = if target.merge_on_read {
        vectors(env, (base, target.operation), tally.positions, ctx).await?
    } else {
        BTreeMap::new()
    };
    env.commit(text, |state| {
        let mut table = draft(state, base, &touched, (&written, &marked), target.operation)?;
        let changed = super::rowlevel::change_data(&table.actions, &changes);
        table.actions.extend(changed);
        Ok(Draft { tables: vec![table], ..Default::default() })
    })
    .await?;
    Ok(StatementResult::rows_affected(tally.affected))
}

/// The error of a target row that several source rows match, in the words of the statement
/// the user wrote (an `UPDATE … FROM` is planned as a MERGE).
fn matched_twice(name: &str, operation: Operation) -> String {
    match operation {
        Operation::Update => format!(
            "UPDATE {name}: a row of {name} matches more than one row of the FROM clause; make the WHERE \
             condition match at most one FROM row per row of {name}"
        ),
        _ => format!(
            "MERGE INTO {name}: a row of {name} matches more than one row of the source; make the ON condition \
             match at most one source row per target row"
        ),
    }
}

/// The rows of `rows` that stay (all but deleted ones), without the file and act columns,
/// counted into `tally` as they pass; the rows that change go to `changes` (with the updated
/// columns whose old values follow the act).
fn tallied(
    rows: SendableRecordBatchStream,
    (width, with_positions): (usize, bool),
    file_rows: Arc<HashMap<String, u64>>,
    tally: Arc<Mutex<Tally>>,
    (name, operation): (&str, Operation),
    (changes, updated): (ChangeRows, Arc<Vec<usize>>),
) -> Result<SendableRecordBatchStream> {
    let in_schema = rows.schema();
    if in_schema.fields().len() < width + 2 {
        return Err(Error::invalid("internal: MERGE rows lack their file and act columns"));
    }
    // Nullable whatever the plan derived: a preimage batch takes the old values, NULL for the
    // rows a MERGE inserts (the plan may know the new values never are).
    let fields = in_schema.fields()[..width].iter().map(|f| f.as_ref().clone().with_nullable(true));
    let out_schema = Arc::new(Schema::new(fields.collect::<Vec<_>>()));
    let (t, name, out) = (tally, name.to_string(), Arc::clone(&out_schema));
    // Counts a batch into the tally: apart from the sends, which wait, so that the lock is
    // never held across a wait.
    let count = move |batch: &RecordBatch| -> DfResult<()> {
        let files = batch.column(width).as_string::<i32>();
        let acts = batch.column(width + 1).as_primitive::<Int32Type>();
        let positions = with_positions.then(|| batch.column(batch.num_columns() - 1).as_primitive::<Int64Type>());
        // Counting only: a poisoned lock still holds consistent counts.
        let mut tally = t.lock().unwrap_or_else(|e| e.into_inner());
        for i in 0..batch.num_rows() {
            let a = acts.value(i);
            if a != act::KEEP {
                tally.affected += 1;
            }
            if let Some(positions) = positions
                && a != act::INSERT
                && files.is_valid(i)
            {
                // Only changed rows arrive: a row matched twice shows as a repeated position.
                let at = u64::try_from(positions.value(i)).unwrap_or_default();
                tally.positions.entry(files.value(i).to_string()).or_default().push(at);
            } else if a != act::INSERT && files.is_valid(i) {
                let path = files.value(i);
                let seen = tally.per_file.entry(path.to_string()).or_default();
                *seen += 1;
                if *seen > file_rows.get(path).copied().unwrap_or(0) {
                    return Err(DataFusionError::Execution(matched_twice(&name, operation)));
                }
            }
        }
        Ok(())
    };
    let count = Arc::new(count);
    let kept = rows.then(move |batch| {
        let (count, changes, updated, out) =
            (Arc::clone(&count), changes.clone(), Arc::clone(&updated), Arc::clone(&out));
        async move {
            let batch = batch?;
            count(&batch)?;
            let acts = batch.column(width + 1).as_primitive::<Int32Type>();
            let now = crate::types::conformed(&out, batch.columns()[..width].to_vec())?;
            let is = |code: i32| -> BooleanArray { acts.iter().map(|a| Some(a == Some(code))).collect() };
            changes.send(&now, &is(act::DELETE), ChangeKind::Delete).await?;
            changes.send(&now, &is(act::INSERT), ChangeKind::Insert).await?;
            let updates = is(act::UPDATE);
            if updates.true_count() > 0 {
                let mut before = now.columns().to_vec();
                for (k, &i) in updated.iter().enumerate() {
                    before[i] = Arc::clone(batch.column(width + 2 + k));
                }
                changes.send(&crate::types::conformed(&out, before)?, &updates, ChangeKind::Preimage).await?;
                changes.send(&now, &updates, ChangeKind::Postimage).await?;
            }
            let keep: BooleanArray = acts.iter().map(|a| Some(a != Some(act::DELETE))).collect();
            Ok(filter_record_batch(&now, &keep)?)
        }
    });
    Ok(Box::pin(RecordBatchStreamAdapter::new(out_schema, kept)))
}

fn draft(
    state: &ProjectState,
    base: &TableSnapshot,
    touched: &[String],
    (written, marked): (&WriteOutput, &BTreeMap<Vec<String>, Vec<DataFile>>),
    operation: Operation,
) -> Result<TableChange> {
    let name = &base.name;
    let cur = match state.tables.get(&base.id) {
        Some(t) if !t.current.dropped && t.current.schema == base.schema => &t.current,
        _ => {
            return Err(Error::conflict(format!("table {name} was dropped, restored or altered by another statement")));
        }
    };
    // Partitions whose files change: those holding touched files, and those written to.
    let mut changes: BTreeMap<Vec<String>, Vec<String>> = BTreeMap::new();
    for (values, p) in base.partitions.iter() {
        let removed: Vec<String> = p.files.iter().filter(|f| touched.contains(&f.path)).map(|f| f.key()).collect();
        if !removed.is_empty() {
            changes.insert(values.clone(), removed);
        }
    }
    for values in written.partitions.keys() {
        changes.entry(values.clone()).or_default();
    }
    let cols = &cur.schema.partition_columns;
    let mut actions = vec![];
    let mut history = vec![];
    for (values, removed) in changes {
        let spec = partition_spec(cols, &values);
        let what = if cols.is_empty() { format!("table {name}") } else { format!("partition {spec} of table {name}") };
        let mut added = written.partitions.get(&values).cloned().unwrap_or_default();
        added.extend(marked.get(&values).into_iter().flatten().cloned());
        let (id, files) = match cur.partitions.get(&values) {
            Some(p) => {
                let same = base.partitions.get(&values).is_none_or(|b| b.id == p.id);
                let files = crate::table::replaced_files(p, &removed, &added).filter(|_| same);
                (
                    p.id.clone(),
                    files.ok_or_else(|| Error::conflict(format!("{what} was changed by another statement")))?,
                )
            }
            None if removed.is_empty() => (written.ids[&values].clone(), added),
            None => return Err(Error::conflict(format!("{what} was dropped by another statement"))),
        };
        actions.push(Action::PutPartition {
            partition: Partition { id: id.clone(), values: values.clone(), files: files.into(), ..Default::default() },
            mode: PutMode::Replace,
        });
        if !cols.is_empty() {
            history.push(HistoryRow {
                object_type: ObjectType::Partition,
                object_id: id,
                object_name: spec,
                operation,
            });
        }
    }
    if history.is_empty() {
        history.push(HistoryRow {
            object_type: ObjectType::Table,
            object_id: cur.id.clone(),
            object_name: cur.name.clone(),
            operation,
        });
    }
    Ok(TableChange { table_id: cur.id.clone(), lsn: cur.lsn + 1, history, actions, writes: false })
}

/// Merge-on-read: each touched file of `base` with the rows of `positions` added to its deletion
/// vector, per partition; a file that loses more than half of its live rows is written anew
/// without them instead (copy-on-write where it wins). Fails when a row was matched twice.
async fn vectors(
    env: &Env,
    (base, operation): (&Arc<TableSnapshot>, Operation),
    mut positions: HashMap<String, Vec<u64>>,
    ctx: Arc<TaskContext>,
) -> Result<BTreeMap<Vec<String>, Vec<DataFile>>> {
    let table = VersionedTable::try_new(Arc::clone(&env.project), Arc::clone(base))?;
    let mut out: BTreeMap<Vec<String>, Vec<DataFile>> = BTreeMap::new();
    for (values, partition) in base.partitions.iter() {
        let mut rewrite = vec![];
        for file in partition.files.iter() {
            let Some(mut rows) = positions.remove(&file.path) else { continue };
            rows.sort_unstable();
            let n = rows.len();
            rows.dedup();
            if rows.len() != n {
                return Err(Error::invalid(matched_twice(&base.name, operation)));
            }
            let deleted = crate::state::Deletions::adding(file.deleted.as_deref(), rows);
            let marked = DataFile { deleted: Some(Arc::new(deleted)), ..file.clone() };
            if file.loses_most(n as u64) {
                rewrite.push(marked);
            } else {
                out.entry(values.clone()).or_default().push(marked);
            }
        }
        if !rewrite.is_empty() {
            let files = materialize(&env.project, &table, partition, &rewrite, Arc::clone(&ctx)).await?;
            out.entry(values.clone()).or_default().extend(files);
        }
    }
    Ok(out)
}
