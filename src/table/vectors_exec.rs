//! A scan that carries its deletion vectors through plan serialization. Locally the rows a
//! vector deletes are skipped through an extension of each scanned file (`deleted_rows.rs`),
//! which DataFusion's serialized plans do not carry: a table planned on a Ballista scheduler
//! wraps its scan in this node, whose codec (`distributed/codec.rs`) sends the vectors along and
//! attaches them again to the files of the scan it decodes on the executor.

use std::collections::BTreeMap;
use std::fmt;
use std::sync::Arc;

use datafusion::common::tree_node::TreeNodeRecursion;
use datafusion::datasource::physical_plan::FileScanConfig;
use datafusion::datasource::physical_plan::parquet::ParquetRowSelection;
use datafusion::datasource::source::DataSourceExec;
use datafusion::error::{DataFusionError, Result as DfResult};
use datafusion::execution::{SendableRecordBatchStream, TaskContext};
use datafusion::physical_expr::PhysicalExpr;
use datafusion::physical_plan::{DisplayAs, DisplayFormatType, ExecutionPlan, PlanProperties};
use serde::{Deserialize, Serialize};

use super::deleted_rows::skipping;
use crate::state::Deletions;

/// The vectors of a scan: for each file (its path as the scan names it), its rows and the
/// positions deleted.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct ScanVectors {
    files: BTreeMap<String, (u64, Arc<Deletions>)>,
}

impl ScanVectors {
    /// Adds file `path` of `rows` rows with `deleted`.
    pub(crate) fn insert(&mut self, path: String, rows: u64, deleted: Arc<Deletions>) {
        self.files.insert(path, (rows, deleted));
    }

    /// True when no file has a vector.
    pub fn is_empty(&self) -> bool {
        self.files.is_empty()
    }
}

/// A file scan (`DataSourceExec`) with the deletion vectors of its files.
#[derive(Debug)]
pub struct DeletionVectorsExec {
    input: Arc<dyn ExecutionPlan>,
    vectors: Arc<ScanVectors>,
}

impl DeletionVectorsExec {
    /// `input` (a file scan) reading only live rows of the files `vectors` names: the vectors
    /// are attached to its files (again, after it was decoded from a serialized plan).
    pub fn try_new(input: Arc<dyn ExecutionPlan>, vectors: Arc<ScanVectors>) -> DfResult<Self> {
        let scan = input.downcast_ref::<DataSourceExec>().ok_or_else(|| {
            DataFusionError::Internal(format!("deletion vectors over {}, not a file scan", input.name()))
        })?;
        let config = scan
            .data_source()
            .downcast_ref::<FileScanConfig>()
            .ok_or_else(|| DataFusionError::Internal("deletion vectors over a scan that reads no files".to_string()))?;
        let mut config = config.clone();
        config.file_groups = config
            .file_groups
            .iter()
            .map(|group| {
                let files = group.iter().map(|f| match vectors.files.get(f.object_meta.location.as_ref()) {
                    Some((rows, d)) => f.clone().with_extension(ParquetRowSelection::new(skipping(*rows, d.iter()))),
                    None => f.clone(),
                });
                let mut out = datafusion::datasource::physical_plan::FileGroup::new(files.collect());
                if let Some(stats) = group.file_statistics(None) {
                    out = out.with_statistics(Arc::new(stats.clone()));
                }
                out
            })
            .collect();
        let input: Arc<dyn ExecutionPlan> = DataSourceExec::from_data_source(config);
        Ok(Self { input, vectors })
    }

    /// The vectors, for the codec.
    pub fn vectors(&self) -> &Arc<ScanVectors> {
        &self.vectors
    }
}

impl DisplayAs for DeletionVectorsExec {
    fn fmt_as(&self, _t: DisplayFormatType, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "DeletionVectorsExec: files={}", self.vectors.files.len())
    }
}

impl ExecutionPlan for DeletionVectorsExec {
    fn name(&self) -> &str {
        "DeletionVectorsExec"
    }

    fn properties(&self) -> &Arc<PlanProperties> {
        self.input.properties()
    }

    fn children(&self) -> Vec<&Arc<dyn ExecutionPlan>> {
        vec![&self.input]
    }

    fn with_new_children(self: Arc<Self>, children: Vec<Arc<dyn ExecutionPlan>>) -> DfResult<Arc<dyn ExecutionPlan>> {
        let [input] = <[_; 1]>::try_from(children)
            .map_err(|_| DataFusionError::Internal("DeletionVectorsExec takes one input".to_string()))?;
        Ok(Arc::new(Self::try_new(input, Arc::clone(&self.vectors))?))
    }

    fn apply_expressions(
        &self,
        _f: &mut dyn FnMut(&Arc<dyn PhysicalExpr>) -> DfResult<TreeNodeRecursion>,
    ) -> DfResult<TreeNodeRecursion> {
        Ok(TreeNodeRecursion::Continue)
    }

    fn execute(&self, partition: usize, context: Arc<TaskContext>) -> DfResult<SendableRecordBatchStream> {
        self.input.execute(partition, context)
    }
}
