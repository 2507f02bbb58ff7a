//! Tenant settings and tenant isolation.

use ppgov_core::{AllowedTenant, TenantIsolation, TenantSettings};
use ppgov_model::bap;

/// Maps `listTenantSettings`; the whole document is kept in `raw`, unknown keys included.
pub fn tenant_settings(s: &bap::TenantSettings) -> TenantSettings {
    let pa = s.power_apps();
    let gov = s.governance();
    TenantSettings {
        disable_environment_creation_by_non_admin_users: s
            .disable_environment_creation_by_non_admin_users,
        disable_trial_environment_creation_by_non_admin_users: s
            .disable_trial_environment_creation_by_non_admin_users,
        disable_portals_creation_by_non_admin_users: s.disable_portals_creation_by_non_admin_users,
        disable_share_with_everyone: pa.and_then(|p| p.disable_share_with_everyone),
        enable_guests_to_make: pa.and_then(|p| p.enable_guests_to_make),
        enable_default_environment_routing: gov.and_then(|g| g.enable_default_environment_routing),
        disable_developer_environment_creation_by_non_admin_users: gov
            .and_then(|g| g.disable_developer_environment_creation_by_non_admin_users),
        environment_routing_target_security_group_id: gov
            .and_then(|g| g.environment_routing_target_security_group_id.clone()),
        raw: serde_json::to_value(s).unwrap_or_default(),
    }
}

/// Maps the tenant isolation policy; `None` (the API's 404) means never configured.
pub fn tenant_isolation(p: Option<&bap::TenantIsolationPolicy>) -> TenantIsolation {
    match p {
        None => TenantIsolation {
            configured: false,
            is_disabled: true,
            allowed_tenants: vec![],
        },
        Some(p) => TenantIsolation {
            configured: true,
            is_disabled: p.properties.is_disabled.unwrap_or(false),
            allowed_tenants: p
                .properties
                .allowed_tenants
                .iter()
                .map(|a| AllowedTenant {
                    tenant_id: a.tenant_id.clone(),
                    inbound: a.direction.inbound,
                    outbound: a.direction.outbound,
                })
                .collect(),
        },
    }
}
