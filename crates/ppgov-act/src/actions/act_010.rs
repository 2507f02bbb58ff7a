//! PPG-ACT-010: remove a connection (seed 002).
//!
//! Power Apps admin `DELETE PAE/{env}/apis/{connector}/connections/{conn}` (REFERENCE C2). The
//! connector is not in a finding, so the step reads the environment's connections (C1) live,
//! finds the connection by name and takes its `apiId` from there; a connection that is gone is
//! already in the desired state. Not reversible: the connection's credentials go with it, and
//! every flow and app using it fails until someone makes a new one.

use super::{Ctx, Observed};
use crate::ActError;
use crate::action::{ActionMeta, Reversibility};
use crate::plan::Step;
use futures::TryStreamExt;
use serde_json::{Value, json};

/// The declaration.
pub const META: ActionMeta = ActionMeta {
    id: "PPG-ACT-010",
    title: "Remove a connection",
    resource: "connection (Power Apps admin DELETE)",
    preconditions: &["no flow that must keep running uses it"],
    permissions: &["Power Platform administrator"],
    verification: "re-read the connections of the environment; it is gone",
    undo: Reversibility::NotReversible,
    undo_text: "not reversible: the connection's credentials are gone with it",
    plannable: true,
};

/// The warning every removal carries in its plan.
pub const WARNING: &str = "removing a connection cannot be undone: flows and apps that use it fail until their owners create a new connection";

/// The desired state: the connection is gone.
pub fn desired() -> Value {
    json!({ "exists": false })
}

pub(crate) async fn read(ctx: &Ctx, step: &Step) -> Result<Observed, ActError> {
    let env = step.target.environment.as_deref().unwrap_or_default();
    let name = &step.target.id;
    let list: Vec<Value> = ctx
        .clients
        .powerapps
        .list_connections(env)
        .try_collect()
        .await
        .map_err(ActError::client(format!(
            "listing the connections of environment {env}"
        )))?;
    let found = list.iter().find(|c| {
        c.get("name")
            .and_then(Value::as_str)
            .is_some_and(|n| n.eq_ignore_ascii_case(name))
    });
    let Some(c) = found else {
        return Ok(Observed {
            state: json!({ "exists": false }),
            busy: false,
            handle: Value::Null,
        });
    };
    let api = c
        .pointer("/properties/apiId")
        .and_then(Value::as_str)
        .map(ppgov_core::connector_key)
        .filter(|k| !k.is_empty())
        .ok_or_else(|| {
            ActError::Invalid(format!(
                "connection {name} in environment {env} has no apiId; it cannot be addressed for removal"
            ))
        })?;
    Ok(Observed {
        state: json!({ "exists": true }),
        busy: false,
        handle: json!({ "connector": api }),
    })
}

pub(crate) async fn write(ctx: &Ctx, step: &Step, o: &Observed) -> Result<String, ActError> {
    let env = step.target.environment.as_deref().unwrap_or_default();
    let connector = o
        .handle
        .get("connector")
        .and_then(Value::as_str)
        .ok_or_else(|| ActError::Invalid("the connection's connector was not read".into()))?;
    let r = ctx
        .clients
        .powerapps
        .delete_connection(env, connector, &step.target.id)
        .await
        .map_err(ActError::client(format!(
            "removing connection {} in environment {env}",
            step.target.id
        )))?;
    Ok(r.request_id)
}
