//! Shared wiring: configuration, sign-in, clients, store, snapshot loading.

use crate::cli::ConfigOverrides;
use anyhow::{Context as _, bail};
use ppgov_client::TransportConfig;
use ppgov_config::{Config, ConfigSources, Flags, PostureConfig};
use ppgov_core::Snapshot;
use ppgov_store::Store;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

/// The configuration flags of this run (`--tenant`, `--set`, ...), set once by `commands::run`.
static FLAGS: OnceLock<Flags> = OnceLock::new();

/// Records the command line's configuration overrides (the first call wins).
pub fn set_flags(overrides: &ConfigOverrides) -> anyhow::Result<()> {
    let mut pairs: Vec<(String, String)> = vec![];
    let mut add = |k: &str, v: Option<String>| {
        if let Some(v) = v {
            pairs.push((k.to_string(), v));
        }
    };
    add("tenant.id", overrides.tenant.clone());
    add("auth.client_id", overrides.client_id.clone());
    add("endpoints.cloud", overrides.cloud.clone());
    add(
        "store.path",
        overrides.store.as_ref().map(|p| p.display().to_string()),
    );
    let flags = Flags::from_assignments(&overrides.set)
        .map_err(|e| anyhow::anyhow!("--set {e}"))?
        .with(pairs);
    let _ = FLAGS.set(flags);
    Ok(())
}

/// Where this run's configuration comes from: the one discovery path (`--config`, else
/// `PPGOV_CONFIG`, else `./ppgov.toml`), the environment, and the flags.
pub fn sources(file: Option<PathBuf>) -> ConfigSources {
    ConfigSources::discover(file, FLAGS.get().cloned().unwrap_or_default())
}

/// Loads and validates the configuration (file, environment, flags) before any network call.
pub fn config(file: Option<PathBuf>) -> anyhow::Result<Config> {
    ppgov_config::validate(&sources(file)).map_err(|errs| anyhow::anyhow!("invalid configuration:\n{errs}\nhint: `ppgov config validate` lists every problem; fix them and run again"))
}

/// One configuration per served tenant (`[[tenants]]`, else the one `[tenant]`), validated
/// before any network call.
pub fn tenants(file: Option<PathBuf>) -> anyhow::Result<Vec<Config>> {
    ppgov_config::tenants(&sources(file)).map_err(|errs| anyhow::anyhow!("invalid configuration:\n{errs}\nhint: `ppgov config validate` lists every problem; fix them and run again"))
}

/// The job queue `ppgov serve` and `ppgov jobs` share: the PostgreSQL database of `[store] url`
/// when set (several instances), else the first tenant's embedded store.
pub fn queue(config: &Config) -> anyhow::Result<Box<dyn ppgov_store::JobQueue + Send>> {
    match &config.store.url {
        Some(url) => Ok(Box::new(
            ppgov_store_pg::PgStore::connect(url, None)
                .context("cannot open the job queue in the PostgreSQL database of [store] url")?,
        )),
        None => Ok(Box::new(store(config)?)),
    }
}

/// The posture a command judging a snapshot file applies: the discovered file's `[posture]`
/// (suppressions, thresholds, ...), or defaults without a file. Needs no sign-in settings.
pub fn posture(file: Option<PathBuf>) -> anyhow::Result<PostureConfig> {
    ppgov_config::posture(&sources(file)).map_err(|errs| {
        anyhow::anyhow!(
            "invalid configuration:\n{errs}\nhint: fix the [posture] section and run again"
        )
    })
}

/// A snapshot, the posture to judge it with, and the tenant's records when it came from the store.
pub type Judged = (
    Snapshot,
    PostureConfig,
    Option<Box<dyn ppgov_store::Records>>,
);

/// The snapshot and posture a read-only command judges: a snapshot file with the posture of the
/// discovered configuration, else the latest complete snapshot in the configured store, judged
/// with the tenant's recorded suppressions too (and those records, where the scan is saved).
pub fn judged(file: Option<PathBuf>, snapshot_file: Option<&Path>) -> anyhow::Result<Judged> {
    match snapshot_file {
        Some(path) => Ok((snapshot(None, Some(path))?, posture(file)?, None)),
        None => {
            let config = config(file)?;
            let latest = latest(snapshots(&config)?.as_ref(), &config.tenant.id)?;
            // The suppressions recorded in the console count as the `[posture]` ones do.
            let records = records(&config)?;
            let posture = ppgov_serve::judging_posture(&config, records.as_ref())?;
            Ok((latest, posture, Some(records)))
        }
    }
}

pub use ppgov_client::Connection;

/// Signs in lazily (first request) and builds the clients.
pub fn connect(config: &Config, transport: TransportConfig) -> anyhow::Result<Connection> {
    Ok(ppgov_client::connect(config, transport)?)
}

/// Opens the snapshots: where crawls write and readers load them (the configured store).
pub fn snapshots(config: &Config) -> anyhow::Result<Box<dyn ppgov_store::Snapshots>> {
    ppgov_serve::open_snapshots(config).map_err(|e| anyhow::anyhow!(e))
}

/// Opens the governance records (journal, due actions, scans, suppressions, connector
/// requests): PostgreSQL with `[store] url`, else the configured embedded store.
pub fn records(config: &Config) -> anyhow::Result<Box<dyn ppgov_store::Records>> {
    ppgov_serve::open_records(config).map_err(|e| anyhow::anyhow!(e))
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
    latest(snapshots(&config)?.as_ref(), &config.tenant.id)
}

/// The latest complete snapshot of a tenant in a store.
pub fn latest(store: &dyn ppgov_store::Snapshots, tenant: &str) -> anyhow::Result<Snapshot> {
    let Some(info) = store.latest_snapshot(tenant, true)? else {
        bail!(
            "no complete snapshot of tenant {tenant} in the store; hint: run `ppgov crawl` first, or pass --snapshot FILE"
        );
    };
    Ok(store.load_snapshot(&info.id)?)
}
