//! What-if: evaluate every app and flow with a draft policy added (or replacing a named policy)
//! and list resources, not violations: what complies today and would not (newly broken), what
//! already violates and would violate more (already violating), and what would be fixed.
//! Unverifiable items (dynamic endpoints, custom connectors without a collected host) count as
//! not complying, so a simulation never promises a pass it could not check.

use super::effective::DlpEngine;
use super::verdict::{Verdict, Violation, app_connectors, verdict_with};
use crate::flowdef::{ApiAction, HttpAction, flow_facts};
use ppgov_core::{DlpPolicy, ResourceKind, Snapshot};
use serde::Serialize;
use std::collections::BTreeSet;

/// One app or flow whose verdict changes.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct SimulatedChange {
    /// Environment id.
    pub environment_id: String,
    /// Environment display name.
    pub environment_name: String,
    /// App or flow.
    pub kind: ResourceKind,
    /// Resource id.
    pub id: String,
    /// Display name.
    pub name: String,
    /// Owner (app owner or flow creator): UPN or e-mail when known, else object id.
    pub owner: Option<String>,
    /// The violations that appear (break) or disappear (fix).
    pub violations: Vec<Violation>,
}

/// The outcome of a simulation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SimulationReport {
    /// The draft's id.
    pub policy_id: String,
    /// The draft's display name.
    pub policy_name: String,
    /// The policy the draft replaces, if any.
    pub replaces: Option<String>,
    /// True when `replaces` named a policy that exists.
    pub replaced_found: bool,
    /// Apps evaluated.
    pub apps_evaluated: usize,
    /// Flows evaluated.
    pub flows_evaluated: usize,
    /// Resources that comply today and would not under the draft (with the violations they
    /// would get), sorted by environment, kind, id.
    pub would_break: Vec<SimulatedChange>,
    /// Resources that already violate today and would get more violations (the new ones
    /// listed), sorted likewise.
    pub already_violating: Vec<SimulatedChange>,
    /// Resources losing violations they have today, sorted likewise.
    pub would_fix: Vec<SimulatedChange>,
}

/// Evaluates all apps and flows with `draft` added to the current policies, or replacing the
/// policy whose id or display name is `replace`, and compares with the current verdicts.
pub fn simulate(snapshot: &Snapshot, draft: &DlpPolicy, replace: Option<&str>) -> SimulationReport {
    let current = DlpEngine::for_snapshot(snapshot);
    let is_replaced = |p: &DlpPolicy| {
        replace.is_some_and(|r| p.id.eq_ignore_ascii_case(r) || p.display_name == r)
    };
    let replaced_found = snapshot.dlp_policies.iter().any(is_replaced);
    let proposed_policies = snapshot
        .dlp_policies
        .iter()
        .filter(|p| !is_replaced(p))
        .chain(std::iter::once(draft));
    let proposed = DlpEngine::for_snapshot_with(snapshot, proposed_policies);

    let mut report = SimulationReport {
        policy_id: draft.id.clone(),
        policy_name: draft.display_name.clone(),
        replaces: replace.map(str::to_string),
        replaced_found,
        apps_evaluated: snapshot.apps.len(),
        flows_evaluated: snapshot.flows.len(),
        would_break: vec![],
        already_violating: vec![],
        would_fix: vec![],
    };
    let env_name = |id: &str| {
        snapshot
            .environment(id)
            .map(|e| e.display_name.clone())
            .unwrap_or_default()
    };
    let owner_name = |id: &str| {
        snapshot
            .principal(id)
            .and_then(|p| p.upn.clone().or_else(|| p.mail.clone()))
            .unwrap_or_else(|| id.to_string())
    };
    let mut push = |kind,
                    id: &str,
                    name: &str,
                    env: &str,
                    owner: Option<String>,
                    before: Verdict,
                    after: Verdict| {
        let b: BTreeSet<Violation> = before.all().cloned().collect();
        let a: BTreeSet<Violation> = after.all().cloned().collect();
        let change = |violations: Vec<Violation>| SimulatedChange {
            environment_id: env.to_string(),
            environment_name: env_name(env),
            kind,
            id: id.to_string(),
            name: name.to_string(),
            owner: owner.clone(),
            violations,
        };
        let new: Vec<Violation> = a.difference(&b).cloned().collect();
        let gone: Vec<Violation> = b.difference(&a).cloned().collect();
        if !new.is_empty() {
            if b.is_empty() {
                report.would_break.push(change(new));
            } else {
                report.already_violating.push(change(new));
            }
        }
        if !gone.is_empty() {
            report.would_fix.push(change(gone));
        }
    };
    for app in &snapshot.apps {
        let (connectors, custom) = app_connectors(app);
        let before = judge(
            &current,
            &app.environment_id,
            &connectors,
            &custom,
            &[],
            &[],
        );
        let after = judge(
            &proposed,
            &app.environment_id,
            &connectors,
            &custom,
            &[],
            &[],
        );
        if before != after {
            let owner = app
                .owner
                .as_ref()
                .map(|o| o.email.clone().unwrap_or_else(|| owner_name(&o.id)));
            push(
                ResourceKind::App,
                &app.id,
                &app.display_name,
                &app.environment_id,
                owner,
                before,
                after,
            );
        }
    }
    for flow in &snapshot.flows {
        let f = flow_facts(flow);
        let before = judge(
            &current,
            &flow.environment_id,
            &f.connectors,
            &[],
            &f.api_actions,
            &f.http_actions,
        );
        let after = judge(
            &proposed,
            &flow.environment_id,
            &f.connectors,
            &[],
            &f.api_actions,
            &f.http_actions,
        );
        if before != after {
            let owner = flow.creator.as_deref().map(owner_name);
            push(
                ResourceKind::Flow,
                &flow.id,
                &flow.display_name,
                &flow.environment_id,
                owner,
                before,
                after,
            );
        }
    }
    report.would_break.sort();
    report.already_violating.sort();
    report.would_fix.sort();
    report
}

/// Verdict against an engine's precomputed effective policy (computed on the fly for unknown environments).
fn judge(
    engine: &DlpEngine<'_>,
    env: &str,
    connectors: &[String],
    custom: &[String],
    actions: &[ApiAction],
    http: &[HttpAction],
) -> Verdict {
    match engine.effective_ref(env) {
        Some(eff) => verdict_with(eff, connectors, custom, actions, http),
        None => verdict_with(&engine.effective(env), connectors, custom, actions, http),
    }
}
