//! BAP (`/providers/Microsoft.BusinessAppPlatform`): environments (E1–E3, E5) with lifecycle
//! operations (E6), tenant settings (E7/E8), `GET /tenant` (E9), tenant isolation (E10, on the GOV
//! path), role assignments (R1/R2) and management-app registration (`adminApplications`).
//!
//! Lifecycle operations: PATCH / governanceConfiguration answer 202 with `Location` (served here
//! at `/providers/Microsoft.BusinessAppPlatform/lifecycleOperations/{id}`) and `Retry-After: 1`.
//! An operation is `Running` until it has been polled [`OP_POLLS_TO_SUCCEED`] times or
//! [`OP_SECONDS_TO_SUCCEED`] have passed; then its change is applied and it reports `Succeeded`.
//! While one runs, further writes to the environment answer 409 `OperationNotStartable`.

use axum::body::Bytes;
use axum::extract::{Path, State as AxState};
use axum::http::{HeaderMap, StatusCode, Uri, header};
use axum::response::IntoResponse;
use axum::routing::{get, post};
use axum::{Json, Router};
use chrono::{DateTime, Utc};
use serde_json::{Value, json};

use super::auth::{AUD_POWERAPPS, Identity};
use super::common::{ApiResult, admin, merge, object_body, ok, principal_id, with_status};
use super::errors::{ApiError, Family, parse_json};
use super::state::{AppState, State, lock};

const BAP: &str = "/providers/Microsoft.BusinessAppPlatform";
/// Polls after which a lifecycle operation succeeds.
pub const OP_POLLS_TO_SUCCEED: u32 = 2;
/// Seconds after which a lifecycle operation succeeds even if nobody polls.
pub const OP_SECONDS_TO_SUCCEED: i64 = 1;

/// A lifecycle operation (E6).
#[derive(Debug, Clone)]
pub struct LifecycleOp {
    /// Operation id.
    pub id: String,
    /// Environment name.
    pub env: String,
    /// `Update`, `Delete`, ...
    pub kind: String,
    /// When it was created.
    pub created: DateTime<Utc>,
    /// Polls so far.
    pub polls: u32,
    /// Succeeded already (the change applied).
    pub done: bool,
    /// What to merge into the environment document when it succeeds.
    pub patch: Value,
    /// A value to put at a JSON pointer (under `properties`) after the merge, replacing what was there.
    pub replace: Option<(String, Value)>,
    /// Who asked.
    pub requested_by: Value,
}

/// The family's routes.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route(&format!("{BAP}/scopes/admin/environments"), get(list_envs))
        .route(
            &format!("{BAP}/scopes/admin/environments/{{env}}"),
            get(get_env).patch(patch_env),
        )
        .route(
            &format!("{BAP}/environments/{{env}}/governanceConfiguration"),
            post(governance),
        )
        .route(&format!("{BAP}/lifecycleOperations/{{op}}"), get(get_op))
        .route(&format!("{BAP}/listTenantSettings"), post(list_settings))
        .route(
            &format!("{BAP}/scopes/admin/updateTenantSettings"),
            post(update_settings),
        )
        .route(&format!("{BAP}/tenant"), get(tenant_info))
        .route(
            "/providers/PowerPlatform.Governance/v1/tenants/{tenant}/tenantIsolationPolicy",
            get(get_isolation).put(put_isolation),
        )
        .route(
            &format!("{BAP}/scopes/admin/environments/{{env}}/roleAssignments"),
            get(list_roles),
        )
        .route(
            &format!("{BAP}/scopes/admin/environments/{{env}}/modifyRoleAssignments"),
            post(modify_roles),
        )
        .route(&format!("{BAP}/adminApplications"), get(list_admin_apps))
        .route(
            &format!("{BAP}/adminApplications/{{client}}"),
            get(get_admin_app)
                .put(put_admin_app)
                .delete(delete_admin_app),
        )
}

fn auth(state: &State, headers: &HeaderMap, uri: &Uri) -> Result<Identity, ApiError> {
    admin(state, headers, AUD_POWERAPPS, uri.path(), Family::Bap)
}

fn bap_err(e: ApiError) -> ApiError {
    e.family(Family::Bap)
}

/// Applies operations whose time has come (by polls or by age).
fn settle(state: &State) {
    let now = state.now();
    let due: Vec<LifecycleOp> = {
        let mut ops = lock(&state.operations);
        ops.values_mut()
            .filter(|o| {
                !o.done
                    && (o.polls >= OP_POLLS_TO_SUCCEED
                        || (now - o.created).num_milliseconds() >= OP_SECONDS_TO_SUCCEED * 1000)
            })
            .map(|o| {
                o.done = true;
                o.clone()
            })
            .collect()
    };
    if due.is_empty() {
        return;
    }
    let mut tenant = state.tenant_mut();
    for op in due {
        if let Some(env) = tenant
            .environments
            .iter_mut()
            .find(|e| e.name.eq_ignore_ascii_case(&op.env))
        {
            merge(&mut env.doc, &op.patch);
            if let Some((pointer, value)) = &op.replace {
                let (parent, key) = pointer.rsplit_once('/').unwrap_or(("", pointer));
                if let Some(obj) = env.doc.pointer_mut(parent).and_then(Value::as_object_mut) {
                    obj.insert(key.to_string(), value.clone());
                }
            }
            if let Some(obj) = env
                .doc
                .pointer_mut("/properties")
                .and_then(Value::as_object_mut)
            {
                obj.insert(
                    "lastModifiedTime".into(),
                    json!(now.to_rfc3339_opts(chrono::SecondsFormat::Millis, true)),
                );
            }
        }
    }
}

fn active_op(state: &State, env: &str) -> Option<String> {
    lock(&state.operations)
        .values()
        .find(|o| !o.done && o.env.eq_ignore_ascii_case(env))
        .map(|o| o.id.clone())
}

fn env_doc(state: &State, name: &str) -> Result<Value, ApiError> {
    let spec = state
        .env_spec(name)
        .ok_or_else(|| bap_err(ApiError::env_not_found(name)))?;
    let mut doc = spec.doc;
    if active_op(state, &spec.name).is_some()
        && let Some(m) = doc.pointer_mut("/properties/states/management")
    {
        *m = json!({"id": "Running"});
    }
    Ok(doc)
}

async fn list_envs(AxState(state): AxState<AppState>, headers: HeaderMap, uri: Uri) -> ApiResult {
    auth(&state, &headers, &uri)?;
    settle(&state);
    let names: Vec<String> = state
        .tenant()
        .environments
        .iter()
        .map(|e| e.name.clone())
        .collect();
    let docs = names
        .iter()
        .filter_map(|n| env_doc(&state, n).ok())
        .collect::<Vec<_>>();
    ok(json!({"value": docs}))
}

async fn get_env(
    AxState(state): AxState<AppState>,
    headers: HeaderMap,
    uri: Uri,
    Path(env): Path<String>,
) -> ApiResult {
    auth(&state, &headers, &uri)?;
    settle(&state);
    ok(env_doc(&state, &env)?)
}

fn op_url(state: &State, id: &str) -> String {
    format!(
        "{}{BAP}/lifecycleOperations/{id}?api-version=2023-06-01",
        state.base_url
    )
}

fn requested_by(id: &Identity) -> Value {
    json!({"id": id.oid, "displayName": id.upn.clone().unwrap_or_else(|| id.appid.clone()),
           "type": if id.is_app { "ServicePrincipal" } else { "User" }, "tenantId": id.tid,
           "userPrincipalName": id.upn})
}

/// Starts a lifecycle operation on `env` (409 if one runs) and answers 202 + Location.
fn start_op(
    state: &State,
    env: &str,
    kind: &str,
    patch: Value,
    replace: Option<(String, Value)>,
    who: &Identity,
) -> ApiResult {
    settle(state);
    let spec = state
        .env_spec(env)
        .ok_or_else(|| bap_err(ApiError::env_not_found(env)))?;
    let id = uuid::Uuid::new_v4().to_string();
    {
        let mut ops = lock(&state.operations);
        if ops
            .values()
            .any(|o| !o.done && o.env.eq_ignore_ascii_case(&spec.name))
        {
            return Err(bap_err(ApiError::new(StatusCode::CONFLICT, "OperationNotStartable", format!("The operation cannot be started because the environment '{}' has an active lifecycle operation. Retry once it completes.", spec.name)))
                .with_body(json!({"error": {"code": "OperationNotStartable", "message": format!("The operation cannot be started because the environment '{}' has an active lifecycle operation. Retry once it completes.", spec.name), "detailUrlType": "NotSpecified"}})));
        }
        ops.insert(
            id.clone(),
            LifecycleOp {
                id: id.clone(),
                env: spec.name.clone(),
                kind: kind.into(),
                created: state.now(),
                polls: 0,
                done: false,
                patch,
                replace,
                requested_by: requested_by(who),
            },
        );
    }
    let url = op_url(state, &id);
    let mut resp = (
        StatusCode::ACCEPTED,
        Json(op_doc(state, &id).unwrap_or(Value::Null)),
    )
        .into_response();
    let h = resp.headers_mut();
    for (name, value) in [(header::LOCATION, url.as_str()), (header::RETRY_AFTER, "1")] {
        if let Ok(v) = value.parse() {
            h.insert(name, v);
        }
    }
    if let Ok(v) = url.parse() {
        h.insert("operation-location", v);
    }
    Ok(resp)
}

fn op_doc(state: &State, id: &str) -> Option<Value> {
    let op = lock(&state.operations).get(id).cloned()?;
    let st = if op.done {
        "Succeeded"
    } else if op.polls == 0 {
        "NotStarted"
    } else {
        "Running"
    };
    let ts = |d: DateTime<Utc>| d.to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
    let stage = |name: &str, done: bool| json!({"id": name, "name": name, "state": {"id": if done { "Succeeded" } else { st }}, "firstActionDateTime": ts(op.created), "lastActionDateTime": ts(state.now())});
    Some(json!({
        "id": op.id,
        "links": {"self": {"path": format!("{BAP}/lifecycleOperations/{}", op.id)},
                  "environment": {"path": format!("{BAP}/scopes/admin/environments/{}", op.env)}},
        "type": {"id": op.kind},
        "state": {"id": st},
        "createdDateTime": ts(op.created),
        "lastActionDateTime": ts(state.now()),
        "requestedBy": op.requested_by,
        "stages": [stage("Validate", true), stage("Prepare", op.done), stage("Run", op.done), stage("Finalize", op.done)],
    }))
}

async fn get_op(
    AxState(state): AxState<AppState>,
    headers: HeaderMap,
    uri: Uri,
    Path(op): Path<String>,
) -> ApiResult {
    auth(&state, &headers, &uri)?;
    let done_before = {
        let mut ops = lock(&state.operations);
        let Some(o) = ops.get_mut(&op) else {
            return Err(bap_err(ApiError::not_found(
                "OperationNotFound",
                format!("The lifecycle operation '{op}' was not found."),
            )));
        };
        o.polls += 1;
        o.done
    };
    settle(&state);
    let doc = op_doc(&state, &op).unwrap_or(Value::Null);
    if done_before || doc.pointer("/state/id").and_then(Value::as_str) == Some("Succeeded") {
        return ok(doc);
    }
    let mut resp = (StatusCode::ACCEPTED, Json(doc)).into_response();
    resp.headers_mut()
        .insert(header::RETRY_AFTER, header::HeaderValue::from_static("1"));
    if let Ok(v) = op_url(&state, &op).parse() {
        resp.headers_mut().insert(header::LOCATION, v);
    }
    Ok(resp)
}

async fn patch_env(
    AxState(state): AxState<AppState>,
    headers: HeaderMap,
    uri: Uri,
    Path(env): Path<String>,
    body: Bytes,
) -> ApiResult {
    let who = auth(&state, &headers, &uri)?;
    let patch: Value = parse_json(&body).map_err(bap_err)?;
    let obj = object_body(&patch).map_err(bap_err)?;
    // Only the mutable parts of an environment are taken; ids and names are not.
    let mut clean = serde_json::Map::new();
    for key in ["properties", "location", "tags"] {
        if let Some(v) = obj.get(key) {
            clean.insert(key.into(), v.clone());
        }
    }
    start_op(&state, &env, "Update", Value::Object(clean), None, &who)
}

async fn governance(
    AxState(state): AxState<AppState>,
    headers: HeaderMap,
    uri: Uri,
    Path(env): Path<String>,
    body: Bytes,
) -> ApiResult {
    let who = auth(&state, &headers, &uri)?;
    let gov: Value = parse_json(&body).map_err(bap_err)?;
    let level = gov
        .get("protectionLevel")
        .and_then(Value::as_str)
        .unwrap_or("");
    if !matches!(level, "Basic" | "Standard") {
        return Err(bap_err(ApiError::bad_request(
            "'protectionLevel' must be 'Basic' or 'Standard'.",
        )));
    }
    settle(&state);
    let current = env_doc(&state, &env)?;
    let cur_gov = current
        .pointer("/properties/governanceConfiguration")
        .cloned()
        .unwrap_or(Value::Null);
    let same = cur_gov.get("protectionLevel").and_then(Value::as_str) == Some(level)
        && (level == "Basic"
            || cur_gov.get("settings") == gov.get("settings")
            || gov.get("settings").is_none());
    if same {
        return Ok(StatusCode::NO_CONTENT.into_response());
    }
    // The document sent is the new governanceConfiguration (no merge with stale settings).
    let patch = json!({"properties": {"governanceConfiguration": null}});
    start_op(
        &state,
        &env,
        "Update",
        patch,
        Some(("/properties/governanceConfiguration".into(), gov)),
        &who,
    )
}

async fn list_settings(
    AxState(state): AxState<AppState>,
    headers: HeaderMap,
    uri: Uri,
) -> ApiResult {
    auth(&state, &headers, &uri)?;
    ok(state.tenant().tenant_settings.clone())
}

async fn update_settings(
    AxState(state): AxState<AppState>,
    headers: HeaderMap,
    uri: Uri,
    body: Bytes,
) -> ApiResult {
    auth(&state, &headers, &uri)?;
    let patch: Value = parse_json(&body).map_err(bap_err)?;
    object_body(&patch).map_err(bap_err)?;
    let mut tenant = state.tenant_mut();
    merge(&mut tenant.tenant_settings, &patch);
    ok(tenant.tenant_settings.clone())
}

async fn tenant_info(AxState(state): AxState<AppState>, headers: HeaderMap, uri: Uri) -> ApiResult {
    auth(&state, &headers, &uri)?;
    ok(state.tenant().tenant_info.clone())
}

fn check_tenant_path(state: &State, tenant: &str) -> Result<(), ApiError> {
    if tenant.eq_ignore_ascii_case(&state.tenant().tenant_id) {
        Ok(())
    } else {
        Err(
            ApiError::forbidden(format!("The caller cannot access tenant '{tenant}'."))
                .family(Family::Gov),
        )
    }
}

async fn get_isolation(
    AxState(state): AxState<AppState>,
    headers: HeaderMap,
    uri: Uri,
    Path(tenant): Path<String>,
) -> ApiResult {
    admin(&state, &headers, AUD_POWERAPPS, uri.path(), Family::Gov)?;
    check_tenant_path(&state, &tenant)?;
    match state.tenant().tenant_isolation.clone() {
        Some(doc) => ok(doc),
        None => Err(ApiError::not_found(
            "TenantIsolationPolicyNotFound",
            format!("No tenant isolation policy exists for tenant '{tenant}'."),
        )
        .family(Family::Gov)),
    }
}

async fn put_isolation(
    AxState(state): AxState<AppState>,
    headers: HeaderMap,
    uri: Uri,
    Path(tenant): Path<String>,
    body: Bytes,
) -> ApiResult {
    admin(&state, &headers, AUD_POWERAPPS, uri.path(), Family::Gov)?;
    check_tenant_path(&state, &tenant)?;
    let mut doc: Value = parse_json(&body).map_err(|e| e.family(Family::Gov))?;
    if doc
        .pointer("/properties")
        .and_then(Value::as_object)
        .is_none()
    {
        return Err(
            ApiError::bad_request("The policy must have a 'properties' object.")
                .family(Family::Gov),
        );
    }
    let tid = state.tenant().tenant_id.clone();
    if let Some(p) = doc
        .pointer_mut("/properties")
        .and_then(Value::as_object_mut)
    {
        p.insert("tenantId".into(), json!(tid));
        p.entry("isDisabled").or_insert(json!(false));
        p.entry("allowedTenants").or_insert(json!([]));
    }
    state.tenant_mut().tenant_isolation = Some(doc.clone());
    ok(doc)
}

fn env_index(state: &State, env: &str) -> Result<usize, ApiError> {
    state
        .env_index(env)
        .ok_or_else(|| bap_err(ApiError::env_not_found(env)))
}

async fn list_roles(
    AxState(state): AxState<AppState>,
    headers: HeaderMap,
    uri: Uri,
    Path(env): Path<String>,
) -> ApiResult {
    auth(&state, &headers, &uri)?;
    let idx = env_index(&state, &env)?;
    let content = state.env_content(idx);
    let c = super::state::read(&content);
    let items: Vec<&serde_json::value::RawValue> = c
        .role_assignments()
        .iter()
        .map(crate::doc::Doc::raw)
        .collect();
    super::paging::value_list_raw(&items)
}

async fn modify_roles(
    AxState(state): AxState<AppState>,
    headers: HeaderMap,
    uri: Uri,
    Path(env): Path<String>,
    body: Bytes,
) -> ApiResult {
    auth(&state, &headers, &uri)?;
    let idx = env_index(&state, &env)?;
    let req: Value = parse_json(&body).map_err(bap_err)?;
    object_body(&req).map_err(bap_err)?;
    let env_name = state.env_spec(&env).map(|s| s.name).unwrap_or(env);
    let tid = state.tenant().tenant_id.clone();
    let users: Vec<(String, String, Option<String>)> = state
        .tenant()
        .directory
        .users
        .iter()
        .map(|u| (u.id.clone(), u.display_name.clone(), u.mail.clone()))
        .collect();
    let mut added = Vec::new();
    let mut removed = Vec::new();
    for item in req
        .get("add")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        let role_id = item
            .pointer("/properties/roleDefinition/id")
            .and_then(Value::as_str)
            .unwrap_or("");
        let role = role_id.rsplit('/').next().unwrap_or("");
        let role_name = if role.eq_ignore_ascii_case("environmentadmin") {
            "EnvironmentAdmin"
        } else if role.eq_ignore_ascii_case("environmentmaker") {
            "EnvironmentMaker"
        } else {
            ""
        };
        let Some(pid) = principal_id(item).map(str::to_string) else {
            return Err(bap_err(ApiError::bad_request(
                "Each 'add' item needs properties.principal.id.",
            )));
        };
        if role_name.is_empty() {
            return Err(bap_err(ApiError::bad_request(format!(
                "Unknown role definition '{role_id}'; use environmentadmin or environmentmaker."
            ))));
        }
        let ptype = item
            .pointer("/properties/principal/type")
            .and_then(Value::as_str)
            .unwrap_or("User");
        let (display, email) = users
            .iter()
            .find(|u| u.0 == pid)
            .map(|u| (u.1.clone(), u.2.clone()))
            .unwrap_or_default();
        let ra = uuid::Uuid::new_v4().to_string();
        let doc = json!({
            "id": format!("{BAP}/scopes/admin/environments/{env_name}/roleAssignments/{ra}"),
            "type": "Microsoft.BusinessAppPlatform/scopes/environments/roleAssignments",
            "name": ra,
            "properties": {"scope": format!("{BAP}/environments/{env_name}"),
                "roleDefinition": {"id": format!("{BAP}/scopes/admin/environments/{env_name}/roleDefinitions/{role_name}"), "name": role_name},
                "principal": {"id": pid, "displayName": display, "email": email, "type": ptype, "tenantId": tid}}
        });
        added.push(json!({"roleAssignment": doc, "httpStatus": "Created"}));
    }
    for item in req
        .get("remove")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        let id = item
            .get("id")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string();
        removed.push(id);
    }
    let new_docs: Vec<Value> = added
        .iter()
        .filter_map(|a| a.get("roleAssignment").cloned())
        .collect();
    let mut remove_results = Vec::new();
    state.env_content_mut(idx, |c| {
        let roles = c.role_assignments_mut();
        roles.extend(new_docs.iter().map(crate::doc::Doc::new));
        for id in &removed {
            let before = roles.len();
            let tail = id.rsplit('/').next().unwrap_or(id);
            roles.retain(|r| r.value().get("name").and_then(Value::as_str) != Some(tail));
            let status = if roles.len() < before {
                "OK"
            } else {
                "NotFound"
            };
            remove_results.push(json!({"id": id, "httpStatus": status}));
        }
    });
    let mut out = serde_json::Map::new();
    if !added.is_empty() {
        out.insert("add".into(), Value::Array(added));
    }
    if !remove_results.is_empty() {
        out.insert("remove".into(), Value::Array(remove_results));
    }
    ok(Value::Object(out))
}

fn admin_app_doc(client: &str) -> Value {
    json!({"applicationId": client})
}

async fn list_admin_apps(
    AxState(state): AxState<AppState>,
    headers: HeaderMap,
    uri: Uri,
) -> ApiResult {
    auth(&state, &headers, &uri)?;
    let mut ids: Vec<String> = state
        .tenant()
        .directory
        .apps
        .iter()
        .filter(|a| a.management_app)
        .map(|a| a.client_id.clone())
        .collect();
    ids.sort();
    ok(json!({"value": ids.iter().map(|i| admin_app_doc(i)).collect::<Vec<_>>()}))
}

async fn get_admin_app(
    AxState(state): AxState<AppState>,
    headers: HeaderMap,
    uri: Uri,
    Path(client): Path<String>,
) -> ApiResult {
    auth(&state, &headers, &uri)?;
    let found = state
        .tenant()
        .directory
        .apps
        .iter()
        .any(|a| a.client_id.eq_ignore_ascii_case(&client) && a.management_app);
    if found {
        ok(admin_app_doc(&client))
    } else {
        Err(bap_err(ApiError::not_found(
            "AdminApplicationNotFound",
            format!("The application '{client}' is not registered as a management application."),
        )))
    }
}

async fn put_admin_app(
    AxState(state): AxState<AppState>,
    headers: HeaderMap,
    uri: Uri,
    Path(client): Path<String>,
) -> ApiResult {
    auth(&state, &headers, &uri)?;
    let mut tenant = state.tenant_mut();
    match tenant
        .directory
        .apps
        .iter_mut()
        .find(|a| a.client_id.eq_ignore_ascii_case(&client))
    {
        Some(app) => {
            app.management_app = true;
            with_status(StatusCode::OK, admin_app_doc(&app.client_id))
        }
        None => Err(bap_err(ApiError::not_found(
            "PrincipalNotExists",
            format!(
                "The service principal for application '{client}' does not exist in the tenant."
            ),
        ))),
    }
}

async fn delete_admin_app(
    AxState(state): AxState<AppState>,
    headers: HeaderMap,
    uri: Uri,
    Path(client): Path<String>,
) -> ApiResult {
    auth(&state, &headers, &uri)?;
    let mut tenant = state.tenant_mut();
    if let Some(app) = tenant
        .directory
        .apps
        .iter_mut()
        .find(|a| a.client_id.eq_ignore_ascii_case(&client))
    {
        app.management_app = false;
    }
    Ok(StatusCode::NO_CONTENT.into_response())
}
