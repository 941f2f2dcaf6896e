//! Executing statement nodes: the `ExecutionPlan` that runs a statement when its stream is
//! polled, the `ExtensionPlanner` that makes it, and the `QueryPlanner` that installs both.

use std::fmt;
use std::sync::Arc;

use async_trait::async_trait;
use datafusion::catalog::Session;
use datafusion::common::tree_node::TreeNodeRecursion;
use datafusion::error::{DataFusionError, Result as DfResult};
use datafusion::execution::context::QueryPlanner;
use datafusion::execution::session_state::{SessionState, SessionStateBuilder};
use datafusion::execution::{SendableRecordBatchStream, TaskContext};
use datafusion::logical_expr::physical_planning_context::PhysicalPlanningContext;
use datafusion::logical_expr::{LogicalPlan, UserDefinedLogicalNode};
use datafusion::physical_expr::expressions::Column;
use datafusion::physical_expr::{EquivalenceProperties, Partitioning, PhysicalExpr};
use datafusion::physical_plan::coalesce_partitions::CoalescePartitionsExec;
use datafusion::physical_plan::execution_plan::{Boundedness, EmissionType};
use datafusion::physical_plan::repartition::RepartitionExec;
use datafusion::physical_plan::stream::RecordBatchStreamAdapter;
use datafusion::physical_plan::{DisplayAs, DisplayFormatType, ExecutionPlan, ExecutionPlanProperties, PlanProperties};
use datafusion::physical_planner::{DefaultPhysicalPlanner, ExtensionPlanner, PhysicalPlanner};
use futures::StreamExt;

use super::compact_views::compact_build_sides;
use super::node::StatementNode;
use crate::statements::{self, Env, Progress, Request};

/// Runs one statement when executed; its rows are the statement's result.
pub(crate) struct StatementExec {
    env: Env,
    node: StatementNode,
    input: Option<Arc<dyn ExecutionPlan>>,
    properties: Arc<PlanProperties>,
}

impl fmt::Debug for StatementExec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "StatementExec({})", self.node.title())
    }
}

impl StatementExec {
    fn new(env: Env, node: StatementNode, input: Option<Arc<dyn ExecutionPlan>>) -> Self {
        // A statement is one commit, written from all of its rows: INSERT, CREATE TABLE … AS
        // and MERGE into an unpartitioned table write each partition of their query with a
        // writer of its own (in parallel); MERGE into a partitioned table reads one stream (each
        // writer would make files of its own in every partition it touches).
        let parallel = match node.request.as_ref() {
            Request::Insert(_) | Request::CreateAs(_) => true,
            Request::Merge(m) => m.base.schema.partition_columns.is_empty(),
            _ => false,
        };
        let input = input.map(|i| {
            let n = i.output_partitioning().partition_count();
            if n <= 1 {
                return i;
            }
            if !parallel {
                return Arc::new(CoalescePartitionsExec::new(i)) as Arc<dyn ExecutionPlan>;
            }
            // Rows of one partition value go to one writer (else each writer would make its own
            // files in every partition): hash on the dynamic partition columns, the last ones.
            let dynamic = match node.request.as_ref() {
                Request::Insert(t) => t.statics.iter().filter(|s| s.is_none()).count(),
                _ => 0,
            };
            if dynamic == 0 {
                return i;
            }
            let schema = i.schema();
            let width = schema.fields().len();
            let keys = (width - dynamic..width)
                .map(|c| Arc::new(Column::new(schema.field(c).name(), c)) as Arc<dyn PhysicalExpr>)
                .collect();
            match RepartitionExec::try_new(Arc::clone(&i), Partitioning::Hash(keys, n)) {
                Ok(hashed) => Arc::new(hashed) as Arc<dyn ExecutionPlan>,
                Err(_) => Arc::new(CoalescePartitionsExec::new(i)) as Arc<dyn ExecutionPlan>,
            }
        });
        let schema = node.request.output_schema();
        let properties = Arc::new(PlanProperties::new(
            EquivalenceProperties::new(schema),
            Partitioning::UnknownPartitioning(1),
            EmissionType::Final,
            Boundedness::Bounded,
        ));
        Self { env, node, input, properties }
    }
}

impl DisplayAs for StatementExec {
    fn fmt_as(&self, _t: DisplayFormatType, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "StatementExec: {}", self.node.title())
    }
}

impl ExecutionPlan for StatementExec {
    fn name(&self) -> &str {
        "StatementExec"
    }

    fn properties(&self) -> &Arc<PlanProperties> {
        &self.properties
    }

    fn children(&self) -> Vec<&Arc<dyn ExecutionPlan>> {
        self.input.iter().collect()
    }

    fn apply_expressions(
        &self,
        _f: &mut dyn FnMut(&Arc<dyn PhysicalExpr>) -> DfResult<TreeNodeRecursion>,
    ) -> DfResult<TreeNodeRecursion> {
        Ok(TreeNodeRecursion::Continue)
    }

    fn with_new_children(
        self: Arc<Self>,
        mut children: Vec<Arc<dyn ExecutionPlan>>,
    ) -> DfResult<Arc<dyn ExecutionPlan>> {
        Ok(Arc::new(Self::new(self.env.clone(), self.node.clone(), children.pop())))
    }

    fn execute(&self, partition: usize, context: Arc<TaskContext>) -> DfResult<SendableRecordBatchStream> {
        if partition != 0 {
            return Err(DataFusionError::Internal(format!("StatementExec has one partition, not {partition}")));
        }
        self.env.progress.reset();
        let input = match &self.input {
            None => None,
            Some(plan) => Some(
                (0..plan.output_partitioning().partition_count())
                    .map(|i| Ok(counted(plan.execute(i, Arc::clone(&context))?, Arc::clone(&self.env.progress))))
                    .collect::<DfResult<Vec<_>>>()?,
            ),
        };
        let (env, text, request) = (self.env.clone(), self.node.text.clone(), Arc::clone(&self.node.request));
        let run = async move {
            let result = statements::run(&env, &text, &request, input, context).await.map_err(DataFusionError::from)?;
            Ok::<_, DataFusionError>(futures::stream::iter(result.batches.into_iter().map(Ok)))
        };
        let stream = futures::stream::once(run).map(|r| match r {
            Ok(batches) => batches.boxed(),
            Err(e) => futures::stream::once(async move { Err(e) }).boxed(),
        });
        Ok(Box::pin(RecordBatchStreamAdapter::new(self.schema(), stream.flatten())))
    }
}

/// Counts the rows a write takes in, for progress displays.
fn counted(rows: SendableRecordBatchStream, progress: Arc<Progress>) -> SendableRecordBatchStream {
    let schema = rows.schema();
    let stream = rows.inspect(move |b| {
        if let Ok(b) = b {
            progress.add(b.num_rows(), b.get_array_memory_size());
        }
    });
    Box::pin(RecordBatchStreamAdapter::new(schema, stream))
}

/// Plans [`StatementNode`]s into [`StatementExec`]s.
#[derive(Debug)]
pub(super) struct StatementPlanner {
    env: Env,
}

#[async_trait]
impl ExtensionPlanner for StatementPlanner {
    async fn plan_extension(
        &self,
        _planner: &dyn PhysicalPlanner,
        node: &dyn UserDefinedLogicalNode,
        _logical_inputs: &[&LogicalPlan],
        physical_inputs: &[Arc<dyn ExecutionPlan>],
        _session: &dyn Session,
        _planning_ctx: &PhysicalPlanningContext,
    ) -> DfResult<Option<Arc<dyn ExecutionPlan>>> {
        let Some(node) = node.as_any().downcast_ref::<StatementNode>() else {
            return Ok(None);
        };
        let input = physical_inputs.first().cloned();
        Ok(Some(Arc::new(StatementExec::new(self.env.clone(), node.clone(), input))))
    }
}

/// DataFusion's physical planner plus the statement planner. Plans without statement nodes go
/// to the planner the session had before (so a custom one keeps working for queries).
#[derive(Debug)]
pub(crate) struct TimeMachineQueryPlanner {
    statements: Arc<StatementPlanner>,
    previous: Arc<dyn QueryPlanner + Send + Sync>,
}

impl TimeMachineQueryPlanner {
    /// The planner for `env`, falling back to `previous`.
    pub(crate) fn new(env: Env, previous: Arc<dyn QueryPlanner + Send + Sync>) -> Self {
        Self { statements: Arc::new(StatementPlanner { env }), previous }
    }
}

/// True when a statement node in `plan` satisfies `wanted`.
fn any_statement(plan: &LogicalPlan, wanted: &dyn Fn(&StatementNode) -> bool) -> bool {
    let here = matches!(plan, LogicalPlan::Extension(e)
        if e.node.as_any().downcast_ref::<StatementNode>().is_some_and(wanted));
    here || plan.inputs().into_iter().any(|p| any_statement(p, wanted))
}

fn has_statement(plan: &LogicalPlan) -> bool {
    any_statement(plan, &|_| true)
}

/// True when `plan` is a MERGE (or a DELETE or UPDATE planned as one) that writes deletion vectors.
fn is_merge_on_read(plan: &LogicalPlan) -> bool {
    any_statement(plan, &|n| matches!(n.request.as_ref(), Request::Merge(m) if m.merge_on_read))
}

/// The largest source (DataFusion's estimate) that a merge-on-read MERGE joins as one hash table.
const MERGE_COLLECT_BYTES: usize = 256 << 20;
/// The same in rows, where the estimate has no size.
const MERGE_COLLECT_ROWS: usize = 4 << 20;

/// The session a merge-on-read MERGE is planned in: its join collects a source up to
/// [`MERGE_COLLECT_BYTES`] into one hash table (DataFusion's `CollectLeft`) instead of
/// repartitioning both sides. The table is read with its filters inside the Parquet reader (only
/// the changing rows are decoded), and a collected join's dynamic filter there is a bounds check
/// and one hash lookup per row, where a partitioned join's hashes each row twice (its partition,
/// then the lookup): a 1% MERGE of 6M rows spent 280 ms of CPU in that filter alone. DataFusion's
/// own thresholds (1 MiB, 128K rows) would take a filtered source (estimated at a fifth of its
/// table) as large.
///
/// Every Parquet scan of the statement filters inside the reader as well (late
/// materialization): a source selecting 1% of a table then decodes its other columns for that
/// 1% only, where DataFusion's default decodes them for every row before filtering.
fn merge_session(session: &dyn Session) -> Option<SessionState> {
    let mut state = session.as_any().downcast_ref::<SessionState>()?.clone();
    state.config_mut().options_mut().execution.parquet.pushdown_filters = true;
    let optimizer = &mut state.config_mut().options_mut().optimizer;
    optimizer.hash_join_single_partition_threshold =
        optimizer.hash_join_single_partition_threshold.max(MERGE_COLLECT_BYTES);
    optimizer.hash_join_single_partition_threshold_rows =
        optimizer.hash_join_single_partition_threshold_rows.max(MERGE_COLLECT_ROWS);
    Some(state)
}

#[async_trait]
impl QueryPlanner for TimeMachineQueryPlanner {
    async fn create_physical_plan(
        &self,
        plan: &LogicalPlan,
        session: &dyn Session,
    ) -> DfResult<Arc<dyn ExecutionPlan>> {
        // DELETE and UPDATE planned by DataFusion directly (`ctx.sql`) on a versioned table.
        let converted =
            super::rowlevel::plan_row_changes(plan.clone(), None, session).map_err(DataFusionError::from)?;
        let plan = &converted;
        if !has_statement(plan) {
            return self.previous.create_physical_plan(plan, session).await;
        }
        let planner = DefaultPhysicalPlanner::with_extension_planners(vec![Arc::clone(&self.statements) as _]);
        if is_merge_on_read(plan)
            && let Some(merging) = merge_session(session)
        {
            // Its source's text, filtered inside the reader, is copied before the join holds it.
            return compact_build_sides(planner.create_physical_plan(plan, &merging).await?);
        }
        planner.create_physical_plan(plan, session).await
    }
}

/// Installs the time machine's planner on `state`, keeping its previous planner for the rest.
///
/// DataFusion's default (generic) SQL dialect does not parse version clauses, so a session on
/// it moves to sqlparser's Snowflake dialect, the generic-like dialect that parses
/// `VERSION AS OF`, `TIMESTAMP AS OF` and `FOR SYSTEM_TIME AS OF` without other restrictions
/// (Databricks and BigQuery require `INTERVAL '1' HOUR` forms); a dialect the user chose stays.
pub(crate) fn install(state: &SessionState, env: Env) -> DfResult<SessionState> {
    let previous = Arc::clone(state.query_planner());
    let mut builder = SessionStateBuilder::new_from_existing(state.clone());
    if let Some(config) = builder.config()
        && config.options().sql_parser.dialect.to_string().eq_ignore_ascii_case("generic")
    {
        config.options_mut().set("datafusion.sql_parser.dialect", "snowflake")?;
    }
    Ok(builder.with_query_planner(Arc::new(TimeMachineQueryPlanner::new(env, previous))).build())
}
