//! The resolved configuration and its loader: defaults -> file -> environment -> flags (flags
//! win), then one validation pass that reports every problem with its location.

use crate::checks::{check_base_url, is_guid, is_tenant};
use crate::endpoints::{Cloud, Endpoints};
use crate::error::{ConfigError, ConfigErrors, Location};
use crate::file::{self, Entry};
use crate::posture::PostureConfig;
use crate::schema::{closest, scalar_keys};
use ppgov_core::Secret;
use std::collections::BTreeMap;
use std::path::PathBuf;
use url::Url;

/// Environment variables and the key each one sets (the Azure SDK names, so existing set-ups work).
pub const ENV_KEYS: &[(&str, &str)] = &[
    ("AZURE_TENANT_ID", "tenant.id"),
    ("AZURE_CLIENT_ID", "auth.client_id"),
    ("AZURE_CLIENT_SECRET", "auth.client_secret"),
    ("AZURE_CLIENT_CERTIFICATE_PATH", "auth.certificate_path"),
    (
        "AZURE_CLIENT_CERTIFICATE_PASSWORD",
        "auth.certificate_password",
    ),
    ("AZURE_USERNAME", "auth.username"),
    ("AZURE_PASSWORD", "auth.password"),
    ("AZURE_AUTHORITY_HOST", "endpoints.login"),
    ("PPGOV_CLOUD", "endpoints.cloud"),
    // The shared PostgreSQL database, so its password can stay out of the file.
    ("PPGOV_STORE_URL", "store.url"),
];

/// Names the configuration file when no `--config` is given.
pub const CONFIG_ENV: &str = "PPGOV_CONFIG";

/// How ppgov signs in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuthMethod {
    /// Service principal with a client secret.
    ClientSecret,
    /// Service principal with a certificate (client assertion).
    Certificate,
    /// User name and password (ROPC; fails with MFA).
    Password,
    /// Interactive device code sign-in.
    DeviceCode,
}

impl AuthMethod {
    /// The configuration spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            AuthMethod::ClientSecret => "client_secret",
            AuthMethod::Certificate => "certificate",
            AuthMethod::Password => "password",
            AuthMethod::DeviceCode => "device_code",
        }
    }

    fn parse(s: &str) -> Option<AuthMethod> {
        [
            AuthMethod::ClientSecret,
            AuthMethod::Certificate,
            AuthMethod::Password,
            AuthMethod::DeviceCode,
        ]
        .into_iter()
        .find(|m| m.as_str() == s)
    }

    /// Whether a user signs in (tokens may be cached on disk with a refresh token).
    pub fn is_delegated(self) -> bool {
        matches!(self, AuthMethod::Password | AuthMethod::DeviceCode)
    }
}

/// Signature algorithm of the certificate client assertion.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum AssertionAlg {
    /// RSA-PSS SHA-256 with `x5t#S256` (current Entra docs).
    #[default]
    Ps256,
    /// RSA PKCS#1 v1.5 SHA-256 with `x5t` (SHA-1 thumbprint; older docs).
    Rs256,
}

/// `[tenant]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TenantConfig {
    /// Tenant GUID or verified domain.
    pub id: String,
    /// Display name for reports.
    pub name: Option<String>,
}

/// `[auth]`. Secrets are wrapped so they never print.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthConfig {
    /// Chosen (or inferred) method.
    pub method: AuthMethod,
    /// Application (client) id.
    pub client_id: String,
    /// Client secret (method `client_secret`).
    pub client_secret: Option<Secret<String>>,
    /// PEM or PFX file (method `certificate`).
    pub certificate_path: Option<PathBuf>,
    /// PFX password or encrypted-key password.
    pub certificate_password: Option<Secret<String>>,
    /// Assertion algorithm (method `certificate`).
    pub assertion_alg: AssertionAlg,
    /// User name (method `password`).
    pub username: Option<String>,
    /// Password (method `password`).
    pub password: Option<Secret<String>>,
    /// On-disk token cache for interactive sign-in (`None` for service principals).
    pub token_cache: Option<PathBuf>,
}

/// `[store]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoreConfig {
    /// Data directory of this tenant.
    pub path: PathBuf,
    /// `[store] url`: a PostgreSQL database (`postgres://...`) that `ppgov serve` instances share.
    /// This build keeps its job queue there (each scheduled run exactly once across instances);
    /// snapshots, scans and the journal stay in the tenant's store at `path`.
    pub url: Option<String>,
}

/// The validated configuration.
#[derive(Debug, Clone, PartialEq)]
pub struct Config {
    /// The file that was read, if any.
    pub file: Option<PathBuf>,
    /// `[tenant]`.
    pub tenant: TenantConfig,
    /// `[auth]`.
    pub auth: AuthConfig,
    /// Cloud preset.
    pub cloud: Cloud,
    /// Resolved endpoints (preset plus overrides).
    endpoints: Endpoints,
    /// `[store]`.
    pub store: StoreConfig,
    /// `[posture]`.
    pub posture: PostureConfig,
    /// `[crawl]`.
    pub crawl: crate::crawl::CrawlConfig,
    /// `[schedule]`: when `ppgov serve` runs each job.
    pub schedule: crate::schedule::ScheduleConfig,
    /// `[serve]`: how `ppgov serve` runs.
    pub serve: crate::serve::ServeConfig,
    /// `[remediation]`.
    pub remediation: crate::remediation::RemediationConfig,
    /// `[notify]` (its `templates_dir` resolved against the file's directory).
    pub notify: crate::notify::NotifyConfig,
    /// `[console]`: the web console, when configured.
    pub console: Option<crate::console::ConsoleConfig>,
}

impl Config {
    /// The resolved endpoints: the cloud preset with every override applied.
    pub fn endpoints(&self) -> Endpoints {
        self.endpoints.clone()
    }

    /// Loads and validates (same as [`validate`]).
    pub fn load(sources: &ConfigSources) -> Result<Config, ConfigErrors> {
        validate(sources)
    }
}

/// Command-line overrides as dotted keys (`tenant.id`, `auth.method`, `endpoints.cloud`, ...).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Flags {
    /// Key -> value; the highest-priority layer.
    pub values: BTreeMap<String, String>,
}

impl Flags {
    /// Adds one override.
    pub fn set(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.values.insert(key.into(), value.into());
        self
    }
}

/// Everything the loader reads. The environment is injected so tests need not touch the process.
#[derive(Debug, Clone, Default)]
pub struct ConfigSources {
    /// `--config`; when `None`, `PPGOV_CONFIG` from `env`; when neither, no file.
    pub file: Option<PathBuf>,
    /// Environment variables.
    pub env: BTreeMap<String, String>,
    /// Command-line overrides.
    pub flags: Flags,
}

impl ConfigSources {
    /// Sources with the process environment.
    pub fn from_process(file: Option<PathBuf>, flags: Flags) -> ConfigSources {
        ConfigSources {
            file,
            env: std::env::vars().collect(),
            flags,
        }
    }
}

/// Loads every layer and validates the result, reporting every problem at once.
pub fn validate(sources: &ConfigSources) -> Result<Config, ConfigErrors> {
    let mut errs = Vec::new();
    let known = scalar_keys();

    // Layers, lowest first; later inserts win.
    let file_path = sources.file.clone().or_else(|| {
        sources
            .env
            .get(CONFIG_ENV)
            .filter(|s| !s.is_empty())
            .map(PathBuf::from)
    });
    let mut merged: BTreeMap<String, Entry> = BTreeMap::new();
    let mut posture = None;
    let mut remediation = None;
    let mut notify = None;
    let mut console = None;
    if let Some(path) = &file_path {
        let layer = file::read(path, &mut errs);
        merged.extend(layer.scalars);
        posture = layer.posture;
        remediation = layer.remediation;
        notify = layer.notify;
        console = layer.console;
    }
    for (var, key) in ENV_KEYS {
        if let Some(v) = sources.env.get(*var).filter(|v| !v.is_empty()) {
            merged.insert(
                (*key).to_string(),
                Entry {
                    value: v.clone(),
                    location: Location::Env((*var).to_string()),
                    base_dir: None,
                },
            );
        }
    }
    for (key, v) in &sources.flags.values {
        if !known.iter().any(|k| k == key) {
            let fix = match closest(key, known.iter().map(String::as_str)) {
                Some(c) => format!("did you mean `{c}`?"),
                None => format!("known keys: {}", known.join(", ")),
            };
            errs.push(
                ConfigError::new(Location::Flag(key.clone()), key.clone(), "unknown key").fix(fix),
            );
            continue;
        }
        merged.insert(
            key.clone(),
            Entry {
                value: v.clone(),
                location: Location::Flag(key.clone()),
                base_dir: None,
            },
        );
    }

    let r = Resolver { merged: &merged };
    let tenant = resolve_tenant(&r, &mut errs);
    let auth = resolve_auth(&r, &sources.env, tenant.as_ref(), &mut errs);
    let (cloud, endpoints) = resolve_endpoints(&r, &mut errs);
    let store = resolve_store(&r, &sources.env, tenant.as_ref(), &mut errs);
    let crawl = crate::crawl::resolve(
        &|k| r.get(k).map(|e| (e.value.clone(), e.location.clone())),
        &mut errs,
    );
    let schedule = crate::schedule::resolve(
        &|k| r.get(k).map(|e| (e.value.clone(), e.location.clone())),
        &mut errs,
    );
    let serve = crate::serve::resolve(
        &|k| r.get(k).map(|e| (e.value.clone(), e.location.clone())),
        &mut errs,
    );
    let posture = match posture.map(|p| p.try_into::<PostureConfig>()) {
        None => PostureConfig::default(),
        Some(Ok(p)) => p,
        Some(Err(e)) => {
            // The schema walk reports unknown keys and wrong types with positions; only report
            // here if it found nothing (then this is a case the walk does not know).
            if !errs.iter().any(|x| x.key.starts_with("posture")) {
                let loc = file_path
                    .clone()
                    .map(Location::FileAsWhole)
                    .unwrap_or(Location::Unset);
                errs.push(
                    ConfigError::new(loc, "posture", e.message().to_string())
                        .fix("correct the [posture] section"),
                );
            }
            PostureConfig::default()
        }
    };

    let remediation =
        match remediation.map(|p| p.try_into::<crate::remediation::RemediationConfig>()) {
            None => crate::remediation::RemediationConfig::default(),
            Some(Ok(r)) => r,
            Some(Err(e)) => {
                if !errs.iter().any(|x| x.key.starts_with("remediation")) {
                    let loc = file_path
                        .clone()
                        .map(Location::FileAsWhole)
                        .unwrap_or(Location::Unset);
                    errs.push(
                        ConfigError::new(loc, "remediation", e.message().to_string())
                            .fix("correct the [remediation] section"),
                    );
                }
                crate::remediation::RemediationConfig::default()
            }
        };

    let notify = match notify.map(|p| p.try_into::<crate::notify::NotifyConfig>()) {
        None => crate::notify::NotifyConfig::default(),
        Some(Ok(n)) => n.relative_to(file_path.as_deref()),
        Some(Err(e)) => {
            if !errs.iter().any(|x| x.key.starts_with("notify")) {
                let loc = file_path
                    .clone()
                    .map(Location::FileAsWhole)
                    .unwrap_or(Location::Unset);
                errs.push(
                    ConfigError::new(loc, "notify", e.message().to_string())
                        .fix("correct the [notify] section"),
                );
            }
            crate::notify::NotifyConfig::default()
        }
    };

    let console = resolve_console(console, file_path.as_deref(), &mut errs);

    match (errs.is_empty(), tenant, auth, store) {
        (true, Some(tenant), Some(auth), Some(store)) => Ok(Config {
            file: file_path,
            tenant,
            auth,
            cloud,
            endpoints,
            store,
            posture,
            crawl,
            schedule,
            serve,
            remediation,
            notify,
            console,
        }),
        _ => {
            if errs.is_empty() {
                errs.push(ConfigError::new(
                    Location::Unset,
                    "configuration",
                    "incomplete",
                ));
            }
            Err(ConfigErrors(sorted(errs)))
        }
    }
}

struct Resolver<'a> {
    merged: &'a BTreeMap<String, Entry>,
}

impl Resolver<'_> {
    fn get(&self, key: &str) -> Option<&Entry> {
        self.merged.get(key)
    }
    fn str(&self, key: &str) -> Option<String> {
        self.get(key).map(|e| e.value.clone())
    }
    fn path(&self, key: &str) -> Option<PathBuf> {
        self.get(key).map(resolve_path)
    }
}

fn resolve_path(e: &Entry) -> PathBuf {
    let p = PathBuf::from(&e.value);
    match (&e.base_dir, p.is_relative()) {
        (Some(dir), true) => dir.join(p),
        _ => p,
    }
}

fn env_hint(key: &str) -> String {
    match ENV_KEYS.iter().find(|(_, k)| *k == key) {
        Some((var, _)) => format!("set {key} in ppgov.toml or the {var} environment variable"),
        None => format!("set {key} in ppgov.toml"),
    }
}

fn missing(key: &str, why: &str) -> ConfigError {
    ConfigError::new(Location::Unset, key, format!("missing: {why}")).fix(env_hint(key))
}

fn resolve_tenant(r: &Resolver<'_>, errs: &mut Vec<ConfigError>) -> Option<TenantConfig> {
    let name = r.str("tenant.name");
    let Some(id) = r.get("tenant.id") else {
        errs.push(missing("tenant.id", "the tenant to sign in to is required"));
        return None;
    };
    if !is_tenant(&id.value) {
        errs.push(
            ConfigError::new(id.location.clone(), "tenant.id", format!("`{}` is neither a tenant GUID nor a domain", id.value))
                .fix("use the Directory (tenant) ID from the Entra overview page, or a domain like contoso.onmicrosoft.com"),
        );
        return None;
    }
    Some(TenantConfig {
        id: id.value.clone(),
        name,
    })
}

fn resolve_auth(
    r: &Resolver<'_>,
    env: &BTreeMap<String, String>,
    tenant: Option<&TenantConfig>,
    errs: &mut Vec<ConfigError>,
) -> Option<AuthConfig> {
    let secret = |k: &str| r.str(k).map(Secret::new);
    let method = match r.get("auth.method") {
        Some(e) => match AuthMethod::parse(&e.value) {
            Some(m) => m,
            None => {
                errs.push(
                    ConfigError::new(
                        e.location.clone(),
                        "auth.method",
                        format!("unknown method `{}`", e.value),
                    )
                    .fix("use one of client_secret, certificate, password, device_code"),
                );
                return None;
            }
        },
        None if r.get("auth.client_secret").is_some() => AuthMethod::ClientSecret,
        None if r.get("auth.certificate_path").is_some() => AuthMethod::Certificate,
        None if r.get("auth.username").is_some() && r.get("auth.password").is_some() => {
            AuthMethod::Password
        }
        None => AuthMethod::DeviceCode,
    };
    let mut ok = true;
    let client_id = match r.get("auth.client_id") {
        None => {
            errs.push(missing(
                "auth.client_id",
                "the application (client) id is required for every sign-in method",
            ));
            ok = false;
            String::new()
        }
        Some(e) if !is_guid(&e.value) => {
            errs.push(
                // The value is not echoed: a secret pasted into the wrong field is a common slip.
                ConfigError::new(e.location.clone(), "auth.client_id", "is not a GUID")
                    .fix("use the Application (client) ID from the app registration, not its name or object id"),
            );
            ok = false;
            String::new()
        }
        Some(e) => e.value.clone(),
    };
    let why = format!("required for auth.method = \"{}\"", method.as_str());
    let mut need = |key: &str| {
        if r.get(key).is_none() {
            errs.push(missing(key, &why));
            ok = false;
        }
    };
    match method {
        AuthMethod::ClientSecret => need("auth.client_secret"),
        AuthMethod::Certificate => need("auth.certificate_path"),
        AuthMethod::Password => {
            need("auth.username");
            need("auth.password");
        }
        AuthMethod::DeviceCode => {}
    }
    let assertion_alg = match r.get("auth.assertion_alg") {
        None => AssertionAlg::Ps256,
        Some(e) => match e.value.to_ascii_uppercase().as_str() {
            "PS256" => AssertionAlg::Ps256,
            "RS256" => AssertionAlg::Rs256,
            _ => {
                errs.push(
                    ConfigError::new(
                        e.location.clone(),
                        "auth.assertion_alg",
                        format!("unknown algorithm `{}`", e.value),
                    )
                    .fix("use PS256 (default) or RS256"),
                );
                ok = false;
                AssertionAlg::Ps256
            }
        },
    };
    let certificate_path = r.path("auth.certificate_path");
    if method == AuthMethod::Certificate
        && let (Some(p), Some(e)) = (&certificate_path, r.get("auth.certificate_path"))
        && let Err(err) = std::fs::File::open(p)
    {
        errs.push(
            ConfigError::new(
                e.location.clone(),
                "auth.certificate_path",
                format!("cannot read certificate file {}: {err}", p.display()),
            )
            .fix("point to a readable PEM (certificate + private key) or PFX file"),
        );
        ok = false;
    }
    let token_cache = match (r.path("auth.token_cache"), method.is_delegated(), tenant) {
        (Some(p), _, _) => Some(p),
        (None, true, Some(t)) => data_dir(env, &t.id).map(|d| d.join("token-cache.json")),
        _ => None,
    };
    ok.then(|| AuthConfig {
        method,
        client_id,
        client_secret: secret("auth.client_secret"),
        certificate_path,
        certificate_password: secret("auth.certificate_password"),
        assertion_alg,
        username: r.str("auth.username"),
        password: secret("auth.password"),
        token_cache,
    })
}

fn resolve_endpoints(r: &Resolver<'_>, errs: &mut Vec<ConfigError>) -> (Cloud, Endpoints) {
    let cloud = match r.get("endpoints.cloud") {
        None => Cloud::Public,
        Some(e) => match e
            .value
            .to_ascii_lowercase()
            .replace(['-', '_', ' '], "")
            .as_str()
        {
            "public" | "commercial" => Cloud::Public,
            "gcc" => Cloud::Gcc,
            "gcchigh" => Cloud::Gcchigh,
            "dod" => Cloud::Dod,
            _ => {
                errs.push(
                    ConfigError::new(
                        e.location.clone(),
                        "endpoints.cloud",
                        format!("unknown cloud `{}`", e.value),
                    )
                    .fix("use one of public, gcc, gcchigh, dod"),
                );
                Cloud::Public
            }
        },
    };
    let mut ep = Endpoints::for_cloud(cloud);
    let slots: [(&str, &mut Url); 7] = [
        ("login", &mut ep.login),
        ("bap", &mut ep.bap),
        ("powerapps", &mut ep.powerapps),
        ("flow", &mut ep.flow),
        ("powerplatform", &mut ep.powerplatform),
        ("graph", &mut ep.graph),
        ("management", &mut ep.management),
    ];
    for (name, slot) in slots {
        let key = format!("endpoints.{name}");
        if let Some(e) = r.get(&key) {
            match check_base_url(&e.value) {
                Ok(u) => *slot = u,
                Err((msg, fix)) => {
                    errs.push(ConfigError::new(e.location.clone(), key, msg).fix(fix))
                }
            }
        }
    }
    if let Some(e) = r.get("endpoints.dataverse_domains") {
        for d in e.value.split(',').map(str::trim).filter(|d| !d.is_empty()) {
            let ok = d
                .trim_start_matches('.')
                .split('.')
                .all(|l| !l.is_empty() && l.chars().all(|c| c.is_ascii_alphanumeric() || c == '-'));
            if ok && d.trim_start_matches('.').contains('.') {
                ep.dataverse_domains
                    .push(d.trim_start_matches('.').to_ascii_lowercase());
            } else {
                errs.push(
                    ConfigError::new(
                        e.location.clone(),
                        "endpoints.dataverse_domains",
                        format!("`{d}` is not a DNS suffix"),
                    )
                    .fix("list DNS suffixes separated by commas, e.g. `crm.contoso.example`"),
                );
            }
        }
    }
    (cloud, ep)
}

/// `$XDG_DATA_HOME/ppgov/<tenant>` or `$HOME/.local/share/ppgov/<tenant>`.
fn data_dir(env: &BTreeMap<String, String>, tenant: &str) -> Option<PathBuf> {
    let nonempty = |k: &str| env.get(k).filter(|v| !v.is_empty()).map(PathBuf::from);
    let base = nonempty("XDG_DATA_HOME")
        .filter(|p| p.is_absolute())
        .or_else(|| nonempty("HOME").map(|h| h.join(".local").join("share")))?;
    Some(base.join("ppgov").join(tenant))
}

fn resolve_store(
    r: &Resolver<'_>,
    env: &BTreeMap<String, String>,
    tenant: Option<&TenantConfig>,
    errs: &mut Vec<ConfigError>,
) -> Option<StoreConfig> {
    let url = r.get("store.url").and_then(|e| {
        let v = e.value.trim();
        if v.starts_with("postgres://") || v.starts_with("postgresql://") {
            Some(v.to_string())
        } else {
            errs.push(
                ConfigError::new(e.location.clone(), "store.url", "not a PostgreSQL URL")
                    .fix("write postgres://USER@HOST:PORT/DATABASE, or leave it out for the embedded store"),
            );
            None
        }
    });
    if let Some(p) = r.path("store.path") {
        return Some(StoreConfig { path: p, url });
    }
    let tenant = tenant?;
    match data_dir(env, &tenant.id) {
        Some(path) => Some(StoreConfig { path, url }),
        None => {
            errs.push(missing(
                "store.path",
                "no HOME or XDG_DATA_HOME to put the data directory in",
            ));
            None
        }
    }
}

/// File problems in reading order, then environment, flags and missing values (stable within each).
fn sorted(mut errs: Vec<ConfigError>) -> Vec<ConfigError> {
    errs.sort_by_key(|e| match &e.location {
        Location::FileAsWhole(_) => (0, 0, 0),
        Location::File { line, column, .. } => (1, *line, *column),
        Location::Env(_) => (2, 0, 0),
        Location::Flag(_) => (3, 0, 0),
        Location::Unset => (4, 0, 0),
    });
    errs
}

/// `[console]`: deserialised, then checked value by value.
fn resolve_console(
    value: Option<toml::Value>,
    file: Option<&std::path::Path>,
    errs: &mut Vec<ConfigError>,
) -> Option<crate::console::ConsoleConfig> {
    let loc = || {
        file.map(|p| Location::FileAsWhole(p.to_path_buf()))
            .unwrap_or(Location::Unset)
    };
    match value?.try_into::<crate::console::ConsoleConfig>() {
        Ok(c) => {
            let problems = c.problems();
            for (key, what, fix) in &problems {
                errs.push(ConfigError::new(loc(), key, what.clone()).fix(fix.clone()));
            }
            problems.is_empty().then_some(c)
        }
        Err(e) => {
            if !errs.iter().any(|x| x.key.starts_with("console")) {
                errs.push(
                    ConfigError::new(loc(), "console", e.message().to_string())
                        .fix("correct the [console] section: client_id is required"),
                );
            }
            None
        }
    }
}
