//! Graph writes the emulator supports: `PATCH /v1.0/users/{id}` (e.g. `{"accountEnabled": false}`,
//! an admin disabling a departed user). The change moves no Power Platform `lastModifiedTime`,
//! which is what incremental crawls must cope with.

use axum::body::Bytes;
use axum::extract::{Path, State as AxState};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::Value;

use super::auth::{AUD_GRAPH, require};
use super::errors::{ApiError, Family};
use super::state::AppState;

const WRITE_ROLES: &[&str] = &["User.ReadWrite.All", "Directory.ReadWrite.All"];

fn gerr(status: StatusCode, code: &str, message: impl Into<String>) -> ApiError {
    ApiError::new(status, code, message).family(Family::Graph)
}

/// `PATCH /v1.0/users/{id}`: `accountEnabled`, `displayName`; answers 204 like Graph.
pub async fn patch_user(
    AxState(state): AxState<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
    body: Bytes,
) -> Response {
    let run = || -> Result<(), ApiError> {
        let who = require(&state, &headers, AUD_GRAPH).map_err(|e| e.family(Family::Graph))?;
        if who.is_app && !who.roles.iter().any(|r| WRITE_ROLES.contains(&r.as_str())) {
            return Err(gerr(
                StatusCode::FORBIDDEN,
                "Authorization_RequestDenied",
                "Insufficient privileges to complete the operation.",
            ));
        }
        let req: Value = serde_json::from_slice(&body).map_err(|e| {
            gerr(
                StatusCode::BAD_REQUEST,
                "BadRequest",
                format!("Invalid JSON body: {e}"),
            )
        })?;
        let Some(obj) = req.as_object() else {
            return Err(gerr(
                StatusCode::BAD_REQUEST,
                "BadRequest",
                "The body must be a JSON object.",
            ));
        };
        let enabled = obj.get("accountEnabled").and_then(Value::as_bool);
        let name = obj
            .get("displayName")
            .and_then(Value::as_str)
            .map(str::to_string);
        let mut tenant = state.tenant_mut();
        let user = tenant
            .directory
            .users
            .iter_mut()
            .find(|u| !u.deleted && (u.id.eq_ignore_ascii_case(&id) || u.upn.eq_ignore_ascii_case(&id)))
            .ok_or_else(|| {
                gerr(
                    StatusCode::NOT_FOUND,
                    "Request_ResourceNotFound",
                    format!("Resource '{id}' does not exist or one of its queried reference-property objects are not present."),
                )
            })?;
        if let Some(e) = enabled {
            user.enabled = e;
        }
        if let Some(n) = name {
            user.display_name = n;
        }
        Ok(())
    };
    match run() {
        Ok(()) => StatusCode::NO_CONTENT.into_response(),
        Err(e) => e.into_response(),
    }
}
