//! OpenID Connect sign-in the way Entra serves it (v2.0 endpoints): the discovery document, the
//! signing keys (RS256, `kid` = `x5t`, with `n`, `e` and the self-signed certificate in `x5c`),
//! the authorization endpoint (a sign-in form standing in for Entra's pages) and the
//! authorization code grant with PKCE at the token endpoint, returning an ID token.
//!
//! Facts followed (Microsoft identity platform documentation):
//! * issuer `https://login.microsoftonline.com/{tid}/v2.0` on the public cloud: here the
//!   emulator's base URL takes the place of the login host;
//! * loopback redirect URIs match whatever their port (RFC 8252 §7.3, as Entra does);
//! * errors before the redirect URI is validated are shown on a page, never redirected;
//! * codes live 10 minutes and are single-use (AADSTS54005 on the second redemption);
//! * a wrong `code_verifier` is AADSTS501481.

use std::collections::HashMap;
use std::sync::{Mutex, OnceLock};

use axum::extract::Query;
use axum::response::Html;
use sha2::Sha256;

use super::token::{
    EntraResult, authenticate_client, bad, check_tenant, delegated_scope, find_app, find_user,
};
use super::*;

/// The signing key and its published form.
pub struct SigningKey {
    kid: String,
    encoding: EncodingKey,
    jwk: Value,
}

impl std::fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SigningKey")
            .field("kid", &self.kid)
            .finish_non_exhaustive()
    }
}

/// An issued, not yet redeemed authorization code.
#[derive(Debug, Clone)]
pub struct AuthCode {
    client_id: String,
    redirect_uri: String,
    user_id: String,
    scope: String,
    nonce: Option<String>,
    challenge: Option<(String, String)>,
    expires_at: DateTime<Utc>,
}

/// OIDC state of the emulator: the key (made on first use: RSA generation costs tens of
/// milliseconds, which most tests never need) and the outstanding codes.
#[derive(Debug, Default)]
pub struct OidcState {
    key: OnceLock<Result<SigningKey, String>>,
    codes: Mutex<HashMap<String, AuthCode>>,
    redeemed: Mutex<std::collections::HashSet<String>>,
}

fn make_key() -> Result<SigningKey, String> {
    let kp = rcgen::KeyPair::generate_for(&rcgen::PKCS_RSA_SHA256).map_err(|e| e.to_string())?;
    let params = rcgen::CertificateParams::new(vec!["login.emulator".to_string()])
        .map_err(|e| e.to_string())?;
    let cert = params.self_signed(&kp).map_err(|e| e.to_string())?;
    let der = cert.der().to_vec();
    let (_, parsed) = x509_parser::parse_x509_certificate(&der).map_err(|e| e.to_string())?;
    let (n, e) = match parsed.public_key().parsed() {
        Ok(x509_parser::public_key::PublicKey::RSA(rsa)) => (
            strip_zeros(rsa.modulus).to_vec(),
            strip_zeros(rsa.exponent).to_vec(),
        ),
        _ => return Err("generated key is not RSA".into()),
    };
    let x5t = b64url(&sha1::Sha1::digest(&der));
    let encoding =
        EncodingKey::from_rsa_pem(kp.serialize_pem().as_bytes()).map_err(|e| e.to_string())?;
    let jwk = json!({
        "kty": "RSA", "use": "sig", "kid": x5t, "x5t": x5t,
        "n": b64url(&n), "e": b64url(&e),
        "x5c": [base64::engine::general_purpose::STANDARD.encode(&der)],
    });
    Ok(SigningKey {
        kid: x5t,
        encoding,
        jwk,
    })
}

fn strip_zeros(b: &[u8]) -> &[u8] {
    let i = b.iter().position(|&x| x != 0).unwrap_or(b.len());
    &b[i..]
}

fn b64url(bytes: &[u8]) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

fn key(state: &State) -> Result<&SigningKey, Response> {
    state.oidc.key.get_or_init(make_key).as_ref().map_err(|e| {
        ApiError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "InternalServerError",
            format!("signing key generation failed: {e}"),
        )
        .into_response()
    })
}

fn issuer(state: &State) -> String {
    format!("{}/{}/v2.0", state.base_url, state.tenant().tenant_id)
}

/// Signs an ID token for `user` and `app` (RS256 with the published key).
pub(super) fn id_token(
    state: &State,
    app: &AppRegistration,
    user: &User,
    nonce: Option<&str>,
) -> Result<String, Response> {
    let k = key(state)?;
    let now = state.now().timestamp();
    let tid = state.tenant().tenant_id.clone();
    let sub = b64url(&Sha256::digest(
        format!("{}|{}", user.id, app.client_id).as_bytes(),
    ));
    let mut claims = json!({
        "aud": app.client_id, "iss": issuer(state), "iat": now, "nbf": now, "exp": now + 3600,
        "name": user.display_name, "oid": user.id, "preferred_username": user.upn,
        "sub": sub, "tid": tid, "ver": "2.0",
    });
    if let Some(n) = nonce {
        claims["nonce"] = json!(n);
    }
    let groups = user_groups(state, &user.id);
    let roles: Vec<String> = std::iter::once(&user.id)
        .chain(groups.iter())
        .filter_map(|p| app.role_assignments.get(p))
        .flatten()
        .cloned()
        .collect::<std::collections::BTreeSet<_>>()
        .into_iter()
        .collect();
    if !roles.is_empty() {
        claims["roles"] = json!(roles);
    }
    if app.group_claims {
        claims["groups"] = json!(groups);
    }
    let mut header = Header::new(Algorithm::RS256);
    header.kid = Some(k.kid.clone());
    jsonwebtoken::encode(&header, &claims, &k.encoding).map_err(|e| {
        ApiError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "InternalServerError",
            format!("token signing failed: {e}"),
        )
        .into_response()
    })
}

/// Security groups the user is in, directly or through nested groups.
fn user_groups(state: &State, user_id: &str) -> Vec<String> {
    let t = state.tenant();
    let mut found: Vec<String> = Vec::new();
    let mut frontier = vec![user_id.to_ascii_lowercase()];
    while let Some(member) = frontier.pop() {
        for g in &t.directory.groups {
            let gid = g.id.to_ascii_lowercase();
            if g.members.iter().any(|m| m.eq_ignore_ascii_case(&member)) && !found.contains(&gid) {
                found.push(gid.clone());
                frontier.push(gid);
            }
        }
    }
    found.sort();
    found
}

/// `GET /{tenant}/v2.0/.well-known/openid-configuration`.
pub async fn openid_configuration(
    AxState(state): AxState<AppState>,
    Path(tenant): Path<String>,
) -> Response {
    if let Err(r) = check_tenant(&state, &tenant) {
        return r;
    }
    let base = format!("{}/{}", state.base_url, state.tenant().tenant_id);
    Json(json!({
        "token_endpoint": format!("{base}/oauth2/v2.0/token"),
        "token_endpoint_auth_methods_supported": ["client_secret_post", "private_key_jwt", "client_secret_basic"],
        "jwks_uri": format!("{base}/discovery/v2.0/keys"),
        "response_modes_supported": ["query", "fragment", "form_post"],
        "subject_types_supported": ["pairwise"],
        "id_token_signing_alg_values_supported": ["RS256"],
        "response_types_supported": ["code", "id_token", "code id_token", "id_token token"],
        "scopes_supported": ["openid", "profile", "email", "offline_access"],
        "issuer": issuer(&state),
        "request_uri_parameter_supported": false,
        "userinfo_endpoint": "https://graph.microsoft.com/oidc/userinfo",
        "authorization_endpoint": format!("{base}/oauth2/v2.0/authorize"),
        "device_authorization_endpoint": format!("{base}/oauth2/v2.0/devicecode"),
        "http_logout_supported": true,
        "frontchannel_logout_supported": true,
        "end_session_endpoint": format!("{base}/oauth2/v2.0/logout"),
        "claims_supported": ["sub", "iss", "aud", "exp", "iat", "auth_time", "acr", "nonce",
            "preferred_username", "name", "tid", "ver", "at_hash", "c_hash", "email"],
        "cloud_instance_name": "microsoftonline.com",
    }))
    .into_response()
}

/// `GET /{tenant}/discovery/v2.0/keys`.
pub async fn jwks(AxState(state): AxState<AppState>, Path(tenant): Path<String>) -> Response {
    if let Err(r) = check_tenant(&state, &tenant) {
        return r;
    }
    match key(&state) {
        Ok(k) => Json(json!({"keys": [k.jwk]})).into_response(),
        Err(r) => r,
    }
}

/// What an authorization request carries.
#[derive(Debug, Clone, Deserialize, Serialize, Default)]
pub struct AuthorizeParams {
    #[serde(default)]
    client_id: String,
    #[serde(default)]
    response_type: String,
    #[serde(default)]
    redirect_uri: String,
    #[serde(default)]
    scope: String,
    #[serde(default)]
    state: Option<String>,
    #[serde(default)]
    nonce: Option<String>,
    #[serde(default)]
    code_challenge: Option<String>,
    #[serde(default)]
    code_challenge_method: Option<String>,
    #[serde(default)]
    response_mode: Option<String>,
    #[serde(default)]
    login_hint: Option<String>,
}

fn error_page(code: u32, message: &str) -> Response {
    let body = format!(
        "<!doctype html><html><head><title>Sign in to your account</title></head><body>\
         <h1>Sorry, but we're having trouble signing you in.</h1><p id=\"error\">AADSTS{code}: {}</p></body></html>",
        escape(message)
    );
    (StatusCode::BAD_REQUEST, Html(body)).into_response()
}

fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&#39;")
}

/// Loopback redirect URIs match whatever their port; others must match exactly.
fn redirect_allowed(app: &AppRegistration, uri: &str) -> bool {
    let Ok(asked) = url::Url::parse(uri) else {
        return false;
    };
    app.redirect_uris.iter().any(|r| {
        let Ok(reg) = url::Url::parse(r) else {
            return false;
        };
        let loopback = matches!(reg.host_str(), Some("127.0.0.1" | "localhost" | "[::1]"));
        if loopback {
            reg.scheme() == asked.scheme()
                && reg.host_str() == asked.host_str()
                && reg.path() == asked.path()
                && asked.query().is_none()
        } else {
            reg.as_str() == asked.as_str()
        }
    })
}

fn redirect_with(uri: &str, pairs: &[(&str, &str)]) -> Response {
    let mut u = match url::Url::parse(uri) {
        Ok(u) => u,
        Err(_) => return error_page(50011, "The redirect URI is not valid."),
    };
    {
        let mut q = u.query_pairs_mut();
        for (k, v) in pairs {
            q.append_pair(k, v);
        }
    }
    (StatusCode::FOUND, [(header::LOCATION, u.to_string())]).into_response()
}

fn redirect_error(p: &AuthorizeParams, error: &str, code: u32, description: &str) -> Response {
    let desc = format!("AADSTS{code}: {description}");
    let mut pairs = vec![("error", error), ("error_description", desc.as_str())];
    if let Some(s) = &p.state {
        pairs.push(("state", s));
    }
    redirect_with(&p.redirect_uri, &pairs)
}

/// Validates the request up to the redirect URI (errors shown on a page), then the rest
/// (errors sent back to the redirect URI).
fn validate(state: &State, tenant: &str, p: &AuthorizeParams) -> Result<AppRegistration, Response> {
    if check_tenant(state, tenant).is_err() {
        return Err(error_page(90002, &format!("Tenant '{tenant}' not found.")));
    }
    let app = find_app(state, &p.client_id, tenant).map_err(|_| {
        error_page(
            700016,
            &format!(
                "Application with identifier '{}' was not found in the directory.",
                p.client_id
            ),
        )
    })?;
    if !redirect_allowed(&app, &p.redirect_uri) {
        return Err(error_page(
            50011,
            &format!(
                "The redirect URI '{}' specified in the request does not match the redirect URIs configured for the application '{}'.",
                p.redirect_uri, app.client_id
            ),
        ));
    }
    if p.response_type != "code" {
        return Err(redirect_error(
            p,
            "unsupported_response_type",
            700054,
            "response_type 'id_token' is not enabled for the application; only 'code' is served here.",
        ));
    }
    if p.response_mode.as_deref().is_some_and(|m| m != "query") {
        return Err(redirect_error(
            p,
            "invalid_request",
            900144,
            "Only response_mode=query is served by the emulator.",
        ));
    }
    if let Some(m) = &p.code_challenge_method
        && m != "S256"
        && m != "plain"
    {
        return Err(redirect_error(
            p,
            "invalid_request",
            501491,
            "Invalid code_challenge_method.",
        ));
    }
    if let Err(r) = delegated_scope(state, &format!("{} User.Read", p.scope)) {
        let _ = r;
        return Err(redirect_error(
            p,
            "invalid_scope",
            70011,
            "The provided value for the input parameter 'scope' is not valid.",
        ));
    }
    Ok(app)
}

fn sign_in_page(p: &AuthorizeParams, tenant: &str, message: Option<&str>) -> Response {
    let hidden: String = serde_urlencoded::to_string(p)
        .ok()
        .map(|q| {
            url::form_urlencoded::parse(q.as_bytes())
                .map(|(k, v)| {
                    format!(
                        "<input type=\"hidden\" name=\"{}\" value=\"{}\">",
                        escape(&k),
                        escape(&v)
                    )
                })
                .collect()
        })
        .unwrap_or_default();
    let msg = message
        .map(|m| format!("<p id=\"usernameError\" role=\"alert\">{}</p>", escape(m)))
        .unwrap_or_default();
    let login = escape(p.login_hint.as_deref().unwrap_or(""));
    let body = format!(
        "<!doctype html><html><head><meta charset=\"utf-8\"><title>Sign in to your account</title></head><body>\
         <h1>Sign in</h1>{msg}<form method=\"post\" action=\"/{tenant}/oauth2/v2.0/authorize\">{hidden}\
         <label>Email <input type=\"email\" name=\"login\" id=\"i0116\" value=\"{login}\"></label>\
         <label>Password <input type=\"password\" name=\"passwd\" id=\"i0118\"></label>\
         <input type=\"submit\" id=\"idSIButton9\" value=\"Sign in\"></form></body></html>",
        tenant = escape(tenant),
    );
    (
        StatusCode::OK,
        [(header::CACHE_CONTROL, "no-store")],
        Html(body),
    )
        .into_response()
}

/// `GET /{tenant}/oauth2/v2.0/authorize`: the sign-in page.
pub async fn authorize_get(
    AxState(state): AxState<AppState>,
    Path(tenant): Path<String>,
    Query(p): Query<AuthorizeParams>,
) -> Response {
    match validate(&state, &tenant, &p) {
        Ok(_) => sign_in_page(&p, &tenant, None),
        Err(r) => r,
    }
}

/// `POST /{tenant}/oauth2/v2.0/authorize`: the credentials typed into the sign-in page.
pub async fn authorize_post(
    AxState(state): AxState<AppState>,
    Path(tenant): Path<String>,
    body: Bytes,
) -> Response {
    let Ok(form) = serde_urlencoded::from_bytes::<Vec<(String, String)>>(&body) else {
        return error_page(900144, "The request body could not be read.");
    };
    let get = |k: &str| form.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone());
    let p = AuthorizeParams {
        client_id: get("client_id").unwrap_or_default(),
        response_type: get("response_type").unwrap_or_default(),
        redirect_uri: get("redirect_uri").unwrap_or_default(),
        scope: get("scope").unwrap_or_default(),
        state: get("state"),
        nonce: get("nonce"),
        code_challenge: get("code_challenge"),
        code_challenge_method: get("code_challenge_method"),
        response_mode: get("response_mode"),
        login_hint: get("login"),
    };
    if let Err(r) = validate(&state, &tenant, &p) {
        return r;
    }
    let login = get("login").unwrap_or_default();
    let password = get("passwd").unwrap_or_default();
    let user = find_user(&state, &login).filter(|u| !u.deleted);
    let Some(user) = user.filter(|u| u.password.as_deref() == Some(password.as_str())) else {
        return sign_in_page(&p, &tenant, Some("Your account or password is incorrect."));
    };
    if !user.enabled {
        return sign_in_page(&p, &tenant, Some("Your account has been locked."));
    }
    match user.sign_in {
        SignInBehaviour::Normal | SignInBehaviour::MfaRequired => {}
        SignInBehaviour::ConditionalAccessBlocked => {
            return redirect_error(
                &p,
                "access_denied",
                53003,
                "Access has been blocked by Conditional Access policies.",
            );
        }
        SignInBehaviour::NotAssigned => {
            return redirect_error(
                &p,
                "access_denied",
                50105,
                "The signed in user is not assigned to a role for the application.",
            );
        }
    }
    let code = format!(
        "1.emu.{}{}",
        uuid::Uuid::new_v4().simple(),
        uuid::Uuid::new_v4().simple()
    );
    let challenge = p.code_challenge.clone().map(|c| {
        (
            c,
            p.code_challenge_method
                .clone()
                .unwrap_or_else(|| "plain".into()),
        )
    });
    lock(&state.oidc.codes).insert(
        code.clone(),
        AuthCode {
            client_id: p.client_id.clone(),
            redirect_uri: p.redirect_uri.clone(),
            user_id: user.id.clone(),
            scope: p.scope.clone(),
            nonce: p.nonce.clone(),
            challenge,
            expires_at: state.now() + chrono::Duration::minutes(10),
        },
    );
    let mut pairs = vec![("code", code.as_str())];
    if let Some(s) = &p.state {
        pairs.push(("state", s.as_str()));
    }
    redirect_with(&p.redirect_uri, &pairs)
}

/// The authorization code grant at the token endpoint.
pub(super) fn code_grant(
    state: &State,
    tenant: &str,
    headers: &HeaderMap,
    form: &BTreeMap<String, String>,
) -> EntraResult {
    let get = |k: &str| form.get(k).map(String::as_str).unwrap_or("");
    let code = get("code");
    if lock(&state.oidc.redeemed).contains(code) {
        return Err(bad(
            "invalid_grant",
            54005,
            "OAuth2 Authorization code was already redeemed, please retry with a new valid code or use an existing refresh token.",
        ));
    }
    let Some(grant) = lock(&state.oidc.codes).remove(code) else {
        return Err(bad(
            "invalid_grant",
            70000,
            "The provided value for the 'code' parameter is not valid.",
        ));
    };
    lock(&state.oidc.redeemed).insert(code.to_string());
    if state.now() >= grant.expires_at {
        return Err(bad(
            "invalid_grant",
            70008,
            "The provided authorization code or refresh token has expired due to inactivity. Send a new interactive authorization request for this user and resource.",
        ));
    }
    let app = find_app(state, &grant.client_id, tenant)?;
    if !get("client_id").eq_ignore_ascii_case(&grant.client_id) {
        return Err(bad(
            "invalid_grant",
            70000,
            "The code was issued to a different client.",
        ));
    }
    if !app.public_client {
        authenticate_client(state, tenant, headers, form)?;
    }
    if get("redirect_uri") != grant.redirect_uri {
        return Err(bad(
            "invalid_grant",
            70000,
            "The redirect URI does not match the one the authorization code was issued for.",
        ));
    }
    if let Some((challenge, method)) = &grant.challenge {
        let verifier = get("code_verifier");
        let computed = if method == "S256" {
            b64url(&Sha256::digest(verifier.as_bytes()))
        } else {
            verifier.to_string()
        };
        if verifier.is_empty() || computed != *challenge {
            return Err(bad(
                "invalid_grant",
                501481,
                "The Code_Verifier does not match the code_challenge supplied in the authorization request.",
            ));
        }
    } else if app.public_client {
        return Err(bad(
            "invalid_request",
            9002325,
            "Proof Key for Code Exchange is required for cross-origin authorization code redemption.",
        ));
    }
    let user = state
        .tenant()
        .directory
        .users
        .iter()
        .find(|u| u.id == grant.user_id)
        .cloned()
        .ok_or_else(|| bad("invalid_grant", 50034, "The user account does not exist."))?;
    let (resource, scp, _) = delegated_scope(state, &format!("{} User.Read", grant.scope))?;
    let (access, life) = issue_token(
        state,
        &resource,
        &user.id,
        &app.client_id,
        Some((&user.upn, &scp)),
        None,
    )
    .map_err(IntoResponse::into_response)?;
    let id = id_token(state, &app, &user, grant.nonce.as_deref())?;
    let mut body = json!({"token_type": "Bearer", "scope": grant.scope, "expires_in": life,
        "ext_expires_in": life, "access_token": access});
    if grant.scope.split_whitespace().any(|s| s == "openid") {
        body["id_token"] = json!(id);
    }
    Ok((StatusCode::OK, Json(body)).into_response())
}
