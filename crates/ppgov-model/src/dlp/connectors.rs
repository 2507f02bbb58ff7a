//! Connector metadata lists (D5): unblockable and virtual connectors.

use crate::common::JsonMap;
use serde::{Deserialize, Serialize};

/// One entry of `/v1/connectors/metadata/unblockable` or `/virtual` (both bare arrays).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct ConnectorMetadataEntry {
    /// `/providers/Microsoft.PowerApps/apis/shared_approvals` or a virtual id like `Http`.
    pub id: String,
    /// Flags and names.
    #[serde(default)]
    pub metadata: ConnectorMetadata,
}

/// `metadata` of a [`ConnectorMetadataEntry`].
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ConnectorMetadata {
    /// Cannot be blocked.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unblockable: Option<bool>,
    /// Virtual (built-in) connector.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub virtual_connector: Option<bool>,
    /// Name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Display name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub display_name: Option<String>,
    /// Type.
    #[serde(rename = "type", default, skip_serializing_if = "Option::is_none")]
    pub resource_type: Option<String>,
    /// Icon.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub icon_uri: Option<String>,
    /// Anything else the service sent.
    #[serde(flatten)]
    pub extra: JsonMap,
}
