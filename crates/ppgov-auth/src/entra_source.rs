//! [`EntraTokenSource`]: one token per scope, cached in memory and renewed before expiry; one
//! request per scope at a time (concurrent callers share it); refresh tokens for user sign-in,
//! optionally kept on disk.

use crate::cache::{CachedAccount, TokenCache};
use crate::credential::Credential;
use crate::entra::{devicecode_url, token_url};
use crate::flows::{self, Ctx, DeviceCodePrompt, DevicePolling, Grant, PromptFn, Sleeper};
use crate::source::{AccessToken, AuthError, TokenFuture, TokenSource};
use chrono::Utc;
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use url::Url;

/// Knobs of [`EntraTokenSource`].
#[derive(Clone)]
pub struct SourceOptions {
    /// HTTP client (timeouts, proxy); a default one when `None`. It must be built with
    /// `redirect::Policy::none()`: token requests never follow redirects.
    pub http: Option<reqwest::Client>,
    /// Renew a cached token this long before it expires (default 5 minutes).
    pub refresh_margin: Duration,
    /// On-disk cache for interactive sign-in (refresh token + account); `None` = memory only.
    pub cache_file: Option<PathBuf>,
    /// Shows the device-code prompt (default: Entra's message on stderr).
    pub on_device_code: PromptFn,
    /// Waits between device-code polls (default: tokio's sleep).
    pub sleep: Sleeper,
    /// Added to the poll interval on `slow_down` (RFC 8628: 5 s).
    pub slow_down_step: Duration,
    /// `login_hint` sent with the device-code request.
    pub login_hint: Option<String>,
}

impl std::fmt::Debug for SourceOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SourceOptions")
            .field("refresh_margin", &self.refresh_margin)
            .field("cache_file", &self.cache_file)
            .field("slow_down_step", &self.slow_down_step)
            .finish_non_exhaustive()
    }
}

impl Default for SourceOptions {
    fn default() -> Self {
        SourceOptions {
            http: None,
            refresh_margin: Duration::from_secs(300),
            cache_file: None,
            on_device_code: Arc::new(|p: &DeviceCodePrompt| eprintln!("{}", p.message)),
            sleep: Arc::new(|d| Box::pin(tokio::time::sleep(d))),
            slow_down_step: Duration::from_secs(5),
            login_hint: None,
        }
    }
}

type Slot = Arc<SlotInner>;

/// One scope's cached token. Readers take the plain lock for a moment; only a caller that must
/// fetch takes the async lock, so a busy crawl's thousands of calls a second never queue behind
/// one another (a fair async lock hands over through the scheduler, one task at a time).
#[derive(Debug, Default)]
struct SlotInner {
    current: Mutex<Option<AccessToken>>,
    fetching: tokio::sync::Mutex<()>,
}

struct Inner {
    credential: Credential,
    tenant: String,
    token_url: String,
    devicecode_url: String,
    http: reqwest::Client,
    opts: SourceOptions,
    cache: Option<TokenCache>,
    slots: Mutex<BTreeMap<String, Slot>>,
    /// The user's refresh token; the lock also keeps two scopes from starting two sign-ins.
    user: tokio::sync::Mutex<Option<CachedAccount>>,
    requests: std::sync::atomic::AtomicU64,
}

/// Tokens from Microsoft Entra for one credential in one tenant.
#[derive(Clone)]
pub struct EntraTokenSource {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for EntraTokenSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EntraTokenSource")
            .field("credential", &self.inner.credential)
            .field("tenant", &self.inner.tenant)
            .field("token_url", &self.inner.token_url)
            .finish_non_exhaustive()
    }
}

impl EntraTokenSource {
    /// A source for `credential` in `tenant` at the Entra authority `login`.
    pub fn new(
        credential: Credential,
        tenant: &str,
        login: &Url,
        opts: SourceOptions,
    ) -> EntraTokenSource {
        // A default client that never follows redirects and has a timeout. A caller's own client
        // must not follow redirects either: a 3xx is refused either way, but only a client that
        // does not follow it keeps the credential from being re-sent.
        let http = opts.http.clone().unwrap_or_else(crate::entra::http_client);
        let cache = opts
            .cache_file
            .clone()
            .filter(|_| credential.is_delegated())
            .map(TokenCache::new);
        EntraTokenSource {
            inner: Arc::new(Inner {
                token_url: token_url(login, tenant),
                devicecode_url: devicecode_url(login, tenant),
                tenant: tenant.to_string(),
                credential,
                http,
                opts,
                cache,
                slots: Mutex::new(BTreeMap::new()),
                user: tokio::sync::Mutex::new(None),
                requests: std::sync::atomic::AtomicU64::new(0),
            }),
        }
    }

    /// From the validated configuration (credential, tenant, login endpoint, token cache).
    pub fn from_config(
        config: &ppgov_config::Config,
        mut opts: SourceOptions,
    ) -> Result<EntraTokenSource, AuthError> {
        let credential = Credential::from_config(&config.auth)?;
        if opts.cache_file.is_none() {
            opts.cache_file = config.auth.token_cache.clone();
        }
        Ok(EntraTokenSource::new(
            credential,
            &config.tenant.id,
            &config.endpoints().login,
            opts,
        ))
    }

    /// The token endpoint this source posts to.
    pub fn token_url(&self) -> &str {
        &self.inner.token_url
    }

    /// Token requests made so far (each grant, refresh or device-code sign-in counts once).
    pub fn requests_made(&self) -> u64 {
        self.inner
            .requests
            .load(std::sync::atomic::Ordering::Relaxed)
    }

    /// Forgets the cached user sign-in (memory and disk): the next token needs a new sign-in.
    pub async fn sign_out(&self) -> Result<(), AuthError> {
        *self.inner.user.lock().await = None;
        if let Ok(mut s) = self.inner.slots.lock() {
            s.clear();
        }
        match &self.inner.cache {
            Some(c) => c.store(&self.inner.tenant, self.inner.credential.client_id(), None),
            None => Ok(()),
        }
    }

    fn slot(&self, scope: &str) -> Slot {
        match self.inner.slots.lock() {
            Ok(mut s) => s.entry(scope.to_string()).or_default().clone(),
            // A poisoned map only loses caching, never correctness.
            Err(_) => Slot::default(),
        }
    }

    async fn get(&self, scope: &str) -> Result<AccessToken, AuthError> {
        let slot = self.slot(scope);
        let margin = chrono::Duration::from_std(self.inner.opts.refresh_margin)
            .unwrap_or_else(|_| chrono::Duration::minutes(5));
        let fresh = |slot: &SlotInner| -> Option<AccessToken> {
            let cached = slot.current.lock().ok()?;
            cached
                .as_ref()
                .filter(|t| t.expires_at - margin > Utc::now())
                .cloned()
        };
        if let Some(t) = fresh(&slot) {
            return Ok(t);
        }
        // Holding the fetch lock across the request is the single flight: concurrent callers
        // for this scope wait here and then find the fresh token.
        let _fetching = slot.fetching.lock().await;
        if let Some(t) = fresh(&slot) {
            return Ok(t);
        }
        let token = self.fetch(scope).await?;
        if let Ok(mut cached) = slot.current.lock() {
            *cached = Some(token.clone());
        }
        Ok(token)
    }

    async fn fetch(&self, scope: &str) -> Result<AccessToken, AuthError> {
        let inner = &self.inner;
        let ctx = Ctx {
            http: &inner.http,
            token_url: &inner.token_url,
            devicecode_url: &inner.devicecode_url,
        };
        let count = || {
            inner
                .requests
                .fetch_add(1, std::sync::atomic::Ordering::Relaxed)
        };
        match &inner.credential {
            Credential::ClientSecret { .. } | Credential::Certificate { .. } => {
                count();
                let t = flows::client_credentials(&ctx, &inner.credential, scope)
                    .await
                    .map(|g| g.access);
                trace_result(scope, &t);
                t
            }
            Credential::Password {
                client_id,
                username,
                password,
            } => {
                let mut user = inner.user.lock().await;
                if let Some(t) = self.try_refresh(&ctx, client_id, scope, &mut user).await? {
                    return Ok(t);
                }
                count();
                let g = flows::password(&ctx, client_id, username, password, scope).await;
                self.keep(g, &mut user, Some(username.clone()))
            }
            Credential::DeviceCode { client_id } => {
                let mut user = inner.user.lock().await;
                if let Some(t) = self.try_refresh(&ctx, client_id, scope, &mut user).await? {
                    return Ok(t);
                }
                count();
                let polling = DevicePolling {
                    prompt: inner.opts.on_device_code.clone(),
                    sleep: inner.opts.sleep.clone(),
                    slow_down_step: inner.opts.slow_down_step,
                    login_hint: inner.opts.login_hint.clone(),
                };
                let g = flows::device_code(&ctx, client_id, scope, &polling).await;
                self.keep(g, &mut user, None)
            }
        }
    }

    /// Uses the user's refresh token (from memory, else the disk cache). `Ok(None)` when there is
    /// none or Entra no longer accepts it (then the caller signs in again).
    async fn try_refresh(
        &self,
        ctx: &Ctx<'_>,
        client_id: &str,
        scope: &str,
        user: &mut Option<CachedAccount>,
    ) -> Result<Option<AccessToken>, AuthError> {
        let inner = &self.inner;
        if user.is_none()
            && let Some(c) = &inner.cache
        {
            // A cache others can read is refused outright (the user must fix or delete it);
            // an unreadable one only costs a new sign-in.
            c.check_private()?;
            *user = c.load(&inner.tenant, client_id).unwrap_or_else(|e| {
                tracing::warn!(error = %e, "ignoring unreadable token cache");
                None
            });
        }
        let Some(account) = user.clone() else {
            return Ok(None);
        };
        inner
            .requests
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        match flows::refresh(ctx, client_id, &account.refresh_token, scope).await {
            Ok(g) => self.keep(Ok(g), user, account.account).map(Some),
            Err(AuthError::Refused { error, aadsts, .. }) if error == "invalid_grant" => {
                tracing::info!(
                    ?aadsts,
                    "refresh token no longer accepted; signing in again"
                );
                *user = None;
                Ok(None)
            }
            Err(e) => Err(e),
        }
    }

    /// Remembers the refresh token of a delegated grant (memory and disk).
    fn keep(
        &self,
        grant: Result<Grant, AuthError>,
        user: &mut Option<CachedAccount>,
        account: Option<String>,
    ) -> Result<AccessToken, AuthError> {
        let g = grant?;
        if let Some(rt) = g.refresh {
            let account = account.or_else(|| crate::describe::describe(&g.access).user);
            let entry = CachedAccount {
                account,
                refresh_token: rt,
            };
            if let Some(c) = &self.inner.cache
                && let Err(e) = c.store(
                    &self.inner.tenant,
                    self.inner.credential.client_id(),
                    Some(entry.clone()),
                )
            {
                tracing::warn!(error = %e, "token cache not written");
            }
            *user = Some(entry);
        }
        Ok(g.access)
    }
}

fn trace_result(scope: &str, r: &Result<AccessToken, AuthError>) {
    match r {
        Ok(t) => tracing::debug!(scope, expires_at = %t.expires_at, "token acquired"),
        Err(e) => tracing::debug!(scope, error = %e, "token refused"),
    }
}

impl TokenSource for EntraTokenSource {
    fn token<'a>(&'a self, scope: &'a str) -> TokenFuture<'a> {
        Box::pin(self.get(scope))
    }

    fn invalidate(&self, scope: &str) {
        if let Ok(mut s) = self.inner.slots.lock() {
            // Dropping the slot (rather than clearing it) never waits on an in-flight request.
            s.remove(scope);
        }
    }
}
