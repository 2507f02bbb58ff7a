//! PPG-ACT-009: clean up default-environment apps and flows made outside the approved-makers
//! group (PPG-DEF-006), after notice and a grace period (seed 000 alternatives).
//!
//! The step carries a [`crate::plan::Grace`]: the first `apply` tells the maker (PPG-ACT-013) and
//! records the step as due `[remediation] grace_period_hours` later; `apply --due` then acts if
//! the target is still what the plan expected. What it does is `[remediation]
//! default_env_cleanup`:
//! - `quarantine`: an app is quarantined (`POST .../apps/{app}/setAppQuarantineState`
//!   `{"quarantineStatus":"Quarantined"}`, the "Power Apps for Admins" connector's operation;
//!   state read back from `.../quarantineState`), a flow is turned off (Flow admin `stop`, as
//!   PPG-ACT-007). Undone by releasing the app or turning the flow on.
//! - `delete`: the app (A2 DELETE) or flow (F3 DELETE) is deleted. Not reversible.

use super::{Ctx, Observed, act_007};
use crate::ActError;
use crate::action::{ActionMeta, Reversibility};
use crate::plan::Step;
use serde_json::{Value, json};

/// The declaration.
pub const META: ActionMeta = ActionMeta {
    id: "PPG-ACT-009",
    title: "Quarantine or delete unapproved default-environment apps and flows after notice",
    resource: "app quarantine state, flow state, or the app or flow itself (delete)",
    preconditions: &[
        "the maker was told (PPG-ACT-013) and the grace period passed (`ppgov apply --due`)",
        "a notification sink is configured ([notify])",
    ],
    permissions: &["Power Platform administrator (Power Apps and Flow admin scopes)"],
    verification: "re-read the resource: quarantined, turned off, or gone",
    undo: Reversibility::Restore,
    undo_text: "quarantine is undone by releasing the app and turning the flow on; a delete is not reversible",
    plannable: true,
};

/// The desired state of a target of `kind` (`app` or `flow`) under `delete` or quarantine.
pub fn desired(kind: &str, delete: bool) -> Value {
    match (delete, kind) {
        (true, _) => json!({ "exists": false }),
        (false, "app") => json!({ "quarantineStatus": "Quarantined" }),
        (false, _) => act_007::desired(true),
    }
}

/// Whether a state is a delete's (not reversible).
pub fn is_delete(state: &Value) -> bool {
    state.get("exists").is_some()
}

fn env_of(step: &Step) -> &str {
    step.target.environment.as_deref().unwrap_or_default()
}

fn is_app(step: &Step) -> bool {
    step.target.kind.eq_ignore_ascii_case("app")
}

async fn exists(ctx: &Ctx, step: &Step) -> Result<bool, ActError> {
    let (env, id) = (env_of(step), step.target.id.as_str());
    let r: Result<Value, _> = if is_app(step) {
        ctx.clients.powerapps.get_app(env, id).await
    } else {
        ctx.clients.flow.get_flow(env, id).await
    };
    match r {
        Ok(_) => Ok(true),
        Err(e) if e.is_not_found() => Ok(false),
        Err(e) => Err(ActError::client(format!("reading {}", step.target))(e)),
    }
}

pub(crate) async fn read(ctx: &Ctx, step: &Step) -> Result<Observed, ActError> {
    let state = if is_delete(&step.change) {
        json!({ "exists": exists(ctx, step).await? })
    } else if is_app(step) {
        let q: Value = ctx
            .clients
            .powerapps
            .app_quarantine_state(env_of(step), &step.target.id)
            .await
            .map_err(ActError::client(format!(
                "reading the quarantine state of app {}",
                step.target.id
            )))?;
        let quarantined = q
            .get("quarantineStatus")
            .and_then(Value::as_str)
            .is_some_and(|s| s.eq_ignore_ascii_case("Quarantined"));
        json!({ "quarantineStatus": if quarantined { "Quarantined" } else { "Unquarantined" } })
    } else {
        return act_007::read(ctx, step).await;
    };
    Ok(Observed {
        state,
        busy: false,
        handle: Value::Null,
    })
}

pub(crate) async fn write(ctx: &Ctx, step: &Step, o: &Observed) -> Result<String, ActError> {
    let (env, id) = (env_of(step), step.target.id.as_str());
    if is_delete(&step.change) {
        if step.change.get("exists").and_then(Value::as_bool) != Some(false) {
            return Err(ActError::Invalid(format!(
                "{} was deleted; a delete cannot be undone",
                step.target
            )));
        }
        let r = if is_app(step) {
            ctx.clients.powerapps.delete_app(env, id).await
        } else {
            ctx.clients.flow.delete_flow(env, id).await
        }
        .map_err(ActError::client(format!("deleting {}", step.target)))?;
        return Ok(r.request_id);
    }
    if is_app(step) {
        let status = step
            .change
            .get("quarantineStatus")
            .and_then(Value::as_str)
            .unwrap_or("Quarantined");
        let r = ctx
            .clients
            .powerapps
            .set_app_quarantine_state(env, id, status)
            .await
            .map_err(ActError::client(format!(
                "setting the quarantine state of app {id}"
            )))?;
        return Ok(r.request_id);
    }
    act_007::write(ctx, step, o).await
}
