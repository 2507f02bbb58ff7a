//! Principal and resource reference shapes.

use super::JsonMap;
use super::string_enum;
use serde::{Deserialize, Serialize};

string_enum! {
    /// Kind of principal in `createdBy`, `owner`, `principal`, ... objects.
    pub enum PrincipalType {
        /// An Entra user.
        User => "User",
        /// An Entra group.
        Group => "Group",
        /// An Entra service principal / application.
        ServicePrincipal => "ServicePrincipal",
        /// The whole tenant ("everyone").
        Tenant => "Tenant",
        /// The service did not say.
        NotSpecified => "NotSpecified",
    }
}

/// A principal reference: `createdBy`, `owner`, `usedBy`, `principal`, `requestedBy`.
///
/// Every field is optional: the services send different subsets (DLP's `createdBy` has only
/// `displayName`; system-created resources use `id: "SYSTEM"`).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PrincipalRef {
    /// Entra object id, or `SYSTEM`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// Display name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub display_name: Option<String>,
    /// E-mail address.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    /// Principal kind.
    #[serde(rename = "type", default, skip_serializing_if = "Option::is_none")]
    pub principal_type: Option<PrincipalType>,
    /// Home tenant of the principal.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tenant_id: Option<String>,
    /// UPN.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_principal_name: Option<String>,
    /// Anything else the service sent.
    #[serde(flatten)]
    pub extra: JsonMap,
}

/// A principal given either as a bare id string or as an object (inventory API
/// `ownerId`/`createdBy`/`lastModifiedBy`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum OwnerRef {
    /// Bare Entra object id (may be `""`).
    Id(String),
    /// Object form.
    Principal(PrincipalRef),
}

impl OwnerRef {
    /// The object id in either form; `None` for an empty string or an object without id.
    pub fn id(&self) -> Option<&str> {
        match self {
            Self::Id(s) => Some(s.as_str()).filter(|s| !s.is_empty()),
            Self::Principal(p) => p.id.as_deref(),
        }
    }
}

/// `{"id": "..."}` with anything else kept (e.g. `states.management`, `updateCadence`).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct IdRef {
    /// The id / state name.
    #[serde(default)]
    pub id: String,
    /// Anything else the service sent.
    #[serde(flatten)]
    pub extra: JsonMap,
}

/// `{"id","name","type"}` reference used for environments and connectors inside DLP policies.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct ResourceRef {
    /// Full resource path id.
    #[serde(default)]
    pub id: String,
    /// Short name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Resource type.
    #[serde(rename = "type", default, skip_serializing_if = "Option::is_none")]
    pub resource_type: Option<String>,
}

/// Environment reference inside app/flow/connection properties.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct EnvironmentRef {
    /// `/providers/Microsoft.PowerApps/environments/<env>`.
    #[serde(default)]
    pub id: Option<String>,
    /// Environment name (GUID or `Default-<tenant>`).
    #[serde(default)]
    pub name: Option<String>,
    /// Geography, when sent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub location: Option<String>,
    /// Resource type, when sent.
    #[serde(rename = "type", default, skip_serializing_if = "Option::is_none")]
    pub resource_type: Option<String>,
}

/// Last path segment of a resource id (`/providers/.../apis/shared_x` -> `shared_x`).
pub(crate) fn last_segment(id: &str) -> &str {
    id.trim_end_matches('/').rsplit('/').next().unwrap_or(id)
}
