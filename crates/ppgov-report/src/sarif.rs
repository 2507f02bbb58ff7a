//! SARIF 2.1.0: one run, one rule per ppgov rule, one result per finding.

use crate::ReportError;
use crate::text::resource_fqn;
use ppgov_core::{ScanReport, Severity};
use serde_json::{Value, json};
use std::collections::BTreeMap;

/// SARIF level of a severity: error for high and critical, warning for medium, note below.
fn level(s: Severity) -> &'static str {
    match s {
        Severity::Critical | Severity::High => "error",
        Severity::Medium => "warning",
        Severity::Low | Severity::Info => "note",
    }
}

/// Renders the report as a SARIF 2.1.0 log.
pub fn sarif(report: &ScanReport) -> Result<String, ReportError> {
    // Rules: every rule result, plus any rule that only appears in findings; sorted by id.
    let mut rules: BTreeMap<&str, (String, Severity)> = BTreeMap::new();
    for r in &report.rules {
        rules.insert(&r.rule_id, (r.title.clone(), r.severity));
    }
    for f in &report.findings {
        rules
            .entry(&f.rule_id)
            .or_insert_with(|| (f.rule_id.clone(), f.severity));
    }
    let index: BTreeMap<&str, usize> = rules.keys().enumerate().map(|(i, k)| (*k, i)).collect();
    let rules_json: Vec<Value> = rules
        .iter()
        .map(|(id, (title, sev))| {
            json!({
                "id": id,
                "shortDescription": { "text": title },
                "defaultConfiguration": { "level": level(*sev) },
                "properties": { "severity": sev.as_str() },
            })
        })
        .collect();
    let results: Vec<Value> = report
        .findings
        .iter()
        .map(|f| {
            let fqn = resource_fqn(f);
            let mut r = json!({
                "ruleId": f.rule_id,
                "ruleIndex": index.get(f.rule_id.as_str()).copied().unwrap_or(0),
                "level": level(f.severity),
                "message": { "text": f.message },
                "locations": [{
                    "logicalLocations": [{
                        "name": f.resource.name,
                        "fullyQualifiedName": fqn,
                        "kind": f.resource.kind.as_str(),
                    }]
                }],
                "partialFingerprints": { "ppgovFindingKey/v1": format!("{}|{}", f.rule_id, fqn) },
                "properties": {
                    "severity": f.severity.as_str(),
                    "environmentId": f.resource.environment_id,
                    "evidence": f.evidence,
                    "remediation": f.remediation.text,
                    "actionId": f.remediation.action_id,
                    "frameworks": f.frameworks.iter().map(|r| format!("{}:{}", r.framework, r.control)).collect::<Vec<_>>(),
                },
            });
            if let (Some(s), Some(obj)) = (&f.suppressed, r.as_object_mut()) {
                obj.insert("suppressions".into(), json!([{ "kind": "external", "justification": s.justification }]));
            }
            r
        })
        .collect();
    let errors: Vec<Value> = report
        .rules
        .iter()
        .filter_map(|r| match &r.status {
            ppgov_core::RuleStatus::Error { message } => Some(json!({
                "level": "error",
                "message": { "text": format!("{} could not be evaluated: {message}", r.rule_id) },
                "descriptor": { "id": r.rule_id, "index": index.get(r.rule_id.as_str()).copied().unwrap_or(0) },
            })),
            _ => None,
        })
        .collect();
    let doc = json!({
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "version": "2.1.0",
        "runs": [{
            "tool": { "driver": {
                "name": "ppgov",
                "informationUri": "https://github.com/ppgov/ppgov",
                "version": env!("CARGO_PKG_VERSION"),
                "rules": rules_json,
            }},
            "invocations": [{
                "executionSuccessful": errors.is_empty(),
                "toolExecutionNotifications": errors,
            }],
            "properties": { "tenantId": report.tenant_id, "snapshotId": report.snapshot_id },
            "results": results,
        }],
    });
    let mut s = serde_json::to_string_pretty(&doc).map_err(|source| ReportError::Json {
        what: "sarif log",
        source,
    })?;
    s.push('\n');
    Ok(s)
}
