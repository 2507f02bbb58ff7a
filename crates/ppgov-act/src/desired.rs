//! `ppgov plan --desired FILE`: steps that bring the tenant to its declared `[desired]` state.
//! Values are compared normalised, so an unchanged tenant plans nothing: tenant settings by JSON
//! pointer, Managed Environment settings as the strings the API uses (`5` and `"5"` are one
//! value), DLP connector groups as sets of connector keys (API ids or names, any case),
//! environment names in lower case, and the connectors the service lists in a policy's default
//! group that the file does not name (where the platform puts every connector nobody classified)
//! left as they are.

use crate::ActError;
use crate::actions::{self, Ctx, act_004, act_005, act_006};
use crate::plan::{Step, Target, Undo};
use crate::planner::{Planned, env_target, plan_step, tenant_target};
use ppgov_config::{DesiredDlpPolicy, DesiredState, Scalar};
use ppgov_core::connector_key;
use serde_json::{Map, Value, json};
use std::collections::BTreeSet;

/// A setting path as a JSON pointer: `/a/b` stays, `a.b` becomes `/a/b`.
pub fn pointer(path: &str) -> String {
    let p = path.trim();
    if p.starts_with('/') {
        p.to_string()
    } else {
        format!("/{}", p.replace('.', "/"))
    }
}

fn json_of(v: &Scalar) -> Value {
    match v {
        Scalar::Bool(b) => Value::Bool(*b),
        Scalar::Int(i) => Value::from(*i),
        Scalar::Text(s) => Value::from(s.clone()),
    }
}

/// A Managed Environment setting as the API's string.
fn text_of(v: &Scalar) -> Value {
    Value::from(match v {
        Scalar::Bool(b) => b.to_string(),
        Scalar::Int(i) => i.to_string(),
        Scalar::Text(s) => s.trim().to_string(),
    })
}

fn api_group(g: &str) -> &'static str {
    match g {
        "business" => "Confidential",
        "blocked" => "Blocked",
        _ => "General",
    }
}

/// `CLASS PATTERN` with the class in the API's words.
fn api_pattern(rule: &str) -> String {
    let (class, pattern) = rule
        .trim()
        .split_once(' ')
        .unwrap_or(("Ignore", rule.trim()));
    let class = match class.to_ascii_lowercase().as_str() {
        "business" | "confidential" | "allow" => "Confidential",
        "non_business" | "nonbusiness" | "general" => "General",
        "blocked" | "block" => "Blocked",
        _ => "Ignore",
    };
    format!("{class} {}", pattern.trim())
}

fn keys(list: &[String]) -> BTreeSet<String> {
    list.iter().map(|c| connector_key(c)).collect()
}

/// The ACT-005 state a declared policy stands for.
pub fn dlp_state(p: &DesiredDlpPolicy) -> Value {
    let mut envs: Vec<String> = p
        .environments
        .iter()
        .map(|e| e.trim().to_ascii_lowercase())
        .collect();
    envs.sort();
    envs.dedup();
    json!({
        "exists": true,
        "display_name": p.display_name.trim(),
        "environment_type": p.environment_type,
        "environments": envs,
        "default_group": api_group(&p.default_group),
        "business": keys(&p.business),
        "non_business": keys(&p.non_business),
        "blocked": keys(&p.blocked),
        "custom_connector_patterns": p.custom_connector_patterns.iter().map(|r| api_pattern(r)).collect::<Vec<_>>(),
    })
}

/// `want` with the live policy's default-group connectors the file does not name kept.
pub fn keep_unnamed_defaults(want: &Value, live: &Value) -> Value {
    let group_key = match want.get("default_group").and_then(Value::as_str) {
        Some("Confidential") => "business",
        Some("Blocked") => "blocked",
        _ => "non_business",
    };
    let named: BTreeSet<&str> = ["business", "non_business", "blocked"]
        .iter()
        .flat_map(|g| want[*g].as_array().into_iter().flatten())
        .filter_map(Value::as_str)
        .collect();
    let mut group: BTreeSet<String> = want[group_key]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .map(str::to_string)
        .collect();
    for c in live[group_key]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
    {
        if !named.contains(c) {
            group.insert(c.to_string());
        }
    }
    let mut out = want.clone();
    out[group_key] = json!(group);
    out
}

/// The steps for `desired`, read from `source` (named in each step's why).
pub async fn from_desired(
    ctx: &Ctx,
    tenant_id: &str,
    desired: &DesiredState,
    source: &str,
) -> Result<Planned, ActError> {
    let mut out = Planned::default();
    if desired.is_empty() {
        out.notes
            .push(format!("{source} declares nothing under [desired]"));
        return Ok(out);
    }
    if !desired.tenant_settings.is_empty() {
        let mut m = Map::new();
        for (path, v) in &desired.tenant_settings {
            m.insert(pointer(path), json_of(v));
        }
        let s = plan_step(
            ctx,
            act_006::META.id,
            tenant_target(tenant_id),
            Value::Object(m),
            format!("{source}: [desired.tenant_settings]"),
            vec![],
        )
        .await?;
        out.push_unique(s);
    }
    for (i, m) in desired.managed_environments.iter().enumerate() {
        let mut change = Map::new();
        change.insert(
            act_004::LEVEL.into(),
            Value::from(m.protection_level.clone()),
        );
        for (k, v) in &m.settings {
            change.insert(k.clone(), text_of(v));
        }
        let s = plan_step(
            ctx,
            act_004::META.id,
            env_target(&m.environment, ""),
            Value::Object(change),
            format!(
                "{source}: desired.managed_environments[{i}] ({})",
                m.environment
            ),
            vec![],
        )
        .await?;
        out.push_unique(s);
    }
    for (i, p) in desired.dlp_policies.iter().enumerate() {
        let target = Target {
            kind: "dlp_policy".into(),
            id: p.display_name.trim().to_string(),
            environment: None,
            name: p.display_name.trim().to_string(),
        };
        let mut want = dlp_state(p);
        let probe = Step {
            index: 0,
            action: act_005::META.id.into(),
            target: target.clone(),
            expected: Value::Null,
            change: want.clone(),
            why: String::new(),
            undo: Undo::NotReversible {
                reason: String::new(),
            },
            warnings: vec![],
            grace: None,
        };
        let live = actions::read(ctx, &probe).await?;
        if live.state.get("exists").and_then(Value::as_bool) == Some(true) {
            want = keep_unnamed_defaults(&want, &live.state);
        }
        let s = plan_step(
            ctx,
            act_005::META.id,
            target,
            want,
            format!(
                "{source}: desired.dlp_policies[{i}] '{}'",
                p.display_name.trim()
            ),
            vec![],
        )
        .await?;
        out.push_unique(s);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy() -> DesiredDlpPolicy {
        DesiredDlpPolicy {
            display_name: " Prod ".into(),
            environment_type: "OnlyEnvironments".into(),
            environments: vec!["ENV-B".into(), "env-a".into(), "env-b".into()],
            default_group: "blocked".into(),
            business: vec!["/providers/Microsoft.PowerApps/apis/shared_SQL".into()],
            non_business: vec![],
            blocked: vec!["shared_gmail".into()],
            custom_connector_patterns: vec![
                "allow https://api.contoso.com/*".into(),
                "Blocked *".into(),
            ],
        }
    }

    #[test]
    fn a_declared_policy_normalises_ids_case_and_words() {
        let s = dlp_state(&policy());
        assert_eq!(s["display_name"], "Prod");
        assert_eq!(s["environments"], json!(["env-a", "env-b"]));
        assert_eq!(s["default_group"], "Blocked");
        assert_eq!(s["business"], json!(["shared_sql"]));
        assert_eq!(
            s["custom_connector_patterns"],
            json!(["Confidential https://api.contoso.com/*", "Blocked *"])
        );
        assert_eq!(
            pointer("powerPlatform.powerApps.disableShareWithEveryone"),
            "/powerPlatform/powerApps/disableShareWithEveryone"
        );
        assert_eq!(pointer("/a/b"), "/a/b");
    }

    #[test]
    fn connectors_the_service_put_in_the_default_group_are_no_diff() {
        let want = dlp_state(&policy());
        let live = json!({"exists": true, "business": ["shared_sql"], "non_business": [],
            "blocked": ["shared_gmail", "shared_twitter", "shared_sql"]});
        let kept = keep_unnamed_defaults(&want, &live);
        // shared_twitter (unnamed) stays Blocked; shared_sql (named Business) does not.
        assert_eq!(kept["blocked"], json!(["shared_gmail", "shared_twitter"]));
        assert_eq!(kept["business"], json!(["shared_sql"]));
    }
}
