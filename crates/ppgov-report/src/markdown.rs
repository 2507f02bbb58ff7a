//! Markdown: a summary, posture per area, and a findings table.

use crate::posture::posture_scores;
use crate::text::{status_detail, time_text};
use ppgov_core::{RuleStatus, ScanReport, Severity};

/// Escapes text for a Markdown table cell: pipes, line breaks, and HTML (which renderers pass
/// through), plus the characters that start emphasis or links.
fn cell(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '|' => out.push_str("\\|"),
            '\n' => out.push_str("<br>"),
            '\r' => {}
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '&' => out.push_str("&amp;"),
            '*' | '_' | '`' | '[' | ']' | '\\' => {
                out.push('\\');
                out.push(c);
            }
            _ => out.push(c),
        }
    }
    out
}

/// Renders the report as Markdown.
pub fn markdown(report: &ScanReport) -> String {
    let s = &report.summary;
    let mut out = String::new();
    out.push_str("# ppgov scan report\n\n");
    out.push_str(&format!(
        "- Tenant: `{}`\n",
        report.tenant_id.replace('`', "'")
    ));
    out.push_str(&format!(
        "- Snapshot: `{}` ({})\n",
        report.snapshot_id.replace('`', "'"),
        time_text(report.snapshot_time)
    ));
    out.push_str(&format!(
        "- Findings: {} ({} suppressed); rules: {} evaluated, {} passed, {} errored\n\n",
        s.total, s.suppressed, s.rules_evaluated, s.rules_passed, s.rules_errored
    ));
    if s.rules_errored > 0 {
        out.push_str(&format!(
            "> **Incomplete scan:** {} rule(s) could not be evaluated ({}); see *Rules that could not be evaluated* below. An error is never a pass.\n\n",
            s.rules_errored,
            s.errored_rules.join(", ")
        ));
    }
    out.push_str("## Findings by severity\n\n| Severity | Findings |\n|---|---:|\n");
    for sev in Severity::ALL.iter().rev() {
        out.push_str(&format!(
            "| {} | {} |\n",
            sev,
            s.by_severity.get(sev.as_str()).copied().unwrap_or(0)
        ));
    }
    out.push_str("\n## Posture by area\n\n| Area | Score | Passing | Failing | Errored |\n|---|---:|---:|---:|---:|\n");
    for a in posture_scores(report) {
        let score = a
            .score
            .map_or_else(|| "n/a".to_string(), |v| format!("{v}%"));
        out.push_str(&format!(
            "| {} | {score} | {} | {} | {} |\n",
            cell(&a.title),
            a.passing,
            a.failing,
            a.errored
        ));
    }
    out.push_str("\n## Findings\n\n");
    if report.findings.is_empty() {
        out.push_str("No findings.\n");
    } else {
        out.push_str("| Severity | Rule | Resource | Environment | Message | Remediation |\n|---|---|---|---|---|---|\n");
        for f in &report.findings {
            let sev = if f.suppressed.is_some() {
                format!("{} (suppressed)", f.severity)
            } else {
                f.severity.to_string()
            };
            out.push_str(&format!(
                "| {sev} | {} | {} {} | {} | {} | {} |\n",
                cell(&f.rule_id),
                f.resource.kind,
                cell(&f.resource.name),
                cell(
                    &f.resource
                        .environment_id
                        .as_deref()
                        .map(|id| report.environment_label(id))
                        .unwrap_or_else(|| "-".into())
                ),
                cell(&f.message),
                cell(&f.remediation.text)
            ));
        }
    }
    let errors: Vec<_> = report
        .rules
        .iter()
        .filter(|r| matches!(r.status, RuleStatus::Error { .. }))
        .collect();
    if !errors.is_empty() {
        out.push_str(
            "\n## Rules that could not be evaluated\n\n| Rule | Title | Reason |\n|---|---|---|\n",
        );
        for r in errors {
            out.push_str(&format!(
                "| {} | {} | {} |\n",
                cell(&r.rule_id),
                cell(&r.title),
                cell(status_detail(&r.status).unwrap_or(""))
            ));
        }
    }
    out
}
