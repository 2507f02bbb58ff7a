//! PPG-ACT-005: create or update DLP policies to a declared desired state (seed 000, 002).
//! Declared; not plannable in this build.

use crate::action::{ActionMeta, Reversibility};

/// The declaration.
pub const META: ActionMeta = ActionMeta {
    id: "PPG-ACT-005",
    title: "Create or update DLP policies to a desired state",
    resource: "DLP policy (GOV v2 POST/PATCH policies)",
    preconditions: &["the connectors named exist in the tenant"],
    permissions: &["Power Platform administrator"],
    verification: "re-read the policy; connector groups equal the desired ones, compared as sets",
    undo: Reversibility::Restore,
    undo_text: "write the recorded policy back (delete a policy the step created)",
    plannable: false,
};
