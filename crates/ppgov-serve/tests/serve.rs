//! `ppgov serve` against the emulator over real HTTP, stepped through scheduled ticks with a
//! manual clock (no waits): the first start runs a crawl (with its scan) and an audit ingestion,
//! a due step is applied at its tick, a jump of four hours runs each missed job once, `/metrics`
//! and the JSON API reflect what ran, and a restart a day later runs the missed crawl once.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use chrono::{DateTime, Duration, DurationRound, Utc};
use ppgov_emulator::server::{Emulator, ServeOptions as EmuOptions};
use ppgov_emulator::tenant::Size;
use ppgov_serve::{JobEvent, ManualClock, RunEnd, ServeOptions, Server, Tenant};
use ppgov_store::{JobFilter, JobQueue, Store};
use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;
use tokio::sync::broadcast;

const TOKEN: &str = "test-api-token-7f3a";

async fn emulator() -> Emulator {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    Emulator::start(
        listener,
        EmuOptions {
            size: Size::Small,
            seed: 3,
            ..Default::default()
        },
    )
    .await
    .unwrap()
}

fn config(dir: &Path, emu: &Emulator) -> ppgov_config::Config {
    let r = emu.ready();
    let u = &r.url;
    let text = format!(
        "[tenant]\nid = \"{}\"\n\n[auth]\nmethod = \"client_secret\"\nclient_id = \"{}\"\nclient_secret = \"{}\"\n\n[endpoints]\nlogin = \"{u}\"\nbap = \"{u}\"\npowerapps = \"{u}\"\nflow = \"{u}\"\npowerplatform = \"{u}\"\ngraph = \"{u}\"\nmanagement = \"{u}\"\n\n[store]\npath = \"{}\"\n\n[serve]\nworkers = 2\n",
        r.tenant_id,
        r.client_id,
        r.client_secret,
        dir.join("store").display()
    );
    let path = dir.join("ppgov.toml");
    std::fs::write(&path, text).unwrap();
    ppgov_config::validate(&ppgov_config::ConfigSources {
        file: Some(path),
        env: BTreeMap::new(),
        flags: ppgov_config::Flags::default(),
    })
    .unwrap()
}

async fn start(config: &ppgov_config::Config, clock: Arc<ManualClock>) -> Server {
    let queue = Store::open(&config.store.path).unwrap();
    Server::start(
        vec![Tenant::new(config.clone(), &|_| None)],
        Box::new(queue),
        ServeOptions {
            listen: "127.0.0.1:0".parse().unwrap(),
            clock,
            instance: "test".into(),
            workers: config.serve.workers,
            lease_ms: 300_000,
            poll_ms: 60_000,
            api_tokens: vec![TOKEN.into()],
            extra_routes: None,
        },
    )
    .await
    .unwrap()
}

/// Waits for the runs of `kinds` (each once) to end; a guard against a hang, not a timing check.
async fn ended(rx: &mut broadcast::Receiver<JobEvent>, kinds: &[&str]) -> Vec<JobEvent> {
    let mut want: Vec<&str> = kinds.to_vec();
    let mut got = Vec::new();
    while !want.is_empty() {
        let e = tokio::time::timeout(std::time::Duration::from_secs(600), rx.recv())
            .await
            .expect("a job run ended")
            .unwrap();
        if let Some(i) = want.iter().position(|k| *k == e.key.kind) {
            want.remove(i);
        }
        got.push(e);
    }
    got
}

fn done(events: &[JobEvent], kind: &str) -> String {
    let e = events
        .iter()
        .find(|e| e.key.kind == kind)
        .unwrap_or_else(|| panic!("no {kind} run in {events:#?}"));
    assert_eq!(e.end, RunEnd::Done, "{kind}: {}", e.summary);
    e.summary.clone()
}

fn count(config: &ppgov_config::Config, kind: &str) -> usize {
    let mut store = Store::open(&config.store.path).unwrap();
    store
        .list_jobs(&JobFilter {
            kind: Some(kind.into()),
            ..JobFilter::default()
        })
        .unwrap()
        .len()
}

fn ms(t: DateTime<Utc>) -> i64 {
    t.timestamp_millis()
}

async fn get(url: &str, token: Option<&str>) -> reqwest::Response {
    let mut r = reqwest::Client::new().get(url);
    if let Some(t) = token {
        r = r.bearer_auth(t);
    }
    r.send().await.unwrap()
}

/// The value of the metric line starting with `prefix` (labels included).
fn metric(text: &str, prefix: &str) -> f64 {
    text.lines()
        .find(|l| l.starts_with(prefix))
        .unwrap_or_else(|| panic!("no `{prefix}` in\n{text}"))
        .rsplit(' ')
        .next()
        .unwrap()
        .parse()
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scheduled_ticks_run_each_job_once_and_metrics_and_api_show_them() {
    let emu = emulator().await;
    let dir = tempfile::tempdir().unwrap();
    let config = config(dir.path(), &emu);
    let tenant = config.tenant.id.clone();
    // One minute after the next four-hour boundary, so the crawl's latest tick is a minute ago.
    // Ahead of the real clock, never behind it: the Management Activity API refuses a window
    // that starts more than seven days before its own (real) now.
    let base = Utc::now().duration_trunc(Duration::hours(4)).unwrap() + Duration::hours(4);
    let clock = ManualClock::new(ms(base + Duration::minutes(1)));

    // First start: the crawl (with its scan) and the audit ingestion run once at start; the due
    // steps and the digest wait for their ticks.
    let server = start(&config, clock.clone()).await;
    let mut rx = server.events();
    let first = ended(&mut rx, &["crawl", "audit"]).await;
    assert!(done(&first, "crawl").contains("scan: "), "{first:#?}");
    assert!(
        done(&first, "audit").contains("events stored"),
        "{first:#?}"
    );
    for e in &first {
        assert_eq!(e.key.scheduled_for_ms, ms(base), "{e:?}");
    }
    {
        let store = Store::open(&config.store.path).unwrap();
        assert!(store.latest_snapshot(&tenant, true).unwrap().is_some());
        assert_eq!(store.list_scans(&tenant).unwrap().len(), 1);
        use ppgov_store::EventStore;
        assert!(store.event_stats().unwrap().events > 0);
    }
    assert_eq!((count(&config, "due"), count(&config, "digest")), (0, 0));

    // A due step (a tenant setting declared in [desired], planned now) falls due at +3 min and
    // is applied by the due job at its +5 min tick.
    let conn = ppgov_client::connect(&config, Default::default()).unwrap();
    let ctx = ppgov_act::Ctx::new(conn.clients.clone());
    let desired_file = dir.path().join("desired.toml");
    let mut planned = None;
    // The value the emulated tenant does not have yet.
    for value in ["true", "false"] {
        std::fs::write(
            &desired_file,
            format!("[desired.tenant_settings]\n\"powerPlatform.powerApps.disableShareWithEveryone\" = {value}\n"),
        )
        .unwrap();
        let desired = ppgov_config::desired::load(&desired_file).unwrap();
        let p = ppgov_act::desired::from_desired(&ctx, &tenant, &desired, "desired.toml")
            .await
            .unwrap();
        if !p.steps.is_empty() {
            planned = Some(p);
            break;
        }
    }
    let planned = planned.expect("one of the two values is a change");
    assert_eq!(planned.steps.len(), 1, "{:?}", planned.notes);
    let author = ppgov_act::Identity {
        kind: "app".into(),
        name: "test".into(),
        tenant: String::new(),
    };
    let plan = ppgov_act::Plan::new(&tenant, author, "--desired", planned.steps).unwrap();
    Store::open(&config.store.path)
        .unwrap()
        .add_due_action(
            &tenant,
            base + Duration::minutes(3),
            "test",
            &plan.to_json().unwrap(),
        )
        .unwrap();
    let writes_before: u64 = emu.write_counts().values().sum();
    clock.set(ms(base + Duration::minutes(5)));
    let due = ended(&mut rx, &["due"]).await;
    assert!(done(&due, "due").starts_with("1 due action(s)"), "{due:#?}");
    assert_eq!(emu.write_counts().values().sum::<u64>(), writes_before + 1);
    let pending = Store::open(&config.store.path)
        .unwrap()
        .due_actions(&tenant, None)
        .unwrap();
    assert!(pending.is_empty(), "{pending:?}");

    // Four hours later: the crawl's tick; the audit and due jobs missed many ticks (every 15 and
    // every 5 minutes) and each runs once, at its latest tick.
    let noon = base + Duration::hours(4);
    clock.set(ms(noon));
    let later = ended(&mut rx, &["crawl", "audit", "due"]).await;
    assert!(done(&later, "crawl").contains("incremental"), "{later:#?}");
    assert_eq!(done(&later, "due"), "nothing due");
    done(&later, "audit");
    for e in later.iter().filter(|e| e.key.kind != "digest") {
        assert_eq!(e.key.scheduled_for_ms, ms(noon), "{e:?}");
    }
    assert_eq!(
        (
            count(&config, "crawl"),
            count(&config, "audit"),
            count(&config, "due")
        ),
        (2, 2, 2)
    );
    assert_eq!(
        Store::open(&config.store.path)
            .unwrap()
            .list_scans(&tenant)
            .unwrap()
            .len(),
        2
    );

    // /metrics reflects the runs and the latest scan.
    let base_url = format!("http://{}", server.addr());
    assert_eq!(
        get(&format!("{base_url}/healthz"), None).await.status(),
        200
    );
    assert_eq!(get(&format!("{base_url}/readyz"), None).await.status(), 200);
    let text = get(&format!("{base_url}/metrics"), None)
        .await
        .text()
        .await
        .unwrap();
    for kind in ["crawl", "audit", "due"] {
        let line =
            format!("ppgov_job_runs_total{{tenant=\"{tenant}\",kind=\"{kind}\",outcome=\"done\"}}");
        assert_eq!(metric(&text, &line), 2.0, "{kind}");
    }
    assert!(
        metric(
            &text,
            &format!("ppgov_api_requests_total{{tenant=\"{tenant}\",kind=\"crawl\"}}")
        ) > 0.0
    );
    let scan: serde_json::Value = get(&format!("{base_url}/api/v1/findings"), Some(TOKEN))
        .await
        .json()
        .await
        .unwrap();
    let high = scan["summary"]["by_severity"]["high"]
        .as_f64()
        .unwrap_or(0.0);
    assert_eq!(
        metric(
            &text,
            &format!("ppgov_findings{{tenant=\"{tenant}\",severity=\"high\"}}")
        ),
        high
    );
    assert!(!scan["findings"].as_array().unwrap().is_empty());

    // The inventory of the latest snapshot, and the journal of the due step with its chain.
    let flows: serde_json::Value = get(
        &format!("{base_url}/api/v1/inventory?kind=flows"),
        Some(TOKEN),
    )
    .await
    .json()
    .await
    .unwrap();
    let latest = {
        let store = Store::open(&config.store.path).unwrap();
        let info = store.latest_snapshot(&tenant, true).unwrap().unwrap();
        store.load_snapshot(&info.id).unwrap()
    };
    assert_eq!(flows["rows"].as_array().unwrap().len(), latest.flows.len());
    assert_eq!(
        get(
            &format!("{base_url}/api/v1/inventory?kind=secrets"),
            Some(TOKEN)
        )
        .await
        .status(),
        400
    );
    let journal: serde_json::Value = get(&format!("{base_url}/api/v1/journal"), Some(TOKEN))
        .await
        .json()
        .await
        .unwrap();
    assert!(
        !journal["entries"].as_array().unwrap().is_empty(),
        "{journal}"
    );
    assert_eq!(
        journal["chain"]["breaks"].as_array().map(Vec::len),
        Some(0),
        "{journal}"
    );

    // The API needs a token; it lists the queue and triggers a run.
    assert_eq!(
        get(&format!("{base_url}/api/v1/jobs"), None).await.status(),
        401
    );
    assert_eq!(
        get(&format!("{base_url}/api/v1/jobs"), Some("wrong"))
            .await
            .status(),
        401
    );
    let jobs: serde_json::Value = get(&format!("{base_url}/api/v1/jobs?kind=crawl"), Some(TOKEN))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(jobs["jobs"].as_array().unwrap().len(), 2);
    let openapi: serde_json::Value = get(&format!("{base_url}/api/v1/openapi.json"), None)
        .await
        .json()
        .await
        .unwrap();
    assert!(openapi["paths"]["/api/v1/findings"].is_object());
    let bad = reqwest::Client::new()
        .post(format!("{base_url}/api/v1/jobs"))
        .bearer_auth(TOKEN)
        .body(r#"{"tenant": "elsewhere", "kind": "crawl"}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(bad.status(), 404);
    let queued = reqwest::Client::new()
        .post(format!("{base_url}/api/v1/jobs"))
        .bearer_auth(TOKEN)
        .body(format!(r#"{{"tenant": "{tenant}", "kind": "digest"}}"#))
        .send()
        .await
        .unwrap();
    assert_eq!(queued.status(), 202);
    let digest = ended(&mut rx, &["digest"]).await;
    assert!(
        done(&digest, "digest").contains("nothing sent"),
        "{digest:#?}"
    );
    server.shutdown().await;

    // Down for a day: six crawl ticks were missed; the restart runs the latest once.
    let next_noon = noon + Duration::days(1);
    clock.set(ms(next_noon + Duration::minutes(1)));
    let server = start(&config, clock.clone()).await;
    let mut rx = server.events();
    let restarted = ended(&mut rx, &["crawl", "audit", "due"]).await;
    for e in restarted.iter().filter(|e| e.key.kind != "digest") {
        assert_eq!(e.end, RunEnd::Done, "{e:?}");
        assert_eq!(e.key.scheduled_for_ms, ms(next_noon), "{e:?}");
    }
    assert_eq!((count(&config, "crawl"), count(&config, "audit")), (3, 3));
    server.shutdown().await;
}
