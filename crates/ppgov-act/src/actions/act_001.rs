//! PPG-ACT-001: assign a security group to an environment (seed 000).
//!
//! BAP `PATCH .../scopes/admin/environments/{env}` with
//! `properties.linkedEnvironmentMetadata.securityGroupId`; the service answers 202 and a lifecycle
//! operation, polled to its end. On the default environment this is not offered by the admin UI:
//! it needs `[remediation] allow_unsupported = true`, and the plan carries seed 000's warning.

use super::{Ctx, Observed, env_doc};
use crate::ActError;
use crate::action::{ActionMeta, Reversibility};
use crate::plan::Step;
use serde_json::{Value, json};

/// The declaration.
pub const META: ActionMeta = ActionMeta {
    id: "PPG-ACT-001",
    title: "Assign a security group to an environment",
    resource: "environment (BAP PATCH linkedEnvironmentMetadata.securityGroupId, 202 + lifecycle operation)",
    preconditions: &[
        "the environment has Dataverse (a security group restricts its Dataverse users)",
        "no lifecycle operation is running on it (409 otherwise; apply waits it out)",
        "for the default environment: [remediation] allow_unsupported = true",
    ],
    permissions: &["Power Platform administrator (BAP admin scope)"],
    verification: "re-read the environment after the operation succeeded; securityGroupId equals the group",
    undo: Reversibility::Restore,
    undo_text: "set securityGroupId back to the recorded value (none: the all-zero id)",
    plannable: true,
};

/// Seed 000's warning, shown in every plan that touches the default environment.
pub const DEFAULT_ENV_WARNING: &str = "Microsoft's admin UI does not offer a security group on the default environment (\"Security groups cannot be assigned to default and developer environment types\"); this uses the API behind it, is unsupported, and Microsoft may reset it";

/// The all-zero id the service uses for "no group".
pub const NO_GROUP: &str = "00000000-0000-0000-0000-000000000000";

fn normal(g: Option<&str>) -> Value {
    match g.map(str::trim) {
        Some(g) if !g.is_empty() && g.chars().any(|c| c != '0' && c != '-') => {
            Value::from(g.to_ascii_lowercase())
        }
        _ => Value::from(""),
    }
}

/// The state this action controls, from an environment document.
pub fn state_of(doc: &Value) -> Value {
    json!({ "securityGroupId": normal(doc.pointer("/properties/linkedEnvironmentMetadata/securityGroupId").and_then(Value::as_str)) })
}

/// The desired state for a group id.
pub fn desired(group: &str) -> Value {
    json!({ "securityGroupId": normal(Some(group)) })
}

pub(crate) async fn read(ctx: &Ctx, step: &Step) -> Result<Observed, ActError> {
    let doc = env_doc(ctx, &step.target.id).await?;
    let busy = super::env_busy(&doc);
    Ok(Observed {
        state: state_of(&doc),
        busy,
        handle: Value::Null,
    })
}

pub(crate) async fn write(ctx: &Ctx, step: &Step, _o: &Observed) -> Result<String, ActError> {
    let group = step
        .change
        .get("securityGroupId")
        .and_then(Value::as_str)
        .unwrap_or("");
    let group = if group.is_empty() { NO_GROUP } else { group };
    let body = json!({"properties": {"linkedEnvironmentMetadata": {"securityGroupId": group}}});
    let r = ctx
        .clients
        .bap
        .patch_environment(&step.target.id, &body)
        .await
        .map_err(ActError::client(format!(
            "setting the security group of environment {}",
            step.target.id
        )))?;
    Ok(r.request_id)
}
