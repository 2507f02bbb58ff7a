//! Which run of a cron schedule is due: the latest tick not enqueued yet, once, however many
//! ticks were missed while the process was down.

use chrono::{DateTime, Utc};
use croner::Cron;

/// Ticks looked at before giving up (a five-minute schedule over a year is 105,120).
const MAX_STEPS: usize = 200_000;

fn at(ms: i64) -> Option<DateTime<Utc>> {
    DateTime::from_timestamp_millis(ms)
}

/// The first tick strictly after `after_ms`.
pub fn next_after(cron: &Cron, after_ms: i64) -> Option<i64> {
    cron.find_next_occurrence(&at(after_ms)?, false)
        .ok()
        .map(|t| t.timestamp_millis())
}

/// The latest tick in `(after_ms, now_ms]`, or `None` when no tick fell in it: the one run a
/// scheduler enqueues for that span (a missed run runs once, not once per missed tick).
pub fn latest_due(cron: &Cron, after_ms: i64, now_ms: i64) -> Option<i64> {
    let mut latest = None;
    let mut t = after_ms;
    for _ in 0..MAX_STEPS {
        match next_after(cron, t) {
            Some(next) if next <= now_ms => {
                latest = Some(next);
                t = next;
            }
            _ => return latest,
        }
    }
    latest
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn ms(s: &str) -> i64 {
        DateTime::parse_from_rfc3339(s).unwrap().timestamp_millis()
    }

    #[test]
    fn missed_ticks_give_one_run_the_latest() {
        let cron: Cron = "0 */4 * * *".parse().unwrap();
        // Down from 07:00 to 21:30: 08, 12, 16 and 20 were missed; 20:00 runs, once.
        assert_eq!(
            latest_due(
                &cron,
                ms("2026-12-01T07:00:00Z"),
                ms("2026-12-01T21:30:00Z")
            ),
            Some(ms("2026-12-01T20:00:00Z"))
        );
        // Nothing due between two ticks; a tick exactly at now is due.
        assert_eq!(
            latest_due(
                &cron,
                ms("2026-12-01T20:00:00Z"),
                ms("2026-12-01T23:59:00Z")
            ),
            None
        );
        assert_eq!(
            latest_due(
                &cron,
                ms("2026-12-01T20:00:00Z"),
                ms("2026-12-02T00:00:00Z")
            ),
            Some(ms("2026-12-02T00:00:00Z"))
        );
        assert_eq!(
            next_after(&cron, ms("2026-12-02T00:00:00Z")),
            Some(ms("2026-12-02T04:00:00Z"))
        );
    }
}
