//! PPG-ACT-006: set tenant settings to a declared desired state (ScubaGear).
//!
//! The state is a map of JSON pointers into `listTenantSettings` (`/powerPlatform/powerApps/
//! disableShareWithEveryone`) to values; the write is one partial object for
//! `updateTenantSettings`, built from the pointers, so settings not named are untouched.

use super::{Ctx, Observed};
use crate::ActError;
use crate::action::{ActionMeta, Reversibility};
use crate::plan::Step;
use serde_json::{Map, Value};

/// The declaration.
pub const META: ActionMeta = ActionMeta {
    id: "PPG-ACT-006",
    title: "Set tenant settings to a declared desired state",
    resource: "tenant settings (BAP updateTenantSettings, partial object)",
    preconditions: &["the named settings exist in listTenantSettings"],
    permissions: &["Power Platform administrator"],
    verification: "re-read the tenant settings; every named pointer has its desired value",
    undo: Reversibility::Restore,
    undo_text: "set every named setting back to its recorded value",
    plannable: true,
};

/// The values at `pointers` (absent: `false`, the service default of every switch).
pub fn state_of(settings: &Value, pointers: &Map<String, Value>) -> Value {
    let mut out = Map::new();
    for (p, want) in pointers {
        let v = settings
            .pointer(p)
            .cloned()
            .unwrap_or(if want.is_boolean() {
                Value::Bool(false)
            } else {
                Value::Null
            });
        out.insert(p.clone(), v);
    }
    Value::Object(out)
}

/// The partial settings object that sets each pointer.
pub fn partial(pointers: &Map<String, Value>) -> Value {
    let mut root = Value::Object(Map::new());
    for (p, v) in pointers {
        let parts: Vec<&str> = p.trim_start_matches('/').split('/').collect();
        let mut cur = &mut root;
        for (i, part) in parts.iter().enumerate() {
            let Value::Object(m) = cur else { break };
            if i + 1 == parts.len() {
                m.insert((*part).to_string(), v.clone());
                break;
            }
            cur = m
                .entry((*part).to_string())
                .or_insert_with(|| Value::Object(Map::new()));
        }
    }
    root
}

pub(crate) async fn read(ctx: &Ctx, step: &Step) -> Result<Observed, ActError> {
    let settings: Value = ctx
        .clients
        .bap
        .list_tenant_settings()
        .await
        .map_err(ActError::client("reading the tenant settings"))?;
    let pointers = step.change.as_object().cloned().unwrap_or_default();
    Ok(Observed {
        state: state_of(&settings, &pointers),
        busy: false,
        handle: Value::Null,
    })
}

pub(crate) async fn write(ctx: &Ctx, step: &Step, _o: &Observed) -> Result<String, ActError> {
    let pointers = step.change.as_object().cloned().unwrap_or_default();
    let body = partial(&pointers);
    let _: Value = ctx
        .clients
        .bap
        .update_tenant_settings(&body)
        .await
        .map_err(ActError::client("updating the tenant settings"))?;
    Ok(String::new())
}
