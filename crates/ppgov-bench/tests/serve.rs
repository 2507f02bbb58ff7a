//! `bench serve` on a small scale: two instances on one PostgreSQL queue crawl three tenants
//! twice with no duplicate execution, and a crashed instance's job is taken over by the other
//! once its lease has run out.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use ppgov_bench::serve::{ServeBenchOptions, run};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_instances_share_the_work_exactly_once_and_take_over_a_crashed_job() {
    let r = run(&ServeBenchOptions {
        tenants: 3,
        instances: vec![2],
        rounds: 2,
        // Long enough that a live job's renewal (every third of it) never misses on a loaded
        // machine; the takeover waits it out in real time.
        lease_s: 10,
    })
    .await
    .unwrap();
    assert_eq!(r.duplicate_executions, 0, "{r:?}");
    assert_eq!(r.jobs_failed, 0, "{r:?}");
    assert_eq!(r.jobs_completed, 3 * 2 + 1, "{r:?}");
    // Taken over by the other instance (`run` fails if the crashed one reported it).
    assert!(r.takeover_s.is_some(), "{r:?}");
    assert!(r.jobs_per_s["2"] > 0.0);
}
