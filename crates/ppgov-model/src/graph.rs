//! Microsoft Graph v1.0 shapes: users, groups, directory objects, `$batch`.

use crate::ModelError;
use crate::common::JsonMap;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};

/// Graph's documented maximum number of requests in one `$batch`.
pub const MAX_BATCH_REQUESTS: usize = 20;

/// A user (`$select=id,displayName,userPrincipalName,mail,accountEnabled,userType`).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct User {
    /// `#microsoft.graph.user` when present.
    #[serde(
        rename = "@odata.type",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub odata_type: Option<String>,
    /// Object id.
    pub id: String,
    /// Display name.
    #[serde(default)]
    pub display_name: Option<String>,
    /// UPN (guests contain `#EXT#`).
    #[serde(default)]
    pub user_principal_name: Option<String>,
    /// Mail.
    #[serde(default)]
    pub mail: Option<String>,
    /// Sign-in allowed.
    #[serde(default)]
    pub account_enabled: Option<bool>,
    /// `Member` or `Guest`.
    #[serde(default)]
    pub user_type: Option<String>,
    /// Anything else the service sent.
    #[serde(flatten)]
    pub extra: JsonMap,
}

impl User {
    /// True for a guest (by `userType`, else by `#EXT#` in the UPN).
    pub fn is_guest(&self) -> bool {
        match self.user_type.as_deref() {
            Some(t) => t.eq_ignore_ascii_case("Guest"),
            None => self
                .user_principal_name
                .as_deref()
                .is_some_and(|u| u.contains("#EXT#")),
        }
    }
}

/// A group.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Group {
    /// `#microsoft.graph.group` when present.
    #[serde(
        rename = "@odata.type",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub odata_type: Option<String>,
    /// Object id.
    pub id: String,
    /// Display name.
    #[serde(default)]
    pub display_name: Option<String>,
    /// Mail.
    #[serde(default)]
    pub mail: Option<String>,
    /// Security group.
    #[serde(default)]
    pub security_enabled: Option<bool>,
    /// Mail-enabled.
    #[serde(default)]
    pub mail_enabled: Option<bool>,
    /// `Unified`, `DynamicMembership`, ...
    #[serde(default, deserialize_with = "crate::common::lenient::null_vec")]
    pub group_types: Vec<String>,
    /// Anything else the service sent.
    #[serde(flatten)]
    pub extra: JsonMap,
}

/// A member of a group (`/members`, `/transitiveMembers`): user, group or service principal.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DirectoryObject {
    /// `#microsoft.graph.user|group|servicePrincipal|device`.
    #[serde(rename = "@odata.type", default)]
    pub odata_type: Option<String>,
    /// Object id.
    pub id: String,
    /// Display name.
    #[serde(default)]
    pub display_name: Option<String>,
    /// UPN (users).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_principal_name: Option<String>,
    /// App id (service principals).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub app_id: Option<String>,
    /// Anything else the service sent.
    #[serde(flatten)]
    pub extra: JsonMap,
}

impl DirectoryObject {
    /// The kind from `@odata.type` without the `#microsoft.graph.` prefix (`user`, `group`).
    pub fn kind(&self) -> Option<&str> {
        let t = self.odata_type.as_deref()?;
        Some(t.strip_prefix("#microsoft.graph.").unwrap_or(t))
    }
}

/// `POST /$batch` body.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct BatchRequest {
    /// At most [`MAX_BATCH_REQUESTS`] requests with unique ids.
    pub requests: Vec<BatchRequestItem>,
}

impl BatchRequest {
    /// Builds a batch, enforcing Graph's limits (≤ 20 requests, unique ids, at least one).
    pub fn new(requests: Vec<BatchRequestItem>) -> Result<Self, ModelError> {
        if requests.is_empty() {
            return Err(ModelError::Batch {
                reason: "no requests".into(),
            });
        }
        if requests.len() > MAX_BATCH_REQUESTS {
            return Err(ModelError::Batch {
                reason: format!("{} requests, max {MAX_BATCH_REQUESTS}", requests.len()),
            });
        }
        let mut seen = BTreeSet::new();
        for r in &requests {
            if !seen.insert(r.id.as_str()) {
                return Err(ModelError::Batch {
                    reason: format!("duplicate id {}", r.id),
                });
            }
        }
        Ok(Self { requests })
    }
}

/// One request in a batch.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BatchRequestItem {
    /// Unique id within the batch.
    pub id: String,
    /// `GET`, ...
    pub method: String,
    /// Relative URL, e.g. `/users/<id>?$select=id`.
    pub url: String,
    /// Headers (e.g. `ConsistencyLevel`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub headers: Option<BTreeMap<String, String>>,
    /// Body for writes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub body: Option<Value>,
    /// Ordering dependencies.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub depends_on: Option<Vec<String>>,
}

impl BatchRequestItem {
    /// A GET item.
    pub fn get(id: impl Into<String>, url: impl Into<String>) -> Self {
        Self {
            id: id.into(),
            method: "GET".into(),
            url: url.into(),
            ..Default::default()
        }
    }
}

/// `$batch` response; items come in any order.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct BatchResponse {
    /// Per-request results.
    #[serde(default, deserialize_with = "crate::common::lenient::null_vec")]
    pub responses: Vec<BatchResponseItem>,
}

impl BatchResponse {
    /// The response for a request id.
    pub fn get(&self, id: &str) -> Option<&BatchResponseItem> {
        self.responses.iter().find(|r| r.id == id)
    }
}

/// One response in a batch.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct BatchResponseItem {
    /// The request id.
    pub id: String,
    /// HTTP status.
    pub status: u16,
    /// Headers.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub headers: Option<BTreeMap<String, String>>,
    /// Body (a resource or an error envelope).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub body: Option<Value>,
}

impl BatchResponseItem {
    /// `Retry-After` in seconds, header matched case-insensitively.
    pub fn retry_after_secs(&self) -> Option<u64> {
        self.headers
            .as_ref()?
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case("Retry-After"))
            .and_then(|(_, v)| v.trim().parse().ok())
    }

    /// Deserialises the body as `T` (e.g. [`User`] or [`crate::common::ErrorEnvelope`]).
    pub fn body_as<T: serde::de::DeserializeOwned>(&self) -> Result<T, ModelError> {
        serde_json::from_value(self.body.clone().unwrap_or(Value::Null)).map_err(|source| {
            ModelError::View {
                what: "graph batch item body",
                source,
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn batch_limits() {
        let items: Vec<_> = (0..21)
            .map(|i| BatchRequestItem::get(i.to_string(), "/users/x"))
            .collect();
        assert!(BatchRequest::new(items[..20].to_vec()).is_ok());
        assert!(BatchRequest::new(items).is_err());
        let dup = vec![
            BatchRequestItem::get("1", "/a"),
            BatchRequestItem::get("1", "/b"),
        ];
        assert!(BatchRequest::new(dup).is_err());
        assert!(BatchRequest::new(vec![]).is_err());
    }
}
