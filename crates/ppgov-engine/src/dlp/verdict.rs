//! DLP verdicts of one app or flow, with the policy, connector and rule behind each violation.

use super::effective::{Effective, group_of};
use crate::flowdef::{ApiAction, HTTP, HttpAction, flow_facts};
use ppgov_core::{App, DlpGroup, Flow};
use serde::Serialize;

/// Why a resource violates a policy.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ViolationKind {
    /// The connector is in the policy's Blocked group.
    ConnectorBlocked,
    /// An action of the connector is blocked by the policy's action rules.
    ActionBlocked,
    /// An HTTP endpoint is denied by the policy's endpoint rules.
    EndpointDenied,
    /// Business and Non-Business connectors are used together.
    MixedGroups,
}

/// One violation: which policy, which connector, which rule.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub struct Violation {
    /// What kind.
    pub kind: ViolationKind,
    /// Policy `name`.
    pub policy_id: String,
    /// Policy display name.
    pub policy_name: String,
    /// The connector at fault (absent for mixed groups).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub connector: Option<String>,
    /// The blocked action id, or the denied URL.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
    /// The endpoint rule that matched (`order N: pattern`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rule: Option<String>,
    /// Business connectors used (mixed groups).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub business: Vec<String>,
    /// Non-Business connectors used (mixed groups).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub non_business: Vec<String>,
}

impl Violation {
    /// One sentence for people.
    pub fn explain(&self) -> String {
        let c = self.connector.as_deref().unwrap_or("-");
        match self.kind {
            ViolationKind::ConnectorBlocked => {
                format!("policy '{}' blocks connector {c}", self.policy_name)
            }
            ViolationKind::ActionBlocked => format!(
                "policy '{}' blocks action {} of connector {c}",
                self.policy_name,
                self.detail.as_deref().unwrap_or("-")
            ),
            ViolationKind::EndpointDenied => format!(
                "policy '{}' denies endpoint {} of connector {c} by rule {}",
                self.policy_name,
                self.detail.as_deref().unwrap_or("-"),
                self.rule.as_deref().unwrap_or("-")
            ),
            ViolationKind::MixedGroups => format!(
                "policy '{}' separates Business ({}) from Non-Business ({})",
                self.policy_name,
                self.business.join(", "),
                self.non_business.join(", ")
            ),
        }
    }
}

/// The DLP verdict of one resource.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Verdict {
    /// Connector, action and endpoint blocks (PPG-DLP-001).
    pub blocked: Vec<Violation>,
    /// Business/Non-Business mixes (PPG-DLP-002).
    pub mixed: Vec<Violation>,
}

impl Verdict {
    /// True when nothing is violated.
    pub fn is_clean(&self) -> bool {
        self.blocked.is_empty() && self.mixed.is_empty()
    }
}

/// Judges a set of used connectors, connector actions and HTTP actions against an environment's
/// effective policy.
pub fn verdict(
    eff: &Effective<'_>,
    connectors: &[String],
    api_actions: &[ApiAction],
    http_actions: &[HttpAction],
) -> Verdict {
    let mut v = Verdict::default();
    if !eff.any() {
        return v;
    }
    let base = |kind, p: &ppgov_core::DlpPolicy, connector: Option<&str>| Violation {
        kind,
        policy_id: p.id.clone(),
        policy_name: p.display_name.clone(),
        connector: connector.map(str::to_string),
        detail: None,
        rule: None,
        business: vec![],
        non_business: vec![],
    };
    for c in connectors {
        for p in eff.blocking_policies(c) {
            v.blocked
                .push(base(ViolationKind::ConnectorBlocked, p, Some(c)));
        }
    }
    for a in api_actions {
        for p in eff.action_blocking_policies(&a.connector, &a.operation_id) {
            let mut x = base(ViolationKind::ActionBlocked, p, Some(&a.connector));
            x.detail = Some(a.operation_id.clone());
            v.blocked.push(x);
        }
    }
    for h in http_actions {
        let Some(url) = h.literal_uri.as_deref() else {
            continue;
        };
        for (p, rule) in eff.endpoint_denials(HTTP, url) {
            let mut x = base(ViolationKind::EndpointDenied, p, Some(HTTP));
            x.detail = Some(url.to_string());
            x.rule = Some(format!("order {}: {}", rule.order, rule.endpoint));
            v.blocked.push(x);
        }
    }
    for p in &eff.policies {
        let (mut business, mut non_business) = (vec![], vec![]);
        for c in connectors {
            if eff.is_blocked(c) {
                continue;
            }
            match group_of(p, c) {
                DlpGroup::Business => business.push(c.clone()),
                DlpGroup::NonBusiness => non_business.push(c.clone()),
                DlpGroup::Blocked => {}
            }
        }
        if !business.is_empty() && !non_business.is_empty() {
            let mut x = base(ViolationKind::MixedGroups, p, None);
            x.business = business;
            x.non_business = non_business;
            v.mixed.push(x);
        }
    }
    v.blocked.sort();
    v.blocked.dedup();
    v.mixed.sort();
    v
}

/// The verdict of an app (its connection references' connectors).
pub fn app_verdict(eff: &Effective<'_>, app: &App) -> Verdict {
    let mut connectors: Vec<String> = app
        .connectors
        .iter()
        .map(|c| c.key.clone())
        .filter(|k| !k.is_empty())
        .collect();
    connectors.sort();
    connectors.dedup();
    verdict(eff, &connectors, &[], &[])
}

/// The verdict of a flow (connection references, virtual connectors, actions, HTTP endpoints).
pub fn flow_verdict(eff: &Effective<'_>, flow: &Flow) -> Verdict {
    let facts = flow_facts(flow);
    verdict(
        eff,
        &facts.connectors,
        &facts.api_actions,
        &facts.http_actions,
    )
}
