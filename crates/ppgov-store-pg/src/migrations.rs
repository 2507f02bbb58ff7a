//! Versioned schema migrations, recorded in `ppgov_migrations`.
//!
//! All pending migrations run in one transaction that first takes a transaction-scoped advisory
//! lock, so several server instances starting at once migrate one after the other: the first
//! applies, the others wait, then find nothing left to do. A failed migration rolls back whole.
//! Never edit a released migration: add a new one.

use postgres::Client;
use ppgov_store::StoreError;

use crate::{describe, pg};

/// The advisory lock key space of this store (two-int form; `ppgv` in ASCII), so its locks do
/// not meet other applications' in a shared database.
pub(crate) const LOCK_SPACE: i32 = 0x7070_6776;
/// Second key of the migration lock in [`LOCK_SPACE`].
const MIGRATION_LOCK: i32 = 1;

/// The row-level security condition shared by every tenant table: an unscoped session (no or
/// empty `app.tenant`) sees all rows, a scoped one only its tenant's.
macro_rules! tenant_policy {
    () => {
        "(current_setting('app.tenant', true) IS NULL
          OR current_setting('app.tenant', true) = ''
          OR tenant_id = current_setting('app.tenant', true))"
    };
}

/// Migrations in order; entry `i` takes the schema from version `i` to `i + 1`.
const MIGRATIONS: &[&str] = &[
    // 1: the job queue (the SQLite store's `jobs` columns), one row per (tenant, kind, tick).
    concat!(
        r#"
    CREATE TABLE jobs (
        id               BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        tenant_id        TEXT NOT NULL,
        kind             TEXT NOT NULL,
        scheduled_for_ms BIGINT NOT NULL,
        payload          TEXT NOT NULL,
        state            TEXT NOT NULL,
        attempts         INTEGER NOT NULL,
        lease_owner      TEXT,
        lease_until_ms   BIGINT,
        checkpoint       TEXT,
        error            TEXT,
        created_ms       BIGINT NOT NULL,
        started_ms       BIGINT,
        finished_ms      BIGINT,
        UNIQUE (tenant_id, kind, scheduled_for_ms)
    );
    CREATE INDEX jobs_due ON jobs (state, scheduled_for_ms);
    CREATE INDEX jobs_running ON jobs (tenant_id, kind) WHERE state = 'running';
    ALTER TABLE jobs ENABLE ROW LEVEL SECURITY;
    ALTER TABLE jobs FORCE ROW LEVEL SECURITY;
    CREATE POLICY jobs_tenant ON jobs USING "#,
        tenant_policy!(),
        ";"
    ),
    // 2: audit events, partitioned by month on their time (ms). A month's partition is made on
    // demand by ppgov_audit_partition, with its own unique index on (tenant_id, id): a unique
    // index on the parent would have to include time_ms, which would let an event that comes
    // back with another time in the same month in twice.
    concat!(
        r#"
    CREATE TABLE audit_events (
        tenant_id TEXT NOT NULL,
        id        TEXT NOT NULL,
        time_ms   BIGINT NOT NULL,
        raw       TEXT NOT NULL
    ) PARTITION BY RANGE (time_ms);
    CREATE INDEX audit_events_by_tenant ON audit_events (tenant_id, time_ms);
    ALTER TABLE audit_events ENABLE ROW LEVEL SECURITY;
    ALTER TABLE audit_events FORCE ROW LEVEL SECURITY;
    CREATE POLICY audit_events_tenant ON audit_events USING "#,
        tenant_policy!(),
        r#";

    -- The partition holding time at_ms (UTC month), created when missing; returns its name.
    CREATE FUNCTION ppgov_audit_partition(at_ms BIGINT) RETURNS TEXT
    LANGUAGE plpgsql AS $fn$
    DECLARE
        month_start TIMESTAMP := date_trunc('month', to_timestamp(at_ms / 1000.0) AT TIME ZONE 'UTC');
        part TEXT := 'audit_events_' || to_char(month_start, 'YYYYMM');
        lo BIGINT := (extract(epoch FROM month_start AT TIME ZONE 'UTC') * 1000)::BIGINT;
        hi BIGINT := (extract(epoch FROM (month_start + INTERVAL '1 month') AT TIME ZONE 'UTC') * 1000)::BIGINT;
    BEGIN
        IF to_regclass(part) IS NOT NULL THEN
            RETURN part;
        END IF;
        -- Two sessions creating the same month: the second waits here. Taking the lock does
        -- not refresh the session's view of the catalog, so the partition the first one made
        -- may still look missing: creating it then fails as a duplicate, which means it exists.
        -- (LOCK_SPACE, 2): the first key is LOCK_SPACE in migrations.rs.
        PERFORM pg_advisory_xact_lock(1886414710, 2);
        BEGIN
            EXECUTE format('CREATE TABLE %I PARTITION OF audit_events FOR VALUES FROM (%s) TO (%s)',
                           part, lo, hi);
            EXECUTE format('CREATE UNIQUE INDEX %I ON %I (tenant_id, id)', part || '_event', part);
            -- Policies on the parent do not cover a partition read by its own name.
            EXECUTE format('ALTER TABLE %I ENABLE ROW LEVEL SECURITY', part);
            EXECUTE format('ALTER TABLE %I FORCE ROW LEVEL SECURITY', part);
            EXECUTE format($p$CREATE POLICY tenant ON %I USING "#,
        tenant_policy!(),
        r#"$p$, part);
        EXCEPTION WHEN duplicate_table THEN
            RETURN part;
        END;
        RETURN part;
    END
    $fn$;
    "#
    ),
];

/// The schema version this build writes.
pub const LATEST: i64 = MIGRATIONS.len() as i64;

/// Brings the schema up to [`LATEST`] (see the module documentation).
pub(crate) fn migrate(client: &mut Client) -> Result<(), StoreError> {
    let mut tx = client.transaction().map_err(pg("starting the migration"))?;
    tx.execute(
        "SELECT pg_advisory_xact_lock($1, $2)",
        &[&LOCK_SPACE, &MIGRATION_LOCK],
    )
    .map_err(pg("waiting for the migration lock"))?;
    tx.batch_execute(
        "CREATE TABLE IF NOT EXISTS ppgov_migrations (
             version    BIGINT PRIMARY KEY,
             applied_at TIMESTAMPTZ NOT NULL DEFAULT now()
         )",
    )
    .map_err(pg("creating the migrations table"))?;
    let current = current_version(&mut tx)?;
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
        let failed = |e: postgres::Error| StoreError::Postgres {
            context: format!("migration to version {version} (nothing was changed)"),
            message: describe(&e),
        };
        tx.batch_execute(sql).map_err(failed)?;
        tx.execute(
            "INSERT INTO ppgov_migrations (version) VALUES ($1)",
            &[&version],
        )
        .map_err(failed)?;
        tracing::debug!(version, "applied postgresql store migration");
    }
    tx.commit().map_err(pg("committing the migration"))
}

/// The highest migration applied.
pub(crate) fn version(client: &mut impl postgres::GenericClient) -> Result<i64, StoreError> {
    current_version(client)
}

fn current_version(tx: &mut impl postgres::GenericClient) -> Result<i64, StoreError> {
    let row = tx
        .query_one(
            "SELECT COALESCE(MAX(version), 0)::BIGINT FROM ppgov_migrations",
            &[],
        )
        .map_err(pg("reading the schema version"))?;
    row.try_get(0).map_err(pg("reading the schema version"))
}
