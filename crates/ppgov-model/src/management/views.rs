//! Typed views of the type-specific fields of audit records.

use crate::ModelError;
use crate::common::JsonMap;
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// Parses a field that holds JSON either as an object or encoded in a string.
fn embedded_json(field: &'static str, v: Option<&Value>) -> Result<Option<Value>, ModelError> {
    match v {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) if s.trim().is_empty() => Ok(None),
        Some(Value::String(s)) => serde_json::from_str(s)
            .map(Some)
            .map_err(|source| ModelError::EmbeddedJson { field, source }),
        Some(other) => Ok(Some(other.clone())),
    }
}

/// `{"Name":..,"Value":..}` pair (PropertyCollection, ExtendedProperties).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct NameValue {
    /// Key.
    #[serde(default)]
    pub name: String,
    /// Value (non-string scalars are stringified).
    #[serde(default, deserialize_with = "crate::common::lenient::opt_string")]
    pub value: Option<String>,
}

/// RecordType 30 (Power Automate).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct FlowRecord {
    /// Flow details page URL (empty on `DeleteFlow`).
    #[serde(rename = "FlowDetailsUrl", default)]
    pub flow_details_url: Option<String>,
    /// Connector display names in the definition.
    #[serde(rename = "FlowConnectorNames", default)]
    pub flow_connector_names: Option<String>,
    /// `3` owner, `2` run-only user.
    #[serde(
        rename = "SharingPermission",
        default,
        deserialize_with = "crate::common::lenient::opt_string"
    )]
    pub sharing_permission: Option<String>,
    /// Permission recipient.
    #[serde(rename = "RecipientUPN", default)]
    pub recipient_upn: Option<String>,
    /// Trial licence name.
    #[serde(rename = "LicenseDisplayName", default)]
    pub license_display_name: Option<String>,
    /// `1` user, `2` admin; the 2025 docs spell the key `UserTypeInititated`.
    #[serde(
        rename = "UserTypeInitiated",
        alias = "UserTypeInititated",
        default,
        deserialize_with = "crate::common::lenient::opt_i64"
    )]
    pub user_type_initiated: Option<i64>,
    /// Equals UserKey.
    #[serde(rename = "UserUPN", default)]
    pub user_upn: Option<String>,
    /// Usually the environment name (string); kept as JSON.
    #[serde(rename = "AdditionalInfo", default)]
    pub additional_info: Option<Value>,
    /// Other fields.
    #[serde(flatten)]
    pub extra: JsonMap,
}

impl FlowRecord {
    fn url_segments(&self) -> Vec<&str> {
        let Some(u) = self.flow_details_url.as_deref() else {
            return Vec::new();
        };
        let path = u.split_once("://").map_or(u, |(_, rest)| rest);
        let path = path.split(['?', '#']).next().unwrap_or_default();
        path.split('/').skip(1).filter(|s| !s.is_empty()).collect()
    }

    fn segment_after(&self, key: &str) -> Option<&str> {
        let segs = self.url_segments();
        let i = segs.iter().position(|s| s.eq_ignore_ascii_case(key))?;
        segs.get(i + 1).copied()
    }

    /// Environment id from `FlowDetailsUrl` (`.../environments/<env>/flows/<flow>/details`).
    pub fn environment_id(&self) -> Option<&str> {
        self.segment_after("environments")
    }

    /// Flow id from `FlowDetailsUrl`.
    pub fn flow_id(&self) -> Option<&str> {
        self.segment_after("flows")
    }

    /// `FlowConnectorNames` split on commas, trimmed.
    pub fn connector_names(&self) -> Vec<&str> {
        self.flow_connector_names
            .as_deref()
            .map(|s| {
                s.split(',')
                    .map(str::trim)
                    .filter(|s| !s.is_empty())
                    .collect()
            })
            .unwrap_or_default()
    }
}

/// RecordType 256 (Power Platform administrator activity).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct PowerPlatformAdminRecord {
    /// Environment id.
    #[serde(default)]
    pub environment_id: Option<String>,
    /// Schema version.
    #[serde(default, deserialize_with = "crate::common::lenient::opt_i64")]
    pub version: Option<i64>,
    /// CMK flag.
    #[serde(default)]
    pub requires_customer_key_encryption: Option<bool>,
    /// The payload.
    #[serde(default, deserialize_with = "crate::common::lenient::null_vec")]
    pub property_collection: Vec<NameValue>,
    /// The same payload as a JSON string (UAL exports).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub json_properties_collection: Option<String>,
    /// Other fields.
    #[serde(flatten)]
    pub extra: JsonMap,
}

impl PowerPlatformAdminRecord {
    /// Looks a key up in `PropertyCollection` (exact match first, then case-insensitive), then
    /// in `JsonPropertiesCollection`.
    pub fn property(&self, name: &str) -> Option<String> {
        let pc = &self.property_collection;
        if let Some(p) = pc
            .iter()
            .find(|p| p.name == name)
            .or_else(|| pc.iter().find(|p| p.name.eq_ignore_ascii_case(name)))
        {
            return p.value.clone();
        }
        let json: Value = serde_json::from_str(self.json_properties_collection.as_deref()?).ok()?;
        match json.get(name)? {
            Value::String(s) => Some(s.clone()),
            Value::Null => None,
            other => Some(other.to_string()),
        }
    }

    /// `powerplatform.analytics.activity.name`.
    pub fn activity_name(&self) -> Option<String> {
        self.property("powerplatform.analytics.activity.name")
    }
}

/// RecordType 45 (legacy Power Apps).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct PowerAppsRecord {
    /// App id.
    #[serde(default)]
    pub app_name: Option<String>,
    /// Environment GUID.
    #[serde(default)]
    pub environment_name: Option<String>,
    /// Usually the environment name.
    #[serde(default)]
    pub additional_info: Option<Value>,
    /// Other fields.
    #[serde(flatten)]
    pub extra: JsonMap,
}

/// RecordType 79 (legacy connector events).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ConnectorRecord {
    /// Custom API, connection or gateway id.
    #[serde(default)]
    pub resource_id: Option<String>,
    /// `{EnvironmentName, ActionName}` (object or JSON string).
    #[serde(default)]
    pub additional_info: Option<Value>,
    /// Other fields.
    #[serde(flatten)]
    pub extra: JsonMap,
}

impl ConnectorRecord {
    /// `AdditionalInfo` decoded whether it is an object or a JSON string.
    pub fn additional_info_json(&self) -> Result<Option<Value>, ModelError> {
        embedded_json("AdditionalInfo", self.additional_info.as_ref())
    }
}

/// RecordType 187 (legacy DLP policy change).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct DlpRecord {
    /// JSON string with policy id, type and changeSet.
    #[serde(default)]
    pub additional_info: Option<Value>,
    /// Policy name (Sentinel column; sometimes present).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub policy_name: Option<String>,
    /// Other fields.
    #[serde(flatten)]
    pub extra: JsonMap,
}

impl DlpRecord {
    /// Decodes `AdditionalInfo`.
    pub fn info(&self) -> Result<Option<DlpAdditionalInfo>, ModelError> {
        embedded_json("AdditionalInfo", self.additional_info.as_ref())?
            .map(|v| {
                serde_json::from_value(v).map_err(|source| ModelError::View {
                    what: "RecordType 187 AdditionalInfo",
                    source,
                })
            })
            .transpose()
    }
}

/// Decoded `AdditionalInfo` of a RecordType 187 record.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DlpAdditionalInfo {
    /// Policy id.
    #[serde(default)]
    pub policy_id: Option<String>,
    /// `AllEnvironments|SingleEnvironment|OnlyEnvironments|ExceptEnvironments`.
    #[serde(default)]
    pub policy_type: Option<String>,
    /// `General|Blocked|Confidential`.
    #[serde(default)]
    pub default_connector_classification: Option<String>,
    /// Environment for single-environment policies.
    #[serde(default)]
    pub environment_name: Option<String>,
    /// Update details.
    #[serde(default)]
    pub change_set: Option<ChangeSet>,
}

/// `changeSet` of a DLP update.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ChangeSet {
    /// Policy-level changes.
    #[serde(default, deserialize_with = "crate::common::lenient::null_vec")]
    pub changed_properties: Vec<ChangedProperty>,
    /// Connector moves between groups.
    #[serde(default, deserialize_with = "crate::common::lenient::null_vec")]
    pub connector_changes: Vec<ConnectorChange>,
}

/// One policy-level change.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ChangedProperty {
    /// `ApiPolicyName|DefaultConnectorClassification|DlpPolicyType`.
    #[serde(default)]
    pub name: Option<String>,
    /// Before.
    #[serde(default)]
    pub previous_value: Option<Value>,
    /// After.
    #[serde(default)]
    pub current_value: Option<Value>,
}

/// One connector change.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ConnectorChange {
    /// Connector display name.
    #[serde(default)]
    pub name: Option<String>,
    /// Connector id.
    #[serde(default)]
    pub id: Option<String>,
    /// `{classification}` before.
    #[serde(default)]
    pub previous_value: Option<Value>,
    /// `{classification}` after.
    #[serde(default)]
    pub current_value: Option<Value>,
}

/// RecordType 21 (Dataverse / CRM).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct CrmRecord {
    /// Org unique name.
    #[serde(default)]
    pub crm_organization_unique_name: Option<String>,
    /// Instance URL.
    #[serde(default)]
    pub instance_url: Option<String>,
    /// Item URL.
    #[serde(default)]
    pub item_url: Option<String>,
    /// Item type.
    #[serde(default)]
    pub item_type: Option<String>,
    /// SDK message (`Delete`, `ExportToExcel`, ...).
    #[serde(default)]
    pub message: Option<String>,
    /// Row id.
    #[serde(default)]
    pub entity_id: Option<String>,
    /// Table (`systemuser`, `role`, ...).
    #[serde(default)]
    pub entity_name: Option<String>,
    /// Changed fields (JSON).
    #[serde(default)]
    pub fields: Option<Value>,
    /// FetchXML.
    #[serde(default)]
    pub query: Option<String>,
    /// Comma-separated record ids.
    #[serde(default)]
    pub query_results: Option<String>,
    /// Service context id.
    #[serde(default)]
    pub service_context_id: Option<String>,
    /// Service context id type.
    #[serde(default)]
    pub service_context_id_type: Option<String>,
    /// Service name.
    #[serde(default)]
    pub service_name: Option<String>,
    /// Dataverse user id.
    #[serde(default)]
    pub system_user_id: Option<String>,
    /// Actor UPN.
    #[serde(default)]
    pub user_upn: Option<String>,
    /// User agent.
    #[serde(default)]
    pub user_agent: Option<String>,
    /// Groups records split by the 3 KB limit.
    #[serde(default)]
    pub correlation_id: Option<String>,
    /// Other fields.
    #[serde(flatten)]
    pub extra: JsonMap,
}

impl CrmRecord {
    /// Number of ids in `QueryResults` (0 when absent).
    pub fn query_result_count(&self) -> usize {
        self.query_results
            .as_deref()
            .map_or(0, |s| s.split(',').filter(|x| !x.trim().is_empty()).count())
    }
}

/// RecordType 8 (Entra directory audit).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct AadRecord {
    /// Event type.
    #[serde(default, deserialize_with = "crate::common::lenient::opt_i64")]
    pub azure_active_directory_event_type: Option<i64>,
    /// Changed properties.
    #[serde(default, deserialize_with = "crate::common::lenient::null_vec")]
    pub modified_properties: Vec<ModifiedProperty>,
    /// Targets.
    #[serde(default, deserialize_with = "crate::common::lenient::null_vec")]
    pub target: Vec<AadTarget>,
    /// Actors.
    #[serde(default, deserialize_with = "crate::common::lenient::null_vec")]
    pub actor: Vec<AadTarget>,
    /// Extended properties.
    #[serde(default, deserialize_with = "crate::common::lenient::null_vec")]
    pub extended_properties: Vec<NameValue>,
    /// Other fields.
    #[serde(flatten)]
    pub extra: JsonMap,
}

impl AadRecord {
    /// A modified property by name (case-insensitive).
    pub fn modified_property(&self, name: &str) -> Option<&ModifiedProperty> {
        self.modified_properties
            .iter()
            .find(|p| p.name.eq_ignore_ascii_case(name))
    }
}

/// One `ModifiedProperties` entry.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ModifiedProperty {
    /// Property name, e.g. `ConsentContext.IsAdminConsent`.
    #[serde(default)]
    pub name: String,
    /// New value.
    #[serde(default, deserialize_with = "crate::common::lenient::opt_string")]
    pub new_value: Option<String>,
    /// Old value.
    #[serde(default, deserialize_with = "crate::common::lenient::opt_string")]
    pub old_value: Option<String>,
}

/// One `Target`/`Actor` entry.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct AadTarget {
    /// Id kind.
    #[serde(
        rename = "Type",
        default,
        deserialize_with = "crate::common::lenient::opt_i64"
    )]
    pub target_type: Option<i64>,
    /// The id.
    #[serde(
        rename = "ID",
        default,
        deserialize_with = "crate::common::lenient::opt_string"
    )]
    pub id: Option<String>,
}
