//! Normalisation: one audit record (any RecordType) into one [`EventRow`].
//!
//! The common schema gives the id, time, type, operation, actor and IP. Type-specific fields give
//! the environment, the resource acted on and the few attributes the detections read (kept in
//! `attrs`, a small JSON object of strings); the raw JSON is kept as received. Unknown record
//! types and operations are normalised from the common schema alone, never dropped.

use chrono::NaiveDateTime;
use ppgov_store::EventRow;
use serde_json::{Map, Value};
use std::collections::BTreeMap;

/// Records larger than this are refused (a damaged or hostile feed), in bytes.
pub const MAX_RECORD_BYTES: usize = 1 << 20;

/// A record that could not be normalised: where it was and why.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Malformed {
    /// Where: `file:line`, `file:row N`, `blob <id> #i`, ...
    pub position: String,
    /// What is wrong.
    pub reason: String,
}

/// Attribute keys the detections read from `attrs`.
pub mod attr {
    /// `FlowConnectorNames`.
    pub const CONNECTORS: &str = "connectors";
    /// `RecipientUPN` of a flow share.
    pub const RECIPIENT: &str = "recipient";
    /// `targetuser.id` of an app share.
    pub const TARGET_USER: &str = "target_user";
    /// App id (prefix stripped).
    pub const APP: &str = "app";
    /// DLP operation (`CreateDlpPolicy`, `UpdateDlpPolicy`, `DeleteDlpPolicy`).
    pub const POLICY_OP: &str = "policy_op";
    /// `isolation_policy.enabled` (`True`/`False`).
    pub const ISOLATION: &str = "isolation_enabled";
    /// An environment's security group was removed (`true`).
    pub const SG_REMOVED: &str = "security_group_removed";
    /// Object ids of an invited external user (Entra `Invite external user.`), space-separated.
    pub const INVITED: &str = "invited";
    /// Dataverse `Message`.
    pub const MESSAGE: &str = "message";
    /// Records an ExportToExcel returned.
    pub const RECORDS: &str = "records";
    /// `UserType` number.
    pub const USER_TYPE: &str = "user_type";
}

fn s(v: Option<&Value>) -> Option<String> {
    match v? {
        Value::String(x) if !x.is_empty() => Some(x.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(if *b { "True" } else { "False" }.to_string()),
        _ => None,
    }
}

/// Parses `CreationTime` (`YYYY-MM-DDTHH:MM:SS[.fff][Z|+00:00]`) as UTC milliseconds.
pub fn parse_time(t: &str) -> Option<i64> {
    if let Ok(d) = chrono::DateTime::parse_from_rfc3339(t) {
        return Some(d.timestamp_millis());
    }
    let t = t.trim_end_matches('Z');
    for f in [
        "%Y-%m-%dT%H:%M:%S%.f",
        "%Y-%m-%dT%H:%M:%S",
        "%Y-%m-%d %H:%M:%S%.f",
    ] {
        if let Ok(n) = NaiveDateTime::parse_from_str(t, f) {
            return Some(n.and_utc().timestamp_millis());
        }
    }
    None
}

/// `::ffff:1.2.3.4` -> `1.2.3.4`; `1.2.3.4:5678` -> `1.2.3.4`; IPv6 kept.
pub fn clean_ip(ip: &str) -> String {
    let ip = ip.trim();
    let ip = ip.strip_prefix("::ffff:").unwrap_or(ip);
    if ip.matches(':').count() == 1
        && let Some((h, _)) = ip.split_once(':')
    {
        return h.to_string();
    }
    ip.trim_start_matches('[')
        .split(']')
        .next()
        .unwrap_or(ip)
        .to_string()
}

/// The last path segment of `/providers/Microsoft.PowerApps/apps/<guid>` style ids.
fn strip_provider(id: &str) -> String {
    if id.starts_with("/providers/") {
        id.rsplit('/').next().unwrap_or(id).to_string()
    } else {
        id.to_string()
    }
}

/// Normalises one raw record; `raw` is kept as given.
pub fn normalise(raw: &str) -> Result<EventRow, String> {
    if raw.len() > MAX_RECORD_BYTES {
        return Err(format!(
            "record is {} bytes, over the {} byte limit",
            raw.len(),
            MAX_RECORD_BYTES
        ));
    }
    let v: Value = serde_json::from_str(raw).map_err(|e| format!("bad JSON: {e}"))?;
    normalise_value(&v, raw)
}

/// Normalises an already parsed record.
pub fn normalise_value(v: &Value, raw: &str) -> Result<EventRow, String> {
    let Value::Object(o) = v else {
        return Err("a record must be a JSON object".into());
    };
    let id = match o.get("Id") {
        Some(Value::String(x)) if !x.trim().is_empty() => x.trim().to_string(),
        Some(Value::String(_)) => return Err("field `Id` is empty".into()),
        Some(_) => return Err("field `Id` must be a string".into()),
        None => return Err("missing field `Id`".into()),
    };
    let time_ms = match o.get("CreationTime") {
        Some(Value::String(t)) => {
            parse_time(t).ok_or_else(|| format!("field `CreationTime` is not a time: `{t}`"))?
        }
        Some(_) => return Err("field `CreationTime` must be a string".into()),
        None => return Err("missing field `CreationTime`".into()),
    };
    let record_type = match o.get("RecordType") {
        Some(Value::Number(n)) => n
            .as_i64()
            .ok_or_else(|| format!("field `RecordType` is not an integer: {n}"))?,
        Some(Value::String(x)) => x
            .parse()
            .map_err(|_| format!("field `RecordType` is not an integer: `{x}`"))?,
        Some(_) => return Err("field `RecordType` must be an integer".into()),
        None => return Err("missing field `RecordType`".into()),
    };
    let operation = match o.get("Operation") {
        Some(Value::String(x)) => x.clone(),
        Some(_) => return Err("field `Operation` must be a string".into()),
        None => return Err("missing field `Operation`".into()),
    };
    // PropertyCollection (256) flattened; JsonPropertiesCollection when only that is there.
    let mut props: BTreeMap<String, String> = BTreeMap::new();
    if let Some(Value::Array(pc)) = o.get("PropertyCollection") {
        for p in pc {
            if let (Some(Value::String(n)), Some(val)) = (p.get("Name"), p.get("Value"))
                && let Some(val) = s(Some(val))
            {
                props.insert(n.clone(), val);
            }
        }
    } else if let Some(Value::String(j)) = o.get("JsonPropertiesCollection")
        && let Ok(Value::Object(m)) = serde_json::from_str::<Value>(j)
    {
        for (k, val) in m {
            if let Some(val) = s(Some(&val)) {
                props.insert(k, val);
            }
        }
    }
    let p = |k: &str| props.get(k).cloned();
    let pa = |k: &str| props.get(&format!("powerplatform.analytics.{k}")).cloned();
    let actor = s(o.get("UserId"))
        .or_else(|| p("enduser.principal_name"))
        .unwrap_or_default()
        .to_lowercase();
    let client_ip = s(o.get("ClientIP"))
        .or_else(|| s(o.get("ActorIpAddress")))
        .or_else(|| p("enduser.ip_address"))
        .map(|i| clean_ip(&i))
        .unwrap_or_default();
    let workload = s(o.get("Workload")).unwrap_or_default();
    let mut attrs: Map<String, Value> = Map::new();
    let mut put = |k: &str, val: Option<String>| {
        if let Some(val) = val {
            attrs.insert(k.to_string(), Value::String(val));
        }
    };
    put(attr::USER_TYPE, s(o.get("UserType")));
    let additional = s(o.get("AdditionalInfo"));
    let additional_json: Option<Map<String, Value>> = additional
        .as_deref()
        .and_then(|a| serde_json::from_str::<Value>(a).ok())
        .and_then(|v| match v {
            Value::Object(m) => Some(m),
            _ => None,
        });
    let (mut env, mut kind, mut res) = (String::new(), String::new(), String::new());
    match record_type {
        30 => {
            put(attr::CONNECTORS, s(o.get("FlowConnectorNames")));
            put(
                attr::RECIPIENT,
                s(o.get("RecipientUPN")).map(|r| r.to_lowercase()),
            );
            kind = "flow".into();
            if let Some(url) = s(o.get("FlowDetailsUrl")) {
                let segs: Vec<&str> = url.split('/').collect();
                for w in segs.windows(2) {
                    match w[0] {
                        "environments" => env = w[1].to_string(),
                        "flows" => res = w[1].to_string(),
                        _ => {}
                    }
                }
            }
            if env.is_empty()
                && let Some(a) = &additional
                && !a.contains('{')
            {
                env = a.clone();
            }
            if res.is_empty() && operation != "DeleteFlow" {
                res = s(o.get("ObjectId")).unwrap_or_default();
            }
        }
        256 => {
            env = s(o.get("EnvironmentId"))
                .or_else(|| pa("resource.environment.id"))
                .map(|e| strip_provider(&e))
                .unwrap_or_default();
            let rtype = pa("resource.type").unwrap_or_default();
            if let Some(app) = pa("resource.power_app.id") {
                kind = "app".into();
                res = strip_provider(&app);
                put(attr::APP, Some(res.clone()));
            } else if let Some(c) = pa("resource.connection.id") {
                kind = "connection".into();
                res = c;
            } else if operation == "GovernanceApiPolicyOperation" || rtype == "ApiPolicy" {
                kind = "dlp_policy".into();
                res = pa("resource.id").unwrap_or_default();
                put(
                    attr::POLICY_OP,
                    pa("resource.tenant.governance.api_policy.operation_name"),
                );
            } else if operation.starts_with("Environment") || operation == "ApplyAdminRole" {
                kind = "environment".into();
                res = env.clone();
            }
            put(attr::TARGET_USER, p("targetuser.id"));
            put(
                attr::ISOLATION,
                pa("resource.tenant.isolation_policy.enabled"),
            );
            if props.values().any(|val| {
                val.contains("Property: SecurityGroupId") && val.trim_end().ends_with("New Value:")
            }) {
                put(attr::SG_REMOVED, Some("true".into()));
            }
        }
        45 => {
            kind = "app".into();
            res = s(o.get("AppName"))
                .map(|a| strip_provider(&a))
                .unwrap_or_default();
            put(attr::APP, Some(res.clone()).filter(|r| !r.is_empty()));
            env = s(o.get("EnvironmentName"))
                .or(additional.clone())
                .unwrap_or_default();
        }
        79 => {
            kind = "connection".into();
            res = s(o.get("ResourceId")).unwrap_or_default();
            if let Some(m) = &additional_json {
                env = s(m.get("EnvironmentName")).unwrap_or_default();
            }
        }
        187 => {
            kind = "dlp_policy".into();
            if let Some(m) = &additional_json {
                res = s(m.get("policyId")).unwrap_or_default();
                env = s(m.get("environmentName")).unwrap_or_default();
            }
            let op = operation.to_lowercase();
            let legacy = if op.contains("creat") {
                Some("CreateDlpPolicy")
            } else if op.contains("delet") {
                Some("DeleteDlpPolicy")
            } else if op.contains("updat") {
                Some("UpdateDlpPolicy")
            } else {
                None
            };
            put(attr::POLICY_OP, legacy.map(String::from));
        }
        21 => {
            kind = s(o.get("EntityName")).unwrap_or_default();
            res = s(o.get("EntityId")).unwrap_or_default();
            env = s(o.get("InstanceUrl")).unwrap_or_default();
            put(attr::MESSAGE, s(o.get("Message")));
            // ExportToExcel: one record per id in QueryResults.
            if let Some(q) = s(o.get("QueryResults")) {
                put(
                    attr::RECORDS,
                    Some((q.matches(',').count() + 1).to_string()),
                );
            }
        }
        8 => {
            kind = "directory".into();
            res = s(o.get("ObjectId")).unwrap_or_default();
            if operation.starts_with("Invite external user") {
                let mut ids: Vec<String> = Vec::new();
                if let Some(Value::Array(ts)) = o.get("Target") {
                    for t in ts {
                        if let Some(id) = s(t.get("ID")) {
                            let id = id.strip_prefix("User_").unwrap_or(&id).to_lowercase();
                            if !ids.contains(&id) {
                                ids.push(id);
                            }
                        }
                    }
                }
                put(attr::INVITED, Some(ids.join(" ")).filter(|x| !x.is_empty()));
            }
        }
        _ => {
            res = s(o.get("ObjectId")).unwrap_or_default();
        }
    }
    let attrs = if attrs.is_empty() {
        String::new()
    } else {
        Value::Object(attrs).to_string()
    };
    let risk = crate::risk::level(&operation).as_str().to_string();
    Ok(EventRow {
        seq: 0,
        id,
        time_ms,
        record_type,
        operation,
        workload,
        actor,
        environment_id: env,
        resource_kind: kind,
        resource_id: res,
        client_ip,
        risk,
        attrs,
        raw: raw.to_string(),
    })
}

/// One attribute of an event's `attrs` (parsed on demand: most detections never need it).
pub fn attr_of(e: &EventRow, key: &str) -> Option<String> {
    if e.attrs.is_empty() {
        return None;
    }
    let v: Value = serde_json::from_str(&e.attrs).ok()?;
    v.get(key)?.as_str().map(String::from)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flattens_property_collection_and_strips_prefixes() {
        let raw = r#"{"Id":"a","RecordType":256,"CreationTime":"2026-03-01T10:00:00","Operation":"PowerAppPermissionEdited","UserId":"Ann@Contoso.com","ClientIP":"20.1.2.3",
          "PropertyCollection":[{"Name":"powerplatform.analytics.resource.power_app.id","Value":"/providers/Microsoft.PowerApps/apps/abc"},
          {"Name":"powerplatform.analytics.resource.environment.id","Value":"Default-t"},{"Name":"targetuser.id","Value":"oid1"}]}"#;
        let e = normalise(raw).unwrap();
        assert_eq!(e.actor, "ann@contoso.com");
        assert_eq!(e.resource_kind, "app");
        assert_eq!(e.resource_id, "abc");
        assert_eq!(e.environment_id, "Default-t");
        assert_eq!(attr_of(&e, attr::TARGET_USER).as_deref(), Some("oid1"));
        assert_eq!(e.risk, "high");
        assert_eq!(e.raw, raw);
    }

    #[test]
    fn bad_records_say_what_is_wrong() {
        assert!(normalise("{").unwrap_err().starts_with("bad JSON"));
        assert_eq!(
            normalise(r#"{"RecordType":30}"#).unwrap_err(),
            "missing field `Id`"
        );
        assert_eq!(
            normalise(r#"{"Id":"x","RecordType":"abc","CreationTime":"2026-01-01T00:00:00","Operation":"x"}"#)
                .unwrap_err(),
            "field `RecordType` is not an integer: `abc`"
        );
        let huge = format!(r#"{{"Id":"{}"}}"#, "x".repeat(MAX_RECORD_BYTES));
        assert!(normalise(&huge).unwrap_err().contains("byte limit"));
        // Unknown record types and operations are kept.
        let e = normalise(r#"{"Id":"u","RecordType":9999,"CreationTime":"2026-01-01T00:00:00Z","Operation":"Brand new"}"#).unwrap();
        assert_eq!((e.record_type, e.operation.as_str()), (9999, "Brand new"));
        assert_eq!(clean_ip("::ffff:1.2.3.4"), "1.2.3.4");
        assert_eq!(clean_ip("1.2.3.4:443"), "1.2.3.4");
        assert_eq!(clean_ip("2001:db8::1"), "2001:db8::1");
    }
}
