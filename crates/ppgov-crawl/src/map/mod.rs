//! Wire types (`ppgov-model`) to domain types (`ppgov-core`). The only place in ppgov where this
//! happens (ARCHITECTURE.md, invariant 1). Every function is pure and tolerant: a missing field
//! becomes `None`, never a guess.

mod apps;
mod connections;
mod custom_connectors;
mod dlp;
mod environments;
mod flows;
mod principals;
mod roles;
mod tenant;

pub use apps::{app, app_permissions, quarantine_state};

pub use connections::{connection, connection_permissions};
pub use custom_connectors::custom_connector;
pub use dlp::{dlp_policy_legacy, dlp_policy_v1, dlp_policy_v2};
pub use environments::{dataverse_settings, environment};
pub use flows::{flow, flow_permissions};
pub use principals::{graph_principal, unreadable_user, unresolved_principal};
pub use roles::{bap_role_assignment, dataverse_admin, group_member_admin, group_team_admin};
pub use tenant::{tenant_isolation, tenant_settings};

use chrono::{DateTime, Utc};
use ppgov_core::PrincipalRef;

/// Parses a wire timestamp leniently (fractional seconds, with or without `Z`); `None` when absent
/// or unreadable, so a malformed time never fails a whole page.
pub(crate) fn time(s: &Option<String>) -> Option<DateTime<Utc>> {
    s.as_deref()
        .filter(|s| !s.is_empty())
        .and_then(|s| ppgov_model::common::parse_timestamp(s).ok())
}

/// An API's empty string (`displayName: ""`, `email: ""`, recorded in the Terraform provider's
/// fixtures) is an absent value, never a name.
pub(crate) fn present(s: &Option<String>) -> Option<String> {
    s.as_deref()
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_string)
}

/// A principal type as the payload gave it; empty when it gave none (BAP role assignments and
/// permissions often omit it). Graph says what the object is; the crawl never guesses "User".
pub(crate) fn principal_type(t: Option<&str>) -> String {
    t.map(str::trim).unwrap_or_default().to_string()
}

/// Maps a wire principal reference; `None` when it carries no id.
pub(crate) fn principal_ref(p: &Option<ppgov_model::common::PrincipalRef>) -> Option<PrincipalRef> {
    let p = p.as_ref()?;
    let id = p.id.as_deref().filter(|s| !s.is_empty())?;
    Some(PrincipalRef {
        id: id.to_ascii_lowercase(),
        principal_type: principal_type(p.principal_type.as_ref().map(|t| t.as_str())),
        display_name: present(&p.display_name),
        email: present(&p.email).or_else(|| present(&p.user_principal_name)),
    })
}

/// Public form of the lenient timestamp parser, for callers comparing `lastModifiedTime`s.
pub fn time_of(s: &Option<String>) -> Option<DateTime<Utc>> {
    time(s)
}

/// Maps one access-list entry (apps, flows and connections share the shape).
pub(crate) fn permission(
    principal: &ppgov_model::common::PrincipalRef,
    role: Option<&ppgov_model::powerapps::PermissionRole>,
) -> Option<ppgov_core::Permission> {
    Some(ppgov_core::Permission {
        principal: principal_ref(&Some(principal.clone()))?,
        role_name: role.map(|r| r.as_str().to_string()).unwrap_or_default(),
    })
}
