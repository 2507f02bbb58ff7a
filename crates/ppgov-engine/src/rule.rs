//! What a rule is: its metadata, its output, and the finding builder every rule uses.

use crate::context::Context;
use ppgov_core::{Finding, Remediation, ResourceKind, ResourceRef, RuleStatus, Severity};
use serde::Serialize;

/// Static description of a rule, used for findings, listings and docs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct RuleMeta {
    /// Stable id, e.g. `PPG-FLW-001`.
    pub id: &'static str,
    /// Area: tenant, default_env, routing, environment, dlp, flow, app, connection, admin.
    pub area: &'static str,
    /// One-line title.
    pub title: &'static str,
    /// Severity of its findings.
    pub severity: Severity,
    /// Kind of resource its findings point at.
    pub resource_kind: ResourceKind,
    /// What to do about a finding.
    pub remediation: &'static str,
    /// The catalogue action that fixes it, where one exists.
    pub action_id: Option<&'static str>,
}

/// The outcome of evaluating one rule: findings plus a status. A rule that could evaluate only
/// part of its inputs keeps the findings it has and reports `Error` naming what was missing.
#[derive(Debug, Clone, PartialEq)]
pub struct RuleOutput {
    /// Evaluated, error or not applicable.
    pub status: RuleStatus,
    /// Findings (frameworks and suppressions are filled later by the scan).
    pub findings: Vec<Finding>,
}

impl RuleOutput {
    /// Evaluated with these findings.
    pub fn ok(findings: Vec<Finding>) -> Self {
        RuleOutput {
            status: RuleStatus::Evaluated,
            findings,
        }
    }

    /// Could not evaluate at all.
    pub fn error(message: impl Into<String>) -> Self {
        RuleOutput {
            status: RuleStatus::Error {
                message: message.into(),
            },
            findings: vec![],
        }
    }

    /// Not applicable under this configuration.
    pub fn not_applicable(reason: impl Into<String>) -> Self {
        RuleOutput {
            status: RuleStatus::NotApplicable {
                reason: reason.into(),
            },
            findings: vec![],
        }
    }

    /// Findings for what could be evaluated, and an error naming what could not (when anything).
    pub fn partial(findings: Vec<Finding>, missing: &[String]) -> Self {
        if missing.is_empty() {
            return RuleOutput::ok(findings);
        }
        RuleOutput {
            status: RuleStatus::Error {
                message: format!("not collected: {}", missing.join(", ")),
            },
            findings,
        }
    }
}

/// A registered rule: metadata plus its evaluation function.
#[derive(Debug, Clone, Copy)]
pub struct Rule {
    /// Metadata.
    pub meta: RuleMeta,
    /// Evaluates the rule on a prepared context.
    pub evaluate: fn(&Context) -> RuleOutput,
    /// The rule's source file; its module doc comment is the rule's documentation.
    pub source: &'static str,
}

impl RuleMeta {
    /// Builds a finding of this rule on a resource.
    pub fn finding(
        &self,
        resource: ResourceRef,
        message: String,
        evidence: serde_json::Value,
    ) -> Finding {
        Finding {
            rule_id: self.id.to_string(),
            severity: self.severity,
            resource,
            message,
            evidence,
            remediation: Remediation {
                text: self.remediation.to_string(),
                action_id: self.action_id.map(str::to_string),
            },
            frameworks: vec![],
            suppressed: None,
        }
    }
}
