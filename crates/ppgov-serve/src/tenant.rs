//! One served tenant: its configuration, its sign-in and clients (set up once, tokens cached
//! across jobs), its detection settings and alert sinks.

use ppgov_audit::detect::DetectionConfig;
use ppgov_client::{Connection, TransportConfig};
use ppgov_config::Config;
use ppgov_notify::Notifier;
use ppgov_store::{EventStore, Records, Snapshots, Store};
use std::sync::Arc;

/// A tenant as `ppgov serve` runs it. Set-up problems (a certificate that cannot be read, a sink
/// that cannot be built) are kept and reported by each job that needs the part, so one tenant's
/// broken configuration never stops another's jobs.
pub struct Tenant {
    /// The validated configuration.
    pub config: Config,
    connection: Result<Connection, String>,
    detections: Result<DetectionConfig, String>,
    notifier: Result<Option<Arc<Notifier>>, String>,
    /// Held by crawls (incremental and full), which write the same snapshots.
    pub(crate) crawl_lock: tokio::sync::Mutex<()>,
}

impl Tenant {
    /// Sets up a tenant from its configuration; `env` reads the variables that hold sink
    /// secrets.
    pub fn new(config: Config, env: &dyn Fn(&str) -> Option<String>) -> Tenant {
        let connection = ppgov_client::connect(&config, TransportConfig::default())
            .map_err(|e| format!("{e}; hint: `ppgov auth test` checks the sign-in settings"));
        let detections = DetectionConfig::from_ppgov_toml(config.file.as_deref())
            .map_err(|e| format!("[detections]: {e}"));
        let has_sink = config.notify.smtp.is_some() || !config.notify.webhooks.is_empty();
        let notifier = if has_sink {
            ppgov_notify::notifier_from_config(&config.notify, env)
                .map(|n| Some(Arc::new(n)))
                .map_err(|e| format!("[notify]: {e}; hint: `ppgov notify test --to ADDRESS`"))
        } else {
            Ok(None)
        };
        Tenant {
            config,
            connection,
            detections,
            notifier,
            crawl_lock: tokio::sync::Mutex::new(()),
        }
    }

    /// The tenant id.
    pub fn id(&self) -> &str {
        &self.config.tenant.id
    }

    /// Its sign-in and clients.
    pub fn connection(&self) -> Result<&Connection, String> {
        self.connection.as_ref().map_err(Clone::clone)
    }

    /// Its detection settings.
    pub fn detections(&self) -> Result<&DetectionConfig, String> {
        self.detections.as_ref().map_err(Clone::clone)
    }

    /// Its notification sinks, when `[notify]` configures any.
    pub fn notifier(&self) -> Result<Option<&Notifier>, String> {
        self.notifier
            .as_ref()
            .map(Option::as_deref)
            .map_err(Clone::clone)
    }

    /// The notifier an apply that tells people first is given (`ApplyOptions::notifier`):
    /// refused, saying what to configure, when `[notify]` has no sink or its set-up failed.
    pub fn apply_notifier(&self) -> Result<Arc<Notifier>, String> {
        match &self.notifier {
            Ok(Some(n)) => Ok(n.clone()),
            Ok(None) => Err(
                "the plan tells makers before it acts (PPG-ACT-009), and no notification sink is configured; add [notify.smtp] or [[notify.webhooks]] to ppgov.toml"
                    .into(),
            ),
            Err(e) => Err(format!(
                "the plan tells makers before it acts, but the notification sinks cannot be set up: {e}"
            )),
        }
    }

    /// Opens its audit event store: the PostgreSQL database of `[store] url` when set (events,
    /// alerts and detection state shared by every instance), else the embedded store. The
    /// refresh marks audit events make go to the same store, beside the snapshots of the crawls
    /// that honour them.
    pub fn events(&self) -> Result<Box<dyn EventStore + Send>, String> {
        open_events(&self.config)
    }

    /// Opens its snapshots: where its crawls write and every reader loads them.
    pub fn snapshots(&self) -> Result<Box<dyn Snapshots>, String> {
        open_snapshots(&self.config)
    }

    /// Opens its governance records (journal, due actions, scans, suppressions, connector
    /// requests): in PostgreSQL with `[store] url`, else in the embedded store.
    pub fn records(&self) -> Result<Box<dyn Records>, String> {
        open_records(&self.config)
    }
}

/// The snapshots of `config`'s tenant, as [`Tenant::snapshots`] opens them (the CLI and the
/// console open the same ones): the PostgreSQL database of `[store] url` when set, where every
/// instance crawls into and reads from, else the embedded store.
pub fn open_snapshots(config: &Config) -> Result<Box<dyn Snapshots>, String> {
    let Some(url) = &config.store.url else {
        return Ok(Box::new(open_store(config)?));
    };
    let pg = ppgov_store_pg::PgSnapshots::connect(url, &config.tenant.id).map_err(|e| {
        format!("cannot open the snapshots in the PostgreSQL database of [store] url: {e}")
    })?;
    Ok(Box::new(pg))
}

/// The governance records of `config`'s tenant, as [`Tenant::records`] opens them (the CLI and
/// the console open the same ones): the PostgreSQL database of `[store] url` when set, shared by
/// every instance, else the embedded store. The refresh marks an apply makes go beside the
/// snapshots the next crawl reads, in the same store.
pub fn open_records(config: &Config) -> Result<Box<dyn Records>, String> {
    let Some(url) = &config.store.url else {
        return Ok(Box::new(open_store(config)?));
    };
    let pg = ppgov_store_pg::PgRecords::connect(url, &config.tenant.id).map_err(|e| {
        format!("cannot open the governance records in the PostgreSQL database of [store] url: {e}")
    })?;
    Ok(Box::new(pg))
}

/// The audit event store of `config`'s tenant, as [`Tenant::events`] opens it (the CLI's
/// `ppgov audit` commands open the same one).
pub fn open_events(config: &Config) -> Result<Box<dyn EventStore + Send>, String> {
    let Some(url) = &config.store.url else {
        return Ok(Box::new(open_store(config)?));
    };
    let pg = ppgov_store_pg::PgEventStore::connect(url, &config.tenant.id).map_err(|e| {
        format!("cannot open the audit event store in the PostgreSQL database of [store] url: {e}")
    })?;
    Ok(Box::new(pg))
}

/// Opens `config`'s tenant's stores as every command does (with `[store] url` its snapshots,
/// records and audit events in PostgreSQL, scoped to the tenant; else the embedded store) and
/// says where they are, for `ppgov doctor`; the error says which could not be opened and why.
pub fn check_stores(config: &Config) -> Result<String, String> {
    let Some(url) = &config.store.url else {
        let local = open_store(config)?;
        let version = local.schema_version().map_err(|e| e.to_string())?;
        return Ok(format!(
            "everything in {} (schema {version})",
            config.store.path.display()
        ));
    };
    drop(open_snapshots(config)?);
    drop(open_records(config)?);
    drop(open_events(config)?);
    let target = ppgov_store_pg::describe_url(url).unwrap_or_else(|| "[store] url".into());
    Ok(format!(
        "snapshots, records and audit events in PostgreSQL at {target}, scoped to tenant {} under row-level security",
        config.tenant.id
    ))
}

/// The posture `config`'s tenant is judged with: its `[posture]` and the suppressions recorded in
/// the console (live rows of `records`). Every scan of a tenant's snapshot judges with it: `ppgov
/// serve`'s scan and digest jobs, `ppgov scan` and `ppgov evidence`, the console's evidence.
pub fn judging_posture(
    config: &Config,
    records: &dyn Records,
) -> Result<ppgov_config::PostureConfig, ppgov_store::StoreError> {
    let stored = records.live_suppressions(&config.tenant.id)?;
    Ok(ppgov_engine::with_stored_suppressions(
        &config.posture,
        stored.iter().map(ppgov_store::StoredSuppression::entry),
    ))
}

fn open_store(config: &Config) -> Result<Store, String> {
    Store::open(&config.store.path).map_err(|e| {
        format!(
            "cannot open the store at {}: {e}",
            config.store.path.display()
        )
    })
}
