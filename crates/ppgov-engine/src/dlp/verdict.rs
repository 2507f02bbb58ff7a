//! DLP verdicts of one app or flow, with the policy, connector and rule behind each violation.

use super::effective::{Class, Effective, EndpointOutcome};
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
    /// An HTTP endpoint the policy's endpoint rules cannot judge (its host, or the part of its
    /// path a rule depends on, is an expression).
    EndpointUnverifiable,
    /// A custom connector whose host was not collected, so the policy's URL patterns cannot
    /// classify it.
    CustomConnectorHostUnknown,
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
            ViolationKind::EndpointUnverifiable => format!(
                "policy '{}' has endpoint rules for connector {c} that cannot be checked against {} (dynamic endpoint{})",
                self.policy_name,
                self.detail.as_deref().unwrap_or("-"),
                self.rule
                    .as_deref()
                    .map(|r| format!(", rule {r}"))
                    .unwrap_or_default()
            ),
            ViolationKind::CustomConnectorHostUnknown => format!(
                "policy '{}' classifies custom connector {c} by URL pattern, but its host was not collected",
                self.policy_name
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
    /// What could not be judged (reported by PPG-DLP-001 so it never passes unseen).
    pub unverified: Vec<Violation>,
}

impl Verdict {
    /// True when nothing is violated and everything could be judged.
    pub fn is_clean(&self) -> bool {
        self.blocked.is_empty() && self.mixed.is_empty() && self.unverified.is_empty()
    }

    /// Every violation and unverifiable item, in one list.
    pub fn all(&self) -> impl Iterator<Item = &Violation> {
        self.blocked
            .iter()
            .chain(&self.mixed)
            .chain(&self.unverified)
    }
}

/// Judges a set of used connectors (sorted, unique), connector actions and HTTP actions
/// against an environment's effective policy.
pub fn verdict(
    eff: &Effective<'_>,
    connectors: &[String],
    api_actions: &[ApiAction],
    http_actions: &[HttpAction],
) -> Verdict {
    verdict_with(eff, connectors, &[], api_actions, http_actions)
}

/// [`verdict`], with `custom_hints` naming connectors the resource itself marks as custom
/// (an app's `isCustomApiConnection`) even when the environment's custom connectors were not
/// collected.
pub fn verdict_with(
    eff: &Effective<'_>,
    connectors: &[String],
    custom_hints: &[String],
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
    let custom = |c: &str| eff.is_custom(c, custom_hints.iter().any(|h| h == c));
    let mut blocked_here: Vec<&str> = vec![];
    for c in connectors {
        let is_custom = custom(c);
        for p in &eff.policies {
            match eff.classify(p, c, is_custom) {
                Class::Group(DlpGroup::Blocked) => {
                    let mut x = base(ViolationKind::ConnectorBlocked, p, Some(c));
                    if is_custom && !p.connectors.contains_key(c.as_str()) {
                        x.rule = eff.deciding_pattern(p, c).map(|r| {
                            format!("custom connector pattern order {}: {}", r.order, r.pattern)
                        });
                        x.detail = eff.custom_host(c).map(str::to_string);
                    }
                    v.blocked.push(x);
                    blocked_here.push(c);
                }
                Class::HostUnknown => {
                    v.unverified
                        .push(base(ViolationKind::CustomConnectorHostUnknown, p, Some(c)));
                }
                _ => {}
            }
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
        for (p, outcome) in eff.endpoint_outcomes(HTTP, h) {
            // The query is left out: it is where SAS signatures and keys travel (PPG-FLW-006
            // reports those without revealing them).
            let shown = h
                .rule_uri
                .as_deref()
                .map(|u| {
                    let base = u.split(['?', '#']).next().unwrap_or(u);
                    let cut = base.len() < u.len() || h.dynamic_path;
                    format!("{base}{}", if cut { "…" } else { "" })
                })
                .unwrap_or_else(|| format!("{} (action {})", h.host, h.name));
            match outcome {
                EndpointOutcome::Denied(rule) => {
                    let mut x = base(ViolationKind::EndpointDenied, p, Some(HTTP));
                    x.detail = Some(shown);
                    x.rule = Some(format!("order {}: {}", rule.order, rule.endpoint));
                    v.blocked.push(x);
                }
                EndpointOutcome::Unverifiable(rule) => {
                    let mut x = base(ViolationKind::EndpointUnverifiable, p, Some(HTTP));
                    x.detail = Some(shown);
                    x.rule = rule.map(|r| format!("order {}: {}", r.order, r.endpoint));
                    v.unverified.push(x);
                }
            }
        }
    }
    for p in &eff.policies {
        let (mut business, mut non_business) = (vec![], vec![]);
        for c in connectors {
            if blocked_here.contains(&c.as_str()) {
                continue;
            }
            match eff.classify(p, c, custom(c)) {
                Class::Group(DlpGroup::Business) => business.push(c.clone()),
                Class::Group(DlpGroup::NonBusiness) => non_business.push(c.clone()),
                _ => {}
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
    v.unverified.sort();
    v.unverified.dedup();
    v
}

/// The connector keys of an app (sorted, unique) and those it marks as custom connectors.
pub fn app_connectors(app: &App) -> (Vec<String>, Vec<String>) {
    let mut keys: Vec<String> = app
        .connectors
        .iter()
        .map(|c| c.key.clone())
        .filter(|k| !k.is_empty())
        .collect();
    keys.sort();
    keys.dedup();
    let mut custom: Vec<String> = app
        .connectors
        .iter()
        .filter(|c| c.is_custom)
        .map(|c| c.key.clone())
        .collect();
    custom.sort();
    custom.dedup();
    (keys, custom)
}

/// The verdict of an app (its connection references' connectors).
pub fn app_verdict(eff: &Effective<'_>, app: &App) -> Verdict {
    let (connectors, custom) = app_connectors(app);
    verdict_with(eff, &connectors, &custom, &[], &[])
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
