//! What a statement returns: rows, a confirmation, or a count of rows written.

use std::sync::Arc;

use datafusion::arrow::array::UInt64Array;
use datafusion::arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use datafusion::arrow::record_batch::RecordBatch;

/// What a statement returned.
#[derive(Debug, Clone)]
pub struct StatementResult {
    /// Schema of the rows.
    pub schema: SchemaRef,
    /// The rows (empty for DDL).
    pub batches: Vec<RecordBatch>,
    /// Whether this is a query result, a confirmation, or a count of rows written.
    pub kind: ResultKind,
}

/// The kind of a [`StatementResult`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ResultKind {
    /// Rows of a query (SELECT, SHOW, LIST, EXPLAIN …).
    Query,
    /// A statement that returns nothing (DDL, RESTORE …).
    Ok,
    /// A write: the number of rows written.
    RowsAffected(u64),
}

impl StatementResult {
    pub(crate) fn ok() -> Self {
        Self { schema: Arc::new(Schema::empty()), batches: vec![], kind: ResultKind::Ok }
    }

    pub(crate) fn rows_affected(n: u64) -> Self {
        let batch = RecordBatch::try_new(count_schema(), vec![Arc::new(UInt64Array::from(vec![n]))])
            .expect("one UInt64 column");
        Self { schema: count_schema(), batches: vec![batch], kind: ResultKind::RowsAffected(n) }
    }

    pub(crate) fn query(batch: RecordBatch) -> Self {
        Self { schema: batch.schema(), batches: vec![batch], kind: ResultKind::Query }
    }

    /// Total number of rows in `batches`.
    pub fn num_rows(&self) -> usize {
        self.batches.iter().map(RecordBatch::num_rows).sum()
    }
}

/// The schema of a write's result: one `count` row, as DataFusion's DML returns.
pub(crate) fn count_schema() -> SchemaRef {
    Arc::new(Schema::new(vec![Field::new("count", DataType::UInt64, false)]))
}
