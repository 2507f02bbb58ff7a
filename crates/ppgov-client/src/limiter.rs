//! Adaptive client-side rate limiting per host: a token bucket whose rate follows AIMD with a
//! slow start. It starts at a modest rate and doubles it about every second while requests queue
//! behind it, until the service first throttles; the rate is then cut to just below the accept
//! rate the service was observed to allow and afterwards creeps up slowly, so a long crawl runs
//! just under the service's limit instead of repeatedly bouncing off it.
//!
//! The bucket is per host because that is how the services count: each Microsoft API family has
//! its own host (and its own limits), every Dataverse instance has its own host, and one sign-in
//! identity is used per transport.

use std::collections::{BTreeMap, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::time::Instant;

/// Tuning of the adaptive limiter.
#[derive(Debug, Clone)]
pub struct LimiterConfig {
    /// Requests per second to start at.
    pub initial_rate: f64,
    /// Never exceed this rate.
    pub max_rate: f64,
    /// Never go below this rate.
    pub min_rate: f64,
    /// After a throttle, the new rate is this fraction of the observed accept rate.
    pub decrease_factor: f64,
    /// Relative rate increase per second before the first throttle (slow start; 1.0 multiplies
    /// the rate by e every second).
    pub slow_start_increase_per_sec: f64,
    /// Relative rate increase per second after a throttle, while the limiter is the bottleneck
    /// (0.005 = 0.5 %/s).
    pub increase_per_sec: f64,
    /// Window over which the accept rate is observed.
    pub observe_window: Duration,
    /// Concurrent requests in flight per host.
    pub concurrency_per_host: usize,
}

impl Default for LimiterConfig {
    fn default() -> Self {
        LimiterConfig {
            // Microsoft publishes no per-second numbers for BAP, Power Apps or Flow: start modest,
            // find the limit within seconds (slow start), then hold just under it. Each throttle
            // costs a whole Retry-After of idle time, so growth after one is deliberately slow.
            initial_rate: 200.0,
            max_rate: 5_000.0,
            min_rate: 0.2,
            decrease_factor: 0.93,
            slow_start_increase_per_sec: 1.0,
            increase_per_sec: 0.005,
            observe_window: Duration::from_secs(3),
            concurrency_per_host: 16,
        }
    }
}

/// Accepted responses needed before the observed accept rate is trusted.
const MIN_SAMPLES: usize = 5;

#[derive(Debug)]
struct Bucket {
    rate: f64,
    /// Next instant a request may start (virtual schedule: reservations push it forward).
    next_slot: Instant,
    /// Nobody starts before this (server's `Retry-After`).
    blocked_until: Instant,
    /// Accepted responses in the observation window, with their cost.
    accepted: VecDeque<(Instant, u32)>,
    last_grow: Instant,
    last_throttle: Option<Instant>,
    /// Bumped on every throttle: a reservation made before it is void.
    epoch: u64,
}

/// A reserved start time: wait this long, then check [`Limiter::still_valid`].
#[derive(Debug, Clone, Copy)]
pub(crate) struct Reservation {
    /// How long to wait before sending.
    pub wait: Duration,
    epoch: u64,
}

/// Shared limiter state: one bucket per key.
#[derive(Debug)]
pub(crate) struct Limiter {
    cfg: LimiterConfig,
    buckets: Mutex<BTreeMap<String, Bucket>>,
    hosts: Mutex<BTreeMap<String, Arc<tokio::sync::Semaphore>>>,
}

impl Limiter {
    pub(crate) fn new(cfg: LimiterConfig) -> Self {
        Limiter {
            cfg,
            buckets: Mutex::new(BTreeMap::new()),
            hosts: Mutex::new(BTreeMap::new()),
        }
    }

    /// The concurrency semaphore of a host.
    pub(crate) fn host_semaphore(&self, host: &str) -> Arc<tokio::sync::Semaphore> {
        let mut hosts = self.hosts.lock().unwrap_or_else(|p| p.into_inner());
        hosts
            .entry(host.to_owned())
            .or_insert_with(|| {
                Arc::new(tokio::sync::Semaphore::new(
                    self.cfg.concurrency_per_host.max(1),
                ))
            })
            .clone()
    }

    fn with_bucket<R>(&self, key: &str, f: impl FnOnce(&mut Bucket, &LimiterConfig) -> R) -> R {
        let mut buckets = self.buckets.lock().unwrap_or_else(|p| p.into_inner());
        let now = Instant::now();
        let b = buckets.entry(key.to_owned()).or_insert_with(|| Bucket {
            rate: self
                .cfg
                .initial_rate
                .clamp(self.cfg.min_rate, self.cfg.max_rate),
            next_slot: now,
            blocked_until: now,
            accepted: VecDeque::new(),
            last_grow: now,
            last_throttle: None,
            epoch: 0,
        });
        f(b, &self.cfg)
    }

    /// Reserves the next slot for `key` for a call the service counts as `cost` requests. Wait
    /// `wait`, then send only if [`Limiter::still_valid`]; otherwise a throttle came in meanwhile:
    /// reserve again.
    pub(crate) fn reserve(&self, key: &str, cost: u32) -> Reservation {
        self.with_bucket(key, |b, cfg| {
            let now = Instant::now();
            // Grow only while requests are queuing behind the bucket: an idle limiter says
            // nothing about what the server would accept.
            let dt = now.saturating_duration_since(b.last_grow).as_secs_f64();
            if b.next_slot > now && dt > 0.0 {
                let k = if b.last_throttle.is_none() {
                    cfg.slow_start_increase_per_sec
                } else {
                    cfg.increase_per_sec
                };
                b.rate = (b.rate * (1.0 + k * dt.min(1.0))).min(cfg.max_rate);
            }
            b.last_grow = now;
            let start = b.next_slot.max(now).max(b.blocked_until);
            b.next_slot =
                start + Duration::from_secs_f64(f64::from(cost.max(1)) / b.rate.max(cfg.min_rate));
            Reservation {
                wait: start.saturating_duration_since(now),
                epoch: b.epoch,
            }
        })
    }

    /// False when a throttle arrived after `r` was made (its slot may fall inside the wait).
    pub(crate) fn still_valid(&self, key: &str, r: Reservation) -> bool {
        self.with_bucket(key, |b, _| b.epoch == r.epoch)
    }

    /// Records an accepted (non-throttled) response to a call of `cost` requests.
    pub(crate) fn on_accepted(&self, key: &str, cost: u32) {
        self.with_bucket(key, |b, cfg| {
            let now = Instant::now();
            b.accepted.push_back((now, cost.max(1)));
            prune(b, now, cfg.observe_window);
        })
    }

    /// Records a throttled response: multiplicative decrease to just below the observed accept
    /// rate, and no request before `retry_after` has passed.
    pub(crate) fn on_throttled(&self, key: &str, retry_after: Option<Duration>) {
        self.with_bucket(key, |b, cfg| {
            let now = Instant::now();
            prune(b, now, cfg.observe_window);
            // Several in-flight requests are often throttled together; cut once per burst.
            let recent = b.last_throttle.is_some_and(|t| {
                now.saturating_duration_since(t)
                    < Duration::from_secs_f64(2.0 / b.rate.max(cfg.min_rate))
                        .max(Duration::from_millis(500))
                    || t < b.blocked_until && now < b.blocked_until + Duration::from_millis(200)
            });
            if !recent {
                // The accept rate is observed since the end of the last block only: idle time
                // spent honouring a Retry-After says nothing about the server's limit. Too few
                // samples say more about our demand than about the limit.
                let since = b.blocked_until.min(now);
                let mut n = 0usize;
                let mut first = None;
                for (t, cost) in b.accepted.iter().filter(|(t, _)| *t >= since) {
                    n += *cost as usize;
                    first.get_or_insert(*t);
                }
                let observed = match first {
                    Some(first) if n >= MIN_SAMPLES => {
                        let span = now.saturating_duration_since(first).as_secs_f64().max(1.0);
                        n as f64 / span
                    }
                    _ => b.rate,
                };
                let base = if observed > 0.0 {
                    observed.min(b.rate)
                } else {
                    b.rate
                };
                b.rate = (base * cfg.decrease_factor).clamp(cfg.min_rate, cfg.max_rate);
                tracing::debug!(key, rate = b.rate, observed, "rate limiter decreased");
            }
            b.last_throttle = Some(now);
            b.epoch = b.epoch.wrapping_add(1);
            if let Some(ra) = retry_after {
                // `checked_add`: a wait no clock can represent must not panic; callers cap it.
                let until = now
                    .checked_add(ra)
                    .unwrap_or(now + Duration::from_secs(24 * 3600));
                b.blocked_until = b.blocked_until.max(until);
            }
            b.next_slot = b.next_slot.max(b.blocked_until);
            b.last_grow = now;
        })
    }

    /// Current rate of a key (for tests and progress displays).
    pub(crate) fn rate(&self, key: &str) -> f64 {
        self.with_bucket(key, |b, _| b.rate)
    }
}

fn prune(b: &mut Bucket, now: Instant, window: Duration) {
    while b
        .accepted
        .front()
        .is_some_and(|(t, _)| now.saturating_duration_since(*t) > window)
    {
        b.accepted.pop_front();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn spaces_requests_and_backs_off() {
        let l = Limiter::new(LimiterConfig {
            initial_rate: 10.0,
            ..Default::default()
        });
        assert_eq!(l.reserve("k", 1).wait, Duration::ZERO);
        let second = l.reserve("k", 1).wait;
        assert!(
            second > Duration::from_millis(90) && second <= Duration::from_millis(100),
            "{second:?}"
        );
        for _ in 0..5 {
            l.on_accepted("k", 1);
        }
        l.on_throttled("k", Some(Duration::from_secs(2)));
        assert!(l.rate("k") < 10.0);
        assert!(l.reserve("k", 1).wait >= Duration::from_millis(1900));
    }

    #[tokio::test(start_paused = true)]
    async fn a_call_counted_as_many_requests_takes_as_many_slots() {
        let l = Limiter::new(LimiterConfig {
            initial_rate: 10.0,
            ..Default::default()
        });
        assert_eq!(l.reserve("k", 21).wait, Duration::ZERO);
        let next = l.reserve("k", 1).wait;
        assert!(next >= Duration::from_millis(2090), "{next:?}");
    }

    #[tokio::test(start_paused = true)]
    async fn a_throttle_voids_earlier_reservations() {
        let l = Limiter::new(LimiterConfig::default());
        let r = l.reserve("k", 1);
        assert!(l.still_valid("k", r));
        l.on_throttled("k", Some(Duration::from_secs(1)));
        assert!(!l.still_valid("k", r));
        let again = l.reserve("k", 1);
        assert!(again.wait >= Duration::from_millis(990), "{:?}", again.wait);
        assert!(l.still_valid("k", again));
    }

    /// Keeps the bucket the bottleneck for `secs` seconds (requests always queued) and returns the rate.
    async fn queue_for(l: &Limiter, secs: u64) -> f64 {
        for _ in 0..secs * 10 {
            for _ in 0..4 {
                let _ = l.reserve("k", 1);
            }
            tokio::time::advance(Duration::from_millis(100)).await;
        }
        l.rate("k")
    }

    #[tokio::test(start_paused = true)]
    async fn slow_start_doubles_then_growth_is_gentle_after_a_throttle() {
        let l = Limiter::new(LimiterConfig {
            initial_rate: 10.0,
            ..Default::default()
        });
        let after = queue_for(&l, 3).await;
        assert!(after > 60.0, "slow start reached only {after}");
        for _ in 0..20 {
            l.on_accepted("k", 1);
        }
        l.on_throttled("k", Some(Duration::from_secs(1)));
        let cut = l.rate("k");
        assert!(cut < after);
        tokio::time::advance(Duration::from_secs(2)).await;
        let later = queue_for(&l, 3).await;
        assert!(later > cut && later < cut * 1.05, "{cut} -> {later}");
    }

    #[tokio::test(start_paused = true)]
    async fn responses_to_requests_sent_before_a_block_do_not_cut_again() {
        let l = Limiter::new(LimiterConfig {
            initial_rate: 100.0,
            ..Default::default()
        });
        for _ in 0..50 {
            l.on_accepted("k", 1);
            tokio::time::advance(Duration::from_millis(10)).await;
        }
        l.on_throttled("k", Some(Duration::from_secs(1)));
        let once = l.rate("k");
        tokio::time::advance(Duration::from_millis(600)).await;
        l.on_throttled("k", Some(Duration::from_secs(1)));
        assert_eq!(l.rate("k"), once);
    }
}
