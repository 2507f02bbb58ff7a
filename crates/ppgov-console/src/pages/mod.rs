//! Server-rendered pages (minijinja templates shipped in the binary, HTML auto-escaped).

pub(crate) mod alerts;
pub(crate) mod audit;
pub(crate) mod evidence;
pub(crate) mod findings;
pub(crate) mod inventory;
pub(crate) mod journal;
pub(crate) mod mine;
pub(crate) mod overview;
pub(crate) mod plans;
pub(crate) mod resource;
pub(crate) mod suppress;

use crate::web::{self, Signed};
use crate::{Console, ConsoleError};
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{Html, IntoResponse, Redirect, Response};
use minijinja::{AutoEscape, Environment, Value, context};
use serde::Deserialize;
use std::sync::Arc;

const TEMPLATES: &[(&str, &str)] = &[
    ("base.html", include_str!("../../templates/base.html")),
    ("landing.html", include_str!("../../templates/landing.html")),
    ("error.html", include_str!("../../templates/error.html")),
    (
        "overview.html",
        include_str!("../../templates/overview.html"),
    ),
    (
        "findings.html",
        include_str!("../../templates/findings.html"),
    ),
    ("alerts.html", include_str!("../../templates/alerts.html")),
    (
        "requests.html",
        include_str!("../../templates/requests.html"),
    ),
    ("request.html", include_str!("../../templates/request.html")),
    ("plans.html", include_str!("../../templates/plans.html")),
    ("plan.html", include_str!("../../templates/plan.html")),
    ("journal.html", include_str!("../../templates/journal.html")),
    (
        "inventory.html",
        include_str!("../../templates/inventory.html"),
    ),
    ("flow.html", include_str!("../../templates/flow.html")),
    ("app.html", include_str!("../../templates/app.html")),
    (
        "resource_parts.html",
        include_str!("../../templates/resource_parts.html"),
    ),
    ("mine.html", include_str!("../../templates/mine.html")),
    (
        "suppressions.html",
        include_str!("../../templates/suppressions.html"),
    ),
    ("audit.html", include_str!("../../templates/audit.html")),
    (
        "evidence.html",
        include_str!("../../templates/evidence.html"),
    ),
];

/// The page templates.
pub(crate) struct Pages {
    env: Environment<'static>,
}

impl Pages {
    pub(crate) fn new() -> Result<Pages, ConsoleError> {
        let mut env = Environment::new();
        env.set_auto_escape_callback(|_| AutoEscape::Html);
        env.set_undefined_behavior(minijinja::UndefinedBehavior::Chainable);
        for (name, src) in TEMPLATES {
            env.add_template(name, src)
                .map_err(|e| ConsoleError::Render {
                    page: name.to_string(),
                    message: e.to_string(),
                })?;
        }
        Ok(Pages { env })
    }

    fn render(&self, name: &str, ctx: Value) -> Result<String, ConsoleError> {
        self.env
            .get_template(name)
            .and_then(|t| t.render(ctx))
            .map_err(|e| ConsoleError::Render {
                page: name.to_string(),
                message: e.to_string(),
            })
    }
}

/// What every page's header shows: the user, the tenants they may open, their roles here, and
/// a sign-out form token.
pub(crate) fn frame(c: &Console, s: Option<&Signed>, tenant: Option<&str>) -> Value {
    let Some(s) = s else {
        return context! { user => Value::UNDEFINED };
    };
    let tenants: Vec<Value> = c
        .serve
        .tenants()
        .iter()
        .filter(|t| s.session.grants.0.contains_key(t.id()))
        .map(|t| {
            let name = t
                .config
                .tenant
                .name
                .clone()
                .unwrap_or_else(|| t.id().to_string());
            context! { id => t.id(), name => name }
        })
        .collect();
    let roles: Vec<&str> = tenant
        .map(|t| {
            s.session
                .grants
                .in_tenant(t)
                .into_iter()
                .map(|r| r.as_str())
                .collect()
        })
        .unwrap_or_default();
    context! {
        user => context! { name => s.session.who.name.clone(), username => s.session.who.username.clone() },
        tenants => tenants,
        tenant_id => tenant,
        roles => roles,
        may_read_posture => tenant.is_some_and(|t| s.session.grants.allows(t, crate::roles::Permission::ReadPosture)),
        may_read_journal => tenant.is_some_and(|t| s.session.grants.allows(t, crate::roles::Permission::ReadJournal)),
        may_search_audit => tenant.is_some_and(|t| s.session.grants.allows(t, crate::roles::Permission::SearchAudit)),
        may_download_evidence => tenant.is_some_and(|t| s.session.grants.allows(t, crate::roles::Permission::DownloadEvidence)),
        logout_token => c.sessions.form_token(&s.id),
    }
}

/// Renders a page, or the error page when the template fails (logged; never a stack of
/// internals to the browser).
pub(crate) fn render(c: &Console, status: StatusCode, name: &str, ctx: Value) -> Response {
    match c.pages.render(name, ctx) {
        Ok(html) => (status, Html(html)).into_response(),
        Err(e) => {
            tracing::error!(error = %e, "console page failed");
            (
                StatusCode::INTERNAL_SERVER_ERROR,
                "the page could not be rendered; the server log says why",
            )
                .into_response()
        }
    }
}

/// An error page.
pub(crate) fn problem(
    c: &Console,
    s: Option<&Signed>,
    status: StatusCode,
    heading: &str,
    message: &str,
) -> Response {
    let ctx =
        context! { title => heading, heading => heading, message => message, ..frame(c, s, None) };
    render(c, status, "error.html", ctx)
}

#[derive(Debug, Deserialize)]
pub(crate) struct HomeQuery {
    signed_out: Option<String>,
}

/// `/`: the sign-in page, or the first tenant the user may open.
pub(crate) async fn home(
    State(c): State<Arc<Console>>,
    headers: HeaderMap,
    Query(q): Query<HomeQuery>,
) -> Response {
    match web::signed(&c, &headers, "/", false) {
        Ok(s) => {
            let first = c
                .serve
                .tenants()
                .iter()
                .find(|t| s.session.grants.0.contains_key(t.id()));
            match first {
                Some(t) => Redirect::to(&format!("/t/{}", t.id())).into_response(),
                None => problem(
                    &c,
                    Some(&s),
                    StatusCode::FORBIDDEN,
                    "No tenant",
                    "you hold no role in any tenant served here",
                ),
            }
        }
        Err(_) => {
            let message = q.signed_out.map(|_| "You have signed out.");
            render(
                &c,
                StatusCode::OK,
                "landing.html",
                context! { title => "Sign in", message => message },
            )
        }
    }
}

/// Runs blocking store reads off the async threads.
pub(crate) async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, String> + Send + 'static,
) -> Result<T, String> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| format!("the page's reads stopped: {e}"))?
}

/// A serialisable value as a template value.
pub(crate) fn ser<T: serde::Serialize>(v: T) -> Value {
    Value::from(minijinja::value::Serde(v))
}

#[cfg(test)]
mod template_tests {
    use super::Pages;
    use minijinja::context;

    #[test]
    fn app_and_flow_pages_share_their_parts_and_name_their_kind() {
        let pages = Pages::new().unwrap_or_else(|e| panic!("{e}"));
        for (name, kind) in [("app.html", "app"), ("flow.html", "flow")] {
            let html = pages
                .render(
                    name,
                    context! { scan_snapshot => "s1", findings => Vec::<()>::new() },
                )
                .unwrap_or_else(|e| panic!("{e}"));
            assert!(
                html.contains(&format!("found nothing on this {kind}.")),
                "{name}: {html}"
            );
            assert!(
                html.contains("<h2>Owners</h2>") && html.contains("id=\"dlp-status\""),
                "{name}"
            );
        }
    }
}
