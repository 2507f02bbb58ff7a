//! Feed-level shapes: subscriptions, content listings, errors.

use crate::common::{ErrorEnvelope, JsonMap};
use serde::{Deserialize, Serialize};

/// Content type names.
pub mod content_type {
    /// Power Platform, Dataverse and other workloads.
    pub const GENERAL: &str = "Audit.General";
    /// Entra ID.
    pub const AZURE_ACTIVE_DIRECTORY: &str = "Audit.AzureActiveDirectory";
    /// Exchange.
    pub const EXCHANGE: &str = "Audit.Exchange";
    /// SharePoint.
    pub const SHAREPOINT: &str = "Audit.SharePoint";
    /// Purview DLP.
    pub const DLP_ALL: &str = "DLP.All";
}

/// One entry of `subscriptions/list` (a bare array) or the `subscriptions/start` response.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Subscription {
    /// e.g. `Audit.General`.
    pub content_type: String,
    /// `enabled` or `disabled`.
    #[serde(default)]
    pub status: Option<String>,
    /// Webhook; `null` when unset.
    #[serde(default)]
    pub webhook: Option<Webhook>,
}

impl Subscription {
    /// True when `status` is `enabled` (any case).
    pub fn is_enabled(&self) -> bool {
        self.status
            .as_deref()
            .is_some_and(|s| s.eq_ignore_ascii_case("enabled"))
    }
}

/// Webhook configuration.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Webhook {
    /// Webhook status (responses only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<String>,
    /// HTTPS endpoint.
    #[serde(default)]
    pub address: Option<String>,
    /// Value echoed in `Webhook-AuthID`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub auth_id: Option<String>,
    /// Expiry; `""` for none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expiration: Option<String>,
}

/// Optional body of `subscriptions/start`.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct StartSubscriptionRequest {
    /// Webhook to register.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub webhook: Option<Webhook>,
}

/// One entry of `subscriptions/content` (a bare array; paging via the `NextPageUri` header).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ContentBlob {
    /// Content type.
    pub content_type: String,
    /// Opaque id.
    pub content_id: String,
    /// URL to GET the blob (an array of [`super::AuditRecord`]).
    pub content_uri: String,
    /// When the blob became available (`...sssZ`); the listing window filters on this.
    #[serde(default)]
    pub content_created: Option<String>,
    /// `contentCreated` + 7 days.
    #[serde(default)]
    pub content_expiration: Option<String>,
    /// Anything else (`notificationSent`, `tenantId`, `clientId` in notifications).
    #[serde(flatten)]
    pub extra: JsonMap,
}

/// The Management API error body `{"error":{"code":"AFxxxxx","message":...}}`.
pub type ManagementError = ErrorEnvelope;

/// True for the AF429 throttling code (sent with HTTP 403).
pub fn is_throttled(e: &ManagementError) -> bool {
    e.error.code.as_deref() == Some("AF429")
}
