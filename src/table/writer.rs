//! Writes rows into new immutable Parquet files, one set of files per partition.
//!
//! The writer sees batches of `data columns ++ dynamic partition columns`; static partition
//! values come from the statement. Rows are routed to their partition's file by value. Nothing
//! here commits: the files become part of the table only when the statement's commit lands.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use datafusion::arrow::array::{Array, AsArray, RecordBatch, UInt32Array};
use datafusion::arrow::compute::{cast, take_record_batch};
use datafusion::arrow::datatypes::{DataType, SchemaRef};
use datafusion::parquet::arrow::AsyncArrowWriter;
use datafusion::parquet::basic::Compression;
use datafusion::parquet::file::properties::WriterProperties;
use futures::StreamExt;
use object_store::buffered::BufWriter;
use object_store::ObjectStoreExt;

use crate::error::{Error, Result};
use crate::log::model::{DataFile, TableSchema};
use crate::log::Project;
use crate::types;

/// A file is closed and a new one started after this many rows.
const MAX_ROWS_PER_FILE: u64 = 1_000_000;
/// One statement may write at most this many partitions (as MaxCompute limits dynamic inserts).
const MAX_PARTITIONS_PER_STATEMENT: usize = 10_000;

/// The files a statement wrote, by partition values.
#[derive(Debug, Default)]
pub struct WriteOutput {
    /// Files per partition (a statically named partition appears even if it got no rows).
    pub partitions: BTreeMap<Vec<String>, Vec<DataFile>>,
    /// The ObjectId chosen for each partition written (an existing one, or a new one).
    pub ids: BTreeMap<Vec<String>, String>,
    /// Rows written.
    pub rows: u64,
}

struct OpenFile {
    writer: AsyncArrowWriter<BufWriter>,
    path: String,
    rows: u64,
}

/// Routes rows to per-partition Parquet files under `data/<table>/<partition>/`.
pub struct PartitionWriter {
    project: Arc<Project>,
    table_id: String,
    schema: TableSchema,
    file_schema: SchemaRef,
    /// Per partition column: the statement's static value, or None when it comes from the rows.
    static_values: Vec<Option<String>>,
    existing_ids: BTreeMap<Vec<String>, String>,
    open: HashMap<Vec<String>, OpenFile>,
    out: WriteOutput,
    /// Set once the files are closed and handed over: dropping the writer before that (the
    /// statement was cancelled) aborts its uploads and deletes its files.
    finished: bool,
}

impl PartitionWriter {
    /// A writer for `table_id`; `existing_ids` maps the partitions that exist now to their ids.
    pub fn new(
        project: Arc<Project>,
        table_id: &str,
        schema: &TableSchema,
        static_values: Vec<Option<String>>,
        existing_ids: BTreeMap<Vec<String>, String>,
    ) -> Result<Self> {
        Ok(Self {
            file_schema: crate::types::file_schema(schema)?,
            project,
            table_id: table_id.to_string(),
            schema: schema.clone(),
            static_values,
            existing_ids,
            open: HashMap::new(),
            out: WriteOutput::default(),
            finished: false,
        })
    }

    /// Writes every batch of `stream`, then closes the files. On error, removes what it wrote.
    pub async fn write_stream(
        mut self,
        mut stream: datafusion::execution::SendableRecordBatchStream,
    ) -> Result<WriteOutput> {
        let result = async {
            while let Some(batch) = stream.next().await {
                self.write(&batch?).await?;
            }
            Ok::<_, Error>(())
        }
        .await;
        match result {
            Ok(()) => self.finish().await,
            Err(e) => {
                self.abort().await;
                Err(e)
            }
        }
    }

    async fn write(&mut self, batch: &RecordBatch) -> Result<()> {
        if batch.num_rows() == 0 {
            return Ok(());
        }
        let n_data = self.file_schema.fields().len();
        let data = RecordBatch::try_new(
            Arc::clone(&self.file_schema),
            batch.columns()[..n_data].to_vec(),
        )?;
        let dynamic: Vec<usize> =
            (0..self.static_values.len()).filter(|i| self.static_values[*i].is_none()).collect();
        if dynamic.is_empty() {
            let key: Vec<String> = self.static_values.iter().flatten().cloned().collect();
            return self.write_to(key, &data).await;
        }
        // Route each row by the string form of its dynamic partition values.
        let mut strings = Vec::with_capacity(dynamic.len());
        for (j, _) in dynamic.iter().enumerate() {
            strings.push(cast(batch.column(n_data + j), &DataType::Utf8)?);
        }
        let mut groups: BTreeMap<Vec<String>, Vec<u32>> = BTreeMap::new();
        for row in 0..batch.num_rows() {
            let mut key = Vec::with_capacity(self.static_values.len());
            let mut next_dynamic = 0;
            for (i, fixed) in self.static_values.iter().enumerate() {
                match fixed {
                    Some(v) => key.push(v.clone()),
                    None => {
                        let arr = strings[next_dynamic].as_string::<i32>();
                        next_dynamic += 1;
                        let column = &self.schema.partition_columns[i].name;
                        if arr.is_null(row) {
                            return Err(Error::invalid(format!(
                                "partition column {column} is NULL in a row; every row needs a value"
                            )));
                        }
                        key.push(arr.value(row).to_string());
                    }
                }
            }
            groups.entry(key).or_default().push(row as u32);
        }
        for (key, rows) in groups {
            let part = take_record_batch(&data, &UInt32Array::from(rows))?;
            self.write_to(key, &part).await?;
        }
        Ok(())
    }

    fn partition_id(&mut self, key: &[String]) -> Result<String> {
        if let Some(id) = self.out.ids.get(key) {
            return Ok(id.clone());
        }
        if self.out.ids.len() >= MAX_PARTITIONS_PER_STATEMENT {
            return Err(Error::invalid(format!(
                "the statement writes more than {MAX_PARTITIONS_PER_STATEMENT} partitions"
            )));
        }
        for (col, v) in self.schema.partition_columns.iter().zip(key) {
            // Refused before any file of the partition is written: a value that does not parse
            // as its column's type would make every later scan of the table fail.
            types::partition_value(col, v)?;
        }
        let id = match self.existing_ids.get(key) {
            Some(id) => id.clone(),
            None if key.is_empty() => self.table_id.clone(),
            None => uuid::Uuid::new_v4().simple().to_string(),
        };
        self.out.ids.insert(key.to_vec(), id.clone());
        self.out.partitions.entry(key.to_vec()).or_default();
        Ok(id)
    }

    async fn write_to(&mut self, key: Vec<String>, batch: &RecordBatch) -> Result<()> {
        let partition_id = self.partition_id(&key)?;
        if !self.open.contains_key(&key) {
            let path = format!(
                "data/{}/{}/{}.parquet",
                self.table_id,
                partition_id,
                uuid::Uuid::new_v4().simple()
            );
            let sink = BufWriter::new(Arc::clone(self.project.store()), self.project.path(&path));
            let props = WriterProperties::builder().set_compression(Compression::SNAPPY).build();
            let writer = AsyncArrowWriter::try_new(sink, Arc::clone(&self.file_schema), Some(props))?;
            self.open.insert(key.clone(), OpenFile { writer, path, rows: 0 });
        }
        let file = self.open.get_mut(&key).expect("just opened");
        file.writer.write(batch).await?;
        file.rows += batch.num_rows() as u64;
        self.out.rows += batch.num_rows() as u64;
        if file.rows >= MAX_ROWS_PER_FILE {
            let file = self.open.remove(&key).expect("present");
            self.close(key, file).await?;
        }
        Ok(())
    }

    async fn close(&mut self, key: Vec<String>, file: OpenFile) -> Result<()> {
        file.writer.close().await?;
        let size = self.project.store().head(&self.project.path(&file.path)).await?.size;
        self.out.partitions.entry(key).or_default().push(DataFile {
            path: file.path,
            size,
            rows: file.rows,
        });
        Ok(())
    }

    async fn finish(mut self) -> Result<WriteOutput> {
        let open: Vec<_> = self.open.drain().collect();
        for (key, file) in open {
            self.close(key, file).await?;
        }
        if self.static_values.iter().all(Option::is_some) {
            // A statically named partition exists after the statement even if it got no rows.
            let key: Vec<String> = self.static_values.iter().flatten().cloned().collect();
            self.partition_id(&key)?;
        }
        self.finished = true;
        Ok(std::mem::take(&mut self.out))
    }

    /// Aborts the uploads in progress (no multipart upload stays pending on S3) and deletes the
    /// files already written. Best effort: files left behind are unreferenced and a later purge
    /// removes them.
    async fn abort(mut self) {
        self.finished = true;
        let (open, closed) = self.take_unfinished();
        cleanup(Arc::clone(self.project.store()), open, closed).await;
    }

    fn take_unfinished(&mut self) -> (Vec<OpenFile>, Vec<object_store::path::Path>) {
        let open = self.open.drain().map(|(_, f)| f).collect();
        let closed = self.out.partitions.values().flatten().map(|f| self.project.path(&f.path)).collect();
        (open, closed)
    }
}

async fn cleanup(store: Arc<dyn object_store::ObjectStore>, open: Vec<OpenFile>, closed: Vec<object_store::path::Path>) {
    for file in open {
        let _ = file.writer.into_inner().abort().await;
    }
    for path in closed {
        let _ = store.delete(&path).await;
    }
}

impl Drop for PartitionWriter {
    /// A statement cancelled mid-write (its future dropped, Ctrl-C) cleans up in the background.
    fn drop(&mut self) {
        if self.finished {
            return;
        }
        let (open, closed) = self.take_unfinished();
        if let Ok(runtime) = tokio::runtime::Handle::try_current() {
            runtime.spawn(cleanup(Arc::clone(self.project.store()), open, closed));
        }
    }
}
