//! Shared wiring: configuration, sign-in, clients, store, snapshot loading.

use anyhow::{Context as _, bail};
use ppgov_auth::{EntraTokenSource, SourceOptions, TokenSource};
use ppgov_client::{Transport, TransportConfig};
use ppgov_config::{Config, ConfigSources, Flags};
use ppgov_core::Snapshot;
use ppgov_crawl::Clients;
use ppgov_store::Store;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// Loads and validates the configuration (file, environment, flags) before any network call.
pub fn config(file: Option<PathBuf>) -> anyhow::Result<Config> {
    let file = file.or_else(|| {
        Path::new("ppgov.toml")
            .exists()
            .then(|| PathBuf::from("ppgov.toml"))
    });
    let sources = ConfigSources::from_process(file, Flags::default());
    ppgov_config::validate(&sources).map_err(|errs| anyhow::anyhow!("invalid configuration:\n{errs}\nhint: `ppgov config validate` lists every problem; fix them and run again"))
}

/// A token source and every API client for a configured tenant.
pub struct Connection {
    /// Hands out tokens per audience.
    pub tokens: Arc<EntraTokenSource>,
    /// The API clients.
    pub clients: Clients,
}

/// Signs in lazily (first request) and builds the clients.
pub fn connect(config: &Config, transport: TransportConfig) -> anyhow::Result<Connection> {
    let tokens = Arc::new(
        EntraTokenSource::from_config(config, SourceOptions::default())
            .context("cannot set up sign-in")?,
    );
    let source: Arc<dyn TokenSource> = tokens.clone();
    let transport =
        Transport::with_config(source, transport).context("cannot build the HTTP client")?;
    Ok(Connection {
        tokens,
        clients: Clients::new(transport, &config.endpoints()),
    })
}

/// Opens the configured store.
pub fn store(config: &Config) -> anyhow::Result<Store> {
    Store::open(&config.store.path)
        .with_context(|| format!("cannot open the store at {}", config.store.path.display()))
}

/// The snapshot a read-only command evaluates: a snapshot file when given, else the latest complete
/// snapshot in the configured store.
pub fn snapshot(config_file: Option<PathBuf>, file: Option<&Path>) -> anyhow::Result<Snapshot> {
    if let Some(path) = file {
        return ppgov_store::read_snapshot_file(path)
            .with_context(|| format!("cannot read snapshot file {}", path.display()));
    }
    let config = config(config_file)?;
    let store = store(&config)?;
    latest(&store, &config.tenant.id)
}

/// The latest complete snapshot of a tenant in a store.
pub fn latest(store: &Store, tenant: &str) -> anyhow::Result<Snapshot> {
    let Some(info) = store.latest_snapshot(tenant, true)? else {
        bail!(
            "no complete snapshot of tenant {tenant} in the store; hint: run `ppgov crawl` first, or pass --snapshot FILE"
        );
    };
    Ok(store.load_snapshot(&info.id)?)
}
