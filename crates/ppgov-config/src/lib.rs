//! `ppgov.toml`: tenant, auth, endpoints and posture configuration, layered defaults -> file ->
//! environment -> flags, validated completely before any network call.
//!
//! ```toml
//! [tenant]
//! id = "contoso.onmicrosoft.com"      # or the Directory (tenant) ID
//! [auth]
//! method = "certificate"              # client_secret | certificate | password | device_code
//! client_id = "11111111-2222-3333-4444-555555555555"
//! certificate_path = "ppgov.pem"      # PEM (certificate + key) or PFX; relative to this file
//! assertion_alg = "PS256"             # or RS256
//! [endpoints]
//! cloud = "public"                    # public | gcc | gcchigh | dod; each base URL can be overridden
//! [store]
//! path = "/var/lib/ppgov/contoso"     # default: $XDG_DATA_HOME/ppgov/<tenant>
//! ```
//!
//! Environment: `AZURE_TENANT_ID`, `AZURE_CLIENT_ID`, `AZURE_CLIENT_SECRET`,
//! `AZURE_CLIENT_CERTIFICATE_PATH`, `AZURE_CLIENT_CERTIFICATE_PASSWORD`, `AZURE_USERNAME`,
//! `AZURE_PASSWORD`, `AZURE_AUTHORITY_HOST`, `PPGOV_CLOUD`; `PPGOV_CONFIG` names the file.

pub mod checks;
pub mod config;
pub mod console;
pub mod crawl;
pub mod desired;
pub mod discover;
pub mod endpoints;
pub mod error;
mod file;
#[cfg(test)]
mod fuzz_tests;
pub mod notify;
pub mod posture;
pub mod remediation;
pub mod schedule;
mod schema;
pub mod serve;
pub mod tenants;

pub use config::{
    AssertionAlg, AuthConfig, AuthMethod, CONFIG_ENV, Config, ConfigSources, ENV_KEYS, Flags,
    StoreConfig, TenantConfig, validate,
};
pub use console::{CONSOLE_ROLES, ConsoleConfig, ConsoleGrant};
pub use crawl::{CrawlConfig, MaxAges, parse_max_age};
pub use desired::{DesiredDlpPolicy, DesiredManagedEnvironment, DesiredState, Scalar};
pub use discover::{DEFAULT_FILE, config_file, notify, posture};
pub use endpoints::{Cloud, Endpoints, Scopes};
pub use error::{ConfigError, ConfigErrors, Location};
pub use notify::{NotifyConfig, SmtpConfig, SmtpTls, WebhookConfig, WebhookKindConfig};
pub use posture::{ConnectorCategories, PostureConfig, ProdSelector, Suppression, Thresholds};
pub use remediation::{CleanupMode, RemediationConfig};
pub use serve::ServeConfig;
pub use tenants::tenants;
