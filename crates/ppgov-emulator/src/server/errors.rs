//! Error responses in the envelopes the real services use, and a JSON body extractor that turns
//! malformed bodies into the Microsoft-style `400 BadRequest` instead of axum's plain-text rejection.

use axum::body::Bytes;
use axum::extract::{FromRequest, Request};
use axum::http::{HeaderName, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::de::DeserializeOwned;
use serde_json::{Value, json};

/// Which API family a path belongs to: it decides the error envelope and the throttling answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Family {
    /// Entra: token, device-code, authorize, discovery and key endpoints (never throttled, never faulted).
    Entra,
    /// `Microsoft.BusinessAppPlatform`.
    Bap,
    /// `PowerPlatform.Governance`.
    Gov,
    /// `Microsoft.PowerApps`.
    PowerApps,
    /// `Microsoft.ProcessSimple`.
    Flow,
    /// `api.powerplatform.com` (`/usermanagement`, `/resourcequery`, `/environmentmanagement`, ...).
    Ppapi,
    /// Microsoft Graph `/v1.0`.
    Graph,
    /// Office 365 Management Activity API `/api/v1.0/{tenant}/activity/feed`.
    Management,
    /// Dataverse Web API under `/dataverse/{domainName}/api/data/v9.2`.
    Dataverse,
    /// The emulator's own control paths and anything unknown.
    Other,
}

impl Family {
    /// The family serving `path` (paths are unique across the emulated hosts).
    pub fn from_path(path: &str) -> Family {
        if path.starts_with("/providers/Microsoft.BusinessAppPlatform") {
            Family::Bap
        } else if path.starts_with("/providers/PowerPlatform.Governance") {
            Family::Gov
        } else if path.starts_with("/providers/Microsoft.PowerApps") {
            Family::PowerApps
        } else if path.starts_with("/providers/Microsoft.ProcessSimple") {
            Family::Flow
        } else if path.starts_with("/v1.0/") || path == "/v1.0" {
            Family::Graph
        } else if path.starts_with("/api/v1.0/") || path.starts_with("/api/v1/") {
            Family::Management
        } else if path.starts_with("/dataverse/") {
            Family::Dataverse
        } else if path.starts_with("/usermanagement/")
            || path.starts_with("/resourcequery/")
            || path.starts_with("/environmentmanagement/")
            || path.starts_with("/connectivity/")
            || path.starts_with("/powerplatform/")
        {
            Family::Ppapi
        } else if path.contains("/oauth2/")
            || path.contains("/.well-known/openid-configuration")
            || path.contains("/discovery/v2.0/keys")
        {
            Family::Entra
        } else {
            Family::Other
        }
    }
}

/// An error answer: status, `error.code`, `error.message`, extra headers, and the envelope family.
#[derive(Debug, Clone)]
pub struct ApiError {
    /// HTTP status.
    pub status: StatusCode,
    /// `error.code`.
    pub code: String,
    /// `error.message`.
    pub message: String,
    /// Envelope family (Graph adds `innerError`; PPAPI may omit the wrapper but we keep it).
    pub family: Family,
    /// Extra headers (`Retry-After`, `WWW-Authenticate`, ...).
    pub headers: Vec<(HeaderName, String)>,
    /// A complete body that replaces the envelope (boxed: keeps `Result<_, ApiError>` small).
    pub raw_body: Option<Box<Value>>,
}

impl ApiError {
    /// A generic `{"error":{"code","message"}}` error.
    pub fn new(status: StatusCode, code: &str, message: impl Into<String>) -> ApiError {
        ApiError {
            status,
            code: code.to_string(),
            message: message.into(),
            family: Family::Other,
            headers: Vec::new(),
            raw_body: None,
        }
    }

    /// Sets the envelope family.
    pub fn family(mut self, family: Family) -> ApiError {
        self.family = family;
        self
    }

    /// Adds a response header.
    pub fn header(mut self, name: HeaderName, value: impl Into<String>) -> ApiError {
        self.headers.push((name, value.into()));
        self
    }

    /// Replaces the body with `body` verbatim.
    pub fn with_body(mut self, body: Value) -> ApiError {
        self.raw_body = Some(Box::new(body));
        self
    }

    /// 400 `BadRequest`.
    pub fn bad_request(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::BAD_REQUEST, "BadRequest", message)
    }

    /// 404 with the given code.
    pub fn not_found(code: &str, message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::NOT_FOUND, code, message)
    }

    /// 403 `Forbidden`.
    pub fn forbidden(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::FORBIDDEN, "Forbidden", message)
    }

    /// Unknown environment: 404 `EnvironmentAccessDenied` (REFERENCE §4.5).
    pub fn env_not_found(env: &str) -> ApiError {
        ApiError::not_found(
            "EnvironmentAccessDenied",
            format!("Access to the environment '{env}' is denied."),
        )
    }

    /// 405 with a JSON envelope.
    pub fn method_not_allowed(method: &str, path: &str) -> ApiError {
        ApiError::new(
            StatusCode::METHOD_NOT_ALLOWED,
            "MethodNotAllowed",
            format!("The requested resource does not support http method '{method}' at '{path}'."),
        )
    }

    /// 500 / 503 injected fault.
    pub fn fault(status: StatusCode) -> ApiError {
        let code = if status == StatusCode::SERVICE_UNAVAILABLE {
            "ServiceUnavailable"
        } else {
            "InternalServerError"
        };
        ApiError::new(
            status,
            code,
            "The service encountered a transient error. Retry the request.",
        )
    }

    /// The throttling answer of `family`: 429 + `Retry-After` for everything except the
    /// Management Activity API, which answers 403 `AF429` (and also carries `Retry-After`).
    pub fn throttled(family: Family, retry_after_secs: u64) -> ApiError {
        let secs = retry_after_secs.max(1).to_string();
        let err = match family {
            Family::Management => ApiError::new(
                StatusCode::FORBIDDEN,
                "AF429",
                "Too many requests. Method=GetBlob, PublisherId=00000000-0000-0000-0000-000000000000",
            ),
            Family::Dataverse => ApiError::new(
                StatusCode::TOO_MANY_REQUESTS,
                "0x80072322",
                "Number of requests exceeded the limit of 6000 over time window of 300 seconds.",
            ),
            _ => ApiError::new(
                StatusCode::TOO_MANY_REQUESTS,
                "TooManyRequests",
                format!("Rate limit is exceeded. Try again in {secs} seconds."),
            ),
        };
        err.family(family).header(header::RETRY_AFTER, secs)
    }

    /// The JSON body this error answers with.
    pub fn body(&self) -> Value {
        if let Some(raw) = &self.raw_body {
            return raw.as_ref().clone();
        }
        match self.family {
            Family::Graph => json!({"error": {
                "code": self.code, "message": self.message,
                "innerError": {"date": chrono::Utc::now().format("%Y-%m-%dT%H:%M:%S").to_string(),
                               "request-id": uuid::Uuid::new_v4().to_string(),
                               "client-request-id": uuid::Uuid::new_v4().to_string()}}}),
            _ => json!({"error": {"code": self.code, "message": self.message}}),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = self.body();
        let mut resp = (self.status, axum::Json(body)).into_response();
        for (name, value) in &self.headers {
            if let Ok(v) = HeaderValue::from_str(value) {
                resp.headers_mut().append(name.clone(), v);
            }
        }
        resp
    }
}

/// Parses a JSON body, answering `400 BadRequest` in the Microsoft envelope when it is malformed.
/// An empty body parses as `null` so optional bodies (`Option<T>`, `Value`) work.
pub fn parse_json<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    let text: &[u8] = if bytes.iter().all(u8::is_ascii_whitespace) {
        b"null"
    } else {
        bytes
    };
    serde_json::from_slice(text)
        .map_err(|e| ApiError::bad_request(format!("The request body is not valid JSON: {e}")))
}

/// JSON body extractor: like `axum::Json` but rejects with the Microsoft-style 400 envelope and
/// does not insist on a `Content-Type` header (real clients send `application/json`, curl may not).
#[derive(Debug, Clone)]
pub struct JsonBody<T>(pub T);

impl<S, T> FromRequest<S> for JsonBody<T>
where
    S: Send + Sync,
    T: DeserializeOwned,
{
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let family = Family::from_path(req.uri().path());
        let bytes = Bytes::from_request(req, state).await.map_err(|e| {
            ApiError::bad_request(format!("could not read the request body: {e}")).family(family)
        })?;
        parse_json(&bytes)
            .map(JsonBody)
            .map_err(|e| e.family(family))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn management_throttling_is_403_af429_and_others_429() {
        let m = ApiError::throttled(Family::Management, 0);
        assert_eq!(m.status, StatusCode::FORBIDDEN);
        assert_eq!(m.body()["error"]["code"], "AF429");
        assert!(
            m.headers
                .iter()
                .any(|(n, v)| n == header::RETRY_AFTER && v == "1")
        );
        let b = ApiError::throttled(Family::Bap, 7);
        assert_eq!(b.status, StatusCode::TOO_MANY_REQUESTS);
        assert!(
            b.headers
                .iter()
                .any(|(n, v)| n == header::RETRY_AFTER && v == "7")
        );
        assert!(
            ApiError::new(StatusCode::NOT_FOUND, "X", "y")
                .family(Family::Graph)
                .body()["error"]["innerError"]["request-id"]
                .is_string()
        );
    }

    #[test]
    fn families_are_recognised_by_path() {
        assert_eq!(
            Family::from_path("/providers/Microsoft.BusinessAppPlatform/tenant"),
            Family::Bap
        );
        assert_eq!(
            Family::from_path("/api/v1.0/t/activity/feed/subscriptions/list"),
            Family::Management
        );
        assert_eq!(Family::from_path("/t/oauth2/v2.0/token"), Family::Entra);
        assert_eq!(
            Family::from_path("/dataverse/org1/api/data/v9.2/roles"),
            Family::Dataverse
        );
    }
}
