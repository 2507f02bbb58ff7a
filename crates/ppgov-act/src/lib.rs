//! Remediation: the catalogue's actions (`PPG-ACT-001` to `013`, one file each under
//! `actions/`), plan files with an integrity digest, four-eyes approval, apply (drift skipped,
//! bounded concurrency, lifecycle polling, every effect verified), the hash-chained journal in
//! the store, revert, role clean-up and just-in-time elevation.
//!
//! A plan is made from live reads and changes nothing; apply re-reads each target before it
//! writes: a target in the desired state is left alone (so a second apply does nothing), one that
//! is neither what the plan expected nor the desired state has drifted and is skipped. The
//! journal gets "started" before a write and "done" after it is verified, so a rerun after a
//! crash skips finished steps and re-reads unfinished ones to decide whether the write took
//! effect; no side effect is repeated.

mod action;
pub mod actions;
pub mod apply;
mod approve;
pub mod cleanup;
pub mod desired;
pub mod due;
pub mod elevate;
mod error;
mod grace;
mod identity;
pub mod notices;
pub mod plan;
pub mod planner;
mod presets;
pub mod reassign;
pub mod render;
pub mod request;
pub mod roles;

pub use action::{ActionMeta, Reversibility, catalogue, meta};
pub use actions::Ctx;
pub use apply::{ApplyOptions, ApplyReport, StepOutcome, StepResult, apply};
pub use approve::{APPROVE_ACTION, approve, recorded_approvals};
pub use error::ActError;
pub use grace::tells_first;
pub use identity::whoami;
pub use plan::{Admission, Approval, Grace, Identity, Plan, Step, Target, Undo, admit};
