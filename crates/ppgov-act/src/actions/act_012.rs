//! PPG-ACT-012: self-elevate to System Administrator in an environment (seed 003).
//!
//! `POST https://api.powerplatform.com/usermanagement/environments/{env}/user/applyAdminRole`,
//! no body, as the signed-in user: it needs a delegated token (the user's own) and is refused
//! for app-only sign-ins before any call. Run by `ppgov elevate`, not through a plan; see
//! `crate::elevate`.

use crate::action::{ActionMeta, Reversibility};

/// The declaration.
pub const META: ActionMeta = ActionMeta {
    id: "PPG-ACT-012",
    title: "Self-elevate to System Administrator (applyAdminRole)",
    resource: "the signed-in user's role in an environment's Dataverse (PPAPI applyAdminRole)",
    preconditions: &[
        "a delegated sign-in (password or device code); app-only identities are refused",
        "the user is Global, Power Platform or Dynamics 365 administrator",
        "the environment has Dataverse",
    ],
    permissions: &["Power Platform API, delegated"],
    verification: "the response's information carries no errors (UserExists / created); an empty body is success",
    undo: Reversibility::Restore,
    undo_text: "remove the System Administrator role again (PPG-ACT-011), at expiry with --for",
    plannable: false,
};
