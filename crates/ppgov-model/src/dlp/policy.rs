//! GOV v2 and v1 policies.

use crate::common::{JsonMap, PrincipalRef, ResourceRef, string_enum};
use serde::{Deserialize, Serialize};

string_enum! {
    /// Connector group classification. `Confidential` = Business, `General` = Non-Business.
    pub enum Classification {
        /// Business.
        Confidential => "Confidential",
        /// Non-Business.
        General => "General",
        /// Blocked.
        Blocked => "Blocked",
        /// Custom connector URL pattern rule: leave to connector classification.
        Ignore => "Ignore",
    }
}

string_enum! {
    /// Which environments a policy covers.
    pub enum EnvironmentFilterType {
        /// Every environment.
        AllEnvironments => "AllEnvironments",
        /// Only the listed environments.
        OnlyEnvironments => "OnlyEnvironments",
        /// All but the listed environments.
        ExceptEnvironments => "ExceptEnvironments",
        /// Legacy single-environment policy.
        SingleEnvironment => "SingleEnvironment",
    }
}

string_enum! {
    /// Action/endpoint rule behaviour.
    pub enum RuleBehavior {
        /// Allowed.
        Allow => "Allow",
        /// Blocked (action rules).
        Block => "Block",
        /// Denied (endpoint rules).
        Deny => "Deny",
    }
}

/// A GOV v2 policy: the list item (only `policyDefinition`) and the full GET document.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PolicyV2 {
    /// Core definition.
    #[serde(default)]
    pub policy_definition: PolicyDefinition,
    /// Action and endpoint rules (GET by name only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub connector_configurations_definition: Option<ConnectorConfigurationsDefinition>,
    /// Custom connector URL patterns (GET by name only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub custom_connector_url_patterns_definition: Option<CustomConnectorUrlPatternsDefinition>,
    /// Anything else the service sent (kept for PATCH of the full document).
    #[serde(flatten)]
    pub extra: JsonMap,
}

/// A GOV v1 policy is the flat form of a v2 `policyDefinition`.
pub type PolicyV1 = PolicyDefinition;

/// `policyDefinition` (v2) or the whole v1 document.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PolicyDefinition {
    /// Policy GUID.
    #[serde(default)]
    pub name: String,
    /// Display name.
    #[serde(default)]
    pub display_name: Option<String>,
    /// Group for connectors not listed.
    #[serde(default)]
    pub default_connectors_classification: Option<Classification>,
    /// Scope type.
    #[serde(default)]
    pub environment_type: Option<EnvironmentFilterType>,
    /// Listed environments (meaning depends on `environmentType`).
    #[serde(default, deserialize_with = "crate::common::lenient::null_vec")]
    pub environments: Vec<ResourceRef>,
    /// Connector groups.
    #[serde(default, deserialize_with = "crate::common::lenient::null_vec")]
    pub connector_groups: Vec<ConnectorGroup>,
    /// Creator (often only `displayName`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created_by: Option<PrincipalRef>,
    /// Creation time.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created_time: Option<String>,
    /// Last modifier.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_modified_by: Option<PrincipalRef>,
    /// Last modification time.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_modified_time: Option<String>,
    /// Concurrency tag.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub etag: Option<String>,
    /// Created with the legacy schema.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub is_legacy_schema_version: Option<bool>,
    /// Anything else the service sent.
    #[serde(flatten)]
    pub extra: JsonMap,
}

impl PolicyDefinition {
    /// Whether the policy covers an environment (by name, case-insensitive), following
    /// `environmentType`. `None` when the type is unknown, so a caller never guesses.
    pub fn applies_to(&self, environment_name: &str) -> Option<bool> {
        let listed = self.environments.iter().any(|e| {
            e.name
                .as_deref()
                .unwrap_or_else(|| crate::common::last_segment(&e.id))
                .eq_ignore_ascii_case(environment_name)
        });
        match self.environment_type.as_ref()? {
            EnvironmentFilterType::AllEnvironments => Some(true),
            EnvironmentFilterType::OnlyEnvironments | EnvironmentFilterType::SingleEnvironment => {
                Some(listed)
            }
            EnvironmentFilterType::ExceptEnvironments => Some(!listed),
            EnvironmentFilterType::Other(_) => None,
        }
    }

    /// The group holding a connector id (case-insensitive), or `None` if it falls to the
    /// default classification.
    pub fn classification_of(&self, connector_id: &str) -> Option<&Classification> {
        self.connector_groups.iter().find_map(|g| {
            g.connectors
                .iter()
                .any(|c| c.id.eq_ignore_ascii_case(connector_id))
                .then_some(&g.classification)
        })
    }
}

/// One connector group.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ConnectorGroup {
    /// Group classification.
    pub classification: Classification,
    /// Connectors `{id,name,type}`.
    #[serde(default, deserialize_with = "crate::common::lenient::null_vec")]
    pub connectors: Vec<ResourceRef>,
}

/// `connectorConfigurationsDefinition`.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ConnectorConfigurationsDefinition {
    /// Per-connector action rules.
    #[serde(default, deserialize_with = "crate::common::lenient::null_vec")]
    pub connector_action_configurations: Vec<ConnectorActionConfiguration>,
    /// Per-connector endpoint rules.
    #[serde(default, deserialize_with = "crate::common::lenient::null_vec")]
    pub endpoint_configurations: Vec<EndpointConfiguration>,
}

/// Action rules of one connector.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ConnectorActionConfiguration {
    /// `/providers/Microsoft.PowerApps/apis/shared_x`.
    pub connector_id: String,
    /// Behaviour for actions not listed.
    #[serde(default)]
    pub default_connector_action_rule_behavior: Option<RuleBehavior>,
    /// Listed actions.
    #[serde(default, deserialize_with = "crate::common::lenient::null_vec")]
    pub action_rules: Vec<ActionRule>,
}

/// One action rule.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ActionRule {
    /// Operation id, e.g. `CreateFile_V2`.
    pub action_id: String,
    /// `Allow` or `Block`.
    pub behavior: RuleBehavior,
}

/// Endpoint rules of one connector.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct EndpointConfiguration {
    /// Connector id.
    pub connector_id: String,
    /// Ordered rules.
    #[serde(default, deserialize_with = "crate::common::lenient::null_vec")]
    pub endpoint_rules: Vec<EndpointRule>,
}

/// One endpoint rule. The service records `endPoint`; `endpoint` is accepted too and
/// `endPoint` is written.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EndpointRule {
    /// Evaluation order (1 first).
    #[serde(default, deserialize_with = "crate::common::lenient::opt_i64")]
    pub order: Option<i64>,
    /// `Allow` or `Deny`.
    pub behavior: RuleBehavior,
    /// Endpoint pattern, `*` for all.
    #[serde(rename = "endPoint", alias = "endpoint")]
    pub endpoint: String,
}

/// `customConnectorUrlPatternsDefinition`.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct CustomConnectorUrlPatternsDefinition {
    /// Ordered rules; `*` is last.
    #[serde(default, deserialize_with = "crate::common::lenient::null_vec")]
    pub rules: Vec<UrlPatternRule>,
}

/// One URL pattern rule.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct UrlPatternRule {
    /// Evaluation order.
    #[serde(default, deserialize_with = "crate::common::lenient::opt_i64")]
    pub order: Option<i64>,
    /// Classification for matching custom connectors.
    pub custom_connector_rule_classification: Classification,
    /// Host pattern.
    pub pattern: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn endpoint_accepts_both_spellings_and_writes_capital_p() {
        for raw in [
            r#"{"order":1,"behavior":"Deny","endPoint":"*"}"#,
            r#"{"order":1,"behavior":"Deny","endpoint":"*"}"#,
        ] {
            let r: EndpointRule = serde_json::from_str(raw).unwrap();
            assert_eq!(r.endpoint, "*");
            assert_eq!(r.behavior, RuleBehavior::Deny);
            assert_eq!(
                serde_json::to_string(&r).unwrap(),
                r#"{"order":1,"behavior":"Deny","endPoint":"*"}"#
            );
        }
    }

    #[test]
    fn applies_to_follows_environment_type() {
        let mut p = PolicyDefinition {
            environment_type: Some(EnvironmentFilterType::ExceptEnvironments),
            environments: vec![ResourceRef {
                id: "/providers/x/environments/Default-T".into(),
                name: None,
                resource_type: None,
            }],
            ..Default::default()
        };
        assert_eq!(p.applies_to("default-t"), Some(false));
        assert_eq!(p.applies_to("other"), Some(true));
        p.environment_type = Some(EnvironmentFilterType::OnlyEnvironments);
        assert_eq!(p.applies_to("Default-T"), Some(true));
        p.environment_type = Some(EnvironmentFilterType::Other("New".into()));
        assert_eq!(p.applies_to("Default-T"), None);
        p.environment_type = None;
        assert_eq!(p.applies_to("Default-T"), None);
    }

    #[test]
    fn unknown_classification_is_kept() {
        let c: Classification = serde_json::from_str(r#""Quarantined""#).unwrap();
        assert_eq!(c, Classification::Other("Quarantined".into()));
        assert_eq!(serde_json::to_string(&c).unwrap(), r#""Quarantined""#);
        let g: Classification = serde_json::from_str(r#""general""#).unwrap();
        assert_eq!(g, Classification::General);
    }
}
