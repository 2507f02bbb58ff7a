//! Audit-log ingestion, normalisation, streaming detections and exports.
//!
//! - [`event`]: every record type (Power Automate 30, Power Platform 256 with its
//!   `PropertyCollection` flattened, legacy 45/79/187, Dataverse 21, Entra 8, anything else) becomes
//!   one [`ppgov_store::EventRow`] that keeps the raw JSON; bad records become [`Malformed`].
//! - [`files`]: Purview audit CSV (`AuditData` column), JSON lines, JSON arrays, standard input.
//! - [`ingest`]: batches into an [`ppgov_store::EventStore`], counting duplicates and malformed
//!   records with their positions.
//! - [`management`]: the Office 365 Management Activity API source (subscription, 24-hour windows
//!   within the last 7 days, paging, bounded blob concurrency, cursor advanced only after store).
//! - [`graph`]: Microsoft Graph audit log queries (create, poll, read records), for history.
//! - [`detect`]: PPG-DET-001..017, one file each, streaming and stateful, state persisted.
//! - [`export`], [`report`]: SIEM formats (NDJSON, CSV, CEF, OCSF) and the daily report.
//! - [`refresh`]: which inventory resources an event marks for refresh.

pub mod alerting;
pub mod bench;
pub mod detect;
mod error;
pub mod event;
pub mod export;
pub mod files;
pub mod graph;
pub mod ingest;
pub mod management;
pub mod refresh;
pub mod report;
pub mod risk;
pub mod syslog;

pub use error::AuditError;
pub use event::{Malformed, normalise};
pub use ingest::{IngestOutcome, Ingestor};

/// Parses `--since`/`--until`: a duration back from `now_ms` (`90m`, `24h`, `7d`, `2w`) or a
/// time (`2026-03-01`, `2026-03-01T10:00:00Z`). Returns UTC milliseconds.
pub fn parse_since(s: &str, now_ms: i64) -> Result<i64, String> {
    let s = s.trim();
    let unit = |c: char| match c {
        'm' => Some(60_000i64),
        'h' => Some(3_600_000),
        'd' => Some(86_400_000),
        'w' => Some(7 * 86_400_000),
        _ => None,
    };
    if let Some(c) = s.chars().last()
        && let Some(u) = unit(c)
        && let Ok(n) = s[..s.len() - 1].parse::<i64>()
    {
        return n
            .checked_mul(u)
            .and_then(|back| now_ms.checked_sub(back))
            .ok_or_else(|| format!("`{s}` reaches too far back: use a date instead"));
    }
    if let Some(t) = event::parse_time(s) {
        return Ok(t);
    }
    if let Ok(d) = chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d")
        && let Some(t) = d.and_hms_opt(0, 0, 0)
    {
        return Ok(t.and_utc().timestamp_millis());
    }
    Err(format!(
        "`{s}` is neither a duration (90m, 24h, 7d, 2w) nor a time (2026-03-01, 2026-03-01T10:00:00Z)"
    ))
}

#[cfg(test)]
mod tests {
    use super::parse_since;

    #[test]
    fn since_takes_durations_and_times_and_refuses_what_overflows() {
        let now = 1_800_000_000_000;
        assert_eq!(parse_since("24h", now), Ok(now - 86_400_000));
        assert_eq!(parse_since(" 2w ", now), Ok(now - 14 * 86_400_000));
        assert_eq!(parse_since("2026-03-01", now), Ok(1_772_323_200_000));
        for huge in [
            "99999999999999999w",
            "9223372036854775807m",
            "-9223372036854775807d",
        ] {
            let e = parse_since(huge, now).unwrap_err();
            assert!(e.contains("too far back"), "{huge}: {e}");
        }
        assert!(
            parse_since("soon", now)
                .unwrap_err()
                .contains("neither a duration")
        );
    }
}
