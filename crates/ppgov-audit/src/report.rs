//! The daily audit report (seed 002): activity by operation, risk level and environment, the
//! suspicious activities with why each was flagged, and the alerts.

use crate::AuditError;
use ppgov_store::{AlertRow, EventRow};
use std::collections::BTreeMap;
use std::fmt::Write as _;

/// Report formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReportFormat {
    /// HTML page.
    Html,
    /// Markdown.
    Markdown,
    /// CSV (one section per block).
    Csv,
}

/// The counts the report shows.
#[derive(Debug, Default)]
pub struct Summary {
    /// Events in the period.
    pub events: usize,
    /// By operation.
    pub by_operation: BTreeMap<String, usize>,
    /// By risk.
    pub by_risk: BTreeMap<String, usize>,
    /// By environment.
    pub by_environment: BTreeMap<String, usize>,
}

/// Counts events.
pub fn summarise(events: &[EventRow]) -> Summary {
    let mut s = Summary {
        events: events.len(),
        ..Summary::default()
    };
    for e in events {
        *s.by_operation.entry(e.operation.clone()).or_default() += 1;
        *s.by_risk.entry(e.risk.clone()).or_default() += 1;
        let env = if e.environment_id.is_empty() {
            "(tenant)"
        } else {
            &e.environment_id
        };
        *s.by_environment.entry(env.to_string()).or_default() += 1;
    }
    s
}

fn iso(ms: i64) -> String {
    chrono::DateTime::from_timestamp_millis(ms)
        .unwrap_or_default()
        .format("%Y-%m-%d %H:%M:%S UTC")
        .to_string()
}

fn sorted(m: &BTreeMap<String, usize>) -> Vec<(&String, &usize)> {
    let mut v: Vec<_> = m.iter().collect();
    v.sort_by(|a, b| b.1.cmp(a.1).then(a.0.cmp(b.0)));
    v
}

fn html_escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

fn md_escape(s: &str) -> String {
    s.replace('|', "\\|").replace('\n', " ")
}

/// Renders the report for events and alerts of `[since, until)`.
pub fn render(
    events: &[EventRow],
    alerts: &[AlertRow],
    since_ms: i64,
    until_ms: i64,
    format: ReportFormat,
) -> Result<String, AuditError> {
    let s = summarise(events);
    let high: Vec<&EventRow> = events.iter().filter(|e| e.risk == "high").collect();
    let period = format!("{} to {}", iso(since_ms), iso(until_ms));
    let mut out = String::new();
    let tables: [(&str, &BTreeMap<String, usize>); 3] = [
        ("Activity by operation", &s.by_operation),
        ("Activity by risk level", &s.by_risk),
        ("Activity by environment", &s.by_environment),
    ];
    match format {
        ReportFormat::Markdown => {
            let _ = writeln!(
                out,
                "# Daily audit report\n\n{period}: {} events, {} alerts.\n",
                s.events,
                alerts.len()
            );
            for (title, m) in tables {
                let _ = writeln!(out, "## {title}\n\n| | events |\n|---|---:|");
                for (k, n) in sorted(m) {
                    let _ = writeln!(out, "| {} | {n} |", md_escape(k));
                }
                out.push('\n');
            }
            let _ = writeln!(
                out,
                "## Alerts\n\n| detection | severity | actor | why | events | first seen | last seen |\n|---|---|---|---|---:|---|---|"
            );
            for a in alerts {
                let _ = writeln!(
                    out,
                    "| {} | {} | {} | {} | {} | {} | {} |",
                    a.detection_id,
                    a.severity,
                    md_escape(&a.actor),
                    md_escape(&a.reason),
                    a.event_ids.len(),
                    iso(a.first_seen),
                    iso(a.last_seen)
                );
            }
            let _ = writeln!(
                out,
                "\n## High-risk activity\n\n| time | actor | operation | environment | resource |\n|---|---|---|---|---|"
            );
            for e in &high {
                let _ = writeln!(
                    out,
                    "| {} | {} | {} | {} | {} |",
                    iso(e.time_ms),
                    md_escape(&e.actor),
                    md_escape(&e.operation),
                    md_escape(&e.environment_id),
                    md_escape(&e.resource_id)
                );
            }
        }
        ReportFormat::Html => {
            let _ = write!(
                out,
                "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>Daily audit report</title><style>body{{font-family:system-ui,sans-serif;margin:2rem}}table{{border-collapse:collapse;margin-bottom:1.5rem}}td,th{{border:1px solid #ccc;padding:.25rem .5rem;text-align:left}}</style></head><body><h1>Daily audit report</h1><p>{} : {} events, {} alerts.</p>",
                html_escape(&period),
                s.events,
                alerts.len()
            );
            for (title, m) in tables {
                let _ = write!(
                    out,
                    "<h2>{title}</h2><table><tr><th></th><th>events</th></tr>"
                );
                for (k, n) in sorted(m) {
                    let _ = write!(out, "<tr><td>{}</td><td>{n}</td></tr>", html_escape(k));
                }
                out.push_str("</table>");
            }
            out.push_str("<h2>Alerts</h2><table><tr><th>detection</th><th>severity</th><th>actor</th><th>why</th><th>events</th><th>first seen</th><th>last seen</th></tr>");
            for a in alerts {
                let _ = write!(
                    out,
                    "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
                    html_escape(&a.detection_id),
                    html_escape(&a.severity),
                    html_escape(&a.actor),
                    html_escape(&a.reason),
                    a.event_ids.len(),
                    iso(a.first_seen),
                    iso(a.last_seen)
                );
            }
            out.push_str("</table><h2>High-risk activity</h2><table><tr><th>time</th><th>actor</th><th>operation</th><th>environment</th><th>resource</th></tr>");
            for e in &high {
                let _ = write!(
                    out,
                    "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
                    iso(e.time_ms),
                    html_escape(&e.actor),
                    html_escape(&e.operation),
                    html_escape(&e.environment_id),
                    html_escape(&e.resource_id)
                );
            }
            out.push_str("</table></body></html>\n");
        }
        ReportFormat::Csv => {
            let mut w = csv::Writer::from_writer(Vec::new());
            let e = |x: csv::Error| AuditError::Output(x.to_string());
            w.write_record(["section", "key", "count", "detail"])
                .map_err(e)?;
            for (title, m) in tables {
                for (k, n) in sorted(m) {
                    w.write_record([title, k, &n.to_string(), ""]).map_err(e)?;
                }
            }
            for a in alerts {
                w.write_record([
                    "Alerts",
                    &a.detection_id,
                    &a.event_ids.len().to_string(),
                    &format!("{}: {}", a.actor, a.reason),
                ])
                .map_err(e)?;
            }
            for h in &high {
                w.write_record([
                    "High-risk activity",
                    &h.operation,
                    "1",
                    &format!("{} {} {}", iso(h.time_ms), h.actor, h.resource_id),
                ])
                .map_err(e)?;
            }
            out = String::from_utf8(
                w.into_inner()
                    .map_err(|x| AuditError::Output(x.to_string()))?,
            )
            .map_err(|x| AuditError::Output(x.to_string()))?;
        }
    }
    Ok(out)
}
