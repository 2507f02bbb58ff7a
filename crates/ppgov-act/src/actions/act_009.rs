//! PPG-ACT-009: quarantine or delete apps and flows created in the default environment by
//! unapproved makers, after notice and a grace period. Declared; not plannable in this build.

use crate::action::{ActionMeta, Reversibility};

/// The declaration.
pub const META: ActionMeta = ActionMeta {
    id: "PPG-ACT-009",
    title: "Quarantine or delete unapproved default-environment apps and flows after notice",
    resource: "app quarantine status / flow or app delete",
    preconditions: &["the maker was notified (ACT-013) and the grace period passed"],
    permissions: &["Power Platform administrator"],
    verification: "re-read the resource; quarantined, or gone",
    undo: Reversibility::NotReversible,
    undo_text: "quarantine is undone by unquarantining; a delete is not reversible",
    plannable: false,
};
