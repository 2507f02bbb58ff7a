//! Test servers, a fast transport and a token source that counts invalidations.

use ppgov_auth::{AccessToken, StaticToken, TokenFuture, TokenSource};
use ppgov_client::{LifecycleConfig, LimiterConfig, RetryConfig, Transport, TransportConfig};
use ppgov_core::Secret;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;
use url::Url;

/// Serves a router on 127.0.0.1:0; returns its base URL (with trailing slash).
pub async fn serve(router: axum::Router) -> Url {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        axum::serve(listener, router).await.unwrap();
    });
    Url::parse(&format!("http://{addr}/")).unwrap()
}

/// Transport tuned for tests: short back-offs, no client-side rate limit to speak of.
pub fn fast_config() -> TransportConfig {
    TransportConfig {
        retry: RetryConfig {
            max_attempts: 4,
            max_throttled_attempts: 6,
            base_delay: Duration::from_millis(10),
            max_delay: Duration::from_secs(5),
            default_throttle_delay: Duration::from_millis(50),
            attempt_timeout: Duration::from_secs(10),
        },
        limiter: LimiterConfig {
            initial_rate: 5000.0,
            max_rate: 10000.0,
            ..Default::default()
        },
        lifecycle: LifecycleConfig {
            poll_interval: Duration::from_millis(20),
            max_wait: Duration::from_secs(10),
            conflict_delay: Duration::from_millis(30),
            conflict_attempts: 5,
        },
        ..Default::default()
    }
}

pub fn transport() -> Transport {
    Transport::with_config(
        Arc::new(StaticToken(Secret::new("tok".into()))),
        fast_config(),
    )
    .unwrap()
}

/// Hands out `tok-<n>` where n counts invalidations.
#[derive(Default)]
pub struct CountingToken {
    pub invalidations: AtomicUsize,
}

impl TokenSource for CountingToken {
    fn token<'a>(&'a self, _scope: &'a str) -> TokenFuture<'a> {
        let n = self.invalidations.load(Ordering::SeqCst);
        Box::pin(async move {
            Ok(AccessToken {
                token: Secret::new(format!("tok-{n}")),
                expires_at: chrono::Utc::now() + chrono::Duration::hours(1),
            })
        })
    }
    fn invalidate(&self, _scope: &str) {
        self.invalidations.fetch_add(1, Ordering::SeqCst);
    }
}

pub fn url(base: &Url, path: &str) -> Url {
    base.join(path.trim_start_matches('/')).unwrap()
}

pub const SCOPE: &str = "https://service.powerapps.com/.default";

/// Client-credentials tokens from the emulator's Entra endpoint, cached per scope.
pub struct EmulatorToken {
    pub token_url: String,
    pub client_id: String,
    pub client_secret: String,
    pub cache: std::sync::Mutex<std::collections::BTreeMap<String, String>>,
    pub http: reqwest::Client,
    /// `(username, password)` for a delegated (ROPC) token through the public client.
    pub user: Option<(String, String)>,
}

impl EmulatorToken {
    pub fn new(ready: &ppgov_emulator::server::Ready) -> Self {
        EmulatorToken {
            token_url: format!(
                "{}/{}/oauth2/v2.0/token",
                ready.url.trim_end_matches('/'),
                ready.tenant_id
            ),
            client_id: ready.client_id.clone(),
            client_secret: ready.client_secret.clone(),
            cache: Default::default(),
            http: reqwest::Client::new(),
            user: None,
        }
    }

    /// Delegated tokens for the well-known admin user.
    pub fn user(ready: &ppgov_emulator::server::Ready) -> Self {
        let mut t = EmulatorToken::new(ready);
        t.client_id = ppgov_emulator::scenario::wellknown::PUBLIC_CLIENT_ID.to_owned();
        t.user = Some((ready.username.clone(), ready.password.clone()));
        t
    }
}

impl TokenSource for EmulatorToken {
    fn token<'a>(&'a self, scope: &'a str) -> TokenFuture<'a> {
        Box::pin(async move {
            if let Some(t) = self.cache.lock().unwrap().get(scope).cloned() {
                return Ok(AccessToken {
                    token: Secret::new(t),
                    expires_at: chrono::Utc::now() + chrono::Duration::minutes(30),
                });
            }
            let form: Vec<(&str, &str)> = match &self.user {
                Some((u, p)) => vec![
                    ("grant_type", "password"),
                    ("client_id", &self.client_id),
                    ("username", u),
                    ("password", p),
                    ("scope", scope),
                ],
                None => vec![
                    ("grant_type", "client_credentials"),
                    ("client_id", &self.client_id),
                    ("client_secret", &self.client_secret),
                    ("scope", scope),
                ],
            };
            let resp = self
                .http
                .post(&self.token_url)
                .form(&form)
                .send()
                .await
                .unwrap();
            let status = resp.status();
            let v: serde_json::Value = resp.json().await.unwrap();
            assert!(status.is_success(), "token: {status} {v}");
            let t = v["access_token"].as_str().unwrap().to_owned();
            self.cache
                .lock()
                .unwrap()
                .insert(scope.to_owned(), t.clone());
            Ok(AccessToken {
                token: Secret::new(t),
                expires_at: chrono::Utc::now() + chrono::Duration::minutes(30),
            })
        })
    }
    fn invalidate(&self, scope: &str) {
        self.cache.lock().unwrap().remove(scope);
    }
}
