//! Cloud flows.

use super::time;
use ppgov_core::{ConnectorRef, Flow, Permission, RunStats, connector_key};
use ppgov_model::flow;
use serde_json::Value;

/// Virtual connectors a definition uses: an `Http` action is `http`; a `Request` trigger of kind
/// `Http` (or with no kind) is `httprequestreceived` (the ids of GOV's virtual-connector list,
/// lower-cased). Manual (`Button`), Power Apps and Copilot `Request` triggers are not the HTTP
/// Request connector (the engine's `flowdef::is_http_request_trigger` reads them the same way).
fn virtual_connectors(
    def: Option<&Value>,
    summary: Option<&flow::DefinitionSummary>,
) -> Vec<&'static str> {
    let mut out = Vec::new();
    match def {
        Some(def) => {
            if let Some(triggers) = def.get("triggers").and_then(Value::as_object)
                && triggers.values().any(|t| {
                    http_request_trigger(
                        t.get("type").and_then(Value::as_str),
                        t.get("kind").and_then(Value::as_str),
                    )
                })
            {
                out.push("httprequestreceived");
            }
            if def.get("actions").is_some_and(has_http_action) {
                out.push("http");
            }
        }
        None => {
            if let Some(s) = summary {
                if s.triggers
                    .iter()
                    .any(|t| http_request_trigger(t.op_type.as_deref(), t.kind.as_deref()))
                {
                    out.push("httprequestreceived");
                }
                if s.actions.iter().any(|a| a.is_http()) {
                    out.push("http");
                }
            }
        }
    }
    out
}

fn http_request_trigger(ty: Option<&str>, kind: Option<&str>) -> bool {
    ty.is_some_and(|t| t.eq_ignore_ascii_case("Request"))
        && kind.is_none_or(|k| k.trim().is_empty() || k.eq_ignore_ascii_case("Http"))
}

/// Walks an `actions` map and every nested scope (`If`, `Foreach`, `Switch`, `Scope`, `Until`).
fn has_http_action(actions: &Value) -> bool {
    let Some(map) = actions.as_object() else {
        return false;
    };
    map.values().any(|a| {
        a.get("type")
            .and_then(Value::as_str)
            .is_some_and(|t| t.eq_ignore_ascii_case("Http"))
            || a.get("actions").is_some_and(has_http_action)
            || a.get("else")
                .and_then(|e| e.get("actions"))
                .is_some_and(has_http_action)
            || a.get("default")
                .and_then(|e| e.get("actions"))
                .is_some_and(has_http_action)
            || a.get("cases").and_then(Value::as_object).is_some_and(|c| {
                c.values()
                    .any(|c| c.get("actions").is_some_and(has_http_action))
            })
    })
}

/// Maps a flow from its list item or its full GET (`definition` present), with the permissions
/// and run statistics when they were collected.
pub fn flow(
    environment_id: &str,
    f: &flow::Flow,
    permissions: Option<Vec<Permission>>,
    runs: Option<RunStats>,
) -> Flow {
    let p = &f.properties;
    let mut connectors: Vec<ConnectorRef> = p
        .connection_references
        .iter()
        .map(|(key, r)| {
            let api = r.id.clone().unwrap_or_else(|| key.clone());
            ConnectorRef {
                key: connector_key(&api),
                api_id: api,
                display_name: r.display_name.clone(),
                connection_name: r.connection_name.clone(),
                source: r.source.clone(),
                is_custom: !connector_key(key).starts_with("shared_"),
            }
        })
        .collect();
    for v in virtual_connectors(p.definition.as_ref(), p.definition_summary.as_ref()) {
        if !connectors.iter().any(|c| c.key == v) {
            connectors.push(ConnectorRef {
                key: v.into(),
                api_id: v.into(),
                is_custom: false,
                ..Default::default()
            });
        }
    }
    connectors.sort();
    let trigger_type = p
        .definition
        .as_ref()
        .and_then(|d| d.get("triggers"))
        .and_then(Value::as_object)
        .and_then(|t| t.values().next())
        .and_then(|t| t.get("type"))
        .and_then(Value::as_str)
        .map(str::to_string)
        .or_else(|| f.triggers().first().and_then(|t| t.op_type.clone()));
    Flow {
        id: f.name.clone(),
        environment_id: environment_id.to_string(),
        display_name: p.display_name.clone().unwrap_or_else(|| f.name.clone()),
        state: p
            .state
            .as_ref()
            .map(|s| s.as_str().to_string())
            .unwrap_or_default(),
        created_time: time(&p.created_time),
        last_modified_time: time(&p.last_modified_time),
        creator: p
            .creator
            .as_ref()
            .and_then(|c| c.object_id.clone().or_else(|| c.user_id.clone()))
            .map(|s| s.to_ascii_lowercase()),
        connectors,
        trigger_type,
        definition: p.definition.clone(),
        permissions,
        runs,
        in_managed_solution: p.is_managed.unwrap_or(false),
        observed: Default::default(),
    }
}

/// Maps flow permission entries.
pub fn flow_permissions(items: &[flow::FlowPermission]) -> Vec<Permission> {
    items
        .iter()
        .filter_map(|i| super::permission(&i.properties.principal, i.properties.role_name.as_ref()))
        .collect()
}
