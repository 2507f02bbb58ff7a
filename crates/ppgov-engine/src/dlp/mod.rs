//! The DLP engine: the effective policy of each environment (every applicable policy at once),
//! verdicts for apps and flows with their explanation, and what-if simulation of a draft policy.
//! (Drafts are read like crawled policies: `ppgov-model`'s type, then `ppgov-crawl`'s mapping.)
//!
//! Semantics follow `docs/rule-semantics.md`: a policy applies to an environment when it is
//! `AllEnvironments`, `OnlyEnvironments` listing it, or `ExceptEnvironments` not listing it
//! (names compared case-insensitively). A connector is blocked when any applicable policy puts it
//! in Blocked, unless it is unblockable. Action rules and `http` endpoint rules add blocks.

mod effective;
mod simulate;
mod verdict;

pub use effective::{
    Class, CustomConnectors, DlpEngine, Effective, EndpointOutcome, FALLBACK_UNBLOCKABLE,
    UNCLASSIFIABLE, applies_to, group_of, is_unclassifiable, looks_custom,
};
pub use simulate::{SimulatedChange, SimulationReport, simulate};
pub use verdict::{
    Verdict, Violation, ViolationKind, app_connectors, app_verdict, flow_verdict, verdict,
    verdict_with,
};

/// The effective policy of one environment of a snapshot (one-off convenience; build a
/// [`DlpEngine`] once when judging many resources).
pub fn effective<'a>(snapshot: &'a ppgov_core::Snapshot, env_id: &str) -> Effective<'a> {
    DlpEngine::for_snapshot(snapshot).effective(env_id)
}
