//! Power Platform API (`api.powerplatform.com`) endpoints other than the inventory:
//! self-elevation `applyAdminRole` (REFERENCE §4.7, U1) and a minimal
//! `environmentmanagement/environments` listing (P1).

use axum::extract::{Path, RawQuery, State as AxState};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde_json::{Value, json};

use super::auth::{AUD_PPAPI, require};
use super::dataverse::apply_admin_role;
use super::errors::{ApiError, Family};
use super::paging;
use super::state::AppState;

/// Tenant roles that may self-elevate (the documented three).
const ELEVATING_ROLES: &[&str] = &[
    "Global Administrator",
    "Power Platform Administrator",
    "Dynamics 365 Administrator",
    "Dynamics 365 Service Administrator",
];

/// The PPAPI routes.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route(
            "/usermanagement/environments/{env}/user/applyAdminRole",
            post(apply_admin_role_handler),
        )
        .route(
            "/environmentmanagement/environments",
            get(list_environments),
        )
        .route(
            "/environmentmanagement/environments/{env}",
            get(get_environment),
        )
}

fn require_version(raw: Option<&str>) -> Result<(), ApiError> {
    let q = paging::parse_query(raw);
    if paging::param(&q, "api-version").is_none() {
        return Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            "MissingApiVersionParameter",
            "The api-version query parameter (?api-version=) is required for all requests.",
        ));
    }
    Ok(())
}

async fn apply_admin_role_handler(
    AxState(state): AxState<AppState>,
    Path(env): Path<String>,
    RawQuery(raw): RawQuery,
    headers: HeaderMap,
) -> Response {
    match apply(&state, &env, raw.as_deref(), &headers) {
        Ok(v) => Json(v).into_response(),
        Err(e) => e.family(Family::Ppapi).into_response(),
    }
}

fn apply(
    state: &AppState,
    env: &str,
    raw: Option<&str>,
    headers: &HeaderMap,
) -> Result<Value, ApiError> {
    require_version(raw)?;
    let id = require(state, headers, AUD_PPAPI)?;
    if id.is_app {
        return Err(ApiError::forbidden(
            "applyAdminRole assigns the System Administrator role to the signed-in user; call it with a delegated user token.",
        ));
    }
    let spec = state.env_spec(env).ok_or_else(|| {
        let tid = state.tenant().tenant_id.clone();
        ApiError::not_found(
            "ServiceToServiceEnvironmentNotFound",
            format!("The environment '{env}' could not be found in the tenant '{tid}'."),
        )
    })?;
    let (upn, name, roles) = {
        let t = state.tenant();
        let user = t
            .directory
            .users
            .iter()
            .find(|u| u.id.eq_ignore_ascii_case(&id.oid) && !u.deleted);
        match user {
            Some(u) => (u.upn.clone(), u.display_name.clone(), u.admin_roles.clone()),
            None => (
                id.upn.clone().unwrap_or_default(),
                String::new(),
                Vec::new(),
            ),
        }
    };
    let allowed = roles
        .iter()
        .any(|r| ELEVATING_ROLES.iter().any(|a| a.eq_ignore_ascii_case(r)));
    if !allowed {
        return Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "Forbidden",
            "Unable to assign System Administrator security role as the user is not either a Global admin, Power Platform admin, or Dynamics 365 admin. Please review your role assignments in Entra and try again.",
        ));
    }
    if !spec.has_dataverse {
        return Err(ApiError::bad_request(format!(
            "The environment '{env}' has no Dataverse database; System Administrator can only be assigned in Dataverse environments."
        )));
    }
    let outcome = state.env_content_mut(spec.index, |c| match c.dataverse_mut() {
        Some(d) => apply_admin_role(d, &id.oid, &upn, &name).map(Some),
        None => Ok(None),
    })?;
    let Some(outcome) = outcome else {
        return Err(ApiError::bad_request(format!(
            "The environment '{env}' has no Dataverse database."
        )));
    };
    let url = spec
        .doc
        .pointer("/properties/linkedEnvironmentMetadata/instanceUrl")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string();
    let user_line = if outcome.existed {
        format!(
            "SystemUser with Id:{}, objectId:{} exists in instance",
            outcome.system_user_id, id.oid
        )
    } else {
        format!(
            "SystemUser with Id:{}, objectId:{} created in instance",
            outcome.system_user_id, id.oid
        )
    };
    let lines = vec![
        "SyncMode: Default".to_string(),
        format!("Instance {} exists", spec.name),
        format!("Instance Url found {url}"),
        "User found in AD tenant".to_string(),
        user_line,
    ];
    // `Description` is a JSON array serialised into a string, as the service sends it.
    let description = serde_json::to_string(&lines).unwrap_or_default();
    Ok(
        json!({"errors": [], "information": [{"Subject": "Result", "Description": description, "Code": "UserExists"}]}),
    )
}

fn ppapi_env(doc: &Value, name: &str) -> Value {
    let p = doc.get("properties").cloned().unwrap_or(Value::Null);
    let url = p
        .pointer("/linkedEnvironmentMetadata/instanceUrl")
        .cloned()
        .unwrap_or(Value::Null);
    json!({
        "id": name,
        "displayName": p.get("displayName").cloned().unwrap_or(Value::Null),
        "type": p.get("environmentSku").cloned().unwrap_or(Value::Null),
        "geo": doc.get("location").cloned().unwrap_or(Value::Null),
        "azureRegion": p.get("azureRegion").cloned().unwrap_or(Value::Null),
        "url": url,
        "state": p.pointer("/states/runtime/id").cloned().unwrap_or(Value::from("Enabled")),
        "tenantId": p.get("tenantId").cloned().unwrap_or(Value::Null),
    })
}

async fn list_environments(
    AxState(state): AxState<AppState>,
    RawQuery(raw): RawQuery,
    headers: HeaderMap,
) -> Response {
    let run = || -> Result<Value, ApiError> {
        require_version(raw.as_deref())?;
        require(&state, &headers, AUD_PPAPI)?;
        let t = state.tenant();
        let items: Vec<Value> = t
            .environments
            .iter()
            .map(|e| ppapi_env(&e.doc, &e.name))
            .collect();
        Ok(json!({"value": items}))
    };
    match run() {
        Ok(v) => Json(v).into_response(),
        Err(e) => e.family(Family::Ppapi).into_response(),
    }
}

async fn get_environment(
    AxState(state): AxState<AppState>,
    Path(env): Path<String>,
    RawQuery(raw): RawQuery,
    headers: HeaderMap,
) -> Response {
    let run = || -> Result<Value, ApiError> {
        require_version(raw.as_deref())?;
        require(&state, &headers, AUD_PPAPI)?;
        let spec = state
            .env_spec(&env)
            .ok_or_else(|| ApiError::env_not_found(&env))?;
        Ok(ppapi_env(&spec.doc, &spec.name))
    };
    match run() {
        Ok(v) => Json(v).into_response(),
        Err(e) => e.family(Family::Ppapi).into_response(),
    }
}
