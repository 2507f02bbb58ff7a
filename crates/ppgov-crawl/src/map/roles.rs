//! Admin role holders: BAP environment roles and Dataverse System Administrators.

use ppgov_core::{RoleAssignment, RoleSource};
use ppgov_model::bap;

/// Maps a BAP role assignment (EnvironmentAdmin, EnvironmentMaker).
pub fn bap_role_assignment(environment_id: &str, r: &bap::RoleAssignment) -> RoleAssignment {
    let p = &r.properties.principal;
    RoleAssignment {
        environment_id: environment_id.to_string(),
        principal_id: p.id.clone().unwrap_or_default().to_ascii_lowercase(),
        principal_type: p
            .principal_type
            .as_ref()
            .map(|t| t.as_str().to_string())
            .unwrap_or_else(|| "User".into()),
        principal_name: p.display_name.clone(),
        principal_upn: p.email.clone().or_else(|| p.user_principal_name.clone()),
        role: r.properties.role_definition.role_name().to_string(),
        source: RoleSource::Bap,
        system_user_id: None,
        role_id: None,
        assignment_id: Some(r.id.clone()),
        disabled_in_environment: false,
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
        principal_name: user.fullname.clone(),
        principal_upn: user.domainname.clone(),
        role: "SystemAdministrator".into(),
        source: RoleSource::Dataverse,
        system_user_id: user.systemuserid.clone(),
        role_id: Some(role_id.to_string()),
        assignment_id: None,
        disabled_in_environment: user.isdisabled.unwrap_or(false),
    }
}
