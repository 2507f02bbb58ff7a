//! Parser from the GOV v2 policy document (REFERENCE §4.3) — or the flat v1 document — to
//! [`ppgov_core::DlpPolicy`]. Tolerant: unknown keys are ignored, `endPoint` and `endpoint` both
//! work, missing groups are empty.

use crate::error::EngineError;
use chrono::{DateTime, Utc};
use ppgov_core::{
    ActionRules, DlpGroup, DlpPolicy, DlpScope, DlpSource, EndpointRule, PatternClassification,
    RuleBehavior, UrlPatternRule, connector_key,
};
use serde_json::Value;

/// Parses a GOV v2 document (`{"policyDefinition": {...}, "connectorConfigurationsDefinition":
/// {...}, "customConnectorUrlPatternsDefinition": {...}}`) or a flat v1 policy.
pub fn parse_v2_policy(doc: &Value) -> Result<DlpPolicy, EngineError> {
    let root = doc
        .as_object()
        .ok_or_else(|| EngineError::InvalidPolicy("the document is not a json object".into()))?;
    let (def, source) = match root.get("policyDefinition") {
        Some(d) if d.is_object() => (d, DlpSource::V2),
        Some(_) => {
            return Err(EngineError::InvalidPolicy(
                "`policyDefinition` is not an object".into(),
            ));
        }
        None => (doc, DlpSource::V1),
    };
    let s = |v: &Value, k: &str| v.get(k).and_then(Value::as_str).map(str::to_string);
    let id = s(def, "name")
        .or_else(|| s(def, "id").map(|i| connector_key(&i)))
        .unwrap_or_default();
    let display_name = s(def, "displayName").unwrap_or_else(|| id.clone());
    if id.is_empty() && display_name.is_empty() && def.get("connectorGroups").is_none() {
        return Err(EngineError::InvalidPolicy(
            "no `name`, `displayName` or `connectorGroups`: this is not a dlp policy".into(),
        ));
    }
    let default_group = def
        .get("defaultConnectorsClassification")
        .and_then(Value::as_str)
        .and_then(parse_group)
        .unwrap_or(DlpGroup::NonBusiness);
    let envs: Vec<String> = def
        .get("environments")
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(|e| match e {
                    Value::String(x) => Some(last_segment(x)),
                    _ => s(e, "name").or_else(|| s(e, "id").map(|i| last_segment(&i))),
                })
                .collect()
        })
        .unwrap_or_default();
    let scope = match def
        .get("environmentType")
        .and_then(Value::as_str)
        .map(str::to_ascii_lowercase)
        .as_deref()
    {
        Some("onlyenvironments") => DlpScope::OnlyEnvironments(envs),
        Some("exceptenvironments") => DlpScope::ExceptEnvironments(envs),
        _ => DlpScope::AllEnvironments,
    };
    let mut policy = DlpPolicy {
        id,
        display_name,
        source,
        scope,
        default_group,
        raw: doc.clone(),
        ..DlpPolicy::default()
    };
    for group in def
        .get("connectorGroups")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        let Some(g) = group
            .get("classification")
            .and_then(Value::as_str)
            .and_then(parse_group)
        else {
            continue;
        };
        for c in group
            .get("connectors")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            let key = match c {
                Value::String(x) => connector_key(x),
                _ => s(c, "id")
                    .or_else(|| s(c, "name"))
                    .map(|i| connector_key(&i))
                    .unwrap_or_default(),
            };
            if !key.is_empty() {
                policy.connectors.insert(key, g);
            }
        }
    }
    let configs = root
        .get("connectorConfigurationsDefinition")
        .or_else(|| root.get("connectorConfigurations"))
        .or_else(|| def.get("connectorConfigurations"));
    if let Some(cfg) = configs {
        for a in array(
            cfg,
            &[
                "connectorActionConfigurations",
                "connectorActionConfiguration",
            ],
        ) {
            let key = s(a, "connectorId")
                .map(|i| connector_key(&i))
                .unwrap_or_default();
            if key.is_empty() {
                continue;
            }
            let mut rules = ActionRules {
                default_behavior: behavior(a.get("defaultConnectorActionRuleBehavior")),
                ..ActionRules::default()
            };
            for r in a
                .get("actionRules")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
            {
                if let Some(action) = s(r, "actionId") {
                    rules.rules.insert(action, behavior(r.get("behavior")));
                }
            }
            policy.action_rules.insert(key, rules);
        }
        for e in array(cfg, &["endpointConfigurations", "endpointConfiguration"]) {
            let key = s(e, "connectorId")
                .map(|i| connector_key(&i))
                .unwrap_or_default();
            if key.is_empty() {
                continue;
            }
            let mut rules: Vec<EndpointRule> = e
                .get("endpointRules")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .enumerate()
                .map(|(i, r)| EndpointRule {
                    order: r.get("order").and_then(as_i64).unwrap_or(i as i64 + 1),
                    behavior: behavior(r.get("behavior")),
                    endpoint: s(r, "endPoint")
                        .or_else(|| s(r, "endpoint"))
                        .or_else(|| s(r, "EndPoint"))
                        .unwrap_or_default(),
                })
                .collect();
            rules.sort_by_key(|r| r.order);
            policy.endpoint_rules.insert(key, rules);
        }
    }
    let patterns = root
        .get("customConnectorUrlPatternsDefinition")
        .or_else(|| def.get("customConnectorUrlPatternsDefinition"));
    if let Some(p) = patterns {
        let mut rules: Vec<UrlPatternRule> = p
            .get("rules")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .enumerate()
            .map(|(i, r)| UrlPatternRule {
                order: r.get("order").and_then(as_i64).unwrap_or(i as i64 + 1),
                classification: match r
                    .get("customConnectorRuleClassification")
                    .and_then(Value::as_str)
                    .and_then(parse_group)
                {
                    Some(DlpGroup::Business) => PatternClassification::Business,
                    Some(DlpGroup::NonBusiness) => PatternClassification::NonBusiness,
                    Some(DlpGroup::Blocked) => PatternClassification::Blocked,
                    None => PatternClassification::Ignore,
                },
                pattern: s(r, "pattern").unwrap_or_default(),
            })
            .collect();
        rules.sort_by_key(|r| r.order);
        policy.custom_connector_patterns = rules;
    }
    policy.created_time = def
        .get("createdTime")
        .and_then(Value::as_str)
        .and_then(parse_time);
    policy.last_modified_time = def
        .get("lastModifiedTime")
        .and_then(Value::as_str)
        .and_then(parse_time);
    Ok(policy)
}

fn array<'v>(v: &'v Value, keys: &[&str]) -> impl Iterator<Item = &'v Value> {
    keys.iter()
        .find_map(|k| v.get(*k).and_then(Value::as_array))
        .into_iter()
        .flatten()
}

fn last_segment(s: &str) -> String {
    s.trim_end_matches('/')
        .rsplit('/')
        .next()
        .unwrap_or_default()
        .to_string()
}

fn as_i64(v: &Value) -> Option<i64> {
    v.as_i64()
        .or_else(|| v.as_str().and_then(|s| s.trim().parse().ok()))
}

fn parse_time(s: &str) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(s)
        .ok()
        .map(|t| t.with_timezone(&Utc))
}

/// Wire group names: `Confidential`/`Business`, `General`/`NonBusiness`, `Blocked`; `Ignore` is none.
fn parse_group(s: &str) -> Option<DlpGroup> {
    match s
        .trim()
        .to_ascii_lowercase()
        .replace(['-', '_', ' '], "")
        .as_str()
    {
        "confidential" | "business" | "hbi" => Some(DlpGroup::Business),
        "general" | "nonbusiness" | "lbi" => Some(DlpGroup::NonBusiness),
        "blocked" => Some(DlpGroup::Blocked),
        _ => None,
    }
}

fn behavior(v: Option<&Value>) -> RuleBehavior {
    match v
        .and_then(Value::as_str)
        .map(str::to_ascii_lowercase)
        .as_deref()
    {
        Some("block") | Some("deny") | Some("blocked") => RuleBehavior::Block,
        _ => RuleBehavior::Allow,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn parses_reference_shape() {
        let doc = json!({"policyDefinition": {"name": "p1", "displayName": "Tenant baseline", "defaultConnectorsClassification": "General",
            "environmentType": "ExceptEnvironments",
            "environments": [{"id": "/providers/Microsoft.BusinessAppPlatform/scopes/admin/environments/env-a", "name": "env-a"}],
            "connectorGroups": [{"classification": "Confidential", "connectors": [{"id": "/providers/Microsoft.PowerApps/apis/shared_sharepointonline"}]},
                                {"classification": "Blocked", "connectors": [{"id": "/providers/Microsoft.PowerApps/apis/shared_gmail"}]}]},
          "connectorConfigurationsDefinition": {
            "connectorActionConfigurations": [{"connectorId": "/providers/Microsoft.PowerApps/apis/shared_azureblob", "defaultConnectorActionRuleBehavior": "Block", "actionRules": [{"actionId": "CreateFile_V2", "behavior": "Allow"}]}],
            "endpointConfigurations": [{"connectorId": "Http", "endpointRules": [{"order": 2, "behavior": "Deny", "endpoint": "*"}, {"order": 1, "behavior": "Allow", "endPoint": "https://*.contoso.com"}]}]},
          "customConnectorUrlPatternsDefinition": {"rules": [{"order": 1, "customConnectorRuleClassification": "Blocked", "pattern": "*"}]}});
        let p = parse_v2_policy(&doc).unwrap();
        assert_eq!(p.id, "p1");
        assert_eq!(p.scope, DlpScope::ExceptEnvironments(vec!["env-a".into()]));
        assert_eq!(
            p.connectors.get("shared_sharepointonline"),
            Some(&DlpGroup::Business)
        );
        assert_eq!(p.connectors.get("shared_gmail"), Some(&DlpGroup::Blocked));
        assert_eq!(
            p.action_rules["shared_azureblob"].default_behavior,
            RuleBehavior::Block
        );
        let http = &p.endpoint_rules["http"];
        assert_eq!(
            (http[0].order, http[0].endpoint.as_str(), http[0].behavior),
            (1, "https://*.contoso.com", RuleBehavior::Allow)
        );
        assert_eq!(http[1].behavior, RuleBehavior::Block);
        assert_eq!(
            p.custom_connector_patterns[0].classification,
            PatternClassification::Blocked
        );
        assert!(parse_v2_policy(&json!([1])).is_err());
    }
}
