//! The effective DLP policy of an environment, computed once per environment per scan.

use crate::flowdef::glob_match;
use ppgov_core::{
    ConnectorMetadata, DlpGroup, DlpPolicy, DlpScope, EndpointRule, Environment,
    PatternClassification, RuleBehavior, connector_key,
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
        };
        for env in environments {
            let eff = engine.compute(&env.id);
            engine.by_env.insert(env.id.to_ascii_lowercase(), eff);
        }
        engine
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

    /// Policies that block this connector (none for unblockable connectors).
    pub fn blocking_policies<'s>(
        &'s self,
        key: &'s str,
    ) -> impl Iterator<Item = &'a DlpPolicy> + 's {
        let unblockable = self.is_unblockable(key);
        self.policies
            .iter()
            .copied()
            .filter(move |p| !unblockable && group_of(p, key) == DlpGroup::Blocked)
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

    /// Policies whose action rules block this operation of this connector.
    pub fn action_blocking_policies<'s>(
        &'s self,
        connector: &'s str,
        operation: &'s str,
    ) -> impl Iterator<Item = &'a DlpPolicy> + 's {
        self.policies.iter().copied().filter(move |p| {
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

    /// The group a policy gives a custom connector whose host URL is `url`: the first pattern
    /// rule (in order) that matches and is not `Ignore`; `Ignore` falls through to the next rule,
    /// and no decisive rule means the connector's own classification applies (`None`).
    pub fn custom_connector_group(policy: &DlpPolicy, url: &str) -> Option<DlpGroup> {
        let mut rules: Vec<_> = policy.custom_connector_patterns.iter().collect();
        rules.sort_by_key(|r| r.order);
        rules
            .into_iter()
            .filter(|r| endpoint_matches(&r.pattern, url))
            .find_map(|r| match r.classification {
                PatternClassification::Business => Some(DlpGroup::Business),
                PatternClassification::NonBusiness => Some(DlpGroup::NonBusiness),
                PatternClassification::Blocked => Some(DlpGroup::Blocked),
                PatternClassification::Ignore => None,
            })
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

/// Matches an endpoint or URL pattern (`*` wildcards, case-insensitive) against a URL. A pattern
/// with a scheme is compared with the URL (with or without its path); one without a scheme is
/// compared with the host (or the URL without its scheme).
pub fn endpoint_matches(pattern: &str, url: &str) -> bool {
    let pattern = pattern.trim();
    if pattern == "*" {
        return true;
    }
    let host = crate::flowdef::url_host(url);
    let (scheme, rest) = match url.find("://") {
        Some(i) => (&url[..i], &url[i + 3..]),
        None => ("", url),
    };
    if pattern.contains("://") {
        let origin = format!("{scheme}://{host}");
        glob_match(pattern, url)
            || glob_match(pattern, &origin)
            || glob_match(pattern.trim_end_matches('/'), &origin)
            || glob_match(&format!("{}/*", pattern.trim_end_matches('/')), url)
    } else {
        glob_match(pattern, &host)
            || glob_match(pattern, rest)
            || glob_match(&format!("{}/*", pattern.trim_end_matches('/')), rest)
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
