//! One function per grant. Client credentials, password and refresh go through the `oauth2`
//! crate; the device code flow is driven here because Entra's answer carries a `message` and
//! its polling must follow the server's `interval` and `slow_down` exactly.

use crate::certificate::JWT_BEARER;
use crate::credential::Credential;
use crate::entra::{self, LastError};
use crate::source::{AccessToken, AuthError};
use chrono::Utc;
use oauth2::basic::BasicClient;
use oauth2::{
    AuthType, ClientId, ClientSecret, RefreshToken, ResourceOwnerPassword, ResourceOwnerUsername,
    Scope, TokenResponse, TokenUrl,
};
use ppgov_core::Secret;
use serde::Deserialize;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

/// A token plus, for delegated flows, the refresh token that came with it.
pub(crate) struct Grant {
    pub access: AccessToken,
    pub refresh: Option<Secret<String>>,
}

/// What the device-code prompt shows the user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeviceCodePrompt {
    /// Entra's instruction text ("To sign in, use a web browser to open ...").
    pub message: String,
    /// The code to type.
    pub user_code: String,
    /// Where to type it.
    pub verification_uri: String,
}

/// Sleeps; injectable so tests can observe (or shorten) polling waits.
pub type Sleeper = Arc<dyn Fn(Duration) -> Pin<Box<dyn Future<Output = ()> + Send>> + Send + Sync>;

/// Shows the device-code prompt.
pub type PromptFn = Arc<dyn Fn(&DeviceCodePrompt) + Send + Sync>;

pub(crate) struct Ctx<'a> {
    pub http: &'a reqwest::Client,
    pub token_url: &'a str,
    pub devicecode_url: &'a str,
}

fn grant_from(resp: &oauth2::basic::BasicTokenResponse) -> Grant {
    let life = resp.expires_in().unwrap_or(Duration::from_secs(3599));
    let expires_at = expiry(life.as_secs());
    Grant {
        access: AccessToken {
            token: Secret::new(resp.access_token().secret().clone()),
            expires_at,
        },
        refresh: resp
            .refresh_token()
            .map(|r| Secret::new(r.secret().clone())),
    }
}

/// When a token with `expires_in` seconds of life stops working. Any value a server sends is
/// bounded to a day (Entra's tokens live about an hour), so a hostile `expires_in` neither
/// panics the date arithmetic nor keeps a token cached for ever.
pub(crate) fn expiry(expires_in: u64) -> chrono::DateTime<Utc> {
    let secs = i64::try_from(expires_in.min(86_400)).unwrap_or(3599);
    Utc::now() + chrono::Duration::seconds(secs)
}

fn client(
    ctx: &Ctx<'_>,
    client_id: &str,
) -> Result<
    oauth2::basic::BasicClient<
        oauth2::EndpointNotSet,
        oauth2::EndpointNotSet,
        oauth2::EndpointNotSet,
        oauth2::EndpointNotSet,
        oauth2::EndpointSet,
    >,
    AuthError,
> {
    let url = TokenUrl::new(ctx.token_url.to_string()).map_err(|e| AuthError::Transport {
        url: ctx.token_url.to_string(),
        message: format!("invalid token URL: {e}"),
    })?;
    Ok(BasicClient::new(ClientId::new(client_id.to_string()))
        .set_token_uri(url)
        .set_auth_type(AuthType::RequestBody))
}

/// App-only token (client secret or certificate) for one `/.default` scope.
pub(crate) async fn client_credentials(
    ctx: &Ctx<'_>,
    cred: &Credential,
    scope: &str,
) -> Result<Grant, AuthError> {
    let last: LastError = Default::default();
    let http = ctx.http.clone();
    let l2 = last.clone();
    let send = move |req| entra::send(http.clone(), l2.clone(), req);
    let result = match cred {
        Credential::ClientSecret { client_id, secret } => {
            let c = client(ctx, client_id)?
                .set_client_secret(ClientSecret::new(secret.expose().clone()));
            c.exchange_client_credentials()
                .add_scope(Scope::new(scope.to_string()))
                .request_async(&send)
                .await
        }
        Credential::Certificate {
            client_id,
            certificate,
            alg,
        } => {
            let assertion = certificate.assertion(client_id, ctx.token_url, *alg, Utc::now())?;
            let c = client(ctx, client_id)?;
            c.exchange_client_credentials()
                .add_scope(Scope::new(scope.to_string()))
                .add_extra_param("client_assertion_type", JWT_BEARER)
                .add_extra_param("client_assertion", assertion)
                .request_async(&send)
                .await
        }
        _ => {
            return Err(AuthError::Credential(
                "client credentials need a secret or a certificate".into(),
            ));
        }
    };
    result
        .map(|r| grant_from(&r))
        .map_err(|e| entra::map_oauth_error(ctx.token_url, &last, e))
}

/// Delegated scopes: the resource scope plus `offline_access` for a refresh token.
fn delegated(scope: &str) -> [Scope; 2] {
    [
        Scope::new(scope.to_string()),
        Scope::new("offline_access".into()),
    ]
}

/// ROPC.
pub(crate) async fn password(
    ctx: &Ctx<'_>,
    client_id: &str,
    username: &str,
    password: &Secret<String>,
    scope: &str,
) -> Result<Grant, AuthError> {
    let last: LastError = Default::default();
    let http = ctx.http.clone();
    let l2 = last.clone();
    let send = move |req| entra::send(http.clone(), l2.clone(), req);
    let c = client(ctx, client_id)?;
    let user = ResourceOwnerUsername::new(username.to_string());
    let pass = ResourceOwnerPassword::new(password.expose().clone());
    c.exchange_password(&user, &pass)
        .add_scopes(delegated(scope))
        .request_async(&send)
        .await
        .map(|r| grant_from(&r))
        .map_err(|e| entra::map_oauth_error(ctx.token_url, &last, e))
}

/// Refresh-token grant for `scope` (Entra refresh tokens work across resources).
pub(crate) async fn refresh(
    ctx: &Ctx<'_>,
    client_id: &str,
    refresh_token: &Secret<String>,
    scope: &str,
) -> Result<Grant, AuthError> {
    let last: LastError = Default::default();
    let http = ctx.http.clone();
    let l2 = last.clone();
    let send = move |req| entra::send(http.clone(), l2.clone(), req);
    let c = client(ctx, client_id)?;
    let rt = RefreshToken::new(refresh_token.expose().clone());
    c.exchange_refresh_token(&rt)
        .add_scopes(delegated(scope))
        .request_async(&send)
        .await
        .map(|r| grant_from(&r))
        .map_err(|e| entra::map_oauth_error(ctx.token_url, &last, e))
}

#[derive(Deserialize)]
struct DeviceAuthorization {
    device_code: String,
    user_code: String,
    verification_uri: String,
    expires_in: u64,
    #[serde(default)]
    interval: Option<u64>,
    #[serde(default)]
    message: Option<String>,
}

#[derive(Deserialize)]
struct TokenBody {
    access_token: String,
    #[serde(default)]
    expires_in: Option<u64>,
    #[serde(default)]
    refresh_token: Option<String>,
}

/// Polling knobs of the device code flow.
#[derive(Clone)]
pub(crate) struct DevicePolling {
    pub prompt: PromptFn,
    pub sleep: Sleeper,
    pub slow_down_step: Duration,
    pub login_hint: Option<String>,
}

async fn post_form(
    ctx: &Ctx<'_>,
    url: &str,
    form: &[(&str, &str)],
) -> Result<(u16, Vec<u8>), AuthError> {
    let resp = ctx
        .http
        .post(url)
        .header(reqwest::header::ACCEPT, "application/json")
        .form(form)
        .send()
        .await
        .map_err(|e| AuthError::Transport {
            url: url.to_string(),
            message: format!("cannot reach Entra: {}", entra::error_chain(&e)),
        })?;
    let status = resp.status().as_u16();
    if resp.status().is_redirection() {
        let location = resp
            .headers()
            .get(reqwest::header::LOCATION)
            .and_then(|v| v.to_str().ok());
        return Err(entra::redirect_error(url, status, location));
    }
    let body = resp.bytes().await.map_err(|e| AuthError::Transport {
        url: url.to_string(),
        message: format!("answer cut short: {}", entra::error_chain(&e)),
    })?;
    Ok((status, body.to_vec()))
}

/// Device code: ask for a code, show the prompt, poll until the user signs in (or it ends).
pub(crate) async fn device_code(
    ctx: &Ctx<'_>,
    client_id: &str,
    scope: &str,
    polling: &DevicePolling,
) -> Result<Grant, AuthError> {
    let scopes = format!("{scope} offline_access");
    let mut form = vec![("client_id", client_id), ("scope", scopes.as_str())];
    if let Some(h) = &polling.login_hint {
        form.push(("login_hint", h.as_str()));
    }
    let (status, body) = post_form(ctx, ctx.devicecode_url, &form).await?;
    if !(200..300).contains(&status) {
        return Err(entra::error_from(ctx.devicecode_url, status, &body));
    }
    let auth: DeviceAuthorization =
        serde_json::from_slice(&body).map_err(|e| AuthError::Transport {
            url: ctx.devicecode_url.to_string(),
            message: format!("unreadable device code answer: {e}"),
        })?;
    (polling.prompt)(&DeviceCodePrompt {
        message: auth.message.clone().unwrap_or_else(|| {
            format!(
                "To sign in, open {} and enter the code {}.",
                auth.verification_uri, auth.user_code
            )
        }),
        user_code: auth.user_code.clone(),
        verification_uri: auth.verification_uri.clone(),
    });
    // Bounded: a device code lives 15 minutes; a hostile `expires_in` must not overflow.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(auth.expires_in.min(86_400));
    let mut interval = Duration::from_secs(auth.interval.unwrap_or(5).clamp(1, 3600));
    let grant_type = "urn:ietf:params:oauth:grant-type:device_code";
    loop {
        if tokio::time::Instant::now() + interval > deadline {
            return Err(AuthError::DeviceCode("expired before the user signed in; run the command again and enter the code sooner".into()));
        }
        (polling.sleep)(interval).await;
        let form = [
            ("grant_type", grant_type),
            ("client_id", client_id),
            ("device_code", auth.device_code.as_str()),
        ];
        let (status, body) = post_form(ctx, ctx.token_url, &form).await?;
        if (200..300).contains(&status) {
            let t: TokenBody = serde_json::from_slice(&body).map_err(|e| AuthError::Transport {
                url: ctx.token_url.to_string(),
                message: format!("unreadable token answer: {e}"),
            })?;
            let expires_at = expiry(t.expires_in.unwrap_or(3599));
            return Ok(Grant {
                access: AccessToken {
                    token: Secret::new(t.access_token),
                    expires_at,
                },
                refresh: t.refresh_token.map(Secret::new),
            });
        }
        let err = entra::error_from(ctx.token_url, status, &body);
        let code = match &err {
            AuthError::Refused { error, .. } => error.clone(),
            _ => return Err(err),
        };
        match code.as_str() {
            "authorization_pending" => {}
            "slow_down" => interval += polling.slow_down_step,
            "expired_token" => return Err(AuthError::DeviceCode("expired before the user signed in; run the command again and enter the code sooner".into())),
            "authorization_declined" => return Err(AuthError::DeviceCode("was declined by the user; run the command again and approve the sign-in".into())),
            "bad_verification_code" => return Err(AuthError::DeviceCode("code was not recognised by Entra; run the command again".into())),
            _ => return Err(err),
        }
    }
}
