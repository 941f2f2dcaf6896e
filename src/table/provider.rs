//! The DataFusion `TableProvider` of one table version: scans its Parquet files with partition
//! values (pruning partitions by filters), and accepts DataFusion's own INSERT.

use std::fmt;
use std::sync::Arc;

use async_trait::async_trait;
use datafusion::arrow::array::AsArray;
use datafusion::arrow::compute::SortOptions;
use datafusion::arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use datafusion::arrow::record_batch::RecordBatch;
use datafusion::catalog::Session;
use datafusion::common::config::TableParquetOptions;
use datafusion::common::{DFSchema, ScalarValue, Statistics, stats::Precision};
use datafusion::datasource::TableProvider;
use datafusion::datasource::listing::PartitionedFile;
use datafusion::datasource::listing::helpers::expr_applicable_for_cols;
use datafusion::datasource::physical_plan::parquet::CachedParquetFileReaderFactory;
use datafusion::datasource::physical_plan::{FileGroup, FileScanConfig, FileScanConfigBuilder, ParquetSource};
use datafusion::datasource::sink::{DataSink, DataSinkExec};
use datafusion::datasource::source::DataSourceExec;
use datafusion::datasource::table_schema::TableSchema as DfTableSchema;
use datafusion::error::{DataFusionError, Result as DfResult};
use datafusion::execution::object_store::ObjectStoreUrl;
use datafusion::execution::runtime_env::RuntimeEnv;
use datafusion::execution::{SendableRecordBatchStream, TaskContext};
use datafusion::logical_expr::dml::InsertOp;
use datafusion::logical_expr::utils::conjunction;
use datafusion::logical_expr::{Expr, TableProviderFilterPushDown, TableType};
use datafusion::parquet::arrow::RowNumber;
use datafusion::physical_expr::expressions::Column;
use datafusion::physical_expr::{LexOrdering, PhysicalExpr, PhysicalSortExpr, create_physical_expr};
use datafusion::physical_plan::empty::EmptyExec;
use datafusion::physical_plan::{DisplayAs, DisplayFormatType, ExecutionPlan};

use crate::error::Result;
use crate::log::Project;
use crate::state::TableSnapshot;
use crate::state::model::ClusterKind;
use crate::table::write_commit::{WriteMode, commit_write};
use crate::table::writer::PartitionWriter;
use crate::table::{DeletionVectorsExec, ScanVectors, deleted_rows, layout};
use crate::types;

/// Where a table's files are, as DataFusion scans them: the object store URL and the path of
/// the project inside that store. All a process needs to scan a pinned version.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ScanLocation {
    /// The URL the store is registered under (`s3://bucket`, `file://`, …).
    pub url: String,
    /// The project's path inside that store (`prefix/project`).
    pub root: String,
}

impl ScanLocation {
    fn of(project: &Project) -> Self {
        let warehouse = project.warehouse();
        Self { url: warehouse.object_store_url().as_str().to_string(), root: warehouse.scan_path(project.name()) }
    }

    fn path(&self, relative: &str) -> String {
        format!("{}/{relative}", self.root)
    }
}

/// One version of a table, pinned: queries see exactly the files of that version.
#[derive(Clone)]
pub struct VersionedTable {
    location: ScanLocation,
    /// The project, in the process that opened it; None for a table decoded from a plan on
    /// another process (it can be scanned, not written).
    project: Option<Arc<Project>>,
    snapshot: Arc<TableSnapshot>,
    schema: SchemaRef,
    /// The data columns under the table's names (files store them under their field names;
    /// see `field_names.rs`).
    file_schema: SchemaRef,
    partition_fields: Vec<Field>,
    /// Adds the column [`FILE_COLUMN`]: the data file that holds each row (for MERGE).
    file_column: bool,
}

/// The column naming, for each row, the data file that holds it (project-relative path).
pub const FILE_COLUMN: &str = "__tm_file";

/// The column of a row's position in its data file ([`VersionedTable::scan_file_positions`]).
pub const POSITION_COLUMN: &str = "__tm_pos";

impl fmt::Debug for VersionedTable {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("VersionedTable")
            .field("name", &self.snapshot.name)
            .field("id", &self.snapshot.id)
            .field("lsn", &self.snapshot.lsn)
            .finish()
    }
}

impl VersionedTable {
    /// A provider for `snapshot` (a table version) of `project`.
    pub fn try_new(project: Arc<Project>, snapshot: Arc<TableSnapshot>) -> Result<Self> {
        Self::detached(ScanLocation::of(&project), snapshot).map(|t| Self { project: Some(project), ..t })
    }

    /// A scan-only provider of `snapshot` whose files are at `location` (a table that travelled
    /// in a plan to a process without the project).
    pub fn detached(location: ScanLocation, snapshot: Arc<TableSnapshot>) -> Result<Self> {
        let file_schema = types::data_schema(&snapshot.schema)?;
        let data_columns = file_schema.fields().len();
        Ok(Self {
            schema: viewed(&*types::table_schema(&snapshot.schema)?, data_columns),
            file_schema: viewed(&file_schema, data_columns),
            partition_fields: types::partition_fields(&snapshot.schema)?,
            file_column: false,
            location,
            project: None,
            snapshot,
        })
    }

    /// The same version with the column [`FILE_COLUMN`] after the table's columns.
    pub fn with_file_column(mut self) -> Self {
        let mut fields: Vec<Field> = self.schema.fields().iter().map(|f| f.as_ref().clone()).collect();
        fields.push(Field::new(FILE_COLUMN, DataType::Utf8, false));
        self.schema = Arc::new(Schema::new(fields));
        self.file_column = true;
        self
    }

    /// True when the table has the column [`FILE_COLUMN`].
    pub fn has_file_column(&self) -> bool {
        self.file_column
    }

    /// The project the table belongs to (None for a detached table).
    pub fn project(&self) -> Option<&Arc<Project>> {
        self.project.as_ref()
    }

    /// Where the files are.
    pub fn location(&self) -> &ScanLocation {
        &self.location
    }

    /// The pinned version.
    pub fn snapshot(&self) -> &Arc<TableSnapshot> {
        &self.snapshot
    }

    fn partition_names(&self) -> Vec<&str> {
        self.partition_fields.iter().map(|f| f.name().as_str()).collect()
    }

    /// The partition values of `partition` as scalars of their columns' types.
    fn partition_values(&self, partition: &crate::state::model::Partition) -> DfResult<Vec<ScalarValue>> {
        partition
            .values
            .iter()
            .zip(&self.partition_fields)
            // Values are checked against their column's type when written; one that still does
            // not parse (written before that check) reads as NULL rather than failing the scan.
            .map(|(v, f)| {
                ScalarValue::try_from_string(v.clone(), f.data_type()).or_else(|_| ScalarValue::try_from(f.data_type()))
            })
            .collect()
    }

    /// A scan of one file of `partition` (for rewrites), with the session's Parquet `options`.
    /// With `predicate` (over the table's columns), row groups whose statistics rule it out are
    /// skipped: the scan returns at least every row that may match.
    pub fn scan_file(
        &self,
        partition: &crate::state::model::Partition,
        file: &crate::state::model::DataFile,
        options: TableParquetOptions,
        predicate: Option<Arc<dyn PhysicalExpr>>,
        runtime: &RuntimeEnv,
    ) -> DfResult<Arc<dyn ExecutionPlan>> {
        let pf = self.single_file(partition, file, None)?;
        self.scan_files(vec![vec![pf]], None, (None, vec![]), (options, predicate), runtime)
    }

    /// `file` of `partition` as DataFusion scans it: its live rows, or only the rows at `select`.
    fn single_file(
        &self,
        partition: &crate::state::model::Partition,
        file: &crate::state::model::DataFile,
        select: Option<&[u64]>,
    ) -> DfResult<PartitionedFile> {
        let pf = PartitionedFile::new(self.location.path(&file.path), file.size)
            .with_partition_values(self.partition_values(partition)?);
        Ok(match select {
            Some(wanted) => deleted_rows::select(pf, file, wanted),
            None => deleted_rows::apply(pf, file),
        })
    }

    /// [`Self::scan_file`] with the column [`POSITION_COLUMN`] last: each row's position in the
    /// file (what a deletion vector records). `select` reads only those positions instead of the
    /// file's live rows (a merge-on-read change reads the rows it puts in a vector once more, for
    /// their change rows and new images); `columns` (indices into the table's columns,
    /// ascending) reads only those before the position. The predicate is over all columns.
    pub fn scan_file_positions(
        &self,
        partition: &crate::state::model::Partition,
        file: &crate::state::model::DataFile,
        (options, predicate): (TableParquetOptions, Option<Arc<dyn PhysicalExpr>>),
        runtime: &RuntimeEnv,
        select: Option<&[u64]>,
        columns: Option<&[usize]>,
    ) -> DfResult<Arc<dyn ExecutionPlan>> {
        let pf = self.single_file(partition, file, select)?;
        let width = self.file_schema.fields().len() + self.scan_partition_fields().len();
        let projection: Vec<usize> = match columns {
            Some(columns) => columns.iter().copied().chain([width]).collect(),
            None => (0..=width).collect(),
        };
        self.scan_files_with(vec![vec![pf]], Some(&projection), (None, vec![]), (options, predicate), runtime, true)
    }

    /// A scan of `groups` of files (one DataFusion partition each) under the table's names,
    /// with a limit, the order of each group's rows, Parquet `options` and a pruning predicate.
    fn scan_files(
        &self,
        groups: Vec<Vec<PartitionedFile>>,
        projection: Option<&Vec<usize>>,
        (limit, ordering): (Option<usize>, Vec<LexOrdering>),
        (options, predicate): (TableParquetOptions, Option<Arc<dyn PhysicalExpr>>),
        runtime: &RuntimeEnv,
    ) -> DfResult<Arc<dyn ExecutionPlan>> {
        self.scan_files_with(groups, projection, (limit, ordering), (options, predicate), runtime, false)
    }

    /// [`Self::scan_files`], with the rows' positions in their files as a last column when
    /// `positions` (Parquet's row number, counted before any row is skipped).
    fn scan_files_with(
        &self,
        groups: Vec<Vec<PartitionedFile>>,
        projection: Option<&Vec<usize>>,
        (limit, ordering): (Option<usize>, Vec<LexOrdering>),
        (options, predicate): (TableParquetOptions, Option<Arc<dyn PhysicalExpr>>),
        runtime: &RuntimeEnv,
        positions: bool,
    ) -> DfResult<Arc<dyn ExecutionPlan>> {
        let mut table_schema = DfTableSchema::builder(Arc::clone(&self.file_schema))
            .with_table_partition_cols(self.scan_partition_fields());
        if positions {
            let row_number = Field::new(POSITION_COLUMN, DataType::Int64, true).with_extension_type(RowNumber);
            table_schema = table_schema.with_virtual_columns(vec![Arc::new(row_number)]);
        }
        let table_schema = table_schema.build();
        let url = ObjectStoreUrl::parse(&self.location.url)?;
        let mut source = ParquetSource::new(table_schema).with_table_parquet_options(options);
        // Data files never change: their footers are read once per process, through the
        // runtime's metadata cache (as DataFusion's own Parquet tables do). A planner without
        // the store (a Ballista scheduler) leaves the reader to the process that executes.
        if let Ok(store) = runtime.object_store(&url) {
            let cache = runtime.cache_manager.get_file_metadata_cache();
            source =
                source.with_parquet_file_reader_factory(Arc::new(CachedParquetFileReaderFactory::new(store, cache)));
        }
        if let Some(predicate) = predicate {
            source = source.with_predicate(predicate);
        }
        let source = Arc::new(source);
        // Per-file statistics from the log, summed per group and over the scan: DataFusion
        // prunes files by them and answers count(*), min and max without reading data.
        let mut all_fields: Vec<Field> = self.file_schema.fields().iter().map(|f| f.as_ref().clone()).collect();
        all_fields.extend(self.scan_partition_fields().iter().map(|f| f.as_ref().clone()));
        let all = Schema::new(all_fields);
        let mut merged = vec![];
        let groups: Vec<FileGroup> = groups
            .into_iter()
            .map(|files| {
                let stats = Statistics::try_merge_iter(files.iter().filter_map(|f| f.statistics.as_deref()), &all)?;
                merged.push(stats.clone());
                Ok(FileGroup::new(files).with_statistics(Arc::new(stats)))
            })
            .collect::<DfResult<_>>()?;
        let statistics = Statistics::try_merge_iter(merged.iter(), &all)?;
        let config = FileScanConfigBuilder::new(url, source)
            .with_file_groups(groups)
            .with_statistics(statistics)
            .with_expr_adapter(
                super::field_names::FieldNames::of(&self.snapshot.schema.columns).map(|f| Arc::new(f) as _),
            )
            .with_projection_indices(projection.cloned())?
            .with_limit(limit)
            .with_output_ordering(ordering)
            .build();
        Ok(DataSourceExec::from_data_source(config))
    }

    /// What the log recorded of `file`'s columns, as DataFusion's statistics of the file schema.
    fn file_statistics(&self, file: &crate::state::model::DataFile) -> Arc<Statistics> {
        let types: Vec<DataType> = self.file_schema.fields().iter().map(|f| f.data_type().clone()).collect();
        Arc::new(super::stats::file_statistics(file, &self.snapshot.schema.columns, &types))
    }

    /// The partition columns of a scan: the table's, then the file column if asked for.
    fn scan_partition_fields(&self) -> Vec<Arc<Field>> {
        let mut fields: Vec<Arc<Field>> = self.partition_fields.iter().cloned().map(Arc::new).collect();
        if self.file_column {
            fields.push(Arc::new(Field::new(FILE_COLUMN, DataType::Utf8, false)));
        }
        fields
    }

    /// Files of the partitions that pass `partition_filters` (which use partition columns only)
    /// and, in a hash-clustered table, of the buckets that `filters` leave; and whether every
    /// file is in the table's file order.
    fn pruned_files(&self, partition_filters: &[Expr], filters: &[Expr]) -> DfResult<(Vec<PartitionedFile>, bool)> {
        let clustering = self.snapshot.schema.clustering.as_ref();
        let buckets = clustering.and_then(|c| layout::wanted_buckets(c, &self.schema, filters));
        let mut files = Vec::new();
        let mut ordered = clustering.is_some_and(|c| !c.file_order().is_empty());
        for partition in self.pruned_partitions(partition_filters)? {
            let values = self.partition_values(partition)?;
            for f in &partition.files {
                if let (Some(wanted), Some(bucket)) = (&buckets, f.bucket)
                    && !wanted.contains(&bucket)
                {
                    continue;
                }
                ordered &= f.bucket.is_some();
                let path = self.location.path(&f.path);
                let mut values = values.clone();
                if self.file_column {
                    values.push(ScalarValue::Utf8(Some(f.path.clone())));
                }
                let stats = self.file_statistics(f);
                let pf = PartitionedFile::new(path, f.size).with_partition_values(values).with_statistics(stats);
                files.push(deleted_rows::apply(pf, f));
            }
        }
        Ok((files, ordered))
    }

    /// The order rows of each file of a clustered table are in, over the scan's columns.
    fn file_order(&self) -> Option<LexOrdering> {
        let order = self.snapshot.schema.clustering.as_ref()?.file_order();
        let keys = order.iter().map(|k| {
            let index = self.schema.index_of(&k.column).ok()?;
            let expr = Arc::new(Column::new(&k.column, index)) as Arc<dyn PhysicalExpr>;
            Some(PhysicalSortExpr::new(expr, SortOptions { descending: k.descending, nulls_first: k.descending }))
        });
        LexOrdering::new(keys.collect::<Option<Vec<_>>>()?)
    }

    /// `files` in `groups` groups: round robin, or, when the files are each in the file order and
    /// their key ranges allow it, into at most `groups` groups of files whose ranges follow one
    /// another, so that DataFusion can read each group as sorted (it checks the files'
    /// statistics and drops the order where they overlap). Hash buckets each span the whole key
    /// range: a scan of many of them is not split into one group per file.
    fn group_files(
        &self,
        files: Vec<PartitionedFile>,
        groups: usize,
        ordered: bool,
    ) -> (Vec<Vec<PartitionedFile>>, Vec<LexOrdering>) {
        if ordered && let Some(order) = self.file_order() {
            let all = [FileGroup::new(files.clone())];
            if let Ok(split) =
                FileScanConfig::split_groups_by_statistics_with_target_partitions(&self.schema, &all, &order, groups)
                && split.len() <= groups
            {
                return (split.into_iter().map(|g| g.into_inner()).collect(), vec![order]);
            }
        }
        let mut out: Vec<Vec<PartitionedFile>> = vec![Vec::new(); groups];
        for (i, f) in files.into_iter().enumerate() {
            out[i % groups].push(f);
        }
        (out, vec![])
    }

    /// The partitions that pass `filters`; those of the filters that use partition columns only
    /// are applied, the others ignored.
    pub fn pruned_partitions(&self, filters: &[Expr]) -> DfResult<Vec<&crate::state::model::Partition>> {
        let names = self.partition_names();
        let filters: Vec<Expr> = filters.iter().filter(|f| expr_applicable_for_cols(&names, f)).cloned().collect();
        let part_schema = Arc::new(Schema::new(self.partition_fields.clone()));
        let predicate = match conjunction(filters.iter().cloned()) {
            Some(expr) if !self.partition_fields.is_empty() => {
                let df_schema = DFSchema::try_from(Arc::clone(&part_schema))?;
                Some(create_physical_expr(&expr, &df_schema, &Default::default(), &Default::default())?)
            }
            _ => None,
        };
        let mut out = Vec::new();
        for partition in self.snapshot.partitions.values() {
            let values = self.partition_values(partition)?;
            if let Some(predicate) = &predicate {
                let arrays = values.iter().map(|v| v.to_array()).collect::<DfResult<Vec<_>>>()?;
                let batch = RecordBatch::try_new(Arc::clone(&part_schema), arrays)?;
                let keep = predicate.evaluate(&batch)?.into_array(1)?;
                let keep = keep.as_boolean();
                if datafusion::arrow::array::Array::is_null(keep, 0) || !keep.value(0) {
                    continue;
                }
            }
            out.push(partition);
        }
        Ok(out)
    }
}

#[async_trait]
impl TableProvider for VersionedTable {
    fn schema(&self) -> SchemaRef {
        Arc::clone(&self.schema)
    }

    fn table_type(&self) -> TableType {
        TableType::Base
    }

    async fn scan(
        &self,
        state: &dyn Session,
        projection: Option<&Vec<usize>>,
        filters: &[Expr],
        limit: Option<usize>,
    ) -> DfResult<Arc<dyn ExecutionPlan>> {
        let names = self.partition_names();
        let partition_filters: Vec<Expr> =
            filters.iter().filter(|f| expr_applicable_for_cols(&names, f)).cloned().collect();
        let (files, ordered) = self.pruned_files(&partition_filters, filters)?;
        if files.is_empty() {
            let projected = match projection {
                Some(p) => Arc::new(self.schema.project(p)?),
                None => Arc::clone(&self.schema),
            };
            return Ok(Arc::new(EmptyExec::new(projected)));
        }
        let groups_wanted = state.config().target_partitions().max(1).min(files.len());
        let (groups, ordering) = self.group_files(files, groups_wanted, ordered);
        // The session's Parquet options (pruning, page index, bloom filters, pushdown …) apply,
        // as they do to DataFusion's own Parquet tables: `SET datafusion.execution.parquet.…`
        // changes the session config, which `default_table_options` lays over the table options
        // (`table_options()` alone misses it).
        let mut options = state.default_table_options().parquet;
        if self.file_column {
            // A row-level change's target (MERGE, and DELETE/UPDATE planned as one): the join's
            // dynamic filter (the keys the source holds) runs inside the reader, which decodes
            // the other columns only for the rows it keeps.
            options.global.pushdown_filters = true;
        }
        let scan = self.scan_files(groups, projection, (limit, ordering), (options, None), state.runtime_env())?;
        // Planned where the project is not (a Ballista scheduler): the plan travels, and the
        // rows a vector skips must travel with it (see `vectors_exec.rs`).
        let mut vectors = ScanVectors::default();
        if self.project.is_none() {
            for f in self.snapshot.partitions.values().flat_map(|p| p.files.iter()) {
                if let Some(d) = &f.deleted {
                    let path = object_store::path::Path::from(self.location.path(&f.path));
                    vectors.insert(path.to_string(), f.rows, Arc::clone(d));
                }
            }
        }
        if vectors.is_empty() {
            return Ok(scan);
        }
        Ok(Arc::new(DeletionVectorsExec::try_new(scan, Arc::new(vectors))?))
    }

    fn supports_filters_pushdown(&self, filters: &[&Expr]) -> DfResult<Vec<TableProviderFilterPushDown>> {
        let names = self.partition_names();
        // A hash-clustered table reads the filters on its key to skip buckets; they still run.
        let key: Vec<&str> = match &self.snapshot.schema.clustering {
            Some(c) if c.kind == ClusterKind::Hash => c.columns.iter().map(String::as_str).collect(),
            _ => vec![],
        };
        Ok(filters
            .iter()
            .map(|f| {
                if !names.is_empty() && expr_applicable_for_cols(&names, f) {
                    TableProviderFilterPushDown::Exact
                } else if !key.is_empty() && f.column_refs().iter().any(|c| key.contains(&c.name.as_str())) {
                    TableProviderFilterPushDown::Inexact
                } else {
                    TableProviderFilterPushDown::Unsupported
                }
            })
            .collect())
    }

    fn statistics(&self) -> Option<Statistics> {
        let mut stats = Statistics::new_unknown(&self.schema);
        stats.num_rows = Precision::Exact(self.snapshot.row_count() as usize);
        Some(stats)
    }

    async fn insert_into(
        &self,
        _state: &dyn Session,
        input: Arc<dyn ExecutionPlan>,
        op: InsertOp,
    ) -> DfResult<Arc<dyn ExecutionPlan>> {
        let Some(project) = self.project.as_ref().filter(|_| !self.file_column) else {
            return Err(DataFusionError::NotImplemented(format!(
                "writing to table {} here: writes commit on the client that opened the project",
                self.snapshot.name
            )));
        };
        let mode = match op {
            InsertOp::Append => WriteMode::Append,
            InsertOp::Overwrite | InsertOp::Replace => WriteMode::Overwrite,
        };
        let sink = VersionedSink {
            project: Arc::clone(project),
            snapshot: Arc::clone(&self.snapshot),
            schema: Arc::clone(&self.schema),
            mode,
        };
        Ok(Arc::new(DataSinkExec::new(input, Arc::new(sink), None)))
    }
}

/// DataFusion's INSERT into a versioned table: all partition values come from the rows.
struct VersionedSink {
    project: Arc<Project>,
    snapshot: Arc<TableSnapshot>,
    schema: SchemaRef,
    mode: WriteMode,
}

impl fmt::Debug for VersionedSink {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "VersionedSink({})", self.snapshot.name)
    }
}

impl DisplayAs for VersionedSink {
    fn fmt_as(&self, _t: DisplayFormatType, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "VersionedSink: table={} mode={:?}", self.snapshot.name, self.mode)
    }
}

#[async_trait]
impl DataSink for VersionedSink {
    fn schema(&self) -> &SchemaRef {
        &self.schema
    }

    async fn write_all(&self, data: SendableRecordBatchStream, _context: &Arc<TaskContext>) -> DfResult<u64> {
        let run = async {
            let schema = &self.snapshot.schema;
            let existing = self.snapshot.partitions.iter().map(|(k, p)| (k.clone(), p.id.clone())).collect();
            let statics = vec![None; schema.partition_columns.len()];
            let writer = PartitionWriter::new(Arc::clone(&self.project), &self.snapshot.id, schema, statics, existing)?
                .with_table_properties(&self.snapshot.properties)?;
            let out = writer.write_stream(data).await?;
            // DataFusion does not hand the statement text to a sink: record what it did.
            let verb = match self.mode {
                WriteMode::Append => "INSERT INTO",
                WriteMode::Overwrite => "INSERT OVERWRITE",
            };
            let statement = format!("{verb} {} (DataFusion insert_into)", self.snapshot.name);
            let rows = commit_write(&self.project, (&statement, None), &self.snapshot, self.mode, &out).await?;
            // The same automatic purge as the crate's own statements.
            crate::purge::spawn_auto(&self.project);
            Ok::<_, crate::Error>(rows)
        };
        run.await.map_err(DataFusionError::from)
    }
}

/// `schema` with its first `n` (data) columns of text read as `Utf8View`, as DataFusion's own
/// Parquet tables read text: the reader then points into the decoded pages instead of copying
/// every value (TPC-H q19 spent a fifth of its time copying strings). Files keep `Utf8`.
fn viewed(schema: &Schema, n: usize) -> SchemaRef {
    let fields = schema.fields().iter().enumerate().map(|(i, f)| match f.data_type() {
        DataType::Utf8 if i < n => Arc::new(f.as_ref().clone().with_data_type(DataType::Utf8View)),
        _ => Arc::clone(f),
    });
    Arc::new(Schema::new_with_metadata(fields.collect::<Vec<_>>(), schema.metadata().clone()))
}
