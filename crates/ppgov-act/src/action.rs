//! What an action declares: the resource it acts on, its preconditions, the permissions it needs,
//! how its effect is verified and what undoing it means.

use serde::Serialize;

/// What undoing an action means.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Reversibility {
    /// Restore the before-state recorded in the journal.
    Restore,
    /// Cannot be undone (a delete).
    NotReversible,
}

/// One action of the catalogue (`PPG-ACT-001` ...).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct ActionMeta {
    /// Stable id.
    pub id: &'static str,
    /// What it does, in a few words.
    pub title: &'static str,
    /// The resource it acts on and the call that changes it.
    pub resource: &'static str,
    /// What must hold before it runs.
    pub preconditions: &'static [&'static str],
    /// API permissions or roles it needs.
    pub permissions: &'static [&'static str],
    /// How its effect is verified.
    pub verification: &'static str,
    /// Whether it can be undone.
    pub undo: Reversibility,
    /// What undoing it means, in words.
    pub undo_text: &'static str,
    /// Whether `ppgov plan` can plan it in this build (the others are declared, not yet built).
    pub plannable: bool,
}

/// Every action of the catalogue, in id order.
pub fn catalogue() -> Vec<&'static ActionMeta> {
    use crate::actions::*;
    vec![
        &act_001::META,
        &act_002::META,
        &act_003::META,
        &act_004::META,
        &act_005::META,
        &act_006::META,
        &act_007::META,
        &act_008::META,
        &act_009::META,
        &act_010::META,
        &act_011::META,
        &act_012::META,
        &act_013::META,
    ]
}

/// The declaration of one action id.
pub fn meta(id: &str) -> Option<&'static ActionMeta> {
    catalogue()
        .into_iter()
        .find(|m| m.id.eq_ignore_ascii_case(id))
}
