//! The token endpoint (REFERENCE §2): client credentials (secret or certificate assertion),
//! password, refresh token, device code and authorization code grants.

use super::*;

pub(super) type EntraResult = Result<Response, Response>;

pub(super) fn bad(error: &str, code: u32, description: &str) -> Response {
    entra_error(StatusCode::BAD_REQUEST, error, code, description)
}

pub(super) fn parse_form(body: &[u8]) -> Result<BTreeMap<String, String>, Response> {
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

pub(super) fn check_tenant(state: &State, tenant: &str) -> Result<(), Response> {
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

pub(super) fn find_app(
    state: &State,
    client_id: &str,
    tenant: &str,
) -> Result<AppRegistration, Response> {
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
pub(super) fn known_resource(state: &State, resource: &str) -> Option<String> {
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
pub(super) fn delegated_scope(
    state: &State,
    scope: &str,
) -> Result<(String, String, bool), Response> {
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
        DEVICE_GRANT => super::device::device_poll(state, tenant, &form),
        "refresh_token" => refresh_grant(state, tenant, &form),
        "authorization_code" => super::oidc::code_grant(state, tenant, headers, &form),
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

pub(super) fn token_body(
    token: String,
    expires_in: i64,
    extra: Option<(String, Option<String>)>,
) -> Value {
    let mut body = json!({"token_type": "Bearer", "expires_in": expires_in, "ext_expires_in": expires_in, "access_token": token});
    if let Some((scope, refresh)) = extra {
        body["scope"] = Value::String(scope);
        if let Some(r) = refresh {
            body["refresh_token"] = Value::String(r);
        }
    }
    body
}

pub(super) fn authenticate_client(
    state: &State,
    tenant: &str,
    headers: &HeaderMap,
    form: &BTreeMap<String, String>,
) -> Result<AppRegistration, Response> {
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
    Ok(app)
}

fn client_credentials(
    state: &State,
    tenant: &str,
    headers: &HeaderMap,
    form: &BTreeMap<String, String>,
) -> EntraResult {
    let app = authenticate_client(state, tenant, headers, form)?;
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

pub(super) fn find_user(state: &State, username: &str) -> Option<User> {
    state
        .tenant()
        .directory
        .users
        .iter()
        .find(|u| u.upn.eq_ignore_ascii_case(username))
        .cloned()
}

/// Checks a user may get a delegated token through `app` (behaviour, consent) and issues it.
pub(super) fn delegated_token(
    state: &State,
    app: &AppRegistration,
    user: &User,
    scope: &str,
) -> EntraResult {
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
        let id_token = super::oidc::id_token(state, app, user, None)?;
        body["id_token"] = json!(id_token);
    }
    Ok((StatusCode::OK, Json(body)).into_response())
}

pub(super) fn public_app(
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
