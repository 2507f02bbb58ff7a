//! Client certificates (PEM or PFX) and the signed client assertion Entra accepts instead of a
//! secret. Signing is jsonwebtoken's; this file only finds the key and certificate and fills in
//! the header and claims.

use crate::source::AuthError;
use base64::Engine;
use chrono::{DateTime, Utc};
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use ppgov_config::AssertionAlg;
use serde::Serialize;
use sha1::Digest as _;
use std::fmt;
use std::path::Path;

/// `client_assertion_type` for a JWT assertion.
pub const JWT_BEARER: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";

/// A certificate and its RSA private key.
#[derive(Clone)]
pub struct ClientCertificate {
    der: Vec<u8>,
    key: EncodingKey,
    not_after: Option<DateTime<Utc>>,
}

impl fmt::Debug for ClientCertificate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClientCertificate")
            .field("x5t#S256", &self.thumbprint_sha256())
            .field("not_after", &self.not_after)
            .field("key", &"[redacted]")
            .finish()
    }
}

fn cred(msg: impl Into<String>) -> AuthError {
    AuthError::Credential(msg.into())
}

/// PEM blocks `(label, der)` in a text.
fn pem_blocks(text: &str) -> Vec<(String, Vec<u8>)> {
    let mut out = Vec::new();
    let mut rest = text;
    while let Some(start) = rest.find("-----BEGIN ") {
        let after = &rest[start + 11..];
        let Some(end_label) = after.find("-----") else {
            break;
        };
        let label = after[..end_label].to_string();
        let body_start = &after[end_label + 5..];
        let end_marker = format!("-----END {label}-----");
        let Some(end) = body_start.find(&end_marker) else {
            break;
        };
        let b64: String = body_start[..end]
            .chars()
            .filter(|c| !c.is_whitespace())
            .collect();
        if let Ok(der) = base64::engine::general_purpose::STANDARD.decode(b64) {
            out.push((label, der));
        }
        rest = &body_start[end + end_marker.len()..];
    }
    out
}

fn to_pem(label: &str, der: &[u8]) -> String {
    let b64 = base64::engine::general_purpose::STANDARD.encode(der);
    let mut s = format!("-----BEGIN {label}-----\n");
    for chunk in b64.as_bytes().chunks(64) {
        s.push_str(&String::from_utf8_lossy(chunk));
        s.push('\n');
    }
    s.push_str(&format!("-----END {label}-----\n"));
    s
}

fn not_after(der: &[u8]) -> Result<Option<DateTime<Utc>>, AuthError> {
    let (_, cert) = x509_parser::parse_x509_certificate(der).map_err(|e| {
        cred(format!(
            "the certificate is not valid X.509 ({e}); export it again"
        ))
    })?;
    Ok(DateTime::<Utc>::from_timestamp(
        cert.validity().not_after.timestamp(),
        0,
    ))
}

impl ClientCertificate {
    /// Reads a PEM (certificate + PKCS#8 or PKCS#1 RSA key) or PFX/PKCS#12 file.
    pub fn load(path: &Path, password: Option<&str>) -> Result<ClientCertificate, AuthError> {
        let bytes = std::fs::read(path).map_err(|e| {
            cred(format!(
                "cannot read certificate file {}: {e}",
                path.display()
            ))
        })?;
        if bytes.windows(11).any(|w| w == b"-----BEGIN ") {
            ClientCertificate::from_pem(&bytes)
        } else {
            ClientCertificate::from_pfx(&bytes, password.unwrap_or(""))
        }
    }

    /// From PEM text holding a `CERTIFICATE` and an unencrypted RSA `PRIVATE KEY`/`RSA PRIVATE KEY`.
    pub fn from_pem(bytes: &[u8]) -> Result<ClientCertificate, AuthError> {
        let text = std::str::from_utf8(bytes).map_err(|_| cred("the PEM file is not text"))?;
        let blocks = pem_blocks(text);
        let der = blocks
            .iter()
            .find(|(l, _)| l == "CERTIFICATE")
            .map(|(_, d)| d.clone())
            .ok_or_else(|| cred("the PEM file has no CERTIFICATE block; put the certificate and its private key in one file"))?;
        if blocks.iter().any(|(l, _)| l == "ENCRYPTED PRIVATE KEY") {
            return Err(cred(
                "the PEM private key is encrypted; decrypt it (openssl pkey) or use a PFX file with certificate_password",
            ));
        }
        let (label, key_der) = blocks
            .iter()
            .find(|(l, _)| l == "PRIVATE KEY" || l == "RSA PRIVATE KEY")
            .ok_or_else(|| cred("the PEM file has no PRIVATE KEY block; put the certificate and its private key in one file"))?;
        let key = EncodingKey::from_rsa_pem(to_pem(label, key_der).as_bytes())
            .map_err(|e| cred(format!("the private key is not a usable RSA key ({e})")))?;
        Ok(ClientCertificate {
            not_after: not_after(&der)?,
            der,
            key,
        })
    }

    /// From PFX/PKCS#12 bytes.
    pub fn from_pfx(bytes: &[u8], password: &str) -> Result<ClientCertificate, AuthError> {
        let store = p12_keystore::KeyStore::from_pkcs12(
            bytes,
            password,
            p12_keystore::Pkcs12ImportPolicy::Relaxed,
        )
        .map_err(|e| {
            cred(format!(
                "cannot open the PFX file ({e}); check certificate_password"
            ))
        })?;
        let (_, chain) = store
            .private_key_chain()
            .ok_or_else(|| cred("the PFX file holds no private key"))?;
        let der = chain
            .certs()
            .first()
            .map(|c| c.as_der().to_vec())
            .ok_or_else(|| cred("the PFX file holds no certificate for its key"))?;
        let key = EncodingKey::from_rsa_pem(to_pem("PRIVATE KEY", chain.key().as_der()).as_bytes())
            .map_err(|e| cred(format!("the PFX private key is not a usable RSA key ({e})")))?;
        Ok(ClientCertificate {
            not_after: not_after(&der)?,
            der,
            key,
        })
    }

    /// The certificate (DER).
    pub fn der(&self) -> &[u8] {
        &self.der
    }

    /// When the certificate expires.
    pub fn not_after(&self) -> Option<DateTime<Utc>> {
        self.not_after
    }

    /// `x5t#S256`: base64url SHA-256 of the DER.
    pub fn thumbprint_sha256(&self) -> String {
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(sha2::Sha256::digest(&self.der))
    }

    /// `x5t`: base64url SHA-1 of the DER.
    pub fn thumbprint_sha1(&self) -> String {
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(sha1::Sha1::digest(&self.der))
    }

    /// A client assertion for `client_id` at `token_url`, valid ten minutes from `now`.
    pub fn assertion(
        &self,
        client_id: &str,
        token_url: &str,
        alg: AssertionAlg,
        now: DateTime<Utc>,
    ) -> Result<String, AuthError> {
        let mut header = match alg {
            AssertionAlg::Ps256 => Header::new(Algorithm::PS256),
            AssertionAlg::Rs256 => Header::new(Algorithm::RS256),
        };
        header.typ = Some("JWT".into());
        match alg {
            AssertionAlg::Ps256 => header.x5t_s256 = Some(self.thumbprint_sha256()),
            AssertionAlg::Rs256 => header.x5t = Some(self.thumbprint_sha1()),
        }
        let iat = now.timestamp();
        let claims = AssertionClaims {
            aud: token_url,
            iss: client_id,
            sub: client_id,
            jti: uuid::Uuid::new_v4().to_string(),
            nbf: iat,
            iat,
            exp: iat + 600,
        };
        jsonwebtoken::encode(&header, &claims, &self.key)
            .map_err(|e| cred(format!("cannot sign the client assertion ({e})")))
    }
}

#[derive(Serialize)]
struct AssertionClaims<'a> {
    aud: &'a str,
    iss: &'a str,
    sub: &'a str,
    jti: String,
    nbf: i64,
    iat: i64,
    exp: i64,
}
