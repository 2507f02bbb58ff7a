//! PPG-ACT-008: add a co-owner to a flow, or reassign an app to a new owner (seed 002).
//!
//! Flows: `POST FLE/{env}/flows/{flow}/modifyPermissions` with
//! `{"put":[{"properties":{"principal":{"id","type"},"roleName":"CanEdit"}}]}` (REFERENCE F5;
//! there is no "set primary owner" call for flows, so a co-owner with edit rights, `CanEdit`, is
//! how a flow is taken over). The co-owner may be a user or a group (seed 002 reassigns to an
//! admin group); its type is read from Graph when the step is planned. The state compared is the
//! principal's role on the flow: an `Owner` already satisfies "co-owner". Undo removes the
//! permission again (`{"delete":[{"id"}]}`) or restores the role it had.
//!
//! Apps: `POST PAE/{env}/apps/{app}/modifyAppOwner` with `{"newAppOwner","roleForOldAppOwner"}`
//! (A5); an app's owner is a user, so a group is refused when planning. The old owner keeps
//! `CanView`. Undo sets the recorded owner back (which the service refuses when that user is
//! gone; the revert then fails with its reason).

use super::{Ctx, Observed};
use crate::ActError;
use crate::action::{ActionMeta, Reversibility};
use crate::plan::Step;
use futures::TryStreamExt;
use serde_json::{Value, json};

/// The declaration.
pub const META: ActionMeta = ActionMeta {
    id: "PPG-ACT-008",
    title: "Add a co-owner or reassign an orphaned flow or app",
    resource: "flow permissions (modifyPermissions) or app owner (modifyAppOwner)",
    preconditions: &[
        "the new co-owner (user or group) exists in Entra",
        "an app's new owner is a user",
    ],
    permissions: &["Power Platform administrator"],
    verification: "re-read the flow's permissions (the co-owner has edit rights) or the app (its owner is the new one)",
    undo: Reversibility::Restore,
    undo_text: "remove the added co-owner again (or restore the role it had); set the app's previous owner back",
    plannable: true,
};

/// The desired state of a flow: `principal` (of Graph `kind` `User` or `Group`) co-owns it.
pub fn desired(principal: &str, kind: &str) -> Value {
    json!({ "co_owner": principal.to_ascii_lowercase(), "type": kind, "role": "CanEdit" })
}

/// The desired state of an app: `user` owns it.
pub fn desired_app_owner(user: &str) -> Value {
    json!({ "owner": user.to_ascii_lowercase() })
}

fn wanted(step: &Step) -> Result<(String, String), ActError> {
    let id = step
        .change
        .get("co_owner")
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
        .ok_or_else(|| ActError::CorruptPlan(format!("step {}: no co_owner", step.index)))?;
    let kind = step
        .change
        .get("type")
        .and_then(Value::as_str)
        .unwrap_or("User");
    Ok((id.to_ascii_lowercase(), kind.to_string()))
}

fn is_app(step: &Step) -> bool {
    step.target.kind.eq_ignore_ascii_case("app")
}

pub(crate) async fn read(ctx: &Ctx, step: &Step) -> Result<Observed, ActError> {
    let env = step.target.environment.as_deref().unwrap_or_default();
    let res = &step.target.id;
    if is_app(step) {
        let doc: Value = ctx
            .clients
            .powerapps
            .get_app(env, res)
            .await
            .map_err(ActError::client(format!("reading app {res}")))?;
        let owner = doc
            .pointer("/properties/owner/id")
            .and_then(Value::as_str)
            .map(str::to_ascii_lowercase);
        return Ok(Observed {
            state: json!({ "owner": owner }),
            busy: false,
            handle: Value::Null,
        });
    }
    let (who, kind) = wanted(step)?;
    let perms: Vec<Value> = ctx
        .clients
        .flow
        .flow_permissions(env, res)
        .try_collect()
        .await
        .map_err(ActError::client(format!(
            "reading the permissions of flow {res}"
        )))?;
    let mine = perms.iter().find(|p| {
        p.pointer("/properties/principal/id")
            .and_then(Value::as_str)
            .is_some_and(|id| id.eq_ignore_ascii_case(&who))
    });
    let role = mine
        .and_then(|p| p.pointer("/properties/roleName"))
        .and_then(Value::as_str)
        .map(|r| match r {
            "Owner" | "CanEdit" => "CanEdit".to_string(),
            other => other.to_string(),
        });
    Ok(Observed {
        state: json!({ "co_owner": who, "type": kind, "role": role }),
        busy: false,
        handle: Value::Null,
    })
}

pub(crate) async fn write(ctx: &Ctx, step: &Step, _o: &Observed) -> Result<String, ActError> {
    let env = step.target.environment.as_deref().unwrap_or_default();
    let res = &step.target.id;
    if is_app(step) {
        let owner = step
            .change
            .get("owner")
            .and_then(Value::as_str)
            .filter(|s| !s.is_empty())
            .ok_or_else(|| ActError::CorruptPlan(format!("step {}: no owner", step.index)))?;
        let body = json!({ "newAppOwner": owner, "roleForOldAppOwner": "CanView" });
        let r = ctx
            .clients
            .powerapps
            .modify_app_owner(env, res, &body)
            .await
            .map_err(ActError::client(format!("changing the owner of app {res}")))?;
        return Ok(r.request_id);
    }
    let (who, kind) = wanted(step)?;
    let body = match step.change.get("role").and_then(Value::as_str) {
        Some(role) => json!({ "put": [{ "properties": {
            "principal": { "id": who, "type": kind },
            "roleName": role,
        } }] }),
        // Undo of an added co-owner: remove the permission.
        None => json!({ "delete": [{ "id": who }] }),
    };
    let r = ctx
        .clients
        .flow
        .modify_flow_permissions(env, res, &body)
        .await
        .map_err(ActError::client(format!(
            "changing the permissions of flow {res}"
        )))?;
    Ok(r.request_id)
}
