//! HTTP details every console route shares: security headers, cookies, the signed-in guard,
//! form checks, static assets.

use crate::Console;
use crate::roles::Permission;
use crate::session::Session;
use axum::extract::{Path, Request};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Redirect, Response};
use std::sync::Arc;

/// The console's Content-Security-Policy: only its own script and style, no framing, forms post
/// only to itself.
pub(crate) const CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; \
    img-src 'self'; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

/// Adds the security headers to every console answer.
pub(crate) async fn security_headers(req: Request, next: Next) -> Response {
    let console = !req.uri().path().starts_with("/api/")
        && !matches!(req.uri().path(), "/healthz" | "/readyz" | "/metrics");
    let mut resp = next.run(req).await;
    if console {
        let h = resp.headers_mut();
        for (k, v) in [
            (header::CONTENT_SECURITY_POLICY, CSP),
            (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
            (header::X_FRAME_OPTIONS, "DENY"),
            // Not `no-referrer`: under it browsers post forms with `Origin: null`, which
            // `check_form` refuses; `same-origin` still sends nothing to other sites.
            (header::REFERRER_POLICY, "same-origin"),
        ] {
            h.insert(k, HeaderValue::from_static(v));
        }
        if !h.contains_key(header::CACHE_CONTROL) {
            h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
        }
    }
    resp
}

pub(crate) const SESSION: &str = "ppgov_session";
pub(crate) const LOGIN: &str = "ppgov_login";

/// The cookie name: `__Host-` prefixed behind TLS (the browser then insists on Secure, Path=/
/// and no Domain).
pub(crate) fn cookie_name(c: &Console, base: &str) -> String {
    if c.secure {
        format!("__Host-{base}")
    } else {
        base.to_string()
    }
}

/// A `Set-Cookie` value; `max_age` 0 deletes.
pub(crate) fn set_cookie(c: &Console, base: &str, value: &str, max_age_s: i64) -> String {
    let secure = if c.secure { "; Secure" } else { "" };
    format!(
        "{}={value}; Path=/; HttpOnly; SameSite=Lax; Max-Age={max_age_s}{secure}",
        cookie_name(c, base)
    )
}

/// A cookie's value from the request.
pub(crate) fn cookie(c: &Console, headers: &HeaderMap, base: &str) -> Option<String> {
    let name = cookie_name(c, base);
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|kv| kv.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.to_string())
}

/// An answer given instead of the page: a redirect to sign-in or a refusal.
pub(crate) struct Refusal(Box<Response>);

impl IntoResponse for Refusal {
    fn into_response(self) -> Response {
        *self.0
    }
}

impl From<Response> for Refusal {
    fn from(r: Response) -> Refusal {
        Refusal(Box::new(r))
    }
}

/// An error page as a refusal.
fn refuse(
    c: &Console,
    s: Option<&Signed>,
    status: StatusCode,
    heading: &str,
    message: &str,
) -> Refusal {
    crate::pages::problem(c, s, status, heading, message).into()
}

/// A signed-in request: the session and its cookie value.
pub(crate) struct Signed {
    pub id: String,
    pub session: Session,
}

/// The session of a request, or the answer to give instead: a page request goes to sign-in
/// (coming back to `path`), anything else is 401.
pub(crate) fn signed(
    c: &Console,
    headers: &HeaderMap,
    path: &str,
    page: bool,
) -> Result<Signed, Refusal> {
    let now = c.serve.now_ms();
    if let Some(id) = cookie(c, headers, SESSION)
        && let Some(session) = c.sessions.get(&id, now)
    {
        return Ok(Signed { id, session });
    }
    if page {
        let back: String = url::form_urlencoded::byte_serialize(path.as_bytes()).collect();
        Err(Redirect::to(&format!("/auth/login?return_to={back}"))
            .into_response()
            .into())
    } else {
        Err(refuse(
            c,
            None,
            StatusCode::UNAUTHORIZED,
            "Sign in first",
            "your session has ended or was never started; sign in again",
        ))
    }
}

/// The signed-in person, when they hold `p` for `tenant` ([`signed`], then [`require`]): the
/// first check of every tenant route.
pub(crate) fn signed_for(
    c: &Console,
    headers: &HeaderMap,
    tenant: &str,
    path: &str,
    page: bool,
    p: Permission,
) -> Result<Signed, Refusal> {
    let s = signed(c, headers, path, page)?;
    require(c, &s, tenant, p)?;
    Ok(s)
}

/// Refuses (403) unless the session holds `p` in `tenant`; 404 when the tenant is not served.
pub(crate) fn require(c: &Console, s: &Signed, tenant: &str, p: Permission) -> Result<(), Refusal> {
    if c.serve.tenant(tenant).is_none() {
        return Err(refuse(
            c,
            Some(s),
            StatusCode::NOT_FOUND,
            "Not found",
            &format!("tenant `{tenant}` is not served here"),
        ));
    }
    if s.session.grants.allows(tenant, p) {
        Ok(())
    } else {
        tracing::warn!(user = %s.session.who.username, tenant, permission = ?p, "console refused");
        Err(refuse(
            c,
            Some(s),
            StatusCode::FORBIDDEN,
            "Not allowed",
            &format!(
                "you may not {} in tenant {tenant}; roles that may: {}",
                p.describe(),
                p.roles()
                    .iter()
                    .map(|r| r.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        ))
    }
}

/// Checks a posted form: it comes from the console's own origin (when the browser says) and
/// carries an unspent token of this session. Forged and replayed forms are refused (403).
pub(crate) fn check_form(
    c: &Console,
    s: &Signed,
    headers: &HeaderMap,
    form: &[(String, String)],
) -> Result<(), Refusal> {
    let origin_ok = headers
        .get(header::ORIGIN)
        .and_then(|v| v.to_str().ok())
        .is_none_or(|o| o == c.public);
    let token = form
        .iter()
        .find(|(k, _)| k == "csrf")
        .map(|(_, v)| v.as_str())
        .unwrap_or("");
    if origin_ok && c.sessions.spend_form_token(&s.id, token) {
        Ok(())
    } else {
        Err(refuse(
            c,
            Some(s),
            StatusCode::FORBIDDEN,
            "Form refused",
            "this form was not issued to your session, or was already sent once; reload the page and try again",
        ))
    }
}

/// Reads a posted `application/x-www-form-urlencoded` body.
pub(crate) fn parse_form(body: &[u8]) -> Vec<(String, String)> {
    url::form_urlencoded::parse(body).into_owned().collect()
}

const CSS: &str = include_str!("../static/console.css");
const JS: &str = include_str!("../static/console.js");

/// `GET /console/static/{file}`.
pub(crate) async fn asset(
    axum::extract::State(_): axum::extract::State<Arc<Console>>,
    Path(file): Path<String>,
) -> Response {
    let (body, kind) = match file.as_str() {
        "console.css" => (CSS, "text/css; charset=utf-8"),
        "console.js" => (JS, "text/javascript; charset=utf-8"),
        _ => return (StatusCode::NOT_FOUND, "no such file").into_response(),
    };
    (
        [
            (header::CONTENT_TYPE, kind),
            (header::CACHE_CONTROL, "public, max-age=3600"),
        ],
        body,
    )
        .into_response()
}
