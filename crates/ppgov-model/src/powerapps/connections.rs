//! Connections (C1-C4).

use super::PermissionRole;
use crate::common::{EnvironmentRef, JsonMap, PrincipalRef, last_segment};
use serde::{Deserialize, Serialize};

/// One connection.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct Connection {
    /// Connection name.
    #[serde(default)]
    pub name: String,
    /// `/providers/Microsoft.PowerApps/apis/<connector>/connections/<name>`.
    #[serde(default)]
    pub id: Option<String>,
    /// Resource type.
    #[serde(rename = "type", default)]
    pub resource_type: Option<String>,
    /// The connection.
    #[serde(default)]
    pub properties: ConnectionProperties,
}

/// `properties` of a [`Connection`].
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ConnectionProperties {
    /// Connector path.
    #[serde(default)]
    pub api_id: Option<String>,
    /// Display name (often the account).
    #[serde(default)]
    pub display_name: Option<String>,
    /// Icon.
    #[serde(default)]
    pub icon_uri: Option<String>,
    /// Statuses; `Error` carries `error{code,message}`.
    #[serde(default, deserialize_with = "crate::common::lenient::null_vec")]
    pub statuses: Vec<ConnectionStatus>,
    /// Parameters (`token:grantType`, `sku`, ...).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub connection_parameters: Option<JsonMap>,
    /// Named parameter set (alternative to `connectionParameters`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub connection_parameters_set: Option<ConnectionParametersSet>,
    /// Creator.
    #[serde(default)]
    pub created_by: Option<PrincipalRef>,
    /// Creation time.
    #[serde(default)]
    pub created_time: Option<String>,
    /// Last modification time.
    #[serde(default)]
    pub last_modified_time: Option<String>,
    /// Credential expiry.
    #[serde(default)]
    pub expiration_time: Option<String>,
    /// Last use (not always sent).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_connected_time: Option<String>,
    /// Environment.
    #[serde(default)]
    pub environment: Option<EnvironmentRef>,
    /// Permissions.
    #[serde(default, deserialize_with = "crate::common::lenient::null_vec")]
    pub permissions: Vec<ConnectionPermission>,
    /// Account name.
    #[serde(default)]
    pub account_name: Option<String>,
    /// Sharing allowed.
    #[serde(default)]
    pub allow_sharing: Option<bool>,
    /// Anything else the service sent.
    #[serde(flatten)]
    pub extra: JsonMap,
}

impl Connection {
    /// Connector name (`shared_commondataserviceforapps`) from `apiId`, else from `id`.
    pub fn connector_name(&self) -> Option<&str> {
        if let Some(api) = self.properties.api_id.as_deref() {
            return Some(last_segment(api));
        }
        let id = self.id.as_deref()?;
        let before = id.rsplit_once("/connections/")?.0;
        Some(last_segment(before))
    }

    /// The first status with `Error`, if any.
    pub fn error_status(&self) -> Option<&ConnectionStatus> {
        self.properties
            .statuses
            .iter()
            .find(|s| s.status.eq_ignore_ascii_case("Error"))
    }
}

/// One `statuses` entry.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct ConnectionStatus {
    /// `Connected`, `Error`, ...
    #[serde(default)]
    pub status: String,
    /// What failed, e.g. `token`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target: Option<String>,
    /// Error detail.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<StatusError>,
}

/// `error` of a [`ConnectionStatus`].
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct StatusError {
    /// e.g. `Unauthenticated`.
    #[serde(default)]
    pub code: Option<String>,
    /// Message.
    #[serde(default)]
    pub message: Option<String>,
}

/// `connectionParametersSet`.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct ConnectionParametersSet {
    /// Set name, e.g. `firstParty`.
    #[serde(default)]
    pub name: Option<String>,
    /// Values.
    #[serde(default)]
    pub values: JsonMap,
}

/// One embedded connection permission.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct ConnectionPermission {
    /// Principal id.
    #[serde(default)]
    pub name: Option<String>,
    /// Permission id.
    #[serde(default)]
    pub id: Option<String>,
    /// The permission.
    #[serde(default)]
    pub properties: ConnectionPermissionProperties,
}

/// `properties` of a [`ConnectionPermission`].
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ConnectionPermissionProperties {
    /// Role.
    #[serde(default)]
    pub role_name: Option<PermissionRole>,
    /// Grantee.
    #[serde(default)]
    pub principal: PrincipalRef,
}
