//! Power Apps.

use super::{principal_ref, time};
use ppgov_core::{App, ConnectorRef, Permission, connector_key};
use ppgov_model::powerapps;

/// Maps an admin app list item; `permissions` when they were collected.
pub fn app(environment_id: &str, a: &powerapps::App, permissions: Option<Vec<Permission>>) -> App {
    let p = &a.properties;
    let mut connectors: Vec<ConnectorRef> = p
        .connection_references
        .values()
        .filter_map(|r| {
            let api = r.id.clone()?;
            Some(ConnectorRef {
                key: connector_key(&api),
                api_id: api,
                display_name: r.display_name.clone(),
                connection_name: None,
                source: None,
                is_custom: r.is_custom_api_connection.unwrap_or(false),
            })
        })
        .collect();
    connectors.sort();
    connectors.dedup_by(|a, b| a.key == b.key);
    let bypass = p.bypass_consent.unwrap_or(false)
        || p.connection_references
            .values()
            .any(|r| r.bypass_consent == Some(true));
    App {
        id: a.name.clone(),
        environment_id: environment_id.to_string(),
        display_name: p.display_name.clone().unwrap_or_else(|| a.name.clone()),
        owner: principal_ref(&p.owner),
        created_by: principal_ref(&p.created_by),
        created_time: time(&p.created_time),
        last_modified_time: time(&p.last_modified_time),
        last_published_time: time(&p.last_publish_time),
        last_launched_time: None,
        shared_users_count: p.shared_users_count.and_then(|n| u64::try_from(n).ok()),
        shared_groups_count: p.shared_groups_count.and_then(|n| u64::try_from(n).ok()),
        connectors,
        bypass_consent: bypass,
        // The admin list does not carry it; the crawl reads it per app where it is needed.
        quarantined: false,
        permissions,
        app_type: a
            .tags
            .get("primaryFormFactor")
            .and_then(|v| v.as_str())
            .map(str::to_string),
        observed: Default::default(),
    }
}

/// Whether a `.../quarantineState` answer (`{"quarantineStatus": ...}`) says quarantined.
pub fn quarantine_state(v: &serde_json::Value) -> bool {
    v.get("quarantineStatus")
        .and_then(|s| s.as_str())
        .is_some_and(|q| q.eq_ignore_ascii_case("Quarantined"))
}

/// Maps app permission entries (A3).
pub fn app_permissions(items: &[powerapps::AppPermission]) -> Vec<Permission> {
    items
        .iter()
        .filter_map(|i| super::permission(&i.properties.principal, i.properties.role_name.as_ref()))
        .collect()
}
