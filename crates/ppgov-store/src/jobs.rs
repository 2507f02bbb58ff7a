//! The job queue's interface: scheduled runs claimed under a renewable lease, exactly once.
//!
//! `ppgov serve` turns every tick of every schedule into one job keyed by
//! (tenant, kind, scheduled time). [`JobQueue::enqueue`] of a key that already exists does
//! nothing, so however many instances tick the same schedule, each run exists once.
//! A worker [`claim`](JobQueue::claim)s the oldest due job (queued, or running under a lease
//! that has run out) and holds it under a lease it [`renew`](JobQueue::renew)s; a worker
//! killed mid-job simply stops renewing, and another claims the job when the lease ends and
//! resumes from its [`checkpoint`](JobQueue::checkpoint). Every call that changes a claimed
//! job names the worker and changes nothing (returns `false`) when the lease is no longer
//! that worker's, so a worker that lost its lease can never overwrite the new owner's work.
//!
//! Times are milliseconds since the Unix epoch, passed in by the caller (the scheduler's
//! clock), never read from the machine here: tests drive the queue with a controlled clock.
//! The SQLite store implements this for one machine; the PostgreSQL store implements it with
//! `FOR UPDATE SKIP LOCKED` for several.

use crate::StoreError;
use serde::{Deserialize, Serialize};

/// One scheduled run: a tenant, a job kind (`crawl`, `crawl-full`, `scan`, `audit`, `due`,
/// `digest`, ...) and the schedule tick it is for.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct JobKey {
    /// The tenant id the job runs for.
    pub tenant: String,
    /// The job kind.
    pub kind: String,
    /// The schedule tick (ms); a run triggered by hand uses the time it was asked for.
    pub scheduled_for_ms: i64,
}

/// Where a job is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum JobState {
    /// Waiting for a worker.
    Queued,
    /// Claimed by a worker under a lease.
    Running,
    /// Finished successfully.
    Done,
    /// Finished with an error (see [`JobRow::error`]).
    Failed,
    /// Cancelled before it finished.
    Cancelled,
}

impl JobState {
    /// The state's name as stored (`queued`, `running`, ...).
    pub fn as_str(self) -> &'static str {
        match self {
            JobState::Queued => "queued",
            JobState::Running => "running",
            JobState::Done => "done",
            JobState::Failed => "failed",
            JobState::Cancelled => "cancelled",
        }
    }

    /// Parses a stored state name.
    pub fn parse(s: &str) -> Option<JobState> {
        Some(match s {
            "queued" => JobState::Queued,
            "running" => JobState::Running,
            "done" => JobState::Done,
            "failed" => JobState::Failed,
            "cancelled" => JobState::Cancelled,
            _ => return None,
        })
    }

    /// True once the job will never run again.
    pub fn is_final(self) -> bool {
        matches!(
            self,
            JobState::Done | JobState::Failed | JobState::Cancelled
        )
    }
}

/// A job as stored.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct JobRow {
    /// The job's id in the queue.
    pub id: i64,
    /// Tenant, kind and tick.
    pub key: JobKey,
    /// What the job needs beyond its key (JSON; `{}` when nothing).
    pub payload: serde_json::Value,
    /// Where it is.
    pub state: JobState,
    /// How many times a worker claimed it (more than 1 after a takeover).
    pub attempts: u32,
    /// The worker holding the lease, while running.
    pub lease_owner: Option<String>,
    /// When the lease runs out (ms), while running.
    pub lease_until_ms: Option<i64>,
    /// The last checkpoint the job recorded (JSON text), for a takeover to resume from.
    pub checkpoint: Option<String>,
    /// Why it failed or was cancelled.
    pub error: Option<String>,
    /// When it was enqueued (ms).
    pub created_ms: i64,
    /// When a worker last claimed it (ms).
    pub started_ms: Option<i64>,
    /// When it reached a final state (ms).
    pub finished_ms: Option<i64>,
}

/// How a job ended, reported by its worker.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum JobOutcome {
    /// It did its work.
    Done,
    /// It failed; the text says why and what to do.
    Failed(String),
}

/// A payload as every backend stores it (JSON text).
pub fn encode_payload(key: &JobKey, payload: &serde_json::Value) -> Result<String, StoreError> {
    serde_json::to_string(payload).map_err(|source| StoreError::Encode {
        what: format!("the payload of job {}/{}", key.tenant, key.kind),
        source,
    })
}

/// A stored state name; one this build does not know is a bad value, never a panic.
pub fn decode_state(text: String) -> Result<JobState, StoreError> {
    JobState::parse(&text).ok_or(StoreError::BadValue {
        column: "jobs.state",
        value: text,
    })
}

/// A stored payload; text that is not JSON is a bad value (its start quoted), never a panic.
pub fn decode_payload(text: &str) -> Result<serde_json::Value, StoreError> {
    serde_json::from_str(text).map_err(|_| StoreError::BadValue {
        column: "jobs.payload",
        value: text.chars().take(80).collect(),
    })
}

/// Which jobs [`JobQueue::list_jobs`] returns (all fields optional; newest first).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct JobFilter {
    /// Only this tenant's jobs.
    pub tenant: Option<String>,
    /// Only jobs of this kind.
    pub kind: Option<String>,
    /// Only jobs in this state.
    pub state: Option<JobState>,
    /// At most this many (all when `None`).
    pub limit: Option<usize>,
}

/// The job queue (see the module documentation for its guarantees).
pub trait JobQueue {
    /// Adds the run `key` with `payload`, queued, unless a job with that key already exists in
    /// any state. Returns the new job's id, or `None` when the key existed (exactly once).
    fn enqueue(
        &mut self,
        key: &JobKey,
        payload: &serde_json::Value,
        now_ms: i64,
    ) -> Result<Option<i64>, StoreError>;

    /// Claims the due job with the earliest tick for `worker`: a queued job whose tick is at or
    /// before `now_ms`, or a running job whose lease ended before `now_ms` (a takeover; its
    /// checkpoint is kept). Only jobs of `kinds` when it is not empty. The claimed job is
    /// running, with `attempts` incremented and the lease until `now_ms + lease_ms`. No two
    /// workers ever hold the same job: concurrent claims get different jobs or none. Runs of one
    /// (tenant, kind) never overlap: a job is not claimed while another job of its tenant and
    /// kind runs under a live lease (the next tick of a long crawl waits for it to finish).
    fn claim(
        &mut self,
        worker: &str,
        kinds: &[&str],
        now_ms: i64,
        lease_ms: i64,
    ) -> Result<Option<JobRow>, StoreError>;

    /// Extends `worker`'s lease on job `id` to `now_ms + lease_ms`. `false` when the job is no
    /// longer running under `worker`'s lease (taken over, cancelled or finished): the worker
    /// must stop.
    fn renew(
        &mut self,
        id: i64,
        worker: &str,
        now_ms: i64,
        lease_ms: i64,
    ) -> Result<bool, StoreError>;

    /// Records a checkpoint (JSON text) on job `id` while `worker` holds it; `false` when the
    /// lease is not `worker`'s.
    fn checkpoint(&mut self, id: i64, worker: &str, checkpoint: &str) -> Result<bool, StoreError>;

    /// Finishes job `id` with `outcome` at `now_ms`; `false` (and nothing changed) when the
    /// lease is not `worker`'s.
    fn finish(
        &mut self,
        id: i64,
        worker: &str,
        outcome: &JobOutcome,
        now_ms: i64,
    ) -> Result<bool, StoreError>;

    /// Gives job `id` back to the queue (graceful shutdown): it becomes queued again with its
    /// checkpoint kept, so another worker claims it at once. `false` when the lease is not
    /// `worker`'s.
    fn release(&mut self, id: i64, worker: &str) -> Result<bool, StoreError>;

    /// Cancels job `id` unless it already reached a final state; a running job's worker finds
    /// out at its next [`renew`](JobQueue::renew). `false` when it was already final or does
    /// not exist.
    fn cancel(&mut self, id: i64, reason: &str, now_ms: i64) -> Result<bool, StoreError>;

    /// One job by id.
    fn job(&mut self, id: i64) -> Result<Option<JobRow>, StoreError>;

    /// Jobs matching `filter`, newest tick first.
    fn list_jobs(&mut self, filter: &JobFilter) -> Result<Vec<JobRow>, StoreError>;

    /// The latest tick enqueued for (tenant, kind), whatever its state: the scheduler's memory
    /// across restarts, so a missed run is enqueued once at start, not once per missed tick.
    fn last_scheduled(&mut self, tenant: &str, kind: &str) -> Result<Option<i64>, StoreError>;
}
