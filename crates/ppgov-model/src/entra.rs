//! Microsoft Entra token endpoint shapes (`/oauth2/v2.0/token`, `/oauth2/v2.0/devicecode`).
//!
//! `Debug` on the token-bearing types redacts the secrets so they never reach logs.

use serde::{Deserialize, Serialize};
use std::fmt;

const REDACTED: &str = "<redacted>";

/// Successful token response.
#[derive(Clone, PartialEq, Serialize, Deserialize)]
pub struct TokenResponse {
    /// Always `Bearer`.
    pub token_type: String,
    /// Lifetime in seconds.
    #[serde(default, deserialize_with = "crate::common::lenient::opt_i64")]
    pub expires_in: Option<i64>,
    /// Extended lifetime in seconds (resilience).
    #[serde(
        default,
        deserialize_with = "crate::common::lenient::opt_i64",
        skip_serializing_if = "Option::is_none"
    )]
    pub ext_expires_in: Option<i64>,
    /// The access token (secret).
    pub access_token: String,
    /// Granted scopes, space-separated (delegated flows).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scope: Option<String>,
    /// Refresh token when `offline_access` was requested (secret).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refresh_token: Option<String>,
    /// ID token when `openid` was requested (secret).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id_token: Option<String>,
}

impl fmt::Debug for TokenResponse {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TokenResponse")
            .field("token_type", &self.token_type)
            .field("expires_in", &self.expires_in)
            .field("ext_expires_in", &self.ext_expires_in)
            .field("access_token", &REDACTED)
            .field("scope", &self.scope)
            .field(
                "refresh_token",
                &self.refresh_token.as_ref().map(|_| REDACTED),
            )
            .field("id_token", &self.id_token.as_ref().map(|_| REDACTED))
            .finish()
    }
}

/// Error response of the token and device-code endpoints (HTTP 400/401).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct TokenError {
    /// OAuth error, e.g. `invalid_client`, `authorization_pending`.
    pub error: String,
    /// Text starting with `AADSTSnnnn:`.
    #[serde(default)]
    pub error_description: Option<String>,
    /// Numeric AADSTS codes.
    #[serde(default, deserialize_with = "crate::common::lenient::null_vec")]
    pub error_codes: Vec<u64>,
    /// Server timestamp (`2026-03-04 10:15:22Z`).
    #[serde(default)]
    pub timestamp: Option<String>,
    /// Entra trace id.
    #[serde(default)]
    pub trace_id: Option<String>,
    /// Entra correlation id.
    #[serde(default)]
    pub correlation_id: Option<String>,
    /// Help link, sometimes present.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error_uri: Option<String>,
}

impl TokenError {
    /// The first AADSTS code: from `error_codes`, else parsed from `error_description`.
    pub fn aadsts_code(&self) -> Option<u64> {
        if let Some(c) = self.error_codes.first() {
            return Some(*c);
        }
        let desc = self.error_description.as_deref()?;
        let rest = &desc[desc.find("AADSTS")? + "AADSTS".len()..];
        let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
        digits.parse().ok()
    }

    /// The device-code poll outcome this error means.
    pub fn device_poll(&self) -> DevicePollError {
        match self.error.as_str() {
            "authorization_pending" => DevicePollError::Pending,
            "slow_down" => DevicePollError::SlowDown,
            "authorization_declined" => DevicePollError::Declined,
            "expired_token" => DevicePollError::Expired,
            "bad_verification_code" => DevicePollError::BadCode,
            other => DevicePollError::Other(other.to_owned()),
        }
    }
}

/// How to react to a device-code poll error.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DevicePollError {
    /// Keep polling after `interval`.
    Pending,
    /// Keep polling, add 5 s to the interval (RFC 8628).
    SlowDown,
    /// The user declined: stop.
    Declined,
    /// The code expired: stop.
    Expired,
    /// The device code was not recognised: stop.
    BadCode,
    /// Any other error: stop.
    Other(String),
}

/// Response of `POST /oauth2/v2.0/devicecode`.
#[derive(Clone, PartialEq, Serialize, Deserialize)]
pub struct DeviceCodeResponse {
    /// Code to poll the token endpoint with (secret).
    pub device_code: String,
    /// Code the user types.
    pub user_code: String,
    /// Page where the user types it.
    pub verification_uri: String,
    /// Seconds until the codes expire.
    #[serde(default, deserialize_with = "crate::common::lenient::opt_i64")]
    pub expires_in: Option<i64>,
    /// Poll interval in seconds.
    #[serde(default, deserialize_with = "crate::common::lenient::opt_i64")]
    pub interval: Option<i64>,
    /// Message to show the user.
    #[serde(default)]
    pub message: Option<String>,
}

impl fmt::Debug for DeviceCodeResponse {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DeviceCodeResponse")
            .field("device_code", &REDACTED)
            .field("user_code", &self.user_code)
            .field("verification_uri", &self.verification_uri)
            .field("expires_in", &self.expires_in)
            .field("interval", &self.interval)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn aadsts_from_codes_or_description() {
        let e: TokenError = serde_json::from_str(
            r#"{"error":"invalid_client","error_description":"AADSTS7000215: Invalid client secret.","error_codes":[7000215]}"#,
        )
        .unwrap();
        assert_eq!(e.aadsts_code(), Some(7000215));
        let e2 = TokenError {
            error: "invalid_grant".into(),
            error_description: Some("AADSTS50126: Error validating credentials".into()),
            ..Default::default()
        };
        assert_eq!(e2.aadsts_code(), Some(50126));
        assert_eq!(TokenError::default().aadsts_code(), None);
    }

    #[test]
    fn debug_redacts_tokens() {
        let t: TokenResponse = serde_json::from_str(
            r#"{"token_type":"Bearer","expires_in":3599,"access_token":"eyJsecret","refresh_token":"rt-secret"}"#,
        )
        .unwrap();
        let dbg = format!("{t:?}");
        assert!(!dbg.contains("secret"), "{dbg}");
        assert!(dbg.contains("3599"));
    }
}
