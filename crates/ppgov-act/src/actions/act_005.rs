//! PPG-ACT-005: create or update a DLP policy to a desired state (seed 000, 002).
//!
//! GOV v2 (REFERENCE D1/D2): the policy is found by display name (so a rerun after a crash finds
//! the one it created instead of creating another), read in full, and compared as a normalised
//! state: scope (`environmentType` and environment names, lower case), default group, and each
//! connector group as a set of connector keys, plus the custom connector URL patterns. A missing
//! policy is created (`POST`, 201); a different one is replaced (`PATCH` with the full document,
//! keeping its action and endpoint rules); the undo of a creation deletes it, the undo of an
//! update writes the recorded groups back.
//!
//! `strict_default_env` is the lockdown preset's policy (seed 000): only the default
//! environment, every allowed connector in Business (so nothing mixes Business and
//! Non-Business), every other connector any policy lists there in Blocked, unlisted connectors
//! Blocked by default, and every custom connector blocked (`Blocked *`). Unblockable connectors
//! can never be Blocked (saving would fail): they stay in Business.

use super::{Ctx, Observed};
use crate::ActError;
use crate::action::{ActionMeta, Reversibility};
use crate::plan::Step;
use futures::TryStreamExt;
use ppgov_core::connector_key;
use serde_json::{Map, Value, json};
use std::collections::BTreeSet;

/// The declaration.
pub const META: ActionMeta = ActionMeta {
    id: "PPG-ACT-005",
    title: "Create or update DLP policies to a desired state",
    resource: "DLP policy (GOV v2 POST/PATCH policies)",
    preconditions: &["the connectors named exist in the tenant"],
    permissions: &["Power Platform administrator"],
    verification: "re-read the policy; connector groups equal the desired ones, compared as sets",
    undo: Reversibility::Restore,
    undo_text: "write the recorded policy back (delete a policy the step created)",
    plannable: true,
};

/// The display name of the lockdown preset's policy.
pub const STRICT_NAME: &str = "ppgov: strict default environment";

/// The warning the strict policy carries in a plan.
pub const STRICT_WARNING: &str = "apps and flows in the default environment that use a connector this policy blocks stop working; review `ppgov dlp simulate` against the current snapshot before approving";

/// Environment `name`s of a scope, lower case, sorted.
fn env_names(def: &Value) -> Vec<String> {
    let mut v: Vec<String> = def
        .get("environments")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|e| {
            e.get("name").and_then(Value::as_str).or_else(|| {
                e.get("id")
                    .and_then(Value::as_str)
                    .and_then(|i| i.rsplit('/').next())
            })
        })
        .map(str::to_ascii_lowercase)
        .collect();
    v.sort();
    v.dedup();
    v
}

/// Whether a GOV v2 policy document applies to environment `env` (by its scope).
pub fn applies_to(doc: &Value, env: &str) -> bool {
    let def = doc.get("policyDefinition").unwrap_or(&Value::Null);
    let listed = env_names(def).contains(&env.to_ascii_lowercase());
    match def.get("environmentType").and_then(Value::as_str) {
        Some("OnlyEnvironments") => listed,
        Some("ExceptEnvironments") => !listed,
        _ => true,
    }
}

/// Connector keys of one classification, sorted.
fn group(def: &Value, classification: &str) -> Vec<String> {
    let mut v: Vec<String> = def
        .get("connectorGroups")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter(|g| {
            g.get("classification")
                .and_then(Value::as_str)
                .is_some_and(|c| c.eq_ignore_ascii_case(classification))
        })
        .flat_map(|g| {
            g.get("connectors")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
        })
        .filter_map(|c| c.get("id").and_then(Value::as_str))
        .map(connector_key)
        .collect();
    v.sort();
    v.dedup();
    v
}

/// The custom connector URL pattern rules as `order classification pattern`.
fn patterns(doc: &Value) -> Vec<String> {
    let mut rules: Vec<(i64, String)> = doc
        .pointer("/customConnectorUrlPatternsDefinition/rules")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .map(|r| {
            let order = r.get("order").and_then(Value::as_i64).unwrap_or(0);
            let class = r
                .get("customConnectorRuleClassification")
                .and_then(Value::as_str)
                .unwrap_or_default();
            let pattern = r.get("pattern").and_then(Value::as_str).unwrap_or_default();
            (order, format!("{class} {pattern}"))
        })
        .collect();
    rules.sort();
    rules.into_iter().map(|(_, r)| r).collect()
}

/// The normalised state of a full GOV v2 policy document.
pub fn state_of(doc: &Value) -> Value {
    let def = doc.get("policyDefinition").unwrap_or(&Value::Null);
    let s = |k: &str| def.get(k).and_then(Value::as_str).unwrap_or_default();
    json!({
        "exists": true,
        "display_name": s("displayName"),
        "environment_type": s("environmentType"),
        "environments": env_names(def),
        "default_group": s("defaultConnectorsClassification"),
        "business": group(def, "Confidential"),
        "non_business": group(def, "General"),
        "blocked": group(def, "Blocked"),
        "custom_connector_patterns": patterns(doc),
    })
}

/// The lockdown preset's policy for the default environment `env`: `allowed` connectors in
/// Business, `listed` ones (every connector some policy lists for the default environment) that
/// are neither allowed nor `unblockable` in Blocked.
pub fn strict_default_env(
    env: &str,
    allowed: &[String],
    listed: &BTreeSet<String>,
    unblockable: &BTreeSet<String>,
) -> Value {
    let mut business: BTreeSet<String> = allowed.iter().map(|k| connector_key(k)).collect();
    let mut blocked = BTreeSet::new();
    for k in listed {
        if unblockable.contains(k) {
            business.insert(k.clone());
        } else if !business.contains(k) {
            blocked.insert(k.clone());
        }
    }
    json!({
        "exists": true,
        "display_name": STRICT_NAME,
        "environment_type": "OnlyEnvironments",
        "environments": [env.to_ascii_lowercase()],
        "default_group": "Blocked",
        "business": business,
        "non_business": [],
        "blocked": blocked,
        "custom_connector_patterns": ["Blocked *"],
    })
}

fn connectors(keys: &Value) -> Vec<Value> {
    keys.as_array()
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .map(|k| {
            json!({ "id": format!("/providers/Microsoft.PowerApps/apis/{k}"), "name": k, "type": "Microsoft.PowerApps/apis" })
        })
        .collect()
}

/// Writes the desired state into a policy document (a new one when `base` is null), keeping what
/// the state does not cover (action and endpoint rules, etag, name).
fn document(base: &Value, want: &Value) -> Value {
    let mut doc = match base {
        Value::Object(m) => Value::Object(m.clone()),
        _ => json!({ "policyDefinition": {} }),
    };
    let w = |k: &str| want.get(k).cloned().unwrap_or(Value::Null);
    let envs: Vec<Value> = w("environments")
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .map(|e| {
            json!({ "id": format!("/providers/Microsoft.BusinessAppPlatform/scopes/admin/environments/{e}"), "name": e, "type": "Microsoft.BusinessAppPlatform/scopes/environments" })
        })
        .collect();
    if let Some(def) = doc
        .get_mut("policyDefinition")
        .and_then(Value::as_object_mut)
    {
        def.insert("displayName".into(), w("display_name"));
        def.insert("environmentType".into(), w("environment_type"));
        def.insert("environments".into(), Value::Array(envs));
        def.insert("defaultConnectorsClassification".into(), w("default_group"));
        def.insert(
            "connectorGroups".into(),
            json!([
                { "classification": "Confidential", "connectors": connectors(&w("business")) },
                { "classification": "General", "connectors": connectors(&w("non_business")) },
                { "classification": "Blocked", "connectors": connectors(&w("blocked")) },
            ]),
        );
    }
    let rules: Vec<Value> = w("custom_connector_patterns")
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .enumerate()
        .map(|(i, r)| {
            let (class, pattern) = r.split_once(' ').unwrap_or(("Ignore", r));
            json!({ "order": i + 1, "customConnectorRuleClassification": class, "pattern": pattern })
        })
        .collect();
    if let Value::Object(m) = &mut doc {
        let mut d = Map::new();
        d.insert("rules".into(), Value::Array(rules));
        m.insert(
            "customConnectorUrlPatternsDefinition".into(),
            Value::Object(d),
        );
    }
    doc
}

fn display_name(step: &Step) -> Result<String, ActError> {
    step.change
        .get("display_name")
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
        .map(str::to_string)
        .or_else(|| (!step.target.name.is_empty()).then(|| step.target.name.clone()))
        .ok_or_else(|| {
            ActError::CorruptPlan(format!("step {}: no policy display name", step.index))
        })
}

pub(crate) async fn read(ctx: &Ctx, step: &Step) -> Result<Observed, ActError> {
    let name = display_name(step)?;
    let list: Vec<Value> = ctx
        .clients
        .dlp
        .list_policies_v2()
        .try_collect()
        .await
        .map_err(ActError::client("listing DLP policies"))?;
    let found: Vec<&str> = list
        .iter()
        .filter(|p| {
            p.pointer("/policyDefinition/displayName")
                .and_then(Value::as_str)
                .is_some_and(|d| d.eq_ignore_ascii_case(&name))
        })
        .filter_map(|p| p.pointer("/policyDefinition/name").and_then(Value::as_str))
        .collect();
    let policy = match found.as_slice() {
        [] => {
            return Ok(Observed {
                state: json!({ "exists": false }),
                busy: false,
                handle: Value::Null,
            });
        }
        [one] => *one,
        _ => {
            return Err(ActError::Invalid(format!(
                "{} DLP policies are named '{name}'; rename all but one so the step knows which to change",
                found.len()
            )));
        }
    };
    let doc: Value = ctx
        .clients
        .dlp
        .get_policy_v2(policy)
        .await
        .map_err(ActError::client(format!("reading DLP policy {policy}")))?;
    Ok(Observed {
        state: state_of(&doc),
        busy: false,
        handle: json!({ "name": policy, "doc": doc }),
    })
}

pub(crate) async fn write(ctx: &Ctx, step: &Step, o: &Observed) -> Result<String, ActError> {
    let exists = o.handle.get("name").and_then(Value::as_str);
    let want_exists = step.change.get("exists").and_then(Value::as_bool) != Some(false);
    let r = match (exists, want_exists) {
        (Some(name), false) => ctx.clients.dlp.delete_policy_v2(name).await,
        (None, false) => return Ok(String::new()),
        (None, true) => {
            let body = document(&Value::Null, &step.change);
            ctx.clients.dlp.create_policy_v2(&body).await
        }
        (Some(name), true) => {
            let base = o.handle.get("doc").cloned().unwrap_or(Value::Null);
            let body = document(&base, &step.change);
            ctx.clients.dlp.update_policy_v2(name, &body).await
        }
    }
    .map_err(ActError::client(format!(
        "writing DLP policy '{}'",
        display_name(step).unwrap_or_default()
    )))?;
    Ok(r.request_id)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_strict_policy_round_trips_through_its_document() {
        let listed: BTreeSet<String> = [
            "shared_gmail",
            "shared_approvals",
            "shared_sharepointonline",
        ]
        .map(String::from)
        .into();
        let unblockable: BTreeSet<String> = ["shared_approvals".to_string()].into();
        let want = strict_default_env(
            "Default-Tenant",
            &["shared_sharepointonline".to_string()],
            &listed,
            &unblockable,
        );
        assert_eq!(want["blocked"], json!(["shared_gmail"]));
        assert_eq!(
            want["business"],
            json!(["shared_approvals", "shared_sharepointonline"])
        );
        let doc = document(&Value::Null, &want);
        assert_eq!(state_of(&doc), want);
        // An existing policy keeps what the state does not cover.
        let mut base = doc.clone();
        base["connectorConfigurationsDefinition"] = json!({ "endpointConfigurations": [] });
        base["policyDefinition"]["name"] = json!("p1");
        let again = document(&base, &want);
        assert_eq!(again["policyDefinition"]["name"], "p1");
        assert!(again.get("connectorConfigurationsDefinition").is_some());
        assert!(crate::actions::same(&state_of(&again), &want));
    }
}
