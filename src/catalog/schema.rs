//! The DataFusion `SchemaProvider` of a project: its live tables, each resolved to its current
//! version when a statement plans, its views (planned by the session when a statement reads
//! them), plus session-only tables (temporary views, external tables) that DataFusion registers
//! itself.

use std::fmt;
use std::sync::Arc;

use async_trait::async_trait;
use datafusion::catalog::SchemaProvider;
use datafusion::datasource::{MemTable, TableProvider, ViewTable};
use datafusion::error::{DataFusionError, Result as DfResult};
use datafusion::logical_expr::{LogicalPlan, LogicalPlanBuilder, TableType, col};
use futures::future::BoxFuture;

use super::stale_view::StaleView;
use crate::log::Project;
use crate::state::ProjectState;
use crate::table::{SessionTables, VersionedTable};

/// Plans a view's query (in the dialect this crate parses) in the session that reads it, bound
/// to the reading statement's snapshot when it has one.
pub type ViewPlanner =
    Arc<dyn Fn(String, Option<Arc<ProjectState>>) -> BoxFuture<'static, DfResult<LogicalPlan>> + Send + Sync>;

/// A project as a DataFusion schema.
pub struct ProjectSchema {
    project: Arc<Project>,
    session_tables: Arc<SessionTables>,
    /// Set once the session exists (`TimeMachine::attach`): without it, views do not resolve.
    views: Arc<std::sync::OnceLock<ViewPlanner>>,
    /// The snapshot of the statement this schema was bound to ([`ProjectSchema::at`]); None
    /// for the session's own schema, which reads the latest version.
    snapshot: Option<Arc<ProjectState>>,
}

impl fmt::Debug for ProjectSchema {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ProjectSchema").field("project", &self.project.name()).finish()
    }
}

impl ProjectSchema {
    /// The schema of `project`.
    pub fn new(project: Arc<Project>) -> Self {
        Self { project, session_tables: Arc::default(), views: Arc::default(), snapshot: None }
    }

    /// This schema as one statement reads it: every table and view from `snapshot`, the session
    /// tables and the view planner shared with the session's schema.
    pub fn at(&self, snapshot: Arc<ProjectState>) -> Self {
        Self {
            project: Arc::clone(&self.project),
            session_tables: Arc::clone(&self.session_tables),
            views: Arc::clone(&self.views),
            snapshot: Some(snapshot),
        }
    }

    /// The state this schema reads: its statement's snapshot, or else the latest version after
    /// catching up with other writers.
    async fn read_state(&self) -> DfResult<Arc<ProjectState>> {
        match &self.snapshot {
            Some(s) => Ok(Arc::clone(s)),
            None => Ok(self.project.snapshot().await?),
        }
    }

    /// The state as last read, without catching up (for DataFusion's synchronous calls).
    fn known_state(&self) -> Arc<ProjectState> {
        self.project.state_or(self.snapshot.as_ref())
    }

    /// How this schema plans the project's views (once).
    pub fn set_view_planner(&self, planner: ViewPlanner) {
        let _ = self.views.set(planner);
    }

    /// The project's view `name` as DataFusion's view table, planned now.
    async fn view(&self, name: &str) -> DfResult<Option<Arc<dyn TableProvider>>> {
        let state = self.read_state().await?;
        let Some(view) = state.view(name) else { return Ok(None) };
        // Refused when created; checked again so that no chain of views can recurse forever.
        if let Some(through) = view.reads.iter().find(|r| state.reads_through(r, name)) {
            return Err(DataFusionError::Plan(format!("view {name} reads itself (through {through})")));
        }
        let Some(planner) = self.views.get() else {
            return Err(DataFusionError::Plan(format!("view {name} is read through a TimeMachine session")));
        };
        let plan = match planner(view.sql.clone(), self.snapshot.clone()).await {
            Ok(plan) => plan,
            // Listing the project asks for every table (DataFusion's URL-table wrapper answers
            // `table_type` through `table`): the view is listed with its recorded columns, and a
            // statement reading it fails with the reason.
            Err(e) => return Ok(Some(Arc::new(StaleView::new(&view, format!("view {name} no longer plans: {e}"))))),
        };
        let plan = if view.columns.is_empty() {
            plan
        } else {
            // `CREATE VIEW v (a, b) AS …`: the query's columns under those names.
            let renamed = plan.schema().columns().into_iter().zip(&view.columns).map(|(c, n)| col(c).alias(n));
            LogicalPlanBuilder::from(plan).project(renamed)?.build()?
        };
        Ok(Some(Arc::new(ViewTable::new(plan, Some(view.sql)))))
    }

    /// The project behind the schema.
    pub fn project(&self) -> &Arc<Project> {
        &self.project
    }

    /// The session-only tables (views, external tables) registered beside the versioned ones.
    pub fn session_tables(&self) -> &Arc<SessionTables> {
        &self.session_tables
    }
}

#[async_trait]
impl SchemaProvider for ProjectSchema {
    fn table_names(&self) -> Vec<String> {
        let state = self.known_state();
        let mut names = state.live_names();
        names.extend(state.view_names());
        names.extend(self.session_tables.names());
        names
    }

    async fn table(&self, name: &str) -> DfResult<Option<Arc<dyn TableProvider>>> {
        if let Some(t) = self.session_tables.get(name) {
            return Ok(Some(t));
        }
        // The statement's snapshot (one log version for every table it reads), or else the
        // latest version after catching up with other writers.
        let snapshot = {
            let state = self.read_state().await?;
            match state.live_table(name) {
                Some(t) => {
                    state.check_decodable(&t.id, false)?;
                    Some(Arc::clone(&t.current))
                }
                None => None,
            }
        };
        match snapshot {
            Some(s) => Ok(Some(Arc::new(VersionedTable::try_new(Arc::clone(&self.project), s)?))),
            None => self.view(name).await,
        }
    }

    /// Without building a provider: listing the project (`SHOW TABLES`, `information_schema`, a
    /// BI tool's catalog call) plans no view, so a view that no longer plans does not break it.
    async fn table_type(&self, name: &str) -> DfResult<Option<TableType>> {
        if let Some(t) = self.session_tables.get(name) {
            return Ok(Some(t.table_type()));
        }
        let state = self.known_state();
        if state.live_table(name).is_some() {
            return Ok(Some(TableType::Base));
        }
        Ok(state.view(name).map(|_| TableType::View))
    }

    fn register_table(&self, name: String, table: Arc<dyn TableProvider>) -> DfResult<Option<Arc<dyn TableProvider>>> {
        if self.project.state().live_table(&name).is_some() {
            return Err(DataFusionError::Plan(format!("table {name} already exists")));
        }
        if self.project.state().view(&name).is_some() {
            return Err(DataFusionError::Plan(format!(
                "view {name} already exists in project {}",
                self.project.name()
            )));
        }
        // DataFusion's own CREATE TABLE makes an in-memory table: in a project that would be a
        // table without versions that vanishes with the process. Say where the real one is made.
        if table.is::<MemTable>() {
            return Err(DataFusionError::Plan(format!(
                "CREATE TABLE {name} through a plain SessionContext would make an unversioned in-memory table in project {}: \
                 run it through TimeMachine::sql / TimeMachine::execute (or the timemachine CLI) to create a versioned table, \
                 or register in-memory data under another schema",
                self.project.name()
            )));
        }
        Ok(self.session_tables.insert(name, table))
    }

    fn deregister_table(&self, name: &str) -> DfResult<Option<Arc<dyn TableProvider>>> {
        if let Some(t) = self.session_tables.remove(name) {
            return Ok(Some(t));
        }
        if self.project.state().live_table(name).is_some() {
            return Err(DataFusionError::Plan(format!(
                "table {name} is versioned: drop it with the time machine's DROP TABLE"
            )));
        }
        if self.project.state().view(name).is_some() {
            return Err(DataFusionError::Plan(format!("{name} is a view of the project: DROP VIEW {name}")));
        }
        Ok(None)
    }

    fn table_exist(&self, name: &str) -> bool {
        let state = self.known_state();
        self.session_tables.contains(name) || state.live_table(name).is_some() || state.view(name).is_some()
    }
}
