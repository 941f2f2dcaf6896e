//! The embedding API: a DataFusion `SessionContext` with a project's versioned tables, time
//! travel in FROM, and the time machine's statements as DataFusion plans.

use std::sync::Arc;

use datafusion::arrow::record_batch::RecordBatch;
use datafusion::dataframe::DataFrame;
use datafusion::execution::session_state::SessionState;
use datafusion::prelude::{SessionConfig, SessionContext};

use crate::catalog::{Binder, ProjectSchema, register_dates};
use crate::clock::{Clock, SystemClock};
use crate::error::{Error, Result};
use crate::log::Project;
use crate::plan::{Planned, StatementNode, install, plan_statement};
use crate::statements::{Env, Request, ResultKind, StatementResult};
use crate::warehouse::Warehouse;

/// A session with the time machine: DataFusion plus versioned tables, history and restore.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> datafusion_timemachine::Result<()> {
/// use datafusion_timemachine::TimeMachine;
/// let tm = TimeMachine::open("memory://").await?;
/// tm.sql("CREATE TABLE t (a STRING) PARTITIONED BY (ds STRING)").await?;
/// tm.sql(r#"INSERT OVERWRITE TABLE t PARTITION (ds="20191201") VALUES ("1")"#).await?;
/// tm.sql(r#"INSERT OVERWRITE TABLE t PARTITION (ds="20191201") VALUES ("2")"#).await?;
/// // Queries are lazy DataFrames; the past is one clause away.
/// let old = tm.sql("SELECT a FROM t VERSION AS OF 2").await?.collect().await?;
/// assert_eq!(old[0].num_rows(), 1);
/// // Statements with side effects take effect when awaited, as DataFusion's DDL does.
/// tm.sql("RESTORE TABLE t TO LSN '0000000000000002'").await?;
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct TimeMachine {
    ctx: SessionContext,
    env: Env,
    binder: Binder,
}

/// Options for [`TimeMachine::builder`].
pub struct TimeMachineBuilder {
    location: String,
    warehouse: Option<Warehouse>,
    project: String,
    clock: Arc<dyn Clock>,
    ctx: Option<SessionContext>,
    ballista: Option<String>,
    user: Option<String>,
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

    /// Run queries on the Apache Ballista cluster whose scheduler is at `url`
    /// (`df://host:50050`): SELECTs, joins, aggregates and time-travel reads execute on the
    /// cluster; the time machine's statements, writes and commits run here. The warehouse must
    /// be shared with the executors (`s3://…`, or a local directory on one machine). Needs the
    /// `ballista` feature.
    pub fn ballista(mut self, url: impl Into<String>) -> Self {
        self.ballista = Some(url.into());
        self
    }

    /// The session's user (MaxCompute's account), for the project's permission checks (see
    /// `ADD USER` and `GRANT`); names are case-insensitive. Without one, the session may do
    /// everything only while the project has no users.
    pub fn user(mut self, user: impl Into<String>) -> Self {
        self.user = Some(user.into().to_lowercase());
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
            // Opening a local warehouse touches the file system: off the runtime's threads.
            None => {
                let location = self.location.clone();
                tokio::task::spawn_blocking(move || Warehouse::open(&location))
                    .await
                    .map_err(|e| Error::invalid(format!("opening warehouse {}: {e}", self.location)))??
            }
        };
        let ctx = match (self.ctx, self.ballista) {
            (Some(ctx), None) => ctx,
            (Some(_), Some(_)) => {
                return Err(Error::invalid("give either a session context or a Ballista scheduler, not both"));
            }
            // The holder of the warehouse reads this machine's files by name, as datafusion-cli
            // lets its users (`SELECT * FROM 'data.parquet'`); a server's clients never can.
            (None, None) => new_context(None, &warehouse, &self.project).await?.enable_url_table(),
            (None, url) => new_context(url.as_deref(), &warehouse, &self.project).await?,
        };
        let project = Arc::new(Project::open(warehouse, &self.project, self.clock).await?);
        TimeMachine::attach_as(ctx, project, self.user)
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
            ballista: None,
            user: None,
        }
    }

    /// Opens the `default` project of the warehouse at `location` in a new context.
    pub async fn open(location: &str) -> Result<Self> {
        Self::builder().location(location).build().await
    }

    /// Attaches `project` to `ctx` (shared with every clone of `ctx`): its tables become the
    /// default schema, time travel in FROM works in `ctx.sql`, the history table functions are
    /// registered, and the planner learns to run the time machine's statements.
    pub fn attach(ctx: SessionContext, project: Arc<Project>) -> Result<Self> {
        Self::attach_as(ctx, project, None)
    }

    /// Like [`TimeMachine::attach`], for the session of `user` (see [`TimeMachineBuilder::user`]).
    pub fn attach_as(ctx: SessionContext, project: Arc<Project>, user: Option<String>) -> Result<Self> {
        Self::attach_with(ctx, project, user, true)
    }

    /// Like [`TimeMachine::attach_as`], for a client that does not hold the warehouse (a session
    /// of `timemachine serve`): statements that read or write this machine's own files
    /// (CREATE EXTERNAL TABLE, COPY … TO) are refused.
    pub fn attach_for_client(ctx: SessionContext, project: Arc<Project>, user: Option<String>) -> Result<Self> {
        Self::attach_with(ctx, project, user, false)
    }

    fn attach_with(
        ctx: SessionContext,
        project: Arc<Project>,
        user: Option<String>,
        local_files: bool,
    ) -> Result<Self> {
        let url = project.warehouse().object_store_url().clone();
        ctx.register_object_store(url.as_ref(), Arc::clone(project.warehouse().scan_store()));
        // Reading the configuration in place: `ctx.state()` would copy the whole session state.
        let options = ctx.state_ref().read().config().options().catalog.clone();
        let catalog = ctx
            .catalog(&options.default_catalog)
            .ok_or_else(|| Error::invalid(format!("the context has no catalog {}", options.default_catalog)))?;
        // MaxCompute's name for now() (`TIMESTAMP AS OF getdate() - 3600`).
        let now = datafusion::functions::datetime::now(ctx.state_ref().read().config().options());
        ctx.register_udf(now.as_ref().clone().with_aliases(["getdate"]));
        // MaxCompute's array constructor (`ARRAY(1, 2, 3)`); DataFusion knows it as make_array.
        let make_array = datafusion::functions_nested::make_array::make_array_udf();
        ctx.register_udf(make_array.as_ref().clone().with_aliases(["array"]));
        let schema = Arc::new(ProjectSchema::new(Arc::clone(&project)));
        let session_tables = Arc::clone(schema.session_tables());
        #[cfg(feature = "ballista")]
        let distributed = crate::distributed::is_ballista(&ctx);
        #[cfg(not(feature = "ballista"))]
        let distributed = false;
        let binder = Binder::new(&schema, user.clone(), distributed, &options.default_catalog, &options.default_schema);
        binder.register(&ctx)?;
        let env = Env { project, session_tables, progress: Arc::default(), user, local_files, snapshot: None };
        schema.set_view_planner(view_planner(&ctx, binder.clone()));
        catalog.register_schema(&options.default_schema, schema)?;
        {
            let state = ctx.state_ref();
            let mut state = state.write();
            let mut installed: SessionState = install(&state, env.clone())?;
            // After the state is rebuilt (which re-registers every function in no set order):
            // DataFusion's date_trunc also answers to `datetrunc`, MaxCompute's name for ours.
            register_dates(&mut installed)?;
            *state = installed;
        }
        Ok(Self { ctx, env, binder })
    }

    /// The DataFusion context (plain `ctx.sql` works on the tables too, time travel included).
    pub fn context(&self) -> &SessionContext {
        &self.ctx
    }

    /// The session-only tables beside the project's (rows a server stages for a statement).
    pub(crate) fn session_tables(&self) -> &Arc<crate::table::SessionTables> {
        &self.env.session_tables
    }

    /// The project.
    pub fn project(&self) -> &Arc<Project> {
        &self.env.project
    }

    /// Rows and bytes the running INSERT / CREATE TABLE … AS has taken in so far.
    pub fn progress(&self) -> &Arc<crate::statements::Progress> {
        &self.env.progress
    }

    /// A copy of the context's state bound to the project's latest version (after catching up
    /// with other writers): every table, view, history function and version clause planned in
    /// it reads that one log version, as each statement of [`TimeMachine::sql`] does, so that a
    /// statement never sees half of another statement's multi-table commit.
    pub async fn snapshot_state(&self) -> Result<SessionState> {
        Ok(self.statement_session().await?.1)
    }

    /// What one statement plans with: the Env and the session state, both bound to one snapshot.
    async fn statement_session(&self) -> Result<(Env, SessionState)> {
        let snapshot = self.env.project.snapshot().await?;
        let state = self.binder.bind(self.ctx.state(), Arc::clone(&snapshot))?;
        Ok((self.env.at(snapshot), state))
    }

    /// Plans one statement (MaxCompute dialect or any DataFusion SQL) and returns what it
    /// returns as a DataFrame, with DataFusion's convention: queries (SELECT, SHOW HISTORY,
    /// LIST PARTITIONS, EXPLAIN) are lazy and stream when executed; statements with side effects
    /// (DDL, INSERT, RESTORE, PURGE …) have taken effect when this returns.
    pub async fn sql(&self, sql: &str) -> Result<DataFrame> {
        Ok(self.run(sql).await?.1)
    }

    /// Like [`TimeMachine::sql`], also saying what kind of result the DataFrame holds (for
    /// writes, the number of rows written).
    pub async fn run(&self, sql: &str) -> Result<(ResultKind, DataFrame)> {
        failing_on_panic(self.run_unguarded(sql)).await
    }

    async fn run_unguarded(&self, sql: &str) -> Result<(ResultKind, DataFrame)> {
        let statement = crate::sql::parse(sql)?;
        let text = sql.trim().trim_end_matches(';').trim();
        let (env, state) = self.statement_session().await?;
        let planned = plan_statement(&env, &state, text, statement).await?;
        let df = self.ctx.execute_logical_plan(planned.plan).await?;
        if planned.kind == ResultKind::Query {
            // A project that only reads still gives back storage whose retention ended.
            crate::purge::spawn_auto(&self.env.project);
            return Ok((ResultKind::Query, df));
        }
        // Side effects happen now. DataFusion's own DDL already ran in execute_logical_plan.
        let schema = Arc::new(df.schema().as_arrow().clone());
        let batches: Vec<RecordBatch> = df.collect().await?.into_iter().filter(|b| b.num_rows() > 0).collect();
        let kind = match planned.kind {
            ResultKind::RowsAffected(_) => ResultKind::RowsAffected(count_of(&batches)),
            other => other,
        };
        // The result is served by this process (an in-memory table would be sent to a cluster).
        let done = Request::Done(StatementResult { schema, batches, kind });
        let plan = StatementNode::new(text, done, None)?.into_plan();
        Ok((kind, DataFrame::new(state, plan)))
    }

    /// What [`TimeMachine::run`] would return, without running anything: the kind of result
    /// and its schema (a prepared statement's description). Privileges are checked as for a run.
    pub async fn describe_result(&self, sql: &str) -> Result<(ResultKind, datafusion::arrow::datatypes::SchemaRef)> {
        let planned = self.plan_only(sql).await?;
        Ok((planned.kind, Arc::new(planned.plan.schema().as_arrow().clone())))
    }

    /// The types of the parameters `sql` takes (`?`, `$n`), as far as DataFusion infers them
    /// from where they stand (`a > ?` takes a's type); text where it cannot tell.
    pub(crate) async fn parameter_types(&self, sql: &str) -> Result<Vec<datafusion::arrow::datatypes::DataType>> {
        use datafusion::arrow::datatypes::DataType;
        let n = crate::sql::params::count(sql)?;
        if n == 0 {
            return Ok(vec![]);
        }
        // A statement that takes a parameter where only a literal parses (`TO LSN ?`) says nothing.
        let inferred = match self.plan_only(&crate::sql::params::numbered(sql)?).await {
            Ok(planned) => planned.plan.get_parameter_types().unwrap_or_default(),
            Err(_) => Default::default(),
        };
        let of = |i: usize| inferred.get(&format!("${i}")).cloned().flatten().filter(|t| *t != DataType::Null);
        Ok((1..=n).map(|i| of(i).unwrap_or(DataType::Utf8)).collect())
    }

    /// `sql` planned (privileges checked) and not run.
    async fn plan_only(&self, sql: &str) -> Result<Planned> {
        let statement = crate::sql::parse(sql)?;
        let text = sql.trim().trim_end_matches(';').trim();
        let (env, state) = self.statement_session().await?;
        plan_statement(&env, &state, text, statement).await
    }

    /// Runs one statement to completion and collects its result.
    pub async fn execute(&self, sql: &str) -> Result<StatementResult> {
        failing_on_panic(async {
            let (kind, df) = self.run_unguarded(sql).await?;
            let schema = Arc::new(df.schema().as_arrow().clone());
            let batches = df.collect().await?;
            Ok(StatementResult { schema, batches, kind })
        })
        .await
    }
}

/// Plans a view's query in the session of `ctx` (a weak reference: the schema lives in the
/// session) with this crate's parser, so its MaxCompute forms read as when it was created.
fn view_planner(ctx: &SessionContext, binder: Binder) -> crate::catalog::ViewPlanner {
    let session = ctx.state_weak_ref();
    Arc::new(move |sql: String, snapshot| {
        let (session, binder) = (std::sync::Weak::clone(&session), binder.clone());
        Box::pin(async move {
            let state = session
                .upgrade()
                .ok_or_else(|| datafusion::error::DataFusionError::Plan("the session has ended".into()))?
                .read()
                .clone();
            // Read by a statement: the view's tables come from the statement's snapshot too.
            let state = match snapshot {
                Some(snapshot) => binder.bind(state, snapshot)?,
                None => state,
            };
            match crate::sql::parse(&sql).map_err(datafusion::error::DataFusionError::from)? {
                crate::sql::Statement::DataFusion(statement) => state.statement_to_plan(*statement).await,
                _ => Err(datafusion::error::DataFusionError::Plan(format!("not a query: {sql}"))),
            }
        })
    })
}

/// Runs one statement's `work`, a panic in it (a bug, a user function that panics, a checkpoint
/// part that only fails to decode when a statement first reads it) becoming this statement's
/// error: the session, the CLI or the server goes on. Nothing was committed by a statement that
/// panicked before its commit, and a commit is atomic.
async fn failing_on_panic<T>(work: impl std::future::Future<Output = Result<T>>) -> Result<T> {
    use futures::FutureExt;
    match std::panic::AssertUnwindSafe(work).catch_unwind().await {
        Ok(result) => result,
        Err(panic) => {
            let what = panic
                .downcast_ref::<String>()
                .cloned()
                .or_else(|| panic.downcast_ref::<&str>().map(|s| (*s).to_string()))
                .unwrap_or_else(|| "a panic without a message".to_string());
            Err(Error::DataFusion(datafusion::error::DataFusionError::Internal(format!(
                "the statement failed with a panic: {what}"
            ))))
        }
    }
}

/// A new DataFusion context for a session on `warehouse`: in process, or on the Ballista
/// scheduler at `ballista`.
/// In process, the project's tables are the schema named after the project (as MaxCompute calls
/// a project's tables `project.table`), the default schema of the session.
pub(crate) async fn new_context(
    ballista: Option<&str>,
    warehouse: &Warehouse,
    project: &str,
) -> Result<SessionContext> {
    match ballista {
        Some(url) => ballista_context(url, warehouse).await,
        None => {
            let catalog = SessionConfig::new().options().catalog.default_catalog.clone();
            let config =
                SessionConfig::new().with_information_schema(true).with_default_catalog_and_schema(catalog, project);
            Ok(SessionContext::new_with_config(config))
        }
    }
}

/// A session on the Ballista scheduler at `url`, for `warehouse`.
#[cfg(feature = "ballista")]
async fn ballista_context(url: &str, warehouse: &Warehouse) -> Result<SessionContext> {
    if !warehouse.is_shared() {
        return Err(Error::invalid(format!(
            "warehouse {} cannot be shared with Ballista executors: use s3://bucket/prefix (or a local directory \
             that every executor sees)",
            warehouse.location()
        )));
    }
    Ok(crate::distributed::ballista_context(url).await?)
}

#[cfg(not(feature = "ballista"))]
async fn ballista_context(_url: &str, _warehouse: &Warehouse) -> Result<SessionContext> {
    Err(Error::not_supported("Ballista: this build has no `ballista` feature (cargo build --features ballista)"))
}

/// The `count` column that writes return.
fn count_of(batches: &[RecordBatch]) -> u64 {
    use datafusion::arrow::array::AsArray;
    use datafusion::arrow::datatypes::UInt64Type;
    batches
        .iter()
        .filter(|b| b.num_columns() == 1 && b.num_rows() == 1)
        .filter_map(|b| b.column(0).as_primitive_opt::<UInt64Type>().map(|a| a.value(0)))
        .sum()
}
