//! The change files of a row-level change (DELETE, UPDATE, MERGE): the rows it deleted, the
//! images before and after of the rows it updated and the rows it inserted, each with its
//! `_change_type`, written while the statement writes its data. A copy-on-write rewrite carries
//! unchanged rows into new files too; the change feed reads these files instead of telling the
//! changed rows from the carried ones by a diff.

use std::collections::BTreeMap;
use std::future::Future;
use std::sync::Arc;

use datafusion::arrow::array::{ArrayRef, BooleanArray, RecordBatch, StringArray};
use datafusion::arrow::compute::filter_record_batch;
use datafusion::arrow::datatypes::{Schema, SchemaRef};
use datafusion::error::{DataFusionError, Result as DfResult};
use datafusion::physical_plan::stream::RecordBatchStreamAdapter;
use tokio::sync::mpsc;

use super::file_settings::changes_compression;
use super::writer::{PartitionWriter, WriteOutput};
use crate::error::Result;
use crate::log::Project;
use crate::state::model::{CHANGE_TYPE_COLUMN, ColumnDef, DataFile, TableSchema};

/// What happened to a row, as `_change_type` says it (Delta's and DuckLake's words).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChangeKind {
    /// The row is gone.
    Delete,
    /// The row as it was before an update.
    Preimage,
    /// The row as an update left it.
    Postimage,
    /// A new row.
    Insert,
}

impl ChangeKind {
    /// The value of `_change_type`.
    pub fn as_str(self) -> &'static str {
        match self {
            ChangeKind::Delete => "delete",
            ChangeKind::Preimage => "update_preimage",
            ChangeKind::Postimage => "update_postimage",
            ChangeKind::Insert => "insert",
        }
    }
}

/// The schema of change files: the table's data columns, `_change_type`, then its partition
/// columns (the order a [`PartitionWriter`] takes rows in).
pub fn change_schema(schema: &TableSchema) -> TableSchema {
    let mut schema = TableSchema { clustering: None, ..schema.clone() };
    schema.columns.push(ColumnDef::new(CHANGE_TYPE_COLUMN, "string"));
    schema
}

/// The change files written, per partition (by its values).
pub type ChangeFiles = BTreeMap<Vec<String>, Vec<DataFile>>;

/// How many batches of change rows may wait for the change writer before a sender waits: the
/// statement runs at the pace of its change writer instead of queueing changed rows in memory
/// (an UPDATE of every row sends twice the table).
const QUEUED_BATCHES: usize = 4;

/// Where a statement sends its changed rows; cloned into every stream that finds some.
#[derive(Clone)]
pub struct ChangeRows {
    /// None: the version's data files alone tell its changes ([`ChangeRows::unneeded`]).
    tx: Option<mpsc::Sender<DfResult<RecordBatch>>>,
    schema: SchemaRef,
    /// Data columns of the table (`_change_type` goes after them).
    data_columns: usize,
}

impl ChangeRows {
    /// A sink for a statement whose changes the feed reads from the data files it leaves (an
    /// UPDATE through deletion vectors alone: the vectors name the old images, the files it
    /// adds hold exactly the new ones): what is sent is dropped.
    pub fn unneeded() -> Self {
        ChangeRows { tx: None, schema: Arc::new(Schema::empty()), data_columns: 0 }
    }

    /// Records the rows of `batch` (the table's columns: data, then partition columns) where
    /// `mask` is true as changes of `kind`; waits while the writer is behind.
    pub async fn send(&self, batch: &RecordBatch, mask: &BooleanArray, kind: ChangeKind) -> DfResult<()> {
        let Some(tx) = &self.tx else { return Ok(()) };
        let rows = filter_record_batch(batch, mask)?;
        if rows.num_rows() == 0 {
            return Ok(());
        }
        let mut columns: Vec<ArrayRef> = rows.columns().to_vec();
        let kinds: ArrayRef = Arc::new(StringArray::from(vec![kind.as_str(); rows.num_rows()]));
        columns.insert(self.data_columns, kinds);
        let rows = crate::types::conformed(&self.schema, columns)?;
        tx.send(Ok(rows))
            .await
            .map_err(|_| DataFusionError::Execution("the writer of the statement's change files stopped".into()))
    }
}

/// A writer of change files for table `table_id` (of `schema`, written as its `properties` ask:
/// codec, bloom filters), fed through the returned [`ChangeRows`]: the future writes what they
/// send until every clone is dropped, and gives the files per partition. A sender waits while a
/// few batches wait for the writer: run the future beside the statement's own writer
/// (`try_join`), never after it. Dropped unfinished, it removes what it wrote.
pub fn change_writer(
    project: &Arc<Project>,
    (table_id, schema, properties): (&str, &TableSchema, &BTreeMap<String, String>),
    static_values: Vec<Option<String>>,
    ids: BTreeMap<Vec<String>, String>,
) -> Result<(ChangeRows, impl Future<Output = Result<ChangeFiles>> + use<>)> {
    let changes = change_schema(schema);
    let arrow = crate::types::table_schema(&changes)?;
    let (tx, rx) = mpsc::channel(QUEUED_BATCHES);
    let rows = ChangeRows { tx: Some(tx), schema: Arc::clone(&arrow), data_columns: schema.columns.len() };
    let writer = PartitionWriter::new(Arc::clone(project), table_id, &changes, static_values, ids)?
        .with_default_compression(changes_compression())
        .with_table_properties(properties)?;
    let written = async move {
        let rows = futures::stream::unfold(rx, |mut rx| async move { rx.recv().await.map(|rows| (rows, rx)) });
        let out: WriteOutput = writer.write_stream(Box::pin(RecordBatchStreamAdapter::new(arrow, rows))).await?;
        Ok(out.partitions.into_iter().filter(|(_, files)| !files.is_empty()).collect())
    };
    Ok((rows, written))
}
