//! The HTTP server: every endpoint family at its real path on one loopback port.
//!
//! # How a family module plugs in
//!
//! Each family lives in its own file (`bap.rs`, `dlp.rs`, `graph.rs`, ...) and exposes
//! `pub fn routes() -> axum::Router<AppState>` with its routes at their REAL paths (paths do not
//! collide across the emulated hosts). [`router`] merges them all and wraps them in the shared
//! middleware, so a family module only writes handlers:
//!
//! * state: `axum::extract::State<AppState>` ([`state::State`]: tenant, env content cache via
//!   `env_content(index)` / `env_content_mut(index, |c| ..)` holding [`store::StoredEnv`]
//!   (documents as compact text: write pages from it with `paging::bap_page_raw`), `base_url`);
//! * auth: `auth::require(&state, &headers, auth::AUD_GRAPH)?` returns the caller's
//!   [`auth::Identity`] or the 401 (pick the envelope with `.map_err(|e| e.family(Family::Graph))`);
//! * errors: return `Result<_, errors::ApiError>`; `ApiError::throttled(Family::Management, s)`
//!   gives the `403 AF429` answer; `errors::JsonBody<T>` parses bodies with the Microsoft 400;
//! * paging: `paging::parse_query`, `paging::page`, `paging::slice`, `paging::odata_page`.
//!
//! Request counting, latency, throttling (per token `oid`), fault injection, 404 and 405 answers
//! are applied here for every API path, never for the Entra token endpoint.

pub mod auditlog;
pub mod auth;
pub mod bap;
pub mod bind;
pub mod common;
mod control;
pub mod custom_apis;
pub mod dataverse;
pub mod dlp;
pub mod errors;
pub mod faults;
pub mod flow;
pub mod gate;
pub mod graph;
pub mod graph_write;
pub mod inventory;
pub mod management;
pub mod paging;
pub mod powerapps;
pub mod ppapi;
pub mod state;
pub mod store;
pub mod throttle;
pub mod writes;

use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use axum::Router;
use axum::extract::{ConnectInfo, Request, State as AxState};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use chrono::{DateTime, Utc};
use serde::Serialize;
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

use crate::tenant::{GroundTruth, Size, Tenant};

use errors::{ApiError, Family};
use faults::{ConnHandle, Fault, FaultyListener};
pub use state::{AppState, Behaviour, ContentFn, State};

/// Errors starting or driving the emulator.
#[derive(Debug, thiserror::Error)]
pub enum EmulatorError {
    /// The listener's address could not be read.
    #[error("could not read the listener address: {0}; bind a TCP listener first")]
    Listener(#[source] std::io::Error),
    /// Serving failed.
    #[error("the emulator server failed: {0}")]
    Serve(#[source] std::io::Error),
    /// A certificate could not be parsed.
    #[error("could not parse the certificate: {0}; pass DER bytes of an X.509 certificate")]
    Certificate(String),
    /// No app registration with that client id.
    #[error("no app registration with client id '{0}'; use one of the tenant's apps")]
    UnknownApp(String),
    /// The generated tenant's ground truth disagrees with what it would serve.
    #[error(
        "the generated tenant's ground truth is wrong ({0}); this is an emulator bug, report it with the seed and size"
    )]
    GroundTruth(String),
}

/// How to run the emulator.
#[derive(Debug, Clone)]
pub struct ServeOptions {
    /// Tenant size.
    pub size: Size,
    /// Scenario seed.
    pub seed: u64,
    /// Latency added to every API answer.
    pub latency: Duration,
    /// Requests per second per identity; `None` = unlimited.
    pub rate_limit: Option<f64>,
    /// Fraction (0..=1) of API calls that fail (half 500/503, half dropped connections).
    pub fault_rate: f64,
    /// Whether the Management Activity API serves audit content.
    pub audit_enabled: bool,
    /// Scenario "now"; `None` = the wall clock.
    pub now: Option<DateTime<Utc>>,
}

impl Default for ServeOptions {
    fn default() -> Self {
        ServeOptions {
            size: Size::Small,
            seed: 1,
            latency: Duration::ZERO,
            rate_limit: None,
            fault_rate: 0.0,
            audit_enabled: true,
            now: None,
        }
    }
}

/// What `ppgov emulator serve` prints once listening (one JSON line, exactly these keys).
#[derive(Clone, Serialize)]
pub struct Ready {
    /// `http://127.0.0.1:PORT`.
    pub url: String,
    /// Tenant id.
    pub tenant_id: String,
    /// Client id of the well-known admin service principal.
    pub client_id: String,
    /// Its secret.
    pub client_secret: String,
    /// UPN of the well-known admin user.
    pub username: String,
    /// Its password.
    pub password: String,
}

impl std::fmt::Debug for Ready {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Ready")
            .field("url", &self.url)
            .field("tenant_id", &self.tenant_id)
            .field("client_id", &self.client_id)
            .field("client_secret", &"<redacted>")
            .field("username", &self.username)
            .field("password", &"<redacted>")
            .finish()
    }
}

/// A running emulator.
pub struct Emulator {
    ready: Ready,
    ground_truth: GroundTruth,
    state: AppState,
    shutdown: Option<oneshot::Sender<()>>,
    task: JoinHandle<Result<(), EmulatorError>>,
}

impl std::fmt::Debug for Emulator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Emulator")
            .field("ready", &self.ready)
            .finish_non_exhaustive()
    }
}

fn base_url_of(listener: &TcpListener) -> Result<String, EmulatorError> {
    let addr = listener.local_addr().map_err(EmulatorError::Listener)?;
    Ok(format!("http://{addr}"))
}

impl Emulator {
    /// Generates the tenant for `opts` (Dataverse URLs point at the listener) and serves it.
    pub async fn start(
        listener: TcpListener,
        opts: ServeOptions,
    ) -> Result<Emulator, EmulatorError> {
        let base_url = base_url_of(&listener)?;
        let cfg = crate::tenant::ScenarioConfig {
            seed: opts.seed,
            size: opts.size,
            base_url: base_url.clone(),
            now: opts.now.unwrap_or_else(Utc::now),
        };
        let (tenant, content) = generate(&cfg);
        let wrong = crate::scenario::check_plan(&tenant);
        if !wrong.is_empty() {
            return Err(EmulatorError::GroundTruth(wrong.join("; ")));
        }
        Emulator::start_with_tenant(listener, tenant, content, opts).await
    }

    /// Serves a given tenant (tests build small ones by hand). `content` builds an environment's
    /// content on demand; `size`, `seed` and `now` of `opts` are ignored.
    pub async fn start_with_tenant(
        listener: TcpListener,
        tenant: Tenant,
        content: ContentFn,
        opts: ServeOptions,
    ) -> Result<Emulator, EmulatorError> {
        let base_url = base_url_of(&listener)?;
        let ready = Ready {
            url: base_url.clone(),
            tenant_id: tenant.tenant_id.clone(),
            client_id: tenant.well_known.client_id.clone(),
            client_secret: tenant.well_known.client_secret.clone(),
            username: tenant.well_known.username.clone(),
            password: tenant.well_known.password.clone(),
        };
        let ground_truth = tenant.ground_truth.clone();
        let behaviour = Behaviour {
            latency: opts.latency,
            rate_limit: opts.rate_limit,
            fault_rate: opts.fault_rate,
        };
        let state: AppState = Arc::new(State::new(
            base_url,
            tenant,
            content,
            behaviour,
            opts.audit_enabled,
        ));
        let (tx, rx) = oneshot::channel::<()>();
        let task = tokio::spawn(serve(listener, state.clone(), async move {
            let _ = rx.await;
        }));
        Ok(Emulator {
            ready,
            ground_truth,
            state,
            shutdown: Some(tx),
            task,
        })
    }

    /// Connection details (URL, tenant, well-known credentials).
    pub fn ready(&self) -> &Ready {
        &self.ready
    }

    /// What was planted in the tenant.
    pub fn ground_truth(&self) -> &GroundTruth {
        &self.ground_truth
    }

    /// Read access to the (possibly mutated) tenant. Do not hold it across `.await`.
    pub fn tenant(&self) -> std::sync::RwLockReadGuard<'_, Tenant> {
        self.state.tenant()
    }

    /// The shared state (token lifetime, behaviour knobs, content cache).
    pub fn state(&self) -> &AppState {
        &self.state
    }

    /// Registers a certificate (DER) on app `client_id`; validity is read from the certificate.
    pub fn register_certificate(&self, client_id: &str, der: &[u8]) -> Result<(), EmulatorError> {
        auth::register_certificate(&self.state, client_id, der)
    }

    /// Sets the lifetime of access tokens issued from now on (negative = already expired).
    pub fn set_token_lifetime(&self, secs: i64) {
        self.state
            .token_lifetime_secs
            .store(secs, Ordering::Relaxed);
    }

    /// From now on, answer every API call but the BAP environment list with 403 Forbidden (on)
    /// or serve normally again (off): a tenant ppgov can list but not read.
    pub fn forbid_all_but_environment_list(&self, on: bool) {
        self.state
            .forbid_all_but_environment_list
            .store(on, Ordering::Relaxed);
    }

    /// API requests served so far (token endpoint excluded).
    pub fn request_count(&self) -> u64 {
        self.state.requests.load(Ordering::Relaxed)
    }

    /// Microsoft Graph requests served so far (part of [`Emulator::request_count`]).
    pub fn graph_request_count(&self) -> u64 {
        self.state.graph_requests.load(Ordering::Relaxed)
    }

    /// Writes the emulator accepted, by `"METHOD /path"`.
    pub fn write_counts(&self) -> std::collections::BTreeMap<String, u64> {
        self.state.writes.counts()
    }

    /// Units charged against the rate limit so far (only counted while a limit is set): each API
    /// request once, and each item of a Graph `$batch` once more.
    pub fn charged_count(&self) -> u64 {
        self.state.charged.load(Ordering::Relaxed)
    }

    /// Stops accepting, lets in-flight requests finish, and waits for the server task.
    pub async fn shutdown(mut self) -> Result<(), EmulatorError> {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        match (&mut self.task).await {
            Ok(r) => r,
            Err(e) => Err(EmulatorError::Serve(std::io::Error::other(e.to_string()))),
        }
    }
}

/// Builds the tenant and its content source from the scenario generator.
fn generate(cfg: &crate::tenant::ScenarioConfig) -> (Tenant, ContentFn) {
    let tenant = crate::scenario::generate(cfg);
    let content: ContentFn = Arc::new(|t: &Tenant, i: usize| t.env_content(i));
    (tenant, content)
}

/// Serves `state` on `listener` until `shutdown` completes (mini-redis style), then drains.
pub async fn serve(
    listener: TcpListener,
    state: AppState,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), EmulatorError> {
    let app = router(state);
    axum::serve(
        FaultyListener(listener),
        app.into_make_service_with_connect_info::<ConnHandle>(),
    )
    .with_graceful_shutdown(shutdown)
    .await
    .map_err(EmulatorError::Serve)
}

/// The full router: Entra, every family, the shared middleware, 404/405 answers.
pub fn router(state: AppState) -> Router {
    let families = Router::new()
        .merge(bap::routes())
        .merge(dlp::routes())
        .merge(powerapps::routes())
        .merge(flow::routes())
        .merge(dataverse::routes())
        .merge(graph::routes())
        .merge(management::routes())
        .merge(auditlog::routes())
        .merge(ppapi::routes())
        .merge(inventory::routes());
    Router::new()
        .route("/{tenant}/oauth2/v2.0/token", post(auth::token_endpoint))
        .route(
            "/{tenant}/oauth2/v2.0/devicecode",
            post(auth::devicecode_endpoint),
        )
        .route(
            "/{tenant}/oauth2/v2.0/authorize",
            get(auth::authorize_get).post(auth::authorize_post),
        )
        .route(
            "/{tenant}/v2.0/.well-known/openid-configuration",
            get(auth::openid_configuration),
        )
        .route("/{tenant}/discovery/v2.0/keys", get(auth::jwks))
        .merge(families)
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            api_layer,
        ))
        .with_state(state)
}

async fn not_found(req: Request) -> Response {
    let path = req.uri().path().to_string();
    ApiError::not_found(
        "NotFound",
        format!("The requested resource '{path}' does not exist."),
    )
    .family(Family::from_path(&path))
    .into_response()
}

async fn method_not_allowed(req: Request) -> Response {
    let path = req.uri().path().to_string();
    ApiError::method_not_allowed(req.method().as_str(), &path)
        .family(Family::from_path(&path))
        .into_response()
}

/// The one path served while [`Emulator::forbid_all_but_environment_list`] is on.
const ENVIRONMENT_LIST_PATH: &str =
    "/providers/Microsoft.BusinessAppPlatform/scopes/admin/environments";

/// Counting, latency, throttling and faults for API calls; the Entra endpoints pass untouched.
async fn api_layer(AxState(state): AxState<AppState>, req: Request, next: Next) -> Response {
    let family = Family::from_path(req.uri().path());
    if family == Family::Entra {
        return next.run(req).await;
    }
    state.count_request();
    if family == Family::Graph {
        state.graph_requests.fetch_add(1, Ordering::Relaxed);
    }
    if state
        .forbid_all_but_environment_list
        .load(Ordering::Relaxed)
        && !req.uri().path().eq_ignore_ascii_case(ENVIRONMENT_LIST_PATH)
    {
        return ApiError::forbidden(format!(
            "The caller does not have permission to access the path '{}'.",
            req.uri().path()
        ))
        .family(family)
        .into_response();
    }
    let behaviour = state.behaviour();
    if !behaviour.latency.is_zero() {
        tokio::time::sleep(behaviour.latency).await;
    }
    let key = auth::identity_key(&state, req.headers());
    // `$batch` charges each item against the caller's limit itself (per-item 429s, as Graph does).
    if req.uri().path() != "/v1.0/$batch"
        && let Err(e) = throttle::check(&state, key.as_deref(), family)
    {
        return e.into_response();
    }
    let writes = writes::is_write(req.method(), req.uri().path());
    if !state.request_gate.pass().await || (writes && !state.write_gate.pass().await) {
        return gate::aborted().family(family).into_response();
    }
    match faults::roll(&state) {
        Fault::None => {
            let (method, path) = (req.method().clone(), req.uri().path().to_string());
            let resp = next.run(req).await;
            if resp.status().is_success() {
                state.writes.record(&method, &path);
            }
            resp
        }
        Fault::Status(s) => faults::fault_error(s).family(family).into_response(),
        Fault::Drop => {
            if let Some(ConnectInfo(conn)) = req.extensions().get::<ConnectInfo<ConnHandle>>() {
                conn.kill();
            }
            // Never reaches the client: the connection fails before the first byte is written.
            faults::fault_error(axum::http::StatusCode::SERVICE_UNAVAILABLE)
                .family(family)
                .into_response()
        }
    }
}
