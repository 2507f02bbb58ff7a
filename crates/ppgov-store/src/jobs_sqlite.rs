//! [`JobQueue`] on the embedded SQLite store (one machine; several processes may share the file).
//!
//! Exactly-once enqueue is the `UNIQUE (tenant_id, kind, scheduled_for_ms)` constraint with
//! `INSERT ... ON CONFLICT DO NOTHING`. A claim runs in a `BEGIN IMMEDIATE` transaction, which
//! takes SQLite's write lock before it reads, so two processes claiming at once are serialised
//! and never pick the same job. Every change to a claimed job is one `UPDATE` guarded by
//! `lease_owner = worker AND state = 'running'`: a worker whose lease was taken over changes
//! nothing and learns it from the `false` it gets back.

use rusqlite::{OptionalExtension, Row, TransactionBehavior, params};

use crate::jobs::{
    JobFilter, JobKey, JobOutcome, JobQueue, JobRow, JobState, decode_payload, decode_state,
    encode_payload,
};
use crate::{Store, StoreError};

const COLUMNS: &str = "id, tenant_id, kind, scheduled_for_ms, payload, state, attempts, \
     lease_owner, lease_until_ms, checkpoint, error, created_ms, started_ms, finished_ms";

fn row_to_job(r: &Row<'_>) -> rusqlite::Result<(JobRow, String, String)> {
    let payload: String = r.get(4)?;
    let state: String = r.get(5)?;
    let attempts: i64 = r.get(6)?;
    Ok((
        JobRow {
            id: r.get(0)?,
            key: JobKey {
                tenant: r.get(1)?,
                kind: r.get(2)?,
                scheduled_for_ms: r.get(3)?,
            },
            payload: serde_json::Value::Null,
            state: JobState::Queued,
            attempts: u32::try_from(attempts).unwrap_or(u32::MAX),
            lease_owner: r.get(7)?,
            lease_until_ms: r.get(8)?,
            checkpoint: r.get(9)?,
            error: r.get(10)?,
            created_ms: r.get(11)?,
            started_ms: r.get(12)?,
            finished_ms: r.get(13)?,
        },
        payload,
        state,
    ))
}

/// Turns the raw parts into a row, rejecting what this build cannot read.
fn decode((mut job, payload, state): (JobRow, String, String)) -> Result<JobRow, StoreError> {
    job.state = decode_state(state)?;
    job.payload = decode_payload(&payload)?;
    Ok(job)
}

impl Store {
    fn job_by_id(&self, id: i64) -> Result<Option<JobRow>, StoreError> {
        let raw = self
            .conn
            .query_row(
                &format!("SELECT {COLUMNS} FROM jobs WHERE id = ?1"),
                [id],
                row_to_job,
            )
            .optional()?;
        raw.map(decode).transpose()
    }
}

impl JobQueue for Store {
    fn enqueue(
        &mut self,
        key: &JobKey,
        payload: &serde_json::Value,
        now_ms: i64,
    ) -> Result<Option<i64>, StoreError> {
        let text = encode_payload(key, payload)?;
        let id = self
            .conn
            .query_row(
                "INSERT INTO jobs (tenant_id, kind, scheduled_for_ms, payload, state, attempts, created_ms)
                 VALUES (?1, ?2, ?3, ?4, 'queued', 0, ?5)
                 ON CONFLICT (tenant_id, kind, scheduled_for_ms) DO NOTHING
                 RETURNING id",
                params![key.tenant, key.kind, key.scheduled_for_ms, text, now_ms],
                |r| r.get(0),
            )
            .optional()?;
        Ok(id)
    }

    fn claim(
        &mut self,
        worker: &str,
        kinds: &[&str],
        now_ms: i64,
        lease_ms: i64,
    ) -> Result<Option<JobRow>, StoreError> {
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        let kinds_json = serde_json::to_string(kinds).map_err(|source| StoreError::Encode {
            what: "job kinds".into(),
            source,
        })?;
        let id: Option<i64> = tx
            .query_row(
                "SELECT id FROM jobs
                 WHERE ((state = 'queued' AND scheduled_for_ms <= ?1)
                        OR (state = 'running' AND lease_until_ms < ?1))
                   AND (?2 = '[]' OR kind IN (SELECT value FROM json_each(?2)))
                   AND NOT EXISTS (
                       SELECT 1 FROM jobs busy
                       WHERE busy.tenant_id = jobs.tenant_id AND busy.kind = jobs.kind
                         AND busy.id <> jobs.id AND busy.state = 'running'
                         AND busy.lease_until_ms >= ?1)
                 ORDER BY scheduled_for_ms, id
                 LIMIT 1",
                params![now_ms, kinds_json],
                |r| r.get(0),
            )
            .optional()?;
        let Some(id) = id else {
            tx.commit()?;
            return Ok(None);
        };
        tx.execute(
            "UPDATE jobs SET state = 'running', attempts = attempts + 1, lease_owner = ?2,
                 lease_until_ms = ?3, started_ms = ?4
             WHERE id = ?1",
            params![id, worker, now_ms.saturating_add(lease_ms), now_ms],
        )?;
        tx.commit()?;
        self.job_by_id(id)
    }

    fn renew(
        &mut self,
        id: i64,
        worker: &str,
        now_ms: i64,
        lease_ms: i64,
    ) -> Result<bool, StoreError> {
        let n = self.conn.execute(
            "UPDATE jobs SET lease_until_ms = ?3
             WHERE id = ?1 AND state = 'running' AND lease_owner = ?2",
            params![id, worker, now_ms.saturating_add(lease_ms)],
        )?;
        Ok(n == 1)
    }

    fn checkpoint(&mut self, id: i64, worker: &str, checkpoint: &str) -> Result<bool, StoreError> {
        let n = self.conn.execute(
            "UPDATE jobs SET checkpoint = ?3
             WHERE id = ?1 AND state = 'running' AND lease_owner = ?2",
            params![id, worker, checkpoint],
        )?;
        Ok(n == 1)
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
        let n = self.conn.execute(
            "UPDATE jobs SET state = ?3, error = ?4, finished_ms = ?5, lease_owner = NULL,
                 lease_until_ms = NULL
             WHERE id = ?1 AND state = 'running' AND lease_owner = ?2",
            params![id, worker, state.as_str(), error, now_ms],
        )?;
        Ok(n == 1)
    }

    fn release(&mut self, id: i64, worker: &str) -> Result<bool, StoreError> {
        let n = self.conn.execute(
            "UPDATE jobs SET state = 'queued', lease_owner = NULL, lease_until_ms = NULL
             WHERE id = ?1 AND state = 'running' AND lease_owner = ?2",
            params![id, worker],
        )?;
        Ok(n == 1)
    }

    fn cancel(&mut self, id: i64, reason: &str, now_ms: i64) -> Result<bool, StoreError> {
        let n = self.conn.execute(
            "UPDATE jobs SET state = 'cancelled', error = ?2, finished_ms = ?3,
                 lease_owner = NULL, lease_until_ms = NULL
             WHERE id = ?1 AND state IN ('queued', 'running')",
            params![id, reason, now_ms],
        )?;
        Ok(n == 1)
    }

    fn job(&mut self, id: i64) -> Result<Option<JobRow>, StoreError> {
        self.job_by_id(id)
    }

    fn list_jobs(&mut self, filter: &JobFilter) -> Result<Vec<JobRow>, StoreError> {
        let limit = filter
            .limit
            .map_or(-1, |l| i64::try_from(l).unwrap_or(i64::MAX));
        let mut stmt = self.conn.prepare(&format!(
            "SELECT {COLUMNS} FROM jobs
             WHERE (?1 IS NULL OR tenant_id = ?1) AND (?2 IS NULL OR kind = ?2)
               AND (?3 IS NULL OR state = ?3)
             ORDER BY scheduled_for_ms DESC, id DESC
             LIMIT ?4"
        ))?;
        let rows = stmt.query_map(
            params![
                filter.tenant,
                filter.kind,
                filter.state.map(JobState::as_str),
                limit
            ],
            row_to_job,
        )?;
        let mut out = Vec::new();
        for r in rows {
            out.push(decode(r?)?);
        }
        Ok(out)
    }

    fn last_scheduled(&mut self, tenant: &str, kind: &str) -> Result<Option<i64>, StoreError> {
        Ok(self.conn.query_row(
            "SELECT MAX(scheduled_for_ms) FROM jobs WHERE tenant_id = ?1 AND kind = ?2",
            params![tenant, kind],
            |r| r.get(0),
        )?)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use serde_json::json;

    fn key(kind: &str, t: i64) -> JobKey {
        JobKey {
            tenant: "t1".into(),
            kind: kind.into(),
            scheduled_for_ms: t,
        }
    }

    #[test]
    fn the_job_queue_contract() {
        // The same checks the PostgreSQL store runs, each on a fresh queue.
        for (_, check) in crate::contract::CHECKS {
            let mut s = Store::open_in_memory().unwrap();
            check(&mut s);
        }
    }

    #[test]
    fn two_connections_claiming_the_same_file_never_get_the_same_job() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("store.db");
        let mut s = Store::open(&path).unwrap();
        // Forty tenants: runs of one tenant and kind never overlap, so each holds one.
        for t in 0..40 {
            let mut k = key("crawl", t);
            k.tenant = format!("t{t}");
            s.enqueue(&k, &json!({}), 0).unwrap();
        }
        let handles: Vec<_> = (0..4)
            .map(|w| {
                let path = path.clone();
                std::thread::spawn(move || {
                    let mut s = Store::open(&path).unwrap();
                    let mut got = Vec::new();
                    while let Some(j) = s.claim(&format!("w{w}"), &[], 100, 10_000).unwrap() {
                        got.push(j.id);
                    }
                    got
                })
            })
            .collect();
        let mut all: Vec<i64> = handles
            .into_iter()
            .flat_map(|h| h.join().unwrap())
            .collect();
        all.sort_unstable();
        let n = all.len();
        all.dedup();
        assert_eq!((n, all.len()), (40, 40));
    }
}
