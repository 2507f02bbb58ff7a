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

type EntraResult = Result<Response, Response>;

fn bad(error: &str, code: u32, description: &str) -> Response {
    entra_error(StatusCode::BAD_REQUEST, error, code, description)
}

fn parse_form(body: &[u8]) -> Result<BTreeMap<String, String>, Response> {
    serde_urlencoded::from_bytes::<Vec<(String, String)>>(body)
        .map(|v| v.into_iter().collect())
        .map_err(|_| {
            bad(
                "invalid_request",
                900144,
                "The request body must contain the following parameter: 'grant_type'.",
            )
        })
}

fn check_tenant(state: &State, tenant: &str) -> Result<(), Response> {
    let t = state.tenant();
    let ok = tenant.eq_ignore_ascii_case(&t.tenant_id)
        || tenant.eq_ignore_ascii_case(&t.domain)
        || ["organizations", "common"].contains(&tenant.to_ascii_lowercase().as_str());
    if ok {
        Ok(())
    } else {
        Err(bad(
            "invalid_request",
            90002,
            &format!(
                "Tenant '{tenant}' not found. Check to make sure you have the correct tenant ID and are signing into the correct cloud."
            ),
        ))
    }
}

fn find_app(state: &State, client_id: &str, tenant: &str) -> Result<AppRegistration, Response> {
    state
        .tenant()
        .directory
        .apps
        .iter()
        .find(|a| a.client_id.eq_ignore_ascii_case(client_id))
        .cloned()
        .ok_or_else(|| {
            bad("unauthorized_client", 700016, &format!("Application with identifier '{client_id}' was not found in the directory '{tenant}'. This can happen if the application has not been installed by the administrator of the tenant or consented to by any user in the tenant. You may have sent your authentication request to the wrong tenant."))
        })
}

/// The resources tokens can be issued for: the fixed hosts plus the Dataverse origin (the base URL).
fn known_resource(state: &State, resource: &str) -> Option<String> {
    let r = normalise_aud(resource);
    [
        AUD_POWERAPPS,
        AUD_FLOW,
        AUD_PPAPI,
        AUD_GRAPH,
        AUD_MANAGEMENT,
        state.base_url.as_str(),
    ]
    .iter()
    .find(|k| normalise_aud(k) == r)
    .map(|k| k.trim_end_matches('/').to_string())
}

/// App-only scope: exactly one `{resource}/.default`.
fn app_scope(state: &State, scope: &str) -> Result<String, Response> {
    let parts: Vec<&str> = scope.split_whitespace().collect();
    let [only] = parts.as_slice() else {
        return Err(bad(
            "invalid_scope",
            70011,
            &format!(
                "The provided request must include a 'scope' input parameter. The provided value for the input parameter 'scope' is not valid. The scope {scope} is not valid. Client credential flows must have a scope value with /.default suffixed to the resource identifier (application ID URI)."
            ),
        ));
    };
    let Some(resource) = only.strip_suffix("/.default") else {
        return Err(bad(
            "invalid_scope",
            70011,
            &format!(
                "The provided value for the input parameter 'scope' is not valid. The scope {scope} is not valid. Client credential flows must have a scope value with /.default suffixed to the resource identifier (application ID URI)."
            ),
        ));
    };
    known_resource(state, resource).ok_or_else(|| {
        bad("invalid_resource", 500011, &format!("The resource principal named {resource} was not found in the tenant. This can happen if the application has not been installed by the administrator of the tenant."))
    })
}

/// Delegated scope: one resource's scopes plus OIDC extras. Returns (resource, scp claim, offline).
fn delegated_scope(state: &State, scope: &str) -> Result<(String, String, bool), Response> {
    let mut resource: Option<String> = None;
    let mut scp = Vec::new();
    let mut offline = false;
    for s in scope.split_whitespace() {
        match s {
            "offline_access" => offline = true,
            "openid" | "profile" | "email" => {}
            _ => {
                let (res, perm) = s.rsplit_once('/').unwrap_or((AUD_GRAPH, s));
                let Some(res) = known_resource(state, res) else {
                    return Err(bad(
                        "invalid_resource",
                        500011,
                        &format!("The resource principal named {res} was not found in the tenant."),
                    ));
                };
                if resource.as_ref().is_some_and(|r| *r != res) {
                    return Err(bad(
                        "invalid_scope",
                        70011,
                        &format!(
                            "The provided value for the input parameter 'scope' is not valid. The scope {scope} is not valid. Scopes for more than one resource were requested."
                        ),
                    ));
                }
                resource = Some(res);
                scp.push(if perm == ".default" {
                    "user_impersonation".to_string()
                } else {
                    perm.to_string()
                });
            }
        }
    }
    let Some(resource) = resource else {
        return Err(bad(
            "invalid_scope",
            70011,
            &format!(
                "The provided value for the input parameter 'scope' is not valid. The scope {scope} is not valid."
            ),
        ));
    };
    Ok((resource, scp.join(" "), offline))
}

/// `POST /{tenant}/oauth2/v2.0/token`.
pub async fn token_endpoint(
    AxState(state): AxState<AppState>,
    Path(tenant): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    match token_inner(&state, &tenant, &headers, &body) {
        Ok(r) | Err(r) => r,
    }
}

fn token_inner(state: &State, tenant: &str, headers: &HeaderMap, body: &[u8]) -> EntraResult {
    let form = parse_form(body)?;
    check_tenant(state, tenant)?;
    let get = |k: &str| form.get(k).map(String::as_str).unwrap_or("");
    match get("grant_type") {
        "client_credentials" => client_credentials(state, tenant, headers, &form),
        "password" => password_grant(state, tenant, &form),
        DEVICE_GRANT => device_poll(state, tenant, &form),
        "refresh_token" => refresh_grant(state, tenant, &form),
        "" => Err(bad(
            "invalid_request",
            900144,
            "The request body must contain the following parameter: 'grant_type'.",
        )),
        other => Err(bad(
            "unsupported_grant_type",
            70003,
            &format!("The app requested an unsupported grant type '{other}'."),
        )),
    }
}

fn basic_credentials(headers: &HeaderMap) -> Option<(String, String)> {
    let v = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, b64) = v.split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return None;
    }
    let raw = base64::engine::general_purpose::STANDARD
        .decode(b64.trim())
        .ok()?;
    let text = String::from_utf8(raw).ok()?;
    let (id, secret) = text.split_once(':')?;
    let dec = |s: &str| {
        url::form_urlencoded::parse(format!("x={s}").as_bytes())
            .next()
            .map(|(_, v)| v.into_owned())
    };
    Some((dec(id)?, dec(secret)?))
}

fn token_body(token: String, expires_in: i64, extra: Option<(String, Option<String>)>) -> Value {
    let mut body = json!({"token_type": "Bearer", "expires_in": expires_in, "ext_expires_in": expires_in, "access_token": token});
    if let Some((scope, refresh)) = extra {
        body["scope"] = Value::String(scope);
        if let Some(r) = refresh {
            body["refresh_token"] = Value::String(r);
        }
    }
    body
}

fn client_credentials(
    state: &State,
    tenant: &str,
    headers: &HeaderMap,
    form: &BTreeMap<String, String>,
) -> EntraResult {
    let basic = basic_credentials(headers);
    let client_id = form
        .get("client_id")
        .cloned()
        .or_else(|| basic.as_ref().map(|b| b.0.clone()))
        .ok_or_else(|| {
            bad(
                "invalid_request",
                900144,
                "The request body must contain the following parameter: 'client_id'.",
            )
        })?;
    let app = find_app(state, &client_id, tenant)?;
    if form.get("client_assertion_type").map(String::as_str) == Some(JWT_BEARER) {
        let assertion = form
            .get("client_assertion")
            .map(String::as_str)
            .unwrap_or("");
        verify_assertion(state, tenant, &app, assertion)?;
    } else {
        let secret = form
            .get("client_secret")
            .cloned()
            .or_else(|| basic.map(|b| b.1));
        let Some(secret) = secret else {
            return Err(entra_error(
                StatusCode::UNAUTHORIZED,
                "invalid_client",
                7000218,
                "The request body must contain the following parameter: 'client_assertion' or 'client_secret'.",
            ));
        };
        if !app.secrets.contains(&secret) {
            return Err(entra_error(
                StatusCode::UNAUTHORIZED,
                "invalid_client",
                7000215,
                &format!(
                    "Invalid client secret provided. Ensure the secret being sent in the request is the client secret value, not the client secret ID, for a secret added to app '{}'.",
                    app.client_id
                ),
            ));
        }
    }
    let resource = app_scope(state, form.get("scope").map(String::as_str).unwrap_or(""))?;
    let (token, life) = issue_token(
        state,
        &resource,
        &app.object_id,
        &app.client_id,
        None,
        Some(app.app_roles.clone()),
    )
    .map_err(IntoResponse::into_response)?;
    Ok((StatusCode::OK, Json(token_body(token, life, None))).into_response())
}

#[derive(Deserialize)]
struct AssertionClaims {
    iss: Option<String>,
    sub: Option<String>,
}

fn b64url(bytes: &[u8]) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

fn assertion_error(description: &str) -> Response {
    entra_error(
        StatusCode::UNAUTHORIZED,
        "invalid_client",
        700027,
        description,
    )
}

/// Verifies a client assertion against the app's registered certificates.
fn verify_assertion(
    state: &State,
    tenant: &str,
    app: &AppRegistration,
    assertion: &str,
) -> Result<(), Response> {
    let header = jsonwebtoken::decode_header(assertion).map_err(|_| assertion_error("Client assertion contains an invalid signature. [Reason - The assertion is not a well-formed JWT.]"))?;
    if !matches!(header.alg, Algorithm::PS256 | Algorithm::RS256) {
        return Err(assertion_error(
            "Client assertion contains an invalid signature. [Reason - The key used is not supported; sign with PS256 or RS256.]",
        ));
    }
    let cert = app.certificates.iter().find_map(|c| {
        let der = base64::engine::general_purpose::STANDARD
            .decode(&c.der_base64)
            .ok()?;
        let s256 = b64url(&sha2::Sha256::digest(&der));
        let s1 = b64url(&sha1::Sha1::digest(&der));
        let hit = header.x5t_s256.as_deref() == Some(s256.as_str())
            || header.x5t.as_deref() == Some(s1.as_str());
        hit.then_some((c.clone(), der))
    });
    let Some((cert, der)) = cert else {
        return Err(assertion_error(&format!(
            "Client assertion failed signature validation. [Reason - The key was not found., Thumbprint of key used by client: '{}', Please visit the Azure Portal, Graph Explorer or directly use MS Graph to see configured keys for app Id '{}'.]",
            header.x5t_s256.or(header.x5t).unwrap_or_default(),
            app.client_id
        )));
    };
    if cert.not_after <= state.now() {
        return Err(assertion_error(&format!(
            "Client assertion failed signature validation. [Reason - The certificate used to sign the assertion expired on {}.]",
            cert.not_after.to_rfc3339()
        )));
    }
    let public_key = x509_parser::parse_x509_certificate(&der)
        .map(|(_, c)| c.public_key().subject_public_key.data.to_vec())
        .map_err(|_| assertion_error("Client assertion failed signature validation. [Reason - The registered certificate could not be read.]"))?;
    let tid = state.tenant().tenant_id.clone();
    let mut v = Validation::new(header.alg);
    v.leeway = 60;
    v.set_required_spec_claims(&["exp", "aud"]);
    v.set_audience(&[
        format!("{}/{tenant}/oauth2/v2.0/token", state.base_url),
        format!("{}/{tid}/oauth2/v2.0/token", state.base_url),
        format!("https://login.microsoftonline.com/{tenant}/oauth2/v2.0/token"),
        format!("https://login.microsoftonline.com/{tid}/oauth2/v2.0/token"),
    ]);
    let data = jsonwebtoken::decode::<AssertionClaims>(
        assertion,
        &DecodingKey::from_rsa_der(&public_key),
        &v,
    )
    .map_err(|e| {
        assertion_error(&format!(
            "Client assertion failed signature validation. [Reason - {e}.]"
        ))
    })?;
    let ok = data
        .claims
        .iss
        .as_deref()
        .is_some_and(|i| i.eq_ignore_ascii_case(&app.client_id))
        && data
            .claims
            .sub
            .as_deref()
            .is_some_and(|s| s.eq_ignore_ascii_case(&app.client_id));
    if ok {
        Ok(())
    } else {
        Err(entra_error(
            StatusCode::UNAUTHORIZED,
            "invalid_client",
            700024,
            "Client assertion is not within its valid time range or its iss/sub claims do not name the client.",
        ))
    }
}

fn find_user(state: &State, username: &str) -> Option<User> {
    state
        .tenant()
        .directory
        .users
        .iter()
        .find(|u| u.upn.eq_ignore_ascii_case(username))
        .cloned()
}

/// Checks a user may get a delegated token through `app` (behaviour, consent) and issues it.
fn delegated_token(state: &State, app: &AppRegistration, user: &User, scope: &str) -> EntraResult {
    let (resource, scp, offline) = delegated_scope(state, scope)?;
    match user.sign_in {
        SignInBehaviour::Normal => {}
        SignInBehaviour::MfaRequired => {
            return Err(bad(
                "invalid_grant",
                50076,
                "Due to a configuration change made by your administrator, or because you moved to a new location, you must use multi-factor authentication to access the resource.",
            ));
        }
        SignInBehaviour::ConditionalAccessBlocked => {
            return Err(bad(
                "invalid_grant",
                53003,
                "Access has been blocked by Conditional Access policies. The access policy does not allow token issuance.",
            ));
        }
        SignInBehaviour::NotAssigned => {
            return Err(bad(
                "invalid_grant",
                50105,
                &format!(
                    "Your administrator has configured the application ('{}') to block users unless they are specifically granted ('assigned') access to the application.",
                    app.client_id
                ),
            ));
        }
    }
    if !app.admin_consent {
        return Err(bad(
            "invalid_grant",
            65001,
            &format!(
                "The user or administrator has not consented to use the application with ID '{}' named '{}'. Send an interactive authorization request for this user and resource.",
                app.client_id, app.display_name
            ),
        ));
    }
    let (token, life) = issue_token(
        state,
        &resource,
        &user.id,
        &app.client_id,
        Some((&user.upn, &scp)),
        None,
    )
    .map_err(IntoResponse::into_response)?;
    let refresh = offline.then(|| {
        let rt = format!("0.emu.{}", uuid::Uuid::new_v4().simple());
        lock(&state.refresh_tokens).insert(
            rt.clone(),
            RefreshGrant {
                client_id: app.client_id.clone(),
                user_id: user.id.clone(),
            },
        );
        rt
    });
    let mut body = token_body(token, life, Some((scope.to_string(), refresh)));
    if scope.split_whitespace().any(|s| s == "openid") {
        // An id_token only when asked for, like Entra; signed with the same per-process key.
        let now = state.now().timestamp();
        let tid = state.tenant().tenant_id.clone();
        let claims = json!({"aud": app.client_id, "iss": format!("https://login.microsoftonline.com/{tid}/v2.0"),
            "sub": user.id, "oid": user.id, "tid": tid, "preferred_username": user.upn, "name": user.display_name,
            "iat": now, "nbf": now, "exp": now + 3600, "ver": "2.0"});
        let id_token = jsonwebtoken::encode(
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
            .into_response()
        })?;
        body["id_token"] = json!(id_token);
    }
    Ok((StatusCode::OK, Json(body)).into_response())
}

fn public_app(
    state: &State,
    tenant: &str,
    form: &BTreeMap<String, String>,
) -> Result<AppRegistration, Response> {
    let client_id = form.get("client_id").map(String::as_str).unwrap_or("");
    let app = find_app(state, client_id, tenant)?;
    if !app.public_client {
        return Err(entra_error(
            StatusCode::UNAUTHORIZED,
            "invalid_client",
            7000218,
            "The request body must contain the following parameter: 'client_assertion' or 'client_secret'.",
        ));
    }
    Ok(app)
}

fn password_grant(state: &State, tenant: &str, form: &BTreeMap<String, String>) -> EntraResult {
    let app = public_app(state, tenant, form)?;
    let username = form.get("username").map(String::as_str).unwrap_or("");
    let password = form.get("password").map(String::as_str).unwrap_or("");
    let bad_password = || {
        bad(
            "invalid_grant",
            50126,
            "Error validating credentials due to invalid username or password.",
        )
    };
    let user = find_user(state, username).ok_or_else(bad_password)?;
    if user.deleted {
        return Err(bad_password());
    }
    if !user.enabled {
        return Err(bad("invalid_grant", 50057, "The user account is disabled."));
    }
    if user.password.as_deref() != Some(password) {
        return Err(bad_password());
    }
    delegated_token(
        state,
        &app,
        &user,
        form.get("scope").map(String::as_str).unwrap_or(""),
    )
}

fn refresh_grant(state: &State, tenant: &str, form: &BTreeMap<String, String>) -> EntraResult {
    let rt = form.get("refresh_token").map(String::as_str).unwrap_or("");
    let client_id = form.get("client_id").map(String::as_str).unwrap_or("");
    let grant = lock(&state.refresh_tokens).get(rt).cloned();
    let invalid = || {
        bad(
            "invalid_grant",
            9002313,
            "Invalid request. Request is malformed or invalid.",
        )
    };
    let grant = grant.ok_or_else(invalid)?;
    if !grant.client_id.eq_ignore_ascii_case(client_id) {
        return Err(bad(
            "invalid_grant",
            70000,
            "Provided grant is invalid or malformed: the refresh token was issued to a different client.",
        ));
    }
    let app = find_app(state, client_id, tenant)?;
    let user = state
        .tenant()
        .directory
        .users
        .iter()
        .find(|u| u.id == grant.user_id)
        .cloned()
        .ok_or_else(invalid)?;
    let mut scope = form
        .get("scope")
        .cloned()
        .unwrap_or_else(|| format!("{AUD_POWERAPPS}/.default"));
    if !scope.split_whitespace().any(|s| s == "offline_access") {
        // Entra keeps handing out refresh tokens on a refresh.
        scope.push_str(" offline_access");
    }
    delegated_token(state, &app, &user, &scope)
}

/// `POST /{tenant}/oauth2/v2.0/devicecode`.
pub async fn devicecode_endpoint(
    AxState(state): AxState<AppState>,
    Path(tenant): Path<String>,
    body: Bytes,
) -> Response {
    let inner = || -> EntraResult {
        let form = parse_form(&body)?;
        check_tenant(&state, &tenant)?;
        let app = public_app(&state, &tenant, &form)?;
        let scope = form.get("scope").cloned().unwrap_or_default();
        delegated_scope(&state, &scope)?;
        let device_code = format!("DAQABAAEAAAD{}", uuid::Uuid::new_v4().simple());
        let user_code = uuid::Uuid::new_v4().simple().to_string()[..9].to_ascii_uppercase();
        let now = state.now();
        let life = state.device_code_lifetime_secs.load(Ordering::Relaxed);
        lock(&state.device_codes).insert(
            device_code.clone(),
            DeviceCodeGrant {
                client_id: app.client_id.clone(),
                scope,
                expires_at: now + chrono::Duration::seconds(life),
                last_poll: now,
                polls: 0,
                decline: form.get("login_hint").map(String::as_str)
                    == Some(DEVICE_CODE_DECLINE_HINT),
            },
        );
        let uri = "https://microsoft.com/devicelogin";
        Ok((StatusCode::OK, Json(json!({
            "user_code": user_code, "device_code": device_code, "verification_uri": uri,
            "expires_in": life, "interval": DEVICE_CODE_INTERVAL_SECS,
            "message": format!("To sign in, use a web browser to open the page {uri} and enter the code {user_code} to authenticate."),
        }))).into_response())
    };
    match inner() {
        Ok(r) | Err(r) => r,
    }
}

fn device_poll(state: &State, tenant: &str, form: &BTreeMap<String, String>) -> EntraResult {
    let code = form.get("device_code").map(String::as_str).unwrap_or("");
    let client_id = form.get("client_id").map(String::as_str).unwrap_or("");
    let now = state.now();
    let min_gap = *super::state::read(&state.device_poll_min_gap);
    let grant = {
        let mut codes = lock(&state.device_codes);
        let Some(g) = codes.get_mut(code) else {
            return Err(bad(
                "invalid_grant",
                70019,
                "Verification code expired or unknown (bad_verification_code).",
            ));
        };
        if !g.client_id.eq_ignore_ascii_case(client_id) {
            return Err(bad(
                "invalid_grant",
                70000,
                "The device code was issued to a different client.",
            ));
        }
        if now >= g.expires_at {
            return Err(bad(
                "expired_token",
                70020,
                "The provided value for the input parameter 'device_code' is not valid. This device code has expired.",
            ));
        }
        let gap = (now - g.last_poll).to_std().unwrap_or_default();
        g.last_poll = now;
        if gap < min_gap {
            return Err(bad(
                "slow_down",
                70016,
                "The client is polling too fast; wait at least 'interval' seconds between polls (+5 s).",
            ));
        }
        g.polls += 1;
        if g.decline {
            return Err(bad(
                "authorization_declined",
                70000,
                "The end user denied the authorization request.",
            ));
        }
        if g.polls < DEVICE_CODE_APPROVING_POLL {
            return Err(bad(
                "authorization_pending",
                70016,
                "OAuth 2.0 device flow error. Authorization is pending. Continue polling.",
            ));
        }
        let g = g.clone();
        codes.remove(code);
        g
    };
    let app = find_app(state, &grant.client_id, tenant)?;
    let username = state.tenant().well_known.username.clone();
    let user = find_user(state, &username).ok_or_else(|| {
        bad(
            "invalid_grant",
            50126,
            "Error validating credentials due to invalid username or password.",
        )
    })?;
    delegated_token(state, &app, &user, &grant.scope)
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
