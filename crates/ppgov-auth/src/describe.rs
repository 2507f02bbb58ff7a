//! What a token says about itself (for `ppgov auth test`): decoded, never verified, and never
//! returning the token.

use crate::source::AccessToken;
use base64::Engine;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// The interesting claims of an access token.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TokenInfo {
    /// `tid`.
    pub tenant: Option<String>,
    /// `appid` or `azp`.
    pub app: Option<String>,
    /// `upn`, `unique_name` or `preferred_username` (delegated tokens).
    pub user: Option<String>,
    /// `aud`.
    pub audience: Option<String>,
    /// `exp`, else what the token endpoint said.
    pub expires_at: DateTime<Utc>,
    /// App roles (`roles`, app-only tokens).
    pub roles: Vec<String>,
    /// Delegated scopes (`scp`).
    pub scopes: Vec<String>,
    /// False when the token is not a readable JWT (then only `expires_at` is known).
    pub decoded: bool,
}

#[derive(Deserialize, Default)]
struct Claims {
    tid: Option<String>,
    appid: Option<String>,
    azp: Option<String>,
    upn: Option<String>,
    unique_name: Option<String>,
    preferred_username: Option<String>,
    aud: Option<serde_json::Value>,
    exp: Option<i64>,
    #[serde(default)]
    roles: Vec<String>,
    scp: Option<String>,
}

/// Decodes the payload of `token` without verifying it.
pub fn describe(token: &AccessToken) -> TokenInfo {
    let claims = token
        .token
        .expose()
        .split('.')
        .nth(1)
        .and_then(|p| {
            base64::engine::general_purpose::URL_SAFE_NO_PAD
                .decode(p.trim_end_matches('='))
                .ok()
        })
        .and_then(|b| serde_json::from_slice::<Claims>(&b).ok());
    let decoded = claims.is_some();
    let c = claims.unwrap_or_default();
    let audience = match c.aud {
        Some(serde_json::Value::String(s)) => Some(s),
        Some(serde_json::Value::Array(a)) => a.first().and_then(|v| v.as_str()).map(str::to_string),
        _ => None,
    };
    TokenInfo {
        tenant: c.tid,
        app: c.appid.or(c.azp),
        user: c.upn.or(c.unique_name).or(c.preferred_username),
        audience,
        expires_at: c
            .exp
            .and_then(|e| DateTime::<Utc>::from_timestamp(e, 0))
            .unwrap_or(token.expires_at),
        roles: c.roles,
        scopes: c
            .scp
            .map(|s| s.split_whitespace().map(str::to_string).collect())
            .unwrap_or_default(),
        decoded,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ppgov_core::Secret;

    fn token(payload: &str) -> AccessToken {
        let p = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(payload);
        AccessToken {
            token: Secret::new(format!("eyJhbGciOiJub25lIn0.{p}.sig")),
            expires_at: Utc::now(),
        }
    }

    #[test]
    fn reads_claims() {
        let i = describe(&token(
            r#"{"tid":"t","appid":"a","upn":"u@c.com","exp":2000000000,"scp":"x y","aud":"https://graph.microsoft.com"}"#,
        ));
        assert!(i.decoded);
        assert_eq!(
            (i.tenant.as_deref(), i.app.as_deref(), i.user.as_deref()),
            (Some("t"), Some("a"), Some("u@c.com"))
        );
        assert_eq!(i.scopes, vec!["x", "y"]);
        assert_eq!(i.expires_at.timestamp(), 2000000000);
        let i = describe(&token(r#"{"azp":"b","roles":["R"]}"#));
        assert_eq!(
            (i.app.as_deref(), i.roles.clone()),
            (Some("b"), vec!["R".to_string()])
        );
        let opaque = AccessToken {
            token: Secret::new("opaque".into()),
            expires_at: Utc::now(),
        };
        assert!(!describe(&opaque).decoded);
    }
}
