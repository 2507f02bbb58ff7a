//! PPG-ACT-002: turn on "add canvas apps and cloud flows to solutions by default" (seed 000).
//!
//! Dataverse `PATCH /api/data/v9.2/organizations({id})` with `enablecanvasappsinsolutionsbydefault`
//! and `enableflowsinsolutionbydefault`; 204.

use super::{Ctx, Observed, dataverse_of};
use crate::ActError;
use crate::action::{ActionMeta, Reversibility};
use crate::plan::Step;
use serde_json::{Value, json};

/// The declaration.
pub const META: ActionMeta = ActionMeta {
    id: "PPG-ACT-002",
    title: "Add new canvas apps and cloud flows to solutions by default",
    resource: "the environment's Dataverse organizations row (PATCH, 204)",
    preconditions: &["the environment has Dataverse"],
    permissions: &["System Administrator in the environment (Dataverse user_impersonation)"],
    verification: "re-read the organizations row; both flags are true",
    undo: Reversibility::Restore,
    undo_text: "set both flags back to their recorded values",
    plannable: true,
};

/// The columns this action controls.
pub const COLUMNS: [&str; 2] = [
    "enablecanvasappsinsolutionsbydefault",
    "enableflowsinsolutionbydefault",
];

/// The state from an organizations row (an absent flag reads as the service default, false).
pub fn state_of(row: &Value) -> Value {
    let mut out = serde_json::Map::new();
    for c in COLUMNS {
        out.insert(
            c.into(),
            Value::Bool(row.get(c).and_then(Value::as_bool).unwrap_or(false)),
        );
    }
    Value::Object(out)
}

/// Both flags on.
pub fn desired() -> Value {
    json!({ COLUMNS[0]: true, COLUMNS[1]: true })
}

pub(crate) async fn read(ctx: &Ctx, step: &Step) -> Result<Observed, ActError> {
    let dv = dataverse_of(ctx, &step.target.id).await?;
    let row: Option<Value> = dv.organization().await.map_err(ActError::client(format!(
        "reading the organization of environment {}",
        step.target.id
    )))?;
    let Some(row) = row else {
        return Err(ActError::Invalid(format!(
            "environment {} has no organizations row",
            step.target.id
        )));
    };
    let id = row.get("organizationid").cloned().unwrap_or(Value::Null);
    Ok(Observed {
        state: state_of(&row),
        busy: false,
        handle: id,
    })
}

pub(crate) async fn write(ctx: &Ctx, step: &Step, o: &Observed) -> Result<String, ActError> {
    let dv = dataverse_of(ctx, &step.target.id).await?;
    let id = o
        .handle
        .as_str()
        .ok_or_else(|| ActError::Invalid("the organizations row has no organizationid".into()))?;
    let r = dv
        .patch_organization(id, &step.change)
        .await
        .map_err(ActError::client(format!(
            "updating the organization of environment {}",
            step.target.id
        )))?;
    Ok(r.request_id)
}
