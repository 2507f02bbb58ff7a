//! Opening a store: directories, pragmas, migrations.

use crate::{StoreError, migrations};
use rusqlite::Connection;
use std::path::Path;
use std::time::Duration;

/// How long a writer waits for another connection's lock before giving up.
const BUSY_TIMEOUT: Duration = Duration::from_secs(10);

/// An open ppgov store (one SQLite connection).
///
/// `Send` but not `Sync`: give it to one writer thread, or open one `Store` per thread.
#[derive(Debug)]
pub struct Store {
    pub(crate) conn: Connection,
}

impl Store {
    /// Opens (creating if needed) the store at `path`, creating parent directories, turning on WAL
    /// and applying pending migrations.
    pub fn open(path: impl AsRef<Path>) -> Result<Store, StoreError> {
        let path = path.as_ref();
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            crate::private::create_private_dir(dir).map_err(|source| StoreError::CreateDir {
                path: dir.to_path_buf(),
                source,
            })?;
        }
        // Owner-only before SQLite opens it: SQLite gives its -wal and -shm files the main
        // file's mode, so those follow.
        let io = |source| StoreError::Io {
            path: path.to_path_buf(),
            source,
        };
        if !path.exists() {
            drop(crate::private::create_private_file(path).map_err(io)?);
        } else if path.is_file() {
            crate::private::restrict_file(path).map_err(io)?;
        }
        let open = |p: &Path| -> Result<Connection, rusqlite::Error> {
            let mut conn = Connection::open(p)?;
            conn.busy_timeout(BUSY_TIMEOUT)?;
            // Every transaction here writes. Taken IMMEDIATE (the write lock first), a
            // transaction waits its turn behind another process's or job's writer (the busy
            // timeout); a deferred one that read first could not upgrade and would fail at once
            // with "database is locked" (`ppgov serve` crawls and ingests at the same time).
            conn.set_transaction_behavior(rusqlite::TransactionBehavior::Immediate);
            // WAL lets readers (a report) run while the crawler writes; NORMAL sync is durable
            // at every checkpoint and never corrupts on a crash, which is what a crawl needs.
            let _mode: String =
                conn.pragma_update_and_check(None, "journal_mode", "wal", |r| r.get(0))?;
            conn.pragma_update(None, "synchronous", "normal")?;
            conn.pragma_update(None, "foreign_keys", true)?;
            Ok(conn)
        };
        let conn = open(path).map_err(|source| StoreError::Open {
            path: path.to_path_buf(),
            source,
        })?;
        Self::init(conn)
    }

    /// Opens a fresh store in memory (tests, one-shot offline evaluation).
    pub fn open_in_memory() -> Result<Store, StoreError> {
        let conn = Connection::open_in_memory()
            .and_then(|c| c.pragma_update(None, "foreign_keys", true).map(|()| c))
            .map_err(|source| StoreError::Open {
                path: ":memory:".into(),
                source,
            })?;
        Self::init(conn)
    }

    fn init(mut conn: Connection) -> Result<Store, StoreError> {
        migrations::migrate(&mut conn)?;
        Ok(Store { conn })
    }

    /// The schema version of this store (equals the latest after [`Store::open`]).
    pub fn schema_version(&self) -> Result<i64, StoreError> {
        migrations::version(&self.conn)
    }

    /// The schema version this build of ppgov writes.
    pub fn latest_schema_version() -> i64 {
        migrations::LATEST
    }
}
