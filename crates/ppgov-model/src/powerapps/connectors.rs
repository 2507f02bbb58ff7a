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
    /// Custom connectors: the backend the connector calls (`{"serviceUrl": "https://..."}`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub backend_service: Option<BackendService>,
    /// The API definition, when the response carries it (`schemes`, `host`, `basePath`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub swagger: Option<serde_json::Value>,
    /// Anything else the service sent.
    #[serde(flatten)]
    pub extra: JsonMap,
}

/// `properties.backendService` of a custom connector.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BackendService {
    /// The host URL DLP custom connector URL patterns are matched against.
    #[serde(default)]
    pub service_url: Option<String>,
    /// Anything else the service sent.
    #[serde(flatten)]
    pub extra: JsonMap,
}
