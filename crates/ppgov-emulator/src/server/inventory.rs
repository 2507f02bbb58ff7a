//! The Power Platform inventory API (`INVENTORY-API.md`):
//! `POST /resourcequery/resources/query?api-version=2024-10-01`.
//!
//! The `PowerPlatformResources` table is built on the first query by walking every
//! environment's content, then cached for the life of the server (the real inventory lags
//! writes by up to 15 minutes, so a frozen snapshot is faithful enough).

mod expr;
mod query;
mod rows;

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use axum::body::Bytes;
use axum::extract::{RawQuery, State as AxState};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Extension, Json, Router};
use tokio::sync::OnceCell;

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
    rows: OnceCell<Arc<Vec<Row>>>,
    results: Mutex<VecDeque<(String, Instant, Arc<query::Evaluated>)>>,
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

/// Builds every row of the tenant (environments, canvas apps, cloud flows).
fn build_rows(state: &State) -> Vec<Row> {
    let (specs, tenant_id) = {
        let t = state.tenant();
        (t.environments.clone(), t.tenant_id.clone())
    };
    let mut out = Vec::new();
    for spec in &specs {
        let content = state.env_content(spec.index);
        let guard = super::state::read(&content);
        out.extend(
            rows::rows_for_env(spec, &guard, &tenant_id)
                .into_iter()
                .map(Arc::new),
        );
    }
    out
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
    let rows = table
        .rows
        .get_or_try_init(|| async {
            let st = state.clone();
            tokio::task::spawn_blocking(move || Arc::new(build_rows(&st)))
                .await
                .map_err(|e| {
                    ApiError::new(
                        StatusCode::INTERNAL_SERVER_ERROR,
                        "InternalServerError",
                        format!("inventory build failed: {e}"),
                    )
                })
        })
        .await?
        .clone();
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
