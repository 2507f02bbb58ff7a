//! Retry policy: which answers are retried, how long to wait, and `Retry-After` parsing.

use reqwest::header::{HeaderMap, RETRY_AFTER};
use std::time::{Duration, SystemTime};

/// Retry and back-off tuning.
#[derive(Debug, Clone)]
pub struct RetryConfig {
    /// Attempts per call, the first included.
    pub max_attempts: u32,
    /// Throttled attempts per call before giving up with [`crate::ClientError::Throttled`].
    pub max_throttled_attempts: u32,
    /// First back-off delay; doubles each retry.
    pub base_delay: Duration,
    /// Longest single back-off delay (also caps `Retry-After`).
    pub max_delay: Duration,
    /// Wait after a throttled answer without `Retry-After`.
    pub default_throttle_delay: Duration,
    /// Per-attempt timeout.
    pub attempt_timeout: Duration,
}

impl Default for RetryConfig {
    fn default() -> Self {
        RetryConfig {
            max_attempts: 5,
            max_throttled_attempts: 12,
            base_delay: Duration::from_millis(500),
            max_delay: Duration::from_secs(60),
            default_throttle_delay: Duration::from_secs(5),
            attempt_timeout: Duration::from_secs(120),
        }
    }
}

/// Statuses retried on idempotent calls.
pub(crate) fn is_retryable_status(status: u16) -> bool {
    matches!(status, 408 | 425 | 429 | 500 | 502 | 503 | 504)
}

/// `Retry-After` as delta-seconds or HTTP date, relative to now.
pub(crate) fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    let v = headers.get(RETRY_AFTER)?.to_str().ok()?.trim();
    parse_retry_after(v, SystemTime::now())
}

/// Any value a server may send (huge, negative, fractional, a far-away date, garbage) gives
/// either `None` (ignored, the caller's default applies) or a duration; callers cap it with
/// `max_delay`, so the wait is always bounded. Never panics.
pub(crate) fn parse_retry_after(v: &str, now: SystemTime) -> Option<Duration> {
    let v = v.trim();
    if let Ok(secs) = v.parse::<u64>() {
        return Some(Duration::from_secs(secs));
    }
    if let Ok(secs) = v.parse::<f64>() {
        // Negative means "now"; NaN and infinities are garbage; too large saturates (the caller
        // caps it anyway).
        if secs.is_nan() {
            return None;
        }
        if secs <= 0.0 {
            return Some(Duration::ZERO);
        }
        return Some(Duration::try_from_secs_f64(secs).unwrap_or(Duration::MAX));
    }
    let at = httpdate::parse_http_date(v).ok()?;
    // A date in the past means "now"; HTTP dates have 1 s resolution, round up.
    Some(
        at.duration_since(now)
            .map(|d| d + Duration::from_millis(500))
            .unwrap_or(Duration::ZERO),
    )
}

/// Jittered exponential back-off for attempt `n` (1 = first retry): uniformly between half and
/// all of `base * 2^(n-1)`, capped.
pub(crate) fn backoff(cfg: &RetryConfig, n: u32) -> Duration {
    let exp = cfg
        .base_delay
        .saturating_mul(1u32 << n.saturating_sub(1).min(16));
    let cap = exp.min(cfg.max_delay);
    let half = cap / 2;
    let jitter = rand::random_range(0.0..=1.0f64);
    half + half.mul_f64(jitter)
}

/// Small jitter added to a server-given wait so parallel callers don't return in lock-step.
pub(crate) fn jitter_small() -> Duration {
    Duration::from_millis(rand::random_range(0..=100u64))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_after_forms() {
        let now = SystemTime::now();
        assert_eq!(parse_retry_after("7", now), Some(Duration::from_secs(7)));
        let later = now + Duration::from_secs(30);
        let d = parse_retry_after(&httpdate::fmt_http_date(later), now).unwrap();
        assert!(
            d >= Duration::from_secs(29) && d <= Duration::from_secs(31),
            "{d:?}"
        );
        let past = now - Duration::from_secs(30);
        assert_eq!(
            parse_retry_after(&httpdate::fmt_http_date(past), now),
            Some(Duration::ZERO)
        );
        assert_eq!(parse_retry_after("soon", now), None);
    }

    #[test]
    fn odd_retry_after_values_never_panic() {
        let now = SystemTime::now();
        let cases = [
            ("18446744073709551615", Some(Duration::from_secs(u64::MAX))),
            ("99999999999999999999999", Some(Duration::MAX)),
            ("1e300", Some(Duration::MAX)),
            ("-5", Some(Duration::ZERO)),
            ("-1e300", Some(Duration::ZERO)),
            ("0.25", Some(Duration::from_millis(250))),
            (" 3 ", Some(Duration::from_secs(3))),
            ("NaN", None),
            ("inf", Some(Duration::MAX)),
            ("", None),
            ("\u{0}\u{ff}", None),
        ];
        for (v, want) in cases {
            assert_eq!(parse_retry_after(v, now), want, "{v:?}");
        }
        // A date in the year 9999 is a long but finite wait; the caller caps it.
        let far = parse_retry_after("Fri, 31 Dec 9999 23:59:59 GMT", now).unwrap();
        assert!(far > Duration::from_secs(200 * 365 * 86_400));
        // Whatever the value, the wait the transport takes is capped by max_delay.
        let cfg = RetryConfig::default();
        for (v, _) in cases {
            let w = parse_retry_after(v, now).map(|d| d.min(cfg.max_delay));
            assert!(w.is_none_or(|w| w <= cfg.max_delay));
        }
    }

    #[test]
    fn backoff_grows_and_caps() {
        let cfg = RetryConfig {
            base_delay: Duration::from_millis(100),
            max_delay: Duration::from_secs(1),
            ..Default::default()
        };
        let b1 = backoff(&cfg, 1);
        assert!(b1 >= Duration::from_millis(50) && b1 <= Duration::from_millis(100));
        let b10 = backoff(&cfg, 10);
        assert!(b10 >= Duration::from_millis(500) && b10 <= Duration::from_secs(1));
    }
}
