//! Flows (F1 list item, F2 GET) and flow permissions (F4).

use crate::common::{EnvironmentRef, JsonMap, PrincipalRef, last_segment, string_enum};
use crate::powerapps::PermissionRole;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::BTreeMap;

string_enum! {
    /// `properties.state` of a flow.
    pub enum FlowState {
        /// On.
        Started => "Started",
        /// Off.
        Stopped => "Stopped",
        /// Suspended (DLP, licence, ...).
        Suspended => "Suspended",
    }
}

/// A flow: the F1 list item, or the F2 GET result (which adds `definition`).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct Flow {
    /// Flow GUID.
    #[serde(default)]
    pub name: String,
    /// Resource path.
    #[serde(default)]
    pub id: Option<String>,
    /// Resource type.
    #[serde(rename = "type", default)]
    pub resource_type: Option<String>,
    /// The flow.
    #[serde(default)]
    pub properties: FlowProperties,
}

/// `properties` of a [`Flow`].
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FlowProperties {
    /// `/providers/Microsoft.PowerApps/apis/shared_logicflows`.
    #[serde(default)]
    pub api_id: Option<String>,
    /// Display name.
    #[serde(default)]
    pub display_name: Option<String>,
    /// Caller's relation, e.g. `Owner`.
    #[serde(default)]
    pub user_type: Option<String>,
    /// On/off/suspended.
    #[serde(default)]
    pub state: Option<FlowState>,
    /// Suspension reason (`None` when running).
    #[serde(default)]
    pub flow_suspension_reason: Option<String>,
    /// Creation time.
    #[serde(default)]
    pub created_time: Option<String>,
    /// Last modification time.
    #[serde(default)]
    pub last_modified_time: Option<String>,
    /// Environment.
    #[serde(default)]
    pub environment: Option<EnvironmentRef>,
    /// Connection references keyed by connector name (`shared_sharepointonline`).
    #[serde(default, deserialize_with = "crate::common::lenient::null_map")]
    pub connection_references: BTreeMap<String, FlowConnectionReference>,
    /// Trigger and action summary.
    #[serde(default)]
    pub definition_summary: Option<DefinitionSummary>,
    /// Creator.
    #[serde(default)]
    pub creator: Option<FlowCreator>,
    /// `FromDefinition`, ...
    #[serde(default)]
    pub provisioning_method: Option<String>,
    /// Failure alerts on.
    #[serde(default)]
    pub flow_failure_alert_subscribed: Option<bool>,
    /// In a managed solution.
    #[serde(default)]
    pub is_managed: Option<bool>,
    /// Full Logic Apps workflow definition (F2 only; arbitrary JSON).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub definition: Option<Value>,
    /// Trigger URI (F2 only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub flow_trigger_uri: Option<String>,
    /// Anything else the service sent (`installedConnectionReferences`, `plan`, ...).
    #[serde(flatten)]
    pub extra: JsonMap,
}

impl Flow {
    /// Connector names referenced (keys of `connectionReferences`, else the last segment of
    /// each reference id), lower-cased, sorted, de-duplicated.
    pub fn connector_names(&self) -> Vec<String> {
        let mut v: Vec<String> = self
            .properties
            .connection_references
            .iter()
            .map(|(k, r)| {
                r.id.as_deref()
                    .map(last_segment)
                    .unwrap_or(k)
                    .to_ascii_lowercase()
            })
            .collect();
        v.sort();
        v.dedup();
        v
    }

    /// Triggers of the definition summary (empty if absent).
    pub fn triggers(&self) -> &[OperationSummary] {
        self.properties
            .definition_summary
            .as_ref()
            .map_or(&[], |d| d.triggers.as_slice())
    }

    /// Actions of the definition summary (empty if absent).
    pub fn actions(&self) -> &[OperationSummary] {
        self.properties
            .definition_summary
            .as_ref()
            .map_or(&[], |d| d.actions.as_slice())
    }
}

/// One flow connection reference.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FlowConnectionReference {
    /// Connection name.
    #[serde(default)]
    pub connection_name: Option<String>,
    /// `Embedded` or `Invoker`.
    #[serde(default)]
    pub source: Option<String>,
    /// `/providers/Microsoft.PowerApps/apis/shared_x`.
    #[serde(default)]
    pub id: Option<String>,
    /// Display name.
    #[serde(default)]
    pub display_name: Option<String>,
    /// Icon.
    #[serde(default)]
    pub icon_uri: Option<String>,
    /// Brand colour.
    #[serde(default)]
    pub brand_color: Option<String>,
    /// `Standard`, `Premium`, `NotSpecified`.
    #[serde(default)]
    pub tier: Option<String>,
    /// Anything else the service sent.
    #[serde(flatten)]
    pub extra: JsonMap,
}

/// `definitionSummary`.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct DefinitionSummary {
    /// Triggers.
    #[serde(default, deserialize_with = "crate::common::lenient::null_vec")]
    pub triggers: Vec<OperationSummary>,
    /// Actions.
    #[serde(default, deserialize_with = "crate::common::lenient::null_vec")]
    pub actions: Vec<OperationSummary>,
}

/// One trigger or action in a summary.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct OperationSummary {
    /// `OpenApiConnection`, `Request`, `Recurrence`, `Http`, `If`, ...
    #[serde(rename = "type", default)]
    pub op_type: Option<String>,
    /// `Button`, `Http` for `Request` triggers.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
    /// Connector operation.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub swagger_operation_id: Option<String>,
    /// Metadata.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metadata: Option<Value>,
    /// With `$expand=...apioperation`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub api_operation: Option<Value>,
    /// Anything else the service sent.
    #[serde(flatten)]
    pub extra: JsonMap,
}

impl OperationSummary {
    /// True for an HTTP action or an HTTP-request trigger.
    pub fn is_http(&self) -> bool {
        let t = self.op_type.as_deref().unwrap_or_default();
        t.eq_ignore_ascii_case("Http")
            || (t.eq_ignore_ascii_case("Request")
                && self
                    .kind
                    .as_deref()
                    .is_some_and(|k| k.eq_ignore_ascii_case("Http")))
    }
}

/// `creator`.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FlowCreator {
    /// Tenant.
    #[serde(default)]
    pub tenant_id: Option<String>,
    /// Object id.
    #[serde(default)]
    pub object_id: Option<String>,
    /// User id.
    #[serde(default)]
    pub user_id: Option<String>,
    /// `ActiveDirectory`, ...
    #[serde(default)]
    pub user_type: Option<String>,
}

/// One F4 permission.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct FlowPermission {
    /// Principal id.
    #[serde(default)]
    pub name: Option<String>,
    /// Permission id.
    #[serde(default)]
    pub id: String,
    /// Resource type.
    #[serde(rename = "type", default)]
    pub resource_type: Option<String>,
    /// The permission.
    #[serde(default)]
    pub properties: FlowPermissionProperties,
}

/// `properties` of a [`FlowPermission`].
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FlowPermissionProperties {
    /// `Owner`, `CanEdit`, `CanView`.
    #[serde(default)]
    pub role_name: Option<PermissionRole>,
    /// `Principal`, ...
    #[serde(default)]
    pub permission_type: Option<String>,
    /// Grantee.
    #[serde(default)]
    pub principal: PrincipalRef,
    /// Anything else the service sent.
    #[serde(flatten)]
    pub extra: JsonMap,
}
