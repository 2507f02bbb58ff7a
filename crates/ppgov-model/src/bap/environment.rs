//! Environment (E1/E2), PATCH body (E3) and governance configuration (E5).

use crate::common::{IdRef, JsonMap, PrincipalRef, string_enum};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::BTreeMap;

string_enum! {
    /// `properties.environmentSku`.
    pub enum EnvironmentSku {
        /// The tenant's default environment.
        Default => "Default",
        /// Production.
        Production => "Production",
        /// Sandbox.
        Sandbox => "Sandbox",
        /// Developer.
        Developer => "Developer",
        /// Trial.
        Trial => "Trial",
        /// Dataverse for Teams.
        Teams => "Teams",
        /// Subscription-based trial.
        SubscriptionBasedTrial => "SubscriptionBasedTrial",
    }
}

string_enum! {
    /// `governanceConfiguration.protectionLevel`: `Standard` means Managed Environment.
    pub enum ProtectionLevel {
        /// Not managed.
        Basic => "Basic",
        /// Managed Environment.
        Standard => "Standard",
    }
}

/// One environment from `GET .../scopes/admin/environments[/{id}]`.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct Environment {
    /// `/providers/Microsoft.BusinessAppPlatform/scopes/admin/environments/<name>`.
    #[serde(default)]
    pub id: String,
    /// GUID or `Default-<tenantId>`.
    #[serde(default)]
    pub name: String,
    /// Resource type.
    #[serde(rename = "type", default)]
    pub resource_type: Option<String>,
    /// Geography, e.g. `europe`.
    #[serde(default)]
    pub location: Option<String>,
    /// Everything interesting.
    #[serde(default)]
    pub properties: EnvironmentProperties,
    /// Anything else the service sent.
    #[serde(flatten)]
    pub extra: JsonMap,
}

/// `properties` of an [`Environment`].
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct EnvironmentProperties {
    /// Tenant id.
    #[serde(default)]
    pub tenant_id: Option<String>,
    /// Azure region, e.g. `northeurope`.
    #[serde(default)]
    pub azure_region: Option<String>,
    /// Display name.
    #[serde(default)]
    pub display_name: Option<String>,
    /// Description.
    #[serde(default)]
    pub description: Option<String>,
    /// Creation time (ISO-8601 string; see [`crate::common::parse_timestamp`]).
    #[serde(default)]
    pub created_time: Option<String>,
    /// Creator (`id` may be `SYSTEM`).
    #[serde(default)]
    pub created_by: Option<PrincipalRef>,
    /// Last modification time.
    #[serde(default)]
    pub last_modified_time: Option<String>,
    /// Last modifier.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_modified_by: Option<PrincipalRef>,
    /// `Succeeded`, ...
    #[serde(default)]
    pub provisioning_state: Option<String>,
    /// `User`, `Developer`, ...
    #[serde(default)]
    pub creation_type: Option<String>,
    /// Environment type.
    #[serde(default)]
    pub environment_sku: Option<EnvironmentSku>,
    /// True for the tenant default environment.
    #[serde(default, deserialize_with = "crate::common::lenient::opt_bool")]
    pub is_default: Option<bool>,
    /// Owner of a developer environment.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub used_by: Option<PrincipalRef>,
    /// Service name -> regional endpoint URL.
    #[serde(default, deserialize_with = "crate::common::lenient::string_map")]
    pub runtime_endpoints: BTreeMap<String, String>,
    /// `CommonDataService` or `None`.
    #[serde(default)]
    pub database_type: Option<String>,
    /// Dataverse details; `null`/absent without Dataverse.
    #[serde(default)]
    pub linked_environment_metadata: Option<LinkedEnvironmentMetadata>,
    /// Management and runtime states.
    #[serde(default)]
    pub states: Option<EnvironmentStates>,
    /// `{"id":"Frequent|Moderate"}`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub update_cadence: Option<IdRef>,
    /// Environment group membership.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parent_environment_group: Option<IdRef>,
    /// Pay-as-you-go billing policy (shape not relied on).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub billing_policy: Option<Value>,
    /// Storage capacity (with `$expand=properties.capacity`).
    #[serde(default, deserialize_with = "crate::common::lenient::null_vec")]
    pub capacity: Vec<Capacity>,
    /// Managed Environment configuration.
    #[serde(default)]
    pub governance_configuration: Option<GovernanceConfiguration>,
    /// Anything else the service sent.
    #[serde(flatten)]
    pub extra: JsonMap,
}

impl Environment {
    /// True when the environment has a Dataverse database.
    pub fn has_dataverse(&self) -> bool {
        self.properties.linked_environment_metadata.is_some()
            || self
                .properties
                .database_type
                .as_deref()
                .is_some_and(|d| d.eq_ignore_ascii_case("CommonDataService"))
    }

    /// True when `protectionLevel` is `Standard` (Managed Environment).
    pub fn is_managed(&self) -> bool {
        self.properties
            .governance_configuration
            .as_ref()
            .is_some_and(|g| g.protection_level == Some(ProtectionLevel::Standard))
    }

    /// True for the default environment (flag or `Default-` name).
    pub fn is_default(&self) -> bool {
        self.properties.is_default.unwrap_or(false)
            || self.properties.environment_sku == Some(EnvironmentSku::Default)
    }

    /// The Dataverse security group restricting access, if any. Empty and all-zero GUIDs
    /// mean "no group" (the service uses both).
    pub fn security_group_id(&self) -> Option<&str> {
        self.properties
            .linked_environment_metadata
            .as_ref()
            .and_then(|m| m.security_group_id.as_deref())
            .filter(|s| s.chars().any(|c| c != '0' && c != '-'))
    }
}

/// `linkedEnvironmentMetadata`: the Dataverse instance behind an environment.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LinkedEnvironmentMetadata {
    /// Dynamics resource id.
    #[serde(default)]
    pub resource_id: Option<String>,
    /// Friendly name.
    #[serde(default)]
    pub friendly_name: Option<String>,
    /// Unique name.
    #[serde(default)]
    pub unique_name: Option<String>,
    /// Domain (URL prefix), e.g. `org1a2b`.
    #[serde(default)]
    pub domain_name: Option<String>,
    /// Dataverse version.
    #[serde(default)]
    pub version: Option<String>,
    /// `https://org1a2b.crm4.dynamics.com/`.
    #[serde(default)]
    pub instance_url: Option<String>,
    /// `https://org1a2b.api.crm4.dynamics.com`.
    #[serde(default)]
    pub instance_api_url: Option<String>,
    /// Base language LCID.
    #[serde(default, deserialize_with = "crate::common::lenient::opt_i64")]
    pub base_language: Option<i64>,
    /// `Ready`, ...
    #[serde(default)]
    pub instance_state: Option<String>,
    /// `Enabled`, ...
    #[serde(default)]
    pub background_operations_state: Option<String>,
    /// Security group restricting access; absent if none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub security_group_id: Option<String>,
    /// Anything else the service sent.
    #[serde(flatten)]
    pub extra: JsonMap,
}

/// `states`.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct EnvironmentStates {
    /// `{"id":"Ready|NotSpecified|Running"}`.
    #[serde(default)]
    pub management: Option<IdRef>,
    /// Runtime state.
    #[serde(default)]
    pub runtime: Option<RuntimeState>,
}

/// `states.runtime`.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RuntimeState {
    /// `Enabled`, `Disabled` or `AdminMode`.
    #[serde(default)]
    pub id: String,
    /// Reason code.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub runtime_reason_code: Option<String>,
    /// Who requested the state.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub requested_by: Option<PrincipalRef>,
}

/// One `capacity` entry.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Capacity {
    /// `Database`, `File` or `Log`.
    #[serde(default)]
    pub capacity_type: Option<String>,
    /// Consumption.
    #[serde(default)]
    pub actual_consumption: Option<f64>,
    /// Rated consumption.
    #[serde(default)]
    pub rated_consumption: Option<f64>,
    /// `MB`.
    #[serde(default)]
    pub capacity_unit: Option<String>,
    /// Update time.
    #[serde(default)]
    pub updated_on: Option<String>,
}

/// `governanceConfiguration`, also the E5 POST body.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct GovernanceConfiguration {
    /// `Basic` or `Standard`.
    #[serde(default)]
    pub protection_level: Option<ProtectionLevel>,
    /// Managed Environment settings.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub settings: Option<GovernanceSettings>,
    /// Anything else the service sent.
    #[serde(flatten)]
    pub extra: JsonMap,
}

/// `governanceConfiguration.settings`.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct GovernanceSettings {
    /// Setting name -> value; all values are strings on the wire ("true", "-1", "noLimit").
    #[serde(default, deserialize_with = "crate::common::lenient::string_map")]
    pub extended_settings: BTreeMap<String, String>,
    /// Anything else the service sent.
    #[serde(flatten)]
    pub extra: JsonMap,
}

impl GovernanceSettings {
    /// A raw extended setting.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.extended_settings.get(key).map(String::as_str)
    }

    /// An extended setting read as a bool ("true"/"false", any case).
    pub fn get_bool(&self, key: &str) -> Option<bool> {
        match self.get(key)? {
            v if v.eq_ignore_ascii_case("true") => Some(true),
            v if v.eq_ignore_ascii_case("false") => Some(false),
            _ => None,
        }
    }

    /// An extended setting read as an integer ("10", "-1").
    pub fn get_i64(&self, key: &str) -> Option<i64> {
        self.get(key)?.trim().parse().ok()
    }

    /// `isGroupSharingDisabled`.
    pub fn is_group_sharing_disabled(&self) -> Option<bool> {
        self.get_bool("isGroupSharingDisabled")
    }

    /// `maxLimitUserSharing` (`-1` = no limit).
    pub fn max_limit_user_sharing(&self) -> Option<i64> {
        self.get_i64("maxLimitUserSharing")
    }

    /// `limitSharingMode` (`excludeSharingToSecurityGroups|noLimit`).
    pub fn limit_sharing_mode(&self) -> Option<&str> {
        self.get("limitSharingMode")
    }

    /// `solutionCheckerMode` (`none|warn|block`).
    pub fn solution_checker_mode(&self) -> Option<&str> {
        self.get("solutionCheckerMode")
    }

    /// `excludeEnvironmentFromAnalysis` (usage insights digest).
    pub fn exclude_from_analysis(&self) -> Option<bool> {
        self.get_bool("excludeEnvironmentFromAnalysis")
    }

    /// `makerOnboardingMarkdown`.
    pub fn maker_onboarding_markdown(&self) -> Option<&str> {
        self.get("makerOnboardingMarkdown")
    }
}

/// E3 PATCH body: a partial environment; only set fields are sent.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct EnvironmentPatch {
    /// Geography (TF sends it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub location: Option<String>,
    /// Properties to change.
    #[serde(default)]
    pub properties: EnvironmentPatchProperties,
}

/// `properties` of [`EnvironmentPatch`].
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct EnvironmentPatchProperties {
    /// New display name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub display_name: Option<String>,
    /// New description.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Dataverse changes (security group).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub linked_environment_metadata: Option<LinkedEnvironmentPatch>,
    /// Admin mode.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub states: Option<StatesPatch>,
}

/// `linkedEnvironmentMetadata` in a PATCH.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LinkedEnvironmentPatch {
    /// Current domain name (TF sends it alongside the group).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub domain_name: Option<String>,
    /// Security group object id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub security_group_id: Option<String>,
}

/// `states` in a PATCH.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct StatesPatch {
    /// Runtime state.
    pub runtime: RuntimeStatePatch,
}

/// `states.runtime` in a PATCH.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct RuntimeStatePatch {
    /// `Enabled` or `AdminMode`.
    pub id: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn zero_security_group_means_none() {
        let mut env = Environment::default();
        for (raw, want) in [
            ("00000000-0000-0000-0000-000000000000", None),
            ("", None),
            (
                "bbbbbbbb-0000-0000-0000-000000000001",
                Some("bbbbbbbb-0000-0000-0000-000000000001"),
            ),
        ] {
            env.properties.linked_environment_metadata = Some(LinkedEnvironmentMetadata {
                security_group_id: Some(raw.into()),
                ..Default::default()
            });
            assert_eq!(env.security_group_id(), want, "{raw}");
        }
    }

    #[test]
    fn patch_serialises_only_set_fields() {
        let p = EnvironmentPatch {
            properties: EnvironmentPatchProperties {
                linked_environment_metadata: Some(LinkedEnvironmentPatch {
                    domain_name: Some("org1a2b".into()),
                    security_group_id: Some("g1".into()),
                }),
                ..Default::default()
            },
            ..Default::default()
        };
        assert_eq!(
            serde_json::to_string(&p).unwrap(),
            r#"{"properties":{"linkedEnvironmentMetadata":{"domainName":"org1a2b","securityGroupId":"g1"}}}"#
        );
    }

    #[test]
    fn governance_body_and_lenient_extended_settings() {
        let g: GovernanceConfiguration = serde_json::from_str(
            r#"{"protectionLevel":"Standard","settings":{"extendedSettings":{"maxLimitUserSharing":"-1","isGroupSharingDisabled":true,"x":null}}}"#,
        )
        .unwrap();
        let s = g.settings.as_ref().unwrap();
        assert_eq!(s.max_limit_user_sharing(), Some(-1));
        assert_eq!(s.is_group_sharing_disabled(), Some(true));
        assert!(!s.extended_settings.contains_key("x"));
        let basic = GovernanceConfiguration {
            protection_level: Some(ProtectionLevel::Basic),
            ..Default::default()
        };
        assert_eq!(
            serde_json::to_string(&basic).unwrap(),
            r#"{"protectionLevel":"Basic"}"#
        );
    }
}
