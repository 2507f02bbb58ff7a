//! PPG-ACT-003: turn on default environment routing with its prerequisite (seed 001).
//!
//! Routing needs developer environment creation open to everyone, so the step sets both
//! `powerPlatform.governance.enableDefaultEnvironmentRouting = true` and
//! `disableDeveloperEnvironmentCreationByNonAdminUsers = false` in one
//! `POST .../scopes/admin/updateTenantSettings`. It is a tenant-settings step (see ACT-006).

use crate::action::{ActionMeta, Reversibility};
use serde_json::{Value, json};

/// The declaration.
pub const META: ActionMeta = ActionMeta {
    id: "PPG-ACT-003",
    title: "Turn on default environment routing, with its prerequisite",
    resource: "tenant settings (BAP updateTenantSettings, partial object)",
    preconditions: &["developer environment creation open to everyone (set in the same step)"],
    permissions: &["Power Platform administrator"],
    verification: "re-read the tenant settings; routing on, developer creation not restricted",
    undo: Reversibility::Restore,
    undo_text: "set both settings back to their recorded values",
    plannable: true,
};

/// Routing on, developer environments open (the managed developer preset needs ACT-004).
pub fn desired() -> Value {
    json!({
        "/powerPlatform/governance/enableDefaultEnvironmentRouting": true,
        "/powerPlatform/governance/disableDeveloperEnvironmentCreationByNonAdminUsers": false,
    })
}
