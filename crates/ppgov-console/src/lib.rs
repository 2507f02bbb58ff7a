//! The ppgov web console, served by `ppgov serve` beside its JSON API.
//!
//! People sign in with Microsoft Entra ([`oidc`]: the authorization code flow with PKCE, the ID
//! token checked against the tenant's keys). Their roles per tenant come from the token's app
//! roles or from configured groups ([`roles`]); every route checks them on the server. Sessions,
//! pending sign-ins and one-time form tokens live in the PostgreSQL database of `[store] url`
//! when there is one, shared by every instance, else in this process ([`session`]). Pages are rendered on the server
//! from the same store reads as the API ([`pages`]), work without JavaScript, and are sent
//! with a strict Content-Security-Policy; the little script and style there is are served from
//! the binary.

mod auth;
mod error;
pub mod oidc;
mod pages;
mod requests;
pub mod roles;
pub mod session;
mod snapshots;
mod web;

pub use error::ConsoleError;

use axum::Router;
use axum::routing::{get, post};
use ppgov_config::ConsoleConfig;
use ppgov_core::Secret;
use ppgov_serve::ServeHandle;
use std::sync::Arc;
use url::Url;

/// What the console needs besides the server: its configuration, the sign-in host and tenant,
/// and the client secret.
#[derive(Debug)]
pub struct ConsoleSetup {
    /// `[console]`.
    pub config: ConsoleConfig,
    /// The Entra authority host (`[endpoints] login` of the sign-in tenant).
    pub login: Url,
    /// The tenant whose Entra signs people in.
    pub sign_in_tenant: String,
    /// The console app's client secret.
    pub client_secret: Secret<String>,
    /// `[store] url` of the served configuration (every tenant of one `ppgov serve` shares
    /// it): sessions are kept in that PostgreSQL database, shared by every instance; without
    /// it, in this process.
    pub store_url: Option<Secret<String>>,
}

/// The console's state, shared by its routes.
pub(crate) struct Console {
    pub(crate) serve: ServeHandle,
    pub(crate) config: ConsoleConfig,
    pub(crate) provider: oidc::Provider,
    pub(crate) sessions: session::Sessions,
    /// The latest complete snapshot of recently viewed tenants.
    pub(crate) snapshots: snapshots::Snapshots,
    pub(crate) pages: pages::Pages,
    /// The address browsers use, without a trailing slash.
    pub(crate) public: String,
    /// Cookies are `Secure` and `__Host-` named.
    pub(crate) secure: bool,
}

/// Makes the console's routes for a running server (pass it as the server's extra routes).
pub fn routes(setup: ConsoleSetup) -> Result<ppgov_serve::ExtraRoutes, ConsoleError> {
    let provider = oidc::Provider::new(
        setup.login,
        &setup.sign_in_tenant,
        &setup.config.client_id,
        setup.client_secret,
    )?;
    let pages = pages::Pages::new()?;
    let sessions = match &setup.store_url {
        None => session::Sessions::default(),
        Some(url) => session::Sessions::in_postgres(url.expose()).map_err(|e| {
            ConsoleError::Sessions(format!(
                "cannot keep the console's sessions in the PostgreSQL database of [store] url: {e}"
            ))
        })?,
    };
    Ok(Box::new(move |serve: ServeHandle| {
        let public = setup
            .config
            .public_url
            .clone()
            .unwrap_or_else(|| format!("http://{}", serve.addr()));
        let public = public.trim_end_matches('/').to_string();
        let secure = public.starts_with("https://");
        let console = Arc::new(Console {
            serve,
            config: setup.config,
            provider,
            sessions,
            snapshots: snapshots::Snapshots::default(),
            pages,
            public,
            secure,
        });
        router(console)
    }))
}

fn router(c: Arc<Console>) -> Router {
    Router::new()
        .route("/", get(pages::home))
        .route("/auth/login", get(auth::login))
        .route("/auth/callback", get(auth::callback))
        .route("/auth/logout", post(auth::logout))
        .route("/console/static/{file}", get(web::asset))
        .route(
            "/favicon.ico",
            get(|| async { axum::http::StatusCode::NO_CONTENT }),
        )
        .route("/t/{tenant}", get(pages::overview::page))
        .route("/t/{tenant}/findings", get(pages::findings::page))
        .route(
            "/t/{tenant}/findings/suppress",
            post(pages::suppress::suppress),
        )
        .route("/t/{tenant}/suppressions", get(pages::suppress::list))
        .route(
            "/t/{tenant}/suppressions/{id}/revoke",
            post(pages::suppress::revoke),
        )
        .route("/t/{tenant}/alerts", get(pages::alerts::page))
        .route("/t/{tenant}/inventory", get(pages::inventory::page))
        .route("/t/{tenant}/mine", get(pages::mine::page))
        .route("/t/{tenant}/flows/{id}", get(pages::resource::flow_page))
        .route("/t/{tenant}/apps/{id}", get(pages::resource::app_page))
        .route("/t/{tenant}/jobs", post(pages::overview::run_job))
        .route(
            "/t/{tenant}/requests",
            get(requests::list).post(requests::create),
        )
        .route("/t/{tenant}/requests/{id}", get(requests::show))
        .route(
            "/t/{tenant}/requests/{id}/evaluate",
            post(requests::evaluate),
        )
        .route("/t/{tenant}/requests/{id}/decide", post(requests::decide))
        .route(
            "/t/{tenant}/requests/{id}/approve-plan",
            post(requests::approve_plan),
        )
        .route("/t/{tenant}/requests/{id}/apply", post(requests::apply))
        .route(
            "/t/{tenant}/plans",
            get(pages::plans::list).post(pages::plans::submit),
        )
        .route("/t/{tenant}/plans/{digest}", get(pages::plans::show))
        .route(
            "/t/{tenant}/plans/{digest}/approve",
            post(pages::plans::approve),
        )
        .route(
            "/t/{tenant}/plans/{digest}/apply",
            post(pages::plans::apply),
        )
        .route("/t/{tenant}/journal", get(pages::journal::page))
        .route("/t/{tenant}/audit", get(pages::audit::page))
        .route("/t/{tenant}/audit/export", get(pages::audit::export))
        .route("/t/{tenant}/evidence", get(pages::evidence::page))
        .route("/t/{tenant}/evidence.zip", get(pages::evidence::download))
        .layer(axum::middleware::from_fn(web::security_headers))
        .with_state(c)
}

impl ConsoleSetup {
    /// The console of a served configuration: `None` without a `[console]` section. The
    /// sign-in tenant is `[console] tenant` (one of those served, or any tenant signed in
    /// through the first one's login host) or the first tenant; the client secret is read
    /// from the variable `[console] client_secret_env` names. Sessions go to the first
    /// tenant's `[store] url` (file-wide: every tenant's).
    pub fn from_configs(
        configs: &[ppgov_config::Config],
        env: &dyn Fn(&str) -> Option<String>,
    ) -> Result<Option<ConsoleSetup>, ConsoleError> {
        let Some(first) = configs.first() else {
            return Ok(None);
        };
        let Some(config) = first.console.clone() else {
            return Ok(None);
        };
        let tenant = config
            .tenant
            .clone()
            .unwrap_or_else(|| first.tenant.id.clone());
        let home = configs
            .iter()
            .find(|c| c.tenant.id.eq_ignore_ascii_case(&tenant))
            .unwrap_or(first);
        let secret = env(&config.client_secret_env)
            .filter(|s| !s.is_empty())
            .ok_or_else(|| {
                ConsoleError::SignInSetup(format!(
                    "the console app's client secret is not set; hint: put it in the variable {} (see [console] client_secret_env)",
                    config.client_secret_env
                ))
            })?;
        Ok(Some(ConsoleSetup {
            login: home.endpoints().login.clone(),
            sign_in_tenant: tenant,
            client_secret: Secret::new(secret),
            store_url: first.store.url.clone().map(Secret::new),
            config,
        }))
    }
}
