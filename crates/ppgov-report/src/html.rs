//! One self-contained HTML report: inline CSS, inline JS, hand-made SVG charts, no external
//! requests (a Content-Security-Policy forbids them). Every value from the report is escaped;
//! the script reads only `data-*` attributes and text, so report data never becomes code.

use crate::posture::{AreaScore, posture_scores};
use crate::text::{frameworks_text, html_escape as esc, status_detail, status_word, time_text};
use ppgov_core::{Finding, RuleStatus, ScanReport, Severity};
use std::collections::BTreeSet;
use std::fmt::Write as _;

const CSS: &str = r#"
:root{--crit:#7f1d1d;--high:#dc2626;--med:#d97706;--low:#2563eb;--info:#6b7280;--ok:#15803d;--bg:#f8fafc;--fg:#0f172a;--mut:#64748b;--line:#e2e8f0}
*{box-sizing:border-box}body{margin:0;font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;background:var(--bg);color:var(--fg)}
header{background:#0f172a;color:#f8fafc;padding:20px 32px}header h1{margin:0 0 4px;font-size:22px}header p{margin:0;color:#cbd5e1}
main{padding:20px 32px;max-width:1400px}section{background:#fff;border:1px solid var(--line);border-radius:8px;padding:16px 20px;margin:0 0 20px}
h2{font-size:17px;margin:0 0 12px}.cards{display:flex;flex-wrap:wrap;gap:12px}.card{flex:1 1 140px;border:1px solid var(--line);border-radius:8px;padding:10px 14px}
.card b{display:block;font-size:24px}.card span{color:var(--mut)}.charts{display:flex;flex-wrap:wrap;gap:32px;align-items:flex-start}
.legend{list-style:none;padding:0;margin:8px 0 0}.legend li{margin:2px 0}.sw{display:inline-block;width:10px;height:10px;border-radius:2px;margin-right:6px}
table{border-collapse:collapse;width:100%}th,td{text-align:left;padding:6px 8px;border-bottom:1px solid var(--line);vertical-align:top}th{background:#f1f5f9;font-weight:600}
tr[hidden]{display:none}.sev{display:inline-block;padding:1px 8px;border-radius:10px;color:#fff;font-size:12px;font-weight:600}
.sev-critical{background:var(--crit)}.sev-high{background:var(--high)}.sev-medium{background:var(--med)}.sev-low{background:var(--low)}.sev-info{background:var(--info)}
.supp{color:var(--mut);font-size:12px}.filters{display:flex;flex-wrap:wrap;gap:10px;align-items:center;margin-bottom:10px}
.filters select,.filters input[type=search]{padding:4px 6px;border:1px solid #cbd5e1;border-radius:4px}.count{color:var(--mut)}
details summary{cursor:pointer}details pre{background:#f1f5f9;padding:8px;border-radius:4px;overflow:auto;max-width:900px;white-space:pre-wrap;word-break:break-word}
.err{color:var(--high)}code{font-size:12px}
"#;

const JS: &str = r#"
(function () {
  var byId = function (id) { return document.getElementById(id); };
  var rows = Array.prototype.slice.call(document.querySelectorAll('#findings tbody tr'));
  function apply() {
    var sev = byId('f-sev').value, env = byId('f-env').value, rule = byId('f-rule').value;
    var text = byId('f-q').value.toLowerCase(), hideSupp = byId('f-supp').checked, shown = 0;
    rows.forEach(function (tr) {
      var ok = (!sev || tr.getAttribute('data-sev') === sev) &&
        (!env || tr.getAttribute('data-env') === env) &&
        (!rule || tr.getAttribute('data-rule') === rule) &&
        (!hideSupp || tr.getAttribute('data-supp') !== '1') &&
        (!text || tr.textContent.toLowerCase().indexOf(text) >= 0);
      tr.hidden = !ok;
      if (ok) { shown++; }
    });
    byId('f-count').textContent = shown + ' of ' + rows.length + ' findings shown';
  }
  ['f-sev', 'f-env', 'f-rule', 'f-supp'].forEach(function (id) { byId(id).addEventListener('change', apply); });
  byId('f-q').addEventListener('input', apply);
  apply();
})();
"#;

fn sev_color(s: Severity) -> &'static str {
    match s {
        Severity::Critical => "#7f1d1d",
        Severity::High => "#dc2626",
        Severity::Medium => "#d97706",
        Severity::Low => "#2563eb",
        Severity::Info => "#6b7280",
    }
}

/// A donut of unsuppressed findings per severity (circumference 100 so dash lengths are percents).
fn donut(report: &ScanReport) -> String {
    let counts: Vec<(Severity, usize)> = Severity::ALL
        .iter()
        .rev()
        .map(|s| {
            (
                *s,
                report
                    .summary
                    .by_severity
                    .get(s.as_str())
                    .copied()
                    .unwrap_or(0),
            )
        })
        .collect();
    let total: usize = counts.iter().map(|(_, n)| n).sum();
    let mut svg = String::from(
        r##"<svg width="180" height="180" viewBox="0 0 42 42" role="img" aria-label="Findings by severity"><circle cx="21" cy="21" r="15.9155" fill="none" stroke="#e2e8f0" stroke-width="6"/>"##,
    );
    let mut offset = 0.0f64;
    if total > 0 {
        for (s, n) in &counts {
            if *n == 0 {
                continue;
            }
            let pct = *n as f64 * 100.0 / total as f64;
            let _ = write!(
                svg,
                r#"<circle cx="21" cy="21" r="15.9155" fill="none" stroke="{}" stroke-width="6" stroke-dasharray="{:.3} {:.3}" stroke-dashoffset="{:.3}"><title>{}: {}</title></circle>"#,
                sev_color(*s),
                pct,
                100.0 - pct,
                25.0 - offset,
                s,
                n
            );
            offset += pct;
        }
    }
    let _ = write!(
        svg,
        r#"<text x="21" y="22.5" text-anchor="middle" font-size="7" font-weight="600">{total}</text><text x="21" y="28" text-anchor="middle" font-size="3">findings</text></svg>"#
    );
    let mut legend = String::from(r#"<ul class="legend">"#);
    for (s, n) in &counts {
        let _ = write!(
            legend,
            r#"<li><span class="sw" style="background:{}"></span>{s}: {n}</li>"#,
            sev_color(*s)
        );
    }
    legend.push_str("</ul>");
    format!("<div><h3>Findings by severity</h3>{svg}{legend}</div>")
}

/// Horizontal bars of the posture score per area.
fn bars(scores: &[AreaScore]) -> String {
    let (label_w, bar_w, row_h) = (230, 300, 24);
    let height = scores.len() * row_h + 4;
    let mut svg = format!(
        r#"<svg width="{}" height="{height}" role="img" aria-label="Posture score per area">"#,
        label_w + bar_w + 60
    );
    for (i, a) in scores.iter().enumerate() {
        let y = i * row_h + 2;
        let (w, label, color) = match a.score {
            Some(s) => (
                s as usize * bar_w / 100,
                format!("{s}%"),
                if s >= 80 {
                    "#15803d"
                } else if s >= 50 {
                    "#d97706"
                } else {
                    "#dc2626"
                },
            ),
            None => (0, "n/a".to_string(), "#cbd5e1"),
        };
        let _ = write!(
            svg,
            r##"<g><title>{} {}: {} passing, {} failing, {} errored</title><text x="0" y="{}" font-size="12">{}</text><rect x="{label_w}" y="{y}" width="{bar_w}" height="16" fill="#f1f5f9"/><rect x="{label_w}" y="{y}" width="{w}" height="16" fill="{color}"/><text x="{}" y="{}" font-size="12">{label}</text></g>"##,
            esc(&a.area),
            esc(&a.title),
            a.passing,
            a.failing,
            a.errored,
            y + 13,
            esc(&a.title),
            label_w + bar_w + 6,
            y + 13
        );
    }
    svg.push_str("</svg>");
    format!(
        "<div><h3>Posture score per area</h3>{svg}<p class=\"count\">Share of rules passing, weighted by severity; rules in error count as failing.</p></div>"
    )
}

fn finding_row(out: &mut String, report: &ScanReport, f: &Finding) {
    let env = f.resource.environment_id.as_deref().unwrap_or("-");
    let env_cell = match report.environment_name(env) {
        Some(name) if name != env => format!("{} <code>{}</code>", esc(name), esc(env)),
        _ => format!("<code>{}</code>", esc(env)),
    };
    let supp = if f.suppressed.is_some() { "1" } else { "0" };
    let evidence = serde_json::to_string_pretty(&f.evidence).unwrap_or_default();
    let _ = write!(
        out,
        r#"<tr data-sev="{sev}" data-env="{env}" data-rule="{rule}" data-supp="{supp}"><td><span class="sev sev-{sev}">{sev}</span>"#,
        sev = f.severity.as_str(),
        env = esc(env),
        rule = esc(&f.rule_id),
    );
    if let Some(s) = &f.suppressed {
        let until = s.expires.map(|d| format!(" until {d}")).unwrap_or_default();
        let _ = write!(out, r#"<div class="supp">suppressed{}</div>"#, esc(&until));
    }
    let _ = write!(
        out,
        r#"</td><td><code>{}</code></td><td>{} <b>{}</b><div class="supp">{}</div></td><td>{}</td><td><details><summary>{}</summary><h4>Evidence</h4><pre>{}</pre><h4>Remediation</h4><p>{}</p>"#,
        esc(&f.rule_id),
        f.resource.kind,
        esc(&f.resource.name),
        esc(&f.resource.id),
        env_cell,
        esc(&f.message),
        esc(&evidence),
        esc(&f.remediation.text),
    );
    if let Some(a) = &f.remediation.action_id {
        let _ = write!(out, "<p>Action: <code>{}</code></p>", esc(a));
    }
    if !f.frameworks.is_empty() {
        let _ = write!(out, "<p>Frameworks: {}</p>", esc(&frameworks_text(f)));
    }
    if let Some(s) = &f.suppressed {
        let _ = write!(out, "<p>Suppressed: {}</p>", esc(&s.justification));
    }
    out.push_str("</details></td></tr>\n");
}

fn options(values: &BTreeSet<&str>) -> String {
    values
        .iter()
        .map(|v| format!(r#"<option value="{0}">{0}</option>"#, esc(v)))
        .collect()
}

/// Environment filter options: the id as the value, the display name (and id) as the label.
fn env_options(report: &ScanReport, ids: &BTreeSet<&str>) -> String {
    ids.iter()
        .map(|id| {
            format!(
                r#"<option value="{}">{}</option>"#,
                esc(id),
                esc(&report.environment_label(id))
            )
        })
        .collect()
}

/// Renders the report as one self-contained HTML page.
pub fn html(report: &ScanReport) -> String {
    let s = &report.summary;
    let scores = posture_scores(report);
    let mut out = String::with_capacity(32 * 1024 + report.findings.len() * 1024);
    let title = format!("ppgov report: tenant {}", report.tenant_id);
    let _ = write!(
        out,
        r#"<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'; img-src data:">
<title>{}</title>
<style>{CSS}</style>
</head>
<body>
<header><h1>ppgov posture report</h1><p>Tenant <code>{}</code> · snapshot <code>{}</code> · taken {}</p></header>
<main>
"#,
        esc(&title),
        esc(&report.tenant_id),
        esc(&report.snapshot_id),
        esc(&time_text(report.snapshot_time)),
    );
    let _ = write!(
        out,
        r#"<section><h2>Summary</h2><div class="cards"><div class="card"><b>{}</b><span>findings</span></div><div class="card"><b>{}</b><span>suppressed</span></div><div class="card"><b>{} / {}</b><span>rules passed</span></div><div class="card"><b>{}</b><span>rules in error</span></div></div></section>"#,
        s.total, s.suppressed, s.rules_passed, s.rules_evaluated, s.rules_errored
    );
    out.push('\n');
    if s.rules_errored > 0 {
        let _ = writeln!(
            out,
            r#"<section class="incomplete" role="alert"><h2 class="err">Incomplete scan</h2><p>{} rule(s) could not be evaluated: {}. This report cannot vouch for what they check; an error is never a pass.</p></section>"#,
            s.rules_errored,
            esc(&s.errored_rules.join(", "))
        );
    }
    let _ = writeln!(
        out,
        r#"<section><h2>Posture</h2><div class="charts">{}{}</div></section>"#,
        bars(&scores),
        donut(report)
    );

    let errors: Vec<_> = report
        .rules
        .iter()
        .filter(|r| matches!(r.status, RuleStatus::Error { .. }))
        .collect();
    if !errors.is_empty() {
        out.push_str(r#"<section><h2 class="err">Rules that could not be evaluated</h2><ul>"#);
        for r in errors {
            let _ = write!(
                out,
                "<li><code>{}</code> {}: {}</li>",
                esc(&r.rule_id),
                esc(&r.title),
                esc(status_detail(&r.status).unwrap_or(""))
            );
        }
        out.push_str("</ul><p class=\"count\">An error is never a pass: fix collection and scan again.</p></section>\n");
    }

    let envs: BTreeSet<&str> = report
        .findings
        .iter()
        .map(|f| f.resource.environment_id.as_deref().unwrap_or("-"))
        .collect();
    let rules: BTreeSet<&str> = report.findings.iter().map(|f| f.rule_id.as_str()).collect();
    let sevs: String = Severity::ALL
        .iter()
        .rev()
        .map(|s| format!(r#"<option value="{0}">{0}</option>"#, s.as_str()))
        .collect();
    let _ = write!(
        out,
        r#"<section><h2>Findings</h2>
<div class="filters"><label>Severity <select id="f-sev"><option value="">all</option>{sevs}</select></label>
<label>Environment <select id="f-env"><option value="">all</option>{}</select></label>
<label>Rule <select id="f-rule"><option value="">all</option>{}</select></label>
<label>Search <input id="f-q" type="search" placeholder="text in any column"></label>
<label><input id="f-supp" type="checkbox"> hide suppressed</label>
<span id="f-count" class="count">{n} of {n} findings shown</span></div>
<table id="findings"><thead><tr><th>Severity</th><th>Rule</th><th>Resource</th><th>Environment</th><th>Finding (click for evidence and remediation)</th></tr></thead>
<tbody>
"#,
        env_options(report, &envs),
        options(&rules),
        n = report.findings.len(),
    );
    for f in &report.findings {
        finding_row(&mut out, report, f);
    }
    out.push_str("</tbody></table></section>\n");

    out.push_str(r#"<section><h2>Rules</h2><table id="rules"><thead><tr><th>Rule</th><th>Title</th><th>Severity</th><th>Status</th><th>Findings</th></tr></thead><tbody>"#);
    for r in &report.rules {
        let status = match status_detail(&r.status) {
            Some(d) => format!("{}: {}", status_word(&r.status), esc(d)),
            None => status_word(&r.status).to_string(),
        };
        let _ = write!(
            out,
            r#"<tr><td><code>{}</code></td><td>{}</td><td><span class="sev sev-{sev}">{sev}</span></td><td>{status}</td><td>{}</td></tr>"#,
            esc(&r.rule_id),
            esc(&r.title),
            r.finding_count,
            sev = r.severity.as_str()
        );
    }
    out.push_str("</tbody></table></section>\n</main>\n");
    let _ = write!(out, "<script>{JS}</script>\n</body>\n</html>\n");
    out
}
