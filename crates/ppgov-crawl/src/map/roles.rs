//! Admin role holders: BAP environment roles and Dataverse System Administrators.

use ppgov_core::{RoleAssignment, RoleSource};
use ppgov_model::bap;

/// Maps a BAP role assignment (EnvironmentAdmin, EnvironmentMaker).
pub fn bap_role_assignment(environment_id: &str, r: &bap::RoleAssignment) -> RoleAssignment {
    let p = &r.properties.principal;
    RoleAssignment {
        environment_id: environment_id.to_string(),
        principal_id: p.id.clone().unwrap_or_default().to_ascii_lowercase(),
        principal_type: super::principal_type(p.principal_type.as_ref().map(|t| t.as_str())),
        principal_name: super::present(&p.display_name),
        principal_upn: super::present(&p.email).or_else(|| super::present(&p.user_principal_name)),
        role: r.properties.role_definition.role_name().to_string(),
        source: RoleSource::Bap,
        system_user_id: None,
        role_id: None,
        assignment_id: Some(r.id.clone()),
        disabled_in_environment: false,
        via_group: None,
    }
}

/// Maps a Dataverse system user holding System Administrator through role `role_id`.
pub fn dataverse_admin(
    environment_id: &str,
    user: &ppgov_model::dataverse::SystemUser,
    role_id: &str,
) -> RoleAssignment {
    let app_user = user.is_application_user();
    RoleAssignment {
        environment_id: environment_id.to_string(),
        principal_id: user
            .azureactivedirectoryobjectid
            .clone()
            .unwrap_or_default()
            .to_ascii_lowercase(),
        principal_type: if app_user {
            "ServicePrincipal".into()
        } else {
            "User".into()
        },
        principal_name: super::present(&user.fullname),
        principal_upn: super::present(&user.domainname),
        role: "SystemAdministrator".into(),
        source: RoleSource::Dataverse,
        system_user_id: user.systemuserid.clone(),
        role_id: Some(role_id.to_string()),
        assignment_id: None,
        disabled_in_environment: user.isdisabled.unwrap_or(false),
        via_group: None,
    }
}

/// Maps a Microsoft Entra group team holding System Administrator through role `role_id`: the
/// group itself as a holder (it is not a person; Graph tells its kind).
pub fn group_team_admin(
    environment_id: &str,
    team: &ppgov_model::dataverse::Team,
    role_id: &str,
) -> RoleAssignment {
    RoleAssignment {
        environment_id: environment_id.to_string(),
        principal_id: team
            .azureactivedirectoryobjectid
            .clone()
            .unwrap_or_default()
            .to_ascii_lowercase(),
        principal_type: "Group".into(),
        principal_name: super::present(&team.name),
        principal_upn: None,
        role: "SystemAdministrator".into(),
        source: RoleSource::Dataverse,
        system_user_id: None,
        role_id: Some(role_id.to_string()),
        assignment_id: team.teamid.clone(),
        disabled_in_environment: false,
        via_group: None,
    }
}

/// Maps a transitive member of a group team's group: it holds the team's System Administrator
/// role through the group (`via_group`), a standing assignment (no just-in-time elevation).
pub fn group_member_admin(
    group_admin: &RoleAssignment,
    member: &ppgov_model::graph::DirectoryObject,
) -> RoleAssignment {
    let kind = member.kind().unwrap_or_default();
    let principal_type = if kind.eq_ignore_ascii_case("servicePrincipal") {
        "ServicePrincipal"
    } else if kind.eq_ignore_ascii_case("user") {
        "User"
    } else {
        ""
    };
    RoleAssignment {
        environment_id: group_admin.environment_id.clone(),
        principal_id: member.id.to_ascii_lowercase(),
        principal_type: principal_type.into(),
        principal_name: super::present(&member.display_name),
        principal_upn: super::present(&member.user_principal_name),
        role: group_admin.role.clone(),
        source: RoleSource::Dataverse,
        system_user_id: None,
        role_id: group_admin.role_id.clone(),
        assignment_id: group_admin.assignment_id.clone(),
        disabled_in_environment: false,
        via_group: Some(group_admin.principal_id.clone()),
    }
}
