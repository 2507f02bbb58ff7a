//! The job queue's contract as checks any backend runs (feature `testing`): the SQLite store's
//! unit tests and the PostgreSQL store's tests call the same functions, so the two backends are
//! held to one behaviour. Times are passed in; nothing waits.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use crate::jobs::{JobFilter, JobKey, JobOutcome, JobQueue, JobState};
use serde_json::json;

fn key(kind: &str, t: i64) -> JobKey {
    tkey("t1", kind, t)
}

fn tkey(tenant: &str, kind: &str, t: i64) -> JobKey {
    JobKey {
        tenant: tenant.into(),
        kind: kind.into(),
        scheduled_for_ms: t,
    }
}

/// One check: it gets an empty queue.
pub type Check = fn(&mut dyn JobQueue);

/// Every check, by name, each to run on an empty queue.
pub const CHECKS: &[(&str, Check)] = &[
    (
        "a_key_is_enqueued_once_whatever_its_state",
        a_key_is_enqueued_once_whatever_its_state,
    ),
    (
        "claims_take_the_earliest_due_job_of_the_asked_kinds_and_never_a_future_one",
        claims_take_the_earliest_due_job_of_the_asked_kinds_and_never_a_future_one,
    ),
    (
        "runs_of_one_tenant_and_kind_never_overlap",
        runs_of_one_tenant_and_kind_never_overlap,
    ),
    (
        "an_expired_lease_is_taken_over_with_its_checkpoint_and_the_stale_worker_changes_nothing",
        an_expired_lease_is_taken_over_with_its_checkpoint_and_the_stale_worker_changes_nothing,
    ),
    (
        "release_requeues_at_once_and_cancel_stops_a_running_job_at_its_next_renew",
        release_requeues_at_once_and_cancel_stops_a_running_job_at_its_next_renew,
    ),
    (
        "list_jobs_filters_and_orders_newest_tick_first",
        list_jobs_filters_and_orders_newest_tick_first,
    ),
];

pub fn a_key_is_enqueued_once_whatever_its_state(s: &mut dyn JobQueue) {
    let id = s.enqueue(&key("crawl", 1000), &json!({}), 5).unwrap();
    assert!(id.is_some());
    assert_eq!(
        s.enqueue(&key("crawl", 1000), &json!({"x": 1}), 6).unwrap(),
        None
    );
    let j = s.claim("w1", &[], 1000, 60_000).unwrap().unwrap();
    assert_eq!(Some(j.id), id);
    assert_eq!(j.created_ms, 5);
    assert_eq!(j.started_ms, Some(1000));
    assert!(s.finish(j.id, "w1", &JobOutcome::Done, 1001).unwrap());
    assert_eq!(s.enqueue(&key("crawl", 1000), &json!({}), 7).unwrap(), None);
    assert_eq!(s.list_jobs(&JobFilter::default()).unwrap().len(), 1);
    assert_eq!(s.last_scheduled("t1", "crawl").unwrap(), Some(1000));
    assert_eq!(s.last_scheduled("t1", "scan").unwrap(), None);
    let done = s.job(j.id).unwrap().unwrap();
    assert_eq!(done.state, JobState::Done);
    assert_eq!((done.finished_ms, done.error), (Some(1001), None));
}

pub fn claims_take_the_earliest_due_job_of_the_asked_kinds_and_never_a_future_one(
    s: &mut dyn JobQueue,
) {
    s.enqueue(&key("scan", 2000), &json!({}), 0).unwrap();
    s.enqueue(&key("crawl", 3000), &json!({"full": true}), 0)
        .unwrap();
    s.enqueue(&key("crawl", 9000), &json!({}), 0).unwrap();
    let j = s.claim("w1", &["crawl"], 5000, 1000).unwrap().unwrap();
    assert_eq!(j.key, key("crawl", 3000));
    assert_eq!(j.payload, json!({"full": true}));
    assert_eq!(j.state, JobState::Running);
    assert_eq!((j.attempts, j.lease_until_ms), (1, Some(6000)));
    assert_eq!(j.lease_owner.as_deref(), Some("w1"));
    assert!(s.claim("w2", &["crawl"], 5000, 1000).unwrap().is_none());
    let j = s.claim("w2", &[], 5000, 1000).unwrap().unwrap();
    assert_eq!(j.key.kind, "scan");
    // Several kinds asked; the future crawl stays where it is.
    assert!(
        s.claim("w3", &["audit", "crawl"], 5000, 1000)
            .unwrap()
            .is_none()
    );
}

pub fn runs_of_one_tenant_and_kind_never_overlap(s: &mut dyn JobQueue) {
    s.enqueue(&key("crawl", 1000), &json!({}), 0).unwrap();
    s.enqueue(&key("crawl", 2000), &json!({}), 0).unwrap();
    let other = tkey("t2", "crawl", 2000);
    s.enqueue(&other, &json!({}), 0).unwrap();
    let first = s.claim("w1", &[], 2500, 1000).unwrap().unwrap();
    assert_eq!(first.key, key("crawl", 1000));
    // The next tick of t1's crawl waits; t2's crawl does not.
    let next = s.claim("w2", &[], 2500, 1000).unwrap().unwrap();
    assert_eq!(next.key, other);
    assert!(s.claim("w3", &[], 2600, 1000).unwrap().is_none());
    assert!(s.finish(first.id, "w1", &JobOutcome::Done, 2700).unwrap());
    let then = s.claim("w3", &[], 2800, 1000).unwrap().unwrap();
    assert_eq!(then.key, key("crawl", 2000));
}

pub fn an_expired_lease_is_taken_over_with_its_checkpoint_and_the_stale_worker_changes_nothing(
    s: &mut dyn JobQueue,
) {
    s.enqueue(&key("crawl", 0), &json!({}), 0).unwrap();
    let j = s.claim("w1", &[], 10, 100).unwrap().unwrap();
    assert!(s.checkpoint(j.id, "w1", "{\"shard\":3}").unwrap());
    assert!(s.renew(j.id, "w1", 50, 100).unwrap());
    // Lease runs to 150: not claimable at 150, claimable after.
    assert!(s.claim("w2", &[], 150, 100).unwrap().is_none());
    let t = s.claim("w2", &[], 151, 100).unwrap().unwrap();
    assert_eq!(t.id, j.id);
    assert_eq!(t.attempts, 2);
    assert_eq!(t.checkpoint.as_deref(), Some("{\"shard\":3}"));
    assert!(!s.renew(j.id, "w1", 152, 100).unwrap());
    assert!(!s.checkpoint(j.id, "w1", "{}").unwrap());
    assert!(!s.finish(j.id, "w1", &JobOutcome::Done, 153).unwrap());
    assert!(!s.release(j.id, "w1").unwrap());
    assert!(
        s.finish(j.id, "w2", &JobOutcome::Failed("boom".into()), 160)
            .unwrap()
    );
    let done = s.job(j.id).unwrap().unwrap();
    assert_eq!(done.state, JobState::Failed);
    assert_eq!(done.error.as_deref(), Some("boom"));
    assert_eq!(done.finished_ms, Some(160));
    assert_eq!(done.lease_owner, None);
    assert_eq!(done.lease_until_ms, None);
    assert_eq!(done.checkpoint.as_deref(), Some("{\"shard\":3}"));
    // A finished job is never claimed again, nor changed by its last owner.
    assert!(s.claim("w3", &[], 10_000, 100).unwrap().is_none());
    assert!(!s.renew(j.id, "w2", 161, 100).unwrap());
}

pub fn release_requeues_at_once_and_cancel_stops_a_running_job_at_its_next_renew(
    s: &mut dyn JobQueue,
) {
    s.enqueue(&key("audit", 0), &json!({}), 0).unwrap();
    let j = s.claim("w1", &[], 1, 1000).unwrap().unwrap();
    assert!(s.checkpoint(j.id, "w1", "{\"page\":2}").unwrap());
    assert!(s.release(j.id, "w1").unwrap());
    let queued = s.job(j.id).unwrap().unwrap();
    assert_eq!(queued.state, JobState::Queued);
    assert_eq!((queued.lease_owner, queued.lease_until_ms), (None, None));
    let again = s.claim("w2", &[], 2, 1000).unwrap().unwrap();
    assert_eq!(again.id, j.id);
    assert_eq!(again.checkpoint.as_deref(), Some("{\"page\":2}"));
    assert!(s.cancel(j.id, "operator asked", 3).unwrap());
    assert!(!s.renew(j.id, "w2", 4, 1000).unwrap());
    assert!(!s.cancel(j.id, "twice", 5).unwrap());
    assert!(!s.cancel(999, "missing", 5).unwrap());
    let filtered = s
        .list_jobs(&JobFilter {
            state: Some(JobState::Cancelled),
            ..JobFilter::default()
        })
        .unwrap();
    assert_eq!(filtered.len(), 1);
    assert_eq!(filtered[0].error.as_deref(), Some("operator asked"));
    assert_eq!(filtered[0].finished_ms, Some(3));
    // A queued job can be cancelled too, and is then never claimed.
    let q = s
        .enqueue(&key("audit", 10), &json!({}), 0)
        .unwrap()
        .unwrap();
    assert!(s.cancel(q, "not needed", 11).unwrap());
    assert!(s.claim("w3", &[], 100, 1000).unwrap().is_none());
}

pub fn list_jobs_filters_and_orders_newest_tick_first(s: &mut dyn JobQueue) {
    for t in [3000, 1000, 2000] {
        s.enqueue(&key("crawl", t), &json!({}), 0).unwrap();
    }
    s.enqueue(&tkey("t2", "crawl", 5000), &json!({}), 0)
        .unwrap();
    s.enqueue(&key("scan", 4000), &json!({}), 0).unwrap();
    let ticks = |rows: Vec<crate::jobs::JobRow>| -> Vec<i64> {
        rows.iter().map(|r| r.key.scheduled_for_ms).collect()
    };
    assert_eq!(
        ticks(s.list_jobs(&JobFilter::default()).unwrap()),
        [5000, 4000, 3000, 2000, 1000]
    );
    let t1_crawls = JobFilter {
        tenant: Some("t1".into()),
        kind: Some("crawl".into()),
        ..JobFilter::default()
    };
    assert_eq!(ticks(s.list_jobs(&t1_crawls).unwrap()), [3000, 2000, 1000]);
    let two = JobFilter {
        limit: Some(2),
        ..t1_crawls.clone()
    };
    assert_eq!(ticks(s.list_jobs(&two).unwrap()), [3000, 2000]);
    s.claim("w", &["scan"], 10_000, 100).unwrap().unwrap();
    let running = JobFilter {
        state: Some(JobState::Running),
        ..JobFilter::default()
    };
    assert_eq!(ticks(s.list_jobs(&running).unwrap()), [4000]);
    assert_eq!(s.last_scheduled("t1", "crawl").unwrap(), Some(3000));
    assert_eq!(s.last_scheduled("t2", "crawl").unwrap(), Some(5000));
}
