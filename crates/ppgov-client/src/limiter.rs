//! Adaptive client-side rate limiting per (host, scope): a token bucket whose rate follows
//! AIMD. It starts optimistic; a throttled response cuts the rate to just below the accept rate
//! the server was observed to allow, and the rate then creeps back up slowly while the bucket
//! is the bottleneck. A long crawl thus runs just under the server's limit instead of
//! repeatedly bouncing off it.

use std::collections::{BTreeMap, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::time::Instant;

/// Tuning of the adaptive limiter.
#[derive(Debug, Clone)]
pub struct LimiterConfig {
    /// Requests per second to start at (optimistic).
    pub initial_rate: f64,
    /// Never exceed this rate.
    pub max_rate: f64,
    /// Never go below this rate.
    pub min_rate: f64,
    /// After a throttle, the new rate is this fraction of the observed accept rate.
    pub decrease_factor: f64,
    /// Relative rate increase per second while the limiter is the bottleneck (0.01 = 1 %/s).
    pub increase_per_sec: f64,
    /// Window over which the accept rate is observed.
    pub observe_window: Duration,
    /// Concurrent requests in flight per host.
    pub concurrency_per_host: usize,
}

impl Default for LimiterConfig {
    fn default() -> Self {
        LimiterConfig {
            // Start optimistic and let the service's 429s set the pace: Microsoft publishes no
            // numbers for BAP, Power Apps or Flow, and a cautious start costs minutes per crawl.
            initial_rate: 200.0,
            max_rate: 5_000.0,
            min_rate: 0.2,
            decrease_factor: 0.85,
            increase_per_sec: 0.05,
            observe_window: Duration::from_secs(10),
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
    /// Accepted responses in the observation window.
    accepted: VecDeque<Instant>,
    last_grow: Instant,
    last_throttle: Option<Instant>,
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
        });
        f(b, &self.cfg)
    }

    /// Reserves the next slot for `key` and returns how long to wait before sending.
    pub(crate) fn reserve(&self, key: &str) -> Duration {
        self.with_bucket(key, |b, cfg| {
            let now = Instant::now();
            // Grow only while requests are queuing behind the bucket: an idle limiter says
            // nothing about what the server would accept.
            let dt = now.saturating_duration_since(b.last_grow).as_secs_f64();
            if b.next_slot > now && dt > 0.0 {
                b.rate = (b.rate * (1.0 + cfg.increase_per_sec * dt)).min(cfg.max_rate);
            }
            b.last_grow = now;
            let start = b.next_slot.max(now).max(b.blocked_until);
            b.next_slot = start + Duration::from_secs_f64(1.0 / b.rate.max(cfg.min_rate));
            start.saturating_duration_since(now)
        })
    }

    /// Records an accepted (non-throttled) response.
    pub(crate) fn on_accepted(&self, key: &str) {
        self.with_bucket(key, |b, cfg| {
            let now = Instant::now();
            b.accepted.push_back(now);
            while b
                .accepted
                .front()
                .is_some_and(|t| now.saturating_duration_since(*t) > cfg.observe_window)
            {
                b.accepted.pop_front();
            }
        })
    }

    /// Records a throttled response: multiplicative decrease to just below the observed accept
    /// rate, and no request before `retry_after` has passed.
    pub(crate) fn on_throttled(&self, key: &str, retry_after: Option<Duration>) {
        self.with_bucket(key, |b, cfg| {
            let now = Instant::now();
            while b
                .accepted
                .front()
                .is_some_and(|t| now.saturating_duration_since(*t) > cfg.observe_window)
            {
                b.accepted.pop_front();
            }
            // Several in-flight requests are often throttled together; cut once per burst.
            let recent = b.last_throttle.is_some_and(|t| {
                now.saturating_duration_since(t)
                    < Duration::from_secs_f64(2.0 / b.rate.max(cfg.min_rate))
                        .max(Duration::from_millis(500))
            });
            if !recent {
                // Too few samples say more about our demand than about the server's limit.
                let observed = match b.accepted.front() {
                    Some(first) if b.accepted.len() >= MIN_SAMPLES => {
                        let span = now.saturating_duration_since(*first).as_secs_f64().max(1.0);
                        b.accepted.len() as f64 / span
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
            if let Some(ra) = retry_after {
                b.blocked_until = b.blocked_until.max(now + ra);
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

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn spaces_requests_and_backs_off() {
        let l = Limiter::new(LimiterConfig {
            initial_rate: 10.0,
            ..Default::default()
        });
        assert_eq!(l.reserve("k"), Duration::ZERO);
        let second = l.reserve("k");
        assert!(
            second > Duration::from_millis(90) && second <= Duration::from_millis(100),
            "{second:?}"
        );
        for _ in 0..5 {
            l.on_accepted("k");
        }
        l.on_throttled("k", Some(Duration::from_secs(2)));
        assert!(l.rate("k") < 10.0);
        assert!(l.reserve("k") >= Duration::from_millis(1900));
    }
}
