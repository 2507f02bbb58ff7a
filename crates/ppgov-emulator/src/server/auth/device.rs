//! The device code flow, made deterministic for tests (see the module above).

use super::token::{
    EntraResult, bad, check_tenant, delegated_scope, delegated_token, find_app, find_user,
    parse_form, public_app,
};
use super::*;

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

pub(super) fn device_poll(
    state: &State,
    tenant: &str,
    form: &BTreeMap<String, String>,
) -> EntraResult {
    let code = form.get("device_code").map(String::as_str).unwrap_or("");
    let client_id = form.get("client_id").map(String::as_str).unwrap_or("");
    let now = state.now();
    let min_gap = *super::super::state::read(&state.device_poll_min_gap);
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
