//! The store's error type.

use std::path::PathBuf;

/// Everything that can go wrong in the store.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The directory for the store file could not be created.
    #[error("cannot create directory {path}: {source}; check the path and its permissions")]
    CreateDir {
        /// The directory.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// SQLite could not open the store file.
    #[error("cannot open store {path}: {source}; check the path is a writable ppgov store")]
    Open {
        /// The store file.
        path: PathBuf,
        /// The SQLite error.
        source: rusqlite::Error,
    },
    /// A migration failed; the store is left at the previous version.
    #[error("store migration to version {version} failed: {source}; the store was left unchanged")]
    Migration {
        /// The version that failed.
        version: i64,
        /// The SQLite error.
        source: rusqlite::Error,
    },
    /// The store was written by a newer ppgov.
    #[error(
        "store schema version {found} is newer than this ppgov supports ({supported}); upgrade ppgov"
    )]
    NewerSchema {
        /// Version found in the file.
        found: i64,
        /// Highest version this build knows.
        supported: i64,
    },
    /// A query failed.
    #[error("store query failed: {0}")]
    Sqlite(#[from] rusqlite::Error),
    /// No snapshot with that id.
    #[error("snapshot `{0}` is not in the store; list snapshots with `ppgov snapshot list`")]
    UnknownSnapshot(String),
    /// Importing a snapshot whose id is already stored.
    #[error("snapshot `{0}` is already in the store; nothing to import")]
    SnapshotExists(String),
    /// A stored row could not be decoded into its domain type.
    #[error(
        "stored {kind} `{id}` of snapshot `{snapshot}` cannot be decoded: {source}; the store may be from an incompatible ppgov, crawl again"
    )]
    Decode {
        /// Snapshot id.
        snapshot: String,
        /// Resource kind.
        kind: String,
        /// Resource id.
        id: String,
        /// The JSON error.
        source: serde_json::Error,
    },
    /// A stored column held a value this build does not know.
    #[error("stored {column} has unknown value `{value}`; the store may be from a newer ppgov")]
    BadValue {
        /// Which column.
        column: &'static str,
        /// The value found.
        value: String,
    },
    /// A value could not be encoded as JSON.
    #[error("cannot encode {what} as json: {source}")]
    Encode {
        /// What was being encoded.
        what: String,
        /// The JSON error.
        source: serde_json::Error,
    },
    /// Reading or writing a snapshot file failed.
    #[error("cannot access {path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// A snapshot file is malformed.
    #[error(
        "{path}: line {line}: {message}; the file is not a ppgov snapshot or was damaged, export it again"
    )]
    BadSnapshotFile {
        /// The file.
        path: PathBuf,
        /// 1-based line number.
        line: usize,
        /// What is wrong (names the field where serde says it).
        message: String,
    },

    // The PostgreSQL store (`ppgov-store-pg`). The server's text is carried as a string, so this
    // crate does not depend on the PostgreSQL client.
    /// PostgreSQL could not be reached, or refused the connection.
    #[error(
        "cannot connect to postgresql at {target}: {message}; check that the server is running and the url's host, port, user and database"
    )]
    PgConnect {
        /// Host, port and database (never the password).
        target: String,
        /// The client's or the server's explanation.
        message: String,
    },
    /// A PostgreSQL statement failed.
    #[error("postgresql {context} failed: {message}")]
    Postgres {
        /// What the store was doing.
        context: String,
        /// The server's message, with its detail and hint when it gave them.
        message: String,
    },
    /// The PostgreSQL store refused an operation (one that would break tenant isolation, or a
    /// malformed argument); the text says why and what to do.
    #[error("{0}")]
    PgRefused(String),
}
