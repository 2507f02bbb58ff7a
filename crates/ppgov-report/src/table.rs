//! A plain aligned text table for terminals.

use crate::text::time_text;
use ppgov_core::{RuleStatus, ScanReport, Severity};

/// The longest a message cell gets before it is cut (the full text is in every other format).
const MESSAGE_WIDTH: usize = 100;

/// One line of plain text: whitespace runs become one space and other control characters (an
/// ANSI escape in a display name) become `?`, so data cannot rewrite the terminal.
pub(crate) fn one_line(s: &str) -> String {
    s.split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .chars()
        .map(|c| if c.is_control() { '?' } else { c })
        .collect()
}

fn cut(s: String, width: usize) -> String {
    if s.chars().count() <= width {
        return s;
    }
    let mut out: String = s.chars().take(width.saturating_sub(1)).collect();
    out.push('…');
    out
}

/// Renders the findings as a table, then the summary and any rule errors (every cell in full).
pub fn table(report: &ScanReport) -> String {
    table_fitted(report, None)
}

/// [`table`] fitted to a terminal `width`: long cells wrap instead of running off the screen.
/// Environments are named by display name with the id beside it.
pub fn table_fitted(report: &ScanReport, width: Option<u16>) -> String {
    let header = ["severity", "rule", "resource", "environment", "message"];
    let rows: Vec<Vec<String>> = report
        .findings
        .iter()
        .map(|f| {
            let sev = if f.suppressed.is_some() {
                format!("{} (suppressed)", f.severity)
            } else {
                f.severity.to_string()
            };
            vec![
                sev,
                f.rule_id.clone(),
                format!("{} {}", f.resource.kind, f.resource.name),
                f.resource
                    .environment_id
                    .as_deref()
                    .map(|id| report.environment_label(id))
                    .unwrap_or_else(|| "-".into()),
                cut(one_line(&f.message), MESSAGE_WIDTH),
            ]
        })
        .collect();
    let mut out = String::new();
    out.push_str(&format!(
        "ppgov scan of tenant {} (snapshot {}, {})\n\n",
        report.tenant_id,
        report.snapshot_id,
        time_text(report.snapshot_time)
    ));
    let s = &report.summary;
    if s.rules_errored > 0 {
        out.push_str(&format!(
            "INCOMPLETE: {} rule(s) could not be evaluated (listed at the end); this scan cannot vouch for what they check.\n\n",
            s.rules_errored
        ));
    }
    if rows.is_empty() {
        out.push_str("No findings.\n");
    } else {
        out.push_str(&crate::grid::grid(&header, &rows, width));
    }
    let counts = Severity::ALL
        .iter()
        .rev()
        .map(|sev| {
            format!(
                "{} {}",
                s.by_severity.get(sev.as_str()).copied().unwrap_or(0),
                sev
            )
        })
        .collect::<Vec<_>>()
        .join(", ");
    out.push_str(&format!(
        "\n{} findings ({counts}); {} suppressed. Rules: {} evaluated, {} passed, {} errored.\n",
        s.total, s.suppressed, s.rules_evaluated, s.rules_passed, s.rules_errored
    ));
    for r in &report.rules {
        if let RuleStatus::Error { message } = &r.status {
            out.push_str(&format!(
                "error: {} could not be evaluated: {}\n",
                r.rule_id,
                one_line(message)
            ));
        }
    }
    out
}
