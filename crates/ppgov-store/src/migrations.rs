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
    // 2: resource documents stored once per content (`bodies`, keyed by SHA-256), so an
    // incremental snapshot carries unchanged resources forward as small rows instead of copying
    // their JSON. Rows from version 1 get a unique key that cannot collide with a digest.
    r#"
    CREATE TABLE bodies (
        hash BLOB PRIMARY KEY,
        json TEXT NOT NULL
    );
    CREATE TABLE resources_v2 (
        snapshot_id    TEXT NOT NULL REFERENCES snapshots(id) ON DELETE CASCADE,
        kind           TEXT NOT NULL,
        id             TEXT NOT NULL,
        environment_id TEXT,
        last_modified  TEXT,
        body           BLOB NOT NULL,
        PRIMARY KEY (snapshot_id, kind, id)
    );
    INSERT INTO bodies (hash, json)
        SELECT CAST('v1:' || snapshot_id || ':' || kind || ':' || id AS BLOB), json FROM resources;
    INSERT INTO resources_v2 (snapshot_id, kind, id, environment_id, last_modified, body)
        SELECT snapshot_id, kind, id, environment_id, last_modified,
               CAST('v1:' || snapshot_id || ':' || kind || ':' || id AS BLOB)
        FROM resources;
    DROP TABLE resources;
    ALTER TABLE resources_v2 RENAME TO resources;
    "#,
    // 3: resources marked for refresh (e.g. by audit ingestion): the next incremental crawl reads
    // them again in full, whatever their facets' age, then clears the marks it honoured.
    r#"
    -- incremental: refresh marks
    CREATE TABLE refresh_marks (
        mark_id   INTEGER PRIMARY KEY AUTOINCREMENT,
        kind      TEXT NOT NULL,
        id        TEXT NOT NULL,
        environment_id TEXT,
        reason    TEXT NOT NULL,
        marked_at TEXT NOT NULL
    );
    CREATE INDEX refresh_marks_by_resource ON refresh_marks (kind, id);
    "#,
    // 4: audit event store (month partitions are created on demand as audit_events_YYYYMM).
    r#"
    -- audit: events
    CREATE TABLE audit_batches (
        seq        INTEGER PRIMARY KEY,
        kind       TEXT NOT NULL CHECK (kind IN ('append', 'prune')),
        at         TEXT NOT NULL,
        count      INTEGER NOT NULL,
        detail     TEXT NOT NULL,
        prev_hash  TEXT NOT NULL,
        hash       TEXT NOT NULL
    );
    CREATE TABLE audit_batch_parts (
        batch   INTEGER NOT NULL REFERENCES audit_batches(seq),
        month   TEXT NOT NULL,
        count   INTEGER NOT NULL,
        digest  TEXT NOT NULL,
        PRIMARY KEY (batch, month)
    );
    CREATE TABLE audit_months (
        month   TEXT PRIMARY KEY,
        pruned  INTEGER NOT NULL DEFAULT 0
    );
    CREATE TABLE audit_state (
        key    TEXT PRIMARY KEY,
        value  TEXT NOT NULL
    );
    CREATE TABLE audit_alerts (
        key            TEXT PRIMARY KEY,
        detection_id   TEXT NOT NULL,
        severity       TEXT NOT NULL,
        actor          TEXT NOT NULL,
        environment_id TEXT,
        first_seen     INTEGER NOT NULL,
        last_seen      INTEGER NOT NULL,
        event_ids      TEXT NOT NULL,
        reason         TEXT NOT NULL,
        updated_at     TEXT NOT NULL
    );
    "#,
    // 5: the remediation journal (hash-chained, with its head kept apart so a truncated tail is
    // seen) and the actions due later (an elevation's removal, a grace period's end).
    r#"
    -- act: journal
    CREATE TABLE journal (
        seq         INTEGER PRIMARY KEY,
        at          TEXT NOT NULL,
        tenant_id   TEXT NOT NULL,
        actor       TEXT NOT NULL,
        apply_id    TEXT NOT NULL,
        plan_id     TEXT NOT NULL,
        plan_digest TEXT NOT NULL,
        step        INTEGER NOT NULL,
        action      TEXT NOT NULL,
        target      TEXT NOT NULL,
        phase       TEXT NOT NULL,
        request_id  TEXT,
        before      TEXT,
        after       TEXT,
        result      TEXT NOT NULL,
        prev_hash   TEXT NOT NULL,
        hash        TEXT NOT NULL
    );
    CREATE INDEX journal_by_plan ON journal (plan_digest, step);
    CREATE INDEX journal_by_apply ON journal (apply_id);
    CREATE TABLE journal_head (
        id   INTEGER PRIMARY KEY CHECK (id = 1),
        seq  INTEGER NOT NULL,
        hash TEXT NOT NULL
    );
    CREATE TABLE due_actions (
        id          INTEGER PRIMARY KEY AUTOINCREMENT,
        tenant_id   TEXT NOT NULL,
        due_at      TEXT NOT NULL,
        reason      TEXT NOT NULL,
        plan        TEXT NOT NULL,
        created_at  TEXT NOT NULL,
        done_at     TEXT,
        apply_id    TEXT
    );
    CREATE INDEX due_by_tenant ON due_actions (tenant_id, due_at);
    "#,
    // 6: the server mode's job queue: one row per (tenant, kind, tick), claimed under a lease.
    r#"
    -- serve: jobs
    CREATE TABLE jobs (
        id               INTEGER PRIMARY KEY AUTOINCREMENT,
        tenant_id        TEXT NOT NULL,
        kind             TEXT NOT NULL,
        scheduled_for_ms INTEGER NOT NULL,
        payload          TEXT NOT NULL,
        state            TEXT NOT NULL,
        attempts         INTEGER NOT NULL,
        lease_owner      TEXT,
        lease_until_ms   INTEGER,
        checkpoint       TEXT,
        error            TEXT,
        created_ms       INTEGER NOT NULL,
        started_ms       INTEGER,
        finished_ms      INTEGER,
        UNIQUE (tenant_id, kind, scheduled_for_ms)
    );
    CREATE INDEX jobs_due ON jobs (state, scheduled_for_ms);
    "#,
    // 7: the console's connector requests (seed 002's workflow), each step in its history.
    r#"
    CREATE TABLE connector_requests (
        id             INTEGER PRIMARY KEY AUTOINCREMENT,
        tenant_id      TEXT NOT NULL,
        environment_id TEXT NOT NULL,
        connector      TEXT NOT NULL,
        justification  TEXT NOT NULL,
        classification TEXT NOT NULL,
        requester      TEXT NOT NULL,
        requester_name TEXT NOT NULL,
        state          TEXT NOT NULL,
        created_ms     INTEGER NOT NULL,
        updated_ms     INTEGER NOT NULL,
        evaluation     TEXT,
        decision       TEXT,
        plan           TEXT,
        history        TEXT NOT NULL
    );
    CREATE INDEX connector_requests_by_tenant ON connector_requests (tenant_id, id);
    "#,
    // 8: suppressions recorded in the console, with who and when; revoked rows are kept.
    r#"
    CREATE TABLE suppressions (
        id            INTEGER PRIMARY KEY AUTOINCREMENT,
        tenant_id     TEXT NOT NULL,
        rule_id       TEXT NOT NULL,
        resource_id   TEXT NOT NULL,
        justification TEXT NOT NULL,
        expires       TEXT NOT NULL,
        created_by    TEXT NOT NULL,
        created_ms    INTEGER NOT NULL,
        revoked_by    TEXT,
        revoked_ms    INTEGER,
        revoke_reason TEXT
    );
    CREATE INDEX suppressions_by_tenant ON suppressions (tenant_id, id);
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn version_one_resources_survive_the_move_to_shared_bodies() {
        let mut conn = Connection::open_in_memory().unwrap();
        conn.execute_batch(MIGRATIONS[0]).unwrap();
        conn.pragma_update(None, "user_version", 1).unwrap();
        conn.execute_batch(
            "INSERT INTO snapshots (id, tenant_id, started_at, status, kind)
                 VALUES ('s1', 't', '2026-01-01T00:00:00Z', 'complete', 'full');
             INSERT INTO resources (snapshot_id, kind, id, environment_id, last_modified, json)
                 VALUES ('s1', 'flow', 'f1', 'e', NULL, '{\"id\":\"f1\"}'),
                        ('s1', 'app', 'f1', 'e', NULL, '{\"id\":\"a\"}');",
        )
        .unwrap();
        migrate(&mut conn).unwrap();
        assert_eq!(version(&conn).unwrap(), LATEST);
        let mut stmt = conn
            .prepare(
                "SELECT r.kind, b.json FROM resources r JOIN bodies b ON b.hash = r.body
                 WHERE r.snapshot_id = 's1' ORDER BY r.kind",
            )
            .unwrap();
        let rows: Vec<(String, String)> = stmt
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
            .unwrap()
            .map(Result::unwrap)
            .collect();
        assert_eq!(
            rows,
            [
                ("app".to_string(), "{\"id\":\"a\"}".to_string()),
                ("flow".to_string(), "{\"id\":\"f1\"}".to_string())
            ]
        );
    }
}
