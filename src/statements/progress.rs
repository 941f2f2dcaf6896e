//! How far the running statement has got: rows and bytes that INSERT / CREATE TABLE … AS have
//! taken in so far, for a terminal to show while it waits.

use std::sync::atomic::{AtomicU64, Ordering};

/// Counters of the statement in progress (reset when a write starts).
#[derive(Debug, Default)]
pub struct Progress {
    rows: AtomicU64,
    bytes: AtomicU64,
}

impl Progress {
    /// Starts counting a new write.
    pub fn reset(&self) {
        self.rows.store(0, Ordering::Relaxed);
        self.bytes.store(0, Ordering::Relaxed);
    }

    /// Counts a batch taken in by a write.
    pub fn add(&self, rows: usize, bytes: usize) {
        self.rows.fetch_add(rows as u64, Ordering::Relaxed);
        self.bytes.fetch_add(bytes as u64, Ordering::Relaxed);
    }

    /// Rows and (in-memory) bytes taken in so far.
    pub fn get(&self) -> (u64, u64) {
        (self.rows.load(Ordering::Relaxed), self.bytes.load(Ordering::Relaxed))
    }
}
