//! `/auth/login`, `/auth/callback` and `/auth/logout`.

use crate::roles::Grants;
use crate::web::{self, LOGIN, SESSION};
use crate::{Console, pages};
use axum::body::Bytes;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;
use std::sync::Arc;

type St = State<Arc<Console>>;

/// Only a path of this console may be returned to after sign-in (never another site).
fn safe_return(path: Option<&str>) -> String {
    match path {
        Some(p) if p.starts_with('/') && !p.starts_with("//") && !p.contains('\\') => p.to_string(),
        _ => "/".to_string(),
    }
}

/// Why a sign-in cannot start or finish when the session store fails (the log says more).
const SESSIONS_DOWN: &str = "the console's session store cannot be reached; try again in a moment (the server log says why)";

fn redirect_uri(c: &Console) -> String {
    format!("{}/auth/callback", c.public)
}

#[derive(Debug, Deserialize)]
pub(crate) struct LoginQuery {
    return_to: Option<String>,
}

/// Starts a sign-in: remembers it, binds it to this browser, sends the browser to Entra.
pub(crate) async fn login(State(c): St, Query(q): Query<LoginQuery>) -> Response {
    let started = match c.provider.start(&redirect_uri(&c)).await {
        Ok(s) => s,
        Err(e) => {
            tracing::error!(error = %e, "console sign-in cannot start");
            return pages::problem(
                &c,
                None,
                StatusCode::SERVICE_UNAVAILABLE,
                "Sign-in is unavailable",
                &e.to_string(),
            );
        }
    };
    let Ok(browser) = c.sessions.begin(
        &started.state,
        started.nonce,
        started.verifier,
        safe_return(q.return_to.as_deref()),
        c.serve.now_ms(),
    ) else {
        return pages::problem(
            &c,
            None,
            StatusCode::SERVICE_UNAVAILABLE,
            "Sign-in is unavailable",
            SESSIONS_DOWN,
        );
    };
    (
        StatusCode::FOUND,
        [
            (header::LOCATION, started.url.to_string()),
            (
                header::SET_COOKIE,
                web::set_cookie(&c, LOGIN, &browser, 600),
            ),
        ],
    )
        .into_response()
}

#[derive(Debug, Deserialize)]
pub(crate) struct CallbackQuery {
    code: Option<String>,
    state: Option<String>,
    error: Option<String>,
    error_description: Option<String>,
}

/// Finishes a sign-in: the pending sign-in of this state and browser, the code redeemed, the ID
/// token verified, the roles granted, the session opened.
pub(crate) async fn callback(
    State(c): St,
    headers: HeaderMap,
    Query(q): Query<CallbackQuery>,
) -> Response {
    let refuse = |status, msg: &str| pages::problem(&c, None, status, "Sign-in failed", msg);
    if let Some(e) = &q.error {
        let desc = q.error_description.as_deref().unwrap_or("");
        // Entra's descriptions start with the AADSTS code; show the first line only.
        let desc = desc.lines().next().unwrap_or("");
        return refuse(
            StatusCode::UNAUTHORIZED,
            &format!("Microsoft Entra said {e}: {desc}"),
        );
    }
    let (Some(code), Some(state)) = (&q.code, &q.state) else {
        return refuse(
            StatusCode::BAD_REQUEST,
            "the callback carries no code and state",
        );
    };
    let browser = web::cookie(&c, &headers, LOGIN);
    let Some(pending) = c
        .sessions
        .take_pending(state, browser.as_deref(), c.serve.now_ms())
    else {
        return refuse(
            StatusCode::BAD_REQUEST,
            "this sign-in was not started in this browser, took longer than ten minutes, or was already finished; sign in again",
        );
    };
    let who = match c
        .provider
        .finish(code, &redirect_uri(&c), &pending.verifier, &pending.nonce)
        .await
    {
        Ok(w) => w,
        Err(e) => {
            tracing::warn!(error = %e, "console sign-in refused");
            return refuse(StatusCode::UNAUTHORIZED, &e.to_string());
        }
    };
    let tenants: Vec<String> = c
        .serve
        .tenants()
        .iter()
        .map(|t| t.id().to_string())
        .collect();
    let grants = Grants::of(&who, &c.config.grants, &tenants);
    if grants.0.is_empty() {
        return refuse(
            StatusCode::FORBIDDEN,
            &format!(
                "{} holds no ppgov console role in any tenant served here; ask an admin to assign an app role (ppgov.Viewer, ...) or a group",
                who.username
            ),
        );
    }
    tracing::info!(user = %who.username, roles = ?grants.0, "console sign-in");
    let ttl_ms = i64::from(c.config.session_minutes) * 60_000;
    let Ok(id) = c.sessions.open(who, grants, c.serve.now_ms() + ttl_ms) else {
        return refuse(StatusCode::SERVICE_UNAVAILABLE, SESSIONS_DOWN);
    };
    let mut resp = Redirect::to(&pending.return_to).into_response();
    let h = resp.headers_mut();
    for v in [
        web::set_cookie(&c, SESSION, &id, ttl_ms / 1000),
        web::set_cookie(&c, LOGIN, "", 0),
    ] {
        if let Ok(v) = v.parse() {
            h.append(header::SET_COOKIE, v);
        }
    }
    resp
}

/// Ends the session (a form post with its token, so another site cannot sign people out).
pub(crate) async fn logout(State(c): St, headers: HeaderMap, body: Bytes) -> Response {
    let s = match web::signed(&c, &headers, "/", false) {
        Ok(s) => s,
        Err(r) => return r.into_response(),
    };
    if let Err(r) = web::check_form(&c, &s, &headers, &web::parse_form(&body)) {
        return r.into_response();
    }
    if c.sessions.close(&s.id).is_err() {
        return pages::problem(
            &c,
            Some(&s),
            StatusCode::SERVICE_UNAVAILABLE,
            "Sign-out did not finish",
            "the console's session store cannot be reached, so your session may still be open; reload the page and sign out again",
        );
    }
    (
        StatusCode::SEE_OTHER,
        [
            (header::LOCATION, "/?signed_out=1".to_string()),
            (header::SET_COOKIE, web::set_cookie(&c, SESSION, "", 0)),
        ],
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    use super::safe_return;

    #[test]
    fn only_local_paths_are_returned_to() {
        assert_eq!(safe_return(Some("/t/x/findings?a=1")), "/t/x/findings?a=1");
        for bad in [
            "https://evil.example",
            "//evil.example/x",
            "/\\evil.example",
            "t/x",
        ] {
            assert_eq!(safe_return(Some(bad)), "/", "{bad}");
        }
        assert_eq!(safe_return(None), "/");
    }
}
