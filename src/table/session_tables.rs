//! Tables that live for the session only (views, external tables) beside a project's versioned
//! tables: DataFusion registers them itself; statements check names against them.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};

use datafusion::datasource::TableProvider;

/// The session-only tables of one project schema, by name.
#[derive(Debug, Default)]
pub struct SessionTables {
    tables: RwLock<HashMap<String, Arc<dyn TableProvider>>>,
}

impl SessionTables {
    /// True if `name` is a session-only table.
    pub fn contains(&self, name: &str) -> bool {
        self.tables.read().unwrap_or_else(|e| e.into_inner()).contains_key(name)
    }

    /// The table called `name`.
    pub fn get(&self, name: &str) -> Option<Arc<dyn TableProvider>> {
        self.tables.read().unwrap_or_else(|e| e.into_inner()).get(name).cloned()
    }

    /// Names of all session tables.
    pub fn names(&self) -> Vec<String> {
        self.tables.read().unwrap_or_else(|e| e.into_inner()).keys().cloned().collect()
    }

    /// Adds (or replaces) `name`.
    pub fn insert(&self, name: String, table: Arc<dyn TableProvider>) -> Option<Arc<dyn TableProvider>> {
        self.tables.write().unwrap_or_else(|e| e.into_inner()).insert(name, table)
    }

    /// Removes `name`.
    pub fn remove(&self, name: &str) -> Option<Arc<dyn TableProvider>> {
        self.tables.write().unwrap_or_else(|e| e.into_inner()).remove(name)
    }
}
