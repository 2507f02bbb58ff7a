//! Connections.

use super::{principal_ref, time};
use ppgov_core::{Connection, Permission, PrincipalRef, connector_key};
use ppgov_model::powerapps;

/// True when the connection signs in as a service principal rather than a person: the parameter
/// set is `servicePrincipal`, the grant is client credentials, or a service principal created it.
fn is_service_principal(p: &powerapps::ConnectionProperties) -> bool {
    let set = p
        .connection_parameters_set
        .as_ref()
        .and_then(|s| s.name.as_deref())
        .unwrap_or_default();
    let grant = p
        .connection_parameters
        .as_ref()
        .and_then(|m| m.get("token:grantType"))
        .and_then(|v| v.as_str())
        .unwrap_or_default();
    let creator_sp = p
        .created_by
        .as_ref()
        .and_then(|c| c.principal_type.as_ref())
        .is_some_and(|t| t.as_str() == "ServicePrincipal");
    set.eq_ignore_ascii_case("servicePrincipal")
        || grant.eq_ignore_ascii_case("client_credentials")
        || creator_sp
}

/// Maps a connection list item. The admin list does not carry sharing: inline permissions are
/// kept when a source includes them, otherwise `permissions` is `None` (not collected) until the
/// crawler reads the connection's `/permissions`.
pub fn connection(environment_id: &str, c: &powerapps::Connection) -> Connection {
    let p = &c.properties;
    let api_id = p.api_id.clone().unwrap_or_default();
    let permissions: Vec<Permission> = p
        .permissions
        .iter()
        .filter_map(|perm| {
            super::permission(
                &perm.properties.principal,
                perm.properties.role_name.as_ref(),
            )
        })
        .collect();
    Connection {
        id: c.name.clone(),
        environment_id: environment_id.to_string(),
        connector: connector_key(&api_id),
        api_id,
        display_name: p.display_name.clone().unwrap_or_else(|| c.name.clone()),
        created_by: principal_ref(&p.created_by).map(|r| PrincipalRef { ..r }),
        created_time: time(&p.created_time),
        last_modified_time: time(&p.last_modified_time),
        last_connected_time: time(&p.last_connected_time),
        expiration_time: time(&p.expiration_time),
        statuses: p.statuses.iter().map(|s| s.status.clone()).collect(),
        status_errors: p
            .statuses
            .iter()
            .filter_map(|s| s.error.as_ref().and_then(|e| e.code.clone()))
            .collect(),
        service_principal: is_service_principal(p),
        permissions: (!permissions.is_empty()).then_some(permissions),
        observed: Default::default(),
    }
}

/// Maps a connection's `/permissions` entries (C3).
pub fn connection_permissions(items: &[powerapps::ConnectionPermission]) -> Vec<Permission> {
    items
        .iter()
        .filter_map(|perm| {
            super::permission(
                &perm.properties.principal,
                perm.properties.role_name.as_ref(),
            )
        })
        .collect()
}
