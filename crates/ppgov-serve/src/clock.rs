//! The scheduler's clock. `ppgov serve` reads time only through [`Clock`], so tests drive a
//! [`ManualClock`] through scheduled ticks with explicit steps instead of waiting.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use tokio::sync::watch;

/// A boxed future that ends when the clock reaches a time.
pub type Sleep<'a> = Pin<Box<dyn Future<Output = ()> + Send + 'a>>;

/// Time for the scheduler, the workers and their leases, in milliseconds since the Unix epoch.
pub trait Clock: Send + Sync + 'static {
    /// Now.
    fn now_ms(&self) -> i64;
    /// Ends once [`now_ms`](Clock::now_ms) has reached `at_ms`.
    fn sleep_until(&self, at_ms: i64) -> Sleep<'_>;
}

/// The machine's clock.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

/// The longest single wait, so a clock stepped by the system (NTP) is seen within a minute.
const MAX_WAIT_MS: i64 = 60_000;

impl Clock for SystemClock {
    fn now_ms(&self) -> i64 {
        chrono::Utc::now().timestamp_millis()
    }

    fn sleep_until(&self, at_ms: i64) -> Sleep<'_> {
        Box::pin(async move {
            loop {
                let left = at_ms.saturating_sub(self.now_ms());
                if left <= 0 {
                    return;
                }
                let ms = u64::try_from(left.min(MAX_WAIT_MS)).unwrap_or(0);
                tokio::time::sleep(std::time::Duration::from_millis(ms)).await;
            }
        })
    }
}

/// A clock that moves only when told ([`ManualClock::set`]): every sleeper whose time has come
/// wakes at once. For tests of the schedule, the workers and the leases.
#[derive(Debug)]
pub struct ManualClock {
    now: watch::Sender<i64>,
}

impl ManualClock {
    /// A clock standing at `start_ms`.
    pub fn new(start_ms: i64) -> Arc<ManualClock> {
        Arc::new(ManualClock {
            now: watch::Sender::new(start_ms),
        })
    }

    /// Moves the clock to `ms` (never backwards).
    pub fn set(&self, ms: i64) {
        self.now.send_if_modified(|now| {
            if ms > *now {
                *now = ms;
                true
            } else {
                false
            }
        });
    }

    /// Moves the clock forward by `ms`.
    pub fn advance(&self, ms: i64) {
        self.set(self.now_ms().saturating_add(ms));
    }
}

impl Clock for ManualClock {
    fn now_ms(&self) -> i64 {
        *self.now.borrow()
    }

    fn sleep_until(&self, at_ms: i64) -> Sleep<'_> {
        let mut rx = self.now.subscribe();
        Box::pin(async move {
            // The sender lives as long as the clock, which outlives every sleeper borrowing it.
            let _ = rx.wait_for(|now| *now >= at_ms).await;
        })
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_manual_clock_wakes_sleepers_when_it_reaches_their_time_and_never_goes_back() {
        let clock = ManualClock::new(1_000);
        let c = clock.clone();
        let sleeper = tokio::spawn(async move {
            c.sleep_until(5_000).await;
            c.now_ms()
        });
        clock.set(4_999);
        tokio::task::yield_now().await;
        assert!(!sleeper.is_finished());
        clock.set(3_000);
        assert_eq!(clock.now_ms(), 4_999);
        clock.advance(1);
        assert_eq!(sleeper.await.unwrap(), 5_000);
        // A time already passed does not wait.
        clock.sleep_until(10).await;
    }
}
