//! Connector catalogue (D6), minimal.

use crate::common::JsonMap;
use serde::{Deserialize, Serialize};

/// One connector from `GET .../apis`.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct Connector {
    /// `shared_x` or a custom connector name.
    #[serde(default)]
    pub name: String,
    /// `/providers/Microsoft.PowerApps/apis/shared_x`.
    #[serde(default)]
    pub id: Option<String>,
    /// Resource type.
    #[serde(rename = "type", default)]
    pub resource_type: Option<String>,
    /// The connector.
    #[serde(default)]
    pub properties: ConnectorProperties,
}

/// `properties` of a [`Connector`].
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ConnectorProperties {
    /// Display name.
    #[serde(default)]
    pub display_name: Option<String>,
    /// `Standard` or `Premium`.
    #[serde(default)]
    pub tier: Option<String>,
    /// Publisher.
    #[serde(default)]
    pub publisher: Option<String>,
    /// Custom connector.
    #[serde(default)]
    pub is_custom_api: Option<bool>,
    /// Icon.
    #[serde(default)]
    pub icon_uri: Option<String>,
    /// Anything else the service sent.
    #[serde(flatten)]
    pub extra: JsonMap,
}
