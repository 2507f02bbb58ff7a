//! [`JobQueue`] on PostgreSQL, for several server instances sharing one database.
//!
//! Exactly-once enqueue is `UNIQUE (tenant_id, kind, scheduled_for_ms)` with
//! `INSERT ... ON CONFLICT DO NOTHING`. A claim is one transaction, per candidate (tenant, kind):
//!
//! 1. read (no lock) the pair of the earliest due job whose pair has no run under a live lease;
//! 2. take the pair's transaction-scoped advisory lock without waiting. Row locks alone cannot
//!    keep two runs of one pair apart: two claimers may lock two different jobs of it, each
//!    seeing no running job because neither has committed yet. When another claimer holds the
//!    lock, it is deciding for this pair right now, so this claim passes the pair over and
//!    looks at the next one;
//! 3. lock the pair's running rows (`FOR UPDATE`), waiting for a renew or finish in flight, so
//!    their leases are final for the rest of the transaction;
//! 4. in a fresh snapshot, taken after those locks, mark the pair's earliest due job running:
//!    `UPDATE ... WHERE id = (SELECT ... FOR UPDATE SKIP LOCKED LIMIT 1)`, checking again that
//!    no other job of the pair runs under a live lease. A row skipped there is being cancelled.
//!
//! Under the pair lock the earliest due tick of a pair is always the one taken, as in SQLite.
//! No claim waits on a lock held by another claim (only on single-row updates), so claims
//! cannot deadlock. Every change to a claimed job is one `UPDATE` guarded by
//! `lease_owner = worker AND state = 'running'`, as in the SQLite store.

use postgres::Row;
use ppgov_store::{
    JobFilter, JobKey, JobOutcome, JobQueue, JobRow, JobState, StoreError, decode_payload,
    decode_state, encode_payload,
};

use crate::{PgStore, pg};

/// The columns [`decode`] reads, in its order.
macro_rules! columns {
    () => {
        "id, tenant_id, kind, scheduled_for_ms, payload, state, attempts, \
         lease_owner, lease_until_ms, checkpoint, error, created_ms, started_ms, finished_ms"
    };
}

const ENQUEUE: &str = "INSERT INTO jobs (tenant_id, kind, scheduled_for_ms, payload, state, \
         attempts, created_ms)
     VALUES ($1, $2, $3, $4, 'queued', 0, $5)
     ON CONFLICT (tenant_id, kind, scheduled_for_ms) DO NOTHING
     RETURNING id";

/// The (tenant, kind) of the earliest due job of the asked kinds ($2, all when empty) whose
/// pair is not among those passed over ($3, $4) and has no run under a live lease.
const CANDIDATE: &str = "SELECT tenant_id, kind FROM jobs
     WHERE ((state = 'queued' AND scheduled_for_ms <= $1)
            OR (state = 'running' AND lease_until_ms < $1))
       AND (cardinality($2::text[]) = 0 OR kind = ANY($2::text[]))
       AND NOT EXISTS (
           SELECT 1 FROM unnest($3::text[], $4::text[]) AS passed(tenant_id, kind)
           WHERE passed.tenant_id = jobs.tenant_id AND passed.kind = jobs.kind)
       AND NOT EXISTS (
           SELECT 1 FROM jobs busy
           WHERE busy.tenant_id = jobs.tenant_id AND busy.kind = jobs.kind
             AND busy.id <> jobs.id AND busy.state = 'running'
             AND busy.lease_until_ms >= $1)
     ORDER BY scheduled_for_ms, id
     LIMIT 1";

/// The pair's lock: a 64-bit key, a key space apart from the two-int migration lock. Two pairs
/// whose hashes collide only pass each other over for the moment.
const PAIR_LOCK: &str =
    "SELECT pg_try_advisory_xact_lock(hashtextextended($1 || chr(31) || $2, 0))";

/// Locks the pair's running rows, so no lease of the pair changes until the claim ends.
const LOCK_RUNNING: &str = "SELECT id FROM jobs
     WHERE tenant_id = $1 AND kind = $2 AND state = 'running'
     FOR UPDATE";

/// Marks the pair's earliest due job running, unless another of its jobs runs under a live lease.
const TAKE: &str = concat!(
    "UPDATE jobs SET state = 'running', attempts = attempts + 1, lease_owner = $3,
         lease_until_ms = $4, started_ms = $5
     WHERE id = (
         SELECT id FROM jobs due
         WHERE due.tenant_id = $1 AND due.kind = $2
           AND ((due.state = 'queued' AND due.scheduled_for_ms <= $5)
                OR (due.state = 'running' AND due.lease_until_ms < $5))
           AND NOT EXISTS (
               SELECT 1 FROM jobs busy
               WHERE busy.tenant_id = due.tenant_id AND busy.kind = due.kind
                 AND busy.id <> due.id AND busy.state = 'running'
                 AND busy.lease_until_ms >= $5)
         ORDER BY due.scheduled_for_ms, due.id
         LIMIT 1
         FOR UPDATE SKIP LOCKED)
     RETURNING ",
    columns!()
);

const RENEW: &str = "UPDATE jobs SET lease_until_ms = $3
     WHERE id = $1 AND state = 'running' AND lease_owner = $2";

const CHECKPOINT: &str = "UPDATE jobs SET checkpoint = $3
     WHERE id = $1 AND state = 'running' AND lease_owner = $2";

const FINISH: &str = "UPDATE jobs SET state = $3, error = $4, finished_ms = $5, \
         lease_owner = NULL, lease_until_ms = NULL
     WHERE id = $1 AND state = 'running' AND lease_owner = $2";

const RELEASE: &str = "UPDATE jobs SET state = 'queued', lease_owner = NULL, lease_until_ms = NULL
     WHERE id = $1 AND state = 'running' AND lease_owner = $2";

const CANCEL: &str = "UPDATE jobs SET state = 'cancelled', error = $2, finished_ms = $3,
         lease_owner = NULL, lease_until_ms = NULL
     WHERE id = $1 AND state IN ('queued', 'running')";

const BY_ID: &str = concat!("SELECT ", columns!(), " FROM jobs WHERE id = $1");

const LIST: &str = concat!(
    "SELECT ",
    columns!(),
    " FROM jobs
     WHERE ($1::text IS NULL OR tenant_id = $1) AND ($2::text IS NULL OR kind = $2)
       AND ($3::text IS NULL OR state = $3)
     ORDER BY scheduled_for_ms DESC, id DESC
     LIMIT $4"
);

const LAST_SCHEDULED: &str =
    "SELECT MAX(scheduled_for_ms) FROM jobs WHERE tenant_id = $1 AND kind = $2";

/// Decodes a row selected with `columns!()`, rejecting what this build cannot read.
fn decode(r: &Row) -> Result<JobRow, StoreError> {
    let read = pg("reading a job");
    let state: String = r.try_get(5).map_err(&read)?;
    let state = decode_state(state)?;
    let payload: String = r.try_get(4).map_err(&read)?;
    let payload = decode_payload(&payload)?;
    let attempts: i32 = r.try_get(6).map_err(&read)?;
    let attempts = u32::try_from(attempts).map_err(|_| StoreError::BadValue {
        column: "jobs.attempts",
        value: attempts.to_string(),
    })?;
    Ok(JobRow {
        id: r.try_get(0).map_err(&read)?,
        key: JobKey {
            tenant: r.try_get(1).map_err(&read)?,
            kind: r.try_get(2).map_err(&read)?,
            scheduled_for_ms: r.try_get(3).map_err(&read)?,
        },
        payload,
        state,
        attempts,
        lease_owner: r.try_get(7).map_err(&read)?,
        lease_until_ms: r.try_get(8).map_err(&read)?,
        checkpoint: r.try_get(9).map_err(&read)?,
        error: r.try_get(10).map_err(&read)?,
        created_ms: r.try_get(11).map_err(&read)?,
        started_ms: r.try_get(12).map_err(&read)?,
        finished_ms: r.try_get(13).map_err(&read)?,
    })
}

impl PgStore {
    /// Runs one guarded `UPDATE`; true when it changed the job.
    fn update_one(
        &mut self,
        sql: &'static str,
        params: &[&(dyn postgres::types::ToSql + Sync)],
        context: &'static str,
    ) -> Result<bool, StoreError> {
        let stmt = self.statement(sql)?;
        let n = self.client.execute(&stmt, params).map_err(pg(context))?;
        Ok(n == 1)
    }
}

impl JobQueue for PgStore {
    fn enqueue(
        &mut self,
        key: &JobKey,
        payload: &serde_json::Value,
        now_ms: i64,
    ) -> Result<Option<i64>, StoreError> {
        let text = encode_payload(key, payload)?;
        let stmt = self.statement(ENQUEUE)?;
        let row = self
            .client
            .query_opt(
                &stmt,
                &[
                    &key.tenant,
                    &key.kind,
                    &key.scheduled_for_ms,
                    &text,
                    &now_ms,
                ],
            )
            .map_err(pg("enqueueing a job"))?;
        row.map(|r| r.try_get(0).map_err(pg("enqueueing a job")))
            .transpose()
    }

    fn claim(
        &mut self,
        worker: &str,
        kinds: &[&str],
        now_ms: i64,
        lease_ms: i64,
    ) -> Result<Option<JobRow>, StoreError> {
        let candidate = self.statement(CANDIDATE)?;
        let pair_lock = self.statement(PAIR_LOCK)?;
        let lock_running = self.statement(LOCK_RUNNING)?;
        let take = self.statement(TAKE)?;
        let lease_until = now_ms.saturating_add(lease_ms);
        let failed = pg("claiming a job");
        let mut tx = self.client.transaction().map_err(&failed)?;
        // Pairs another claimer is deciding for, or that had nothing to take once locked.
        let mut passed_tenants: Vec<String> = Vec::new();
        let mut passed_kinds: Vec<String> = Vec::new();
        loop {
            let Some(row) = tx
                .query_opt(
                    &candidate,
                    &[&now_ms, &kinds, &passed_tenants, &passed_kinds],
                )
                .map_err(&failed)?
            else {
                tx.commit().map_err(&failed)?;
                return Ok(None);
            };
            let tenant: String = row.try_get(0).map_err(&failed)?;
            let kind: String = row.try_get(1).map_err(&failed)?;
            let locked: bool = tx
                .query_one(&pair_lock, &[&tenant, &kind])
                .map_err(&failed)?
                .try_get(0)
                .map_err(&failed)?;
            if locked {
                tx.query(&lock_running, &[&tenant, &kind])
                    .map_err(&failed)?;
                if let Some(taken) = tx
                    .query_opt(&take, &[&tenant, &kind, &worker, &lease_until, &now_ms])
                    .map_err(&failed)?
                {
                    // Committed before decoding, as the SQLite store does: a row this build
                    // cannot read is then held under this worker's lease, not retried by every
                    // claim.
                    tx.commit().map_err(&failed)?;
                    return decode(&taken).map(Some);
                }
            }
            passed_tenants.push(tenant);
            passed_kinds.push(kind);
        }
    }

    fn renew(
        &mut self,
        id: i64,
        worker: &str,
        now_ms: i64,
        lease_ms: i64,
    ) -> Result<bool, StoreError> {
        let until = now_ms.saturating_add(lease_ms);
        self.update_one(RENEW, &[&id, &worker, &until], "renewing a job's lease")
    }

    fn checkpoint(&mut self, id: i64, worker: &str, checkpoint: &str) -> Result<bool, StoreError> {
        self.update_one(
            CHECKPOINT,
            &[&id, &worker, &checkpoint],
            "recording a job's checkpoint",
        )
    }

    fn finish(
        &mut self,
        id: i64,
        worker: &str,
        outcome: &JobOutcome,
        now_ms: i64,
    ) -> Result<bool, StoreError> {
        let (state, error) = match outcome {
            JobOutcome::Done => (JobState::Done, None),
            JobOutcome::Failed(why) => (JobState::Failed, Some(why.as_str())),
        };
        self.update_one(
            FINISH,
            &[&id, &worker, &state.as_str(), &error, &now_ms],
            "finishing a job",
        )
    }

    fn release(&mut self, id: i64, worker: &str) -> Result<bool, StoreError> {
        self.update_one(RELEASE, &[&id, &worker], "releasing a job")
    }

    fn cancel(&mut self, id: i64, reason: &str, now_ms: i64) -> Result<bool, StoreError> {
        self.update_one(CANCEL, &[&id, &reason, &now_ms], "cancelling a job")
    }

    fn job(&mut self, id: i64) -> Result<Option<JobRow>, StoreError> {
        let stmt = self.statement(BY_ID)?;
        let row = self
            .client
            .query_opt(&stmt, &[&id])
            .map_err(pg("reading a job"))?;
        row.as_ref().map(decode).transpose()
    }

    fn list_jobs(&mut self, filter: &JobFilter) -> Result<Vec<JobRow>, StoreError> {
        let limit = filter.limit.map(|l| i64::try_from(l).unwrap_or(i64::MAX));
        let stmt = self.statement(LIST)?;
        let rows = self
            .client
            .query(
                &stmt,
                &[
                    &filter.tenant,
                    &filter.kind,
                    &filter.state.map(JobState::as_str),
                    &limit,
                ],
            )
            .map_err(pg("listing jobs"))?;
        rows.iter().map(decode).collect()
    }

    fn last_scheduled(&mut self, tenant: &str, kind: &str) -> Result<Option<i64>, StoreError> {
        let stmt = self.statement(LAST_SCHEDULED)?;
        let failed = pg("reading the last scheduled tick");
        self.client
            .query_one(&stmt, &[&tenant, &kind])
            .map_err(&failed)?
            .try_get(0)
            .map_err(&failed)
    }
}
