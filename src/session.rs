//! The embedding API: a DataFusion `SessionContext` with a project's versioned tables and the
//! time machine's statements.

use std::sync::Arc;

use datafusion::arrow::datatypes::SchemaRef;
use datafusion::arrow::record_batch::RecordBatch;
use datafusion::dataframe::DataFrame;
use datafusion::prelude::{SessionConfig, SessionContext};

use crate::catalog::ProjectSchema;
use crate::clock::{Clock, SystemClock};
use crate::error::{Error, Result};
use crate::log::Project;
use crate::ops::history::{HistoryFunction, TablesFunction};
use crate::time_travel::TimeTravelPlanner;
use crate::warehouse::Warehouse;

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
        Self {
            schema: Arc::new(datafusion::arrow::datatypes::Schema::empty()),
            batches: vec![],
            kind: ResultKind::Ok,
        }
    }

    pub(crate) fn rows_affected(n: u64) -> Self {
        Self { kind: ResultKind::RowsAffected(n), ..Self::ok() }
    }

    pub(crate) fn query(batch: RecordBatch) -> Self {
        Self { schema: batch.schema(), batches: vec![batch], kind: ResultKind::Query }
    }

    /// Total number of rows in `batches`.
    pub fn num_rows(&self) -> usize {
        self.batches.iter().map(RecordBatch::num_rows).sum()
    }
}

/// A session with the time machine: DataFusion plus versioned tables, history and restore.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> datafusion_timemachine::Result<()> {
/// use datafusion_timemachine::TimeMachine;
/// let tm = TimeMachine::open("memory://").await?;
/// tm.execute("CREATE TABLE t (a STRING) PARTITIONED BY (ds STRING)").await?;
/// tm.execute(r#"INSERT OVERWRITE TABLE t PARTITION (ds="20191201") VALUES ("1")"#).await?;
/// let batches = tm.sql("SELECT a, ds FROM t").await?.collect().await?;
/// assert_eq!(batches.iter().map(|b| b.num_rows()).sum::<usize>(), 1);
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct TimeMachine {
    ctx: SessionContext,
    schema: Arc<ProjectSchema>,
}

/// Options for [`TimeMachine::builder`].
pub struct TimeMachineBuilder {
    location: String,
    warehouse: Option<Warehouse>,
    project: String,
    clock: Arc<dyn Clock>,
    ctx: Option<SessionContext>,
}

impl std::fmt::Debug for TimeMachine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TimeMachine").field("project", self.project()).finish()
    }
}

impl std::fmt::Debug for TimeMachineBuilder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TimeMachineBuilder").field("location", &self.location).field("project", &self.project).finish()
    }
}

impl TimeMachineBuilder {
    /// Warehouse location: a path, `file://…`, `memory://` or `s3://bucket/prefix`.
    pub fn location(mut self, location: impl Into<String>) -> Self {
        self.location = location.into();
        self
    }

    /// An already opened warehouse (overrides `location`).
    pub fn warehouse(mut self, warehouse: Warehouse) -> Self {
        self.warehouse = Some(warehouse);
        self
    }

    /// Project name (default `default`).
    pub fn project(mut self, project: impl Into<String>) -> Self {
        self.project = project.into();
        self
    }

    /// The clock for commit times and retention (default: the system clock).
    pub fn clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }

    /// Attach to this context instead of a new one.
    pub fn session_context(mut self, ctx: SessionContext) -> Self {
        self.ctx = Some(ctx);
        self
    }

    /// Opens the project and attaches it.
    pub async fn build(self) -> Result<TimeMachine> {
        let warehouse = match self.warehouse {
            Some(w) => w,
            None => Warehouse::open(&self.location)?,
        };
        let project = Arc::new(Project::open(warehouse, &self.project, self.clock).await?);
        let ctx = self.ctx.unwrap_or_else(|| {
            SessionContext::new_with_config(SessionConfig::new().with_information_schema(true))
        });
        TimeMachine::attach(ctx, project)
    }
}

impl TimeMachine {
    /// Options: warehouse, project, clock, context.
    pub fn builder() -> TimeMachineBuilder {
        TimeMachineBuilder {
            location: "./warehouse".into(),
            warehouse: None,
            project: "default".into(),
            clock: Arc::new(SystemClock),
            ctx: None,
        }
    }

    /// Opens the `default` project of the warehouse at `location` in a new context.
    pub async fn open(location: &str) -> Result<Self> {
        Self::builder().location(location).build().await
    }

    /// Makes `project` the default schema of `ctx`: its tables resolve by bare name, its store
    /// is registered for scans. Use [`TimeMachine::execute`] for the time machine's statements.
    pub fn attach(ctx: SessionContext, project: Arc<Project>) -> Result<Self> {
        let url = project.warehouse().object_store_url().clone();
        ctx.register_object_store(url.as_ref(), Arc::clone(project.store()));
        let options = ctx.state().config().options().catalog.clone();
        let catalog = ctx.catalog(&options.default_catalog).ok_or_else(|| {
            Error::invalid(format!("the context has no catalog {}", options.default_catalog))
        })?;
        ctx.register_udtf("timemachine_history", Arc::new(HistoryFunction::new(Arc::clone(&project))));
        ctx.register_udtf("timemachine_tables", Arc::new(TablesFunction::new(Arc::clone(&project))));
        ctx.register_relation_planner(Arc::new(TimeTravelPlanner::new(Arc::clone(&project))))?;
        let schema = Arc::new(ProjectSchema::new(project));
        catalog.register_schema(&options.default_schema, Arc::clone(&schema) as _)?;
        Ok(Self { ctx, schema })
    }

    /// The DataFusion context (plain `ctx.sql` works on the tables too, for SELECT and INSERT).
    pub fn context(&self) -> &SessionContext {
        &self.ctx
    }

    /// The project.
    pub fn project(&self) -> &Arc<Project> {
        self.schema.project()
    }

    pub(crate) fn schema_provider(&self) -> &Arc<ProjectSchema> {
        &self.schema
    }

    /// Runs one statement (MaxCompute dialect or any DataFusion SQL) to completion.
    pub async fn execute(&self, sql: &str) -> Result<StatementResult> {
        crate::sql::execute(self, sql).await
    }

    /// Runs one statement and returns its result as a DataFrame.
    pub async fn sql(&self, sql: &str) -> Result<DataFrame> {
        let result = self.execute(sql).await?;
        let df = if result.batches.is_empty() {
            self.ctx.read_batch(RecordBatch::new_empty(result.schema))?
        } else {
            self.ctx.read_batches(result.batches)?
        };
        Ok(df)
    }
}
