//! Run statistics of a flow from its run history.

use chrono::{DateTime, Duration, Utc};
use ppgov_core::RunStats;

/// Folds run start times and outcomes into 30- and 90-day counts measured back from `now`.
#[derive(Debug, Clone)]
pub struct RunCounter {
    now: DateTime<Utc>,
    stats: RunStats,
}

impl RunCounter {
    /// Starts counting back from `now`.
    pub fn new(now: DateTime<Utc>) -> RunCounter {
        RunCounter {
            now,
            stats: RunStats::default(),
        }
    }

    /// The earliest start time that still counts (90 days back).
    pub fn since(now: DateTime<Utc>) -> DateTime<Utc> {
        now - Duration::days(90)
    }

    /// Adds one run.
    pub fn add(&mut self, start: DateTime<Utc>, failed: bool) {
        let age = self.now - start;
        if age <= Duration::days(90) {
            self.stats.runs_90d += 1;
            self.stats.failed_90d += u64::from(failed);
            if age <= Duration::days(30) {
                self.stats.runs_30d += 1;
                self.stats.failed_30d += u64::from(failed);
            }
        }
        if self.stats.last_run.is_none_or(|l| start > l) {
            self.stats.last_run = Some(start);
        }
    }

    /// The counts.
    pub fn finish(self) -> RunStats {
        self.stats
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_windows_and_last_run() {
        let now = Utc::now();
        let mut c = RunCounter::new(now);
        c.add(now - Duration::days(1), true);
        c.add(now - Duration::days(40), false);
        c.add(now - Duration::days(100), true);
        let s = c.finish();
        assert_eq!(
            (s.runs_30d, s.failed_30d, s.runs_90d, s.failed_90d),
            (1, 1, 2, 1)
        );
        assert_eq!(s.last_run, Some(now - Duration::days(1)));
    }
}
