//! The common audit record and dispatch to per-RecordType views.

use super::views::{
    AadRecord, ConnectorRecord, CrmRecord, DlpRecord, FlowRecord, PowerAppsRecord,
    PowerPlatformAdminRecord,
};
use crate::ModelError;
use crate::common::{JsonMap, parse_timestamp};
use chrono::{DateTime, Utc};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// `RecordType` numbers ppgov reads.
pub mod record_type {
    /// Entra directory audit.
    pub const AZURE_ACTIVE_DIRECTORY: i64 = 8;
    /// Dataverse / Dynamics.
    pub const CRM: i64 = 21;
    /// Power Automate.
    pub const MICROSOFT_FLOW: i64 = 30;
    /// Power Apps (legacy).
    pub const POWER_APPS_APP: i64 = 45;
    /// Connectors (legacy).
    pub const POWER_APPS_RESOURCE: i64 = 79;
    /// Power Platform DLP (legacy).
    pub const POWER_PLATFORM_ADMIN_DLP: i64 = 187;
    /// Power Platform admin activity (current).
    pub const POWER_PLATFORM_ADMINISTRATOR_ACTIVITY: i64 = 256;
}

/// One audit record: the common schema, with type-specific fields kept in `extra`.
/// Use [`AuditRecord::details`] for a typed view.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct AuditRecord {
    /// Unique id; the de-duplication key.
    pub id: String,
    /// Record type number (see [`record_type`]).
    #[serde(default, deserialize_with = "crate::common::lenient::opt_i64")]
    pub record_type: Option<i64>,
    /// UTC time **without** `Z`; see [`AuditRecord::creation_time_utc`].
    #[serde(default)]
    pub creation_time: Option<String>,
    /// Operation name (e.g. `EditFlow`).
    #[serde(default)]
    pub operation: Option<String>,
    /// Tenant id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub organization_id: Option<String>,
    /// 0 regular, 2 admin, 4 system, 5 application, 6 service principal, 10 guest, ...
    #[serde(
        default,
        deserialize_with = "crate::common::lenient::opt_i64",
        skip_serializing_if = "Option::is_none"
    )]
    pub user_type: Option<i64>,
    /// Entra object id for Power Platform workloads.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_key: Option<String>,
    /// `MicrosoftFlow`, `PowerApps`, `PowerPlatform`, `AzureActiveDirectory`, ...
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub workload: Option<String>,
    /// `Succeeded`, `PartiallySucceeded`, `Failed` (older Entra records lower-case).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub result_status: Option<String>,
    /// Object acted on (meaning varies by workload).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub object_id: Option<String>,
    /// Actor UPN.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_id: Option<String>,
    /// Client IP (null for Entra events).
    #[serde(rename = "ClientIP", default, skip_serializing_if = "Option::is_none")]
    pub client_ip: Option<String>,
    /// Type-specific fields.
    #[serde(flatten)]
    pub extra: JsonMap,
}

/// Typed view of a record by its `RecordType` (boxed: the views differ a lot in size).
#[derive(Debug, Clone, PartialEq)]
pub enum RecordDetails {
    /// RecordType 30.
    Flow(Box<FlowRecord>),
    /// RecordType 256.
    PowerPlatformAdmin(Box<PowerPlatformAdminRecord>),
    /// RecordType 45.
    PowerApps(Box<PowerAppsRecord>),
    /// RecordType 79.
    Connector(Box<ConnectorRecord>),
    /// RecordType 187.
    Dlp(Box<DlpRecord>),
    /// RecordType 21.
    Crm(Box<CrmRecord>),
    /// RecordType 8.
    AzureActiveDirectory(Box<AadRecord>),
    /// Any other (or missing) RecordType; use `extra` directly.
    Other(Option<i64>),
}

impl AuditRecord {
    /// `CreationTime` as UTC (no zone means UTC; a `Z` or offset is honoured).
    pub fn creation_time_utc(&self) -> Result<DateTime<Utc>, ModelError> {
        parse_timestamp(self.creation_time.as_deref().unwrap_or_default())
    }

    /// The typed view matching `RecordType`.
    pub fn details(&self) -> Result<RecordDetails, ModelError> {
        use record_type::*;
        Ok(match self.record_type {
            Some(MICROSOFT_FLOW) => RecordDetails::Flow(self.view("RecordType 30 fields")?),
            Some(POWER_PLATFORM_ADMINISTRATOR_ACTIVITY) => {
                RecordDetails::PowerPlatformAdmin(self.view("RecordType 256 fields")?)
            }
            Some(POWER_APPS_APP) => RecordDetails::PowerApps(self.view("RecordType 45 fields")?),
            Some(POWER_APPS_RESOURCE) => {
                RecordDetails::Connector(self.view("RecordType 79 fields")?)
            }
            Some(POWER_PLATFORM_ADMIN_DLP) => {
                RecordDetails::Dlp(self.view("RecordType 187 fields")?)
            }
            Some(CRM) => RecordDetails::Crm(self.view("RecordType 21 fields")?),
            Some(AZURE_ACTIVE_DIRECTORY) => {
                RecordDetails::AzureActiveDirectory(self.view("RecordType 8 fields")?)
            }
            other => RecordDetails::Other(other),
        })
    }

    /// Deserialises the type-specific fields into any view type.
    pub fn view<T: DeserializeOwned>(&self, what: &'static str) -> Result<T, ModelError> {
        serde_json::from_value(Value::Object(self.extra.clone()))
            .map_err(|source| ModelError::View { what, source })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn creation_time_without_z_is_utc() {
        let r: AuditRecord = serde_json::from_str(
            r#"{"Id":"1","RecordType":30,"CreationTime":"2026-03-04T10:15:22","Operation":"EditFlow","ClientIP":"203.0.113.7","UserTypeInititated":2}"#,
        )
        .unwrap();
        assert_eq!(
            r.creation_time_utc().unwrap().to_rfc3339(),
            "2026-03-04T10:15:22+00:00"
        );
        assert_eq!(r.client_ip.as_deref(), Some("203.0.113.7"));
        let RecordDetails::Flow(f) = r.details().unwrap() else {
            panic!("expected a flow record")
        };
        assert_eq!(f.user_type_initiated, Some(2));
        let z = AuditRecord {
            creation_time: Some("2026-03-04T10:15:22Z".into()),
            ..Default::default()
        };
        assert_eq!(
            z.creation_time_utc().unwrap(),
            r.creation_time_utc().unwrap()
        );
        let bad = AuditRecord {
            creation_time: Some("yesterday".into()),
            ..Default::default()
        };
        assert!(bad.creation_time_utc().is_err());
    }

    #[test]
    fn unknown_record_type_is_other() {
        let r: AuditRecord = serde_json::from_str(r#"{"Id":"1","RecordType":15,"Foo":1}"#).unwrap();
        assert_eq!(r.details().unwrap(), RecordDetails::Other(Some(15)));
        assert_eq!(r.extra["Foo"], 1);
    }
}
