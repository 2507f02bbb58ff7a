//! Findings, rule results and the scan report that every renderer takes.

use crate::{ResourceRef, Severity};
use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// A reference to a control in a compliance framework.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct FrameworkRef {
    /// Framework id: `scuba`, `nist-800-53`, `bait`, `sox`, `hipaa`, `gdpr`.
    pub framework: String,
    /// Control id within it, e.g. `MS.POWERPLATFORM.1.1v1` or `AC-6`.
    pub control: String,
}

/// How to fix a finding.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Remediation {
    /// What to do, in words.
    pub text: String,
    /// The ppgov action that fixes it (`PPG-ACT-001`), where one exists.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub action_id: Option<String>,
}

/// A suppression that matched a finding.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Suppressed {
    /// Why the finding is accepted.
    pub justification: String,
    /// Until when.
    pub expires: Option<NaiveDate>,
}

/// One problem found on one resource by one rule.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Finding {
    /// Stable rule id, e.g. `PPG-FLW-001`.
    pub rule_id: String,
    /// How bad.
    pub severity: Severity,
    /// The resource at fault.
    pub resource: ResourceRef,
    /// One sentence naming the resource and the problem.
    pub message: String,
    /// The values that made the rule fail (an object; never a secret).
    pub evidence: serde_json::Value,
    /// How to fix it.
    pub remediation: Remediation,
    /// Framework controls this maps to (filled from the compliance data files).
    #[serde(default)]
    pub frameworks: Vec<FrameworkRef>,
    /// Set when a configured suppression accepts this finding.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub suppressed: Option<Suppressed>,
}

impl Finding {
    /// The sort key that makes every output deterministic: severity (highest first), rule, resource.
    pub fn sort_key(&self) -> (std::cmp::Reverse<Severity>, &str, &ResourceRef) {
        (
            std::cmp::Reverse(self.severity),
            &self.rule_id,
            &self.resource,
        )
    }
}

/// How a rule's evaluation went.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "status")]
pub enum RuleStatus {
    /// Evaluated; passed when it has no findings.
    Evaluated,
    /// Could not be evaluated (inputs not collected, bad configuration); never a pass.
    Error {
        /// Why, in words.
        message: String,
    },
    /// Not applicable with this configuration (e.g. an allow-list rule with no list).
    NotApplicable {
        /// Why.
        reason: String,
    },
}

/// The result of one rule on one snapshot.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RuleResult {
    /// Rule id.
    pub rule_id: String,
    /// Rule title.
    pub title: String,
    /// Default severity of its findings.
    pub severity: Severity,
    /// How the evaluation went.
    #[serde(flatten)]
    pub status: RuleStatus,
    /// How many findings it produced (suppressed included).
    pub finding_count: usize,
}

/// Counts for the summary block of every output.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ScanSummary {
    /// Findings not suppressed, per severity name.
    pub by_severity: BTreeMap<String, usize>,
    /// Findings not suppressed.
    pub total: usize,
    /// Suppressed findings.
    pub suppressed: usize,
    /// Rules evaluated.
    pub rules_evaluated: usize,
    /// Rules that could not be evaluated.
    pub rules_errored: usize,
    /// Rules that passed (evaluated, no unsuppressed finding).
    pub rules_passed: usize,
    /// Ids of the rules that could not be evaluated, sorted: a scan with any is incomplete.
    #[serde(default)]
    pub errored_rules: Vec<String>,
}

/// Everything a renderer needs: what was scanned and what was found.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ScanReport {
    /// Version of the JSON output contract.
    pub schema_version: String,
    /// Tenant id.
    pub tenant_id: String,
    /// Snapshot id.
    pub snapshot_id: String,
    /// When the snapshot was taken.
    pub snapshot_time: DateTime<Utc>,
    /// Summary counts.
    pub summary: ScanSummary,
    /// Per-rule results, sorted by rule id.
    pub rules: Vec<RuleResult>,
    /// Findings, sorted by [`Finding::sort_key`].
    pub findings: Vec<Finding>,
    /// Resource counts per kind in the snapshot, for context.
    pub inventory: BTreeMap<String, usize>,
    /// Environment id -> display name, so outputs name environments the way admins know them.
    #[serde(default)]
    pub environment_names: BTreeMap<String, String>,
}

impl ScanReport {
    /// The current JSON contract version.
    pub const SCHEMA_VERSION: &'static str = "1.1";

    /// Sorts findings and rules and recomputes the summary, so output is deterministic.
    pub fn finalize(&mut self) {
        self.findings
            .sort_by(|a, b| a.sort_key().cmp(&b.sort_key()));
        self.rules.sort_by(|a, b| a.rule_id.cmp(&b.rule_id));
        let mut s = ScanSummary::default();
        for sev in Severity::ALL {
            s.by_severity.insert(sev.as_str().to_string(), 0);
        }
        let mut failing: std::collections::BTreeSet<&str> = Default::default();
        for f in &self.findings {
            if f.suppressed.is_some() {
                s.suppressed += 1;
            } else {
                s.total += 1;
                *s.by_severity
                    .entry(f.severity.as_str().to_string())
                    .or_default() += 1;
                failing.insert(&f.rule_id);
            }
        }
        for r in &self.rules {
            match r.status {
                RuleStatus::Evaluated => {
                    s.rules_evaluated += 1;
                    if !failing.contains(r.rule_id.as_str()) {
                        s.rules_passed += 1;
                    }
                }
                RuleStatus::Error { .. } => {
                    s.rules_errored += 1;
                    s.errored_rules.push(r.rule_id.clone());
                }
                RuleStatus::NotApplicable { .. } => {}
            }
        }
        self.summary = s;
    }

    /// The rules that could not be evaluated, with why, in rule id order.
    pub fn errored(&self) -> Vec<(&str, &str)> {
        self.rules
            .iter()
            .filter_map(|r| match &r.status {
                RuleStatus::Error { message } => Some((r.rule_id.as_str(), message.as_str())),
                _ => None,
            })
            .collect()
    }

    /// The display name of an environment, when the snapshot knew it.
    pub fn environment_name(&self, id: &str) -> Option<&str> {
        self.environment_names
            .get(id)
            .or_else(|| self.environment_names.get(&id.to_ascii_lowercase()))
            .map(String::as_str)
            .filter(|n| !n.is_empty())
    }

    /// An environment as people read it: `Display name (id)`, or the id alone when unknown.
    pub fn environment_label(&self, id: &str) -> String {
        match self.environment_name(id) {
            Some(name) if name != id => format!("{name} ({id})"),
            _ => id.to_string(),
        }
    }

    /// What a gate decides: findings at or above `fail_on` fail it, and so does any rule in
    /// error unless `allow_incomplete` (a scan that could not judge a rule never passes a gate).
    /// Without `fail_on` there is no gate and the verdict is always [`Gate::Pass`].
    pub fn gate(&self, fail_on: Option<Severity>, allow_incomplete: bool) -> Gate {
        let Some(threshold) = fail_on else {
            return Gate::Pass;
        };
        if !allow_incomplete && self.summary.rules_errored > 0 {
            return Gate::Incomplete;
        }
        match self.max_severity() {
            Some(max) if max >= threshold => Gate::Findings,
            _ => Gate::Pass,
        }
    }

    /// Highest unsuppressed severity, for `--fail-on`.
    pub fn max_severity(&self) -> Option<Severity> {
        self.findings
            .iter()
            .filter(|f| f.suppressed.is_none())
            .map(|f| f.severity)
            .max()
    }
}

/// The verdict of `scan --fail-on`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Gate {
    /// Nothing at or above the threshold, and every rule evaluated (or incompleteness allowed).
    Pass,
    /// Unsuppressed findings at or above the threshold.
    Findings,
    /// At least one rule could not be evaluated: the scan cannot vouch for the tenant.
    Incomplete,
}
