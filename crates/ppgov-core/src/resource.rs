//! Resource kinds and references to one resource.

use serde::{Deserialize, Serialize};
use std::fmt;

/// The kinds of resource ppgov collects and judges.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ResourceKind {
    /// The tenant itself (tenant settings, tenant isolation, tenant-wide DLP shape).
    Tenant,
    /// A Power Platform environment.
    Environment,
    /// A canvas (or other) Power App.
    App,
    /// A cloud flow.
    Flow,
    /// A connection.
    Connection,
    /// A DLP (data) policy.
    DlpPolicy,
    /// A holder of an admin role in one environment; id is `<environment>/<principal object id>`.
    RoleHolder,
    /// A user, group or service principal.
    Principal,
}

impl ResourceKind {
    /// The snake_case name used in outputs.
    pub fn as_str(self) -> &'static str {
        match self {
            ResourceKind::Tenant => "tenant",
            ResourceKind::Environment => "environment",
            ResourceKind::App => "app",
            ResourceKind::Flow => "flow",
            ResourceKind::Connection => "connection",
            ResourceKind::DlpPolicy => "dlp_policy",
            ResourceKind::RoleHolder => "role_holder",
            ResourceKind::Principal => "principal",
        }
    }
}

impl fmt::Display for ResourceKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Points at one resource. `id` is the resource's id as the API names it: the `name` of an
/// environment, app, flow or connection; the policy `name` for DLP policies; the tenant id for the
/// tenant; `<environment name>/<principal object id>` for role holders.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct ResourceRef {
    /// What kind of resource.
    pub kind: ResourceKind,
    /// Its id (see the type's doc for the form per kind).
    pub id: String,
    /// Its display name, for people.
    pub name: String,
    /// The environment it lives in, where it lives in one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub environment_id: Option<String>,
}

impl ResourceRef {
    /// The id of a role holder: `<environment>/<principal object id>`.
    pub fn role_holder_id(environment_id: &str, principal_id: &str) -> String {
        format!("{environment_id}/{principal_id}")
    }
}
