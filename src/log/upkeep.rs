//! What this process knows about maintenance that saves work after each statement: whether its
//! clock agreed with the object store's a moment ago (its commits may then forget expired
//! versions themselves, see [`carried_expiry`](crate::state::expiry::carried_expiry)), and up to
//! when the freed files are already deleted (so no purge starts just to delete them again), and
//! when it last swept `data/` and the log.

use std::sync::Mutex;
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};

use crate::state::ProjectState;

/// How long a clock check is trusted. A purge checks again, so a clock that jumps ahead is
/// caught within this long.
const CLOCK_TRUST: Duration = Duration::from_secs(300);

#[derive(Debug, Default)]
pub(super) struct Upkeep {
    clock_checked: Mutex<Option<Instant>>,
    freed_deleted_through: Mutex<Option<DateTime<Utc>>>,
    swept: Mutex<Option<Instant>>,
    sweep_checked: Mutex<Option<Instant>>,
}

impl Upkeep {
    pub(super) fn trust_clock(&self) {
        *self.clock_checked.lock().unwrap_or_else(|e| e.into_inner()) = Some(Instant::now());
    }

    pub(super) fn clock_trusted(&self) -> bool {
        self.clock_checked.lock().unwrap_or_else(|e| e.into_inner()).is_some_and(|at| at.elapsed() < CLOCK_TRUST)
    }

    pub(super) fn freed_deleted_through(&self, settled: DateTime<Utc>) {
        let mut through = self.freed_deleted_through.lock().unwrap_or_else(|e| e.into_inner());
        *through = Some(through.map_or(settled, |t| t.max(settled)));
    }

    /// True when some file freed at or before `settled` may not be deleted yet.
    pub(super) fn freed_due(&self, state: &ProjectState, settled: DateTime<Utc>) -> bool {
        let through = *self.freed_deleted_through.lock().unwrap_or_else(|e| e.into_inner());
        state.freed.values().any(|at| *at <= settled && through.is_none_or(|t| *at > t))
    }

    /// True (and noted) when the last automatic sweep began half a grace period ago or more.
    /// Orphans and compacted log entries are deleted only once older than the grace period, so
    /// listing `data/` and the log more often finds little more to delete.
    pub(super) fn claim_sweep(&self, grace: Duration) -> bool {
        let mut swept = self.swept.lock().unwrap_or_else(|e| e.into_inner());
        if swept.is_some_and(|at| at.elapsed() < grace / 2) {
            return false;
        }
        *swept = Some(Instant::now());
        true
    }

    /// True (and noted) when this process last asked the store when the project was last swept
    /// `interval` ago or more (one HEAD per statement at most, none while it knows the answer).
    pub(super) fn claim_sweep_check(&self, interval: Duration) -> bool {
        let mut checked = self.sweep_checked.lock().unwrap_or_else(|e| e.into_inner());
        if checked.is_some_and(|at| at.elapsed() < interval) {
            return false;
        }
        *checked = Some(Instant::now());
        true
    }
}

/// One background maintenance run (an automatic purge) of this process: when, and what came of
/// it, so an operator can see that reclamation works or keeps failing.
#[derive(Debug, Clone)]
pub struct MaintenanceEvent {
    /// When it finished.
    pub time: chrono::DateTime<chrono::Utc>,
    /// What ran (`automatic purge`).
    pub what: String,
    /// What it did, or why it failed.
    pub outcome: std::result::Result<String, String>,
}

/// Events kept in [`Project::journal`].
pub(super) const JOURNAL_LENGTH: usize = 100;
