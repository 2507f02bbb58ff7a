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
/// empty `app.tenant`) sees all rows, a scoped one only its tenant's. A policy given only
/// `USING` checks new rows with it too, so a scoped session cannot insert or update a row into
/// another tenant either.
macro_rules! tenant_policy {
    () => {
        "(current_setting('app.tenant', true) IS NULL
          OR current_setting('app.tenant', true) = ''
          OR tenant_id = current_setting('app.tenant', true))"
    };
}

/// The row-level security condition of the tables that belong to no tenant (migration 5's console
/// sessions): only an unscoped session (no or empty `app.tenant`) sees or writes their rows; a
/// session scoped to a tenant sees none and writes none.
macro_rules! unscoped_only {
    () => {
        "(current_setting('app.tenant', true) IS NULL
          OR current_setting('app.tenant', true) = '')"
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
    // 3: the audit event store (ppgov_store::EventStore) per tenant. audit_events of 2 held no
    // product data yet; it is replaced by one with every column of an EventRow plus the tenant,
    // sequence number and batch, still one partition per month made on demand, an event unique
    // per (tenant_id, id) within its month. The chain (batches and their month parts), the
    // months (with their pruned flag), state, alerts and refresh marks are per tenant too.
    concat!(
        r#"
    DROP TABLE audit_events;
    CREATE TABLE audit_events (
        tenant_id      TEXT NOT NULL,
        seq            BIGINT NOT NULL,
        -- Byte order, as SQLite compares text: search and scan_after order by (time_ms, id).
        id             TEXT COLLATE "C" NOT NULL,
        time_ms        BIGINT NOT NULL,
        record_type    BIGINT NOT NULL,
        operation      TEXT NOT NULL,
        workload       TEXT NOT NULL,
        actor          TEXT NOT NULL,
        environment_id TEXT NOT NULL,
        resource_kind  TEXT NOT NULL,
        resource_id    TEXT NOT NULL,
        client_ip      TEXT NOT NULL,
        risk           TEXT NOT NULL,
        attrs          TEXT NOT NULL,
        raw            TEXT NOT NULL,
        batch          BIGINT NOT NULL
    ) PARTITION BY RANGE (time_ms);
    -- Time order for search and scan_after; sequence order for verify.
    CREATE INDEX audit_events_time ON audit_events (tenant_id, time_ms, id);
    CREATE INDEX audit_events_seq ON audit_events (tenant_id, seq);
    ALTER TABLE audit_events ENABLE ROW LEVEL SECURITY;
    ALTER TABLE audit_events FORCE ROW LEVEL SECURITY;
    CREATE POLICY audit_events_tenant ON audit_events USING "#,
        tenant_policy!(),
        r#";

    -- The partition holding time at_ms (UTC month), created when missing; returns its name.
    CREATE OR REPLACE FUNCTION ppgov_audit_partition(at_ms BIGINT) RETURNS TEXT
    LANGUAGE plpgsql AS $fn$
    DECLARE
        month_start TIMESTAMP := date_trunc('month', to_timestamp(at_ms / 1000.0) AT TIME ZONE 'UTC');
        part TEXT := 'audit_events_' || to_char(month_start, 'YYYYMM');
        lo BIGINT := (extract(epoch FROM month_start AT TIME ZONE 'UTC') * 1000)::BIGINT;
        hi BIGINT := (extract(epoch FROM (month_start + INTERVAL '1 month') AT TIME ZONE 'UTC') * 1000)::BIGINT;
    BEGIN
        IF to_regclass(part) IS NOT NULL THEN
            BEGIN
                -- Held until the caller's transaction ends, so a prune of another tenant
                -- (ppgov_audit_drop_month_if_empty) cannot drop the partition under its insert.
                EXECUTE format('LOCK TABLE %I IN ROW EXCLUSIVE MODE', part);
                RETURN part;
            EXCEPTION WHEN undefined_table THEN
                NULL; -- dropped meanwhile: made again below
            END;
        END IF;
        -- Two sessions creating the same month: the second waits here (see migration 2).
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
            EXECUTE format('LOCK TABLE %I IN ROW EXCLUSIVE MODE', part);
            RETURN part;
        END;
        RETURN part;
    END
    $fn$;

    -- Drops the partition of the month starting at month_ms when no tenant has a row left in
    -- it; true when it did. A partition holds every tenant's events, and a scoped session sees
    -- only its own: the emptiness check alone lifts the scope, for this statement only, after
    -- locking the table and the partition, so no append can add a row between the check and
    -- the drop. The locks are taken without waiting: a prune that waited for them while holding
    -- its own row locks could deadlock with an append making a partition; when the table is
    -- busy the partition stays, for the next prune to drop.
    CREATE FUNCTION ppgov_audit_drop_month_if_empty(month_ms BIGINT) RETURNS BOOLEAN
    LANGUAGE plpgsql AS $fn$
    DECLARE
        part TEXT := 'audit_events_' || to_char(to_timestamp(month_ms / 1000.0) AT TIME ZONE 'UTC', 'YYYYMM');
        scope TEXT := current_setting('app.tenant', true);
        left_rows BOOLEAN;
    BEGIN
        IF to_regclass(part) IS NULL THEN
            RETURN false;
        END IF;
        BEGIN
            LOCK TABLE ONLY audit_events IN ACCESS EXCLUSIVE MODE NOWAIT;
            EXECUTE format('LOCK TABLE %I IN ACCESS EXCLUSIVE MODE NOWAIT', part);
        EXCEPTION WHEN lock_not_available THEN
            RETURN false;
        END;
        PERFORM set_config('app.tenant', '', true);
        EXECUTE format('SELECT EXISTS (SELECT 1 FROM %I)', part) INTO left_rows;
        PERFORM set_config('app.tenant', COALESCE(scope, ''), true);
        IF left_rows THEN
            RETURN false;
        END IF;
        EXECUTE format('DROP TABLE %I', part);
        RETURN true;
    END
    $fn$;

    CREATE TABLE audit_batches (
        tenant_id TEXT NOT NULL,
        seq       BIGINT NOT NULL,
        kind      TEXT NOT NULL,
        at        TEXT NOT NULL,
        count     BIGINT NOT NULL,
        detail    TEXT NOT NULL,
        prev_hash TEXT NOT NULL,
        hash      TEXT NOT NULL,
        PRIMARY KEY (tenant_id, seq)
    );
    CREATE TABLE audit_batch_parts (
        tenant_id TEXT NOT NULL,
        batch     BIGINT NOT NULL,
        month     TEXT NOT NULL,
        count     BIGINT NOT NULL,
        digest    TEXT NOT NULL,
        PRIMARY KEY (tenant_id, batch, month)
    );
    CREATE TABLE audit_months (
        tenant_id TEXT NOT NULL,
        month     TEXT NOT NULL,
        pruned    BOOLEAN NOT NULL DEFAULT false,
        PRIMARY KEY (tenant_id, month)
    );
    CREATE TABLE audit_state (
        tenant_id TEXT NOT NULL,
        key       TEXT NOT NULL,
        value     TEXT NOT NULL,
        PRIMARY KEY (tenant_id, key)
    );
    CREATE TABLE audit_alerts (
        tenant_id      TEXT NOT NULL,
        key            TEXT COLLATE "C" NOT NULL,
        detection_id   TEXT NOT NULL,
        severity       TEXT NOT NULL,
        actor          TEXT NOT NULL,
        environment_id TEXT,
        first_seen     BIGINT NOT NULL,
        last_seen      BIGINT NOT NULL,
        event_ids      TEXT NOT NULL,
        reason         TEXT NOT NULL,
        updated_at     TEXT NOT NULL,
        PRIMARY KEY (tenant_id, key)
    );
    CREATE INDEX audit_alerts_last_seen ON audit_alerts (tenant_id, last_seen);
    CREATE TABLE refresh_marks (
        mark_id        BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        tenant_id      TEXT NOT NULL,
        kind           TEXT NOT NULL,
        id             TEXT NOT NULL,
        environment_id TEXT,
        reason         TEXT NOT NULL,
        marked_at      TEXT NOT NULL
    );
    CREATE INDEX refresh_marks_tenant ON refresh_marks (tenant_id, mark_id);
    ALTER TABLE audit_batches ENABLE ROW LEVEL SECURITY;
    ALTER TABLE audit_batches FORCE ROW LEVEL SECURITY;
    CREATE POLICY audit_batches_tenant ON audit_batches USING "#,
        tenant_policy!(),
        r#";
    ALTER TABLE audit_batch_parts ENABLE ROW LEVEL SECURITY;
    ALTER TABLE audit_batch_parts FORCE ROW LEVEL SECURITY;
    CREATE POLICY audit_batch_parts_tenant ON audit_batch_parts USING "#,
        tenant_policy!(),
        r#";
    ALTER TABLE audit_months ENABLE ROW LEVEL SECURITY;
    ALTER TABLE audit_months FORCE ROW LEVEL SECURITY;
    CREATE POLICY audit_months_tenant ON audit_months USING "#,
        tenant_policy!(),
        r#";
    ALTER TABLE audit_state ENABLE ROW LEVEL SECURITY;
    ALTER TABLE audit_state FORCE ROW LEVEL SECURITY;
    CREATE POLICY audit_state_tenant ON audit_state USING "#,
        tenant_policy!(),
        r#";
    ALTER TABLE audit_alerts ENABLE ROW LEVEL SECURITY;
    ALTER TABLE audit_alerts FORCE ROW LEVEL SECURITY;
    CREATE POLICY audit_alerts_tenant ON audit_alerts USING "#,
        tenant_policy!(),
        r#";
    ALTER TABLE refresh_marks ENABLE ROW LEVEL SECURITY;
    ALTER TABLE refresh_marks FORCE ROW LEVEL SECURITY;
    CREATE POLICY refresh_marks_tenant ON refresh_marks USING "#,
        tenant_policy!(),
        r#";
    "#
    ),
    // 4: the governance records (ppgov_store::Records) per tenant: the SQLite store's journal,
    // due_actions, scans, suppressions and connector_requests columns plus the tenant. The
    // journal's fields are stored as the text they were hashed from, numbered per tenant, with
    // each tenant's head in journal_head; times are the same RFC 3339 text (due_at in byte
    // order, as SQLite compares it) or ms as in SQLite.
    concat!(
        r#"
    CREATE TABLE journal (
        tenant_id   TEXT NOT NULL,
        seq         BIGINT NOT NULL,
        at          TEXT NOT NULL,
        actor       TEXT NOT NULL,
        apply_id    TEXT NOT NULL,
        plan_id     TEXT NOT NULL,
        plan_digest TEXT NOT NULL,
        step        BIGINT NOT NULL,
        action      TEXT NOT NULL,
        target      TEXT NOT NULL,
        phase       TEXT NOT NULL,
        request_id  TEXT,
        before      TEXT,
        after       TEXT,
        result      TEXT NOT NULL,
        prev_hash   TEXT NOT NULL,
        hash        TEXT NOT NULL,
        PRIMARY KEY (tenant_id, seq)
    );
    CREATE INDEX journal_by_plan ON journal (tenant_id, plan_digest, seq);
    CREATE INDEX journal_by_apply ON journal (tenant_id, apply_id, seq);
    CREATE TABLE journal_head (
        tenant_id TEXT PRIMARY KEY,
        seq       BIGINT NOT NULL,
        hash      TEXT NOT NULL
    );
    CREATE TABLE due_actions (
        id         BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        tenant_id  TEXT NOT NULL,
        due_at     TEXT COLLATE "C" NOT NULL,
        reason     TEXT NOT NULL,
        plan       TEXT NOT NULL,
        created_at TEXT NOT NULL,
        done_at    TEXT,
        apply_id   TEXT
    );
    CREATE INDEX due_actions_by_tenant ON due_actions (tenant_id, due_at);
    CREATE TABLE scans (
        id          BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        tenant_id   TEXT NOT NULL,
        snapshot_id TEXT NOT NULL,
        created_at  TEXT NOT NULL,
        report      TEXT NOT NULL
    );
    CREATE INDEX scans_by_tenant ON scans (tenant_id, id);
    CREATE TABLE suppressions (
        id            BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        tenant_id     TEXT NOT NULL,
        rule_id       TEXT NOT NULL,
        resource_id   TEXT NOT NULL,
        justification TEXT NOT NULL,
        expires       TEXT NOT NULL,
        created_by    TEXT NOT NULL,
        created_ms    BIGINT NOT NULL,
        revoked_by    TEXT,
        revoked_ms    BIGINT,
        revoke_reason TEXT
    );
    CREATE INDEX suppressions_by_tenant ON suppressions (tenant_id, id);
    CREATE TABLE connector_requests (
        id             BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        tenant_id      TEXT NOT NULL,
        environment_id TEXT NOT NULL,
        connector      TEXT NOT NULL,
        justification  TEXT NOT NULL,
        classification TEXT NOT NULL,
        requester      TEXT NOT NULL,
        requester_name TEXT NOT NULL,
        state          TEXT NOT NULL,
        created_ms     BIGINT NOT NULL,
        updated_ms     BIGINT NOT NULL,
        evaluation     TEXT,
        decision       TEXT,
        plan           TEXT,
        history        TEXT NOT NULL
    );
    CREATE INDEX connector_requests_by_tenant ON connector_requests (tenant_id, id);
    ALTER TABLE journal ENABLE ROW LEVEL SECURITY;
    ALTER TABLE journal FORCE ROW LEVEL SECURITY;
    CREATE POLICY journal_tenant ON journal USING "#,
        tenant_policy!(),
        r#";
    ALTER TABLE journal_head ENABLE ROW LEVEL SECURITY;
    ALTER TABLE journal_head FORCE ROW LEVEL SECURITY;
    CREATE POLICY journal_head_tenant ON journal_head USING "#,
        tenant_policy!(),
        r#";
    ALTER TABLE due_actions ENABLE ROW LEVEL SECURITY;
    ALTER TABLE due_actions FORCE ROW LEVEL SECURITY;
    CREATE POLICY due_actions_tenant ON due_actions USING "#,
        tenant_policy!(),
        r#";
    ALTER TABLE scans ENABLE ROW LEVEL SECURITY;
    ALTER TABLE scans FORCE ROW LEVEL SECURITY;
    CREATE POLICY scans_tenant ON scans USING "#,
        tenant_policy!(),
        r#";
    ALTER TABLE suppressions ENABLE ROW LEVEL SECURITY;
    ALTER TABLE suppressions FORCE ROW LEVEL SECURITY;
    CREATE POLICY suppressions_tenant ON suppressions USING "#,
        tenant_policy!(),
        r#";
    ALTER TABLE connector_requests ENABLE ROW LEVEL SECURITY;
    ALTER TABLE connector_requests FORCE ROW LEVEL SECURITY;
    CREATE POLICY connector_requests_tenant ON connector_requests USING "#,
        tenant_policy!(),
        r#";
    "#
    ),
    // 5: the web console's sessions, pending sign-ins and one-time form tokens, shared by every
    // `ppgov serve` instance on this database (`crate::PgSessions`). They have no tenant column:
    // a session spans every tenant its person holds roles in. So these tables are not under the
    // tenant policy; a tenant-scoped connection has no business with them, and their own policy
    // (`unscoped_only`) shows them to unscoped sessions only. Rows are keyed by SHA-256 digests
    // (of the session id, the sign-in's state, the form token), never the values themselves;
    // `value` is what the console keeps of the session or the pending sign-in (JSON). `seq`
    // orders arrivals: the oldest pending sign-ins and the oldest form tokens of a session go
    // first when their caps are reached. A session's form tokens go with it.
    concat!(
        r#"
    CREATE TABLE console_sessions (
        id_digest  BYTEA PRIMARY KEY,
        value      TEXT NOT NULL,
        expires_ms BIGINT NOT NULL
    );
    CREATE INDEX console_sessions_expiry ON console_sessions (expires_ms);
    CREATE TABLE console_pending (
        state_digest BYTEA PRIMARY KEY,
        value        TEXT NOT NULL,
        started_ms   BIGINT NOT NULL,
        seq          BIGINT GENERATED ALWAYS AS IDENTITY UNIQUE
    );
    CREATE INDEX console_pending_started ON console_pending (started_ms);
    CREATE TABLE console_form_tokens (
        session_digest BYTEA NOT NULL
                       REFERENCES console_sessions (id_digest) ON DELETE CASCADE,
        token_digest   BYTEA NOT NULL,
        seq            BIGINT GENERATED ALWAYS AS IDENTITY,
        PRIMARY KEY (session_digest, token_digest)
    );
    CREATE INDEX console_form_tokens_order ON console_form_tokens (session_digest, seq);
    ALTER TABLE console_sessions ENABLE ROW LEVEL SECURITY;
    ALTER TABLE console_sessions FORCE ROW LEVEL SECURITY;
    CREATE POLICY console_sessions_unscoped ON console_sessions USING "#,
        unscoped_only!(),
        r#";
    ALTER TABLE console_pending ENABLE ROW LEVEL SECURITY;
    ALTER TABLE console_pending FORCE ROW LEVEL SECURITY;
    CREATE POLICY console_pending_unscoped ON console_pending USING "#,
        unscoped_only!(),
        r#";
    ALTER TABLE console_form_tokens ENABLE ROW LEVEL SECURITY;
    ALTER TABLE console_form_tokens FORCE ROW LEVEL SECURITY;
    CREATE POLICY console_form_tokens_unscoped ON console_form_tokens USING "#,
        unscoped_only!(),
        r#";
    "#
    ),
    // 6: snapshots (ppgov_store::Snapshots, `crate::PgSnapshots`) per tenant: the SQLite store's
    // snapshots, resources, bodies, collection and checkpoints columns plus the tenant. Times are
    // the same RFC 3339 text, ids and kinds in byte order (COLLATE "C", as SQLite compares text).
    // A document is stored once per tenant and content (`bodies` keyed by (tenant_id, hash)), so
    // row-level security holds for documents too. Rows of a snapshot reference it with its tenant,
    // so no session can put rows into another tenant's snapshot (foreign-key checks do not see
    // the policies). `seq` orders snapshots begun at the same time and collection entries (a
    // replaced entry takes a new one, moving to the end).
    concat!(
        r#"
    CREATE TABLE snapshots (
        id          TEXT COLLATE "C" PRIMARY KEY,
        tenant_id   TEXT NOT NULL,
        started_at  TEXT COLLATE "C" NOT NULL,
        finished_at TEXT,
        status      TEXT NOT NULL CHECK (status IN ('running', 'complete', 'failed')),
        kind        TEXT NOT NULL CHECK (kind IN ('full', 'incremental')),
        parent_id   TEXT COLLATE "C" REFERENCES snapshots (id) ON DELETE SET NULL,
        seq         BIGINT GENERATED ALWAYS AS IDENTITY,
        UNIQUE (tenant_id, id)
    );
    CREATE INDEX snapshots_latest ON snapshots (tenant_id, started_at DESC, seq DESC);
    CREATE TABLE bodies (
        tenant_id TEXT NOT NULL,
        hash      BYTEA NOT NULL,
        json      TEXT NOT NULL,
        PRIMARY KEY (tenant_id, hash)
    );
    CREATE TABLE resources (
        tenant_id      TEXT NOT NULL,
        snapshot_id    TEXT COLLATE "C" NOT NULL,
        kind           TEXT COLLATE "C" NOT NULL,
        id             TEXT COLLATE "C" NOT NULL,
        environment_id TEXT,
        last_modified  TEXT,
        body           BYTEA NOT NULL,
        PRIMARY KEY (snapshot_id, kind, id),
        CONSTRAINT resources_snapshot FOREIGN KEY (tenant_id, snapshot_id)
            REFERENCES snapshots (tenant_id, id) ON DELETE CASCADE,
        CONSTRAINT resources_body FOREIGN KEY (tenant_id, body)
            REFERENCES bodies (tenant_id, hash)
    );
    CREATE INDEX resources_by_body ON resources (tenant_id, body);
    CREATE TABLE collection (
        tenant_id   TEXT NOT NULL,
        snapshot_id TEXT COLLATE "C" NOT NULL,
        scope       TEXT NOT NULL,
        kind        TEXT NOT NULL,
        json        TEXT NOT NULL,
        seq         BIGINT GENERATED BY DEFAULT AS IDENTITY,
        PRIMARY KEY (snapshot_id, scope, kind),
        CONSTRAINT collection_snapshot FOREIGN KEY (tenant_id, snapshot_id)
            REFERENCES snapshots (tenant_id, id) ON DELETE CASCADE
    );
    CREATE INDEX collection_order ON collection (snapshot_id, seq);
    CREATE TABLE checkpoints (
        tenant_id   TEXT NOT NULL,
        snapshot_id TEXT COLLATE "C" NOT NULL,
        shard       TEXT COLLATE "C" NOT NULL,
        state       TEXT NOT NULL CHECK (state IN ('done', 'pending')),
        cursor      TEXT,
        updated_at  TEXT NOT NULL,
        PRIMARY KEY (snapshot_id, shard),
        CONSTRAINT checkpoints_snapshot FOREIGN KEY (tenant_id, snapshot_id)
            REFERENCES snapshots (tenant_id, id) ON DELETE CASCADE
    );
    ALTER TABLE snapshots ENABLE ROW LEVEL SECURITY;
    ALTER TABLE snapshots FORCE ROW LEVEL SECURITY;
    CREATE POLICY snapshots_tenant ON snapshots USING "#,
        tenant_policy!(),
        r#";
    ALTER TABLE bodies ENABLE ROW LEVEL SECURITY;
    ALTER TABLE bodies FORCE ROW LEVEL SECURITY;
    CREATE POLICY bodies_tenant ON bodies USING "#,
        tenant_policy!(),
        r#";
    ALTER TABLE resources ENABLE ROW LEVEL SECURITY;
    ALTER TABLE resources FORCE ROW LEVEL SECURITY;
    CREATE POLICY resources_tenant ON resources USING "#,
        tenant_policy!(),
        r#";
    ALTER TABLE collection ENABLE ROW LEVEL SECURITY;
    ALTER TABLE collection FORCE ROW LEVEL SECURITY;
    CREATE POLICY collection_tenant ON collection USING "#,
        tenant_policy!(),
        r#";
    ALTER TABLE checkpoints ENABLE ROW LEVEL SECURITY;
    ALTER TABLE checkpoints FORCE ROW LEVEL SECURITY;
    CREATE POLICY checkpoints_tenant ON checkpoints USING "#,
        tenant_policy!(),
        r#";
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
