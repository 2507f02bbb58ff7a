//! The generator checks its own plan against what it serves: every environment-level rule whose
//! condition is one served field must be planted exactly where the served documents make it
//! fire. A mismatch means the ground truth would be wrong quietly (e.g. the default environment
//! drawn without a security group while PPG-DEF-001 is not planted), so it is refused.

use crate::tenant::Tenant;
use serde_json::Value;

fn no_security_group(props: &Value) -> bool {
    let sg = props
        .pointer("/linkedEnvironmentMetadata/securityGroupId")
        .and_then(Value::as_str)
        .unwrap_or("")
        .trim();
    sg.is_empty() || sg.chars().all(|c| c == '0' || c == '-')
}

/// Every disagreement between the plan (ground truth) and the served environment documents.
pub fn check_plan(t: &Tenant) -> Vec<String> {
    let planted = |rule: &str, id: &str| {
        t.ground_truth
            .findings
            .iter()
            .any(|f| f.rule_id == rule && f.resource_id == id)
    };
    let mut out = Vec::new();
    for e in &t.environments {
        let props = &e.doc["properties"];
        let sku = props
            .get("environmentSku")
            .and_then(Value::as_str)
            .unwrap_or("");
        let is_default = props.get("isDefault").and_then(Value::as_bool) == Some(true);
        let no_sg = no_security_group(props);
        let managed = props
            .pointer("/governanceConfiguration/protectionLevel")
            .and_then(Value::as_str)
            == Some("Standard");
        let mut expect = |rule: &str, fires: bool| {
            if fires != planted(rule, &e.name) {
                out.push(format!(
                    "environment {} ({sku}): {rule} {} by the served document but {} in the ground truth",
                    e.name,
                    if fires { "fires" } else { "does not fire" },
                    if fires { "not planted" } else { "planted" },
                ));
            }
        };
        if is_default {
            expect("PPG-DEF-001", no_sg);
        }
        if sku == "Production" {
            expect("PPG-ENV-002", no_sg);
            expect("PPG-ENV-003", !managed);
        }
    }
    out
}
