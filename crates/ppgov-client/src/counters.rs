//! Counters every transport keeps, for progress displays and benchmarks.

use std::sync::atomic::{AtomicU64, Ordering};

/// Live counters of one [`crate::Transport`] (shared by all its clones).
#[derive(Debug, Default)]
pub struct Counters {
    requests: AtomicU64,
    retries: AtomicU64,
    throttled: AtomicU64,
    errors: AtomicU64,
    wait_us: AtomicU64,
    queue_us: AtomicU64,
    flight_us: AtomicU64,
}

/// A point-in-time copy of [`Counters`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CountersSnapshot {
    /// HTTP requests sent (every attempt counts).
    pub requests: u64,
    /// Attempts that were retries of an earlier attempt.
    pub retries: u64,
    /// Throttled responses received (429, 403 `AF429`, 503 with `Retry-After`).
    pub throttled: u64,
    /// Calls that ended in an error.
    pub errors: u64,
    /// Time spent waiting (client-side rate limiting plus back-off), in milliseconds, summed
    /// over concurrent calls.
    pub wait_ms: u64,
    /// Time calls spent queued for a connection slot (the per-host concurrency limit), in
    /// milliseconds, summed over concurrent calls.
    pub queue_ms: u64,
    /// Time from sending a request to having its whole response, in milliseconds, summed over
    /// concurrent calls (divided by wall time: the average number of requests in flight).
    pub flight_ms: u64,
}

impl Counters {
    pub(crate) fn request(&self) {
        self.requests.fetch_add(1, Ordering::Relaxed);
    }
    pub(crate) fn retry(&self) {
        self.retries.fetch_add(1, Ordering::Relaxed);
    }
    pub(crate) fn throttled(&self) {
        self.throttled.fetch_add(1, Ordering::Relaxed);
    }
    pub(crate) fn error(&self) {
        self.errors.fetch_add(1, Ordering::Relaxed);
    }
    pub(crate) fn waited(&self, d: std::time::Duration) {
        self.wait_us.fetch_add(us(d), Ordering::Relaxed);
    }
    pub(crate) fn queued(&self, d: std::time::Duration) {
        self.queue_us.fetch_add(us(d), Ordering::Relaxed);
    }
    pub(crate) fn in_flight(&self, d: std::time::Duration) {
        self.flight_us.fetch_add(us(d), Ordering::Relaxed);
    }

    /// Current values.
    pub fn snapshot(&self) -> CountersSnapshot {
        CountersSnapshot {
            requests: self.requests.load(Ordering::Relaxed),
            retries: self.retries.load(Ordering::Relaxed),
            throttled: self.throttled.load(Ordering::Relaxed),
            errors: self.errors.load(Ordering::Relaxed),
            wait_ms: self.wait_us.load(Ordering::Relaxed) / 1000,
            queue_ms: self.queue_us.load(Ordering::Relaxed) / 1000,
            flight_ms: self.flight_us.load(Ordering::Relaxed) / 1000,
        }
    }
}

/// Kept in microseconds: most waits are shorter than a millisecond.
fn us(d: std::time::Duration) -> u64 {
    u64::try_from(d.as_micros()).unwrap_or(u64::MAX)
}
