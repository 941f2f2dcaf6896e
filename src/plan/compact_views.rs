//! The build side of a MERGE's hash join, copied into buffers of its own before the join holds it.
//!
//! A merge-on-read MERGE filters inside the Parquet reader (only the changing rows are decoded),
//! and text is read as `Utf8View`: the text of the rows a scan keeps still points into the
//! decoded pages of every row it read. A hash join that collects those batches as they come holds
//! every page: a source of 1% of a table's rows held as much memory as the table's whole text
//! (a 4,000-row MERGE of a 400,000-row table failed in a 64 MiB budget; 560 MB of peak memory for
//! a 200,000-row MERGE of 6M rows). Arrow's `BatchCoalescer` copies the views' text when their
//! buffers are mostly other rows', so the join holds the source's rows, not their pages.

use std::fmt;
use std::sync::Arc;

use datafusion::arrow::compute::BatchCoalescer;
use datafusion::common::tree_node::{Transformed, TreeNode, TreeNodeRecursion};
use datafusion::error::Result as DfResult;
use datafusion::execution::{SendableRecordBatchStream, TaskContext};
use datafusion::physical_expr::PhysicalExpr;
use datafusion::physical_plan::execution_plan::{ChildrenPropertiesMode, ReplaceChildrenOptions};
use datafusion::physical_plan::joins::HashJoinExec;
use datafusion::physical_plan::stream::RecordBatchStreamAdapter;
use datafusion::physical_plan::{DisplayAs, DisplayFormatType, ExecutionPlan, PlanProperties};
use futures::StreamExt;

/// `plan` with the build side (left input) of each hash join passed through [`CompactViewsExec`].
pub(super) fn compact_build_sides(plan: Arc<dyn ExecutionPlan>) -> DfResult<Arc<dyn ExecutionPlan>> {
    plan.transform_up(|node| {
        let Some(join) = node.downcast_ref::<HashJoinExec>() else {
            return Ok(Transformed::no(node));
        };
        if join.left().downcast_ref::<CompactViewsExec>().is_some() {
            return Ok(Transformed::no(node));
        }
        let left = Arc::new(CompactViewsExec::new(Arc::clone(join.left()))) as Arc<dyn ExecutionPlan>;
        let right = Arc::clone(join.right());
        // The join keeps its mode, keys and dynamic filter (wired to the probe side's scan); the
        // new child has its input's properties.
        let keep = ReplaceChildrenOptions::new(ChildrenPropertiesMode::Keep);
        Ok(Transformed::yes(node.replace_children(vec![left, right], keep)?))
    })
    .map(|t| t.data)
}

/// Passes its input's rows on in batches whose text has buffers of its own (see the module).
#[derive(Debug)]
pub(crate) struct CompactViewsExec {
    input: Arc<dyn ExecutionPlan>,
}

impl CompactViewsExec {
    fn new(input: Arc<dyn ExecutionPlan>) -> Self {
        Self { input }
    }
}

impl DisplayAs for CompactViewsExec {
    fn fmt_as(&self, _: DisplayFormatType, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "CompactViewsExec")
    }
}

impl ExecutionPlan for CompactViewsExec {
    fn name(&self) -> &str {
        "CompactViewsExec"
    }

    fn properties(&self) -> &Arc<PlanProperties> {
        // The same rows, partitions and order as its input.
        self.input.properties()
    }

    fn children(&self) -> Vec<&Arc<dyn ExecutionPlan>> {
        vec![&self.input]
    }

    fn with_new_children(
        self: Arc<Self>,
        mut children: Vec<Arc<dyn ExecutionPlan>>,
    ) -> DfResult<Arc<dyn ExecutionPlan>> {
        Ok(Arc::new(Self::new(children.swap_remove(0))))
    }

    fn apply_expressions(
        &self,
        _f: &mut dyn FnMut(&Arc<dyn PhysicalExpr>) -> DfResult<TreeNodeRecursion>,
    ) -> DfResult<TreeNodeRecursion> {
        Ok(TreeNodeRecursion::Continue)
    }

    fn execute(&self, partition: usize, ctx: Arc<TaskContext>) -> DfResult<SendableRecordBatchStream> {
        let schema = self.input.schema();
        let size = ctx.session_config().batch_size();
        let input = self.input.execute(partition, ctx)?;
        let state = (input, BatchCoalescer::new(Arc::clone(&schema), size), false);
        let rows = futures::stream::unfold(state, |(mut input, mut coalescer, mut done)| async move {
            loop {
                if let Some(batch) = coalescer.next_completed_batch() {
                    return Some((Ok(batch), (input, coalescer, done)));
                }
                if done {
                    return None;
                }
                let pushed = match input.next().await {
                    Some(Ok(batch)) => coalescer.push_batch(batch),
                    Some(Err(e)) => return Some((Err(e), (input, coalescer, true))),
                    None => {
                        done = true;
                        coalescer.finish_buffered_batch()
                    }
                };
                if let Err(e) = pushed {
                    return Some((Err(e.into()), (input, coalescer, true)));
                }
            }
        });
        Ok(Box::pin(RecordBatchStreamAdapter::new(schema, rows)))
    }
}
