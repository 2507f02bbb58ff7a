//! Test support (feature `testing`): a PostgreSQL server for tests, `PPGOV_TEST_PG_URL` when set
//! (a superuser or a role with CREATEROLE and CREATEDB), else a throwaway cluster started once per
//! process with `scripts/pg-cluster`, which stops and removes it once the process exits. When
//! neither works, tests fail: they are never skipped. [`TestDb`] is one database per test, owned
//! by [`APP_ROLE`] (no superuser, no BYPASSRLS, so row-level security applies to it).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use crate::{PgEventStore, PgRecords, PgSnapshots, PgStore};
use postgres::{Client, NoTls};
use std::process::Command;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicUsize, Ordering};

/// The application role tests connect as (no superuser, no BYPASSRLS).
pub const APP_ROLE: &str = "ppgov_app";

/// Where the server is: host, port and the admin user, from the URL.
pub struct Server {
    /// A superuser URL.
    pub admin_url: String,
    /// Host.
    pub host: String,
    /// Port.
    pub port: u16,
    /// The superuser.
    pub admin_user: String,
}

static SERVER: OnceLock<Result<Server, String>> = OnceLock::new();

/// The test server, started once per process.
pub fn server() -> &'static Server {
    match SERVER.get_or_init(start_server) {
        Ok(s) => s,
        Err(e) => panic!("{e}"),
    }
}

fn start_server() -> Result<Server, String> {
    let url = match std::env::var("PPGOV_TEST_PG_URL") {
        Ok(url) if !url.is_empty() => url,
        _ => start_cluster()?,
    };
    let config: postgres::Config = url
        .parse()
        .map_err(|e| format!("PPGOV_TEST_PG_URL `{url}` is not a postgresql url: {e}"))?;
    let host = match config.get_hosts().first() {
        Some(postgres::config::Host::Tcp(h)) => h.clone(),
        _ => {
            return Err(format!(
                "`{url}` must name a tcp host (postgres://user@host:port/db)"
            ));
        }
    };
    let port = config.get_ports().first().copied().unwrap_or(5432);
    let admin_user = config.get_user().unwrap_or("postgres").to_owned();
    let mut admin = Client::connect(&url, NoTls)
        .map_err(|e| format!("cannot connect to the test server `{url}`: {e:?}"))?;
    let create = format!("CREATE ROLE {APP_ROLE} LOGIN NOSUPERUSER NOBYPASSRLS");
    if let Err(e) = admin.batch_execute(&create)
        && e.code() != Some(&postgres::error::SqlState::DUPLICATE_OBJECT)
    {
        return Err(format!("cannot create the role {APP_ROLE}: {e:?}"));
    }
    Ok(Server {
        admin_url: url,
        host,
        port,
        admin_user,
    })
}

/// Starts `scripts/pg-cluster`, tied to this process: its watchdog removes the cluster when the
/// test binary exits.
fn start_cluster() -> Result<String, String> {
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/../../scripts/pg-cluster");
    let out = Command::new("bash")
        .arg(script)
        .args(["start", "--owner-pid", &std::process::id().to_string()])
        .output()
        .map_err(|e| format!("cannot run {script}: {e}; set PPGOV_TEST_PG_URL instead"))?;
    if !out.status.success() {
        return Err(format!(
            "PPGOV_TEST_PG_URL is unset and {script} could not start a postgresql cluster \
             ({}):\n{}\ninstall Debian's postgresql package or set PPGOV_TEST_PG_URL",
            out.status,
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .find_map(|l| l.strip_prefix("PPGOV_TEST_PG_URL="))
        .map(str::to_owned)
        .ok_or_else(|| format!("{script} printed no PPGOV_TEST_PG_URL line"))
}

/// A database for one test, dropped when the test ends.
pub struct TestDb {
    /// The database's name.
    pub name: String,
}

static NEXT_DB: AtomicUsize = AtomicUsize::new(0);

impl TestDb {
    /// A fresh database owned by [`APP_ROLE`], dropped with the value.
    pub fn new() -> TestDb {
        let s = server();
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.subsec_nanos());
        let name = format!(
            "ppgov_t_{}_{}_{nanos}",
            std::process::id(),
            NEXT_DB.fetch_add(1, Ordering::Relaxed)
        );
        let mut admin = Client::connect(&s.admin_url, NoTls).unwrap();
        admin
            .batch_execute(&format!("CREATE DATABASE {name} OWNER {APP_ROLE}"))
            .unwrap();
        TestDb { name }
    }

    /// The URL of this database as the application role.
    pub fn url(&self) -> String {
        let s = server();
        format!("postgres://{APP_ROLE}@{}:{}/{}", s.host, s.port, self.name)
    }

    /// The URL of this database as the admin (a superuser on the throwaway cluster).
    pub fn admin_url(&self) -> String {
        let s = server();
        format!(
            "postgres://{}@{}:{}/{}",
            s.admin_user, s.host, s.port, self.name
        )
    }

    /// An unscoped store on this database.
    pub fn store(&self) -> PgStore {
        PgStore::connect(&self.url(), None).unwrap()
    }

    /// A store scoped to `tenant`.
    pub fn scoped(&self, tenant: &str) -> PgStore {
        PgStore::connect(&self.url(), Some(tenant)).unwrap()
    }

    /// The event store of `tenant` on this database.
    pub fn events(&self, tenant: &str) -> PgEventStore {
        PgEventStore::connect(&self.url(), tenant).unwrap()
    }

    /// The governance records of `tenant` on this database.
    pub fn records(&self, tenant: &str) -> PgRecords {
        PgRecords::connect(&self.url(), tenant).unwrap()
    }

    /// The snapshots of `tenant` on this database.
    pub fn snapshots(&self, tenant: &str) -> PgSnapshots {
        PgSnapshots::connect(&self.url(), tenant).unwrap()
    }

    /// A plain connection as the application role, scoped to `tenant` the way the store does.
    pub fn raw_scoped(&self, tenant: &str) -> Client {
        let mut c = Client::connect(&self.url(), NoTls).unwrap();
        c.query_one("SELECT set_config('app.tenant', $1, false)", &[&tenant])
            .unwrap();
        c
    }

    /// A superuser connection to this database.
    pub fn admin(&self) -> Client {
        Client::connect(&self.admin_url(), NoTls).unwrap()
    }

    /// Connections to this database kept idle for reuse (see `pool.rs`).
    pub fn idle(&self) -> usize {
        crate::pool::idle_for(&self.url())
    }
}

/// The server process behind a records store's connection (`pg_backend_pid()`).
pub fn backend_pid(r: &PgRecords) -> i32 {
    r.client()
        .unwrap()
        .query_one("SELECT pg_backend_pid()", &[])
        .unwrap()
        .get(0)
}

impl Default for TestDb {
    fn default() -> Self {
        TestDb::new()
    }
}

impl Drop for TestDb {
    /// Drops the database from a thread of its own, so a test on a tokio runtime (whose threads
    /// may not block on the client's runtime) can let it go anywhere, unwinding included.
    fn drop(&mut self) {
        let name = self.name.clone();
        let _ = std::thread::spawn(move || {
            if let Ok(mut admin) = Client::connect(&server().admin_url, NoTls) {
                let _ =
                    admin.batch_execute(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"));
            }
        })
        .join();
    }
}
