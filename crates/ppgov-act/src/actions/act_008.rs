//! PPG-ACT-008: add a co-owner or reassign an orphaned flow or app (seed 002).
//! Declared; not plannable in this build.

use crate::action::{ActionMeta, Reversibility};

/// The declaration.
pub const META: ActionMeta = ActionMeta {
    id: "PPG-ACT-008",
    title: "Add a co-owner or reassign an orphaned flow or app",
    resource: "flow or app permissions (modifyPermissions / modifyAppOwner)",
    preconditions: &["the new owner (user or group) exists in Entra"],
    permissions: &["Power Platform administrator"],
    verification: "re-read the permissions; the new owner is listed",
    undo: Reversibility::Restore,
    undo_text: "remove the added owner again",
    plannable: false,
};
