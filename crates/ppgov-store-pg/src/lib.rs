//! PostgreSQL store for `ppgov serve`: the job queue shared by several server instances, the
//! audit event store and the governance records, all with row-level security per tenant.
//!
//! One [`PgStore`] owns one connection, synchronous like the SQLite store (the server calls it
//! from `spawn_blocking`). [`PgStore::connect`] brings the schema up to date itself and, when
//! given a tenant scope, sets `app.tenant` for the session: the tables' policies then show and
//! accept that tenant's rows only. An unscoped connection (the scheduler's) sees every tenant.
//!
//! The job queue implements [`ppgov_store::JobQueue`] with the SQLite store's semantics; claims
//! use `FOR UPDATE SKIP LOCKED` plus a transaction-scoped advisory lock per (tenant, kind), so
//! concurrent claimers on different machines never take the same job and never start two runs
//! of one tenant and kind.
//!
//! [`PgEventStore`] implements [`ppgov_store::EventStore`] for one tenant with the SQLite
//! store's semantics (the chain logic is `ppgov_store::event_chain`, shared by both): events in
//! month partitions shared by every tenant, sequence numbers and the hash chain per tenant.
//!
//! [`PgRecords`] implements [`ppgov_store::Records`] for one tenant with the SQLite store's
//! semantics (checked by the same `contract_records`): the remediation journal (chained by
//! `ppgov_store::journal_chain`, numbered and headed per tenant, appends serialised per tenant
//! on an advisory lock), actions due later, scan history, suppressions and connector requests.
//! It reads nothing of another tenant and refuses to write for one.
//!
//! [`PgSessions`] keeps the web console's sessions, pending sign-ins and one-time form tokens
//! (only digests of their ids and tokens), so every instance on the database knows them: tables
//! of no tenant, on an unscoped connection.

mod events;
mod events_read;
mod jobs;
mod migrations;
mod pool;
mod records;
mod records_console;
mod records_journal;
mod sessions;
mod snapshots;
mod snapshots_batch;
mod tenant_conn;
#[cfg(feature = "testing")]
pub mod testing;

use std::collections::HashMap;

use postgres::{Client, NoTls, Statement};
use ppgov_store::StoreError;

pub use events::{PgEventStore, off_runtime};
pub use migrations::LATEST as SCHEMA_VERSION;
pub use records::PgRecords;
pub use sessions::PgSessions;
pub use snapshots::PgSnapshots;

/// How long [`PgStore::connect`] waits for the server when the url sets no `connect_timeout`.
const CONNECT_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(10);

/// A connection to the PostgreSQL store, optionally scoped to one tenant.
pub struct PgStore {
    client: Client,
    tenant_scope: Option<String>,
    statements: HashMap<&'static str, Statement>,
}

impl std::fmt::Debug for PgStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PgStore")
            .field("tenant_scope", &self.tenant_scope)
            .finish_non_exhaustive()
    }
}

impl PgStore {
    /// Connects to `url` (`postgres://user@host:port/db`, no TLS: meant for loopback or a
    /// private network), migrates the schema, and scopes the session to `tenant_scope` when
    /// given.
    ///
    /// A scoped connection refuses to run as a role that bypasses row-level security
    /// (a superuser or a `BYPASSRLS` role), since its scope would then hide nothing.
    pub fn connect(url: &str, tenant_scope: Option<&str>) -> Result<PgStore, StoreError> {
        let client = open(url, tenant_scope)?;
        Ok(PgStore {
            client,
            tenant_scope: tenant_scope.map(str::to_owned),
            statements: HashMap::new(),
        })
    }

    /// The tenant this connection is scoped to (`None`: it sees every tenant).
    pub fn tenant_scope(&self) -> Option<&str> {
        self.tenant_scope.as_deref()
    }

    /// True once the client has seen the connection close (the server restarted or went away;
    /// it may lag the first failed call by a moment). Every call then fails: connect again.
    pub fn is_closed(&self) -> bool {
        self.client.is_closed()
    }

    /// The schema version of the database (the highest migration applied).
    pub fn schema_version(&mut self) -> Result<i64, StoreError> {
        migrations::version(&mut self.client)
    }

    /// The prepared statement for `sql`, prepared on first use.
    fn statement(&mut self, sql: &'static str) -> Result<Statement, StoreError> {
        if let Some(s) = self.statements.get(sql) {
            return Ok(s.clone());
        }
        let s = self
            .client
            .prepare(sql)
            .map_err(pg("preparing a statement"))?;
        self.statements.insert(sql, s.clone());
        Ok(s)
    }
}

/// Connects to `url`, migrates the schema and scopes the session to `tenant_scope` when given:
/// what [`PgStore::connect`] and [`PgEventStore::connect`] share.
fn open(url: &str, tenant_scope: Option<&str>) -> Result<Client, StoreError> {
    let mut config: postgres::Config = url.parse().map_err(|e| StoreError::PgConnect {
        target: "the given url".into(),
        message: describe(&e),
    })?;
    // A server that drops packets would otherwise keep the caller waiting indefinitely.
    if config.get_connect_timeout().is_none() {
        config.connect_timeout(CONNECT_TIMEOUT);
    }
    let target = target_of(&config);
    let mut client = config.connect(NoTls).map_err(|e| StoreError::PgConnect {
        target: target.clone(),
        message: describe(&e),
    })?;
    migrations::migrate(&mut client)?;
    if let Some(tenant) = tenant_scope {
        scope_session(&mut client, tenant)?;
    }
    tracing::debug!(%target, tenant_id = tenant_scope, "connected to the postgresql store");
    Ok(client)
}

/// Sets `app.tenant` for the whole session, after checking the role is subject to row-level
/// security.
fn scope_session(client: &mut Client, tenant: &str) -> Result<(), StoreError> {
    if tenant.is_empty() {
        return Err(StoreError::PgRefused(
            "an empty tenant scope would see every tenant; connect without a scope for the \
             scheduler, or name the tenant"
                .into(),
        ));
    }
    let row = client
        .query_one(
            "SELECT current_user::text, rolsuper OR rolbypassrls FROM pg_roles
             WHERE rolname = current_user",
            &[],
        )
        .map_err(pg("reading the connection's role"))?;
    let role: String = row
        .try_get(0)
        .map_err(pg("reading the connection's role"))?;
    let bypasses: bool = row
        .try_get(1)
        .map_err(pg("reading the connection's role"))?;
    if bypasses {
        return Err(StoreError::PgRefused(format!(
            "postgresql role `{role}` bypasses row-level security (superuser or BYPASSRLS), so a \
             connection scoped to tenant `{tenant}` would see every tenant; connect as a role \
             created with NOSUPERUSER NOBYPASSRLS"
        )));
    }
    client
        .query_one("SELECT set_config('app.tenant', $1, false)", &[&tenant])
        .map_err(pg("setting the tenant scope"))?;
    Ok(())
}

/// Host, port and database of `url`, for messages (never the password); `None` when it is not
/// a PostgreSQL url.
pub fn describe_url(url: &str) -> Option<String> {
    url.parse::<postgres::Config>().ok().map(|c| target_of(&c))
}

/// Host, port and database of a configuration, for messages (never the password).
fn target_of(config: &postgres::Config) -> String {
    let host = match config.get_hosts().first() {
        Some(postgres::config::Host::Tcp(h)) => h.clone(),
        Some(postgres::config::Host::Unix(p)) => p.display().to_string(),
        None => "localhost".into(),
    };
    let port = config.get_ports().first().copied().unwrap_or(5432);
    let db = config
        .get_dbname()
        .or(config.get_user())
        .unwrap_or("postgres");
    format!("{host}:{port}/{db}")
}

/// The full text of a client error: the server's message, code, detail and hint, or the chain
/// of causes (the client's own `Display` says only "db error").
pub(crate) fn describe(e: &postgres::Error) -> String {
    if let Some(db) = e.as_db_error() {
        let mut text = format!("{} (sqlstate {})", db.message(), db.code().code());
        if let Some(detail) = db.detail() {
            text.push_str("; ");
            text.push_str(detail);
        }
        if let Some(hint) = db.hint() {
            text.push_str("; hint: ");
            text.push_str(hint);
        }
        return text;
    }
    let mut text = e.to_string();
    let mut cause = std::error::Error::source(e);
    while let Some(c) = cause {
        text.push_str(": ");
        text.push_str(&c.to_string());
        cause = c.source();
    }
    text
}

/// Maps a client error to [`StoreError::Postgres`] with what the store was doing.
pub(crate) fn pg(context: &'static str) -> impl Fn(postgres::Error) -> StoreError {
    move |e| StoreError::Postgres {
        context: context.into(),
        message: describe(&e),
    }
}
