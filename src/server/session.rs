//! One client's session on the server: a `TimeMachine` of its own over the shared project (its
//! own settings and session tables, its authenticated user), the statements planned and not yet
//! fetched, its prepared statements, and the results being streamed (so they can be cancelled).

use std::collections::HashMap;
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant};

use datafusion::dataframe::DataFrame;
use datafusion::scalar::ScalarValue;
use futures::stream::AbortHandle;

use crate::TimeMachine;

/// At most this many planned statements wait for their fetch per session; older ones go.
const MAX_PENDING: usize = 64;

/// A client's session.
pub(crate) struct Session {
    /// The session's time machine (its own DataFusion context over the shared project, and the
    /// authenticated user: None only for anonymous sessions on a project without users).
    pub(crate) tm: TimeMachine,
    last_used: Mutex<Instant>,
    state: Mutex<State>,
}

#[derive(Default)]
struct State {
    /// Statements planned by GetFlightInfo, by ticket handle, in the order planned.
    pending: Vec<(String, DataFrame)>,
    /// Prepared statements: handle → SQL and the rows of parameters last bound.
    prepared: HashMap<String, (String, Vec<Vec<ScalarValue>>)>,
    /// Results being streamed: handle → what stops them.
    running: HashMap<String, AbortHandle>,
}

impl Session {
    pub(crate) fn new(tm: TimeMachine) -> Self {
        Self { tm, last_used: Mutex::new(Instant::now()), state: Mutex::default() }
    }

    fn state(&self) -> MutexGuard<'_, State> {
        // Only inserts and removes happen under the lock: a poisoned map is still consistent.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// True when the session was last used more than `timeout` ago.
    pub(crate) fn idle_for(&self, timeout: Duration) -> bool {
        self.last_used.lock().unwrap_or_else(|e| e.into_inner()).elapsed() > timeout
    }

    /// Notes a use of the session.
    pub(crate) fn touch(&self) {
        *self.last_used.lock().unwrap_or_else(|e| e.into_inner()) = Instant::now();
    }

    /// Keeps a planned statement until its ticket is fetched; returns the ticket's handle.
    pub(crate) fn add_pending(&self, df: DataFrame) -> String {
        let handle = uuid::Uuid::new_v4().simple().to_string();
        let mut state = self.state();
        if state.pending.len() >= MAX_PENDING {
            state.pending.remove(0);
        }
        state.pending.push((handle.clone(), df));
        handle
    }

    /// The planned statement of `handle` (each ticket is fetched once).
    pub(crate) fn take_pending(&self, handle: &str) -> Option<DataFrame> {
        let mut state = self.state();
        let i = state.pending.iter().position(|(h, _)| h == handle)?;
        Some(state.pending.remove(i).1)
    }

    /// Keeps a prepared statement; returns its handle.
    pub(crate) fn prepare(&self, sql: String) -> String {
        let handle = uuid::Uuid::new_v4().simple().to_string();
        self.state().prepared.insert(handle.clone(), (sql, vec![]));
        handle
    }

    /// The SQL of a prepared statement and the rows of parameters bound to it.
    pub(crate) fn prepared(&self, handle: &str) -> Option<(String, Vec<Vec<ScalarValue>>)> {
        self.state().prepared.get(handle).cloned()
    }

    /// Binds rows of parameters to a prepared statement (replacing those bound before); false
    /// when there is no such statement.
    pub(crate) fn bind(&self, handle: &str, rows: Vec<Vec<ScalarValue>>) -> bool {
        match self.state().prepared.get_mut(handle) {
            Some((_, bound)) => {
                *bound = rows;
                true
            }
            None => false,
        }
    }

    /// Forgets a prepared statement.
    pub(crate) fn close_prepared(&self, handle: &str) {
        self.state().prepared.remove(handle);
    }

    /// Notes a result being streamed under `handle`.
    pub(crate) fn add_running(&self, handle: &str, abort: AbortHandle) {
        let mut state = self.state();
        state.running.retain(|_, a| !a.is_aborted());
        state.running.insert(handle.to_string(), abort);
    }

    /// Stops the statement of `handle`, planned or streaming; false when it is not known.
    pub(crate) fn cancel(&self, handle: &str) -> bool {
        let mut state = self.state();
        let planned = match state.pending.iter().position(|(h, _)| h == handle) {
            Some(i) => {
                state.pending.remove(i);
                true
            }
            None => false,
        };
        match state.running.remove(handle) {
            Some(abort) => {
                abort.abort();
                true
            }
            None => planned,
        }
    }
}
