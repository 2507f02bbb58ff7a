//! What ppgov signs in with, built from the validated configuration.

use crate::certificate::ClientCertificate;
use crate::source::AuthError;
use ppgov_config::{AssertionAlg, AuthConfig, AuthMethod};
use ppgov_core::Secret;
use std::sync::Arc;

/// A sign-in credential. `Debug` never shows secrets or keys.
#[derive(Debug, Clone)]
pub enum Credential {
    /// Service principal with a client secret (`client_credentials`).
    ClientSecret {
        /// Application (client) id.
        client_id: String,
        /// The secret value.
        secret: Secret<String>,
    },
    /// Service principal with a certificate (`client_credentials` + signed client assertion).
    Certificate {
        /// Application (client) id.
        client_id: String,
        /// Certificate and key.
        certificate: Arc<ClientCertificate>,
        /// Assertion algorithm.
        alg: AssertionAlg,
    },
    /// User name and password (ROPC; public client; fails when MFA is required).
    Password {
        /// Public client id.
        client_id: String,
        /// UPN.
        username: String,
        /// Password.
        password: Secret<String>,
    },
    /// Interactive device code sign-in (public client).
    DeviceCode {
        /// Public client id.
        client_id: String,
    },
}

impl Credential {
    /// From `[auth]`; reads the certificate file for the certificate method.
    pub fn from_config(auth: &AuthConfig) -> Result<Credential, AuthError> {
        let client_id = auth.client_id.clone();
        let need = |what: &str| {
            AuthError::Credential(format!(
                "auth.{what} is not set; set it in ppgov.toml or the environment"
            ))
        };
        Ok(match auth.method {
            AuthMethod::ClientSecret => Credential::ClientSecret {
                client_id,
                secret: auth
                    .client_secret
                    .clone()
                    .ok_or_else(|| need("client_secret"))?,
            },
            AuthMethod::Certificate => {
                let path = auth
                    .certificate_path
                    .as_ref()
                    .ok_or_else(|| need("certificate_path"))?;
                let password = auth
                    .certificate_password
                    .as_ref()
                    .map(|p| p.expose().as_str());
                Credential::Certificate {
                    client_id,
                    certificate: Arc::new(ClientCertificate::load(path, password)?),
                    alg: auth.assertion_alg,
                }
            }
            AuthMethod::Password => Credential::Password {
                client_id,
                username: auth.username.clone().ok_or_else(|| need("username"))?,
                password: auth.password.clone().ok_or_else(|| need("password"))?,
            },
            AuthMethod::DeviceCode => Credential::DeviceCode { client_id },
        })
    }

    /// The application (client) id.
    pub fn client_id(&self) -> &str {
        match self {
            Credential::ClientSecret { client_id, .. }
            | Credential::Certificate { client_id, .. }
            | Credential::Password { client_id, .. }
            | Credential::DeviceCode { client_id } => client_id,
        }
    }

    /// Whether a user signs in (delegated tokens with refresh tokens).
    pub fn is_delegated(&self) -> bool {
        matches!(
            self,
            Credential::Password { .. } | Credential::DeviceCode { .. }
        )
    }
}
