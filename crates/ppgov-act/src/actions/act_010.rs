//! PPG-ACT-010: remove a connection (seed 002). Declared; not plannable in this build.

use crate::action::{ActionMeta, Reversibility};

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
    plannable: false,
};
