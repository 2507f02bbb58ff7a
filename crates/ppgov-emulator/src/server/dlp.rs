//! DLP policies: GOV v2 (D1/D2: list of `policyDefinition`-only wrappers, get, create 201, PATCH
//! full document 200, DELETE 200), GOV v1 (D3: flat documents, read), legacy BAP `apiPolicies`
//! (D4: converted from v2 into the legacy schema, read) and connector metadata (D5).

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, State as AxState};
use axum::http::{HeaderMap, StatusCode, Uri};
use axum::response::IntoResponse;
use axum::routing::get;
use serde_json::{Map, Value, json};

use super::auth::AUD_POWERAPPS;
use super::common::{ApiResult, admin, ok, with_status};
use super::errors::{ApiError, Family, parse_json};
use super::state::{AppState, State};

const GOV: &str = "/providers/PowerPlatform.Governance";
const BAP: &str = "/providers/Microsoft.BusinessAppPlatform";

/// The family's routes.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route(&format!("{GOV}/v2/policies"), get(list_v2).post(create_v2))
        .route(
            &format!("{GOV}/v2/policies/{{name}}"),
            get(get_v2).patch(patch_v2).delete(delete_v2),
        )
        .route(&format!("{GOV}/v1/policies"), get(list_v1))
        .route(&format!("{GOV}/v1/policies/{{name}}"), get(get_v1))
        .route(&format!("{BAP}/scopes/admin/apiPolicies"), get(list_legacy))
        .route(
            &format!("{BAP}/scopes/admin/apiPolicies/{{name}}"),
            get(get_legacy),
        )
        .route(
            &format!("{GOV}/v1/connectors/metadata/unblockable"),
            get(unblockable),
        )
        .route(
            &format!("{GOV}/v1/connectors/metadata/virtual"),
            get(virtual_connectors),
        )
}

fn auth(state: &State, headers: &HeaderMap, uri: &Uri) -> Result<(), ApiError> {
    let family = Family::from_path(uri.path());
    admin(state, headers, AUD_POWERAPPS, uri.path(), family).map(|_| ())
}

fn gov(e: ApiError) -> ApiError {
    e.family(Family::Gov)
}

fn name_of(p: &Value) -> &str {
    p.pointer("/policyDefinition/name")
        .and_then(Value::as_str)
        .unwrap_or("")
}

fn find(state: &State, name: &str) -> Result<Value, ApiError> {
    state
        .tenant()
        .dlp_policies
        .iter()
        .find(|p| name_of(p).eq_ignore_ascii_case(name))
        .cloned()
        .ok_or_else(|| {
            gov(ApiError::not_found(
                "PolicyNotFound",
                format!("The DLP policy '{name}' was not found."),
            ))
        })
}

async fn list_v2(AxState(state): AxState<AppState>, headers: HeaderMap, uri: Uri) -> ApiResult {
    auth(&state, &headers, &uri)?;
    let items: Vec<Value> = state
        .tenant()
        .dlp_policies
        .iter()
        .map(|p| {
            // List items carry only policyDefinition, and that without connectorGroups.
            let mut def = p.get("policyDefinition").cloned().unwrap_or(json!({}));
            if let Some(o) = def.as_object_mut() {
                o.remove("connectorGroups");
            }
            json!({"policyDefinition": def})
        })
        .collect();
    ok(json!({"value": items}))
}

async fn get_v2(
    AxState(state): AxState<AppState>,
    headers: HeaderMap,
    uri: Uri,
    Path(name): Path<String>,
) -> ApiResult {
    auth(&state, &headers, &uri)?;
    ok(find(&state, &name)?)
}

/// Validates a v2 document: `policyDefinition` with a display name, valid classifications, and no
/// unblockable connector in the Blocked group.
fn validate(state: &State, doc: &Value) -> Result<(), ApiError> {
    let def = doc
        .get("policyDefinition")
        .and_then(Value::as_object)
        .ok_or_else(|| {
            gov(ApiError::bad_request(
                "The policy must contain a 'policyDefinition' object.",
            ))
        })?;
    if def
        .get("displayName")
        .and_then(Value::as_str)
        .is_none_or(str::is_empty)
    {
        return Err(gov(ApiError::bad_request(
            "The policy must have a non-empty 'displayName'.",
        )));
    }
    let unblockable: Vec<String> = state
        .tenant()
        .unblockable_connectors
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|c| {
            c.get("id")
                .and_then(Value::as_str)
                .map(str::to_ascii_lowercase)
        })
        .collect();
    for group in def
        .get("connectorGroups")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        let class = group
            .get("classification")
            .and_then(Value::as_str)
            .unwrap_or("");
        if !matches!(class, "Confidential" | "General" | "Blocked") {
            return Err(gov(ApiError::bad_request(format!(
                "Unknown connector group classification '{class}'; use Confidential, General or Blocked."
            ))));
        }
        if class == "Blocked" {
            for c in group
                .get("connectors")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
            {
                let id = c.get("id").and_then(Value::as_str).unwrap_or("");
                if unblockable.contains(&id.to_ascii_lowercase()) {
                    return Err(gov(ApiError::bad_request(format!(
                        "The connector '{id}' cannot be blocked."
                    ))));
                }
            }
        }
    }
    Ok(())
}

fn stamp(state: &State, def: &mut Map<String, Value>, created: bool) {
    let now = state
        .now()
        .to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
    def.insert("etag".into(), json!(uuid::Uuid::new_v4().to_string()));
    def.insert("lastModifiedTime".into(), json!(now));
    def.insert("lastModifiedBy".into(), json!({"displayName": "admin"}));
    if created {
        def.insert("createdTime".into(), json!(now));
        def.insert("createdBy".into(), json!({"displayName": "admin"}));
    }
    def.entry("isLegacySchemaVersion").or_insert(json!(false));
    def.entry("environmentType")
        .or_insert(json!("AllEnvironments"));
    def.entry("environments").or_insert(json!([]));
    def.entry("defaultConnectorsClassification")
        .or_insert(json!("General"));
}

async fn create_v2(
    AxState(state): AxState<AppState>,
    headers: HeaderMap,
    uri: Uri,
    body: Bytes,
) -> ApiResult {
    auth(&state, &headers, &uri)?;
    let mut doc: Value = parse_json(&body).map_err(gov)?;
    validate(&state, &doc)?;
    if let Some(def) = doc
        .get_mut("policyDefinition")
        .and_then(Value::as_object_mut)
    {
        let name = def
            .get("name")
            .and_then(Value::as_str)
            .filter(|n| !n.is_empty())
            .map(str::to_string);
        def.insert(
            "name".into(),
            json!(name.unwrap_or_else(|| uuid::Uuid::new_v4().to_string())),
        );
        stamp(&state, def, true);
    }
    let name = name_of(&doc).to_string();
    let mut tenant = state.tenant_mut();
    if tenant
        .dlp_policies
        .iter()
        .any(|p| name_of(p).eq_ignore_ascii_case(&name))
    {
        return Err(gov(ApiError::new(
            StatusCode::CONFLICT,
            "PolicyAlreadyExists",
            format!("A DLP policy named '{name}' already exists."),
        )));
    }
    tenant.dlp_policies.push(doc.clone());
    with_status(StatusCode::CREATED, doc)
}

async fn patch_v2(
    AxState(state): AxState<AppState>,
    headers: HeaderMap,
    uri: Uri,
    Path(name): Path<String>,
    body: Bytes,
) -> ApiResult {
    auth(&state, &headers, &uri)?;
    let mut doc: Value = parse_json(&body).map_err(gov)?;
    validate(&state, &doc)?;
    let old = find(&state, &name)?;
    if let Some(def) = doc
        .get_mut("policyDefinition")
        .and_then(Value::as_object_mut)
    {
        def.insert("name".into(), json!(name_of(&old)));
        for k in ["createdTime", "createdBy"] {
            if let Some(v) = old.pointer(&format!("/policyDefinition/{k}")) {
                def.insert(k.into(), v.clone());
            }
        }
        stamp(&state, def, false);
    }
    let mut tenant = state.tenant_mut();
    if let Some(slot) = tenant
        .dlp_policies
        .iter_mut()
        .find(|p| name_of(p).eq_ignore_ascii_case(&name))
    {
        *slot = doc.clone();
    }
    ok(doc)
}

async fn delete_v2(
    AxState(state): AxState<AppState>,
    headers: HeaderMap,
    uri: Uri,
    Path(name): Path<String>,
) -> ApiResult {
    auth(&state, &headers, &uri)?;
    find(&state, &name)?;
    state
        .tenant_mut()
        .dlp_policies
        .retain(|p| !name_of(p).eq_ignore_ascii_case(&name));
    Ok(StatusCode::OK.into_response())
}

/// v1 flat document: the v2 `policyDefinition` (with its connector groups).
fn v1_doc(p: &Value) -> Value {
    let mut def = p.get("policyDefinition").cloned().unwrap_or(json!({}));
    if let Some(o) = def.as_object_mut() {
        o.remove("isLegacySchemaVersion");
    }
    def
}

async fn list_v1(AxState(state): AxState<AppState>, headers: HeaderMap, uri: Uri) -> ApiResult {
    auth(&state, &headers, &uri)?;
    let items: Vec<Value> = state.tenant().dlp_policies.iter().map(v1_doc).collect();
    ok(json!({"value": items}))
}

async fn get_v1(
    AxState(state): AxState<AppState>,
    headers: HeaderMap,
    uri: Uri,
    Path(name): Path<String>,
) -> ApiResult {
    auth(&state, &headers, &uri)?;
    ok(v1_doc(&find(&state, &name)?))
}

fn group_apis(def: &Value, class: &str) -> Vec<Value> {
    def.get("connectorGroups")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter(|g| g.get("classification").and_then(Value::as_str) == Some(class))
        .flat_map(|g| {
            g.get("connectors")
                .and_then(Value::as_array)
                .cloned()
                .unwrap_or_default()
        })
        .collect()
}

/// Converts a v2 document into the legacy `apiPolicies` schema (no Blocked group, no action or
/// endpoint rules: the legacy shape cannot carry them).
fn legacy_doc(p: &Value) -> Value {
    let def = p.get("policyDefinition").cloned().unwrap_or(json!({}));
    let name = def.get("name").and_then(Value::as_str).unwrap_or("");
    let default_group = if def
        .get("defaultConnectorsClassification")
        .and_then(Value::as_str)
        == Some("Confidential")
    {
        "hbi"
    } else {
        "lbi"
    };
    let mut constraints = Map::new();
    let env_type = def
        .get("environmentType")
        .and_then(Value::as_str)
        .unwrap_or("AllEnvironments");
    let filter = match env_type {
        "OnlyEnvironments" => Some("include"),
        "ExceptEnvironments" => Some("exclude"),
        _ => None,
    };
    if let Some(f) = filter {
        constraints.insert(
            "environmentFilter1".into(),
            json!({"type": "environmentFilter", "parameters": {"filterType": f, "environments": def.get("environments").cloned().unwrap_or(json!([]))}}),
        );
    }
    json!({
        "id": format!("{BAP}/scopes/admin/apiPolicies/{name}"),
        "name": name,
        "type": "Microsoft.BusinessAppPlatform/scopes/apiPolicies",
        "properties": {
            "displayName": def.get("displayName").cloned().unwrap_or(Value::Null),
            "createdTime": def.get("createdTime").cloned().unwrap_or(Value::Null),
            "createdBy": def.get("createdBy").cloned().unwrap_or(Value::Null),
            "lastModifiedTime": def.get("lastModifiedTime").cloned().unwrap_or(Value::Null),
            "definition": {
                "$schema": "https://schema.management.azure.com/providers/Microsoft.BusinessAppPlatform/schemas/2016-10-01-preview/apiPolicyDefinition.json#",
                "defaultApiGroup": default_group,
                "constraints": constraints,
                "apiGroups": {
                    "hbi": {"description": "Business data only", "apis": group_apis(&def, "Confidential")},
                    "lbi": {"description": "No business data allowed", "apis": group_apis(&def, "General")}
                },
                "rules": {
                    "dataFlowRule": {"type": "DataFlowRestriction", "parameters": {"sourceApiGroup": "hbi", "destinationApiGroup": "lbi"}, "actions": {"blockAction": {"type": "Block"}}},
                    "apiGroupRule": {"type": "ApiGroupRestriction", "parameters": {"apiGroup": "lbi"}, "actions": {"blockAction": {"type": "Block"}}}
                }
            }
        }
    })
}

async fn list_legacy(AxState(state): AxState<AppState>, headers: HeaderMap, uri: Uri) -> ApiResult {
    auth(&state, &headers, &uri)?;
    let items: Vec<Value> = state.tenant().dlp_policies.iter().map(legacy_doc).collect();
    ok(json!({"value": items}))
}

async fn get_legacy(
    AxState(state): AxState<AppState>,
    headers: HeaderMap,
    uri: Uri,
    Path(name): Path<String>,
) -> ApiResult {
    auth(&state, &headers, &uri)?;
    let p = find(&state, &name).map_err(|e| e.family(Family::Bap))?;
    ok(legacy_doc(&p))
}

async fn unblockable(AxState(state): AxState<AppState>, headers: HeaderMap, uri: Uri) -> ApiResult {
    auth(&state, &headers, &uri)?;
    ok(state.tenant().unblockable_connectors.clone())
}

async fn virtual_connectors(
    AxState(state): AxState<AppState>,
    headers: HeaderMap,
    uri: Uri,
) -> ApiResult {
    auth(&state, &headers, &uri)?;
    ok(state.tenant().virtual_connectors.clone())
}
