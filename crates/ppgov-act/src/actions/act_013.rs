//! PPG-ACT-013: notify makers, owners, their managers and IT (seed 000, 002).
//! Declared; not built in this round (no notification sinks yet).

use crate::action::{ActionMeta, Reversibility};

/// The declaration.
pub const META: ActionMeta = ActionMeta {
    id: "PPG-ACT-013",
    title: "Notify makers, owners, their managers and IT",
    resource: "e-mail (SMTP) and webhooks",
    preconditions: &["a sink is configured"],
    permissions: &["Graph User.Read.All for managers"],
    verification: "the sink accepted the message",
    undo: Reversibility::NotReversible,
    undo_text: "a sent message cannot be recalled",
    plannable: false,
};
