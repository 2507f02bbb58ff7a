//! PPG-ACT-004: make an environment managed and set its sharing limits, solution checker mode and
//! usage insights (seed 001).
//!
//! BAP `POST .../environments/{env}/governanceConfiguration` (E5) with
//! `{"protectionLevel":"Standard","settings":{"extendedSettings":{…}}}`; 202 + lifecycle operation,
//! 204 when nothing changes. Every `extendedSettings` value is a string on the wire.
//!
//! The state is `protectionLevel` plus the extended settings the step changes (an absent one is
//! `null`), so a step's expected state and its undo cover exactly what it controls. The write sends
//! the whole `extendedSettings` object as read just now with the step's keys changed, so settings
//! it does not control survive (the service replaces the object it is sent). Undoing a step that
//! made the environment managed posts `{"protectionLevel":"Basic"}`.

use super::{Ctx, Observed, env_doc};
use crate::ActError;
use crate::action::{ActionMeta, Reversibility};
use crate::plan::Step;
use serde_json::{Map, Value, json};

/// The declaration.
pub const META: ActionMeta = ActionMeta {
    id: "PPG-ACT-004",
    title: "Make an environment managed with the routing preset's settings",
    resource: "environment governanceConfiguration (BAP POST, 202 + lifecycle operation)",
    preconditions: &[
        "the environment exists and no lifecycle operation runs on it (apply waits while one does)",
    ],
    permissions: &["Power Platform administrator"],
    verification: "re-read the environment; protectionLevel Standard and the step's extended settings",
    undo: Reversibility::Restore,
    undo_text: "post the recorded protection level and extended settings back",
    plannable: true,
};

/// The key of the protection level in this action's state.
pub const LEVEL: &str = "protectionLevel";

/// Settings a newly managed environment gets when it has none: sharing not limited, the solution
/// checker off, included in usage insights. These are the values the admin centre shows for a
/// Managed Environment nobody has configured; the service's own behaviour on an empty
/// `extendedSettings` object is not documented, so ppgov never sends one.
const NEUTRAL: [(&str, &str); 5] = [
    ("isGroupSharingDisabled", "false"),
    ("limitSharingMode", "noLimit"),
    ("maxLimitUserSharing", "-1"),
    ("solutionCheckerMode", "none"),
    ("excludeEnvironmentFromAnalysis", "false"),
];

fn level_of(doc: &Value) -> String {
    match doc
        .pointer("/properties/governanceConfiguration/protectionLevel")
        .and_then(Value::as_str)
    {
        Some(l) if l.eq_ignore_ascii_case("standard") => "Standard".into(),
        _ => "Basic".into(),
    }
}

/// The environment's extended settings as strings (numbers and booleans some payloads carry are
/// read as the strings the API documents).
pub fn extended_settings(doc: &Value) -> Map<String, Value> {
    doc.pointer("/properties/governanceConfiguration/settings/extendedSettings")
        .and_then(Value::as_object)
        .map(|m| {
            m.iter()
                .filter_map(|(k, v)| {
                    let s = match v {
                        Value::String(s) => s.trim().to_string(),
                        Value::Bool(b) => b.to_string(),
                        Value::Number(n) => n.to_string(),
                        _ => return None,
                    };
                    Some((k.clone(), Value::String(s)))
                })
                .collect()
        })
        .unwrap_or_default()
}

/// The state of `keys` (besides the protection level) in an environment document.
pub fn state_of(doc: &Value, keys: &[&str]) -> Value {
    let settings = extended_settings(doc);
    let mut out = Map::new();
    out.insert(LEVEL.into(), Value::String(level_of(doc)));
    for k in keys.iter().filter(|k| **k != LEVEL) {
        out.insert(
            (*k).to_string(),
            settings.get(*k).cloned().unwrap_or(Value::Null),
        );
    }
    Value::Object(out)
}

/// Managed, nothing else (PPG-ENV-003: a production environment that is not managed).
pub fn managed_only() -> Value {
    json!({ LEVEL: "Standard" })
}

/// The routing preset for a developer environment (PPG-RTE-003/004): managed, and each setting
/// weaker than the preset raised to it: group sharing off (sharing excludes security groups), at
/// most `max_users` per share, the solution checker warning, included in usage insights. Settings
/// already at least as strict (a limit of 3, the checker blocking) are left as they are.
pub fn developer_preset(doc: &Value, max_users: i64) -> Value {
    let s = extended_settings(doc);
    let get = |k: &str| s.get(k).and_then(Value::as_str).unwrap_or_default();
    let mut out = Map::new();
    out.insert(LEVEL.into(), Value::from("Standard"));
    if !get("isGroupSharingDisabled").eq_ignore_ascii_case("true") {
        out.insert("isGroupSharingDisabled".into(), Value::from("true"));
        out.insert(
            "limitSharingMode".into(),
            Value::from("excludeSharingToSecurityGroups"),
        );
    }
    let limit_ok = get("maxLimitUserSharing")
        .parse::<i64>()
        .is_ok_and(|n| n >= 0 && n <= max_users);
    if !limit_ok {
        out.insert(
            "maxLimitUserSharing".into(),
            Value::from(max_users.to_string()),
        );
    }
    let checker = get("solutionCheckerMode");
    if checker.is_empty() || checker.eq_ignore_ascii_case("none") {
        out.insert("solutionCheckerMode".into(), Value::from("warn"));
    }
    if get("excludeEnvironmentFromAnalysis").eq_ignore_ascii_case("true") {
        out.insert(
            "excludeEnvironmentFromAnalysis".into(),
            Value::from("false"),
        );
    }
    Value::Object(out)
}

fn keys_of(change: &Value) -> Vec<&str> {
    change
        .as_object()
        .map(|m| m.keys().map(String::as_str).collect())
        .unwrap_or_default()
}

/// The body that moves an environment whose settings are `current` to `change`.
pub fn body(current: &Map<String, Value>, was_managed: bool, change: &Value) -> Value {
    let level = change
        .get(LEVEL)
        .and_then(Value::as_str)
        .unwrap_or("Standard");
    if level.eq_ignore_ascii_case("basic") {
        return json!({ LEVEL: "Basic" });
    }
    let mut settings = current.clone();
    if !was_managed && settings.is_empty() {
        for (k, v) in NEUTRAL {
            settings.insert(k.into(), Value::from(v));
        }
    }
    for (k, v) in change.as_object().into_iter().flatten() {
        if k == LEVEL {
            continue;
        }
        match v {
            Value::Null => {
                settings.remove(k);
            }
            v => {
                settings.insert(k.clone(), v.clone());
            }
        }
    }
    json!({ LEVEL: "Standard", "settings": { "extendedSettings": settings } })
}

pub(crate) async fn read(ctx: &Ctx, step: &Step) -> Result<Observed, ActError> {
    let doc = env_doc(ctx, &step.target.id).await?;
    let busy = super::env_busy(&doc);
    Ok(Observed {
        state: state_of(&doc, &keys_of(&step.change)),
        busy,
        handle: json!({
            "managed": level_of(&doc) == "Standard",
            "extendedSettings": Value::Object(extended_settings(&doc)),
        }),
    })
}

pub(crate) async fn write(ctx: &Ctx, step: &Step, o: &Observed) -> Result<String, ActError> {
    let current = o
        .handle
        .get("extendedSettings")
        .and_then(Value::as_object)
        .cloned()
        .unwrap_or_default();
    let was_managed = o.handle.get("managed").and_then(Value::as_bool) == Some(true);
    let body = body(&current, was_managed, &step.change);
    let r = ctx
        .clients
        .bap
        .set_governance_configuration(&step.target.id, &body)
        .await
        .map_err(ActError::client(format!(
            "setting the Managed Environment configuration of environment {}",
            step.target.id
        )))?;
    Ok(r.request_id)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn doc(level: &str, ext: Value) -> Value {
        json!({"properties": {"governanceConfiguration": {"protectionLevel": level, "settings": {"extendedSettings": ext}}}})
    }

    #[test]
    fn preset_raises_only_what_is_weaker() {
        let d = doc(
            "Standard",
            json!({"isGroupSharingDisabled": "true", "maxLimitUserSharing": "3", "solutionCheckerMode": "block", "excludeEnvironmentFromAnalysis": "false"}),
        );
        assert_eq!(
            developer_preset(&d, 5),
            json!({"protectionLevel": "Standard"})
        );
        let d = doc(
            "Basic",
            json!({"maxLimitUserSharing": "-1", "excludeEnvironmentFromAnalysis": true}),
        );
        assert_eq!(
            developer_preset(&d, 5),
            json!({"protectionLevel": "Standard", "isGroupSharingDisabled": "true",
                   "limitSharingMode": "excludeSharingToSecurityGroups", "maxLimitUserSharing": "5",
                   "solutionCheckerMode": "warn", "excludeEnvironmentFromAnalysis": "false"})
        );
        // A numeric limit above the threshold counts as weaker too.
        let d = doc("Standard", json!({"maxLimitUserSharing": 6}));
        assert_eq!(developer_preset(&d, 5)["maxLimitUserSharing"], "5");
    }

    #[test]
    fn state_covers_the_level_and_the_changed_keys() {
        let d = doc(
            "Standard",
            json!({"solutionCheckerMode": "warn", "other": "x"}),
        );
        assert_eq!(
            state_of(
                &d,
                &[
                    "protectionLevel",
                    "solutionCheckerMode",
                    "maxLimitUserSharing"
                ]
            ),
            json!({"protectionLevel": "Standard", "solutionCheckerMode": "warn", "maxLimitUserSharing": null})
        );
        assert_eq!(
            state_of(&json!({"properties": {}}), &["protectionLevel"]),
            json!({"protectionLevel": "Basic"})
        );
    }

    #[test]
    fn body_keeps_other_settings_and_undoes_to_basic() {
        let cur: Map<String, Value> = serde_json::from_value(
            json!({"solutionCheckerMode": "none", "suppressValidationEmails": "true"}),
        )
        .unwrap();
        let b = body(
            &cur,
            true,
            &json!({"protectionLevel": "Standard", "solutionCheckerMode": "warn", "maxLimitUserSharing": null}),
        );
        assert_eq!(
            b,
            json!({"protectionLevel": "Standard", "settings": {"extendedSettings": {"solutionCheckerMode": "warn", "suppressValidationEmails": "true"}}})
        );
        assert_eq!(
            body(
                &cur,
                true,
                &json!({"protectionLevel": "Basic", "solutionCheckerMode": null})
            ),
            json!({"protectionLevel": "Basic"})
        );
        // Made managed with no settings at all: the neutral ones are sent, never an empty object.
        let b = body(&Map::new(), false, &managed_only());
        assert_eq!(
            b["settings"]["extendedSettings"]["limitSharingMode"],
            "noLimit"
        );
        assert_eq!(
            b["settings"]["extendedSettings"].as_object().unwrap().len(),
            5
        );
    }
}
