//! The effective DLP policy of an environment, computed once per environment per scan.

use crate::flowdef::{HttpAction, glob_match};
use ppgov_core::{
    CollectionKind, CollectionScope, ConnectorMetadata, CustomConnector, DlpGroup, DlpPolicy,
    DlpScope, EndpointRule, Environment, PatternClassification, RuleBehavior, Snapshot,
    UrlPatternRule, connector_key,
};
use std::collections::{HashMap, HashSet};
use std::sync::Arc;

/// Connectors Microsoft documents as unblockable, used only when connector metadata was not
/// collected (the collected list wins).
pub const FALLBACK_UNBLOCKABLE: &[&str] = &[
    "shared_approvals",
    "shared_cloudappsecurity",
    "shared_commondataservice",
    "shared_commondataserviceforapps",
    "shared_excelonlinebusiness",
    "shared_flowpush",
    "shared_kaizala",
    "shared_microsoftformspro",
    "shared_office365",
    "shared_office365groups",
    "shared_office365groupsmail",
    "shared_office365users",
    "shared_onedriveforbusiness",
    "shared_onenote",
    "shared_planner",
    "shared_powerappsnotification",
    "shared_powerappsnotificationv2",
    "shared_powerbi",
    "shared_sharepointonline",
    "shared_shifts",
    "shared_skypeforbiz",
    "shared_teams",
    "shared_todo",
    "shared_yammer",
];

/// Connectors Microsoft documents as not available for classification: they fit Business and
/// Non-Business alike and are never blocked. Content Conversion (`shared_conversionservice`) is
/// the one documented by name; the built-in operations (Control, Data Operation, Variables,
/// Date Time, Schedule, ...) have no connection reference and never reach the connector set.
/// Source: learn.microsoft.com/power-platform/admin/dlp-connector-classification (note on
/// Content Conversion).
pub const UNCLASSIFIABLE: &[&str] = &["shared_conversionservice"];

/// True when DLP cannot classify the connector (see [`UNCLASSIFIABLE`]).
pub fn is_unclassifiable(key: &str) -> bool {
    UNCLASSIFIABLE.contains(&key)
}

/// True for a connector key in the shape the platform gives custom connectors
/// (`shared_<name>-5f<hex>-5f<hex>`), used only when an environment's custom connectors were
/// not collected, so that such a connector is reported as unverifiable rather than guessed.
pub fn looks_custom(key: &str) -> bool {
    let parts: Vec<&str> = key.rsplitn(3, "-5f").collect();
    parts.len() == 3
        && parts[..2]
            .iter()
            .all(|p| p.len() >= 8 && p.chars().all(|c| c.is_ascii_hexdigit()))
}

/// How one policy classifies one connector.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Class {
    /// Business, Non-Business or Blocked.
    Group(DlpGroup),
    /// Fits both groups: unclassifiable connectors, and custom connectors an `Ignore` URL
    /// pattern matches.
    Neutral,
    /// A custom connector whose group depends on a host that was not collected.
    HostUnknown,
}

/// What is known of the custom connectors of one environment.
#[derive(Debug, Clone, Default)]
pub struct CustomConnectors {
    /// True when the environment's custom connectors were collected.
    pub collected: bool,
    /// Key -> host URL (`None` when the host could not be read).
    pub hosts: HashMap<String, Option<String>>,
}

/// True when the policy applies to the environment (names compared case-insensitively).
pub fn applies_to(policy: &DlpPolicy, env_id: &str) -> bool {
    match &policy.scope {
        DlpScope::AllEnvironments => true,
        DlpScope::OnlyEnvironments(list) => list.iter().any(|e| e.eq_ignore_ascii_case(env_id)),
        DlpScope::ExceptEnvironments(list) => !list.iter().any(|e| e.eq_ignore_ascii_case(env_id)),
    }
}

/// The group a policy gives a connector: its explicit group, else the policy's default group.
pub fn group_of(policy: &DlpPolicy, key: &str) -> DlpGroup {
    policy
        .connectors
        .get(key)
        .copied()
        .unwrap_or(policy.default_group)
}

/// Every policy and the unblockable list, with each environment's applicable policies indexed.
#[derive(Debug, Clone)]
pub struct DlpEngine<'a> {
    policies: Vec<&'a DlpPolicy>,
    unblockable: Arc<HashSet<String>>,
    by_env: HashMap<String, Effective<'a>>,
    custom: HashMap<String, Arc<CustomConnectors>>,
}

impl<'a> DlpEngine<'a> {
    /// Indexes the policies for every environment given. `metadata` supplies the unblockable list
    /// (the documented list stands in when it was not collected).
    pub fn new(
        policies: impl IntoIterator<Item = &'a DlpPolicy>,
        environments: &[Environment],
        metadata: &ConnectorMetadata,
    ) -> Self {
        let unblockable: HashSet<String> = if metadata.collected {
            metadata
                .unblockable
                .iter()
                .map(|k| connector_key(k))
                .collect()
        } else {
            FALLBACK_UNBLOCKABLE.iter().map(|s| s.to_string()).collect()
        };
        let mut engine = DlpEngine {
            policies: policies.into_iter().collect(),
            unblockable: Arc::new(unblockable),
            by_env: HashMap::new(),
            custom: HashMap::new(),
        };
        for env in environments {
            let eff = engine.compute(&env.id);
            engine.by_env.insert(env.id.to_ascii_lowercase(), eff);
        }
        engine
    }

    /// Indexes a snapshot's policies, environments, connector metadata and custom connectors.
    pub fn for_snapshot(snapshot: &'a Snapshot) -> Self {
        Self::for_snapshot_with(snapshot, snapshot.dlp_policies.iter())
    }

    /// Like [`DlpEngine::for_snapshot`] with another set of policies (a simulation's draft).
    pub fn for_snapshot_with(
        snapshot: &'a Snapshot,
        policies: impl IntoIterator<Item = &'a DlpPolicy>,
    ) -> Self {
        let engine = DlpEngine::new(
            policies,
            &snapshot.environments,
            &snapshot.connector_metadata,
        );
        let collected: Vec<String> = snapshot
            .environments
            .iter()
            .filter(|e| {
                snapshot.collection.collected(
                    &CollectionScope::Environment(e.id.clone()),
                    CollectionKind::CustomConnectors,
                )
            })
            .map(|e| e.id.clone())
            .collect();
        engine.with_custom_connectors(&snapshot.custom_connectors, &collected)
    }

    /// Adds what is known of custom connectors: `collected_envs` lists the environments whose
    /// custom connectors were collected, `connectors` every one found.
    pub fn with_custom_connectors(
        mut self,
        connectors: &[CustomConnector],
        collected_envs: &[String],
    ) -> Self {
        let mut custom: HashMap<String, CustomConnectors> = HashMap::new();
        for e in collected_envs {
            custom.entry(e.to_ascii_lowercase()).or_default().collected = true;
        }
        for c in connectors {
            custom
                .entry(c.environment_id.to_ascii_lowercase())
                .or_default()
                .hosts
                .insert(c.key.clone(), c.host_url.clone());
        }
        self.custom = custom.into_iter().map(|(k, v)| (k, Arc::new(v))).collect();
        let keys: Vec<String> = self.by_env.keys().cloned().collect();
        for k in keys {
            let eff = self.compute(&k);
            self.by_env.insert(k, eff);
        }
        self
    }

    /// All policies known to the engine.
    pub fn policies(&self) -> &[&'a DlpPolicy] {
        &self.policies
    }

    /// True when the connector can never be blocked.
    pub fn is_unblockable(&self, key: &str) -> bool {
        self.unblockable.contains(key)
    }

    /// The effective policy of an environment (precomputed for known environments).
    pub fn effective(&self, env_id: &str) -> Effective<'a> {
        match self.by_env.get(&env_id.to_ascii_lowercase()) {
            Some(e) => e.clone(),
            None => self.compute(env_id),
        }
    }

    /// Borrowing form of [`DlpEngine::effective`] for hot loops; `None` for unknown environments.
    pub fn effective_ref(&self, env_id: &str) -> Option<&Effective<'a>> {
        self.by_env
            .get(env_id)
            .or_else(|| self.by_env.get(&env_id.to_ascii_lowercase()))
    }

    fn compute(&self, env_id: &str) -> Effective<'a> {
        let policies = self
            .policies
            .iter()
            .copied()
            .filter(|p| applies_to(p, env_id))
            .collect();
        Effective {
            environment_id: env_id.to_string(),
            policies,
            unblockable: Arc::clone(&self.unblockable),
            custom: self
                .custom
                .get(&env_id.to_ascii_lowercase())
                .cloned()
                .unwrap_or_default(),
        }
    }
}

/// The policies that apply to one environment, judged together.
#[derive(Debug, Clone)]
pub struct Effective<'a> {
    /// The environment.
    pub environment_id: String,
    /// Applicable policies, in snapshot order.
    pub policies: Vec<&'a DlpPolicy>,
    unblockable: Arc<HashSet<String>>,
    custom: Arc<CustomConnectors>,
}

impl<'a> Effective<'a> {
    /// True when at least one policy applies.
    pub fn any(&self) -> bool {
        !self.policies.is_empty()
    }

    /// True when the connector can never be blocked.
    pub fn is_unblockable(&self, key: &str) -> bool {
        self.unblockable.contains(key)
    }

    /// True when the connector is one of this environment's custom connectors (as collected),
    /// or `hinted` says so (an app's `isCustomApiConnection`).
    pub fn is_custom(&self, key: &str, hinted: bool) -> bool {
        hinted
            || self.custom.hosts.contains_key(key)
            || (!self.custom.collected && looks_custom(key))
    }

    /// The host URL of a custom connector, when collected.
    pub fn custom_host(&self, key: &str) -> Option<&str> {
        self.custom.hosts.get(key).and_then(|h| h.as_deref())
    }

    /// How `policy` classifies connector `key` here (`custom`: known to be a custom connector).
    ///
    /// - Unclassifiable connectors ([`UNCLASSIFIABLE`]) are [`Class::Neutral`].
    /// - A custom connector listed in the policy (environment-level policies list them by id)
    ///   takes that group; otherwise its host URL goes through the policy's custom connector
    ///   URL patterns in `order`: the first match decides, `Ignore` makes it fit both groups,
    ///   and no pattern at all (or none matching) leaves the policy's default group. Without a
    ///   collected host, a pattern list whose first rule is not `*` cannot be decided
    ///   ([`Class::HostUnknown`]).
    /// - An unblockable connector that the policy puts in Blocked (explicitly, or by a Blocked
    ///   default group) counts as Non-Business, as the platform does for new unblockable
    ///   connectors under a Blocked default group.
    pub fn classify(&self, policy: &DlpPolicy, key: &str, custom: bool) -> Class {
        if is_unclassifiable(key) {
            return Class::Neutral;
        }
        if custom {
            if let Some(g) = policy.connectors.get(key) {
                return Class::Group(*g);
            }
            return match self.custom_pattern(policy, key) {
                PatternOutcome::Group(g) => Class::Group(g),
                PatternOutcome::Ignore => Class::Neutral,
                PatternOutcome::NoMatch => Class::Group(policy.default_group),
                PatternOutcome::HostUnknown => Class::HostUnknown,
            };
        }
        match group_of(policy, key) {
            DlpGroup::Blocked if self.is_unblockable(key) => Class::Group(DlpGroup::NonBusiness),
            g => Class::Group(g),
        }
    }

    fn custom_pattern(&self, policy: &DlpPolicy, key: &str) -> PatternOutcome {
        let mut rules: Vec<&UrlPatternRule> = policy.custom_connector_patterns.iter().collect();
        if rules.is_empty() {
            return PatternOutcome::NoMatch;
        }
        rules.sort_by_key(|r| r.order);
        match self.custom_host(key) {
            Some(url) => rules
                .into_iter()
                .find(|r| endpoint_matches(&r.pattern, url))
                .map(|r| PatternOutcome::of(r.classification))
                .unwrap_or(PatternOutcome::NoMatch),
            None => match rules.first() {
                Some(r) if r.pattern.trim() == "*" => PatternOutcome::of(r.classification),
                _ => PatternOutcome::HostUnknown,
            },
        }
    }

    /// The pattern rule that decides a custom connector's group in `policy` (for evidence).
    pub fn deciding_pattern<'p>(
        &self,
        policy: &'p DlpPolicy,
        key: &str,
    ) -> Option<&'p UrlPatternRule> {
        let url = self.custom_host(key)?;
        let mut rules: Vec<&UrlPatternRule> = policy.custom_connector_patterns.iter().collect();
        rules.sort_by_key(|r| r.order);
        rules
            .into_iter()
            .find(|r| endpoint_matches(&r.pattern, url))
    }

    /// Policies that block this connector (never for unblockable or unclassifiable ones).
    pub fn blocking_policies<'s>(
        &'s self,
        key: &'s str,
    ) -> impl Iterator<Item = &'a DlpPolicy> + 's {
        self.blocking_policies_of(key, false)
    }

    /// [`Effective::blocking_policies`] for a connector that may be custom.
    pub fn blocking_policies_of<'s>(
        &'s self,
        key: &'s str,
        custom_hint: bool,
    ) -> impl Iterator<Item = &'a DlpPolicy> + 's {
        let custom = self.is_custom(key, custom_hint);
        self.policies
            .iter()
            .copied()
            .filter(move |p| self.classify(p, key, custom) == Class::Group(DlpGroup::Blocked))
    }

    /// True when the connector is blocked in this environment.
    pub fn is_blocked(&self, key: &str) -> bool {
        self.blocking_policies(key).next().is_some()
    }

    /// True when a connector listed in no policy would be blocked (some policy's default group is Blocked).
    pub fn unlisted_blocked(&self) -> bool {
        self.policies
            .iter()
            .any(|p| p.default_group == DlpGroup::Blocked)
    }

    /// Policies whose action rules block this operation of this connector. Action rules of
    /// unblockable and custom connectors are not applied: the platform does not offer action
    /// control for them (learn.microsoft.com/power-platform/admin/connector-action-control).
    pub fn action_blocking_policies<'s>(
        &'s self,
        connector: &'s str,
        operation: &'s str,
    ) -> impl Iterator<Item = &'a DlpPolicy> + 's {
        let exempt = self.is_unblockable(connector) || self.is_custom(connector, false);
        self.policies.iter().copied().filter(move |p| {
            if exempt {
                return false;
            }
            let Some(rules) = p.action_rules.get(connector) else {
                return false;
            };
            let listed = rules.rules.get(operation).or_else(|| {
                rules
                    .rules
                    .iter()
                    .find(|(k, _)| k.eq_ignore_ascii_case(operation))
                    .map(|(_, v)| v)
            });
            match listed {
                Some(b) => *b == RuleBehavior::Block,
                None => rules.default_behavior == RuleBehavior::Block,
            }
        })
    }

    /// For each applicable policy with endpoint rules for `connector`, the first rule matching
    /// `url` when that rule denies.
    pub fn endpoint_denials<'s>(
        &'s self,
        connector: &'s str,
        url: &'s str,
    ) -> impl Iterator<Item = (&'a DlpPolicy, &'a EndpointRule)> + 's {
        self.policies.iter().copied().filter_map(move |p| {
            let rules = p.endpoint_rules.get(connector)?;
            let rule = first_in_order(
                rules.iter(),
                |r| r.order,
                |r| endpoint_matches(&r.endpoint, url),
            )?;
            (rule.behavior == RuleBehavior::Block).then_some((p, rule))
        })
    }

    /// For each applicable policy with endpoint rules for `connector`, what they say of an HTTP
    /// action, when it is not a plain allow: a literal URL is denied by the first matching
    /// rule in `order` that is Deny; a URL with a literal host and a dynamic path is judged by
    /// the rules that depend only on the host (a rule with a path on the same host cannot be
    /// decided and makes it unverifiable); a URL whose host is an expression is unverifiable
    /// under any policy with a Deny rule. The platform itself does not enforce endpoint rules on
    /// dynamic endpoints (learn.microsoft.com/power-platform/admin/connector-endpoint-filtering,
    /// known limitations), so ppgov reports them rather than passing them.
    pub fn endpoint_outcomes<'s>(
        &'s self,
        connector: &'s str,
        action: &'s HttpAction,
    ) -> impl Iterator<Item = (&'a DlpPolicy, EndpointOutcome<'a>)> + 's {
        self.policies.iter().copied().filter_map(move |p| {
            let rules = p.endpoint_rules.get(connector)?;
            let mut sorted: Vec<&'a EndpointRule> = rules.iter().collect();
            sorted.sort_by_key(|r| r.order);
            let any_deny = sorted.iter().any(|r| r.behavior == RuleBehavior::Block);
            let Some(url) = action.rule_uri.as_deref().filter(|_| action.host_known()) else {
                return any_deny.then_some((p, EndpointOutcome::Unverifiable(None)));
            };
            if !action.dynamic_path {
                let rule = sorted
                    .into_iter()
                    .find(|r| endpoint_matches(&r.endpoint, url))?;
                return (rule.behavior == RuleBehavior::Block)
                    .then_some((p, EndpointOutcome::Denied(rule)));
            }
            for rule in sorted {
                let pat = rule.endpoint.trim();
                let (host_part, path_part) = split_pattern(pat);
                if pat == "*" || path_part.is_empty() || path_part == "/" || path_part == "/*" {
                    if endpoint_matches(host_part, url) || pat == "*" {
                        return (rule.behavior == RuleBehavior::Block)
                            .then_some((p, EndpointOutcome::Denied(rule)));
                    }
                } else if glob_match(
                    host_part.split("://").last().unwrap_or(host_part),
                    &action.host,
                ) {
                    return Some((p, EndpointOutcome::Unverifiable(Some(rule))));
                }
            }
            None
        })
    }

    /// True when some applicable policy has a Deny endpoint rule for the connector.
    pub fn has_deny_endpoint_rule(&self, connector: &str) -> bool {
        self.policies.iter().any(|p| {
            p.endpoint_rules
                .get(connector)
                .is_some_and(|rs| rs.iter().any(|r| r.behavior == RuleBehavior::Block))
        })
    }

    /// True when some applicable policy has a custom-connector URL pattern classified Blocked.
    pub fn has_blocked_custom_pattern(&self) -> bool {
        self.policies.iter().any(|p| {
            p.custom_connector_patterns
                .iter()
                .any(|r| r.classification == PatternClassification::Blocked)
        })
    }

    /// The group a policy's URL patterns give a custom connector whose host URL is `url`: the
    /// first pattern (in `order`) that matches decides; `Ignore` (fits both groups) and no
    /// match give `None`.
    pub fn custom_connector_group(policy: &DlpPolicy, url: &str) -> Option<DlpGroup> {
        let mut rules: Vec<_> = policy.custom_connector_patterns.iter().collect();
        rules.sort_by_key(|r| r.order);
        rules
            .into_iter()
            .find(|r| endpoint_matches(&r.pattern, url))
            .and_then(|r| match PatternOutcome::of(r.classification) {
                PatternOutcome::Group(g) => Some(g),
                _ => None,
            })
    }
}

enum PatternOutcome {
    Group(DlpGroup),
    Ignore,
    NoMatch,
    HostUnknown,
}

impl PatternOutcome {
    fn of(c: PatternClassification) -> Self {
        match c {
            PatternClassification::Business => PatternOutcome::Group(DlpGroup::Business),
            PatternClassification::NonBusiness => PatternOutcome::Group(DlpGroup::NonBusiness),
            PatternClassification::Blocked => PatternOutcome::Group(DlpGroup::Blocked),
            PatternClassification::Ignore => PatternOutcome::Ignore,
        }
    }
}

/// What a policy's endpoint rules say of one HTTP action (see [`Effective::endpoint_outcomes`]).
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum EndpointOutcome<'a> {
    /// Denied by this rule.
    Denied(&'a EndpointRule),
    /// Cannot be decided: the host is an expression, or this rule depends on a dynamic path.
    Unverifiable(Option<&'a EndpointRule>),
}

/// Splits an endpoint pattern into its scheme-and-host part and its path (`/...`, may be empty).
fn split_pattern(p: &str) -> (&str, &str) {
    let start = p.find("://").map(|i| i + 3).unwrap_or(0);
    match p[start..].find('/') {
        Some(i) => (&p[..start + i], &p[start + i..]),
        None => (p, ""),
    }
}

fn first_in_order<'r, T>(
    items: impl Iterator<Item = &'r T>,
    order: impl Fn(&T) -> i64,
    pred: impl Fn(&T) -> bool,
) -> Option<&'r T> {
    // Rules are usually already sorted; pick the lowest order among matches without sorting.
    items.filter(|r| pred(r)).min_by_key(|r| order(r))
}

/// Matches an endpoint or URL pattern (`*` wildcards, case-insensitive) against a URL, the URL
/// read as the runtime reads it (WHATWG, see [`crate::flowdef::normalized_url`]), so user-info,
/// backslashes, percent-encoding and IDN cannot make one host look like another. A pattern with
/// a scheme is compared with the URL (with or without its path); one without a scheme is
/// compared with the host (or the URL without its scheme). A text that is not a URL matches
/// only `*`.
pub fn endpoint_matches(pattern: &str, url: &str) -> bool {
    let pattern = pattern.trim();
    if pattern == "*" {
        return true;
    }
    let Some(url) = crate::flowdef::normalized_url(url) else {
        return false;
    };
    let host = crate::flowdef::url_host(&url);
    let (scheme, rest) = match url.find("://") {
        Some(i) => (&url[..i], &url[i + 3..]),
        None => ("", url.as_str()),
    };
    let rest = rest.trim_end_matches('/');
    if pattern.contains("://") {
        let origin = format!("{scheme}://{host}");
        let p = pattern.trim_end_matches('/');
        glob_match(p, url.trim_end_matches('/'))
            || glob_match(p, &origin)
            || glob_match(&format!("{p}/*"), &url)
    } else {
        let p = pattern.trim_end_matches('/');
        glob_match(p, &host) || glob_match(p, rest) || glob_match(&format!("{p}/*"), rest)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn endpoint_patterns() {
        assert!(endpoint_matches("*", "https://x.y/z"));
        assert!(endpoint_matches(
            "https://*.contoso.com",
            "https://api.contoso.com/v1/items"
        ));
        assert!(endpoint_matches(
            "api.contoso.com",
            "https://API.contoso.com/v1"
        ));
        assert!(!endpoint_matches(
            "https://*.contoso.com",
            "https://evil.net/contoso.com"
        ));
        assert!(!endpoint_matches(
            "*.contoso.com",
            "https://contoso.com.evil.net/"
        ));
    }
}
