//! The JSON output: a versioned contract (documented in `docs/json-output.md`).

use crate::ReportError;
use crate::posture::{AreaScore, posture_scores};
use crate::text::{status_detail, status_word, time_text};
use ppgov_core::{Finding, ScanReport, ScanSummary};
use serde::Serialize;
use std::collections::BTreeMap;

/// The version of the JSON contract this renderer writes. A new key is a minor bump; removing or
/// changing the meaning of a key is a major bump.
pub const JSON_SCHEMA_VERSION: &str = ScanReport::SCHEMA_VERSION;

#[derive(Serialize)]
struct Doc<'a> {
    schema_version: &'static str,
    tenant_id: &'a str,
    snapshot: SnapshotBlock<'a>,
    summary: &'a ScanSummary,
    posture: Vec<AreaScore>,
    findings: Vec<FindingOut<'a>>,
    rules: Vec<RuleOut<'a>>,
    inventory: &'a BTreeMap<String, usize>,
    environment_names: &'a BTreeMap<String, String>,
}

#[derive(Serialize)]
struct SnapshotBlock<'a> {
    id: &'a str,
    time: String,
}

#[derive(Serialize)]
pub(crate) struct FindingOut<'a> {
    rule_id: &'a str,
    severity: &'static str,
    resource: ResourceOut<'a>,
    message: &'a str,
    evidence: &'a serde_json::Value,
    remediation: RemediationOut<'a>,
    frameworks: Vec<FrameworkOut<'a>>,
    suppressed: Option<SuppressedOut<'a>>,
}

#[derive(Serialize)]
struct ResourceOut<'a> {
    kind: &'static str,
    id: &'a str,
    name: &'a str,
    environment_id: Option<&'a str>,
}

#[derive(Serialize)]
struct RemediationOut<'a> {
    text: &'a str,
    action_id: Option<&'a str>,
}

#[derive(Serialize)]
struct FrameworkOut<'a> {
    framework: &'a str,
    control: &'a str,
}

#[derive(Serialize)]
struct SuppressedOut<'a> {
    justification: &'a str,
    expires: Option<String>,
}

#[derive(Serialize)]
struct RuleOut<'a> {
    rule_id: &'a str,
    title: &'a str,
    severity: &'static str,
    status: &'static str,
    detail: Option<&'a str>,
    finding_count: usize,
}

/// The contract shape of one finding (shared with the diff renderer).
pub(crate) fn finding_out(f: &Finding) -> FindingOut<'_> {
    FindingOut {
        rule_id: &f.rule_id,
        severity: f.severity.as_str(),
        resource: ResourceOut {
            kind: f.resource.kind.as_str(),
            id: &f.resource.id,
            name: &f.resource.name,
            environment_id: f.resource.environment_id.as_deref(),
        },
        message: &f.message,
        evidence: &f.evidence,
        remediation: RemediationOut {
            text: &f.remediation.text,
            action_id: f.remediation.action_id.as_deref(),
        },
        frameworks: f
            .frameworks
            .iter()
            .map(|r| FrameworkOut {
                framework: &r.framework,
                control: &r.control,
            })
            .collect(),
        suppressed: f.suppressed.as_ref().map(|s| SuppressedOut {
            justification: &s.justification,
            expires: s.expires.map(|d| d.to_string()),
        }),
    }
}

fn doc(report: &ScanReport) -> Doc<'_> {
    Doc {
        schema_version: JSON_SCHEMA_VERSION,
        tenant_id: &report.tenant_id,
        snapshot: SnapshotBlock {
            id: &report.snapshot_id,
            time: time_text(report.snapshot_time),
        },
        summary: &report.summary,
        posture: posture_scores(report),
        findings: report.findings.iter().map(finding_out).collect(),
        rules: report
            .rules
            .iter()
            .map(|r| RuleOut {
                rule_id: &r.rule_id,
                title: &r.title,
                severity: r.severity.as_str(),
                status: status_word(&r.status),
                detail: status_detail(&r.status),
                finding_count: r.finding_count,
            })
            .collect(),
        inventory: &report.inventory,
        environment_names: &report.environment_names,
    }
}

/// The report as a JSON value in the contract shape.
pub fn json_value(report: &ScanReport) -> Result<serde_json::Value, ReportError> {
    serde_json::to_value(doc(report)).map_err(|source| ReportError::Json {
        what: "scan report",
        source,
    })
}

/// The report as pretty-printed JSON, with a trailing newline.
pub fn json(report: &ScanReport) -> Result<String, ReportError> {
    let mut s = serde_json::to_string_pretty(&doc(report)).map_err(|source| ReportError::Json {
        what: "scan report",
        source,
    })?;
    s.push('\n');
    Ok(s)
}

#[derive(serde::Deserialize)]
struct InDoc {
    schema_version: String,
    tenant_id: String,
    snapshot: InSnapshot,
    #[serde(default)]
    findings: Vec<InFinding>,
    #[serde(default)]
    rules: Vec<InRule>,
    #[serde(default)]
    inventory: BTreeMap<String, usize>,
    #[serde(default)]
    environment_names: BTreeMap<String, String>,
}

#[derive(serde::Deserialize)]
struct InSnapshot {
    id: String,
    time: chrono::DateTime<chrono::Utc>,
}

#[derive(serde::Deserialize)]
struct InFinding {
    rule_id: String,
    severity: ppgov_core::Severity,
    resource: ppgov_core::ResourceRef,
    message: String,
    #[serde(default)]
    evidence: serde_json::Value,
    #[serde(default)]
    remediation: ppgov_core::Remediation,
    #[serde(default)]
    frameworks: Vec<ppgov_core::FrameworkRef>,
    #[serde(default)]
    suppressed: Option<ppgov_core::Suppressed>,
}

#[derive(serde::Deserialize)]
struct InRule {
    rule_id: String,
    title: String,
    severity: ppgov_core::Severity,
    status: String,
    #[serde(default)]
    detail: Option<String>,
    #[serde(default)]
    finding_count: usize,
}

/// Reads a document written by [`json`] back into a [`ScanReport`] (for `scan --diff FILE`).
/// Accepts any 1.x contract version; the summary is recomputed.
pub fn parse_json(text: &str) -> Result<ScanReport, ReportError> {
    let doc: InDoc = serde_json::from_str(text).map_err(ReportError::ParseJson)?;
    if doc.schema_version.split('.').next() != Some("1") {
        return Err(ReportError::UnsupportedSchema(doc.schema_version));
    }
    let rules = doc
        .rules
        .into_iter()
        .map(|r| {
            let detail = r.detail.unwrap_or_default();
            let status = match r.status.as_str() {
                "error" => ppgov_core::RuleStatus::Error { message: detail },
                "not_applicable" => ppgov_core::RuleStatus::NotApplicable { reason: detail },
                _ => ppgov_core::RuleStatus::Evaluated,
            };
            ppgov_core::RuleResult {
                rule_id: r.rule_id,
                title: r.title,
                severity: r.severity,
                status,
                finding_count: r.finding_count,
            }
        })
        .collect();
    let findings = doc
        .findings
        .into_iter()
        .map(|f| Finding {
            rule_id: f.rule_id,
            severity: f.severity,
            resource: f.resource,
            message: f.message,
            evidence: f.evidence,
            remediation: f.remediation,
            frameworks: f.frameworks,
            suppressed: f.suppressed,
        })
        .collect();
    let mut report = ScanReport {
        schema_version: ScanReport::SCHEMA_VERSION.to_string(),
        tenant_id: doc.tenant_id,
        snapshot_id: doc.snapshot.id,
        snapshot_time: doc.snapshot.time,
        summary: ScanSummary::default(),
        rules,
        findings,
        inventory: doc.inventory,
        environment_names: doc.environment_names,
    };
    report.finalize();
    Ok(report)
}
