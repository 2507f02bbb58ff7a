//! Legacy BAP `apiPolicies` (D4).

use super::EnvironmentFilterType;
use crate::common::{JsonMap, ResourceRef};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::BTreeMap;

/// A legacy API policy.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct ApiPolicy {
    /// Resource path.
    #[serde(default)]
    pub id: Option<String>,
    /// Policy GUID.
    #[serde(default)]
    pub name: String,
    /// Resource type.
    #[serde(rename = "type", default)]
    pub resource_type: Option<String>,
    /// The policy.
    #[serde(default)]
    pub properties: ApiPolicyProperties,
}

/// `properties` of an [`ApiPolicy`].
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ApiPolicyProperties {
    /// Display name.
    #[serde(default)]
    pub display_name: Option<String>,
    /// Creation time.
    #[serde(default)]
    pub created_time: Option<String>,
    /// Definition.
    #[serde(default)]
    pub definition: ApiPolicyDefinition,
    /// Anything else (createdBy, lastModifiedTime, ...).
    #[serde(flatten)]
    pub extra: JsonMap,
}

/// `properties.definition`.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ApiPolicyDefinition {
    /// Schema URL (version `2016-10-01-preview` or `2018-11-01`).
    #[serde(rename = "$schema", default)]
    pub schema: Option<String>,
    /// `hbi` or `lbi`: where unlisted connectors go.
    #[serde(default)]
    pub default_api_group: Option<String>,
    /// `environmentFilter1` when scoped.
    #[serde(default, deserialize_with = "crate::common::lenient::null_map")]
    pub constraints: BTreeMap<String, ApiPolicyConstraint>,
    /// `hbi` (business) and `lbi` (non-business).
    #[serde(default, deserialize_with = "crate::common::lenient::null_map")]
    pub api_groups: BTreeMap<String, ApiGroup>,
    /// `dataFlowRule`, `apiGroupRule`.
    #[serde(default, deserialize_with = "crate::common::lenient::null_map")]
    pub rules: BTreeMap<String, ApiPolicyRule>,
}

impl ApiPolicyDefinition {
    /// `constraints.environmentFilter1`, if present.
    pub fn environment_filter(&self) -> Option<&ApiPolicyConstraint> {
        self.constraints.get("environmentFilter1")
    }

    /// Scope in v2 terms: no filter = all; `include` = only; `exclude` = except.
    pub fn environment_type(&self) -> EnvironmentFilterType {
        match self
            .environment_filter()
            .and_then(|c| c.parameters.filter_type.as_deref())
        {
            None => EnvironmentFilterType::AllEnvironments,
            Some(f) if f.eq_ignore_ascii_case("include") => EnvironmentFilterType::OnlyEnvironments,
            Some(f) if f.eq_ignore_ascii_case("exclude") => {
                EnvironmentFilterType::ExceptEnvironments
            }
            Some(other) => EnvironmentFilterType::Other(other.to_owned()),
        }
    }
}

/// One constraint.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct ApiPolicyConstraint {
    /// `environmentFilter`.
    #[serde(rename = "type", default)]
    pub constraint_type: Option<String>,
    /// Filter parameters.
    #[serde(default)]
    pub parameters: EnvironmentFilterParameters,
}

/// `parameters` of an environment filter.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct EnvironmentFilterParameters {
    /// `include` or `exclude`.
    #[serde(default)]
    pub filter_type: Option<String>,
    /// Environments.
    #[serde(default, deserialize_with = "crate::common::lenient::null_vec")]
    pub environments: Vec<ResourceRef>,
}

/// An API group.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct ApiGroup {
    /// Description.
    #[serde(default)]
    pub description: Option<String>,
    /// Connectors.
    #[serde(default, deserialize_with = "crate::common::lenient::null_vec")]
    pub apis: Vec<ResourceRef>,
}

/// A rule (`DataFlowRestriction`, `ApiGroupRestriction`).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct ApiPolicyRule {
    /// Rule type.
    #[serde(rename = "type", default)]
    pub rule_type: Option<String>,
    /// Parameters (`sourceApiGroup`, `destinationApiGroup`, `apiGroup`).
    #[serde(default, deserialize_with = "crate::common::lenient::null_map")]
    pub parameters: BTreeMap<String, Value>,
    /// Actions (`blockAction`).
    #[serde(default, deserialize_with = "crate::common::lenient::null_map")]
    pub actions: BTreeMap<String, Value>,
}
