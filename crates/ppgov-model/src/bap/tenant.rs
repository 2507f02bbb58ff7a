//! Tenant info (E9) and tenant isolation policy (E10).

use crate::common::JsonMap;
use serde::{Deserialize, Serialize};

/// `GET .../tenant`: tenant geography.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TenantInfo {
    /// Tenant id.
    #[serde(default)]
    pub tenant_id: Option<String>,
    /// `Enabled`, ...
    #[serde(default)]
    pub state: Option<String>,
    /// e.g. `unitedstates`.
    #[serde(default)]
    pub location: Option<String>,
    /// Entra country geo.
    #[serde(default)]
    pub aad_country_geo: Option<String>,
    /// Data storage geo.
    #[serde(default)]
    pub data_storage_geo: Option<String>,
    /// Default environment geo.
    #[serde(default)]
    pub default_environment_geo: Option<String>,
    /// `none`, `EU`, ...
    #[serde(default)]
    pub aad_data_boundary: Option<String>,
    /// FedRAMP High required.
    #[serde(rename = "fedRAMPHighCertificationRequired", default)]
    pub fedramp_high_certification_required: Option<bool>,
    /// Anything else the service sent.
    #[serde(flatten)]
    pub extra: JsonMap,
}

/// E10 tenant isolation policy (GET response and PUT body). A 404 means "no policy".
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct TenantIsolationPolicy {
    /// The policy.
    #[serde(default)]
    pub properties: TenantIsolationProperties,
    /// Anything else the service sent (id, name, type, etag).
    #[serde(flatten)]
    pub extra: JsonMap,
}

/// `properties` of [`TenantIsolationPolicy`].
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TenantIsolationProperties {
    /// Tenant id.
    #[serde(default)]
    pub tenant_id: Option<String>,
    /// `true` = isolation off.
    #[serde(default)]
    pub is_disabled: Option<bool>,
    /// Allow-list of partner tenants.
    #[serde(default, deserialize_with = "crate::common::lenient::null_vec")]
    pub allowed_tenants: Vec<AllowedTenant>,
    /// Anything else the service sent.
    #[serde(flatten)]
    pub extra: JsonMap,
}

impl TenantIsolationPolicy {
    /// True when isolation is on (`isDisabled` false or absent).
    pub fn is_enabled(&self) -> bool {
        !self.properties.is_disabled.unwrap_or(false)
    }
}

/// One allowed partner tenant.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AllowedTenant {
    /// Partner tenant id, or `*`.
    pub tenant_id: String,
    /// Allowed directions.
    #[serde(default)]
    pub direction: IsolationDirection,
}

/// `direction` of an [`AllowedTenant`].
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct IsolationDirection {
    /// Partner may connect into this tenant.
    #[serde(default)]
    pub inbound: bool,
    /// This tenant may connect out to the partner.
    #[serde(default)]
    pub outbound: bool,
}
