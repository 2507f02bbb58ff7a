//! Versioned schema migrations on `PRAGMA user_version`.
//!
//! Each migration is one numbered SQL string, applied with the version bump in one transaction,
//! so a store is always at exactly one version. Never edit a released migration: add a new one.

use crate::StoreError;
use rusqlite::Connection;

/// Migrations in order; entry `i` takes the schema from version `i` to `i + 1`.
const MIGRATIONS: &[&str] = &[
    // 1: snapshots, resources, collection status, checkpoints, scans.
    r#"
    CREATE TABLE snapshots (
        id          TEXT PRIMARY KEY,
        tenant_id   TEXT NOT NULL,
        started_at  TEXT NOT NULL,
        finished_at TEXT,
        status      TEXT NOT NULL CHECK (status IN ('running', 'complete', 'failed')),
        kind        TEXT NOT NULL CHECK (kind IN ('full', 'incremental')),
        parent_id   TEXT REFERENCES snapshots(id) ON DELETE SET NULL
    );
    CREATE INDEX snapshots_by_tenant ON snapshots (tenant_id, started_at);

    CREATE TABLE resources (
        snapshot_id    TEXT NOT NULL REFERENCES snapshots(id) ON DELETE CASCADE,
        kind           TEXT NOT NULL,
        id             TEXT NOT NULL,
        environment_id TEXT,
        last_modified  TEXT,
        json           TEXT NOT NULL,
        PRIMARY KEY (snapshot_id, kind, id)
    );

    CREATE TABLE collection (
        snapshot_id TEXT NOT NULL REFERENCES snapshots(id) ON DELETE CASCADE,
        scope       TEXT NOT NULL,
        kind        TEXT NOT NULL,
        json        TEXT NOT NULL,
        PRIMARY KEY (snapshot_id, scope, kind)
    );

    CREATE TABLE checkpoints (
        snapshot_id TEXT NOT NULL REFERENCES snapshots(id) ON DELETE CASCADE,
        shard       TEXT NOT NULL,
        state       TEXT NOT NULL CHECK (state IN ('done', 'pending')),
        cursor      TEXT,
        updated_at  TEXT NOT NULL,
        PRIMARY KEY (snapshot_id, shard)
    );

    CREATE TABLE scans (
        id          INTEGER PRIMARY KEY AUTOINCREMENT,
        snapshot_id TEXT NOT NULL,
        tenant_id   TEXT NOT NULL,
        created_at  TEXT NOT NULL,
        report      TEXT NOT NULL
    );
    CREATE INDEX scans_by_tenant ON scans (tenant_id, id);
    "#,
];

/// The schema version this build writes.
pub(crate) const LATEST: i64 = MIGRATIONS.len() as i64;

/// Brings the schema up to [`LATEST`], one transaction per migration.
pub(crate) fn migrate(conn: &mut Connection) -> Result<(), StoreError> {
    let current: i64 = conn.pragma_query_value(None, "user_version", |r| r.get(0))?;
    if current > LATEST {
        return Err(StoreError::NewerSchema {
            found: current,
            supported: LATEST,
        });
    }
    for (i, sql) in MIGRATIONS
        .iter()
        .enumerate()
        .skip(usize::try_from(current).unwrap_or(0))
    {
        let version = i as i64 + 1;
        let apply = |conn: &mut Connection| -> Result<(), rusqlite::Error> {
            let tx = conn.transaction()?;
            tx.execute_batch(sql)?;
            tx.pragma_update(None, "user_version", version)?;
            tx.commit()
        };
        apply(conn).map_err(|source| StoreError::Migration { version, source })?;
        tracing::debug!(version, "applied store migration");
    }
    Ok(())
}

/// The schema version of an open store.
pub(crate) fn version(conn: &Connection) -> Result<i64, StoreError> {
    Ok(conn.pragma_query_value(None, "user_version", |r| r.get(0))?)
}
