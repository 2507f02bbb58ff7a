//! `modifyPermissions` bodies shared by apps (A4), flows (F5) and connections (C3).

use super::PrincipalType;
use serde::{Deserialize, Serialize};

/// `{"put":[...]}` to grant, `{"delete":[{"id"}]}` to revoke; empty lists are omitted.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct ModifyPermissionsRequest {
    /// Grants to add or change.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub put: Vec<PermissionGrant>,
    /// Permission ids (or principal ids) to remove.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub delete: Vec<IdOnly>,
}

/// `{"id": "..."}`.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct IdOnly {
    /// The id.
    pub id: String,
}

/// One grant inside `put`.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct PermissionGrant {
    /// The grant.
    pub properties: PermissionGrantProperties,
}

/// `properties` of a grant.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct PermissionGrantProperties {
    /// Who receives the role.
    pub principal: PrincipalSpec,
    /// `CanEdit`, `CanView`, `CanViewWithShare`, `Owner`.
    #[serde(rename = "roleName")]
    pub role_name: String,
    /// Apps only: `Notify` or `DoNotNotify` (PascalCase key on the wire).
    #[serde(
        rename = "NotifyShareTargetOption",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub notify_share_target_option: Option<String>,
}

/// Principal in a grant request.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PrincipalSpec {
    /// Entra object id (or tenant id for `Tenant`).
    pub id: String,
    /// `User`, `Group` or `Tenant`.
    #[serde(rename = "type")]
    pub principal_type: Option<PrincipalType>,
    /// Tenant id (apps send it for `Tenant`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tenant_id: Option<String>,
    /// E-mail (PSM sends it for flows).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    /// Display name (PSM sends it for flows).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub display_name: Option<String>,
}
