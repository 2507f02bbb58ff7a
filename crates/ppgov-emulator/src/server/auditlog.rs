//! Microsoft Graph audit log queries (`AUDIT-LOGS.md` §3, S15): create a query
//! (`POST /v1.0/security/auditLog/queries`), poll it (`GET .../queries/{id}`: `notStarted`, then
//! `running`, then `succeeded`), read its records (`GET .../queries/{id}/records`, paged with
//! `@odata.nextLink`). Records are `auditLogRecord`s whose `auditData` is the raw UAL record, served
//! from the same `Tenant.audit` as the Management Activity API (de-duplicated: a query returns
//! each record once), filtered on `createdDateTime`, record types, operations and UPNs.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex};

use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State as AxState};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Extension, Json, Router};
use chrono::{DateTime, NaiveDateTime, Utc};
use serde_json::{Map, Value, json};

use super::auth::{AUD_GRAPH, require};
use super::errors::{ApiError, Family};
use super::paging;
use super::state::{AppState, lock};

/// Records per page.
pub const PAGE_SIZE: usize = 1000;

#[derive(Debug, Clone)]
struct Query {
    doc: Map<String, Value>,
    start: DateTime<Utc>,
    end: DateTime<Utc>,
    record_types: Vec<String>,
    operations: Vec<String>,
    upns: Vec<String>,
    polls: u32,
    /// Indices into `Tenant.audit` of the matching records in time order, once computed.
    hits: Option<Arc<Vec<usize>>>,
}

#[derive(Debug, Default)]
struct Queries {
    by_id: Mutex<BTreeMap<String, Query>>,
}

/// The audit log query routes.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/v1.0/security/auditLog/queries", post(create).get(list))
        .route("/v1.0/security/auditLog/queries/{id}", get(status))
        .route("/v1.0/security/auditLog/queries/{id}/records", get(records))
        .layer(Extension(Arc::new(Queries::default())))
}

fn bad(message: impl Into<String>) -> ApiError {
    ApiError::new(StatusCode::BAD_REQUEST, "BadRequest", message).family(Family::Graph)
}

fn respond(r: Result<Response, ApiError>) -> Response {
    r.unwrap_or_else(|e| e.family(Family::Graph).into_response())
}

/// Record type numbers to the Graph `auditLogRecordType` names.
fn type_name(rt: i64) -> &'static str {
    match rt {
        8 => "azureActiveDirectory",
        21 => "crm",
        30 => "microsoftFlow",
        45 => "powerAppsApp",
        79 => "powerAppsResource",
        187 => "powerPlatformAdminDlp",
        256 => "powerPlatformAdministratorActivity",
        _ => "unknownFutureValue",
    }
}

fn strings(v: Option<&Value>) -> Vec<String> {
    v.and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(|x| x.as_str().map(str::to_lowercase))
                .collect()
        })
        .unwrap_or_default()
}

fn time(v: Option<&Value>, field: &str) -> Result<DateTime<Utc>, ApiError> {
    let s = v
        .and_then(Value::as_str)
        .ok_or_else(|| bad(format!("The property '{field}' is required.")))?;
    DateTime::parse_from_rfc3339(s)
        .map(|d| d.with_timezone(&Utc))
        .map_err(|_| {
            bad(format!(
                "The value '{s}' of '{field}' is not a valid DateTimeOffset."
            ))
        })
}

fn check(state: &super::state::State, headers: &HeaderMap) -> Result<(), ApiError> {
    let id = require(state, headers, AUD_GRAPH).map_err(|e| e.family(Family::Graph))?;
    if id.is_app
        && !id
            .roles
            .iter()
            .any(|r| r.starts_with("AuditLogsQuery") && r.ends_with(".Read.All"))
    {
        return Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "Authorization_RequestDenied",
            "Insufficient privileges to complete the operation.",
        )
        .family(Family::Graph));
    }
    Ok(())
}

async fn create(
    AxState(state): AxState<AppState>,
    Extension(q): Extension<Arc<Queries>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    respond((|| {
        check(&state, &headers)?;
        let v: Value = super::errors::parse_json(&body).map_err(|e| e.family(Family::Graph))?;
        let start = time(v.get("filterStartDateTime"), "filterStartDateTime")?;
        let end = time(v.get("filterEndDateTime"), "filterEndDateTime")?;
        if start >= end {
            return Err(bad(
                "filterStartDateTime must be earlier than filterEndDateTime.",
            ));
        }
        let id = uuid::Uuid::new_v4().to_string();
        let mut doc = Map::new();
        doc.insert(
            "@odata.context".into(),
            json!(format!(
                "{}/v1.0/$metadata#security/auditLog/queries/$entity",
                state.base_url
            )),
        );
        doc.insert("id".into(), json!(id));
        for k in [
            "displayName",
            "filterStartDateTime",
            "filterEndDateTime",
            "recordTypeFilters",
            "keywordFilter",
            "serviceFilters",
            "operationFilters",
            "userPrincipalNameFilters",
            "ipAddressFilters",
            "objectIdFilters",
            "administrativeUnitIdFilters",
        ] {
            doc.insert(k.into(), v.get(k).cloned().unwrap_or(Value::Null));
        }
        doc.insert("status".into(), json!("notStarted"));
        let query = Query {
            doc: doc.clone(),
            start,
            end,
            record_types: strings(v.get("recordTypeFilters")),
            operations: strings(v.get("operationFilters")),
            upns: strings(v.get("userPrincipalNameFilters")),
            polls: 0,
            hits: None,
        };
        lock(&q.by_id).insert(id, query);
        Ok((StatusCode::CREATED, Json(Value::Object(doc))).into_response())
    })())
}

async fn list(
    AxState(state): AxState<AppState>,
    Extension(q): Extension<Arc<Queries>>,
    headers: HeaderMap,
) -> Response {
    respond((|| {
        check(&state, &headers)?;
        let items: Vec<Value> = lock(&q.by_id)
            .values()
            .map(|x| Value::Object(x.doc.clone()))
            .collect();
        Ok(Json(json!({ "value": items })).into_response())
    })())
}

fn not_found(id: &str) -> ApiError {
    ApiError::new(
        StatusCode::NOT_FOUND,
        "NotFound",
        format!("The audit log query '{id}' was not found."),
    )
    .family(Family::Graph)
}

async fn status(
    AxState(state): AxState<AppState>,
    Extension(q): Extension<Arc<Queries>>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Response {
    respond((|| {
        check(&state, &headers)?;
        let mut all = lock(&q.by_id);
        let query = all.get_mut(&id).ok_or_else(|| not_found(&id))?;
        // A query runs for a while: the first poll sees it running, the next one done.
        query.polls += 1;
        let s = if query.polls < 2 {
            "running"
        } else {
            "succeeded"
        };
        query.doc.insert("status".into(), json!(s));
        Ok(Json(Value::Object(query.doc.clone())).into_response())
    })())
}

fn parse_creation(s: &str) -> Option<DateTime<Utc>> {
    let s = s.trim_end_matches('Z');
    ["%Y-%m-%dT%H:%M:%S%.f", "%Y-%m-%dT%H:%M:%S"]
        .iter()
        .find_map(|f| NaiveDateTime::parse_from_str(s, f).ok())
        .map(|n| n.and_utc())
}

async fn records(
    AxState(state): AxState<AppState>,
    Extension(q): Extension<Arc<Queries>>,
    Path(id): Path<String>,
    RawQuery(raw): RawQuery,
    headers: HeaderMap,
) -> Response {
    respond((|| {
        check(&state, &headers)?;
        let query = lock(&q.by_id)
            .get(&id)
            .cloned()
            .ok_or_else(|| not_found(&id))?;
        if query.doc.get("status") != Some(&json!("succeeded")) {
            return Err(bad(format!(
                "The audit log query '{id}' has not succeeded yet; poll it until its status is succeeded."
            )));
        }
        let params = paging::parse_query(raw.as_deref());
        let skip: usize = paging::param(&params, "$skiptoken")
            .and_then(|s| s.parse().ok())
            .unwrap_or(0);
        let t = state.tenant();
        let hits = match &query.hits {
            Some(h) => h.clone(),
            None => {
                let h = Arc::new(matching(&t.audit, &query));
                if let Some(x) = lock(&q.by_id).get_mut(&id) {
                    x.hits = Some(h.clone());
                }
                h
            }
        };
        let from = skip.min(hits.len());
        let to = (from + PAGE_SIZE).min(hits.len());
        let page: Vec<Value> = hits[from..to]
            .iter()
            .filter_map(|i| t.audit.get(*i))
            .map(|a| record_of(a.record.value()))
            .collect();
        let more = to < hits.len();
        let mut body = json!({
            "@odata.context": format!("{}/v1.0/$metadata#Collection(microsoft.graph.security.auditLogRecord)", state.base_url),
            "value": page,
        });
        if more && let Some(o) = body.as_object_mut() {
            o.insert(
                "@odata.nextLink".into(),
                json!(format!(
                    "{}/v1.0/security/auditLog/queries/{id}/records?$skiptoken={to}",
                    state.base_url
                )),
            );
        }
        Ok(Json(body).into_response())
    })())
}

/// The matching records' indices, de-duplicated on `Id`, in time order.
fn matching(audit: &[crate::tenant::AuditItem], query: &Query) -> Vec<usize> {
    let mut seen = BTreeSet::new();
    let mut matched: Vec<(DateTime<Utc>, usize)> = Vec::new();
    for (i, a) in audit.iter().enumerate() {
        let r = a.record.value();
        let Some(rid) = r.get("Id").and_then(Value::as_str) else {
            continue;
        };
        let Some(at) = r
            .get("CreationTime")
            .and_then(Value::as_str)
            .and_then(parse_creation)
        else {
            continue;
        };
        if at < query.start || at >= query.end {
            continue;
        }
        let rt = r.get("RecordType").and_then(Value::as_i64).unwrap_or(0);
        let op = r
            .get("Operation")
            .and_then(Value::as_str)
            .unwrap_or_default();
        let upn = r.get("UserId").and_then(Value::as_str).unwrap_or_default();
        if (!query.record_types.is_empty()
            && !query.record_types.contains(&type_name(rt).to_lowercase()))
            || (!query.operations.is_empty() && !query.operations.contains(&op.to_lowercase()))
            || (!query.upns.is_empty() && !query.upns.contains(&upn.to_lowercase()))
        {
            continue;
        }
        if seen.insert(rid.to_string()) {
            matched.push((at, i));
        }
    }
    matched.sort();
    matched.into_iter().map(|x| x.1).collect()
}

/// One `auditLogRecord` around a raw UAL record.
fn record_of(r: Value) -> Value {
    let rt = r.get("RecordType").and_then(Value::as_i64).unwrap_or(0);
    let at = r
        .get("CreationTime")
        .and_then(Value::as_str)
        .and_then(parse_creation)
        .unwrap_or_default();
    let user_type = match r.get("UserType").and_then(Value::as_i64) {
        Some(2) => "admin",
        Some(4) => "system",
        Some(5) => "application",
        Some(6) => "servicePrincipal",
        _ => "regular",
    };
    json!({
        "id": r.get("Id"),
        "createdDateTime": at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        "auditLogRecordType": type_name(rt),
        "operation": r.get("Operation"),
        "organizationId": r.get("OrganizationId"),
        "userType": user_type,
        "userId": r.get("UserKey"),
        "userPrincipalName": r.get("UserId"),
        "service": r.get("Workload"),
        "objectId": r.get("ObjectId"),
        "clientIp": r.get("ClientIP"),
        "administrativeUnits": [],
        "auditData": r,
    })
}
