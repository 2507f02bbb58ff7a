//! An instance of `ppgov serve` killed with SIGKILL mid-crawl: its job stays claimed under a lease
//! nobody renews; another instance, once the lease has run out, takes the job over (its second
//! attempt) and resumes the crawl from its checkpoints, ending with the same inventory as a
//! fresh crawl: nothing lost, nothing twice. The job queue and the snapshot with its checkpoints
//! are in PostgreSQL (`[store] url`), where an instance on any machine finds them.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::*;
use ppgov_emulator::server::gate::Gated;
use ppgov_serve::{ManualClock, RunEnd, ServeOptions, Server, Tenant};
use ppgov_store::{JobFilter, JobQueue, JobState};
use ppgov_store_pg::PgStore;
use ppgov_store_pg::testing::TestDb;
use std::collections::BTreeMap;
use std::process::{Command, Stdio};

/// Only the crawl runs: the other jobs are yearly, on a day the test never reaches.
const SCHEDULE: &str = "\n[schedule]\ncrawl = \"0 */4 * * *\"\nfull_crawl = \"0 3 29 2 *\"\naudit = \"0 3 29 2 *\"\ndue = \"0 3 29 2 *\"\ndigest = \"0 3 29 2 *\"\n\n[serve]\nlease_seconds = 10\n";

fn jobs(url: &str) -> Vec<ppgov_store::JobRow> {
    tokio::task::block_in_place(|| {
        PgStore::connect(url, None)
            .unwrap()
            .list_jobs(&JobFilter::default())
            .unwrap()
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_crawl_killed_with_its_instance_is_finished_by_another_with_nothing_lost() {
    // The PostgreSQL client blocks on a runtime of its own: off this one.
    let db = tokio::task::block_in_place(TestDb::new);
    let url = db.url();
    let emu = emulator(12).await;
    let dir = tempfile::tempdir().unwrap();
    let cfg = config_with(dir.path(), &emu, SCHEDULE);

    // The emulator serves 500 requests of the crawl (of about 1,200), then holds the next ones:
    // the instance is killed there, mid-crawl at a known point, with no timer involved.
    emu.gate(Gated::Requests).hold_after(500);
    let mut child = Command::new(bin())
        .arg("--config")
        .arg(&cfg)
        .args(["serve", "--listen", "127.0.0.1:0"])
        .env("PPGOV_STORE_URL", &url)
        .env_remove("PPGOV_CONFIG")
        .env_remove("AZURE_TENANT_ID")
        .env_remove("RUST_LOG")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    emu.gate(Gated::Requests).wait_held(1).await;
    let before = jobs(&url);
    assert_eq!(before.len(), 1, "{before:#?}");
    let claimed = before[0].clone();
    assert_eq!(claimed.key.kind, "crawl");
    assert_eq!((claimed.state, claimed.attempts), (JobState::Running, 1));
    child.kill().unwrap(); // SIGKILL on Unix
    let _ = child.wait();
    emu.gate(Gated::Requests).abort_held();
    let tenant = emu.ready().tenant_id.clone();
    tokio::task::block_in_place(|| {
        // In PostgreSQL, where any instance on any machine finds it.
        use ppgov_store::Snapshots;
        let store = ppgov_store_pg::PgSnapshots::connect(&url, &tenant).unwrap();
        let info = store
            .unfinished_snapshot(&tenant)
            .unwrap()
            .expect("the killed crawl left its snapshot unfinished");
        assert!(!store.done_shards(&info.id).unwrap().is_empty());
    });

    // Another instance, its clock past the dead lease, takes the job over and resumes the crawl.
    let env = BTreeMap::from([("PPGOV_STORE_URL".to_string(), url.clone())]);
    let configs = ppgov_config::tenants(&ppgov_config::ConfigSources {
        file: Some(cfg.clone()),
        env,
        flags: ppgov_config::Flags::default(),
    })
    .unwrap();
    let lease_until = claimed.lease_until_ms.unwrap();
    let clock = ManualClock::new(lease_until + 1_000);
    let queue = tokio::task::block_in_place(|| PgStore::connect(&url, None)).unwrap();
    let server = Server::start(
        configs
            .into_iter()
            .map(|c| Tenant::new(c, &|_| None))
            .collect(),
        Box::new(queue),
        ServeOptions {
            listen: "127.0.0.1:0".parse().unwrap(),
            clock: clock.clone(),
            instance: "survivor".into(),
            workers: 2,
            lease_ms: 10_000,
            poll_ms: 60_000,
            api_tokens: Vec::new(),
            extra_routes: None,
        },
    )
    .await
    .unwrap();
    let mut rx = server.events();
    let e = tokio::time::timeout(std::time::Duration::from_secs(600), rx.recv())
        .await
        .expect("the crawl ended")
        .unwrap();
    assert_eq!(e.key, claimed.key, "the same run, not a new one");
    assert_eq!(e.end, RunEnd::Done, "{}", e.summary);
    assert!(e.summary.contains("resumed"), "{}", e.summary);
    server.shutdown().await;
    let after = jobs(&url);
    assert_eq!(after.len(), 1, "{after:#?}");
    assert_eq!((after[0].state, after[0].attempts), (JobState::Done, 2));

    // Nothing lost, nothing twice: the inventory a fresh crawl gives.
    let resumed_flows = run(
        dir.path(),
        &[
            "--config",
            cfg.to_str().unwrap(),
            "inventory",
            "flows",
            "--format",
            "json",
        ],
        &[("PPGOV_STORE_URL", url.as_str())],
    )
    .await;
    let resumed_conns = run(
        dir.path(),
        &[
            "--config",
            cfg.to_str().unwrap(),
            "inventory",
            "connections",
            "--format",
            "json",
        ],
        &[("PPGOV_STORE_URL", url.as_str())],
    )
    .await;
    let dir2 = tempfile::tempdir().unwrap();
    let cfg2 = config(dir2.path(), &emu);
    let c2 = cfg2.to_str().unwrap();
    assert!(
        run(dir2.path(), &["--config", c2, "--quiet", "crawl"], &[])
            .await
            .status
            .success()
    );
    let fresh_flows = run(
        dir2.path(),
        &["--config", c2, "inventory", "flows", "--format", "json"],
        &[],
    )
    .await;
    let fresh_conns = run(
        dir2.path(),
        &[
            "--config",
            c2,
            "inventory",
            "connections",
            "--format",
            "json",
        ],
        &[],
    )
    .await;
    assert!(resumed_flows.status.success(), "{}", err(&resumed_flows));
    assert_eq!(
        ids(&resumed_flows.stdout, "flow_id"),
        ids(&fresh_flows.stdout, "flow_id")
    );
    assert_eq!(
        ids(&resumed_conns.stdout, "connection_id"),
        ids(&fresh_conns.stdout, "connection_id")
    );
    assert_eq!(
        resumed_flows.stdout, fresh_flows.stdout,
        "run counts included"
    );
}
