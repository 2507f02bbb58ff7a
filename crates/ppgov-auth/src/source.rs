//! The one interface the API clients see: something that hands out a bearer token per scope.

use chrono::{DateTime, Utc};
use ppgov_core::Secret;
use std::future::Future;
use std::pin::Pin;

/// A bearer token for one audience.
#[derive(Debug, Clone)]
pub struct AccessToken {
    /// The token; only ever exposed into an `Authorization` header.
    pub token: Secret<String>,
    /// When it stops working.
    pub expires_at: DateTime<Utc>,
}

/// Errors getting a token.
#[derive(Debug, thiserror::Error)]
pub enum AuthError {
    /// Entra refused the request (`error`, AADSTS code, description without secrets).
    #[error("sign-in refused: {error}{}: {description}", .aadsts.map(|c| format!(" (AADSTS{c})")).unwrap_or_default())]
    Refused {
        /// OAuth error, e.g. `invalid_client`.
        error: String,
        /// First AADSTS code, e.g. 7000215.
        aadsts: Option<u64>,
        /// First line of `error_description`.
        description: String,
        /// HTTP status.
        status: u16,
    },
    /// The token endpoint could not be reached or answered something unreadable.
    #[error("token endpoint {url}: {message}")]
    Transport {
        /// Token URL.
        url: String,
        /// What went wrong.
        message: String,
    },
    /// The configured credential cannot be used (unreadable certificate, wrong password, ...).
    #[error("credential: {0}")]
    Credential(String),
    /// Device code sign-in ended without a token.
    #[error("device code sign-in {0}")]
    DeviceCode(String),
}

/// A future that yields a token.
pub type TokenFuture<'a> =
    Pin<Box<dyn Future<Output = Result<AccessToken, AuthError>> + Send + 'a>>;

/// Hands out bearer tokens per scope (`https://service.powerapps.com/.default`, ...), caching and
/// refreshing them as it sees fit.
pub trait TokenSource: Send + Sync {
    /// A valid token for this scope.
    fn token<'a>(&'a self, scope: &'a str) -> TokenFuture<'a>;
    /// Forget the cached token for this scope (after a 401), so the next call fetches a new one.
    fn invalidate(&self, scope: &str);
}

/// A fixed token for every scope: for tests and for callers that bring their own token.
#[derive(Debug, Clone)]
pub struct StaticToken(pub Secret<String>);

impl TokenSource for StaticToken {
    fn token<'a>(&'a self, _scope: &'a str) -> TokenFuture<'a> {
        let t = AccessToken {
            token: self.0.clone(),
            expires_at: Utc::now() + chrono::Duration::hours(1),
        };
        Box::pin(async move { Ok(t) })
    }
    fn invalidate(&self, _scope: &str) {}
}
