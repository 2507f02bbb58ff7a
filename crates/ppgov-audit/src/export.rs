//! SIEM exports of stored events: NDJSON (the raw record with ppgov's normalised fields), CSV,
//! CEF (ArcSight Common Event Format, one line per event) and OCSF (API Activity, class 6003).

use crate::AuditError;
use ppgov_store::{AlertRow, EventRow};
use serde_json::{Value, json};
use std::io::Write;

/// Export formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExportFormat {
    /// One JSON object per line.
    Ndjson,
    /// CSV with a header.
    Csv,
    /// CEF lines.
    Cef,
    /// OCSF JSON lines.
    Ocsf,
}

fn iso(ms: i64) -> String {
    chrono::DateTime::from_timestamp_millis(ms)
        .unwrap_or_default()
        .to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

fn normalised(e: &EventRow) -> Value {
    json!({
        "id": e.id, "time": iso(e.time_ms), "record_type": e.record_type, "operation": e.operation,
        "workload": e.workload, "actor": e.actor, "environment_id": e.environment_id,
        "resource_kind": e.resource_kind, "resource_id": e.resource_id, "client_ip": e.client_ip,
        "risk": e.risk,
    })
}

/// Escapes a CEF header field (`|` and `\`).
fn cef_header(s: &str) -> String {
    s.replace('\\', "\\\\")
        .replace('|', "\\|")
        .replace(['\r', '\n'], " ")
}

/// Escapes a CEF extension value (`=`, `\`, newlines).
fn cef_value(s: &str) -> String {
    s.replace('\\', "\\\\")
        .replace('=', "\\=")
        .replace('\r', "\\r")
        .replace('\n', "\\n")
}

/// CEF severity 0..10 of a risk level.
fn cef_severity(risk: &str) -> u8 {
    match risk {
        "high" => 8,
        "medium" => 5,
        _ => 3,
    }
}

/// One event as a CEF line (no syslog header).
pub fn cef_line(e: &EventRow) -> String {
    let version = env!("CARGO_PKG_VERSION");
    let mut ext = format!(
        "rt={} suser={} src={} act={} cs1Label=environmentId cs1={} cs2Label=resourceKind cs2={} cs3Label=resourceId cs3={} externalId={} cn1Label=recordType cn1={}",
        e.time_ms,
        cef_value(&e.actor),
        cef_value(&e.client_ip),
        cef_value(&e.operation),
        cef_value(&e.environment_id),
        cef_value(&e.resource_kind),
        cef_value(&e.resource_id),
        cef_value(&e.id),
        e.record_type
    );
    if e.client_ip.is_empty() {
        ext = ext.replace("src= ", "");
    }
    format!(
        "CEF:0|ppgov|ppgov|{version}|{}|{}|{}|{ext}",
        cef_header(&e.operation),
        cef_header(&format!("{} {}", e.workload, e.operation)),
        cef_severity(&e.risk)
    )
}

/// One event as an OCSF API Activity (6003) object.
pub fn ocsf(e: &EventRow) -> Value {
    let raw: Value = serde_json::from_str(&e.raw).unwrap_or(Value::Null);
    json!({
        "class_uid": 6003, "class_name": "API Activity", "category_uid": 6, "category_name": "Application Activity",
        "activity_id": 99, "activity_name": e.operation, "type_uid": 600399,
        "time": e.time_ms, "severity_id": match e.risk.as_str() { "high" => 4, "medium" => 3, _ => 2 },
        "metadata": {"version": "1.1.0", "uid": e.id, "product": {"name": "ppgov", "vendor_name": "ppgov"}, "original_time": iso(e.time_ms)},
        "actor": {"user": {"email_addr": e.actor, "name": e.actor}},
        "api": {"operation": e.operation, "service": {"name": e.workload}},
        "src_endpoint": {"ip": Some(&e.client_ip).filter(|i| !i.is_empty())},
        "resources": [{"type": e.resource_kind, "uid": e.resource_id}],
        "cloud": {"provider": "Microsoft", "region": Value::Null},
        "unmapped": {"environment_id": e.environment_id, "record_type": e.record_type, "risk": e.risk},
        "raw_data": raw.to_string(),
    })
}

/// Writes events in a format.
pub fn write_events(
    w: &mut dyn Write,
    events: &[EventRow],
    format: ExportFormat,
) -> Result<(), AuditError> {
    let err = |e: std::io::Error| AuditError::Output(e.to_string());
    match format {
        ExportFormat::Ndjson => {
            for e in events {
                let raw: Value = serde_json::from_str(&e.raw).unwrap_or(Value::Null);
                let mut v = normalised(e);
                if let Some(o) = v.as_object_mut() {
                    o.insert("raw".into(), raw);
                }
                writeln!(w, "{v}").map_err(err)?;
            }
        }
        ExportFormat::Csv => {
            let mut c = csv::Writer::from_writer(w);
            c.write_record([
                "id",
                "time",
                "record_type",
                "operation",
                "workload",
                "actor",
                "environment_id",
                "resource_kind",
                "resource_id",
                "client_ip",
                "risk",
                "AuditData",
            ])
            .map_err(|e| AuditError::Output(e.to_string()))?;
            for e in events {
                c.write_record([
                    e.id.as_str(),
                    &iso(e.time_ms),
                    &e.record_type.to_string(),
                    &e.operation,
                    &e.workload,
                    &e.actor,
                    &e.environment_id,
                    &e.resource_kind,
                    &e.resource_id,
                    &e.client_ip,
                    &e.risk,
                    &e.raw,
                ])
                .map_err(|e| AuditError::Output(e.to_string()))?;
            }
            c.flush().map_err(err)?;
        }
        ExportFormat::Cef => {
            for e in events {
                writeln!(w, "{}", cef_line(e)).map_err(err)?;
            }
        }
        ExportFormat::Ocsf => {
            for e in events {
                writeln!(w, "{}", ocsf(e)).map_err(err)?;
            }
        }
    }
    Ok(())
}

/// The alerts as the issue's JSON: `{"alerts": [{detection_id, severity, actor, environment_id,
/// first_seen, last_seen, event_ids}]}`.
pub fn alerts_json(alerts: &[AlertRow]) -> Value {
    let items: Vec<Value> = alerts
        .iter()
        .map(|a| {
            json!({
                "detection_id": a.detection_id, "severity": a.severity, "actor": a.actor,
                "environment_id": a.environment_id, "first_seen": iso(a.first_seen),
                "last_seen": iso(a.last_seen), "event_ids": a.event_ids, "reason": a.reason,
            })
        })
        .collect();
    json!({ "alerts": items })
}

/// The alerts as OCSF Detection Finding (2004) objects.
pub fn alerts_ocsf(alerts: &[AlertRow]) -> Vec<Value> {
    let meta: std::collections::BTreeMap<&str, &crate::detect::Meta> = crate::detect::catalogue()
        .into_iter()
        .map(|m| (m.id, m))
        .collect();
    alerts
        .iter()
        .map(|a| {
            let m = meta.get(a.detection_id.as_str());
            json!({
                "class_uid": 2004, "class_name": "Detection Finding", "category_uid": 2, "activity_id": 1,
                "type_uid": 200401, "time": a.last_seen,
                "severity_id": match a.severity.as_str() { "high" => 4, "medium" => 3, _ => 2 },
                "metadata": {"version": "1.1.0", "uid": a.key, "product": {"name": "ppgov", "vendor_name": "ppgov"}},
                "finding_info": {"uid": a.key, "title": m.map(|m| m.title), "desc": a.reason,
                    "first_seen_time": a.first_seen, "last_seen_time": a.last_seen,
                    "attacks": m.map(|m| vec![json!({"technique": {"uid": m.mitre.split(' ').next(), "name": m.mitre}})]),
                    "analytic": {"uid": a.detection_id, "type_id": 1}},
                "actor": {"user": {"email_addr": a.actor}},
                "evidences": a.event_ids.iter().map(|i| json!({"data": {"audit_record_id": i}})).collect::<Vec<_>>(),
            })
        })
        .collect()
}

/// The alerts as SARIF 2.1.0.
pub fn alerts_sarif(alerts: &[AlertRow]) -> Value {
    let rules: Vec<Value> = crate::detect::catalogue()
        .into_iter()
        .map(|m| {
            json!({"id": m.id, "name": m.title, "shortDescription": {"text": m.title},
            "properties": {"severity": m.severity, "mitre": m.mitre, "source": m.source}})
        })
        .collect();
    let results: Vec<Value> = alerts
        .iter()
        .map(|a| json!({
            "ruleId": a.detection_id,
            "level": match a.severity.as_str() { "high" => "error", "medium" => "warning", _ => "note" },
            "message": {"text": format!("{}: {} ({} events)", a.actor, a.reason, a.event_ids.len())},
            "locations": [{"logicalLocations": [{"name": a.environment_id.clone().unwrap_or_default(), "kind": "environment"}]}],
            "partialFingerprints": {"incident": a.key},
        }))
        .collect();
    json!({"version": "2.1.0", "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "runs": [{"tool": {"driver": {"name": "ppgov", "rules": rules}}, "results": results}]})
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cef_escapes_separators() {
        let e = EventRow {
            id: "i".into(),
            operation: "Op|x".into(),
            actor: "a=b@c.com".into(),
            risk: "high".into(),
            ..EventRow::default()
        };
        let l = cef_line(&e);
        assert!(l.contains("|Op\\|x|"), "{l}");
        assert!(l.contains("suser=a\\=b@c.com"), "{l}");
        assert!(l.contains("|8|"), "{l}");
    }
}
