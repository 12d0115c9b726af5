//! The failure a study reports: the one of the lowest run index, at any thread count.
//!
//! Parallel workers meet failures in an order that depends on scheduling, so "the first error a
//! worker returned" changes from one run of the command to the next. A study instead reports the
//! failure a single thread would meet first. Work units (blocks, chunks of rows) hold runs in
//! run order and each stops at its own first failure, so the lowest failed run over all units is
//! that failure. A unit whose runs all come after a known failure can be skipped; a unit before
//! it must still finish, since it may hold an earlier one.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, PoisonError};

use crate::engine::RunError;

/// The lowest-run failure seen so far, shared by a study's workers.
pub struct FirstFailure {
    /// Run index of the failure kept (`u64::MAX`: none yet), readable without the lock.
    lowest: AtomicU64,
    kept: Mutex<Option<RunError>>,
}

impl Default for FirstFailure {
    fn default() -> FirstFailure {
        FirstFailure {
            lowest: AtomicU64::new(u64::MAX),
            kept: Mutex::new(None),
        }
    }
}

impl FirstFailure {
    /// Whether a unit whose first run is `first_run` can be skipped: a run before it failed.
    pub fn skips(&self, first_run: u64) -> bool {
        first_run > self.lowest.load(Ordering::Relaxed)
    }

    /// Keeps `error` if its run comes before every failure kept so far.
    pub fn record(&self, error: RunError) {
        // A poisoned lock only means another worker panicked; the value is still whole.
        let mut kept = self.kept.lock().unwrap_or_else(PoisonError::into_inner);
        if kept.as_ref().is_none_or(|k| error.run < k.run) {
            self.lowest.fetch_min(error.run, Ordering::Relaxed);
            *kept = Some(error);
        }
    }

    /// The failure of the lowest run, if any run failed.
    pub fn into_error(self) -> Option<RunError> {
        self.kept
            .into_inner()
            .unwrap_or_else(PoisonError::into_inner)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn failure(run: u64) -> RunError {
        RunError {
            run,
            step: 0,
            date: String::new(),
            origin: String::new(),
            what: String::new(),
            value: f64::NAN,
            not_yet: None,
        }
    }

    #[test]
    fn the_lowest_run_is_kept_whatever_the_order_of_arrival() {
        let f = FirstFailure::default();
        assert!(!f.skips(0));
        f.record(failure(5000));
        f.record(failure(2100));
        f.record(failure(9000));
        assert!(f.skips(3000) && !f.skips(2048));
        assert_eq!(f.into_error().map(|e| e.run), Some(2100));
    }
}
