//! The HTTP endpoints: `/healthz`, `/readyz`, `/metrics`, and the JSON API under `/api/v1`
//! (bearer tokens; its OpenAPI document at `/api/v1/openapi.json`).

use crate::server::{Shared, with_queue};
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use ppgov_store::{JobFilter, JobKey, JobState};
use serde::Deserialize;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use std::sync::Arc;
use std::sync::atomic::Ordering;

/// The OpenAPI document of `/api/v1`.
pub const OPENAPI: &str = include_str!("openapi.json");

type St = State<Arc<Shared>>;

pub(crate) fn router(shared: Arc<Shared>) -> Router {
    Router::new()
        .route("/healthz", get(|| async { "ok\n" }))
        .route("/readyz", get(readyz))
        .route("/metrics", get(metrics))
        .route("/api/v1/openapi.json", get(openapi))
        .route("/api/v1/tenants", get(tenants))
        .route("/api/v1/jobs", get(list_jobs).post(trigger))
        .route("/api/v1/scans", get(scans))
        .route("/api/v1/findings", get(findings))
        .route("/api/v1/alerts", get(alerts))
        .route("/api/v1/inventory", get(inventory))
        .route("/api/v1/journal", get(journal))
        .with_state(shared)
}

/// An error answer: a status and a JSON `{"error": ...}` body saying what to do.
pub(crate) struct Problem {
    status: StatusCode,
    message: String,
}

impl IntoResponse for Problem {
    fn into_response(self) -> Response {
        (self.status, Json(json!({"error": self.message}))).into_response()
    }
}

fn problem(status: StatusCode, message: impl Into<String>) -> Problem {
    Problem {
        status,
        message: message.into(),
    }
}

type Answer = Result<Response, Problem>;

async fn readyz(State(s): St) -> Answer {
    if !s.ready.load(Ordering::SeqCst) {
        return Err(problem(
            StatusCode::SERVICE_UNAVAILABLE,
            "the scheduler has not started",
        ));
    }
    let reachable = with_queue(&s.queue, |q| {
        q.list_jobs(&JobFilter {
            limit: Some(1),
            ..JobFilter::default()
        })
    });
    match reachable {
        Ok(_) => Ok((StatusCode::OK, "ready\n").into_response()),
        Err(e) => Err(problem(
            StatusCode::SERVICE_UNAVAILABLE,
            format!("the job queue cannot be read: {e}"),
        )),
    }
}

async fn metrics(State(s): St) -> Response {
    (
        [(
            header::CONTENT_TYPE,
            "application/openmetrics-text; version=1.0.0; charset=utf-8",
        )],
        s.metrics.encode(),
    )
        .into_response()
}

async fn openapi() -> Response {
    ([(header::CONTENT_TYPE, "application/json")], OPENAPI).into_response()
}

/// Compares digests, so the time taken does not depend on how much of a token matched.
fn authorised(s: &Shared, headers: &HeaderMap) -> Result<(), Problem> {
    if s.api_tokens.is_empty() {
        return Err(problem(
            StatusCode::UNAUTHORIZED,
            "the API has no tokens configured; put tokens in the variable named by [serve] api_tokens_env",
        ));
    }
    let given = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::trim);
    let Some(given) = given else {
        return Err(problem(
            StatusCode::UNAUTHORIZED,
            "send `Authorization: Bearer <token>`",
        ));
    };
    let want = Sha256::digest(given.as_bytes());
    let ok = s
        .api_tokens
        .iter()
        .fold(false, |ok, t| ok | (Sha256::digest(t.as_bytes()) == want));
    if ok {
        Ok(())
    } else {
        Err(problem(StatusCode::UNAUTHORIZED, "unknown token"))
    }
}

async fn tenants(State(s): St, headers: HeaderMap) -> Answer {
    authorised(&s, &headers)?;
    let list: Vec<Value> = s
        .tenants
        .iter()
        .map(|t| json!({"id": t.id(), "name": t.config.tenant.name}))
        .collect();
    Ok(Json(json!({ "tenants": list })).into_response())
}

#[derive(Debug, Deserialize)]
struct JobsQuery {
    tenant: Option<String>,
    kind: Option<String>,
    state: Option<String>,
    limit: Option<usize>,
}

async fn list_jobs(State(s): St, headers: HeaderMap, Query(q): Query<JobsQuery>) -> Answer {
    authorised(&s, &headers)?;
    let state = match q.state.as_deref().map(|x| (x, JobState::parse(x))) {
        None => None,
        Some((_, Some(st))) => Some(st),
        Some((x, None)) => {
            return Err(problem(
                StatusCode::BAD_REQUEST,
                format!("state `{x}`: use queued, running, done, failed or cancelled"),
            ));
        }
    };
    let filter = JobFilter {
        tenant: q.tenant,
        kind: q.kind,
        state,
        limit: Some(q.limit.unwrap_or(100).min(1000)),
    };
    let jobs = with_queue(&s.queue, |q| q.list_jobs(&filter))
        .map_err(|e| problem(StatusCode::SERVICE_UNAVAILABLE, e))?;
    Ok(Json(json!({ "jobs": jobs })).into_response())
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Trigger {
    tenant: String,
    kind: String,
}

async fn trigger(State(s): St, headers: HeaderMap, body: axum::body::Bytes) -> Answer {
    authorised(&s, &headers)?;
    let t: Trigger = serde_json::from_slice(&body).map_err(|e| {
        problem(
            StatusCode::BAD_REQUEST,
            format!("the body must be {{\"tenant\": \"...\", \"kind\": \"...\"}}: {e}"),
        )
    })?;
    if s.tenant(&t.tenant).is_none() {
        return Err(problem(
            StatusCode::NOT_FOUND,
            format!("tenant `{}` is not served here", t.tenant),
        ));
    }
    if !crate::jobs::KINDS.contains(&t.kind.as_str()) {
        return Err(problem(
            StatusCode::BAD_REQUEST,
            format!(
                "kind `{}`: use one of {}",
                t.kind,
                crate::jobs::KINDS.join(", ")
            ),
        ));
    }
    let key = JobKey {
        tenant: t.tenant,
        kind: t.kind,
        scheduled_for_ms: s.clock.now_ms(),
    };
    match s.enqueue(&key) {
        Ok(Some(id)) => {
            Ok((StatusCode::ACCEPTED, Json(json!({"id": id, "key": key}))).into_response())
        }
        Ok(None) => Err(problem(StatusCode::CONFLICT, "that run is already queued")),
        Err(e) => Err(problem(StatusCode::SERVICE_UNAVAILABLE, e)),
    }
}

#[derive(Debug, Deserialize)]
struct TenantQuery {
    tenant: Option<String>,
}

/// The tenant a read names, or the only one served.
fn pick<'a>(s: &'a Shared, q: &TenantQuery) -> Result<&'a Arc<crate::tenant::Tenant>, Problem> {
    match &q.tenant {
        Some(id) => s.tenant(id).ok_or_else(|| {
            problem(
                StatusCode::NOT_FOUND,
                format!("tenant `{id}` is not served here"),
            )
        }),
        None if s.tenants.len() == 1 => Ok(&s.tenants[0]),
        None => Err(problem(
            StatusCode::BAD_REQUEST,
            "several tenants are served: add ?tenant=ID",
        )),
    }
}

fn unavailable(e: ppgov_store::StoreError) -> Problem {
    problem(StatusCode::SERVICE_UNAVAILABLE, e.to_string())
}

/// The tenant a read names, with its snapshots.
fn tenant_snapshots(
    s: &Shared,
    headers: &HeaderMap,
    q: &TenantQuery,
) -> Result<(Arc<crate::tenant::Tenant>, Box<dyn ppgov_store::Snapshots>), Problem> {
    authorised(s, headers)?;
    let t = pick(s, q)?.clone();
    let store = t
        .snapshots()
        .map_err(|e| problem(StatusCode::SERVICE_UNAVAILABLE, e))?;
    Ok((t, store))
}

/// The tenant a read names, with its governance records.
fn tenant_records(
    s: &Shared,
    headers: &HeaderMap,
    q: &TenantQuery,
) -> Result<(Arc<crate::tenant::Tenant>, Box<dyn ppgov_store::Records>), Problem> {
    authorised(s, headers)?;
    let t = pick(s, q)?.clone();
    let records = t
        .records()
        .map_err(|e| problem(StatusCode::SERVICE_UNAVAILABLE, e))?;
    Ok((t, records))
}

async fn scans(State(s): St, headers: HeaderMap, Query(q): Query<TenantQuery>) -> Answer {
    let (t, store) = tenant_records(&s, &headers, &q)?;
    let list = store.list_scans(t.id()).map_err(unavailable)?;
    Ok(Json(json!({ "scans": list })).into_response())
}

async fn findings(State(s): St, headers: HeaderMap, Query(q): Query<TenantQuery>) -> Answer {
    let (t, store) = tenant_records(&s, &headers, &q)?;
    let report = store
        .previous_scan(t.id(), None)
        .map_err(unavailable)?
        .ok_or_else(|| {
            problem(
                StatusCode::NOT_FOUND,
                "no scan yet: the first crawl job saves one",
            )
        })?;
    Ok(Json(json!({
        "snapshot_id": report.snapshot_id,
        "summary": report.summary,
        "findings": report.findings,
    }))
    .into_response())
}

async fn alerts(State(s): St, headers: HeaderMap, Query(q): Query<TenantQuery>) -> Answer {
    authorised(&s, &headers)?;
    let t = pick(&s, &q)?.clone();
    let store = t
        .events()
        .map_err(|e| problem(StatusCode::SERVICE_UNAVAILABLE, e))?;
    let list = store.alerts(None, None).map_err(unavailable)?;
    Ok(Json(json!({ "alerts": list })).into_response())
}

#[derive(Debug, Deserialize)]
struct InventoryQuery {
    tenant: Option<String>,
    kind: String,
}

/// One kind of resource from the latest complete snapshot.
async fn inventory(State(s): St, headers: HeaderMap, Query(q): Query<InventoryQuery>) -> Answer {
    let (t, store) = tenant_snapshots(&s, &headers, &TenantQuery { tenant: q.tenant })?;
    let info = store
        .latest_snapshot(t.id(), true)
        .map_err(unavailable)?
        .ok_or_else(|| {
            problem(
                StatusCode::NOT_FOUND,
                "no complete snapshot yet: the first crawl job makes one",
            )
        })?;
    let snap = store.load_snapshot(&info.id).map_err(unavailable)?;
    let rows = match q.kind.as_str() {
        "environments" => serde_json::to_value(&snap.environments),
        "apps" => serde_json::to_value(&snap.apps),
        "flows" => serde_json::to_value(&snap.flows),
        "connections" => serde_json::to_value(&snap.connections),
        "dlp_policies" => serde_json::to_value(&snap.dlp_policies),
        "role_assignments" => serde_json::to_value(&snap.role_assignments),
        "principals" => serde_json::to_value(&snap.principals),
        other => {
            return Err(problem(
                StatusCode::BAD_REQUEST,
                format!(
                    "kind `{other}`: use environments, apps, flows, connections, dlp_policies, role_assignments or principals"
                ),
            ));
        }
    }
    .map_err(|e| problem(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()))?;
    Ok(Json(json!({
        "snapshot_id": info.id.0,
        "collection": snap.collection,
        "kind": q.kind,
        "rows": rows,
    }))
    .into_response())
}

/// The remediation journal with its chain verified.
async fn journal(State(s): St, headers: HeaderMap, Query(q): Query<TenantQuery>) -> Answer {
    let (_, store) = tenant_records(&s, &headers, &q)?;
    let entries = store.journal(None).map_err(unavailable)?;
    let chain = store.verify_journal().map_err(unavailable)?;
    Ok(Json(json!({ "chain": chain, "entries": entries })).into_response())
}
