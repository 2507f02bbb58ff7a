//! Microsoft Entra for the emulator: the token and device-code endpoints (REFERENCE §2), the
//! access tokens they issue (HS256 JWTs signed with a per-process key) and the bearer check
//! every API family runs ([`require`]).
//!
//! Device code flow, made deterministic for tests:
//! * every poll before the [`DEVICE_CODE_APPROVING_POLL`]th answers `authorization_pending`; that poll
//!   succeeds, signed in as the well-known admin user;
//! * a poll sooner than [`State::device_poll_min_gap`] after the previous one (or the issue)
//!   answers `slow_down`;
//! * after `expires_in` ([`State::device_code_lifetime_secs`]) polls answer `expired_token`;
//! * a device code requested with `login_hint=decline@emulator` answers `authorization_declined`.

// The Entra helpers return finished error responses; boxing them would only add noise.
#![allow(clippy::result_large_err)]

mod device;
mod oidc;
mod token;

pub use device::devicecode_endpoint;
pub use oidc::{OidcState, authorize_get, authorize_post, jwks, openid_configuration};
pub use token::token_endpoint;

use std::collections::BTreeMap;
use std::sync::atomic::Ordering;

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, State as AxState};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use base64::Engine;
use chrono::{DateTime, Utc};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use sha1::Digest;

use crate::tenant::{AppRegistration, RegisteredCertificate, SignInBehaviour, User};

use super::errors::{ApiError, Family};
use super::state::{AppState, State, lock};

/// Audience of BAP, GOV and Power Apps.
pub const AUD_POWERAPPS: &str = "https://service.powerapps.com";
/// Audience of Flow.
pub const AUD_FLOW: &str = "https://service.flow.microsoft.com";
/// Audience of PPAPI.
pub const AUD_PPAPI: &str = "https://api.powerplatform.com";
/// Audience of Microsoft Graph.
pub const AUD_GRAPH: &str = "https://graph.microsoft.com";
/// Audience of the Office 365 Management Activity API.
pub const AUD_MANAGEMENT: &str = "https://manage.office.com";
/// Directory roles that may use the admin APIs.
pub const ADMIN_ROLES: [&str; 3] = [
    "Power Platform Administrator",
    "Global Administrator",
    "Dynamics 365 Administrator",
];
/// The device-code poll that gets approved (1-based).
pub const DEVICE_CODE_APPROVING_POLL: u32 = 3;
/// `login_hint` that makes the device code get declined.
pub const DEVICE_CODE_DECLINE_HINT: &str = "decline@emulator";
/// `interval` announced by the device-code endpoint, seconds.
pub const DEVICE_CODE_INTERVAL_SECS: u64 = 1;
const JWT_BEARER: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";
const DEVICE_GRANT: &str = "urn:ietf:params:oauth:grant-type:device_code";

/// Claims of an issued access token.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct AccessClaims {
    /// Resource.
    pub aud: String,
    /// `https://sts.windows.net/{tid}/`.
    pub iss: String,
    /// Tenant id.
    pub tid: String,
    /// Expiry (unix seconds).
    pub exp: i64,
    /// Issued at.
    pub iat: i64,
    /// Not before.
    pub nbf: i64,
    /// Object id of the caller (user or service principal).
    pub oid: String,
    /// Client id.
    pub appid: String,
    /// `app` or `user`.
    pub idtyp: String,
    /// App roles (app-only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub roles: Option<Vec<String>>,
    /// Delegated scopes, space-separated.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scp: Option<String>,
    /// UPN (users).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub upn: Option<String>,
}

/// Who called: what [`require`] returns.
#[derive(Debug, Clone)]
pub struct Identity {
    /// Object id (throttling key).
    pub oid: String,
    /// Client id.
    pub appid: String,
    /// Tenant id.
    pub tid: String,
    /// True for app-only tokens.
    pub is_app: bool,
    /// UPN for users.
    pub upn: Option<String>,
    /// App roles.
    pub roles: Vec<String>,
    /// Delegated scopes.
    pub scopes: Vec<String>,
    /// The token's audience.
    pub aud: String,
}

/// A device code waiting to be approved.
#[derive(Debug, Clone)]
pub struct DeviceCodeGrant {
    client_id: String,
    scope: String,
    expires_at: DateTime<Utc>,
    last_poll: DateTime<Utc>,
    polls: u32,
    decline: bool,
}

/// What a refresh token stands for.
#[derive(Debug, Clone)]
pub struct RefreshGrant {
    client_id: String,
    user_id: String,
}

fn normalise_aud(a: &str) -> String {
    a.trim_end_matches('/').to_ascii_lowercase()
}

/// Decodes and verifies one of our access tokens (signature only; expiry is the caller's business).
pub fn decode_token(state: &State, token: &str) -> Option<AccessClaims> {
    let mut v = Validation::new(Algorithm::HS256);
    v.required_spec_claims.clear();
    v.validate_exp = false;
    v.validate_nbf = false;
    v.validate_aud = false;
    jsonwebtoken::decode::<AccessClaims>(token, &DecodingKey::from_secret(&state.signing_key), &v)
        .ok()
        .map(|d| d.claims)
}

fn bearer(headers: &HeaderMap) -> Option<&str> {
    let v = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = v.split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then_some(token.trim())
}

/// The throttling key of a request: the `oid` of a validly signed bearer token, whatever its audience.
pub fn identity_key(state: &State, headers: &HeaderMap) -> Option<String> {
    bearer(headers)
        .and_then(|t| decode_token(state, t))
        .map(|c| c.oid)
}

fn unauthorized(audience: &str, message: &str) -> ApiError {
    let code = if normalise_aud(audience) == normalise_aud(AUD_GRAPH) {
        "InvalidAuthenticationToken"
    } else {
        "AuthorizationHeaderInvalid"
    };
    ApiError::new(StatusCode::UNAUTHORIZED, code, message).header(
        header::WWW_AUTHENTICATE,
        format!("Bearer authorization_uri=\"https://login.microsoftonline.com/common/oauth2/authorize\", error=\"invalid_token\", error_description=\"{message}\""),
    )
}

/// Checks the request's bearer token for `audience`: missing, garbled, wrong-audience or expired
/// tokens give 401 (with `WWW-Authenticate: Bearer`). Call `.map_err(|e| e.family(..))` to pick
/// the envelope when it matters (Graph adds `innerError`).
pub fn require(state: &State, headers: &HeaderMap, audience: &str) -> Result<Identity, ApiError> {
    let Some(token) = bearer(headers) else {
        return Err(unauthorized(
            audience,
            "The request does not carry a bearer access token.",
        ));
    };
    let Some(c) = decode_token(state, token) else {
        return Err(unauthorized(
            audience,
            "The access token is malformed or its signature is invalid.",
        ));
    };
    if normalise_aud(&c.aud) != normalise_aud(audience) {
        return Err(unauthorized(
            audience,
            &format!(
                "The access token audience '{}' is not valid for this resource; expected '{audience}'.",
                c.aud
            ),
        ));
    }
    if c.exp <= state.now().timestamp() {
        return Err(unauthorized(
            audience,
            "The access token is expired. Acquire a new token and retry.",
        ));
    }
    Ok(Identity {
        oid: c.oid,
        appid: c.appid,
        tid: c.tid,
        is_app: c.idtyp == "app",
        upn: c.upn,
        roles: c.roles.unwrap_or_default(),
        scopes: c
            .scp
            .map(|s| s.split(' ').map(str::to_string).collect())
            .unwrap_or_default(),
        aud: c.aud,
    })
}

/// For admin paths of BAP, Power Apps and Flow: a service principal must be a registered
/// management app, or BAP answers 403 "does not have permission to access the path".
/// Users must hold a tenant admin role (Power Platform, Global or Dynamics 365 Administrator).
pub fn require_management(state: &State, id: &Identity, path: &str) -> Result<(), ApiError> {
    let tenant = state.tenant();
    if !id.is_app {
        // The index answers for live users (every request of a delegated crawl comes here);
        // the scan covers deleted ones, as before.
        let admin = state
            .find_user(&tenant, &id.oid)
            .filter(|u| u.id.eq_ignore_ascii_case(&id.oid))
            .or_else(|| {
                tenant
                    .directory
                    .users
                    .iter()
                    .find(|u| u.id.eq_ignore_ascii_case(&id.oid))
            })
            .is_some_and(|u| {
                u.admin_roles
                    .iter()
                    .any(|r| ADMIN_ROLES.iter().any(|a| r.eq_ignore_ascii_case(a)))
            });
        return if admin {
            Ok(())
        } else {
            Err(ApiError::forbidden(format!(
                "The user with object id '{}' is not a Power Platform administrator and cannot access the admin path '{}' in tenant '{}'.",
                id.oid, path, tenant.tenant_id
            )))
        };
    }
    let registered = tenant
        .directory
        .apps
        .iter()
        .any(|a| a.client_id.eq_ignore_ascii_case(&id.appid) && a.management_app);
    if registered {
        Ok(())
    } else {
        Err(ApiError::forbidden(format!(
            "The service principal with id '{}' does not have permission to access the path '{}' in tenant '{}'.",
            id.oid, path, tenant.tenant_id
        )))
    }
}

/// Issues an access token for `aud`.
pub fn issue_token(
    state: &State,
    aud: &str,
    oid: &str,
    appid: &str,
    user: Option<(&str, &str)>,
    roles: Option<Vec<String>>,
) -> Result<(String, i64), ApiError> {
    let (tid, now) = (state.tenant().tenant_id.clone(), state.now().timestamp());
    let life = state.token_lifetime_secs.load(Ordering::Relaxed);
    let claims = AccessClaims {
        aud: aud.to_string(),
        iss: format!("https://sts.windows.net/{tid}/"),
        tid,
        exp: now + life,
        iat: now,
        nbf: now,
        oid: oid.to_string(),
        appid: appid.to_string(),
        idtyp: if user.is_some() { "user" } else { "app" }.to_string(),
        roles,
        scp: user.map(|(_, scp)| scp.to_string()),
        upn: user.map(|(upn, _)| upn.to_string()),
    };
    let token = jsonwebtoken::encode(
        &Header::new(Algorithm::HS256),
        &claims,
        &EncodingKey::from_secret(&state.signing_key),
    )
    .map_err(|e| {
        ApiError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "InternalServerError",
            format!("token signing failed: {e}"),
        )
    })?;
    Ok((token, life))
}

/// An Entra error response (REFERENCE §2).
pub fn entra_error(status: StatusCode, error: &str, code: u32, description: &str) -> Response {
    let now = Utc::now();
    let trace = uuid::Uuid::new_v4().to_string();
    let corr = uuid::Uuid::new_v4().to_string();
    let ts = now.format("%Y-%m-%d %H:%M:%SZ").to_string();
    let body = json!({
        "error": error,
        "error_description": format!("AADSTS{code}: {description}\r\nTrace ID: {trace}\r\nCorrelation ID: {corr}\r\nTimestamp: {ts}"),
        "error_codes": [code],
        "timestamp": ts,
        "trace_id": trace,
        "correlation_id": corr,
        "error_uri": format!("https://login.microsoftonline.com/error?code={code}"),
    });
    (status, Json(body)).into_response()
}

/// Registers a certificate (DER) on an app; validity comes from the certificate itself.
pub fn register_certificate(
    state: &State,
    client_id: &str,
    der: &[u8],
) -> Result<(), super::EmulatorError> {
    let (_, cert) = x509_parser::parse_x509_certificate(der)
        .map_err(|e| super::EmulatorError::Certificate(e.to_string()))?;
    let not_after = DateTime::<Utc>::from_timestamp(cert.validity().not_after.timestamp(), 0)
        .ok_or_else(|| {
            super::EmulatorError::Certificate("certificate expiry is out of range".into())
        })?;
    let mut tenant = state.tenant_mut();
    let app = tenant
        .directory
        .apps
        .iter_mut()
        .find(|a| a.client_id.eq_ignore_ascii_case(client_id))
        .ok_or_else(|| super::EmulatorError::UnknownApp(client_id.to_string()))?;
    app.certificates.push(RegisteredCertificate {
        der_base64: base64::engine::general_purpose::STANDARD.encode(der),
        not_after,
    });
    Ok(())
}

/// The envelope family used when the token check fails on `path`.
pub fn family_of(path: &str) -> Family {
    Family::from_path(path)
}
