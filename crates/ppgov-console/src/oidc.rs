//! Sign-in with Microsoft Entra: the OpenID Connect authorization code flow with PKCE (S256).
//!
//! The provider's metadata comes from its discovery document
//! (`{login}/{tenant}/v2.0/.well-known/openid-configuration`). Its authorization, token and key
//! endpoints must be on the sign-in host itself, so the client secret and the code are only ever
//! sent there. An ID token is accepted only when it is RS256-signed by a key of the tenant's
//! JWKS (fetched again once when a `kid` is unknown, as keys roll over), its issuer is the
//! discovered one, its audience is the console's client id, its `tid` is the tenant's, it is
//! within its validity and it carries the nonce of this sign-in.

use crate::error::ConsoleError;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use ppgov_core::Secret;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::time::Duration;
use tokio::sync::{Mutex, OnceCell};
use url::Url;

/// A random value of 32 bytes, URL-safe base64 (43 characters): states, nonces, verifiers,
/// session ids.
pub(crate) fn random_token() -> String {
    URL_SAFE_NO_PAD.encode(rand::random::<[u8; 32]>())
}

/// The PKCE S256 challenge of a verifier.
pub(crate) fn challenge(verifier: &str) -> String {
    URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()))
}

/// What the discovery document says.
#[derive(Debug, Clone, Deserialize)]
struct Metadata {
    issuer: String,
    authorization_endpoint: Url,
    token_endpoint: Url,
    jwks_uri: Url,
}

#[derive(Debug, Clone, Deserialize)]
struct Jwk {
    #[serde(default)]
    kid: Option<String>,
    kty: String,
    #[serde(default)]
    n: Option<String>,
    #[serde(default)]
    e: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
struct Jwks {
    keys: Vec<Jwk>,
}

/// The claims ppgov reads from an ID token.
#[derive(Debug, Clone, Deserialize)]
struct Claims {
    #[serde(default)]
    nonce: Option<String>,
    #[serde(default)]
    tid: Option<String>,
    #[serde(default)]
    oid: Option<String>,
    #[serde(default)]
    preferred_username: Option<String>,
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    roles: Vec<String>,
    #[serde(default)]
    groups: Vec<String>,
}

/// Who signed in, as the verified ID token says.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Identity {
    /// Object id of the user.
    pub oid: String,
    /// Sign-in name (UPN), lower case.
    pub username: String,
    /// Display name.
    pub name: String,
    /// App roles (`ppgov.Admin`, ...).
    pub roles: Vec<String>,
    /// Group object ids, lower case.
    pub groups: Vec<String>,
}

/// A sign-in started at the provider and not yet finished.
#[derive(Debug, Clone)]
pub(crate) struct Started {
    /// Where to send the browser.
    pub url: Url,
    /// The `state` sent (the key of the pending sign-in).
    pub state: String,
    /// The nonce the ID token must carry.
    pub nonce: String,
    /// The PKCE verifier.
    pub verifier: String,
}

/// The console's client of one Entra tenant.
pub struct Provider {
    login: Url,
    tenant: String,
    client_id: String,
    secret: Secret<String>,
    http: reqwest::Client,
    meta: OnceCell<Metadata>,
    keys: Mutex<Option<Jwks>>,
}

impl std::fmt::Debug for Provider {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Provider")
            .field("login", &self.login.as_str())
            .field("tenant", &self.tenant)
            .field("client_id", &self.client_id)
            .finish_non_exhaustive()
    }
}

fn same_origin(a: &Url, b: &Url) -> bool {
    a.scheme() == b.scheme()
        && a.host_str() == b.host_str()
        && a.port_or_known_default() == b.port_or_known_default()
}

impl Provider {
    /// A client of `tenant`'s Entra at the `login` authority host (the cloud's, or the
    /// emulator's).
    pub fn new(
        login: Url,
        tenant: &str,
        client_id: &str,
        secret: Secret<String>,
    ) -> Result<Provider, ConsoleError> {
        let http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .connect_timeout(Duration::from_secs(10))
            .timeout(Duration::from_secs(30))
            .build()
            .map_err(|e| ConsoleError::SignInSetup(format!("cannot build the HTTP client: {e}")))?;
        Ok(Provider {
            login,
            tenant: tenant.to_string(),
            client_id: client_id.to_string(),
            secret,
            http,
            meta: OnceCell::new(),
            keys: Mutex::new(None),
        })
    }

    async fn get_json<T: for<'de> Deserialize<'de>>(
        &self,
        url: &Url,
        what: &str,
    ) -> Result<T, ConsoleError> {
        let fail = |m: String| ConsoleError::SignInSetup(format!("{what} at {url}: {m}"));
        let resp = self
            .http
            .get(url.clone())
            .send()
            .await
            .map_err(|e| fail(e.without_url().to_string()))?;
        if !resp.status().is_success() {
            return Err(fail(format!("HTTP {}", resp.status())));
        }
        let body = resp
            .bytes()
            .await
            .map_err(|e| fail(e.without_url().to_string()))?;
        serde_json::from_slice(&body).map_err(|e| fail(format!("unreadable answer: {e}")))
    }

    async fn metadata(&self) -> Result<&Metadata, ConsoleError> {
        self.meta
            .get_or_try_init(|| async {
                let mut url = self.login.clone();
                url.set_path(&format!(
                    "/{}/v2.0/.well-known/openid-configuration",
                    self.tenant
                ));
                let meta: Metadata = self.get_json(&url, "the discovery document").await?;
                for (name, u) in [
                    ("authorization_endpoint", &meta.authorization_endpoint),
                    ("token_endpoint", &meta.token_endpoint),
                    ("jwks_uri", &meta.jwks_uri),
                ] {
                    if !same_origin(u, &self.login) {
                        return Err(ConsoleError::SignInSetup(format!(
                            "the discovery document's {name} ({u}) is not on the sign-in host {}; \
                             nothing is sent there (check [endpoints] login)",
                            self.login
                        )));
                    }
                }
                Ok(meta)
            })
            .await
    }

    /// Starts a sign-in: the authorization URL with a fresh state, nonce and PKCE challenge.
    pub(crate) async fn start(&self, redirect_uri: &str) -> Result<Started, ConsoleError> {
        let meta = self.metadata().await?;
        let (state, nonce, verifier) = (random_token(), random_token(), random_token());
        let mut url = meta.authorization_endpoint.clone();
        url.query_pairs_mut()
            .append_pair("client_id", &self.client_id)
            .append_pair("response_type", "code")
            .append_pair("redirect_uri", redirect_uri)
            .append_pair("response_mode", "query")
            .append_pair("scope", "openid profile")
            .append_pair("state", &state)
            .append_pair("nonce", &nonce)
            .append_pair("code_challenge", &challenge(&verifier))
            .append_pair("code_challenge_method", "S256");
        Ok(Started {
            url,
            state,
            nonce,
            verifier,
        })
    }

    /// Redeems an authorization code and verifies the ID token it brings.
    pub(crate) async fn finish(
        &self,
        code: &str,
        redirect_uri: &str,
        verifier: &str,
        nonce: &str,
    ) -> Result<Identity, ConsoleError> {
        let meta = self.metadata().await?;
        let form = [
            ("client_id", self.client_id.as_str()),
            ("client_secret", self.secret.expose().as_str()),
            ("grant_type", "authorization_code"),
            ("code", code),
            ("redirect_uri", redirect_uri),
            ("code_verifier", verifier),
            ("scope", "openid profile"),
        ];
        let resp = self
            .http
            .post(meta.token_endpoint.clone())
            .form(&form)
            .send()
            .await
            .map_err(|e| {
                ConsoleError::SignIn(format!("the token endpoint: {}", e.without_url()))
            })?;
        let status = resp.status();
        let body: serde_json::Value = resp
            .json()
            .await
            .map_err(|e| ConsoleError::SignIn(format!("the token endpoint's answer: {e}")))?;
        if !status.is_success() {
            let desc = body["error_description"]
                .as_str()
                .or(body["error"].as_str())
                .unwrap_or("no description");
            return Err(ConsoleError::SignIn(format!(
                "the token endpoint refused the code (HTTP {status}): {}",
                first_line(desc)
            )));
        }
        let Some(id_token) = body["id_token"].as_str() else {
            return Err(ConsoleError::SignIn(
                "the token endpoint sent no id_token".into(),
            ));
        };
        self.verify(id_token, nonce).await
    }

    async fn key_for(&self, kid: &str) -> Result<DecodingKey, ConsoleError> {
        let mut keys = self.keys.lock().await;
        for attempt in 0..2 {
            if keys.is_none() || attempt == 1 {
                let meta = self.metadata().await?;
                *keys = Some(self.get_json(&meta.jwks_uri, "the signing keys").await?);
            }
            if let Some(k) = keys.as_ref().and_then(|ks| {
                ks.keys
                    .iter()
                    .find(|k| k.kid.as_deref() == Some(kid) && k.kty == "RSA")
            }) {
                let (Some(n), Some(e)) = (&k.n, &k.e) else {
                    return Err(ConsoleError::SignIn(format!(
                        "signing key {kid} has no modulus or exponent"
                    )));
                };
                return DecodingKey::from_rsa_components(n, e)
                    .map_err(|e| ConsoleError::SignIn(format!("signing key {kid}: {e}")));
            }
        }
        Err(ConsoleError::SignIn(format!(
            "the ID token is signed with key {kid}, which the tenant does not publish"
        )))
    }

    /// Checks an ID token's signature, issuer, audience, validity, tenant and nonce.
    pub(crate) async fn verify(&self, token: &str, nonce: &str) -> Result<Identity, ConsoleError> {
        let bad = |m: String| ConsoleError::SignIn(format!("the ID token was refused: {m}"));
        let header = jsonwebtoken::decode_header(token).map_err(|e| bad(e.to_string()))?;
        if header.alg != Algorithm::RS256 {
            return Err(bad(format!(
                "it is signed with {:?}, not RS256",
                header.alg
            )));
        }
        let kid = header
            .kid
            .ok_or_else(|| bad("it names no signing key".into()))?;
        let key = self.key_for(&kid).await?;
        let meta = self.metadata().await?;
        let mut v = Validation::new(Algorithm::RS256);
        v.set_issuer(&[meta.issuer.as_str()]);
        v.set_audience(&[self.client_id.as_str()]);
        v.set_required_spec_claims(&["exp", "iss", "aud", "nbf"]);
        v.validate_nbf = true;
        v.leeway = 300;
        let data =
            jsonwebtoken::decode::<Claims>(token, &key, &v).map_err(|e| bad(e.to_string()))?;
        let c = data.claims;
        if c.nonce.as_deref() != Some(nonce) {
            return Err(bad(
                "its nonce is not this sign-in's (a replayed token?)".into()
            ));
        }
        if !c
            .tid
            .as_deref()
            .is_some_and(|t| t.eq_ignore_ascii_case(&self.tenant))
        {
            return Err(bad(format!(
                "it was issued for tenant {:?}, not {}",
                c.tid, self.tenant
            )));
        }
        let oid = c.oid.ok_or_else(|| bad("it carries no oid".into()))?;
        Ok(Identity {
            username: c.preferred_username.unwrap_or_default().to_lowercase(),
            name: c.name.unwrap_or_default(),
            roles: c.roles,
            groups: c.groups.into_iter().map(|g| g.to_lowercase()).collect(),
            oid: oid.to_lowercase(),
        })
    }
}

fn first_line(s: &str) -> &str {
    s.lines().next().unwrap_or(s)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_challenge_is_rfc_7636s_example() {
        // RFC 7636 appendix B.
        assert_eq!(
            challenge("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"),
            "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
        );
    }

    #[test]
    fn tokens_are_43_url_safe_characters_and_differ() {
        let (a, b) = (random_token(), random_token());
        assert_eq!(a.len(), 43);
        assert!(
            a.bytes()
                .all(|c| c.is_ascii_alphanumeric() || c == b'-' || c == b'_')
        );
        assert_ne!(a, b);
    }
}
