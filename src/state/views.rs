//! Views: named queries of the project (MaxCompute's `CREATE VIEW`), seen by every session and
//! process. A view lives in the project's properties as `timemachine.view.<name>` = its JSON, so
//! creating, replacing or dropping one is a commit of the log; a dropped view's property
//! becomes the empty string.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::project::ProjectState;

/// The prefix of view properties (hidden from SETPROJECT's listing).
pub const VIEW_PREFIX: &str = "timemachine.view.";

/// A view.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct View {
    /// Its name (lowercase).
    pub name: String,
    /// Its query, in the MaxCompute dialect this crate parses.
    pub sql: String,
    /// `(c, …)` after the name: the names of its columns, in order (empty: the query's).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub columns: Vec<String>,
    /// COMMENT '…'.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub comment: String,
    /// The tables and views its query reads (to refuse a view that would read itself).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub reads: Vec<String>,
    /// Its columns when it was created, as `(name, Arrow type)`: what listing the project shows
    /// of a view that no longer plans (its table dropped).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub fields: Vec<(String, String)>,
    /// When it was created or last replaced.
    pub created: DateTime<Utc>,
}

impl View {
    /// The property that holds view `name`.
    pub fn key(name: &str) -> String {
        format!("{VIEW_PREFIX}{name}")
    }

    /// The property's value.
    pub fn encode(&self) -> String {
        serde_json::to_string(self).unwrap_or_default()
    }
}

impl ProjectState {
    /// The view `name`, if the project has one.
    pub fn view(&self, name: &str) -> Option<View> {
        let value = self.properties.get(&View::key(name)).filter(|v| !v.is_empty())?;
        serde_json::from_str(value).ok()
    }

    /// The names of the project's views.
    pub fn view_names(&self) -> Vec<String> {
        self.properties
            .range(VIEW_PREFIX.to_string()..)
            .take_while(|(k, _)| k.starts_with(VIEW_PREFIX))
            .filter(|(_, v)| !v.is_empty())
            .map(|(k, _)| k[VIEW_PREFIX.len()..].to_string())
            .collect()
    }

    /// True when reading `name` would read `view` (through the views `name` reads, transitively).
    pub fn reads_through(&self, name: &str, view: &str) -> bool {
        let mut seen = vec![];
        let mut todo = vec![name.to_string()];
        while let Some(next) = todo.pop() {
            if next == view {
                return true;
            }
            if seen.contains(&next) {
                continue;
            }
            if let Some(v) = self.view(&next) {
                todo.extend(v.reads.iter().cloned());
            }
            seen.push(next);
        }
        false
    }
}
