//! DLP policies from any of the three wire shapes into one domain shape.

use super::time;
use ppgov_core::{
    ActionRules, DlpGroup, DlpPolicy, DlpScope, DlpSource, EndpointRule, PatternClassification,
    RuleBehavior, UrlPatternRule, connector_key,
};
use ppgov_model::common::ResourceRef;
use ppgov_model::dlp::{self, Classification, EnvironmentFilterType};
use std::collections::BTreeMap;

fn group(c: &Classification) -> Option<DlpGroup> {
    match c {
        Classification::Confidential => Some(DlpGroup::Business),
        Classification::General => Some(DlpGroup::NonBusiness),
        Classification::Blocked => Some(DlpGroup::Blocked),
        _ => None,
    }
}

fn env_ids(envs: &[ResourceRef]) -> Vec<String> {
    envs.iter()
        .map(|e| {
            e.name
                .clone()
                .filter(|n| !n.is_empty())
                .unwrap_or_else(|| e.id.rsplit('/').next().unwrap_or_default().to_string())
        })
        .collect()
}

fn scope(kind: Option<&EnvironmentFilterType>, envs: &[ResourceRef]) -> DlpScope {
    match kind {
        Some(EnvironmentFilterType::OnlyEnvironments)
        | Some(EnvironmentFilterType::SingleEnvironment) => {
            DlpScope::OnlyEnvironments(env_ids(envs))
        }
        Some(EnvironmentFilterType::ExceptEnvironments) => {
            DlpScope::ExceptEnvironments(env_ids(envs))
        }
        _ => DlpScope::AllEnvironments,
    }
}

fn behavior(b: &dlp::RuleBehavior) -> RuleBehavior {
    match b {
        dlp::RuleBehavior::Block | dlp::RuleBehavior::Deny => RuleBehavior::Block,
        _ => RuleBehavior::Allow,
    }
}

fn pattern_class(c: &Classification) -> PatternClassification {
    match c {
        Classification::Confidential => PatternClassification::Business,
        Classification::General => PatternClassification::NonBusiness,
        Classification::Blocked => PatternClassification::Blocked,
        _ => PatternClassification::Ignore,
    }
}

fn from_definition(
    d: &dlp::PolicyDefinition,
    source: DlpSource,
    raw: serde_json::Value,
) -> DlpPolicy {
    let mut connectors = BTreeMap::new();
    for g in &d.connector_groups {
        if let Some(grp) = group(&g.classification) {
            for c in &g.connectors {
                connectors.insert(connector_key(&c.id), grp);
            }
        }
    }
    DlpPolicy {
        id: d.name.clone(),
        display_name: d.display_name.clone().unwrap_or_else(|| d.name.clone()),
        source,
        scope: scope(d.environment_type.as_ref(), &d.environments),
        default_group: d
            .default_connectors_classification
            .as_ref()
            .and_then(group)
            .unwrap_or(DlpGroup::NonBusiness),
        connectors,
        action_rules: BTreeMap::new(),
        endpoint_rules: BTreeMap::new(),
        custom_connector_patterns: Vec::new(),
        created_time: time(&d.created_time),
        last_modified_time: time(&d.last_modified_time),
        raw,
    }
}

/// Maps a full GOV v2 policy (from `GET /v2/policies/{name}`).
pub fn dlp_policy_v2(p: &dlp::PolicyV2) -> DlpPolicy {
    let raw = serde_json::to_value(p).unwrap_or_default();
    let mut out = from_definition(&p.policy_definition, DlpSource::V2, raw);
    if let Some(cfg) = &p.connector_configurations_definition {
        for a in &cfg.connector_action_configurations {
            let rules = a
                .action_rules
                .iter()
                .map(|r| (r.action_id.clone(), behavior(&r.behavior)))
                .collect();
            let default_behavior = a
                .default_connector_action_rule_behavior
                .as_ref()
                .map(behavior)
                .unwrap_or_default();
            out.action_rules.insert(
                connector_key(&a.connector_id),
                ActionRules {
                    default_behavior,
                    rules,
                },
            );
        }
        for e in &cfg.endpoint_configurations {
            let mut rules: Vec<EndpointRule> = e
                .endpoint_rules
                .iter()
                .enumerate()
                .map(|(i, r)| EndpointRule {
                    order: r.order.unwrap_or(i as i64 + 1),
                    behavior: behavior(&r.behavior),
                    endpoint: r.endpoint.clone(),
                })
                .collect();
            rules.sort_by_key(|r| r.order);
            out.endpoint_rules
                .insert(connector_key(&e.connector_id), rules);
        }
    }
    if let Some(pats) = &p.custom_connector_url_patterns_definition {
        let mut rules: Vec<UrlPatternRule> = pats
            .rules
            .iter()
            .enumerate()
            .map(|(i, r)| UrlPatternRule {
                order: r.order.unwrap_or(i as i64 + 1),
                classification: pattern_class(&r.custom_connector_rule_classification),
                pattern: r.pattern.clone(),
            })
            .collect();
        rules.sort_by_key(|r| r.order);
        out.custom_connector_patterns = rules;
    }
    out
}

/// Maps a GOV v1 policy (flat document).
pub fn dlp_policy_v1(p: &dlp::PolicyV1) -> DlpPolicy {
    from_definition(
        p,
        DlpSource::V1,
        serde_json::to_value(p).unwrap_or_default(),
    )
}

/// Maps a legacy BAP `apiPolicies` document: `hbi` is Business, `lbi` Non-Business, no Blocked group.
pub fn dlp_policy_legacy(p: &dlp::ApiPolicy) -> DlpPolicy {
    let d = &p.properties.definition;
    let grp = |name: &str| {
        if name.eq_ignore_ascii_case("hbi") {
            DlpGroup::Business
        } else {
            DlpGroup::NonBusiness
        }
    };
    let mut connectors = BTreeMap::new();
    for (name, g) in &d.api_groups {
        for api in &g.apis {
            connectors.insert(connector_key(&api.id), grp(name));
        }
    }
    let envs = d
        .environment_filter()
        .map(|f| f.parameters.environments.clone())
        .unwrap_or_default();
    DlpPolicy {
        id: p.name.clone(),
        display_name: p
            .properties
            .display_name
            .clone()
            .unwrap_or_else(|| p.name.clone()),
        source: DlpSource::Legacy,
        scope: scope(Some(&d.environment_type()), &envs),
        default_group: grp(d.default_api_group.as_deref().unwrap_or("lbi")),
        connectors,
        action_rules: BTreeMap::new(),
        endpoint_rules: BTreeMap::new(),
        custom_connector_patterns: Vec::new(),
        created_time: time(&p.properties.created_time),
        last_modified_time: None,
        raw: serde_json::to_value(p).unwrap_or_default(),
    }
}
