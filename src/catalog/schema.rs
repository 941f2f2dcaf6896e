//! The DataFusion `SchemaProvider` of a project: its live tables, each resolved to its current
//! version when a statement plans, plus session-only tables (views, external tables) that
//! DataFusion registers itself.

use std::fmt;
use std::sync::Arc;

use async_trait::async_trait;
use datafusion::catalog::SchemaProvider;
use datafusion::datasource::{MemTable, TableProvider};
use datafusion::error::{DataFusionError, Result as DfResult};

use crate::log::Project;
use crate::table::{SessionTables, VersionedTable};

/// A project as a DataFusion schema.
pub struct ProjectSchema {
    project: Arc<Project>,
    session_tables: Arc<SessionTables>,
}

impl fmt::Debug for ProjectSchema {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ProjectSchema").field("project", &self.project.name()).finish()
    }
}

impl ProjectSchema {
    /// The schema of `project`.
    pub fn new(project: Arc<Project>) -> Self {
        Self { project, session_tables: Arc::default() }
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
        let mut names = self.project.state().live_names();
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
            let state = self.project.snapshot().await?;
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
            None => Ok(None),
        }
    }

    fn register_table(&self, name: String, table: Arc<dyn TableProvider>) -> DfResult<Option<Arc<dyn TableProvider>>> {
        if self.project.state().live_table(&name).is_some() {
            return Err(DataFusionError::Plan(format!("table {name} already exists")));
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
        Ok(None)
    }

    fn table_exist(&self, name: &str) -> bool {
        self.session_tables.contains(name) || self.project.state().live_table(name).is_some()
    }
}
