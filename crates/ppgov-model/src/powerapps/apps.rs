//! Canvas apps (A1-A5).

use crate::common::{EnvironmentRef, JsonMap, PrincipalRef, last_segment, string_enum};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::BTreeMap;

string_enum! {
    /// Role in an app, flow or connection permission.
    pub enum PermissionRole {
        /// Owner.
        Owner => "Owner",
        /// Co-owner / editor.
        CanEdit => "CanEdit",
        /// User / viewer.
        CanView => "CanView",
        /// Viewer who may reshare.
        CanViewWithShare => "CanViewWithShare",
    }
}

/// One app from `GET .../scopes/admin/environments/{env}/apps`.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct App {
    /// App GUID.
    #[serde(default)]
    pub name: String,
    /// Resource path.
    #[serde(default)]
    pub id: Option<String>,
    /// Resource type.
    #[serde(rename = "type", default)]
    pub resource_type: Option<String>,
    /// Tags (`primaryFormFactor`, `publisherVersion`, ...).
    #[serde(default, deserialize_with = "crate::common::lenient::null_map")]
    pub tags: BTreeMap<String, Value>,
    /// The app.
    #[serde(default)]
    pub properties: AppProperties,
}

/// `properties` of an [`App`].
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AppProperties {
    /// Display name.
    #[serde(default)]
    pub display_name: Option<String>,
    /// Description.
    #[serde(default)]
    pub description: Option<String>,
    /// Version timestamp.
    #[serde(default)]
    pub app_version: Option<String>,
    /// `Published`, ...
    #[serde(default)]
    pub life_cycle_id: Option<String>,
    /// `Ready`, ...
    #[serde(default)]
    pub status: Option<String>,
    /// Current owner.
    #[serde(default)]
    pub owner: Option<PrincipalRef>,
    /// Creator.
    #[serde(default)]
    pub created_by: Option<PrincipalRef>,
    /// Last modifier.
    #[serde(default)]
    pub last_modified_by: Option<PrincipalRef>,
    /// Last publisher.
    #[serde(default)]
    pub last_published_by: Option<PrincipalRef>,
    /// Creation time.
    #[serde(default)]
    pub created_time: Option<String>,
    /// Last modification time.
    #[serde(default)]
    pub last_modified_time: Option<String>,
    /// Last publish time.
    #[serde(default)]
    pub last_publish_time: Option<String>,
    /// Groups it is shared with.
    #[serde(default, deserialize_with = "crate::common::lenient::opt_i64")]
    pub shared_groups_count: Option<i64>,
    /// Users it is shared with.
    #[serde(default, deserialize_with = "crate::common::lenient::opt_i64")]
    pub shared_users_count: Option<i64>,
    /// Launch URL.
    #[serde(default)]
    pub app_open_uri: Option<String>,
    /// Connection references keyed by GUID (api ids are lower-case `microsoft.powerapps`).
    #[serde(default, deserialize_with = "crate::common::lenient::null_map")]
    pub connection_references: BTreeMap<String, AppConnectionReference>,
    /// Environment.
    #[serde(default)]
    pub environment: Option<EnvironmentRef>,
    /// `Solution` or `Environment`.
    #[serde(default)]
    pub alm_mode: Option<String>,
    /// DLP evaluation result etc.
    #[serde(default)]
    pub execution_restrictions: Option<Value>,
    /// Uses premium connectors.
    #[serde(default)]
    pub uses_premium_api: Option<bool>,
    /// Uses custom connectors.
    #[serde(default)]
    pub uses_custom_api: Option<bool>,
    /// App-level consent bypass (admin setting).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bypass_consent: Option<bool>,
    /// Featured app.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub is_featured_app: Option<bool>,
    /// Hero app.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub is_hero_app: Option<bool>,
    /// Anything else the service sent.
    #[serde(flatten)]
    pub extra: JsonMap,
}

impl App {
    /// Connector names used by the app (`shared_sharepointonline`), lower-cased, sorted,
    /// de-duplicated.
    pub fn connector_names(&self) -> Vec<String> {
        let mut v: Vec<String> = self
            .properties
            .connection_references
            .values()
            .filter_map(|r| r.id.as_deref())
            .map(|id| last_segment(id).to_ascii_lowercase())
            .collect();
        v.sort();
        v.dedup();
        v
    }
}

/// One app connection reference.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AppConnectionReference {
    /// `/providers/microsoft.powerapps/apis/shared_x` (lower-case prefix).
    #[serde(default)]
    pub id: Option<String>,
    /// Connector display name.
    #[serde(default)]
    pub display_name: Option<String>,
    /// Icon.
    #[serde(default)]
    pub icon_uri: Option<String>,
    /// Data sources (tables, lists).
    #[serde(default, deserialize_with = "crate::common::lenient::null_vec")]
    pub data_sources: Vec<String>,
    /// Dependencies.
    #[serde(default, deserialize_with = "crate::common::lenient::null_vec")]
    pub dependencies: Vec<Value>,
    /// Dependents.
    #[serde(default, deserialize_with = "crate::common::lenient::null_vec")]
    pub dependents: Vec<Value>,
    /// Uses an on-premises gateway.
    #[serde(default)]
    pub is_on_premise_connection: Option<bool>,
    /// Consent bypassed for this connection.
    #[serde(default)]
    pub bypass_consent: Option<bool>,
    /// `Standard`, `Premium`, ...
    #[serde(default)]
    pub api_tier: Option<String>,
    /// Custom connector.
    #[serde(default)]
    pub is_custom_api_connection: Option<bool>,
    /// Anything else the service sent.
    #[serde(flatten)]
    pub extra: JsonMap,
}

/// One A3 permission (also the C3 shape).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct AppPermission {
    /// Principal id.
    #[serde(default)]
    pub name: Option<String>,
    /// Permission id (used in `delete`).
    #[serde(default)]
    pub id: String,
    /// Resource type.
    #[serde(rename = "type", default)]
    pub resource_type: Option<String>,
    /// The permission.
    #[serde(default)]
    pub properties: AppPermissionProperties,
}

/// `properties` of an [`AppPermission`].
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AppPermissionProperties {
    /// Role.
    #[serde(default)]
    pub role_name: Option<PermissionRole>,
    /// Grantee.
    #[serde(default)]
    pub principal: PrincipalRef,
    /// App path.
    #[serde(default)]
    pub scope: Option<String>,
    /// `NotSpecified`, ...
    #[serde(default)]
    pub notify_share_target_option: Option<String>,
    /// Grant time.
    #[serde(default)]
    pub created_on: Option<String>,
    /// Granter (id string or object).
    #[serde(default)]
    pub created_by: Option<Value>,
    /// Anything else the service sent.
    #[serde(flatten)]
    pub extra: JsonMap,
}

/// A5 body.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ModifyAppOwnerRequest {
    /// New owner object id.
    pub new_app_owner: String,
    /// `CanView` or `CanEdit`.
    pub role_for_old_app_owner: PermissionRole,
}
