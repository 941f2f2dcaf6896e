//! Writes rows into new immutable Parquet files, one set of files per partition.
//!
//! The writer sees batches of `data columns ++ dynamic partition columns`; static partition
//! values come from the statement. Rows are routed to their partition's file by value. Nothing
//! here commits: the files become part of the table only when the statement's commit lands.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};

use datafusion::arrow::array::{Array, AsArray, RecordBatch, UInt32Array};
use datafusion::arrow::compute::{cast, concat_batches, take_record_batch};
use datafusion::arrow::datatypes::{DataType, SchemaRef};
use datafusion::parquet::arrow::AsyncArrowWriter;
use datafusion::parquet::basic::Compression;
use datafusion::parquet::file::properties::WriterProperties;
use datafusion::parquet::schema::types::ColumnPath;
use futures::StreamExt;
use object_store::ObjectStoreExt;

use crate::error::{Error, Result};
use crate::log::Project;
use crate::state::model::{ClusterKind, DataFile, TableSchema};
use crate::table::file_settings::{
    BLOOM_FILTER_COLUMNS_KEY, COMPRESSION_KEY, DEFAULT_COMPRESSION, bloom_filter_columns, compression,
};
use crate::table::layout::Layout;
use crate::table::upload::Upload;
use crate::types;

/// A file is closed and a new one started after this many rows.
const MAX_ROWS_PER_FILE: u64 = 1_000_000;
/// One statement may write at most this many partitions (as MaxCompute limits dynamic inserts).
const MAX_PARTITIONS_PER_STATEMENT: usize = 10_000;
/// Files being written at once. Rows of further partitions wait in memory, so that a dynamic
/// insert into thousands of partitions does not hold thousands of Parquet encoders.
const MAX_OPEN_FILES: usize = 16;
/// Rows waiting for a file (bytes of Arrow memory); beyond this the partition with the most
/// waiting rows is written out as a file of its own.
const WAITING_LIMIT: usize = 64 << 20;
/// The same for a clustered table, whose rows all wait to be sorted before they are written:
/// larger, so that a statement's rows make few sorted runs.
const CLUSTERED_WAITING_LIMIT: usize = 256 << 20;
/// Rows handed to the Parquet encoder at once when writing sorted rows.
const SORTED_SLICE: usize = 8192;

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
    writer: AsyncArrowWriter<Upload>,
    path: String,
    rows: u64,
}

/// Where rows are routed: a partition (by its values) and, in a clustered table, the bucket
/// (hash) or rank (range) of the file.
type Slot = (Vec<String>, Option<u32>);

/// Routes rows to per-partition Parquet files under `data/<table>/<partition>/`.
pub struct PartitionWriter {
    project: Arc<Project>,
    table_id: String,
    schema: TableSchema,
    file_schema: SchemaRef,
    /// Per partition column: the statement's static value, or None when it comes from the rows.
    static_values: Vec<Option<String>>,
    /// Partition ids by values: those that exist, and those this statement's writers created
    /// (shared by the writers of one statement, so that they agree on a new partition's id).
    ids: Arc<Mutex<BTreeMap<Vec<String>, String>>>,
    open: HashMap<Slot, OpenFile>,
    /// Rows of partitions without an open file, and their size.
    waiting: HashMap<Slot, (Vec<RecordBatch>, usize)>,
    /// A clustered table's layout: rows wait per bucket and are sorted before they are written.
    layout: Option<Layout>,
    waiting_bytes: usize,
    out: WriteOutput,
    /// Close a file once its encoded size reaches this many bytes (MERGE SMALLFILES' target).
    target_bytes: Option<usize>,
    /// Columns (their names in the files) whose files carry bloom filters.
    bloom_filters: Vec<String>,
    /// The codec of the files' pages.
    compression: Compression,
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
        let layout = schema.clustering.as_ref().map(|c| Layout::new(c, &schema.columns)).transpose()?;
        Ok(Self {
            layout,
            file_schema: crate::types::file_schema(schema)?,
            project,
            table_id: table_id.to_string(),
            schema: schema.clone(),
            static_values,
            ids: Arc::new(Mutex::new(existing_ids)),
            open: HashMap::new(),
            waiting: HashMap::new(),
            waiting_bytes: 0,
            out: WriteOutput::default(),
            target_bytes: None,
            bloom_filters: vec![],
            compression: DEFAULT_COMPRESSION,
            finished: false,
        })
    }

    /// Writes files as the table's `properties` ask ([`BLOOM_FILTER_COLUMNS_KEY`],
    /// [`COMPRESSION_KEY`]).
    pub fn with_table_properties(mut self, properties: &BTreeMap<String, String>) -> Result<Self> {
        if let Some(value) = properties.get(BLOOM_FILTER_COLUMNS_KEY) {
            self.bloom_filters = bloom_filter_columns(value, &self.schema)?;
        }
        if let Some(value) = properties.get(COMPRESSION_KEY) {
            self.compression = compression(value)?;
        }
        Ok(self)
    }

    /// Pages compressed with `codec` unless the table's properties name one (set them after).
    pub(crate) fn with_default_compression(mut self, codec: Compression) -> Self {
        self.compression = codec;
        self
    }

    /// Files close once about `bytes` are written (compressed), as well as at the row limit.
    pub fn with_target_file_size(mut self, bytes: usize) -> Self {
        self.target_bytes = Some(bytes);
        self
    }

    /// Writes every stream with a writer of its own, in parallel (one task each, so encoding uses
    /// every core), into one output. On error or cancel every writer removes what it wrote.
    pub async fn write_streams(
        self,
        mut streams: Vec<datafusion::execution::SendableRecordBatchStream>,
    ) -> Result<WriteOutput> {
        if self.layout.is_some() && streams.len() > 1 {
            // A clustered table's rows are sorted per bucket (or range) before they are written:
            // one writer sees them all, so that a statement writes each bucket as one file, and
            // a range-clustered partition as one series of consecutive ranges.
            let schema = Arc::clone(&self.file_schema);
            let all = futures::stream::select_all(streams);
            let one = datafusion::physical_plan::stream::RecordBatchStreamAdapter::new(schema, all);
            return self.write_stream(Box::pin(one)).await;
        }
        if streams.len() <= 1 {
            let empty =
                || Box::pin(datafusion::physical_plan::EmptyRecordBatchStream::new(Arc::clone(&self.file_schema))) as _;
            let stream = streams.pop().unwrap_or_else(empty);
            return self.write_stream(stream).await;
        }
        // Dropping the set (a cancelled statement) aborts the tasks; their writers clean up.
        let mut tasks = tokio::task::JoinSet::new();
        for stream in streams {
            let writer = self.sibling();
            tasks.spawn(writer.write_stream(stream));
        }
        let mut out = WriteOutput::default();
        let mut failure = None;
        while let Some(done) = tasks.join_next().await {
            match done {
                Ok(Ok(part)) => {
                    out.rows += part.rows;
                    out.ids.extend(part.ids);
                    for (key, files) in part.partitions {
                        out.partitions.entry(key).or_default().extend(files);
                    }
                }
                // The others run to their end (an aborted one could leave a file it was just
                // closing): a failed writer removes its files, the files of the others go below.
                Ok(Err(e)) => {
                    failure.get_or_insert(e);
                }
                Err(e) => {
                    failure.get_or_insert(Error::invalid(format!("a writer task failed: {e}")));
                }
            }
        }
        let Some(e) = failure else { return Ok(out) };
        // The files of writers that had finished go too.
        let closed = out.partitions.values().flatten().map(|f| self.project.path(&f.path)).collect();
        cleanup(Arc::clone(self.project.store()), vec![], closed).await;
        Err(e)
    }

    /// Another writer for the same statement (same table, partitions and ids).
    fn sibling(&self) -> Self {
        Self {
            project: Arc::clone(&self.project),
            table_id: self.table_id.clone(),
            schema: self.schema.clone(),
            file_schema: Arc::clone(&self.file_schema),
            static_values: self.static_values.clone(),
            ids: Arc::clone(&self.ids),
            open: HashMap::new(),
            waiting: HashMap::new(),
            layout: self.layout.clone(),
            waiting_bytes: 0,
            out: WriteOutput::default(),
            target_bytes: self.target_bytes,
            bloom_filters: self.bloom_filters.clone(),
            compression: self.compression,
            finished: false,
        }
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
        let data = types::conformed(&self.file_schema, batch.columns()[..n_data].to_vec())?;
        check_lengths(&self.schema, &data)?;
        let dynamic: Vec<usize> = (0..self.static_values.len()).filter(|i| self.static_values[*i].is_none()).collect();
        if dynamic.is_empty() {
            let key: Vec<String> = self.static_values.iter().flatten().cloned().collect();
            return self.write_to(key, &data).await;
        }
        // Route each row by the string form of its dynamic partition values.
        let mut strings = Vec::with_capacity(dynamic.len());
        for (j, _) in dynamic.iter().enumerate() {
            strings.push(cast(batch.column(n_data + j), &DataType::Utf8)?);
        }
        // Values of typed partition columns are stored in canonical form (text `007` and BIGINT
        // 7 are one partition, `7`); each distinct value is checked once.
        let typed: Vec<bool> = (0..self.static_values.len())
            .map(|i| Ok(types::arrow_type(&self.schema.partition_columns[i].data_type)? != DataType::Utf8))
            .collect::<Result<_>>()?;
        let mut canonical: HashMap<(usize, &str), String> = HashMap::new();
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
                        let value = arr.value(row);
                        if !typed[i] {
                            key.push(value.to_string());
                            continue;
                        }
                        let column = &self.schema.partition_columns[i];
                        let value = match canonical.entry((i, value)) {
                            std::collections::hash_map::Entry::Occupied(e) => e.get().clone(),
                            std::collections::hash_map::Entry::Vacant(e) => {
                                e.insert(types::partition_value(column, value)?).clone()
                            }
                        };
                        key.push(value);
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
        let id = {
            let mut ids = self.ids.lock().unwrap_or_else(|e| e.into_inner());
            let fresh =
                || if key.is_empty() { self.table_id.clone() } else { uuid::Uuid::new_v4().simple().to_string() };
            ids.entry(key.to_vec()).or_insert_with(fresh).clone()
        };
        self.out.ids.insert(key.to_vec(), id.clone());
        self.out.partitions.entry(key.to_vec()).or_default();
        Ok(id)
    }

    fn open_file(&self, partition_id: &str) -> Result<OpenFile> {
        let path = format!("data/{}/{}/{}.parquet", self.table_id, partition_id, uuid::Uuid::new_v4().simple());
        let sink = Upload::new(Arc::clone(self.project.store()), self.project.path(&path));
        let mut props = WriterProperties::builder().set_compression(self.compression);
        // A hash-clustered table is read by its key (`k = c`): bloom filters on the key let a
        // point lookup skip the row groups of its bucket's file that do not hold the value.
        if let Some(layout) = self.layout.as_ref().filter(|l| l.kind == ClusterKind::Hash) {
            for &i in &layout.key {
                let column = ColumnPath::from(self.file_schema.field(i).name().as_str());
                props = props.set_column_bloom_filter_enabled(column, true);
            }
        }
        for column in &self.bloom_filters {
            props = props.set_column_bloom_filter_enabled(ColumnPath::from(column.as_str()), true);
        }
        let props = props.build();
        let writer = AsyncArrowWriter::try_new(sink, Arc::clone(&self.file_schema), Some(props))?;
        Ok(OpenFile { writer, path, rows: 0 })
    }

    async fn write_to(&mut self, key: Vec<String>, batch: &RecordBatch) -> Result<()> {
        let partition_id = self.partition_id(&key)?;
        self.out.rows += batch.num_rows() as u64;
        let Some(layout) = &self.layout else {
            return self.route((key, None), &partition_id, batch).await;
        };
        if layout.kind == ClusterKind::Range {
            // Ranks are given when the partition's rows are sorted and cut into files.
            return self.route((key, Some(0)), &partition_id, batch).await;
        }
        let mut rows: BTreeMap<u32, Vec<u32>> = BTreeMap::new();
        for (row, bucket) in layout.row_buckets(batch)?.into_iter().enumerate() {
            rows.entry(bucket).or_default().push(row as u32);
        }
        for (bucket, rows) in rows {
            let part = take_record_batch(batch, &UInt32Array::from(rows))?;
            self.route((key.clone(), Some(bucket)), &partition_id, &part).await?;
        }
        Ok(())
    }

    /// Sends `batch` to the open file of `slot`, or makes it wait (always, in a clustered table).
    async fn route(&mut self, key: Slot, partition_id: &str, batch: &RecordBatch) -> Result<()> {
        if !self.open.contains_key(&key) {
            let limit = if self.layout.is_some() { CLUSTERED_WAITING_LIMIT } else { WAITING_LIMIT };
            if self.layout.is_some() || self.open.len() >= MAX_OPEN_FILES || self.waiting.contains_key(&key) {
                // Bounded memory: wait in memory, or spill the partition with most rows waiting.
                let entry = self.waiting.entry(key).or_default();
                entry.0.push(batch.clone());
                let before = entry.1;
                entry.1 += batch.get_array_memory_size();
                // Many one-row slices cost more in array headers than in data: keep them compact.
                if entry.0.len() >= 32 {
                    let compact = concat_batches(&self.file_schema, &entry.0)?;
                    entry.1 = compact.get_array_memory_size();
                    entry.0 = vec![compact];
                }
                self.waiting_bytes = self.waiting_bytes - before + entry.1;
                // Over the limit: write out the largest waiting partitions until half of it is
                // free, so that spills are few and their files large.
                if self.waiting_bytes > limit {
                    while self.waiting_bytes > limit / 2 {
                        self.spill_largest().await?;
                    }
                }
                return Ok(());
            }
            let file = self.open_file(partition_id)?;
            self.open.insert(key.clone(), file);
        }
        self.append(key, batch).await
    }

    /// Writes `batch` to the open file of `key`, closing it when it is full.
    async fn append(&mut self, key: Slot, batch: &RecordBatch) -> Result<()> {
        let Some(file) = self.open.get_mut(&key) else {
            return Err(Error::invalid("internal: a partition's file was not opened before writing"));
        };
        file.writer.write(batch).await?;
        file.rows += batch.num_rows() as u64;
        let size = file.writer.bytes_written() + file.writer.in_progress_size();
        let full = file.rows >= MAX_ROWS_PER_FILE || self.target_bytes.is_some_and(|t| size >= t);
        if full && let Some(file) = self.open.remove(&key) {
            self.close(key, file).await?;
        }
        Ok(())
    }

    /// Writes the waiting rows of the partition with most of them into files of their own.
    async fn spill_largest(&mut self) -> Result<()> {
        let Some(key) = self.waiting.iter().max_by_key(|(_, (_, bytes))| *bytes).map(|(k, _)| k.clone()) else {
            return Ok(());
        };
        self.spill(key).await
    }

    async fn spill(&mut self, key: Slot) -> Result<()> {
        let Some((batches, bytes)) = self.waiting.remove(&key) else { return Ok(()) };
        self.waiting_bytes -= bytes;
        let partition_id = self.partition_id(&key.0)?;
        if let Some(layout) = self.layout.clone() {
            let sorted = layout.sort(&concat_batches(&self.file_schema, &batches)?)?;
            return self.write_sorted(&layout, key, &partition_id, &sorted).await;
        }
        let mut file = self.open_file(&partition_id)?;
        for batch in &batches {
            file.writer.write(batch).await?;
            file.rows += batch.num_rows() as u64;
        }
        self.close(key, file).await
    }

    /// Writes the sorted rows of `slot` into files in order: files close when full and, in a
    /// range-clustered table, at each of the `INTO n BUCKETS` cut points, each file taking the
    /// next rank.
    async fn write_sorted(
        &mut self,
        layout: &Layout,
        slot: Slot,
        partition_id: &str,
        rows: &RecordBatch,
    ) -> Result<()> {
        let total = rows.num_rows();
        let per_file = match (layout.kind, layout.buckets) {
            (ClusterKind::Range, Some(n)) => total.div_ceil(n as usize).max(1),
            _ => total.max(1),
        };
        let mut rank = slot.1.unwrap_or(0);
        let mut start = 0;
        while start < total {
            let mut file = self.open_file(partition_id)?;
            let end = (start + per_file).min(total);
            let mut at = start;
            while at < end {
                let len = SORTED_SLICE.min(end - at);
                file.writer.write(&rows.slice(at, len)).await?;
                file.rows += len as u64;
                at += len;
                let size = file.writer.bytes_written() + file.writer.in_progress_size();
                if file.rows >= MAX_ROWS_PER_FILE || self.target_bytes.is_some_and(|t| size >= t) {
                    break;
                }
            }
            self.close((slot.0.clone(), Some(rank)), file).await?;
            if layout.kind == ClusterKind::Range {
                rank += 1;
            }
            start = at;
        }
        Ok(())
    }

    async fn close(&mut self, (key, bucket): Slot, file: OpenFile) -> Result<()> {
        let meta = file.writer.close().await?;
        let stats = crate::table::stats::collect(&meta, &self.file_schema);
        let size = self.project.store().head(&self.project.path(&file.path)).await?.size;
        self.out.partitions.entry(key).or_default().push(DataFile {
            path: file.path,
            size,
            rows: file.rows,
            stats: stats.into(),
            bucket,
            deleted: None,
        });
        Ok(())
    }

    async fn finish(mut self) -> Result<WriteOutput> {
        let waiting: Vec<_> = self.waiting.keys().cloned().collect();
        for key in waiting {
            self.spill(key).await?;
        }
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

/// Refuses a batch with a text longer than its VARCHAR(n) or CHAR(n) column holds.
fn check_lengths(schema: &TableSchema, data: &RecordBatch) -> Result<()> {
    for (i, column) in schema.columns.iter().enumerate() {
        let Some(max) = types::max_length(&column.data_type) else { continue };
        let Some(text) = data.column(i).as_string_opt::<i32>() else { continue };
        // Bytes bound characters from above: only longer texts need counting.
        if let Some(long) = text.iter().flatten().find(|v| v.len() > max && v.chars().count() > max) {
            types::check_length(column, long)?;
        }
    }
    Ok(())
}

async fn cleanup(
    store: Arc<dyn object_store::ObjectStore>,
    open: Vec<OpenFile>,
    closed: Vec<object_store::path::Path>,
) {
    for file in open {
        file.writer.into_inner().abort().await;
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

/// Removes data files written but not to be committed (a statement that changed course); a file
/// left behind is an orphan the purge sweeps.
pub(super) async fn discard(project: &Arc<Project>, files: &[DataFile]) {
    let closed = files.iter().map(|f| project.path(&f.path)).collect();
    cleanup(Arc::clone(project.store()), vec![], closed).await;
}
