//! The scan: every selected rule (and custom Rego policy) on a snapshot, suppressions applied,
//! frameworks filled, sorted and summarised.

use crate::compliance::{Framework, FrameworkIndex, builtin_frameworks};
use crate::context::Context;
use crate::registry::RULES;
use crate::rego::CustomPolicy;
use crate::rule::RuleMeta;
use chrono::NaiveDate;
use ppgov_config::{PostureConfig, Suppression};
use ppgov_core::{
    Finding, ResourceKind, RuleResult, RuleStatus, ScanReport, ScanSummary, Severity, Snapshot,
    Suppressed,
};
use std::collections::{BTreeMap, BTreeSet};

/// What to run and with which extra inputs.
#[derive(Debug, Clone, Default)]
pub struct ScanOptions {
    /// Rules to run: ids (`PPG-FLW-001`), id prefixes (`PPG-FLW`) or areas (`flow`); empty runs all.
    pub rules: Vec<String>,
    /// Rules to skip, in the same forms.
    pub exclude: Vec<String>,
    /// Custom Rego policies to run after the built-in rules.
    pub custom_policies: Vec<CustomPolicy>,
    /// Frameworks to map findings to; `None` uses the built-in data files.
    pub frameworks: Option<Vec<Framework>>,
    /// The day suppressions are judged on; `None` uses the snapshot's day.
    pub today: Option<NaiveDate>,
}

fn selected(meta_id: &str, area: &str, filters: &[String]) -> bool {
    filters.iter().any(|f| {
        let f = f.trim();
        meta_id.eq_ignore_ascii_case(f)
            || area.eq_ignore_ascii_case(f)
            || meta_id
                .to_ascii_uppercase()
                .starts_with(&f.to_ascii_uppercase())
    })
}

/// Metadata of every built-in rule, in catalogue order (for listings and docs).
pub fn rule_catalog() -> Vec<RuleMeta> {
    RULES.iter().map(|r| r.meta).collect()
}

/// Runs the scan. Never fails: rules that cannot evaluate report error results.
pub fn scan(snapshot: &Snapshot, config: &PostureConfig, options: &ScanOptions) -> ScanReport {
    let ctx = Context::new(snapshot, config);
    let mut results = vec![];
    let mut findings: Vec<Finding> = vec![];
    for rule in RULES {
        let m = &rule.meta;
        if (!options.rules.is_empty() && !selected(m.id, m.area, &options.rules))
            || selected(m.id, m.area, &options.exclude)
        {
            continue;
        }
        let out = (rule.evaluate)(&ctx);
        results.push(RuleResult {
            rule_id: m.id.to_string(),
            title: m.title.to_string(),
            severity: m.severity,
            status: out.status,
            finding_count: out.findings.len(),
        });
        findings.extend(out.findings);
    }
    if !options.custom_policies.is_empty() {
        for custom in crate::rego::evaluate_policies(snapshot, config, &options.custom_policies) {
            if (!options.rules.is_empty() && !selected(&custom.id, "custom", &options.rules))
                || selected(&custom.id, "custom", &options.exclude)
            {
                continue;
            }
            results.push(RuleResult {
                rule_id: custom.id.clone(),
                title: custom.title.clone(),
                severity: custom.severity,
                status: custom.output.status.clone(),
                finding_count: custom.output.findings.len(),
            });
            findings.extend(custom.output.findings);
        }
    }
    let frameworks = match &options.frameworks {
        Some(f) => f.clone(),
        None => builtin_frameworks().unwrap_or_default(),
    };
    let index = FrameworkIndex::new(&frameworks);
    let today = options
        .today
        .unwrap_or_else(|| snapshot.taken_at.date_naive());
    crate::observed::attach(snapshot, &mut findings);
    for f in &mut findings {
        f.frameworks = index.refs(&f.rule_id);
        apply_suppressions(f, &config.suppressions, today);
    }
    let mut report = ScanReport {
        schema_version: ScanReport::SCHEMA_VERSION.to_string(),
        tenant_id: snapshot.tenant_id.clone(),
        snapshot_id: snapshot.id.clone(),
        snapshot_time: snapshot.taken_at,
        summary: ScanSummary::default(),
        rules: results,
        findings,
        inventory: inventory(snapshot),
        environment_names: snapshot
            .environments
            .iter()
            .map(|e| (e.id.clone(), e.display_name.clone()))
            .collect(),
    };
    report.finalize();
    report
}

/// The posture a scan of a tenant judges with: its `[posture]` suppressions first, then the
/// suppressions recorded in the console (`(rule id, resource id, justification, expiry)`, e.g.
/// `ppgov_store::StoredSuppression::entry` of the tenant's live rows). The one place both are
/// merged: `ppgov serve`'s scan (and digest) jobs and `ppgov scan` / `ppgov evidence` call it.
pub fn with_stored_suppressions<'a>(
    posture: &PostureConfig,
    stored: impl IntoIterator<Item = (&'a str, &'a str, &'a str, NaiveDate)>,
) -> PostureConfig {
    let mut merged = posture.clone();
    merged.suppressions.extend(stored.into_iter().map(
        |(rule_id, resource, justification, expires)| Suppression {
            rule_id: rule_id.to_string(),
            resource: resource.to_string(),
            justification: justification.to_string(),
            expires: Some(expires),
        },
    ));
    merged
}

/// Marks a finding suppressed by the first live matching suppression; an expired match leaves it
/// unsuppressed and says so in its message and evidence.
pub fn apply_suppressions(f: &mut Finding, suppressions: &[Suppression], today: NaiveDate) {
    let matching: Vec<&Suppression> = suppressions
        .iter()
        .filter(|s| {
            s.rule_id.trim().eq_ignore_ascii_case(&f.rule_id)
                && (s.resource.trim() == "*"
                    || s.resource.trim().eq_ignore_ascii_case(&f.resource.id))
        })
        .collect();
    if let Some(live) = matching
        .iter()
        .find(|s| s.expires.is_none_or(|d| d >= today))
    {
        f.suppressed = Some(Suppressed {
            justification: live.justification.clone(),
            expires: live.expires,
        });
        return;
    }
    if let Some(date) = matching.iter().filter_map(|s| s.expires).max() {
        let note = format!("suppression expired on {date}");
        f.message = format!("{} ({note})", f.message.trim_end());
        if let Some(obj) = f.evidence.as_object_mut() {
            obj.insert(
                "suppression_expired".into(),
                serde_json::Value::String(note),
            );
        } else {
            f.evidence =
                serde_json::json!({ "value": f.evidence.clone(), "suppression_expired": note });
        }
    }
}

/// Resource counts per kind.
pub fn inventory(s: &Snapshot) -> BTreeMap<String, usize> {
    let holders: BTreeSet<(String, String)> = s
        .role_assignments
        .iter()
        .map(|r| {
            (
                r.environment_id.to_ascii_lowercase(),
                r.principal_id.to_ascii_lowercase(),
            )
        })
        .collect();
    [
        (ResourceKind::Environment, s.environments.len()),
        (ResourceKind::App, s.apps.len()),
        (ResourceKind::Flow, s.flows.len()),
        (ResourceKind::Connection, s.connections.len()),
        (ResourceKind::DlpPolicy, s.dlp_policies.len()),
        (ResourceKind::RoleHolder, holders.len()),
        (ResourceKind::Principal, s.principals.len()),
    ]
    .into_iter()
    .map(|(k, n)| (k.as_str().to_string(), n))
    .collect()
}

/// Parses a severity name, defaulting to medium (used for custom policies' metadata).
pub(crate) fn severity_or_medium(s: Option<&str>) -> Severity {
    s.and_then(|s| s.parse().ok()).unwrap_or(Severity::Medium)
}

/// True when a result counts as evaluated (for callers that summarise).
pub fn is_evaluated(r: &RuleResult) -> bool {
    r.status == RuleStatus::Evaluated
}
