//! Three `ppgov serve` instances sharing one PostgreSQL job queue, serving four emulated tenants
//! (`[[tenants]]`), stepped through two crawl ticks with one manual clock: every tick of every
//! tenant runs exactly once, checked in the queue, in each tenant's store and at each emulator
//! (each flow definition read once by the first, full crawl).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use chrono::{Duration, DurationRound, Utc};
use ppgov_emulator::server::{Emulator, ServeOptions as EmuOptions};
use ppgov_emulator::tenant::Size;
use ppgov_serve::{JobEvent, ManualClock, RunEnd, ServeOptions, Server, Tenant};
use ppgov_store::{JobFilter, JobQueue, JobState, Snapshots, Store};
use ppgov_store_pg::PgStore;
use ppgov_store_pg::testing::TestDb;
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::Path;
use tokio::sync::mpsc;

const TENANTS: u64 = 4;
const INSTANCES: usize = 3;

async fn emulator(seed: u64) -> Emulator {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    Emulator::start(
        listener,
        EmuOptions {
            size: Size::Small,
            seed,
            ..Default::default()
        },
    )
    .await
    .unwrap()
}

/// One file, every tenant an entry with its own sign-in, store and endpoints. Only the crawl
/// runs: the other jobs are yearly, on a day the test never reaches.
fn config_file(dir: &Path, emus: &[Emulator], url: &str) -> std::path::PathBuf {
    let mut text = format!(
        "[store]\nurl = \"{url}\"\n\n[schedule]\ncrawl = \"0 */4 * * *\"\nfull_crawl = \"0 3 29 2 *\"\naudit = \"0 3 29 2 *\"\ndue = \"0 3 29 2 *\"\ndigest = \"0 3 29 2 *\"\n\n[serve]\nworkers = 2\n"
    );
    for (i, emu) in emus.iter().enumerate() {
        let r = emu.ready();
        let u = &r.url;
        write!(
            text,
            "\n[[tenants]]\nid = \"{}\"\nstore = \"store-{i}\"\nauth = {{ method = \"client_secret\", client_id = \"{}\", client_secret = \"{}\" }}\nendpoints = {{ login = \"{u}\", bap = \"{u}\", powerapps = \"{u}\", flow = \"{u}\", powerplatform = \"{u}\", graph = \"{u}\", management = \"{u}\" }}\n",
            r.tenant_id, r.client_id, r.client_secret
        )
        .unwrap();
    }
    let path = dir.join("ppgov.toml");
    std::fs::write(&path, text).unwrap();
    path
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_instances_run_every_tick_of_every_tenant_exactly_once() {
    // The PostgreSQL client blocks on a runtime of its own: off this one.
    let db = tokio::task::block_in_place(TestDb::new);
    let mut emus = Vec::new();
    for seed in 0..TENANTS {
        emus.push(emulator(40 + seed).await);
    }
    let dir = tempfile::tempdir().unwrap();
    let file = config_file(dir.path(), &emus, &db.url());
    let configs = ppgov_config::tenants(&ppgov_config::ConfigSources {
        file: Some(file),
        env: BTreeMap::new(),
        flags: ppgov_config::Flags::default(),
    })
    .unwrap();
    assert_eq!(configs.len() as u64, TENANTS);

    let base = Utc::now().duration_trunc(Duration::hours(4)).unwrap() + Duration::hours(4);
    let clock = ManualClock::new((base + Duration::minutes(1)).timestamp_millis());
    let (tx, mut rx) = mpsc::unbounded_channel::<(usize, JobEvent)>();
    let mut servers = Vec::new();
    for n in 0..INSTANCES {
        let queue = tokio::task::block_in_place(|| PgStore::connect(&db.url(), None)).unwrap();
        let tenants = configs
            .iter()
            .map(|c| Tenant::new(c.clone(), &|_| None))
            .collect();
        let server = Server::start(
            tenants,
            Box::new(queue),
            ServeOptions {
                listen: "127.0.0.1:0".parse().unwrap(),
                clock: clock.clone(),
                instance: format!("instance-{n}"),
                workers: 2,
                lease_ms: 300_000,
                poll_ms: 60_000,
                api_tokens: Vec::new(),
                extra_routes: None,
            },
        )
        .await
        .unwrap();
        let mut events = server.events();
        let tx = tx.clone();
        tokio::spawn(async move {
            while let Ok(e) = events.recv().await {
                let _ = tx.send((n, e));
            }
        });
        servers.push(server);
    }

    let mut ran_on = BTreeMap::<usize, usize>::new();
    let mut reads_after_first = Vec::new();
    for (tick, at) in [(1, base), (2, base + Duration::hours(4))] {
        if tick == 2 {
            clock.set(at.timestamp_millis());
        }
        let mut done = Vec::new();
        while done.len() < TENANTS as usize {
            let (n, e) = tokio::time::timeout(std::time::Duration::from_secs(600), rx.recv())
                .await
                .expect("a crawl ended")
                .unwrap();
            assert_eq!(e.key.kind, "crawl", "{e:?}");
            assert_eq!(e.end, RunEnd::Done, "{e:?}");
            assert_eq!(e.key.scheduled_for_ms, at.timestamp_millis(), "{e:?}");
            *ran_on.entry(n).or_default() += 1;
            done.push(e.key.tenant);
        }
        done.sort();
        done.dedup();
        assert_eq!(
            done.len() as u64,
            TENANTS,
            "each tenant's crawl ran once: {done:?}"
        );

        // The queue: one job per tenant and tick, each done on its first attempt, none left.
        let jobs = tokio::task::block_in_place(|| {
            PgStore::connect(&db.url(), None)
                .unwrap()
                .list_jobs(&JobFilter::default())
                .unwrap()
        });
        assert_eq!(jobs.len() as u64, TENANTS * tick, "{jobs:#?}");
        for j in &jobs {
            assert_eq!((j.state, j.attempts), (JobState::Done, 1), "{j:?}");
        }
        // Each tenant's snapshots, in PostgreSQL: one per tick.
        for c in &configs {
            let store = ppgov_store_pg::PgSnapshots::connect(&db.url(), &c.tenant.id).unwrap();
            assert_eq!(
                store.list_snapshots(Some(&c.tenant.id)).unwrap().len() as u64,
                tick
            );
        }
        // Each tenant's scans (the crawl job scans what it crawled): in PostgreSQL, one per
        // tick, shared by every instance; none in the embedded store.
        for c in &configs {
            use ppgov_store::Records;
            let pg = ppgov_store_pg::PgRecords::connect(&db.url(), &c.tenant.id).unwrap();
            assert_eq!(pg.list_scans(&c.tenant.id).unwrap().len() as u64, tick);
            let local = Store::open(&c.store.path).unwrap();
            assert!(local.list_scans(&c.tenant.id).unwrap().is_empty());
            assert!(local.list_snapshots(None).unwrap().is_empty());
        }
        // Each emulator: the first (full) crawl read every flow's definition once; a second crawl
        // of a tick would have read them again.
        for (emu, c) in emus.iter().zip(&configs) {
            let reads = emu.flow_definition_reads();
            if tick == 1 {
                let store = ppgov_store_pg::PgSnapshots::connect(&db.url(), &c.tenant.id).unwrap();
                let latest = store.latest_snapshot(&c.tenant.id, true).unwrap().unwrap();
                let flows = store.load_snapshot(&latest.id).unwrap().flows.len() as u64;
                assert_eq!(reads, flows, "{}", c.tenant.id);
                reads_after_first.push(reads);
            } else {
                assert!(reads >= reads_after_first[0].min(reads), "{}", c.tenant.id);
            }
        }
    }
    assert!(
        ran_on.len() > 1,
        "the work was shared between instances: {ran_on:?}"
    );
    for s in servers {
        s.shutdown().await;
    }
}

/// With `[store] url`, the audit job keeps events, alerts and detection state in PostgreSQL
/// (nothing in the tenant's embedded store), the JSON API reads its alerts from there, the chain
/// verifies, and the refresh marks the events make are in PostgreSQL, where the crawler reads them.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_a_postgresql_store_the_audit_job_keeps_events_and_alerts_there() {
    use ppgov_store::EventStore;
    let db = tokio::task::block_in_place(TestDb::new);
    let emu = emulator(61).await;
    let dir = tempfile::tempdir().unwrap();
    let file = config_file(dir.path(), std::slice::from_ref(&emu), &db.url());
    // Only the audit ingestion runs: at its tick before the clock's start.
    let text = std::fs::read_to_string(&file)
        .unwrap()
        .replace("crawl = \"0 */4 * * *\"", "crawl = \"0 3 29 2 *\"")
        .replace("audit = \"0 3 29 2 *\"", "audit = \"*/15 * * * *\"");
    std::fs::write(&file, text).unwrap();
    let configs = ppgov_config::tenants(&ppgov_config::ConfigSources {
        file: Some(file),
        env: BTreeMap::new(),
        flags: ppgov_config::Flags::default(),
    })
    .unwrap();
    let config = configs[0].clone();
    let tenant = config.tenant.id.clone();

    // Ahead of the real clock, like the other tests: the emulator's window rules use its own.
    let base = Utc::now().duration_trunc(Duration::minutes(15)).unwrap() + Duration::minutes(15);
    let clock = ManualClock::new((base + Duration::minutes(1)).timestamp_millis());
    let queue = tokio::task::block_in_place(|| PgStore::connect(&db.url(), None)).unwrap();
    let server = Server::start(
        vec![Tenant::new(config.clone(), &|_| None)],
        Box::new(queue),
        ServeOptions {
            listen: "127.0.0.1:0".parse().unwrap(),
            clock,
            instance: "pg-audit".into(),
            workers: 2,
            lease_ms: 300_000,
            poll_ms: 60_000,
            api_tokens: vec!["pg-audit-token".into()],
            extra_routes: None,
        },
    )
    .await
    .unwrap();
    let mut events = server.events();
    let e = loop {
        let e = tokio::time::timeout(std::time::Duration::from_secs(600), events.recv())
            .await
            .expect("the audit run ended")
            .unwrap();
        if e.key.kind == "audit" {
            break e;
        }
    };
    assert_eq!(e.end, RunEnd::Done, "{}", e.summary);

    // Called from this async test directly: the store leaves the runtime's worker itself.
    let pg = ppgov_store_pg::PgEventStore::connect(&db.url(), &tenant).unwrap();
    let stored = pg.event_stats().unwrap().events;
    assert!(stored > 0, "events in PostgreSQL: {}", e.summary);
    assert!(
        e.summary.starts_with(&format!("{stored} events stored")),
        "{}",
        e.summary
    );
    let report = pg.verify().unwrap();
    assert!(report.problems.is_empty(), "{:?}", report.problems);
    let alerts = pg.alerts(None, None).unwrap();
    assert!(!alerts.is_empty(), "the planted attacks raised alerts");

    let local = Store::open(&config.store.path).unwrap();
    assert_eq!(local.event_stats().unwrap().events, 0, "nothing in SQLite");
    assert!(local.alerts(None, None).unwrap().is_empty());
    assert!(local.pending_refresh_marks().unwrap().is_empty());
    let snapshots = ppgov_store_pg::PgSnapshots::connect(&db.url(), &tenant).unwrap();
    assert!(
        !Snapshots::pending_refresh_marks(&snapshots)
            .unwrap()
            .is_empty(),
        "the events' refresh marks are where the crawler reads them"
    );

    let api: serde_json::Value = reqwest::Client::new()
        .get(format!("http://{}/api/v1/alerts", server.addr()))
        .bearer_auth("pg-audit-token")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let mut from_api: Vec<String> = api["alerts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["key"].as_str().unwrap().to_string())
        .collect();
    let mut from_pg: Vec<String> = alerts.iter().map(|a| a.key.clone()).collect();
    from_api.sort();
    from_pg.sort();
    assert_eq!(from_api, from_pg);
    server.shutdown().await;
}
