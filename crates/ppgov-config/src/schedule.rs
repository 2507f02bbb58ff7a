//! `[schedule]`: when the server mode (`ppgov serve`, not built yet) runs each job, as cron
//! expressions (five fields, minute first, UTC). `ppgov config validate` checks every expression
//! and prints its next runs, so a schedule is reviewed before anything runs on it.
//!
//! ```toml
//! [schedule]
//! crawl = "0 */4 * * *"        # incremental crawl, then a scan and its diff
//! full_crawl = "30 2 * * 0"    # full crawl, weekly
//! audit = "*/15 * * * *"       # audit ingestion with detection
//! due = "*/5 * * * *"          # `apply --due`: elevation expiries, grace periods
//! digest = "0 7 * * 1-5"       # notification digests
//! ```

use crate::error::{ConfigError, Location};
use chrono::{DateTime, Utc};
use croner::Cron;

/// The jobs, their keys and default expressions.
pub const JOBS: &[(&str, &str, &str)] = &[
    ("crawl", "0 */4 * * *", "incremental crawl, scan and diff"),
    ("full_crawl", "30 2 * * 0", "full crawl"),
    ("audit", "*/15 * * * *", "audit ingestion with detection"),
    ("due", "*/5 * * * *", "due plan steps (apply --due)"),
    ("digest", "0 7 * * 1-5", "notification digests"),
];

/// One scheduled job.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Job {
    /// Its key in `[schedule]`.
    pub name: &'static str,
    /// What it does.
    pub what: &'static str,
    /// The cron expression.
    pub expression: String,
}

impl Job {
    /// The next `n` runs after `from`.
    pub fn next_runs(&self, from: DateTime<Utc>, n: usize) -> Vec<DateTime<Utc>> {
        let Ok(cron) = self.expression.parse::<Cron>() else {
            return Vec::new();
        };
        let mut out = Vec::with_capacity(n);
        let mut t = from;
        while out.len() < n {
            match cron.find_next_occurrence(&t, false) {
                Ok(next) => {
                    out.push(next);
                    t = next;
                }
                Err(_) => break,
            }
        }
        out
    }
}

/// `[schedule]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScheduleConfig {
    /// Every job, in [`JOBS`] order.
    pub jobs: Vec<Job>,
}

impl Default for ScheduleConfig {
    fn default() -> Self {
        ScheduleConfig {
            jobs: JOBS
                .iter()
                .map(|(name, expr, what)| Job {
                    name,
                    what,
                    expression: (*expr).to_string(),
                })
                .collect(),
        }
    }
}

/// Checks one expression: five fields (minute hour day-of-month month day-of-week) that parse
/// and have a next run.
pub fn check(expression: &str) -> Result<(), String> {
    let fields = expression.split_whitespace().count();
    if fields != 5 {
        return Err(format!(
            "`{expression}` has {fields} fields; write five: minute hour day-of-month month day-of-week"
        ));
    }
    let cron: Cron = expression
        .parse()
        .map_err(|e| format!("`{expression}` is not a cron expression: {e}"))?;
    cron.find_next_occurrence(&Utc::now(), false)
        .map(|_| ())
        .map_err(|e| format!("`{expression}` never runs: {e}"))
}

/// Resolves `[schedule]` from the merged scalars (`schedule.<job>`).
pub(crate) fn resolve(
    get: &dyn Fn(&str) -> Option<(String, Location)>,
    errs: &mut Vec<ConfigError>,
) -> ScheduleConfig {
    let mut c = ScheduleConfig::default();
    for job in &mut c.jobs {
        let key = format!("schedule.{}", job.name);
        let Some((value, location)) = get(&key) else {
            continue;
        };
        match check(&value) {
            Ok(()) => job.expression = value.trim().to_string(),
            Err(msg) => errs.push(
                ConfigError::new(location, key, msg)
                    .fix("write a five-field cron expression in UTC, e.g. \"0 */4 * * *\""),
            ),
        }
    }
    c
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn expressions_are_checked_and_give_their_next_runs() {
        assert!(check("0 */4 * * *").is_ok());
        for bad in ["", "* * * *", "61 * * * *", "0 0 31 2 *x", "every hour"] {
            assert!(check(bad).is_err(), "{bad}");
        }
        let job = Job {
            name: "crawl",
            what: "",
            expression: "0 */4 * * *".into(),
        };
        let from = DateTime::parse_from_rfc3339("2026-12-02T09:30:00Z")
            .map(|t| t.with_timezone(&Utc))
            .unwrap_or_default();
        let runs: Vec<String> = job
            .next_runs(from, 3)
            .iter()
            .map(|t| t.format("%H:%M").to_string())
            .collect();
        assert_eq!(runs, ["12:00", "16:00", "20:00"]);
    }
}
