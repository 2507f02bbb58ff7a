//! Entra's wire details shared by every grant: token and device-code URLs, the HTTP adapter the
//! `oauth2` crate calls, and turning an Entra error body into [`AuthError`] without secrets.

use crate::source::AuthError;
use serde::Deserialize;
use std::sync::{Arc, Mutex};
use url::Url;

/// `{login}/{tenant}/oauth2/v2.0/token`.
pub fn token_url(login: &Url, tenant: &str) -> String {
    format!(
        "{}/{tenant}/oauth2/v2.0/token",
        login.as_str().trim_end_matches('/')
    )
}

/// `{login}/{tenant}/oauth2/v2.0/devicecode`.
pub fn devicecode_url(login: &Url, tenant: &str) -> String {
    format!(
        "{}/{tenant}/oauth2/v2.0/devicecode",
        login.as_str().trim_end_matches('/')
    )
}

/// An Entra error body (`error`, `error_description`, `error_codes`).
#[derive(Debug, Deserialize)]
pub(crate) struct EntraErrorBody {
    pub error: String,
    #[serde(default)]
    pub error_description: Option<String>,
    #[serde(default)]
    pub error_codes: Vec<u64>,
}

impl EntraErrorBody {
    /// Into `AuthError::Refused`: first line of the description only (the rest is trace ids).
    pub fn into_error(self, status: u16) -> AuthError {
        let description = self
            .error_description
            .as_deref()
            .unwrap_or("")
            .lines()
            .next()
            .unwrap_or("")
            .trim()
            .to_string();
        let aadsts = self
            .error_codes
            .first()
            .copied()
            .or_else(|| aadsts_in(&description));
        AuthError::Refused {
            error: self.error,
            aadsts,
            description,
            status,
        }
    }
}

/// `AADSTS7000215: ...` -> 7000215.
fn aadsts_in(s: &str) -> Option<u64> {
    let rest = &s[s.find("AADSTS")? + 6..];
    let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
    digits.parse().ok()
}

/// The error for a token or device-code endpoint that answered with a redirect: never followed,
/// because a 307 or 308 would re-send the secret, assertion or password to wherever it points.
pub(crate) fn redirect_error(url: &str, status: u16, location: Option<&str>) -> AuthError {
    let to = location
        .map(|l| {
            // Only scheme, host and path: the query may carry anything.
            let cut = l.split(['?', '#']).next().unwrap_or("");
            format!(" to {cut}")
        })
        .unwrap_or_default();
    AuthError::Transport {
        url: url.to_string(),
        message: format!(
            "answered HTTP {status} redirect{to}; token requests never follow redirects (the \
             credential would be sent again to wherever it points): check endpoints.login and \
             any proxy in between"
        ),
    }
}

/// The HTTP client for token requests: redirects are never followed (see [`redirect_error`]),
/// and a black-holed endpoint cannot hang a run.
pub(crate) fn http_client() -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(std::time::Duration::from_secs(60))
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap_or_default()
}

/// Reads a non-2xx token-endpoint answer.
pub(crate) fn error_from(url: &str, status: u16, body: &[u8]) -> AuthError {
    if (300..400).contains(&status) {
        return redirect_error(url, status, None);
    }
    match serde_json::from_slice::<EntraErrorBody>(body) {
        Ok(e) => e.into_error(status),
        Err(_) => AuthError::Transport {
            url: url.to_string(),
            message: format!("HTTP {status} without an OAuth error body"),
        },
    }
}

/// The last non-success answer the adapter saw (status, body, `Location`), so a refusal keeps
/// Entra's `error_codes` and status (the `oauth2` crate's standard error type drops both).
pub(crate) type LastError = Arc<Mutex<Option<(u16, Vec<u8>, Option<String>)>>>;

/// Sends an `oauth2` request through our reqwest client.
pub(crate) async fn send(
    client: reqwest::Client,
    last: LastError,
    req: oauth2::HttpRequest,
) -> Result<oauth2::HttpResponse, reqwest::Error> {
    let (parts, body) = req.into_parts();
    let resp = client
        .request(parts.method, parts.uri.to_string())
        .headers(parts.headers)
        .body(body)
        .send()
        .await?;
    let status = resp.status();
    let headers = resp.headers().clone();
    let bytes = resp.bytes().await?.to_vec();
    if !status.is_success()
        && let Ok(mut g) = last.lock()
    {
        let location = headers
            .get(reqwest::header::LOCATION)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        *g = Some((status.as_u16(), bytes.clone(), location));
    }
    let mut out = oauth2::http::Response::new(bytes);
    *out.status_mut() = status;
    *out.headers_mut() = headers;
    Ok(out)
}

/// Maps an `oauth2` request error, preferring the raw Entra body captured by [`send`].
pub(crate) fn map_oauth_error<
    RE: std::error::Error + 'static,
    T: oauth2::ErrorResponse + 'static,
>(
    url: &str,
    last: &LastError,
    err: oauth2::RequestTokenError<RE, T>,
) -> AuthError {
    let captured = last.lock().ok().and_then(|mut g| g.take());
    match (err, captured) {
        (oauth2::RequestTokenError::Request(e), _) => AuthError::Transport {
            url: url.to_string(),
            message: format!("cannot reach the token endpoint: {}", error_chain(&e)),
        },
        (_, Some((status, _, location))) if (300..400).contains(&status) => {
            redirect_error(url, status, location.as_deref())
        }
        (_, Some((status, body, _))) => error_from(url, status, &body),
        (oauth2::RequestTokenError::Parse(e, _), None) => AuthError::Transport {
            url: url.to_string(),
            message: format!("unreadable token response: {e}"),
        },
        (other, None) => AuthError::Transport {
            url: url.to_string(),
            message: format!("token request failed: {other}"),
        },
    }
}

/// The error with its sources, so "connection refused" is not hidden behind "error sending request".
pub(crate) fn error_chain(e: &(dyn std::error::Error + 'static)) -> String {
    let mut s = e.to_string();
    let mut cur = e.source();
    while let Some(c) = cur {
        s.push_str(": ");
        s.push_str(&c.to_string());
        cur = c.source();
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_entra_errors() {
        let body = br#"{"error":"invalid_client","error_description":"AADSTS7000215: Invalid client secret provided.\r\nTrace ID: x\r\nCorrelation ID: y","error_codes":[7000215]}"#;
        let e = error_from("u", 401, body);
        match e {
            AuthError::Refused {
                error,
                aadsts,
                description,
                status,
            } => {
                assert_eq!(
                    (error.as_str(), aadsts, status),
                    ("invalid_client", Some(7000215), 401)
                );
                assert_eq!(
                    description,
                    "AADSTS7000215: Invalid client secret provided."
                );
            }
            other => panic!("{other:?}"),
        }
        let e = error_from(
            "u",
            400,
            br#"{"error":"invalid_grant","error_description":"AADSTS50126: bad"}"#,
        );
        assert!(matches!(
            e,
            AuthError::Refused {
                aadsts: Some(50126),
                ..
            }
        ));
        assert!(matches!(
            error_from("u", 502, b"<html>"),
            AuthError::Transport { .. }
        ));
    }

    #[test]
    fn urls() {
        let u = Url::parse("http://127.0.0.1:9/").unwrap();
        assert_eq!(token_url(&u, "t"), "http://127.0.0.1:9/t/oauth2/v2.0/token");
        assert_eq!(
            devicecode_url(&u, "t"),
            "http://127.0.0.1:9/t/oauth2/v2.0/devicecode"
        );
    }
}
