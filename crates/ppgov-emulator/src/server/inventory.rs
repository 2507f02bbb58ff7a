//! The Power Platform inventory API (`INVENTORY-API.md`):
//! `POST /resourcequery/resources/query?api-version=2024-10-01`.
//!
//! The `PowerPlatformResources` table is built on the first query by walking every
//! environment's content and cached; an environment written to since is re-read at the next
//! query, so writes show up there (the real inventory shows them within 15 minutes; a client must
//! cope with either).

mod expr;
mod query;
mod rows;

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use axum::body::Bytes;
use axum::extract::{RawQuery, State as AxState};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Extension, Json, Router};

pub use query::KqlError;
use query::Row;

use super::auth::{AUD_PPAPI, require};
use super::errors::{ApiError, Family};
use super::state::{AppState, State, lock};

/// API versions the service answers.
const VERSIONS: &[&str] = &["2024-10-01", "2022-03-01-preview"];

/// Evaluated queries kept so that paging through a large result does not re-run the clauses
/// for every page.
const RESULT_CACHE: usize = 8;
/// How long an evaluated query is reused (`ago()` moves on; ARG itself is minutes behind).
const RESULT_TTL: std::time::Duration = std::time::Duration::from_secs(300);

/// The cached table and recent results; one per router (so per server).
#[derive(Debug, Default)]
struct Table {
    built: tokio::sync::Mutex<Option<Built>>,
    results: Mutex<VecDeque<(String, Instant, Arc<query::Evaluated>)>>,
}

/// The table as of some writes.
#[derive(Debug, Default)]
struct Built {
    /// Writes per environment when its rows were read.
    writes: HashMap<usize, u64>,
    /// Rows per environment, by index.
    per_env: Vec<Vec<Row>>,
    /// Every row, in environment order.
    all: Arc<Vec<Row>>,
}

impl Table {
    fn cached(&self, key: &str) -> Option<Arc<query::Evaluated>> {
        let mut results = lock(&self.results);
        results.retain(|(_, at, _)| at.elapsed() < RESULT_TTL);
        results
            .iter()
            .find(|(k, _, _)| k == key)
            .map(|(_, _, r)| r.clone())
    }

    fn remember(&self, key: String, result: Arc<query::Evaluated>) {
        let mut results = lock(&self.results);
        results.retain(|(k, _, _)| *k != key);
        results.push_back((key, Instant::now(), result));
        while results.len() > RESULT_CACHE {
            results.pop_front();
        }
    }
}

/// The inventory routes.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/resourcequery/resources/query", post(query_resources))
        .layer(Extension(Arc::new(Table::default())))
}

/// Brings the table up to date: every environment on the first call, afterwards only those
/// written to since (environments, canvas apps, cloud flows). Returns whether anything changed.
fn refresh(state: &State, built: &mut Option<Built>) -> bool {
    let writes = state.env_writes();
    if let Some(b) = built.as_ref()
        && b.writes == writes
        && b.per_env.len() == state.tenant().environments.len()
    {
        return false;
    }
    let (specs, tenant_id) = {
        let t = state.tenant();
        (t.environments.clone(), t.tenant_id.clone())
    };
    let b = built.get_or_insert_with(Built::default);
    let fresh = b.per_env.len() != specs.len();
    if fresh {
        b.per_env = vec![Vec::new(); specs.len()];
    }
    let mut changed = false;
    for spec in &specs {
        let stale = fresh || writes.get(&spec.index) != b.writes.get(&spec.index);
        if !stale {
            continue;
        }
        let content = state.env_content(spec.index);
        let guard = super::state::read(&content);
        if let Some(slot) = b.per_env.get_mut(spec.index) {
            *slot = rows::rows_for_env(spec, &guard, &tenant_id)
                .into_iter()
                .map(Arc::new)
                .collect();
        }
        changed = true;
    }
    if changed {
        b.all = Arc::new(b.per_env.iter().flatten().cloned().collect());
    }
    b.writes = writes;
    changed
}

fn api_version(raw: Option<&str>) -> Result<(), ApiError> {
    let pairs: Vec<(String, String)> =
        serde_urlencoded::from_str(raw.unwrap_or("")).unwrap_or_default();
    let version = pairs
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case("api-version"))
        .map(|(_, v)| v.as_str());
    match version {
        None => Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            "MissingApiVersionParameter",
            "The api-version query parameter (?api-version=) is required for all requests.",
        )),
        Some(v) if VERSIONS.contains(&v) => Ok(()),
        Some(v) => Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            "InvalidApiVersionParameter",
            format!(
                "The api-version '{v}' is invalid. The supported versions are '{}'.",
                VERSIONS.join(",")
            ),
        )),
    }
}

async fn query_resources(
    AxState(state): AxState<AppState>,
    Extension(table): Extension<Arc<Table>>,
    RawQuery(raw): RawQuery,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    match run(state, table, raw, headers, body).await {
        Ok(resp) => resp,
        Err(e) => e.family(Family::Ppapi).into_response(),
    }
}

async fn run(
    state: AppState,
    table: Arc<Table>,
    raw: Option<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    api_version(raw.as_deref())?;
    let id = require(&state, &headers, AUD_PPAPI)?;
    if id.is_app {
        // Delegated users only: service principals are refused (INVENTORY-API §0).
        return Err(ApiError::forbidden(
            "The inventory API does not support application (service principal) tokens. Sign in as a user.",
        ));
    }
    let request = match query::parse_request(&body) {
        Ok(r) => r,
        Err(e) => return Ok(kql_error(&e)),
    };
    let rows = {
        let mut guard = table.built.lock().await;
        let mut built = guard.take();
        let st = state.clone();
        let (built, changed) = tokio::task::spawn_blocking(move || {
            let changed = refresh(&st, &mut built);
            (built, changed)
        })
        .await
        .map_err(|e| {
            ApiError::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                "InternalServerError",
                format!("inventory build failed: {e}"),
            )
        })?;
        if changed {
            // Evaluated results are of the old table.
            lock(&table.results).clear();
        }
        let rows = built.as_ref().map(|b| b.all.clone()).unwrap_or_default();
        *guard = built;
        rows
    };
    let now = state.now();
    let outcome = tokio::task::spawn_blocking(move || {
        let key = serde_json::to_string(&request.clauses).unwrap_or_default();
        let evaluated = match table.cached(&key) {
            Some(hit) => hit,
            None => {
                let fresh = Arc::new(query::evaluate(&rows, &request.clauses, now)?);
                table.remember(key, fresh.clone());
                fresh
            }
        };
        query::page(&evaluated, &request.options)
    })
    .await
    .map_err(|e| {
        ApiError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "InternalServerError",
            format!("query failed: {e}"),
        )
    })?;
    Ok(match outcome {
        Ok(page) => Json(page.body).into_response(),
        Err(e) => kql_error(&e),
    })
}

fn kql_error(e: &KqlError) -> Response {
    (StatusCode::BAD_REQUEST, Json(e.body())).into_response()
}
