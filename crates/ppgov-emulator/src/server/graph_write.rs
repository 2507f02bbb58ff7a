//! Graph writes the emulator supports: `PATCH /v1.0/users/{id}` (e.g. `{"accountEnabled": false}`,
//! an admin disabling a departed user). The change moves no Power Platform `lastModifiedTime`,
//! which is what incremental crawls must cope with. `POST /v1.0/groups/{id}/members/$ref`
//! (`{"@odata.id": ".../directoryObjects/{member}"}`) adds a member to a group, e.g. to the
//! Entra group behind a group team holding System Administrator; it answers 204, or 400 when
//! the object is already a member, like Graph.

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

const GROUP_WRITE_ROLES: &[&str] = &[
    "GroupMember.ReadWrite.All",
    "Group.ReadWrite.All",
    "Directory.ReadWrite.All",
];

/// `POST /v1.0/groups/{id}/members/$ref`: adds a user or a group.
pub async fn add_member(
    AxState(state): AxState<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
    body: Bytes,
) -> Response {
    let run = || -> Result<(), ApiError> {
        let who = require(&state, &headers, AUD_GRAPH).map_err(|e| e.family(Family::Graph))?;
        if who.is_app
            && !who
                .roles
                .iter()
                .any(|r| GROUP_WRITE_ROLES.contains(&r.as_str()))
        {
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
        let reference = req
            .get("@odata.id")
            .and_then(Value::as_str)
            .unwrap_or_default();
        let member = reference
            .rsplit_once("/directoryObjects/")
            .map(|(_, m)| m.trim_matches(|c| c == '{' || c == '}'))
            .filter(|m| !m.is_empty())
            .ok_or_else(|| {
                gerr(
                    StatusCode::BAD_REQUEST,
                    "Request_BadRequest",
                    "Invalid object identifier: the body must carry @odata.id naming a directoryObjects/{id} URL.",
                )
            })?
            .to_string();
        let missing = |what: &str| {
            gerr(
                StatusCode::NOT_FOUND,
                "Request_ResourceNotFound",
                format!(
                    "Resource '{what}' does not exist or one of its queried reference-property objects are not present."
                ),
            )
        };
        let mut tenant = state.tenant_mut();
        let d = &tenant.directory;
        let exists = d
            .users
            .iter()
            .any(|u| !u.deleted && u.id.eq_ignore_ascii_case(&member))
            || d.groups.iter().any(|g| g.id.eq_ignore_ascii_case(&member));
        if !exists {
            return Err(missing(&member));
        }
        let group = tenant
            .directory
            .groups
            .iter_mut()
            .find(|g| g.id.eq_ignore_ascii_case(&id))
            .ok_or_else(|| missing(&id))?;
        if group
            .members
            .iter()
            .any(|m| m.eq_ignore_ascii_case(&member))
        {
            return Err(gerr(
                StatusCode::BAD_REQUEST,
                "Request_BadRequest",
                "One or more added object references already exist for the following modified properties: 'members'.",
            ));
        }
        group.members.push(member);
        Ok(())
    };
    match run() {
        Ok(()) => StatusCode::NO_CONTENT.into_response(),
        Err(e) => e.into_response(),
    }
}
