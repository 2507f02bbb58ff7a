//! Microsoft Graph v1.0 (REFERENCE §4.8): users, groups and their (transitive) members,
//! directory objects and `directoryObjects/getByIds` (at most 1000 ids; an id that is not
//! there, or not of the asked types, is left out; users with the default property subset), and
//! JSON batching (`POST /v1.0/$batch`, at most 20 requests, per-item
//! status, per-item 429 when the caller is over its rate limit).

use std::collections::{BTreeMap, BTreeSet, VecDeque};

use axum::body::Bytes;
use axum::extract::State as AxState;
use axum::http::{HeaderMap, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde_json::{Map, Value, json};

use crate::tenant::{Group, Tenant, User};

use super::auth::{AUD_GRAPH, Identity, identity_key, require};
use super::errors::{ApiError, Family};
use super::paging::{self, QueryMap};
use super::state::{AppState, State};
use super::throttle;

/// Most requests one `$batch` may carry.
const MAX_BATCH: usize = 20;
/// Default and maximum `$top` of collections.
const DEFAULT_TOP: usize = 100;
const MAX_TOP: usize = 999;

/// The Graph routes.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/v1.0/$batch", post(batch))
        .route("/v1.0/users", get(single))
        .route(
            "/v1.0/users/{id}",
            get(single).patch(super::graph_write::patch_user),
        )
        .route("/v1.0/users/{id}/manager", get(single))
        .route("/v1.0/groups/{id}", get(single))
        .route("/v1.0/groups/{id}/members", get(single))
        .route(
            "/v1.0/groups/{id}/members/$ref",
            post(super::graph_write::add_member),
        )
        .route("/v1.0/groups/{id}/transitiveMembers", get(single))
        .route("/v1.0/directoryObjects/getByIds", post(get_by_ids))
        .route("/v1.0/directoryObjects/{id}", get(single))
        .route("/v1.0/servicePrincipals/{id}", get(single))
}

fn gerr(status: StatusCode, code: &str, message: impl Into<String>) -> ApiError {
    ApiError::new(status, code, message).family(Family::Graph)
}

fn not_found(id: &str) -> ApiError {
    gerr(
        StatusCode::NOT_FOUND,
        "Request_ResourceNotFound",
        format!(
            "Resource '{id}' does not exist or one of its queried reference-property objects are not present."
        ),
    )
}

fn denied() -> ApiError {
    gerr(
        StatusCode::FORBIDDEN,
        "Authorization_RequestDenied",
        "Insufficient privileges to complete the operation.",
    )
}

/// App-only callers need an application permission that covers the read.
fn check_roles(id: &Identity, any_of: &[&str]) -> Result<(), ApiError> {
    if !id.is_app || id.roles.iter().any(|r| any_of.contains(&r.as_str())) {
        Ok(())
    } else {
        Err(denied())
    }
}

const USER_ROLES: &[&str] = &[
    "User.Read.All",
    "User.ReadWrite.All",
    "Directory.Read.All",
    "Directory.ReadWrite.All",
];
const GROUP_ROLES: &[&str] = &[
    "Group.Read.All",
    "GroupMember.Read.All",
    "Directory.Read.All",
    "Group.ReadWrite.All",
    "Directory.ReadWrite.All",
];

fn user_json(u: &User) -> Map<String, Value> {
    let mut m = Map::new();
    m.insert("id".into(), json!(u.id));
    m.insert("displayName".into(), json!(u.display_name));
    m.insert("userPrincipalName".into(), json!(u.upn));
    m.insert("mail".into(), json!(u.mail));
    m.insert("accountEnabled".into(), json!(u.enabled));
    m.insert(
        "userType".into(),
        json!(if u.guest { "Guest" } else { "Member" }),
    );
    m.insert("businessPhones".into(), json!([]));
    m.insert("givenName".into(), Value::Null);
    m.insert("surname".into(), Value::Null);
    m.insert("jobTitle".into(), Value::Null);
    m.insert("mobilePhone".into(), Value::Null);
    m.insert("officeLocation".into(), Value::Null);
    m.insert("preferredLanguage".into(), Value::Null);
    if let Some(i) = u.invited {
        m.insert(
            "createdDateTime".into(),
            json!(i.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)),
        );
    }
    m
}

/// Properties Graph returns for a user when there is no `$select`.
const USER_DEFAULT: &[&str] = &[
    "businessPhones",
    "displayName",
    "givenName",
    "jobTitle",
    "mail",
    "mobilePhone",
    "officeLocation",
    "preferredLanguage",
    "surname",
    "userPrincipalName",
    "id",
];

fn group_json(g: &Group) -> Map<String, Value> {
    let mut m = Map::new();
    m.insert("id".into(), json!(g.id));
    m.insert("displayName".into(), json!(g.display_name));
    m.insert("securityEnabled".into(), json!(g.security_enabled));
    m.insert("mailEnabled".into(), json!(false));
    m.insert("groupTypes".into(), json!([]));
    m.insert("description".into(), Value::Null);
    m
}

fn select(mut m: Map<String, Value>, q: &QueryMap, default: Option<&[&str]>) -> Map<String, Value> {
    let wanted: Option<Vec<String>> =
        paging::param(q, "$select").map(|s| s.split(',').map(|x| x.trim().to_string()).collect());
    let keep: Option<Vec<String>> =
        wanted.or_else(|| default.map(|d| d.iter().map(|s| (*s).to_string()).collect()));
    let Some(keep) = keep else { return m };
    let odata_type = m.remove("@odata.type");
    let mut out = Map::new();
    if let Some(t) = odata_type {
        out.insert("@odata.type".into(), t);
    }
    for k in keep {
        // Unknown properties in `$select` are an error in Graph; here they come back as null.
        let v = m.get(&k).cloned().unwrap_or(Value::Null);
        out.insert(k, v);
    }
    out
}

fn find_user<'a>(state: &State, t: &'a Tenant, key: &str) -> Option<&'a User> {
    state.find_user(t, key)
}

/// A directory object as a member item (`@odata.type` first).
fn object_json(state: &State, t: &Tenant, id: &str) -> Option<Map<String, Value>> {
    if let Some(u) = find_user(state, t, id) {
        let mut m = Map::new();
        m.insert("@odata.type".into(), json!("#microsoft.graph.user"));
        m.extend(user_json(u));
        return Some(m);
    }
    if let Some(g) = t
        .directory
        .groups
        .iter()
        .find(|g| g.id.eq_ignore_ascii_case(id))
    {
        let mut m = Map::new();
        m.insert("@odata.type".into(), json!("#microsoft.graph.group"));
        m.extend(group_json(g));
        return Some(m);
    }
    if let Some(a) = t
        .directory
        .apps
        .iter()
        .find(|a| a.object_id.eq_ignore_ascii_case(id))
    {
        let mut m = Map::new();
        m.insert(
            "@odata.type".into(),
            json!("#microsoft.graph.servicePrincipal"),
        );
        m.insert("id".into(), json!(a.object_id));
        m.insert("appId".into(), json!(a.client_id));
        m.insert("displayName".into(), json!(a.display_name));
        return Some(m);
    }
    None
}

fn member_ids(t: &Tenant, group: &Group, transitive: bool) -> Vec<String> {
    if !transitive {
        return group.members.clone();
    }
    let mut seen = BTreeSet::new();
    let mut out = Vec::new();
    let mut queue: VecDeque<String> = group.members.iter().cloned().collect();
    while let Some(id) = queue.pop_front() {
        if !seen.insert(id.to_ascii_lowercase()) {
            continue;
        }
        if let Some(g) = t
            .directory
            .groups
            .iter()
            .find(|g| g.id.eq_ignore_ascii_case(&id))
        {
            queue.extend(g.members.iter().cloned());
        }
        out.push(id);
    }
    out
}

fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%'
            && let Some(hex) = bytes.get(i + 1..i + 3)
            && let Ok(b) = u8::from_str_radix(&String::from_utf8_lossy(hex), 16)
        {
            out.push(b);
            i += 3;
            continue;
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Answers one GET by path (relative to `/v1.0`) and query: the family logic shared by direct
/// calls and `$batch` items.
fn answer(state: &State, id: &Identity, path: &str, q: &QueryMap) -> Result<Value, ApiError> {
    let segs: Vec<String> = path
        .trim_matches('/')
        .split('/')
        .map(percent_decode)
        .collect();
    let segs: Vec<&str> = segs.iter().map(String::as_str).collect();
    let base = state.base_url.trim_end_matches('/');
    if let Some(top) = paging::param(q, "$top")
        && top
            .trim()
            .parse::<usize>()
            .ok()
            .is_none_or(|n| n == 0 || n > MAX_TOP)
    {
        return Err(gerr(
            StatusCode::BAD_REQUEST,
            "Request_UnsupportedQuery",
            format!(
                "Invalid page size specified: '{top}'. Must be between 1 and {MAX_TOP} inclusive."
            ),
        ));
    }
    let t = state.tenant();
    match segs.as_slice() {
        ["users"] => {
            check_roles(id, USER_ROLES)?;
            let page =
                paging::page(q, DEFAULT_TOP, MAX_TOP).map_err(|e| e.family(Family::Graph))?;
            // Simple `$filter`s (`userType eq 'Guest'`, `accountEnabled eq false`,
            // `startswith(userPrincipalName,'x')`) reuse the OData filter of the Dataverse family.
            let filter = match paging::param(q, "$filter") {
                Some(f) => Some(super::dataverse::odata::parse_filter(f).map_err(|e| {
                    gerr(
                        StatusCode::BAD_REQUEST,
                        "Request_UnsupportedQuery",
                        e.message,
                    )
                })?),
                None => None,
            };
            let no_nav = |_: &Value, _: &str| Vec::new();
            let users: Vec<&User> = t
                .directory
                .users
                .iter()
                .filter(|u| !u.deleted)
                .filter(|u| {
                    filter.as_ref().is_none_or(|f| {
                        super::dataverse::odata::matches(f, &Value::Object(user_json(u)), &no_nav)
                    })
                })
                .collect();
            let (chunk, next) = paging::slice(&users, page);
            let items = chunk
                .iter()
                .map(|u| Value::Object(select(user_json(u), q, Some(USER_DEFAULT))))
                .collect();
            Ok(paging::odata_page(
                base,
                "/v1.0/users",
                q,
                Some(&format!("{base}/v1.0/$metadata#users")),
                items,
                next,
            ))
        }
        ["users", key] => {
            check_roles(id, USER_ROLES)?;
            let u = find_user(state, &t, key).ok_or_else(|| not_found(key))?;
            let mut out = Map::new();
            out.insert(
                "@odata.context".into(),
                json!(format!("{base}/v1.0/$metadata#users/$entity")),
            );
            out.extend(select(user_json(u), q, Some(USER_DEFAULT)));
            Ok(Value::Object(out))
        }
        ["users", key, "manager"] => {
            // The manager as a directory object (a user, with its type); 404 when none is set.
            check_roles(id, USER_ROLES)?;
            let u = find_user(state, &t, key).ok_or_else(|| not_found(key))?;
            let m = u
                .manager
                .as_deref()
                .and_then(|m| t.directory.users.iter().find(|x| x.id == m && !x.deleted))
                .ok_or_else(|| not_found("manager"))?;
            let mut out = Map::new();
            out.insert(
                "@odata.context".into(),
                json!(format!("{base}/v1.0/$metadata#directoryObjects/$entity")),
            );
            out.insert("@odata.type".into(), json!("#microsoft.graph.user"));
            out.extend(select(user_json(m), q, Some(USER_DEFAULT)));
            Ok(Value::Object(out))
        }
        ["groups", key] => {
            check_roles(id, GROUP_ROLES)?;
            let g = t
                .directory
                .groups
                .iter()
                .find(|g| g.id.eq_ignore_ascii_case(key))
                .ok_or_else(|| not_found(key))?;
            let mut out = Map::new();
            out.insert(
                "@odata.context".into(),
                json!(format!("{base}/v1.0/$metadata#groups/$entity")),
            );
            out.extend(select(group_json(g), q, None));
            Ok(Value::Object(out))
        }
        ["groups", key, rel @ ("members" | "transitiveMembers")] => {
            check_roles(id, GROUP_ROLES)?;
            let g = t
                .directory
                .groups
                .iter()
                .find(|g| g.id.eq_ignore_ascii_case(key))
                .ok_or_else(|| not_found(key))?;
            let ids = member_ids(&t, g, *rel == "transitiveMembers");
            // Deleted users drop out of membership lists.
            let objects: Vec<Map<String, Value>> = ids
                .iter()
                .filter_map(|m| object_json(state, &t, m))
                .collect();
            let page =
                paging::page(q, DEFAULT_TOP, MAX_TOP).map_err(|e| e.family(Family::Graph))?;
            let (chunk, next) = paging::slice(&objects, page);
            let items = chunk
                .into_iter()
                .map(|m| Value::Object(select(m, q, None)))
                .collect();
            let path = format!("/v1.0/groups/{key}/{rel}");
            Ok(paging::odata_page(
                base,
                &path,
                q,
                Some(&format!("{base}/v1.0/$metadata#directoryObjects")),
                items,
                next,
            ))
        }
        ["servicePrincipals", key] => {
            check_roles(
                id,
                &[
                    "Application.Read.All",
                    "Directory.Read.All",
                    "Directory.ReadWrite.All",
                    "User.Read.All",
                ],
            )?;
            let m = object_json(state, &t, key)
                .filter(|m| {
                    m.get("@odata.type") == Some(&json!("#microsoft.graph.servicePrincipal"))
                })
                .ok_or_else(|| not_found(key))?;
            let mut out = Map::new();
            out.insert(
                "@odata.context".into(),
                json!(format!("{base}/v1.0/$metadata#servicePrincipals/$entity")),
            );
            out.extend(select(m, q, None));
            Ok(Value::Object(out))
        }
        ["directoryObjects", key] => {
            check_roles(
                id,
                &[
                    "Directory.Read.All",
                    "Directory.ReadWrite.All",
                    "User.Read.All",
                ],
            )?;
            let m = object_json(state, &t, key).ok_or_else(|| not_found(key))?;
            let mut out = Map::new();
            out.insert(
                "@odata.context".into(),
                json!(format!("{base}/v1.0/$metadata#directoryObjects/$entity")),
            );
            out.extend(select(m, q, None));
            Ok(Value::Object(out))
        }
        _ => Err(gerr(
            StatusCode::BAD_REQUEST,
            "BadRequest",
            format!(
                "Resource not found for the segment '{}'.",
                segs.first().copied().unwrap_or("")
            ),
        )),
    }
}

async fn single(AxState(state): AxState<AppState>, uri: Uri, headers: HeaderMap) -> Response {
    let run = || -> Result<Value, ApiError> {
        let id = require(&state, &headers, AUD_GRAPH).map_err(|e| e.family(Family::Graph))?;
        let path = uri.path().strip_prefix("/v1.0").unwrap_or(uri.path());
        let q = paging::parse_query(uri.query());
        answer(&state, &id, path, &q)
    };
    match run() {
        Ok(v) => Json(v).into_response(),
        Err(e) => e.family(Family::Graph).into_response(),
    }
}

/// Most ids one `getByIds` call may carry.
const MAX_GET_BY_IDS: usize = 1000;

async fn get_by_ids(
    AxState(state): AxState<AppState>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    match run_get_by_ids(&state, &headers, &body) {
        Ok(v) => Json(v).into_response(),
        Err(e) => e.family(Family::Graph).into_response(),
    }
}

fn run_get_by_ids(state: &State, headers: &HeaderMap, body: &Bytes) -> Result<Value, ApiError> {
    let id = require(state, headers, AUD_GRAPH).map_err(|e| e.family(Family::Graph))?;
    check_roles(&id, &["Directory.Read.All", "Directory.ReadWrite.All"])?;
    let key = identity_key(state, headers);
    throttle::check(state, key.as_deref(), Family::Graph)?;
    let v: Value = super::errors::parse_json(body).map_err(|e| e.family(Family::Graph))?;
    let Some(ids) = v.get("ids").and_then(Value::as_array) else {
        return Err(gerr(
            StatusCode::BAD_REQUEST,
            "Request_BadRequest",
            "The request body must contain an 'ids' collection.",
        ));
    };
    if ids.len() > MAX_GET_BY_IDS {
        return Err(gerr(
            StatusCode::BAD_REQUEST,
            "Request_BadRequest",
            format!("Too many ids: at most {MAX_GET_BY_IDS} may be given."),
        ));
    }
    // Types are case-insensitive; absent means every directory object type.
    let types: Option<Vec<String>> = v.get("types").and_then(Value::as_array).map(|t| {
        t.iter()
            .filter_map(Value::as_str)
            .map(|s| format!("#microsoft.graph.{}", s.to_ascii_lowercase()))
            .collect()
    });
    let t = state.tenant();
    let mut value = Vec::new();
    for raw in ids {
        let Some(oid) = raw.as_str() else {
            return Err(gerr(
                StatusCode::BAD_REQUEST,
                "Request_BadRequest",
                "Every id must be a string.",
            ));
        };
        let Some(m) = object_json(state, &t, oid) else {
            continue;
        };
        let kind = m
            .get("@odata.type")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_ascii_lowercase();
        if types.as_ref().is_some_and(|ts| !ts.contains(&kind)) {
            continue;
        }
        let m = if kind == "#microsoft.graph.user" {
            // v1.0 returns a user's default property subset here (no accountEnabled, userType).
            select(m, &QueryMap::default(), Some(USER_DEFAULT))
        } else {
            m
        };
        value.push(Value::Object(m));
    }
    let base = state.base_url.trim_end_matches('/');
    Ok(json!({
        "@odata.context": format!("{base}/v1.0/$metadata#directoryObjects"),
        "value": value,
    }))
}

fn item_headers(extra: &[(String, String)]) -> Value {
    let mut h = Map::new();
    h.insert("Content-Type".into(), json!("application/json; odata.metadata=minimal; odata.streaming=true; IEEE754Compatible=false; charset=utf-8"));
    for (k, v) in extra {
        h.insert(k.clone(), json!(v));
    }
    Value::Object(h)
}

async fn batch(AxState(state): AxState<AppState>, headers: HeaderMap, body: Bytes) -> Response {
    match run_batch(&state, &headers, &body) {
        Ok(v) => Json(v).into_response(),
        Err(e) => e.family(Family::Graph).into_response(),
    }
}

fn run_batch(state: &State, headers: &HeaderMap, body: &Bytes) -> Result<Value, ApiError> {
    let id = require(state, headers, AUD_GRAPH).map_err(|e| e.family(Family::Graph))?;
    let v: Value = super::errors::parse_json(body).map_err(|e| e.family(Family::Graph))?;
    let Some(requests) = v.get("requests").and_then(Value::as_array) else {
        return Err(gerr(
            StatusCode::BAD_REQUEST,
            "BadRequest",
            "Invalid batch payload format.",
        ));
    };
    if requests.is_empty() {
        return Err(gerr(
            StatusCode::BAD_REQUEST,
            "BadRequest",
            "Invalid batch payload format.",
        ));
    }
    if requests.len() > MAX_BATCH {
        return Err(gerr(
            StatusCode::BAD_REQUEST,
            "BadRequest",
            format!("Batch request exceeds the maximum number of {MAX_BATCH} requests."),
        ));
    }
    let mut ids = BTreeMap::new();
    for r in requests {
        let Some(rid) = r
            .get("id")
            .and_then(Value::as_str)
            .filter(|s| !s.is_empty())
        else {
            return Err(gerr(
                StatusCode::BAD_REQUEST,
                "BadRequest",
                "Every batch request must have a non-empty 'id'.",
            ));
        };
        if ids.insert(rid.to_string(), ()).is_some() {
            return Err(gerr(
                StatusCode::BAD_REQUEST,
                "BadRequest",
                format!("Batch request contains duplicate id '{rid}'."),
            ));
        }
    }
    let key = identity_key(state, headers);
    let mut responses = Vec::with_capacity(requests.len());
    for r in requests {
        let rid = r.get("id").and_then(Value::as_str).unwrap_or_default();
        let method = r.get("method").and_then(Value::as_str).unwrap_or("GET");
        let url = r.get("url").and_then(Value::as_str).unwrap_or_default();
        // Each item counts against the caller's rate limit; over it, the item (not the batch) gets 429.
        if let Err(e) = throttle::check(state, key.as_deref(), Family::Graph) {
            let retry = e
                .headers
                .iter()
                .find(|(n, _)| n == axum::http::header::RETRY_AFTER)
                .map(|(_, v)| v.clone())
                .unwrap_or_else(|| "1".into());
            responses.push(json!({"id": rid, "status": 429, "headers": item_headers(&[("Retry-After".into(), retry)]), "body": e.family(Family::Graph).body()}));
            continue;
        }
        let result = if method.eq_ignore_ascii_case("GET") {
            // Items carry relative URLs; tolerate absolute ones too.
            let url = match url.find("/v1.0/") {
                Some(i) if url.starts_with("http") => &url[i..],
                _ => url,
            };
            let rel = url.strip_prefix("/v1.0").unwrap_or(url);
            let rel = if rel.starts_with('/') {
                rel.to_string()
            } else {
                format!("/{rel}")
            };
            let (path, query) = rel.split_once('?').unwrap_or((&rel, ""));
            answer(state, &id, path, &paging::parse_query(Some(query)))
        } else {
            Err(gerr(
                StatusCode::METHOD_NOT_ALLOWED,
                "Request_BadRequest",
                format!("Method '{method}' is not supported in this emulator's batch."),
            ))
        };
        responses.push(match result {
            Ok(body) => json!({"id": rid, "status": 200, "headers": item_headers(&[]), "body": body}),
            Err(e) => json!({"id": rid, "status": e.status.as_u16(), "headers": item_headers(&[]), "body": e.family(Family::Graph).body()}),
        });
    }
    Ok(json!({"responses": responses}))
}
