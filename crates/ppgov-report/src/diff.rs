//! What changed between two scans: findings new, resolved and unchanged.

use crate::ReportError;
use crate::json::finding_out;
use crate::text::time_text;
use ppgov_core::{Finding, ResourceKind, ScanReport};
use serde::Serialize;
use std::collections::BTreeMap;

/// Findings of two scans compared by (rule id, resource kind, resource id).
#[derive(Debug, Clone, PartialEq)]
pub struct DiffReport {
    /// Tenant of the current scan.
    pub tenant_id: String,
    /// Snapshot id of the previous scan.
    pub previous_snapshot: String,
    /// Snapshot id of the current scan.
    pub current_snapshot: String,
    /// Time of the current snapshot.
    pub current_time: chrono::DateTime<chrono::Utc>,
    /// In the current scan only (as the current scan reports them).
    pub new: Vec<Finding>,
    /// In the previous scan only (as the previous scan reported them).
    pub resolved: Vec<Finding>,
    /// In both (as the current scan reports them).
    pub unchanged: Vec<Finding>,
}

type Key<'a> = (&'a str, ResourceKind, &'a str);

fn key(f: &Finding) -> Key<'_> {
    (&f.rule_id, f.resource.kind, &f.resource.id)
}

fn sorted(mut v: Vec<Finding>) -> Vec<Finding> {
    v.sort_by(|a, b| a.sort_key().cmp(&b.sort_key()));
    v
}

/// Compares two scans. Each list is sorted like a report's findings.
pub fn diff(previous: &ScanReport, current: &ScanReport) -> DiffReport {
    let prev: BTreeMap<Key<'_>, &Finding> = previous.findings.iter().map(|f| (key(f), f)).collect();
    let cur: BTreeMap<Key<'_>, &Finding> = current.findings.iter().map(|f| (key(f), f)).collect();
    let new = cur
        .iter()
        .filter(|(k, _)| !prev.contains_key(*k))
        .map(|(_, f)| (*f).clone())
        .collect();
    let unchanged = cur
        .iter()
        .filter(|(k, _)| prev.contains_key(*k))
        .map(|(_, f)| (*f).clone())
        .collect();
    let resolved = prev
        .iter()
        .filter(|(k, _)| !cur.contains_key(*k))
        .map(|(_, f)| (*f).clone())
        .collect();
    DiffReport {
        tenant_id: current.tenant_id.clone(),
        previous_snapshot: previous.snapshot_id.clone(),
        current_snapshot: current.snapshot_id.clone(),
        current_time: current.snapshot_time,
        new: sorted(new),
        resolved: sorted(resolved),
        unchanged: sorted(unchanged),
    }
}

/// The diff as a text table: one line per new or resolved finding, then counts.
pub fn diff_table(d: &DiffReport) -> String {
    let mut out = format!(
        "ppgov diff of tenant {}: snapshot {} -> {} ({})\n\n",
        d.tenant_id,
        d.previous_snapshot,
        d.current_snapshot,
        time_text(d.current_time)
    );
    let rows: Vec<[String; 4]> = d
        .new
        .iter()
        .map(|f| ("+ new", f))
        .chain(d.resolved.iter().map(|f| ("- resolved", f)))
        .map(|(what, f)| {
            [
                what.to_string(),
                f.severity.to_string(),
                f.rule_id.clone(),
                crate::table::one_line(&format!("{} {}", f.resource.kind, f.resource.name)),
            ]
        })
        .collect();
    if rows.is_empty() {
        out.push_str("No change.\n");
    } else {
        let mut w = [0usize; 4];
        for r in &rows {
            for (w, c) in w.iter_mut().zip(r) {
                *w = (*w).max(c.chars().count());
            }
        }
        for r in &rows {
            let mut l = r
                .iter()
                .zip(w)
                .map(|(c, w)| format!("{c:<w$}"))
                .collect::<Vec<_>>()
                .join("  ");
            l.truncate(l.trim_end().len());
            out.push_str(&l);
            out.push('\n');
        }
    }
    out.push_str(&format!(
        "\n{} new, {} resolved, {} unchanged.\n",
        d.new.len(),
        d.resolved.len(),
        d.unchanged.len()
    ));
    out
}

#[derive(Serialize)]
struct DiffDoc<'a> {
    schema_version: &'static str,
    tenant_id: &'a str,
    previous_snapshot: &'a str,
    current_snapshot: &'a str,
    summary: BTreeMap<&'static str, usize>,
    new: Vec<crate::json::FindingOut<'a>>,
    resolved: Vec<crate::json::FindingOut<'a>>,
    unchanged: Vec<crate::json::FindingOut<'a>>,
}

/// The diff as JSON: the findings in the same shape as the scan JSON contract.
pub fn diff_json(d: &DiffReport) -> Result<String, ReportError> {
    let doc = DiffDoc {
        schema_version: crate::JSON_SCHEMA_VERSION,
        tenant_id: &d.tenant_id,
        previous_snapshot: &d.previous_snapshot,
        current_snapshot: &d.current_snapshot,
        summary: BTreeMap::from([
            ("new", d.new.len()),
            ("resolved", d.resolved.len()),
            ("unchanged", d.unchanged.len()),
        ]),
        new: d.new.iter().map(finding_out).collect(),
        resolved: d.resolved.iter().map(finding_out).collect(),
        unchanged: d.unchanged.iter().map(finding_out).collect(),
    };
    let mut s = serde_json::to_string_pretty(&doc).map_err(|source| ReportError::Json {
        what: "diff",
        source,
    })?;
    s.push('\n');
    Ok(s)
}
