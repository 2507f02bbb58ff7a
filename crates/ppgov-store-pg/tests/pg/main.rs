//! The job-queue and event-store contracts, row-level security, tampering and shared month
//! partitions against a real PostgreSQL (the event store's tests are in `events.rs`).
//!
//! The server is `PPGOV_TEST_PG_URL` (a superuser or a role with CREATEROLE and CREATEDB) when
//! set; otherwise the first test starts a throwaway cluster with `scripts/pg-cluster`, which
//! stops and removes it once this test process exits. When neither works the tests fail: they
//! are never skipped. Each test gets its own database, owned by the role `ppgov_app` (no
//! superuser, no BYPASSRLS, so row-level security applies to it), and connects as that role:
//! the server must let `ppgov_app` log in the way it lets the URL's user in (the throwaway
//! cluster trusts loopback).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod events;
mod records;
mod sessions;
mod snapshots;

use std::sync::{Arc, Barrier};

use std::sync::atomic::{AtomicUsize, Ordering};

use ppgov_store::{JobFilter, JobKey, JobOutcome, JobQueue, JobState, StoreError};
use ppgov_store_pg::{PgStore, SCHEMA_VERSION};
use serde_json::json;

use ppgov_store_pg::testing::{APP_ROLE, TestDb};

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

// ---- the job-queue contract (the SQLite store's unit tests, against PostgreSQL) ----

#[test]
fn the_job_queue_contract() {
    // The same checks the SQLite store runs (ppgov_store::contract), each on a fresh database.
    for (_, check) in ppgov_store::contract::CHECKS {
        let db = TestDb::new();
        let mut s = db.store();
        check(&mut s);
    }
}

// ---- concurrency ----

#[test]
fn four_connections_claiming_200_jobs_concurrently_get_each_exactly_once() {
    let db = TestDb::new();
    let mut s = db.store();
    // 50 tenants x 4 kinds, one tick each: no pair waits on another, so every job is claimable.
    let mut enqueued = Vec::new();
    for tenant in 0..50 {
        for kind in ["crawl", "scan", "audit", "digest"] {
            let id = s
                .enqueue(&tkey(&format!("t{tenant}"), kind, 1), &json!({}), 0)
                .unwrap()
                .unwrap();
            enqueued.push(id);
        }
    }
    let url = db.url();
    let start = Arc::new(Barrier::new(4));
    let handles: Vec<_> = (0..4)
        .map(|w| {
            let url = url.clone();
            let start = Arc::clone(&start);
            std::thread::spawn(move || {
                let mut s = PgStore::connect(&url, None).unwrap();
                start.wait();
                let mut got = Vec::new();
                while let Some(j) = s.claim(&format!("w{w}"), &[], 100, 10_000).unwrap() {
                    assert_eq!(j.lease_owner, Some(format!("w{w}")));
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
    enqueued.sort_unstable();
    assert_eq!(all, enqueued, "every job claimed exactly once");
    let running = s
        .list_jobs(&JobFilter {
            state: Some(JobState::Running),
            ..JobFilter::default()
        })
        .unwrap();
    assert!(running.iter().all(|j| j.attempts == 1));
    assert_eq!(running.len(), 200);
}

#[test]
fn concurrent_claims_never_start_two_runs_of_one_tenant_and_kind() {
    let db = TestDb::new();
    let mut s = db.store();
    const ROUNDS: usize = 15;
    const WORKERS: usize = 4;
    let url = db.url();
    // Each round: a new tenant with several due ticks of one kind, four workers claiming at
    // once. The earlier rounds' first ticks keep running under live leases, so their later
    // ticks stay blocked and only this round's tenant can be claimed.
    let start = Arc::new(Barrier::new(WORKERS + 1));
    let done = Arc::new(Barrier::new(WORKERS + 1));
    let handles: Vec<_> = (0..WORKERS)
        .map(|w| {
            let url = url.clone();
            let (start, done) = (Arc::clone(&start), Arc::clone(&done));
            std::thread::spawn(move || {
                let mut s = PgStore::connect(&url, None).unwrap();
                let mut got = Vec::new();
                for _ in 0..ROUNDS {
                    start.wait();
                    if let Some(j) = s.claim(&format!("w{w}"), &["crawl"], 100, 10_000).unwrap() {
                        got.push(j.key);
                    }
                    done.wait();
                }
                got
            })
        })
        .collect();
    for round in 0..ROUNDS {
        for t in 0..6 {
            s.enqueue(&tkey(&format!("r{round}"), "crawl", t), &json!({}), 0)
                .unwrap();
        }
        start.wait();
        done.wait();
    }
    let all: Vec<JobKey> = handles
        .into_iter()
        .flat_map(|h| h.join().unwrap())
        .collect();
    assert_eq!(all.len(), ROUNDS, "one claim per round: {all:?}");
    for round in 0..ROUNDS {
        let tenant = format!("r{round}");
        let runs: Vec<&JobKey> = all.iter().filter(|k| k.tenant == tenant).collect();
        assert_eq!(runs.len(), 1, "round {round}: {runs:?}");
        assert_eq!(runs[0].scheduled_for_ms, 0, "the earliest tick runs first");
    }
}

#[test]
fn workers_claiming_and_finishing_concurrently_run_each_pair_in_tick_order_one_at_a_time() {
    use std::collections::{HashMap, HashSet};
    use std::sync::Mutex;
    let db = TestDb::new();
    let mut s = db.store();
    const TICKS: i64 = 8;
    let mut total = 0;
    for tenant in ["a", "b", "c"] {
        for kind in ["crawl", "scan"] {
            for t in 0..TICKS {
                s.enqueue(&tkey(tenant, kind, t), &json!({}), 0).unwrap();
                total += 1;
            }
        }
    }
    type Pair = (String, String);
    let running: Arc<Mutex<HashSet<Pair>>> = Arc::default();
    let log: Arc<Mutex<HashMap<Pair, Vec<i64>>>> = Arc::default();
    let finished = Arc::new(AtomicUsize::new(0));
    let url = db.url();
    let handles: Vec<_> = (0..4)
        .map(|w| {
            let (url, running, log, finished) = (
                url.clone(),
                Arc::clone(&running),
                Arc::clone(&log),
                Arc::clone(&finished),
            );
            std::thread::spawn(move || {
                let mut s = PgStore::connect(&url, None).unwrap();
                let worker = format!("w{w}");
                let mut misses = 0u32;
                while finished.load(Ordering::SeqCst) < total {
                    let Some(j) = s.claim(&worker, &[], 100, 60_000).unwrap() else {
                        // Every due job's pair is running elsewhere: ask again (bounded).
                        misses += 1;
                        assert!(misses < 200_000, "claims kept finding nothing");
                        continue;
                    };
                    let pair = (j.key.tenant.clone(), j.key.kind.clone());
                    assert!(
                        running.lock().unwrap().insert(pair.clone()),
                        "two runs of {pair:?} at once"
                    );
                    log.lock()
                        .unwrap()
                        .entry(pair.clone())
                        .or_default()
                        .push(j.key.scheduled_for_ms);
                    running.lock().unwrap().remove(&pair);
                    assert!(s.finish(j.id, &worker, &JobOutcome::Done, 200).unwrap());
                    finished.fetch_add(1, Ordering::SeqCst);
                }
            })
        })
        .collect();
    for h in handles {
        h.join().unwrap();
    }
    let log = log.lock().unwrap();
    assert_eq!(log.len(), 6);
    for (pair, ticks) in log.iter() {
        assert_eq!(*ticks, (0..TICKS).collect::<Vec<_>>(), "{pair:?}");
    }
    let done = s
        .list_jobs(&JobFilter {
            state: Some(JobState::Done),
            ..JobFilter::default()
        })
        .unwrap();
    assert_eq!(done.len(), total);
    assert!(done.iter().all(|j| j.attempts == 1));
}

#[test]
fn instances_migrating_at_once_all_succeed_and_migrations_are_idempotent() {
    let db = TestDb::new();
    let url = db.url();
    let start = Arc::new(Barrier::new(4));
    let handles: Vec<_> = (0..4)
        .map(|_| {
            let url = url.clone();
            let start = Arc::clone(&start);
            std::thread::spawn(move || {
                start.wait();
                let mut s = PgStore::connect(&url, None).unwrap();
                s.schema_version().unwrap()
            })
        })
        .collect();
    for h in handles {
        assert_eq!(h.join().unwrap(), SCHEMA_VERSION);
    }
    let mut again = db.store();
    assert_eq!(again.schema_version().unwrap(), SCHEMA_VERSION);
    let applied: i64 = db
        .admin()
        .query_one("SELECT count(*) FROM ppgov_migrations", &[])
        .unwrap()
        .get(0);
    assert_eq!(applied, SCHEMA_VERSION);
}

#[test]
fn a_database_from_a_newer_ppgov_is_refused() {
    let db = TestDb::new();
    drop(db.store());
    db.admin()
        .execute(
            "INSERT INTO ppgov_migrations (version) VALUES ($1)",
            &[&(SCHEMA_VERSION + 5)],
        )
        .unwrap();
    match PgStore::connect(&db.url(), None) {
        Err(StoreError::NewerSchema { found, supported }) => {
            assert_eq!((found, supported), (SCHEMA_VERSION + 5, SCHEMA_VERSION));
        }
        other => panic!("expected NewerSchema, got {other:?}"),
    }
}

#[test]
fn an_unreachable_server_is_a_connect_error_that_names_it() {
    // Port 1 on loopback: nothing listens there.
    let err = PgStore::connect("postgres://nobody@127.0.0.1:1/nodb", None).unwrap_err();
    let text = err.to_string();
    assert!(matches!(err, StoreError::PgConnect { .. }), "{err:?}");
    assert!(text.contains("127.0.0.1:1/nodb"), "{text}");
    assert!(text.contains("check that the server is running"), "{text}");
    // The password never shows in the message.
    let err = PgStore::connect("postgres://u:s3cret@127.0.0.1:1/db", None).unwrap_err();
    assert!(!err.to_string().contains("s3cret"), "{err}");
    let err = PgStore::connect("postgres://a@b:notaport/x", None).unwrap_err();
    assert!(matches!(err, StoreError::PgConnect { .. }), "{err:?}");
}

#[test]
fn stored_values_this_build_cannot_read_are_bad_values_not_panics() {
    let db = TestDb::new();
    let mut s = db.store();
    let a = s.enqueue(&key("crawl", 1), &json!({}), 0).unwrap().unwrap();
    let b = s.enqueue(&key("scan", 1), &json!({}), 0).unwrap().unwrap();
    let mut admin = db.admin();
    admin
        .execute("UPDATE jobs SET state = 'paused' WHERE id = $1", &[&a])
        .unwrap();
    admin
        .execute("UPDATE jobs SET payload = 'not json' WHERE id = $1", &[&b])
        .unwrap();
    match s.job(a) {
        Err(StoreError::BadValue { column, value }) => {
            assert_eq!((column, value.as_str()), ("jobs.state", "paused"));
        }
        other => panic!("expected BadValue, got {other:?}"),
    }
    assert!(matches!(
        s.job(b),
        Err(StoreError::BadValue {
            column: "jobs.payload",
            ..
        })
    ));
    assert!(matches!(
        s.list_jobs(&JobFilter::default()),
        Err(StoreError::BadValue { .. })
    ));
}

// ---- row-level security ----

#[test]
fn a_connection_scoped_to_one_tenant_sees_and_changes_nothing_of_another() {
    let db = TestDb::new();
    let mut all = db.store();
    // B's jobs are due first, so a claim that could see them would take them.
    let b_job = all
        .enqueue(&tkey("B", "crawl", 1), &json!({}), 0)
        .unwrap()
        .unwrap();
    let b_running = all
        .enqueue(&tkey("B", "scan", 1), &json!({}), 0)
        .unwrap()
        .unwrap();
    assert_eq!(
        all.claim("wb", &["scan"], 5, 1000).unwrap().unwrap().id,
        b_running
    );
    all.enqueue(&tkey("A", "crawl", 2), &json!({}), 0).unwrap();
    all.enqueue(&tkey("A", "scan", 3), &json!({}), 0).unwrap();

    let mut a = db.scoped("A");
    assert_eq!(a.tenant_scope(), Some("A"));
    let listed = a.list_jobs(&JobFilter::default()).unwrap();
    assert_eq!(listed.len(), 2);
    assert!(listed.iter().all(|j| j.key.tenant == "A"));
    let asked_for_b = JobFilter {
        tenant: Some("B".into()),
        ..JobFilter::default()
    };
    assert!(a.list_jobs(&asked_for_b).unwrap().is_empty());
    assert_eq!(a.job(b_job).unwrap(), None);
    assert_eq!(a.last_scheduled("B", "crawl").unwrap(), None);
    assert!(!a.cancel(b_job, "not mine", 10).unwrap());
    assert!(!a.renew(b_running, "wb", 10, 1000).unwrap());
    assert!(!a.checkpoint(b_running, "wb", "{}").unwrap());
    assert!(!a.release(b_running, "wb").unwrap());
    assert!(!a.finish(b_running, "wb", &JobOutcome::Done, 10).unwrap());
    // Enqueueing for another tenant is refused by the policy, not silently done.
    let err = a
        .enqueue(&tkey("B", "crawl", 99), &json!({}), 0)
        .unwrap_err();
    assert!(err.to_string().contains("row-level security"), "{err}");
    // Claims take A's jobs only, then nothing, though B's crawl is due.
    let first = a.claim("wa", &[], 100, 1000).unwrap().unwrap();
    let second = a.claim("wa", &[], 100, 1000).unwrap().unwrap();
    assert_eq!(
        (first.key.tenant.as_str(), second.key.tenant.as_str()),
        ("A", "A")
    );
    assert!(a.claim("wa", &[], 100, 1000).unwrap().is_none());

    // B's jobs are untouched.
    let b = all.job(b_job).unwrap().unwrap();
    assert_eq!((b.state, b.error), (JobState::Queued, None));
    let b = all.job(b_running).unwrap().unwrap();
    assert_eq!(
        (b.state, b.lease_owner.as_deref()),
        (JobState::Running, Some("wb"))
    );
    assert_eq!(all.list_jobs(&JobFilter::default()).unwrap().len(), 4);

    // The policy itself, below the store: a scoped session counts only its tenant's rows and
    // cannot update the others', though its role owns the table (FORCE ROW LEVEL SECURITY).
    let mut raw = db.raw_scoped("A");
    let seen: i64 = raw
        .query_one("SELECT count(*) FROM jobs", &[])
        .unwrap()
        .get(0);
    assert_eq!(seen, 2);
    let changed = raw
        .execute("UPDATE jobs SET error = 'x' WHERE tenant_id = 'B'", &[])
        .unwrap();
    assert_eq!(changed, 0);
    let owner_forced: (String, bool, bool) = {
        let r = raw
            .query_one(
                "SELECT pg_get_userbyid(relowner)::text, relrowsecurity, relforcerowsecurity
                 FROM pg_class WHERE oid = 'jobs'::regclass",
                &[],
            )
            .unwrap();
        (r.get(0), r.get(1), r.get(2))
    };
    assert_eq!(owner_forced, (APP_ROLE.to_owned(), true, true));
}

#[test]
fn a_scope_is_refused_for_a_role_that_bypasses_row_level_security_or_when_empty() {
    let db = TestDb::new();
    drop(db.store());
    match PgStore::connect(&db.admin_url(), Some("A")) {
        Err(StoreError::PgRefused(why)) => assert!(why.contains("bypasses row-level security")),
        other => panic!("expected PgRefused, got {other:?}"),
    }
    assert!(matches!(
        PgStore::connect(&db.url(), Some("")),
        Err(StoreError::PgRefused(_))
    ));
}

#[test]
fn a_lost_connection_makes_every_call_an_error() {
    let db = TestDb::new();
    let mut s = db.store();
    assert!(!s.is_closed());
    db.admin()
        .execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity
             WHERE datname = current_database() AND usename = $1",
            &[&APP_ROLE],
        )
        .unwrap();
    // Every call fails from then on (the client may notice the closed socket a moment after the
    // first error, so is_closed is not asserted here).
    for _ in 0..3 {
        let err = s.job(1).unwrap_err();
        assert!(matches!(err, StoreError::Postgres { .. }), "{err:?}");
    }
    assert!(s.claim("w", &[], 0, 1).is_err());
}
