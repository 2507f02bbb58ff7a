//! PPG-ACT-007: disable or enable a flow (seed 002).
//!
//! Flow admin `POST .../scopes/admin/environments/{env}/flows/{flow}/stop` (or `/start`).

use super::{Ctx, Observed};
use crate::ActError;
use crate::action::{ActionMeta, Reversibility};
use crate::plan::Step;
use serde_json::{Value, json};

/// The declaration.
pub const META: ActionMeta = ActionMeta {
    id: "PPG-ACT-007",
    title: "Disable or enable a flow",
    resource: "cloud flow (Flow admin stop/start)",
    preconditions: &["the flow exists"],
    permissions: &["Power Platform administrator or environment admin (Flow admin scope)"],
    verification: "re-read the flow; properties.state is the desired Started/Stopped",
    undo: Reversibility::Restore,
    undo_text: "start (or stop) the flow again",
    plannable: true,
};

/// The desired state: `Stopped` (disable) or `Started`.
pub fn desired(stopped: bool) -> Value {
    json!({ "state": if stopped { "Stopped" } else { "Started" } })
}

pub(crate) async fn read(ctx: &Ctx, step: &Step) -> Result<Observed, ActError> {
    let env = step.target.environment.as_deref().unwrap_or_default();
    let doc: Value = ctx
        .clients
        .flow
        .get_flow(env, &step.target.id)
        .await
        .map_err(ActError::client(format!("reading flow {}", step.target.id)))?;
    let state = match doc.pointer("/properties/state").and_then(Value::as_str) {
        Some(s) if s.eq_ignore_ascii_case("stopped") || s.eq_ignore_ascii_case("suspended") => {
            "Stopped"
        }
        _ => "Started",
    };
    Ok(Observed {
        state: json!({ "state": state }),
        busy: false,
        handle: Value::Null,
    })
}

pub(crate) async fn write(ctx: &Ctx, step: &Step, _o: &Observed) -> Result<String, ActError> {
    let env = step.target.environment.as_deref().unwrap_or_default();
    let stop = step.change.get("state").and_then(Value::as_str) == Some("Stopped");
    let r = if stop {
        ctx.clients.flow.stop_flow(env, &step.target.id).await
    } else {
        ctx.clients.flow.start_flow(env, &step.target.id).await
    }
    .map_err(ActError::client(format!(
        "changing the state of flow {}",
        step.target.id
    )))?;
    Ok(r.request_id)
}
