//! The one error type of every client call, and parsing of Microsoft's error envelopes.

use ppgov_auth::AuthError;
use ppgov_model::common::AnyError;

/// Everything a client call can fail with. Messages say what to do next.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// The service answered with an error status.
    #[error("{method} {url}: http {status}{}: {message} (request id {request_id}){}", code_suffix(.code), status_hint(*.status))]
    Http {
        /// HTTP method.
        method: String,
        /// URL without query string.
        url: String,
        /// HTTP status.
        status: u16,
        /// Error code from the envelope (`OperationNotStartable`, `AF20022`, `0x80072322`, ...).
        code: Option<String>,
        /// Error message from the envelope (or the start of the body).
        message: String,
        /// Our `x-ms-client-request-id`, for a support ticket.
        request_id: String,
    },
    /// BAP 403 "does not have permission to access the path": the service principal is not
    /// registered as a Power Platform management application.
    #[error(
        "{method} {url}: http 403: the service principal is not registered as a Power Platform management application; \
         hint: register it once as a Power Platform admin with \
         `PUT {registration_base}/providers/Microsoft.BusinessAppPlatform/adminApplications/<client-id>?api-version=2020-10-01` \
         (no body), or sign in as a user"
    )]
    NotManagementApp {
        /// HTTP method.
        method: String,
        /// URL without query string.
        url: String,
        /// Scheme and host of the BAP endpoint that refused.
        registration_base: String,
    },
    /// The service kept throttling until the retry budget ran out.
    #[error(
        "{url}: still throttled after {attempts} attempts and {waited_ms} ms of waiting; hint: lower --concurrency or retry later"
    )]
    Throttled {
        /// URL without query string.
        url: String,
        /// Attempts made.
        attempts: u32,
        /// Total time spent waiting on this call.
        waited_ms: u64,
    },
    /// The request never got an HTTP answer (DNS, connect, TLS, timeout, reset).
    #[error(
        "{method} {url}: {message} after {attempts} attempt(s); hint: check network access to the host and the configured endpoints"
    )]
    Transport {
        /// HTTP method.
        method: String,
        /// URL without query string.
        url: String,
        /// What went wrong.
        message: String,
        /// Attempts made.
        attempts: u32,
    },
    /// Sign-in could not be set up from the configuration (credential, certificate, cache).
    #[error("cannot set up sign-in: {0}")]
    SignIn(#[source] AuthError),
    /// A token could not be obtained.
    #[error("token for {scope}: {source}")]
    Auth {
        /// Scope requested.
        scope: String,
        /// Why.
        #[source]
        source: AuthError,
    },
    /// The body did not have the expected shape.
    #[error(
        "{url}: unexpected response shape at `{path}`: {message}; hint: the API may have changed, please report it"
    )]
    Decode {
        /// URL without query string.
        url: String,
        /// JSON path of the failing field (`value[3].properties.createdTime`), `.` if unknown.
        path: String,
        /// serde's message.
        message: String,
    },
    /// A long-running operation ended in failure.
    #[error("operation {url} failed with state {state}: {message}")]
    LifecycleFailed {
        /// Operation URL without query string.
        url: String,
        /// Final state reported.
        state: String,
        /// Error detail, if the service gave one.
        message: String,
    },
    /// A long-running operation or a busy resource did not settle in time.
    #[error(
        "{url}: operation did not finish within {waited_s} s; hint: check its state in the admin center and retry"
    )]
    LifecycleTimeout {
        /// URL without query string.
        url: String,
        /// Seconds waited.
        waited_s: u64,
    },
    /// A paged listing handed back a continuation already followed (the service looped).
    #[error(
        "{url}: the service returned the same next page link twice; stopped to avoid an endless listing"
    )]
    PagingLoop {
        /// URL without query string.
        url: String,
    },
    /// A URL could not be built or a request body serialised.
    #[error("invalid request: {0}")]
    InvalidRequest(String),
    /// A host the configuration does not trust was refused before any request was made (a
    /// Dataverse instance URL outside the cloud's domains).
    #[error(
        "refused to contact {url}: {reason}; nothing was sent to it (no token left this machine)"
    )]
    UntrustedHost {
        /// URL without query string.
        url: String,
        /// Why it is not trusted.
        reason: String,
    },
    /// The answer's body was larger than the configured cap.
    #[error(
        "{url}: response body larger than {limit} bytes, not read; hint: raise the transport's body cap if this page is genuine"
    )]
    BodyTooLarge {
        /// URL without query string.
        url: String,
        /// The cap in bytes.
        limit: u64,
    },
}

fn code_suffix(code: &Option<String>) -> String {
    code.as_ref().map(|c| format!(" {c}")).unwrap_or_default()
}

fn status_hint(status: u16) -> &'static str {
    match status {
        401 => "; hint: the token was refused, check the app registration and tenant",
        403 => "; hint: the identity lacks a role or API permission for this call",
        404 => "; hint: the resource does not exist or is not visible to this identity",
        409 => "; hint: another operation is running on this resource, retry later",
        _ => "",
    }
}

impl ClientError {
    /// HTTP status, when the service answered.
    pub fn status(&self) -> Option<u16> {
        match self {
            ClientError::Http { status, .. } => Some(*status),
            ClientError::NotManagementApp { .. } => Some(403),
            _ => None,
        }
    }

    /// Error code from the envelope, when the service sent one (`UntrustedHost` and
    /// `BodyTooLarge` for the refusals made here).
    pub fn code(&self) -> Option<&str> {
        match self {
            ClientError::Http { code, .. } => code.as_deref(),
            ClientError::UntrustedHost { .. } => Some("UntrustedHost"),
            ClientError::BodyTooLarge { .. } => Some("BodyTooLarge"),
            _ => None,
        }
    }

    /// True for 404.
    pub fn is_not_found(&self) -> bool {
        self.status() == Some(404)
    }
}

/// Code and message parsed from an error body in any of Microsoft's shapes: `{"error":{code,
/// message}}`, bare `{code,message}`, or plain text.
pub(crate) fn parse_error_body(body: &[u8]) -> (Option<String>, String) {
    if let Ok(e) = serde_json::from_slice::<AnyError>(body) {
        let code = e.code().map(str::to_owned);
        let message = e.message().map(str::to_owned);
        if code.is_some() || message.is_some() {
            return (code, message.unwrap_or_default());
        }
    }
    let text = String::from_utf8_lossy(body);
    let text = text.trim();
    let cut: String = text.chars().take(300).collect();
    (None, cut)
}

/// `scheme://host[:port]/path` without query or fragment, safe to log.
pub(crate) fn redact_url(url: &url::Url) -> String {
    let mut u = url.clone();
    u.set_query(None);
    u.set_fragment(None);
    let _ = u.set_password(None);
    let _ = u.set_username("");
    u.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_envelopes() {
        let (c, m) = parse_error_body(br#"{"error":{"code":"AF429","message":"Too many"}}"#);
        assert_eq!(c.as_deref(), Some("AF429"));
        assert_eq!(m, "Too many");
        let (c, m) = parse_error_body(br#"{"code":"PrincipalNotExists","message":"no"}"#);
        assert_eq!(c.as_deref(), Some("PrincipalNotExists"));
        assert_eq!(m, "no");
        let (c, m) = parse_error_body(b"Bad gateway");
        assert_eq!(c, None);
        assert_eq!(m, "Bad gateway");
    }

    #[test]
    fn redacts_query() {
        let u = url::Url::parse("https://x.test/a/b?sig=secret&api-version=1").unwrap();
        assert_eq!(redact_url(&u), "https://x.test/a/b");
    }
}
