//! Dataverse Web API (`/api/data/v9.2`) rows ppgov reads: `systemusers`, `roles`,
//! `organizations`, `businessunits`, and the `$ref` association body.
//!
//! Lists use [`crate::common::ListPage`] (`@odata.nextLink`). OData annotations such as
//! `@odata.etag` and formatted values are kept in `extra` or typed where useful.

use crate::common::JsonMap;
use serde::{Deserialize, Serialize};

/// System Administrator role template id.
pub const SYSTEM_ADMINISTRATOR_TEMPLATE_ID: &str = "627090ff-40a3-4053-8790-584edc5be201";
/// System Customizer role template id.
pub const SYSTEM_CUSTOMIZER_TEMPLATE_ID: &str = "119f245c-3cc8-4b62-b31c-d1a046ced15d";

/// A `systemusers` row.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct SystemUser {
    /// Row etag.
    #[serde(
        rename = "@odata.etag",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub etag: Option<String>,
    /// Row id.
    #[serde(default)]
    pub systemuserid: Option<String>,
    /// UPN.
    #[serde(default)]
    pub domainname: Option<String>,
    /// Entra object id.
    #[serde(default)]
    pub azureactivedirectoryobjectid: Option<String>,
    /// Full name.
    #[serde(default)]
    pub fullname: Option<String>,
    /// Disabled.
    #[serde(default)]
    pub isdisabled: Option<bool>,
    /// 0 read-write, 4 non-interactive, ...
    #[serde(default, deserialize_with = "crate::common::lenient::opt_i64")]
    pub accessmode: Option<i64>,
    /// App id for application users.
    #[serde(default)]
    pub applicationid: Option<String>,
    /// Licensed.
    #[serde(default)]
    pub islicensed: Option<bool>,
    /// Business unit.
    #[serde(rename = "_businessunitid_value", default)]
    pub businessunitid: Option<String>,
    /// Set when the Entra user was deleted.
    #[serde(default)]
    pub azuredeletedon: Option<String>,
    /// Roles (with `$expand=systemuserroles_association`).
    #[serde(
        default,
        deserialize_with = "crate::common::lenient::null_vec",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub systemuserroles_association: Vec<Role>,
    /// Anything else the service sent.
    #[serde(flatten)]
    pub extra: JsonMap,
}

impl SystemUser {
    /// True for an application (service principal) user.
    pub fn is_application_user(&self) -> bool {
        self.applicationid
            .as_deref()
            .is_some_and(|a| !a.is_empty() && a != "00000000-0000-0000-0000-000000000000")
    }

    /// True when any expanded role is System Administrator.
    pub fn is_system_administrator(&self) -> bool {
        self.systemuserroles_association
            .iter()
            .any(Role::is_system_administrator)
    }
}

/// A `roles` row.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct Role {
    /// Row etag.
    #[serde(
        rename = "@odata.etag",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub etag: Option<String>,
    /// Row id (per business unit).
    #[serde(default)]
    pub roleid: Option<String>,
    /// Name.
    #[serde(default)]
    pub name: Option<String>,
    /// Template id (same across business units).
    #[serde(rename = "_roletemplateid_value", default)]
    pub roletemplateid: Option<String>,
    /// Business unit.
    #[serde(rename = "_businessunitid_value", default)]
    pub businessunitid: Option<String>,
    /// Root role.
    #[serde(rename = "_parentrootroleid_value", default)]
    pub parentrootroleid: Option<String>,
    /// Managed.
    #[serde(default)]
    pub ismanaged: Option<bool>,
    /// Customisable.
    #[serde(default)]
    pub iscustomizable: Option<ManagedProperty>,
    /// Anything else the service sent.
    #[serde(flatten)]
    pub extra: JsonMap,
}

impl Role {
    /// True for the System Administrator template.
    pub fn is_system_administrator(&self) -> bool {
        self.roletemplateid
            .as_deref()
            .is_some_and(|t| t.eq_ignore_ascii_case(SYSTEM_ADMINISTRATOR_TEMPLATE_ID))
    }
}

/// A Dataverse managed property (`{Value, CanBeChanged, ManagedPropertyLogicalName}`).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ManagedProperty {
    /// Value.
    #[serde(default)]
    pub value: Option<bool>,
    /// Changeable.
    #[serde(default)]
    pub can_be_changed: Option<bool>,
    /// Logical name.
    #[serde(default)]
    pub managed_property_logical_name: Option<String>,
}

/// An `organizations` row (one per environment).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct Organization {
    /// Row etag.
    #[serde(
        rename = "@odata.etag",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub etag: Option<String>,
    /// Row id (PATCH target).
    #[serde(default)]
    pub organizationid: Option<String>,
    /// Name.
    #[serde(default)]
    pub name: Option<String>,
    /// New canvas apps go into solutions by default.
    #[serde(default)]
    pub enablecanvasappsinsolutionsbydefault: Option<bool>,
    /// New cloud flows go into solutions by default.
    #[serde(default)]
    pub enableflowsinsolutionbydefault: Option<bool>,
    /// Grace period companion of the flows flag.
    #[serde(default)]
    pub enableflowsinsolutionbydefaultgraceperiod: Option<bool>,
    /// Dataverse auditing on.
    #[serde(default)]
    pub isauditenabled: Option<bool>,
    /// User access auditing on.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub isuseraccessauditenabled: Option<bool>,
    /// Read auditing on.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub isreadauditenabled: Option<bool>,
    /// Audit retention (days, -1 forever).
    #[serde(
        default,
        deserialize_with = "crate::common::lenient::opt_i64",
        skip_serializing_if = "Option::is_none"
    )]
    pub auditretentionperiodv2: Option<i64>,
    /// Anything else the service sent.
    #[serde(flatten)]
    pub extra: JsonMap,
}

/// A `businessunits` row.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct BusinessUnit {
    /// Row etag.
    #[serde(
        rename = "@odata.etag",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub etag: Option<String>,
    /// Row id.
    #[serde(default)]
    pub businessunitid: Option<String>,
    /// Name.
    #[serde(default)]
    pub name: Option<String>,
    /// Parent (absent for the root).
    #[serde(rename = "_parentbusinessunitid_value", default)]
    pub parentbusinessunitid: Option<String>,
    /// Disabled.
    #[serde(default)]
    pub isdisabled: Option<bool>,
    /// Anything else the service sent.
    #[serde(flatten)]
    pub extra: JsonMap,
}

impl BusinessUnit {
    /// True for the root business unit.
    pub fn is_root(&self) -> bool {
        self.parentbusinessunitid.is_none()
    }
}

/// `POST .../systemuserroles_association/$ref` body: `{"@odata.id": "<absolute role url>"}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AssociateRef {
    /// Absolute URL of the row to associate.
    #[serde(rename = "@odata.id")]
    pub odata_id: String,
}

impl AssociateRef {
    /// Body associating a role: `{org}/api/data/v9.2/roles({roleid})`.
    pub fn role(org_url: &str, role_id: &str) -> Self {
        Self {
            odata_id: format!(
                "{}/api/data/v9.2/roles({role_id})",
                org_url.trim_end_matches('/')
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ref_body_shape() {
        let b = AssociateRef::role("https://org.crm.dynamics.com/", "r1");
        assert_eq!(
            serde_json::to_string(&b).unwrap(),
            r#"{"@odata.id":"https://org.crm.dynamics.com/api/data/v9.2/roles(r1)"}"#
        );
    }
}

/// A `teams` row. Microsoft Entra group teams (`teamtype` 2: security group, 3: Office group)
/// carry `azureactivedirectoryobjectid`, the group whose members hold the team's roles.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct Team {
    /// Row id.
    #[serde(default)]
    pub teamid: Option<String>,
    /// Name.
    #[serde(default)]
    pub name: Option<String>,
    /// 0 owner, 1 access, 2 Entra security group, 3 Entra Office group.
    #[serde(default, deserialize_with = "crate::common::lenient::opt_i64")]
    pub teamtype: Option<i64>,
    /// The Entra group's object id (group teams only).
    #[serde(default)]
    pub azureactivedirectoryobjectid: Option<String>,
    /// Business unit.
    #[serde(rename = "_businessunitid_value", default)]
    pub businessunitid: Option<String>,
    /// Anything else the service sent.
    #[serde(flatten)]
    pub extra: JsonMap,
}

impl Team {
    /// True for a Microsoft Entra group team (security or Office group) with its group id.
    pub fn is_group_team(&self) -> bool {
        matches!(self.teamtype, Some(2 | 3))
            && self
                .azureactivedirectoryobjectid
                .as_deref()
                .is_some_and(|g| !g.trim().is_empty())
    }
}
