//! `[serve]`: how `ppgov serve` runs (its schedules are `[schedule]`).
//!
//! ```toml
//! [serve]
//! listen = "127.0.0.1:8080"          # health, metrics and the JSON API
//! workers = 2                         # jobs run at once (per instance)
//! lease_seconds = 300                 # a claimed job's lease, renewed while it runs
//! api_tokens_env = "PPGOV_API_TOKENS" # the variable holding the API's bearer tokens (comma-separated)
//! ```

use crate::error::{ConfigError, Location};

/// `[serve]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServeConfig {
    /// Where the HTTP endpoints listen.
    pub listen: String,
    /// Jobs run at once by one instance.
    pub workers: usize,
    /// A claimed job's lease (renewed at a third of it while the job runs).
    pub lease_seconds: u64,
    /// The environment variable that holds the API's bearer tokens, comma-separated (never the
    /// tokens themselves in the file).
    pub api_tokens_env: String,
}

impl Default for ServeConfig {
    fn default() -> Self {
        ServeConfig {
            listen: "127.0.0.1:8080".into(),
            workers: 2,
            lease_seconds: 300,
            api_tokens_env: "PPGOV_API_TOKENS".into(),
        }
    }
}

/// Resolves `[serve]` from the merged scalars (`serve.<key>`).
pub(crate) fn resolve(
    get: &dyn Fn(&str) -> Option<(String, Location)>,
    errs: &mut Vec<ConfigError>,
) -> ServeConfig {
    let mut c = ServeConfig::default();
    if let Some((v, loc)) = get("serve.listen") {
        match v.parse::<std::net::SocketAddr>() {
            Ok(_) => c.listen = v,
            Err(_) => errs.push(
                ConfigError::new(
                    loc,
                    "serve.listen",
                    format!("`{v}` is not an address and port"),
                )
                .fix("write an IP address and port, e.g. \"127.0.0.1:8080\""),
            ),
        }
    }
    let mut int = |key: &str, min: u64, max: u64| -> Option<u64> {
        let (v, loc) = get(key)?;
        match v.parse::<u64>() {
            Ok(n) if (min..=max).contains(&n) => Some(n),
            _ => {
                errs.push(
                    ConfigError::new(loc, key, format!("`{v}` is out of range"))
                        .fix(format!("write a whole number from {min} to {max}")),
                );
                None
            }
        }
    };
    if let Some(n) = int("serve.workers", 1, 64) {
        c.workers = usize::try_from(n).unwrap_or(2);
    }
    if let Some(n) = int("serve.lease_seconds", 10, 86_400) {
        c.lease_seconds = n;
    }
    if let Some((v, loc)) = get("serve.api_tokens_env") {
        let valid = !v.is_empty() && v.chars().all(|ch| ch.is_ascii_alphanumeric() || ch == '_');
        if valid {
            c.api_tokens_env = v;
        } else {
            errs.push(
                ConfigError::new(loc, "serve.api_tokens_env", format!("`{v}` is not a variable name"))
                    .fix("name an environment variable (letters, digits, _); put the tokens in it, not in the file"),
            );
        }
    }
    c
}
