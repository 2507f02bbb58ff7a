//! Per-identity token-bucket throttling: past `rate_limit` requests per second (burst
//! `max(1, rate)`), API calls answer the family's throttling error with `Retry-After`.

use std::time::Instant;

use super::errors::{ApiError, Family};
use super::state::{State, lock};

/// One identity's bucket.
#[derive(Debug, Clone)]
pub struct Bucket {
    tokens: f64,
    last: Instant,
}

/// Takes one token from `key`'s bucket; `Err(retry_after_secs)` when it is empty.
pub fn take(state: &State, key: &str, rate: f64, now: Instant) -> Result<(), u64> {
    if !(rate.is_finite() && rate > 0.0) {
        return Ok(());
    }
    let burst = rate.max(1.0);
    let mut buckets = lock(&state.buckets);
    let b = buckets.entry(key.to_string()).or_insert(Bucket {
        tokens: burst,
        last: now,
    });
    let elapsed = now.saturating_duration_since(b.last).as_secs_f64();
    b.tokens = (b.tokens + elapsed * rate).min(burst);
    b.last = now;
    if b.tokens >= 1.0 {
        b.tokens -= 1.0;
        state
            .charged
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        Ok(())
    } else {
        let wait = (1.0 - b.tokens) / rate;
        // Integer seconds, never zero: clients sleep exactly this long.
        Err(wait.ceil().max(1.0) as u64)
    }
}

/// The throttling check for one request, answering with `family`'s envelope.
pub fn check(state: &State, key: Option<&str>, family: Family) -> Result<(), ApiError> {
    let Some(rate) = state.behaviour().rate_limit else {
        return Ok(());
    };
    let Some(key) = key else {
        return Ok(());
    };
    take(state, key, rate, Instant::now()).map_err(|secs| ApiError::throttled(family, secs))
}
