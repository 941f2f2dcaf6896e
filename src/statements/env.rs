//! What a statement runs against ([`Env`]: the project, the session's tables and user) and the
//! table lookup every statement starts with.

use std::sync::Arc;

use super::progress::Progress;
use crate::error::{Error, Result};
use crate::log::{Draft, Project};
use crate::state::model::Commit;
use crate::state::{ProjectState, TableSnapshot};
use crate::table::SessionTables;

/// What statements run against: the project and the session tables beside it.
#[derive(Debug, Clone)]
pub(crate) struct Env {
    /// The project.
    pub project: Arc<Project>,
    /// Session-only tables (their names are taken too).
    pub session_tables: Arc<SessionTables>,
    /// Rows and bytes the running write has taken in.
    pub progress: Arc<Progress>,
    /// The session's user (None: a session without one), for permission checks.
    pub user: Option<String>,
    /// Whether statements may read or write files of this machine outside the warehouse
    /// (CREATE EXTERNAL TABLE, COPY … TO): yes for the holder of the warehouse, never for a
    /// client of the server.
    pub local_files: bool,
    /// The snapshot of the project the statement being planned reads ([`Env::at`]): one log
    /// version for every table, privilege and view it resolves. None in the session's own Env.
    pub snapshot: Option<Arc<ProjectState>>,
}

impl Env {
    /// This Env for planning one statement against `snapshot`.
    pub(crate) fn at(&self, snapshot: Arc<ProjectState>) -> Self {
        Self { snapshot: Some(snapshot), ..self.clone() }
    }

    /// The state the statement plans against: its snapshot, or else the latest state known.
    pub(crate) fn planning_state(&self) -> Arc<ProjectState> {
        self.project.state_or(self.snapshot.as_ref())
    }

    /// Commits one statement of this session (see [`Project::commit`]): the log records its
    /// text and the session's user.
    pub(crate) async fn commit<F>(&self, text: &str, draft: F) -> Result<Commit>
    where
        F: FnMut(&ProjectState) -> Result<Draft>,
    {
        self.project.commit_as(text, self.user.as_deref(), draft).await
    }

    /// [`Env::commit`] of a statement that may find nothing left to do on the latest state
    /// (`draft` gives None): then nothing is committed.
    pub(crate) async fn commit_unless_done<F>(&self, text: &str, draft: F) -> Result<Option<Commit>>
    where
        F: FnMut(&ProjectState) -> Result<Option<Draft>>,
    {
        self.project.commit_unless_done(text, self.user.as_deref(), draft).await
    }
}

/// The current version of the live table `name`, its file list decoded (statements read it: an
/// INSERT for the partitions it adds to, DDL for what it drops or lists).
pub(crate) fn live_table(state: &ProjectState, name: &str) -> Result<Arc<TableSnapshot>> {
    let t = state.live_table(name).ok_or_else(|| Error::not_found(format!("table {name} does not exist")))?;
    state.check_decodable(&t.id, false)?;
    Ok(Arc::clone(&t.current))
}
