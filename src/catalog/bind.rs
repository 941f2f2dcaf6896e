//! One statement's view of a project. What a session registers in DataFusion that reads the
//! project (its schema, the history table functions, `get_latest_*`, the time-travel planner)
//! is built here twice over: once unbound in the session's context, reading the latest version
//! (a plain `SessionContext::sql`), and once per statement bound to the snapshot the statement
//! plans against, so that every table, view, function and version clause of one statement reads
//! the same log version, handed over explicitly rather than through a task-local.

use std::sync::{Arc, Weak};

use async_trait::async_trait;

use datafusion::catalog::{CatalogProvider, CatalogProviderList, SchemaProvider, TableFunctionImpl, TableProvider};
use datafusion::error::Result as DfResult;
use datafusion::execution::session_state::{SessionState, SessionStateBuilder};
use datafusion::logical_expr::planner::RelationPlanner;
use datafusion::logical_expr::{ScalarUDF, TableType};
use datafusion::prelude::SessionContext;

use super::{
    ChangesFunction, HistoryFunction, Latest, LatestFunction, ProjectSchema, PurgesFunction, RowFilesFunction,
    TablesFunction, dates,
};
use crate::log::Project;
use crate::state::ProjectState;
use crate::time_travel::TimeTravelPlanner;

/// Builds a session's project-reading parts, unbound or bound to one statement's snapshot.
#[derive(Debug, Clone)]
pub struct Binder {
    project: Arc<Project>,
    user: Option<String>,
    /// The session runs its queries on a Ballista cluster (the change feed refuses to).
    distributed: bool,
    /// Where the project's schema is registered: catalog and schema name.
    catalog: String,
    schema_name: String,
    /// The session's schema of the project (weak: the schema's view planner holds a Binder).
    schema: Weak<ProjectSchema>,
}

impl Binder {
    /// The parts of the project of `schema` for the session of `user`, `schema` registered as
    /// `catalog.schema_name`.
    pub fn new(
        schema: &Arc<ProjectSchema>,
        user: Option<String>,
        distributed: bool,
        catalog: &str,
        schema_name: &str,
    ) -> Self {
        Self {
            project: Arc::clone(schema.project()),
            user,
            distributed,
            catalog: catalog.to_string(),
            schema_name: schema_name.to_string(),
            schema: Arc::downgrade(schema),
        }
    }

    /// Registers the unbound parts in `ctx` (the schema is registered by the caller, who owns
    /// its view planner).
    pub fn register(&self, ctx: &SessionContext) -> DfResult<()> {
        for (name, function) in self.table_functions(None) {
            ctx.register_udtf(name, function);
        }
        ctx.register_udtf("timemachine_purges", Arc::new(PurgesFunction::new(Arc::clone(&self.project))));
        for udf in self.scalar_functions(None) {
            ctx.register_udf(udf.as_ref().clone());
        }
        ctx.register_relation_planner(self.relation_planner(None))
    }

    /// `state` (a copy of the session's) with every part bound to `snapshot`.
    pub fn bind(&self, mut state: SessionState, snapshot: Arc<ProjectState>) -> DfResult<SessionState> {
        for (name, function) in self.table_functions(Some(&snapshot)) {
            state.register_udtf(name, function);
        }
        for udf in self.scalar_functions(Some(&snapshot)) {
            datafusion::execution::FunctionRegistry::register_udf(&mut state, udf)?;
        }
        // Ahead of the session's planner, which it leaves nothing to.
        state.register_relation_planner(self.relation_planner(Some(&snapshot)))?;
        let catalogs = Arc::clone(state.catalog_list());
        let Some(catalog) = catalogs.catalog(&self.catalog) else { return Ok(state) };
        let Some(session) = catalog.schema(&self.schema_name) else { return Ok(state) };
        let Some(ours) = self.schema.upgrade() else { return Ok(state) };
        let schema = Arc::new(BoundSchema { bound: ours.at(snapshot), session });
        let bound = BoundCatalog { inner: catalog, schema_name: self.schema_name.clone(), schema };
        let list = BoundCatalogs { inner: catalogs, catalog: self.catalog.clone(), bound: Arc::new(bound) };
        let mut state = SessionStateBuilder::new_from_existing(state).with_catalog_list(Arc::new(list)).build();
        // Rebuilding registers the functions again in no set order: MaxCompute's date
        // functions must win over DataFusion's aliases of the same names.
        dates::register(&mut state)?;
        Ok(state)
    }

    fn table_functions(&self, snapshot: Option<&Arc<ProjectState>>) -> Vec<(&'static str, Arc<dyn TableFunctionImpl>)> {
        let (project, user, snapshot) = (&self.project, &self.user, snapshot.cloned());
        let changes = ChangesFunction::new(Arc::clone(project), user.clone()).in_process_only(self.distributed);
        vec![
            (
                "timemachine_history",
                Arc::new(HistoryFunction::new(Arc::clone(project), user.clone()).reading(snapshot.clone())),
            ),
            (
                "timemachine_tables",
                Arc::new(TablesFunction::new(Arc::clone(project), user.clone()).reading(snapshot.clone())),
            ),
            ("table_changes", Arc::new(changes.reading(snapshot.clone()))),
            ("timemachine_row_files", Arc::new(RowFilesFunction::new(Arc::clone(project)).reading(snapshot))),
        ]
    }

    fn scalar_functions(&self, snapshot: Option<&Arc<ProjectState>>) -> Vec<Arc<ScalarUDF>> {
        [Latest::Version, Latest::Timestamp]
            .into_iter()
            .map(|latest| {
                let function = LatestFunction::new(latest, Arc::clone(&self.project)).reading(snapshot.cloned());
                Arc::new(ScalarUDF::new_from_impl(function))
            })
            .collect()
    }

    fn relation_planner(&self, snapshot: Option<&Arc<ProjectState>>) -> Arc<dyn RelationPlanner> {
        Arc::new(TimeTravelPlanner::new(Arc::clone(&self.project)).reading(snapshot.cloned()))
    }
}

/// The session's catalogs, with the project's catalog bound.
#[derive(Debug)]
struct BoundCatalogs {
    inner: Arc<dyn CatalogProviderList>,
    catalog: String,
    bound: Arc<BoundCatalog>,
}

impl CatalogProviderList for BoundCatalogs {
    fn register_catalog(&self, name: String, catalog: Arc<dyn CatalogProvider>) -> Option<Arc<dyn CatalogProvider>> {
        self.inner.register_catalog(name, catalog)
    }

    fn catalog_names(&self) -> Vec<String> {
        self.inner.catalog_names()
    }

    fn catalog(&self, name: &str) -> Option<Arc<dyn CatalogProvider>> {
        if name == self.catalog { Some(Arc::clone(&self.bound) as _) } else { self.inner.catalog(name) }
    }
}

/// The project's catalog, with the project's schema bound.
#[derive(Debug)]
struct BoundCatalog {
    inner: Arc<dyn CatalogProvider>,
    schema_name: String,
    schema: Arc<BoundSchema>,
}

impl CatalogProvider for BoundCatalog {
    fn schema_names(&self) -> Vec<String> {
        self.inner.schema_names()
    }

    fn schema(&self, name: &str) -> Option<Arc<dyn SchemaProvider>> {
        if name == self.schema_name { Some(Arc::clone(&self.schema) as _) } else { self.inner.schema(name) }
    }

    fn register_schema(
        &self,
        name: &str,
        schema: Arc<dyn SchemaProvider>,
    ) -> DfResult<Option<Arc<dyn SchemaProvider>>> {
        self.inner.register_schema(name, schema)
    }

    fn deregister_schema(&self, name: &str, cascade: bool) -> DfResult<Option<Arc<dyn SchemaProvider>>> {
        self.inner.deregister_schema(name, cascade)
    }
}

/// The project's schema bound to a snapshot, in front of the session's: a name that cannot be
/// a table of the project (`'data.parquet'`, a URL) goes on to the session's schema, which
/// DataFusion may have wrapped to read files by URL.
#[derive(Debug)]
struct BoundSchema {
    bound: ProjectSchema,
    session: Arc<dyn SchemaProvider>,
}

#[async_trait]
impl SchemaProvider for BoundSchema {
    fn table_names(&self) -> Vec<String> {
        self.bound.table_names()
    }

    async fn table(&self, name: &str) -> DfResult<Option<Arc<dyn TableProvider>>> {
        match self.bound.table(name).await? {
            Some(table) => Ok(Some(table)),
            None if crate::names::validate_identifier("table", name).is_err() => self.session.table(name).await,
            None => Ok(None),
        }
    }

    async fn table_type(&self, name: &str) -> DfResult<Option<TableType>> {
        self.bound.table_type(name).await
    }

    fn register_table(&self, name: String, table: Arc<dyn TableProvider>) -> DfResult<Option<Arc<dyn TableProvider>>> {
        self.session.register_table(name, table)
    }

    fn deregister_table(&self, name: &str) -> DfResult<Option<Arc<dyn TableProvider>>> {
        self.session.deregister_table(name)
    }

    fn table_exist(&self, name: &str) -> bool {
        self.bound.table_exist(name)
    }
}
