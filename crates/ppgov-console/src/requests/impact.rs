//! What allowing a connector would do, judged on the latest snapshot by the DLP engine (the
//! same simulation as `ppgov dlp simulate`): per policy covering the environment, the apps and
//! flows it would newly allow and any it would newly break.

use ppgov_core::{DlpGroup, Snapshot, connector_key};
use ppgov_engine::dlp::{applies_to, simulate};
use serde::Serialize;

/// The effect of one policy's change.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub(crate) struct PolicyImpact {
    /// The policy's display name.
    pub policy: String,
    /// The connector's group today (`business`, `non_business`, `blocked`).
    pub now: &'static str,
    /// Apps and flows that violate the policy today and would not.
    pub would_allow: Vec<String>,
    /// Apps and flows that would newly violate it.
    pub would_break: Vec<String>,
}

fn name(g: DlpGroup) -> &'static str {
    match g {
        DlpGroup::Business => "business",
        DlpGroup::NonBusiness => "non_business",
        DlpGroup::Blocked => "blocked",
    }
}

/// The impact of moving `connector` into `group` (`business` or `non_business`) in every policy
/// covering `environment`.
pub(crate) fn of(
    snapshot: &Snapshot,
    environment: &str,
    connector: &str,
    group: &str,
) -> Vec<PolicyImpact> {
    let key = connector_key(connector);
    let target = if group == "business" {
        DlpGroup::Business
    } else {
        DlpGroup::NonBusiness
    };
    let mut out = Vec::new();
    for p in snapshot
        .dlp_policies
        .iter()
        .filter(|p| applies_to(p, environment))
    {
        let now = p.connectors.get(&key).copied().unwrap_or(p.default_group);
        if now == target {
            continue;
        }
        let mut draft = p.clone();
        draft.connectors.insert(key.clone(), target);
        let r = simulate(snapshot, &draft, Some(&p.id));
        let label = |c: &ppgov_engine::dlp::SimulatedChange| {
            format!("{:?} {} ({})", c.kind, c.name, c.environment_name).to_lowercase()
        };
        out.push(PolicyImpact {
            policy: p.display_name.clone(),
            now: name(now),
            would_allow: r.would_fix.iter().map(label).collect(),
            would_break: r.would_break.iter().map(label).collect(),
        });
    }
    out
}
