//! Small helpers shared by the BAP, GOV, Power Apps and Flow handlers.

use axum::Json;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use serde_json::{Map, Value};

use super::auth::{self, Identity};
use super::errors::{ApiError, Family};
use super::state::State;

/// A handler's answer.
pub type ApiResult = Result<Response, ApiError>;

/// Bearer check for an admin path of a `service.powerapps.com` / `service.flow.microsoft.com`
/// family: right audience, and a service principal must be a registered management app.
pub fn admin(
    state: &State,
    headers: &HeaderMap,
    audience: &str,
    path: &str,
    family: Family,
) -> Result<Identity, ApiError> {
    let id = auth::require(state, headers, audience).map_err(|e| e.family(family))?;
    auth::require_management(state, &id, path).map_err(|e| e.family(family))?;
    Ok(id)
}

/// 200 with a JSON body.
pub fn ok(body: Value) -> ApiResult {
    Ok((StatusCode::OK, Json(body)).into_response())
}

/// 200 with `body` serialised as JSON (for bodies written from stored text without `Value`s).
pub fn ok_serialized(body: &impl Serialize) -> ApiResult {
    let bytes = serde_json::to_vec(body).map_err(|e| {
        ApiError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "InternalServerError",
            format!("The emulator could not write the response: {e}."),
        )
    })?;
    Ok((
        StatusCode::OK,
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        )],
        bytes,
    )
        .into_response())
}

/// A status with a JSON body.
pub fn with_status(status: StatusCode, body: Value) -> ApiResult {
    Ok((status, Json(body)).into_response())
}

/// RFC 7396 merge: objects merge recursively, `null` removes a key, anything else replaces.
pub fn merge(target: &mut Value, patch: &Value) {
    match (target, patch) {
        (Value::Object(t), Value::Object(p)) => {
            for (k, v) in p {
                if v.is_null() {
                    t.remove(k);
                } else {
                    merge(t.entry(k.clone()).or_insert(Value::Object(Map::new())), v);
                }
            }
        }
        (t, p) => *t = p.clone(),
    }
}

/// `doc.properties.<key>` as a string.
pub fn prop_str<'a>(doc: &'a Value, pointer: &str) -> Option<&'a str> {
    doc.pointer(pointer).and_then(Value::as_str)
}

/// Requires the body to be a JSON object.
pub fn object_body(body: &Value) -> Result<&Map<String, Value>, ApiError> {
    body.as_object()
        .ok_or_else(|| ApiError::bad_request("The request body must be a JSON object."))
}

/// Principal (oid) of a permission / role assignment item.
pub fn principal_id(item: &Value) -> Option<&str> {
    item.pointer("/properties/principal/id")
        .and_then(Value::as_str)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn merge_keeps_unknown_keys_and_removes_nulls() {
        let mut t = json!({"a": 1, "b": {"c": 2, "d": 3}, "x": true});
        merge(&mut t, &json!({"b": {"c": 5, "d": null}, "e": "new"}));
        assert_eq!(t, json!({"a": 1, "b": {"c": 5}, "x": true, "e": "new"}));
    }
}
