//! OCSF Detection Finding (class 2004) records, one JSON object per line.

use crate::ReportError;
use crate::text::resource_fqn;
use ppgov_core::{ScanReport, Severity};
use serde_json::json;
use std::collections::BTreeMap;

/// The OCSF schema version these records follow.
const OCSF_VERSION: &str = "1.3.0";

fn severity(s: Severity) -> (u8, &'static str) {
    match s {
        Severity::Info => (1, "Informational"),
        Severity::Low => (2, "Low"),
        Severity::Medium => (3, "Medium"),
        Severity::High => (4, "High"),
        Severity::Critical => (5, "Critical"),
    }
}

/// Renders every finding as an OCSF Detection Finding, JSON Lines. Suppressed findings have
/// status `Suppressed`; the rest `New`.
pub fn ocsf(report: &ScanReport) -> Result<String, ReportError> {
    let time = report.snapshot_time.timestamp_millis();
    let titles: BTreeMap<&str, &str> = report
        .rules
        .iter()
        .map(|r| (r.rule_id.as_str(), r.title.as_str()))
        .collect();
    let mut out = String::new();
    for f in &report.findings {
        let (severity_id, severity_name) = severity(f.severity);
        let (status_id, status) = if f.suppressed.is_some() {
            (3, "Suppressed")
        } else {
            (1, "New")
        };
        let title = titles
            .get(f.rule_id.as_str())
            .copied()
            .unwrap_or(&f.message);
        let area = crate::posture::rule_area(&f.rule_id).unwrap_or("other");
        let mut resource = json!({ "uid": f.resource.id, "name": f.resource.name, "type": f.resource.kind.as_str() });
        if let (Some(env), Some(obj)) = (&f.resource.environment_id, resource.as_object_mut()) {
            obj.insert("group".into(), json!({ "uid": env }));
        }
        let rec = json!({
            "activity_id": 1,
            "activity_name": "Create",
            "category_uid": 2,
            "category_name": "Findings",
            "class_uid": 2004,
            "class_name": "Detection Finding",
            "type_uid": 200401,
            "type_name": "Detection Finding: Create",
            "time": time,
            "severity_id": severity_id,
            "severity": severity_name,
            "status_id": status_id,
            "status": status,
            "message": f.message,
            "metadata": {
                "version": OCSF_VERSION,
                "product": { "name": "ppgov", "vendor_name": "ppgov", "version": env!("CARGO_PKG_VERSION") },
                "uid": format!("{}|{}|{}", report.snapshot_id, f.rule_id, resource_fqn(f)),
            },
            "finding_info": {
                "uid": format!("{}|{}", f.rule_id, resource_fqn(f)),
                "title": title,
                "desc": f.message,
                "types": [format!("ppgov/{area}"), f.rule_id],
                "analytic": { "uid": f.rule_id, "name": title, "type_id": 1, "type": "Rule" },
            },
            "cloud": { "provider": "Microsoft", "account": { "uid": report.tenant_id, "type": "Azure AD Account" } },
            "resources": [resource],
            "remediation": { "desc": f.remediation.text },
            "unmapped": {
                "evidence": f.evidence,
                "environment_id": f.resource.environment_id,
                "action_id": f.remediation.action_id,
                "frameworks": f.frameworks.iter().map(|r| format!("{}:{}", r.framework, r.control)).collect::<Vec<_>>(),
                "snapshot_id": report.snapshot_id,
                "suppression": f.suppressed.as_ref().map(|s| json!({ "justification": s.justification, "expires": s.expires.map(|d| d.to_string()) })),
            },
        });
        out.push_str(
            &serde_json::to_string(&rec).map_err(|source| ReportError::Json {
                what: "ocsf record",
                source,
            })?,
        );
        out.push('\n');
    }
    Ok(out)
}
