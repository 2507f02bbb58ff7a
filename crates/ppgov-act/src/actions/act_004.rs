//! PPG-ACT-004: make an environment managed and set its sharing limits, solution checker mode and
//! usage insights (seed 001). Declared; not plannable in this build.

use crate::action::{ActionMeta, Reversibility};

/// The declaration.
pub const META: ActionMeta = ActionMeta {
    id: "PPG-ACT-004",
    title: "Make an environment managed with the routing preset's settings",
    resource: "environment governanceConfiguration (BAP POST, 202 + lifecycle operation)",
    preconditions: &["the environment is a developer or production environment with Dataverse"],
    permissions: &["Power Platform administrator"],
    verification: "re-read governanceConfiguration; protectionLevel Standard and the preset's settings",
    undo: Reversibility::Restore,
    undo_text: "post the recorded governanceConfiguration back",
    plannable: false,
};
