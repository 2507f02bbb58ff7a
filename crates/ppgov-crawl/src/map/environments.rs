//! Environments and their Dataverse organisation settings.

use super::time;
use ppgov_core::{DataverseSettings, Environment};
use ppgov_model::bap;

/// Maps a BAP admin environment.
pub fn environment(e: &bap::Environment) -> Environment {
    let p = &e.properties;
    let lem = p.linked_environment_metadata.as_ref();
    let gov = p.governance_configuration.as_ref();
    Environment {
        id: e.name.clone(),
        display_name: p.display_name.clone().unwrap_or_else(|| e.name.clone()),
        sku: p
            .environment_sku
            .as_ref()
            .map(|s| s.as_str().to_string())
            .unwrap_or_default(),
        is_default: e.is_default(),
        location: e.location.clone().unwrap_or_default(),
        azure_region: p.azure_region.clone(),
        created_time: time(&p.created_time),
        last_modified_time: time(&p.last_modified_time),
        created_by: p.created_by.as_ref().and_then(|c| c.id.clone()),
        used_by: p
            .used_by
            .as_ref()
            .and_then(|c| c.id.clone())
            .map(|s| s.to_ascii_lowercase()),
        creation_type: p.creation_type.clone(),
        runtime_state: p
            .states
            .as_ref()
            .and_then(|s| s.runtime.as_ref())
            .map(|r| r.id.clone()),
        has_dataverse: e.has_dataverse(),
        instance_url: lem.and_then(|l| l.instance_url.clone()),
        instance_api_url: lem.and_then(|l| l.instance_api_url.clone()),
        domain_name: lem.and_then(|l| l.domain_name.clone()),
        security_group_id: e.security_group_id().map(str::to_string),
        managed: e.is_managed(),
        protection_level: gov
            .and_then(|g| g.protection_level.as_ref())
            .map(|l| l.as_str().to_string()),
        governance_settings: gov
            .and_then(|g| g.settings.as_ref())
            .map(|s| s.extended_settings.clone())
            .unwrap_or_default(),
        dataverse_settings: None,
    }
}

/// Maps the single `organizations` row of a Dataverse environment.
pub fn dataverse_settings(o: &ppgov_model::dataverse::Organization) -> DataverseSettings {
    DataverseSettings {
        organization_id: o.organizationid.clone().unwrap_or_default(),
        canvas_apps_in_solutions_by_default: o.enablecanvasappsinsolutionsbydefault,
        flows_in_solutions_by_default: o.enableflowsinsolutionbydefault,
        is_audit_enabled: o.isauditenabled,
    }
}
