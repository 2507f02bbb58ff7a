//! Power Apps admin (`/providers/Microsoft.PowerApps/scopes/admin/environments/{env}`): apps
//! (A1–A5 plus quarantine) and connections (C1–C3).
//!
//! Quarantine is not in REFERENCE.md. We serve the "Power Apps for Admins" connector's
//! *Set App Quarantine State* action as `POST .../apps/{app}/setAppQuarantineState` with body
//! `{"quarantineStatus":"Quarantined|Unquarantined|NotSpecified"}` (api-version 2021-02-01), and
//! `GET .../apps/{app}/quarantineState` reads it back as `{"quarantineStatus": ...}`. The state
//! is kept beside the app, not in its document: the admin list does not carry it.

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State as AxState};
use axum::http::{HeaderMap, StatusCode, Uri};
use axum::response::IntoResponse;
use axum::routing::{get, post};
use serde_json::{Value, json};

use super::auth::AUD_POWERAPPS;
use serde_json::value::RawValue;

use super::common::{ApiResult, admin, object_body, ok, ok_serialized, principal_id};
use super::errors::{ApiError, Family, parse_json};
use super::paging::{bap_page_raw, page, param, parse_query, range, slice, value_of_raw};
use super::state::{AppState, State, read};
use super::store::{StoredApp, permission_list};
use crate::doc::Doc;

const PAE: &str = "/providers/Microsoft.PowerApps/scopes/admin/environments";
/// Default and maximum page size of the admin apps list.
pub const APPS_PAGE: (usize, usize) = (250, 250);
/// Default and maximum page size of the admin connections list.
pub const CONNECTIONS_PAGE: (usize, usize) = (100, 500);

/// The family's routes.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route(&format!("{PAE}/{{env}}/apps"), get(list_apps))
        .route(
            &format!("{PAE}/{{env}}/apps/{{app}}"),
            get(get_app).delete(delete_app),
        )
        .route(
            &format!("{PAE}/{{env}}/apps/{{app}}/permissions"),
            get(app_permissions),
        )
        .route(
            &format!("{PAE}/{{env}}/apps/{{app}}/modifyPermissions"),
            post(modify_app_permissions),
        )
        .route(
            &format!("{PAE}/{{env}}/apps/{{app}}/modifyAppOwner"),
            post(modify_owner),
        )
        .route(
            &format!("{PAE}/{{env}}/apps/{{app}}/setAppQuarantineState"),
            post(set_quarantine),
        )
        .route(
            &format!("{PAE}/{{env}}/apps/{{app}}/quarantineState"),
            get(get_quarantine),
        )
        .route(&format!("{PAE}/{{env}}/connections"), get(list_connections))
        .route(&format!("{PAE}/{{env}}/apis"), get(list_custom_apis))
        .route(
            &format!("{PAE}/{{env}}/apis/{{api}}/connections"),
            get(list_api_connections),
        )
        .route(
            &format!("{PAE}/{{env}}/apis/{{api}}/connections/{{conn}}"),
            get(get_connection).delete(delete_connection),
        )
        .route(
            &format!("{PAE}/{{env}}/apis/{{api}}/connections/{{conn}}/permissions"),
            get(connection_permissions),
        )
        .route(
            &format!("{PAE}/{{env}}/apis/{{api}}/connections/{{conn}}/modifyPermissions"),
            post(modify_connection_permissions),
        )
}

fn pa(e: ApiError) -> ApiError {
    e.family(Family::PowerApps)
}

fn env_idx(state: &State, headers: &HeaderMap, uri: &Uri, env: &str) -> Result<usize, ApiError> {
    admin(state, headers, AUD_POWERAPPS, uri.path(), Family::PowerApps)?;
    state
        .env_index(env)
        .ok_or_else(|| pa(ApiError::env_not_found(env)))
}

fn name_of(doc: &Value) -> &str {
    doc.get("name").and_then(Value::as_str).unwrap_or("")
}

fn app_not_found(app: &str) -> ApiError {
    pa(ApiError::not_found(
        "AppNotFound",
        format!("Could not find app '{app}'."),
    ))
}

fn with_app<R>(
    state: &State,
    idx: usize,
    app: &str,
    f: impl FnOnce(&StoredApp) -> R,
) -> Result<R, ApiError> {
    let content = state.env_content(idx);
    let c = read(&content);
    c.app(app).map(f).ok_or_else(|| app_not_found(app))
}

/// The app's document and access list, parsed (for writes).
fn find_app(state: &State, idx: usize, app: &str) -> Result<(Value, Vec<Value>), ApiError> {
    with_app(state, idx, app, |a| {
        (a.doc.value(), permission_list(a.permissions.value()))
    })
}

async fn list_apps(
    AxState(state): AxState<AppState>,
    headers: HeaderMap,
    uri: Uri,
    Path(env): Path<String>,
    RawQuery(raw): RawQuery,
) -> ApiResult {
    let idx = env_idx(&state, &headers, &uri, &env)?;
    let q = parse_query(raw.as_deref());
    let p = page(&q, APPS_PAGE.0, APPS_PAGE.1).map_err(pa)?;
    let expand_perms =
        param(&q, "$expand").is_some_and(|e| e.to_ascii_lowercase().contains("permissions"));
    let content = state.env_content(idx);
    let c = read(&content);
    let (r, next) = range(c.apps().len(), p);
    let apps = &c.apps()[r];
    if expand_perms {
        let docs: Vec<Doc> = apps
            .iter()
            .map(|a| a.doc.with_property("permissions", a.permissions.raw()))
            .collect();
        let items: Vec<&RawValue> = docs.iter().map(Doc::raw).collect();
        bap_page_raw(&state.base_url, uri.path(), &q, &items, next)
    } else {
        let items: Vec<&RawValue> = apps.iter().map(|a| a.doc.raw()).collect();
        bap_page_raw(&state.base_url, uri.path(), &q, &items, next)
    }
}

async fn get_app(
    AxState(state): AxState<AppState>,
    headers: HeaderMap,
    uri: Uri,
    Path((env, app)): Path<(String, String)>,
) -> ApiResult {
    let idx = env_idx(&state, &headers, &uri, &env)?;
    ok_serialized(&with_app(&state, idx, &app, |a| a.doc.clone())?)
}

async fn delete_app(
    AxState(state): AxState<AppState>,
    headers: HeaderMap,
    uri: Uri,
    Path((env, app)): Path<(String, String)>,
) -> ApiResult {
    let idx = env_idx(&state, &headers, &uri, &env)?;
    with_app(&state, idx, &app, |_| ())?;
    state.env_content_mut(idx, |c| c.remove_app(&app));
    Ok(StatusCode::OK.into_response())
}

async fn app_permissions(
    AxState(state): AxState<AppState>,
    headers: HeaderMap,
    uri: Uri,
    Path((env, app)): Path<(String, String)>,
) -> ApiResult {
    let idx = env_idx(&state, &headers, &uri, &env)?;
    let content = state.env_content(idx);
    let c = read(&content);
    let a = c.app(&app).ok_or_else(|| app_not_found(&app))?;
    value_of_raw(a.permissions.raw())
}

fn directory_principal(state: &State, id: &str, ptype: &str) -> Value {
    let tenant = state.tenant();
    let tid = tenant.tenant_id.clone();
    if let Some(u) = tenant
        .directory
        .users
        .iter()
        .find(|u| u.id.eq_ignore_ascii_case(id))
    {
        return json!({"id": u.id, "displayName": u.display_name, "email": u.mail, "type": "User", "tenantId": tid});
    }
    if let Some(g) = tenant
        .directory
        .groups
        .iter()
        .find(|g| g.id.eq_ignore_ascii_case(id))
    {
        return json!({"id": g.id, "displayName": g.display_name, "email": null, "type": "Group", "tenantId": tid});
    }
    json!({"id": id, "type": ptype, "tenantId": tid})
}

fn app_permission(state: &State, env: &str, app: &str, principal: &Value, role: &str) -> Value {
    let pid = principal.get("id").and_then(Value::as_str).unwrap_or("");
    json!({
        "name": pid,
        "id": format!("/providers/Microsoft.PowerApps/apps/{app}/permissions/{pid}"),
        "type": "Microsoft.PowerApps/apps/permissions",
        "properties": {"roleName": role, "principal": principal,
            "scope": format!("/providers/Microsoft.PowerApps/environments/{env}/apps/{app}"),
            "notifyShareTargetOption": "NotSpecified",
            "createdOn": state.now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true)}
    })
}

/// Applies `{put:[...]}` / `{delete:[{id}]}` to a permission list; returns the per-item results.
fn apply_modify(
    state: &State,
    perms: &mut Vec<Value>,
    req: &Value,
    make: &dyn Fn(&Value, &str) -> Value,
) -> Result<Value, ApiError> {
    let mut put_results = Vec::new();
    for item in req
        .get("put")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        let Some(pid) = principal_id(item).map(str::to_string) else {
            return Err(ApiError::bad_request(
                "Each 'put' item needs properties.principal.id.",
            ));
        };
        let role = item
            .pointer("/properties/roleName")
            .and_then(Value::as_str)
            .unwrap_or("CanView");
        if !matches!(role, "Owner" | "CanEdit" | "CanView" | "CanViewWithShare") {
            return Err(ApiError::bad_request(format!("Unknown roleName '{role}'.")));
        }
        let ptype = item
            .pointer("/properties/principal/type")
            .and_then(Value::as_str)
            .unwrap_or("User");
        let principal = directory_principal(state, &pid, ptype);
        perms.retain(|p| principal_id(p).is_none_or(|x| !x.eq_ignore_ascii_case(&pid)));
        let doc = make(&principal, role);
        put_results.push(json!({"id": doc.get("id"), "httpStatus": "OK"}));
        perms.push(doc);
    }
    let mut delete_results = Vec::new();
    for item in req
        .get("delete")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        let id = item.get("id").and_then(Value::as_str).unwrap_or("");
        let tail = id.rsplit('/').next().unwrap_or(id);
        let before = perms.len();
        perms.retain(|p| {
            let pid = p.get("id").and_then(Value::as_str).unwrap_or("");
            !(pid.eq_ignore_ascii_case(id)
                || name_of(p).eq_ignore_ascii_case(tail)
                || principal_id(p).is_some_and(|x| x.eq_ignore_ascii_case(tail)))
        });
        delete_results.push(
            json!({"id": id, "httpStatus": if perms.len() < before { "OK" } else { "NotFound" }}),
        );
    }
    Ok(json!({"put": put_results, "delete": delete_results}))
}

async fn modify_app_permissions(
    AxState(state): AxState<AppState>,
    headers: HeaderMap,
    uri: Uri,
    Path((env, app)): Path<(String, String)>,
    body: Bytes,
) -> ApiResult {
    let idx = env_idx(&state, &headers, &uri, &env)?;
    let req: Value = parse_json(&body).map_err(pa)?;
    object_body(&req).map_err(pa)?;
    let (_, mut perms) = find_app(&state, idx, &app)?;
    let env_name = state.env_spec(&env).map(|s| s.name).unwrap_or(env);
    let result = apply_modify(&state, &mut perms, &req, &|p, r| {
        app_permission(&state, &env_name, &app, p, r)
    })
    .map_err(pa)?;
    let shared = perms
        .iter()
        .filter(|p| p.pointer("/properties/roleName").and_then(Value::as_str) != Some("Owner"))
        .count();
    state.env_content_mut(idx, |c| {
        if let Some(a) = c.app_mut(&app) {
            a.permissions.set(&Value::Array(perms));
            a.doc.update(|doc| {
                if let Some(props) = doc.get_mut("properties").and_then(Value::as_object_mut) {
                    props.insert("sharedUsersCount".into(), json!(shared));
                }
            });
        }
    });
    ok(result)
}

async fn modify_owner(
    AxState(state): AxState<AppState>,
    headers: HeaderMap,
    uri: Uri,
    Path((env, app)): Path<(String, String)>,
    body: Bytes,
) -> ApiResult {
    let idx = env_idx(&state, &headers, &uri, &env)?;
    let req: Value = parse_json(&body).map_err(pa)?;
    let Some(new_owner) = req
        .get("newAppOwner")
        .and_then(Value::as_str)
        .map(str::to_string)
    else {
        return Err(pa(ApiError::bad_request(
            "The body must contain 'newAppOwner' (object id of the new owner).",
        )));
    };
    let old_role = req
        .get("roleForOldAppOwner")
        .and_then(Value::as_str)
        .unwrap_or("CanEdit")
        .to_string();
    if !matches!(old_role.as_str(), "CanView" | "CanEdit") {
        return Err(pa(ApiError::bad_request(
            "'roleForOldAppOwner' must be CanView or CanEdit.",
        )));
    }
    let (doc, mut perms) = find_app(&state, idx, &app)?;
    let old_owner = doc
        .pointer("/properties/owner/id")
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_string();
    let env_name = state.env_spec(&env).map(|s| s.name).unwrap_or(env);
    let new_principal = directory_principal(&state, &new_owner, "User");
    perms.retain(|p| {
        principal_id(p).is_none_or(|x| {
            !x.eq_ignore_ascii_case(&new_owner) && !x.eq_ignore_ascii_case(&old_owner)
        })
    });
    perms.push(app_permission(
        &state,
        &env_name,
        &app,
        &new_principal,
        "Owner",
    ));
    if !old_owner.is_empty() && !old_owner.eq_ignore_ascii_case(&new_owner) {
        let old_principal = directory_principal(&state, &old_owner, "User");
        perms.push(app_permission(
            &state,
            &env_name,
            &app,
            &old_principal,
            &old_role,
        ));
    }
    let mut updated = doc;
    if let Some(props) = updated.get_mut("properties").and_then(Value::as_object_mut) {
        let mut owner = new_principal.clone();
        if let Some(u) = state
            .tenant()
            .directory
            .users
            .iter()
            .find(|u| u.id.eq_ignore_ascii_case(&new_owner))
        {
            owner["userPrincipalName"] = json!(u.upn);
        }
        props.insert("owner".into(), owner);
    }
    let out = updated.clone();
    state.env_content_mut(idx, |c| {
        if let Some(a) = c.app_mut(&app) {
            a.doc.set(&updated);
            a.permissions.set(&Value::Array(perms));
        }
    });
    ok(out)
}

async fn set_quarantine(
    AxState(state): AxState<AppState>,
    headers: HeaderMap,
    uri: Uri,
    Path((env, app)): Path<(String, String)>,
    body: Bytes,
) -> ApiResult {
    let idx = env_idx(&state, &headers, &uri, &env)?;
    let req: Value = parse_json(&body).map_err(pa)?;
    let status = req
        .get("quarantineStatus")
        .and_then(Value::as_str)
        .unwrap_or("");
    if !matches!(status, "Quarantined" | "Unquarantined" | "NotSpecified") {
        return Err(pa(ApiError::bad_request(
            "'quarantineStatus' must be Quarantined, Unquarantined or NotSpecified.",
        )));
    }
    with_app(&state, idx, &app, |_| ())?;
    state.env_content_mut(idx, |c| {
        if let Some(a) = c.app_mut(&app) {
            a.quarantine = (status != "NotSpecified").then(|| status.to_string());
        }
    });
    ok(json!({"quarantineStatus": status}))
}

async fn get_quarantine(
    AxState(state): AxState<AppState>,
    headers: HeaderMap,
    uri: Uri,
    Path((env, app)): Path<(String, String)>,
) -> ApiResult {
    let idx = env_idx(&state, &headers, &uri, &env)?;
    let status = with_app(&state, idx, &app, |a| a.quarantine.clone())?;
    ok(json!({"quarantineStatus": status.as_deref().unwrap_or("NotSpecified")}))
}

fn list_conns(
    state: &State,
    uri: &Uri,
    idx: usize,
    raw: Option<&str>,
    api: Option<&str>,
) -> ApiResult {
    let q = parse_query(raw);
    let p = page(&q, CONNECTIONS_PAGE.0, CONNECTIONS_PAGE.1).map_err(pa)?;
    let content = state.env_content(idx);
    let c = read(&content);
    let (items, next) = match api {
        None => {
            let (r, next) = range(c.connections().len(), p);
            let items: Vec<&RawValue> = c.connections()[r].iter().map(|x| x.doc.raw()).collect();
            (items, next)
        }
        Some(a) => {
            let docs: Vec<&RawValue> = c
                .connections()
                .iter()
                .filter(|x| x.api.eq_ignore_ascii_case(a))
                .map(|x| x.doc.raw())
                .collect();
            slice(&docs, p)
        }
    };
    // The admin list does not carry sharing: permissions come from each connection's
    // `/permissions` call.
    let stripped = without_permissions(&items);
    let items: Vec<&RawValue> = stripped.iter().map(|b| b.as_ref()).collect();
    bap_page_raw(&state.base_url, uri.path(), &q, &items, next)
}

/// Connection documents as the list and GET serve them: without `properties.permissions`.
fn without_permissions(docs: &[&RawValue]) -> Vec<Box<RawValue>> {
    docs.iter()
        .map(|raw| {
            let mut v: Value = serde_json::from_str(raw.get()).unwrap_or(Value::Null);
            if let Some(props) = v.get_mut("properties").and_then(Value::as_object_mut) {
                props.remove("permissions");
            }
            serde_json::value::to_raw_value(&v).unwrap_or_else(|_| (*raw).to_owned())
        })
        .collect()
}

async fn list_connections(
    AxState(state): AxState<AppState>,
    headers: HeaderMap,
    uri: Uri,
    Path(env): Path<String>,
    RawQuery(raw): RawQuery,
) -> ApiResult {
    let idx = env_idx(&state, &headers, &uri, &env)?;
    list_conns(&state, &uri, idx, raw.as_deref(), None)
}

async fn list_api_connections(
    AxState(state): AxState<AppState>,
    headers: HeaderMap,
    uri: Uri,
    Path((env, api)): Path<(String, String)>,
    RawQuery(raw): RawQuery,
) -> ApiResult {
    let idx = env_idx(&state, &headers, &uri, &env)?;
    list_conns(&state, &uri, idx, raw.as_deref(), Some(&api))
}

/// The connection's stored document.
fn find_conn(state: &State, idx: usize, api: &str, conn: &str) -> Result<Doc, ApiError> {
    let content = state.env_content(idx);
    let c = read(&content);
    c.connection(api, conn)
        .map(|c| c.doc.clone())
        .ok_or_else(|| {
            pa(ApiError::not_found(
                "ConnectionNotFound",
                format!("Could not find connection '{conn}' for API '{api}'."),
            ))
        })
}

async fn get_connection(
    AxState(state): AxState<AppState>,
    headers: HeaderMap,
    uri: Uri,
    Path((env, api, conn)): Path<(String, String, String)>,
) -> ApiResult {
    let idx = env_idx(&state, &headers, &uri, &env)?;
    let doc = find_conn(&state, idx, &api, &conn)?;
    ok_serialized(&without_permissions(&[doc.raw()]).pop())
}

async fn delete_connection(
    AxState(state): AxState<AppState>,
    headers: HeaderMap,
    uri: Uri,
    Path((env, api, conn)): Path<(String, String, String)>,
) -> ApiResult {
    let idx = env_idx(&state, &headers, &uri, &env)?;
    find_conn(&state, idx, &api, &conn)?;
    state.env_content_mut(idx, |c| c.remove_connection(&api, &conn));
    Ok(StatusCode::OK.into_response())
}

async fn connection_permissions(
    AxState(state): AxState<AppState>,
    headers: HeaderMap,
    uri: Uri,
    Path((env, api, conn)): Path<(String, String, String)>,
) -> ApiResult {
    let idx = env_idx(&state, &headers, &uri, &env)?;
    let doc = find_conn(&state, idx, &api, &conn)?.value();
    ok(json!({"value": doc.pointer("/properties/permissions").cloned().unwrap_or(json!([]))}))
}

async fn modify_connection_permissions(
    AxState(state): AxState<AppState>,
    headers: HeaderMap,
    uri: Uri,
    Path((env, api, conn)): Path<(String, String, String)>,
    body: Bytes,
) -> ApiResult {
    let idx = env_idx(&state, &headers, &uri, &env)?;
    let req: Value = parse_json(&body).map_err(pa)?;
    object_body(&req).map_err(pa)?;
    let doc = find_conn(&state, idx, &api, &conn)?.value();
    let mut perms: Vec<Value> = doc
        .pointer("/properties/permissions")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    let conn_id = doc
        .get("id")
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_string();
    let make = |p: &Value, r: &str| {
        let pid = p.get("id").and_then(Value::as_str).unwrap_or("");
        json!({"name": pid, "id": format!("{conn_id}/permissions/{pid}"), "properties": {"roleName": r, "principal": p}})
    };
    let result = apply_modify(&state, &mut perms, &req, &make).map_err(pa)?;
    state.env_content_mut(idx, |c| {
        if let Some(c) = c.connection_mut(&api, &conn) {
            c.doc.update(|doc| {
                if let Some(props) = doc.get_mut("properties").and_then(Value::as_object_mut) {
                    props.insert("permissions".into(), Value::Array(perms));
                }
            });
        }
    });
    ok(result)
}

/// D6 (admin form): the environment's custom connectors (see `custom_apis.rs`).
async fn list_custom_apis(
    AxState(state): AxState<AppState>,
    headers: HeaderMap,
    uri: Uri,
    Path(env): Path<String>,
) -> ApiResult {
    let idx = env_idx(&state, &headers, &uri, &env)?;
    let name = state.env_name(idx).unwrap_or(env);
    let domain = state.tenant().domain.clone();
    ok(json!({"value": super::custom_apis::custom_apis(&name, &domain)}))
}
