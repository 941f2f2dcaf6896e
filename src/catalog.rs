//! The DataFusion `SchemaProvider` of a project: its live tables, each resolved to its current
//! version when a statement plans, plus session-only tables (views, external tables) that
//! DataFusion registers itself.

use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, RwLock};

use async_trait::async_trait;
use datafusion::catalog::SchemaProvider;
use datafusion::datasource::TableProvider;
use datafusion::error::{DataFusionError, Result as DfResult};

use crate::log::Project;
use crate::table::VersionedTable;

/// A project as a DataFusion schema.
pub struct ProjectSchema {
    project: Arc<Project>,
    session_tables: RwLock<HashMap<String, Arc<dyn TableProvider>>>,
}

impl fmt::Debug for ProjectSchema {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ProjectSchema").field("project", &self.project.name()).finish()
    }
}

impl ProjectSchema {
    /// The schema of `project`.
    pub fn new(project: Arc<Project>) -> Self {
        Self { project, session_tables: RwLock::new(HashMap::new()) }
    }

    /// The project behind the schema.
    pub fn project(&self) -> &Arc<Project> {
        &self.project
    }

    /// True if `name` is a session-only table (view, external table) rather than a versioned one.
    pub fn is_session_table(&self, name: &str) -> bool {
        self.session_tables.read().unwrap_or_else(|e| e.into_inner()).contains_key(name)
    }
}

#[async_trait]
impl SchemaProvider for ProjectSchema {
    fn table_names(&self) -> Vec<String> {
        let mut names = self.project.state().live_names();
        names.extend(self.session_tables.read().unwrap_or_else(|e| e.into_inner()).keys().cloned());
        names
    }

    async fn table(&self, name: &str) -> DfResult<Option<Arc<dyn TableProvider>>> {
        if let Some(t) = self.session_tables.read().unwrap_or_else(|e| e.into_inner()).get(name) {
            return Ok(Some(Arc::clone(t)));
        }
        // Catch up with other writers so that every statement plans against the latest version.
        self.project.refresh().await?;
        let snapshot = {
            let state = self.project.state();
            match state.live_table(name) {
                Some(t) => {
                    state.check_readable(&t.id)?;
                    Some(Arc::clone(&t.current))
                }
                None => None,
            }
        };
        match snapshot {
            Some(s) => Ok(Some(Arc::new(VersionedTable::try_new(Arc::clone(&self.project), s)?))),
            None => Ok(None),
        }
    }

    fn register_table(
        &self,
        name: String,
        table: Arc<dyn TableProvider>,
    ) -> DfResult<Option<Arc<dyn TableProvider>>> {
        if self.project.state().live_table(&name).is_some() {
            return Err(DataFusionError::Plan(format!("table {name} already exists")));
        }
        Ok(self.session_tables.write().unwrap_or_else(|e| e.into_inner()).insert(name, table))
    }

    fn deregister_table(&self, name: &str) -> DfResult<Option<Arc<dyn TableProvider>>> {
        if let Some(t) = self.session_tables.write().unwrap_or_else(|e| e.into_inner()).remove(name) {
            return Ok(Some(t));
        }
        if self.project.state().live_table(name).is_some() {
            return Err(DataFusionError::Plan(format!(
                "table {name} is versioned: drop it with the time machine's DROP TABLE"
            )));
        }
        Ok(None)
    }

    fn table_exist(&self, name: &str) -> bool {
        self.is_session_table(name) || self.project.state().live_table(name).is_some()
    }
}
