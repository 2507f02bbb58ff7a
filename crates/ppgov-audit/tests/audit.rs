//! The audit pipeline against the emulator over real HTTP and on files: Management API ingest
//! (window rules, paging, duplicates across blobs, AF429 back-off, cursor, kill and rerun),
//! file import, the tamper-evident store, and detections against the planted ground truth.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use chrono::{DateTime, Duration, Utc};
use ppgov_audit::detect::{DetectionConfig, Engine};
use ppgov_audit::files;
use ppgov_audit::management::{self, ManagementOptions};
use ppgov_audit::{IngestOutcome, Ingestor};
use ppgov_auth::{Credential, EntraTokenSource, SourceOptions};
use ppgov_client::clients::management::ManagementClient;
use ppgov_client::{Transport, TransportConfig};
use ppgov_config::Endpoints;
use ppgov_emulator::server::{Emulator, ServeOptions};
use ppgov_store::{EventFilter, EventStore, Store};
use std::collections::BTreeSet;
use std::io::Write;
use std::sync::Arc;

async fn emulator(opts: ServeOptions) -> Emulator {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    Emulator::start(listener, opts).await.unwrap()
}

fn client(emu: &Emulator) -> (ManagementClient, Transport) {
    let ready = emu.ready();
    let base = url::Url::parse(&ready.url).unwrap();
    let endpoints = Endpoints::all_at(&base);
    let tokens = EntraTokenSource::new(
        Credential::ClientSecret {
            client_id: ready.client_id.clone(),
            secret: ready.client_secret.clone().into(),
        },
        &ready.tenant_id,
        &endpoints.login,
        SourceOptions::default(),
    );
    let mut cfg = TransportConfig::default();
    cfg.retry.base_delay = std::time::Duration::from_millis(5);
    cfg.retry.default_throttle_delay = std::time::Duration::from_millis(20);
    cfg.retry.max_throttled_attempts = 50;
    let t = Transport::with_config(Arc::new(tokens), cfg).unwrap();
    let m = ManagementClient::new(t.clone(), &endpoints, &ready.tenant_id, None).unwrap();
    (m, t)
}

/// The emulator's whole audit stream (duplicates included) as a JSON-lines file, as a Purview
/// export of the 14 days would hold it.
fn export_stream(emu: &Emulator, dir: &std::path::Path) -> std::path::PathBuf {
    let p = dir.join("audit.jsonl");
    let mut f = std::io::BufWriter::new(std::fs::File::create(&p).unwrap());
    for a in &emu.tenant().audit {
        writeln!(f, "{}", a.record.text()).unwrap();
    }
    f.flush().unwrap();
    p
}

fn ingest_file(store: &mut Store, path: &std::path::Path) -> IngestOutcome {
    let mut ing = Ingestor::new(store);
    files::read_path(path, None, &mut |(pos, raw)| ing.push(pos, raw)).unwrap();
    ing.finish().unwrap()
}

fn config_of(emu: &Emulator) -> DetectionConfig {
    let v = emu.ground_truth().detection_config.clone();
    serde_json::from_value(v).unwrap()
}

type Incident = (String, String, Vec<String>);

fn planted(emu: &Emulator) -> BTreeSet<Incident> {
    emu.ground_truth()
        .detections
        .iter()
        .map(|d| {
            let mut ids = d.event_ids.clone();
            ids.sort();
            (d.detection_id.clone(), d.actor.to_lowercase(), ids)
        })
        .collect()
}

/// Compares incidents, printing only what differs (detection, actor, event count).
fn assert_same(got: &BTreeSet<Incident>, want: &BTreeSet<Incident>, ctx: &str) {
    let missed: Vec<_> = want
        .difference(got)
        .map(|i| (&i.0, &i.1, i.2.len()))
        .collect();
    let extra: Vec<_> = got
        .difference(want)
        .map(|i| (&i.0, &i.1, i.2.len()))
        .collect();
    assert!(
        missed.is_empty() && extra.is_empty(),
        "{ctx}: missed {missed:?}, false alerts {extra:?}"
    );
}

fn found(store: &Store) -> BTreeSet<Incident> {
    store
        .alerts(None, None)
        .unwrap()
        .into_iter()
        .map(|a| (a.detection_id, a.actor, a.event_ids))
        .collect()
}

#[tokio::test]
async fn planted_attacks_are_detected_exactly_over_several_seeds() {
    for seed in [1, 2, 3] {
        let emu = emulator(ServeOptions {
            seed,
            ..ServeOptions::default()
        })
        .await;
        let dir = tempfile::tempdir().unwrap();
        let path = export_stream(&emu, dir.path());
        let mut store = Store::open(dir.path().join("s.db")).unwrap();
        let out = ingest_file(&mut store, &path);
        assert_eq!(out.malformed, 0, "{:?}", out.malformed_records);
        assert!(out.duplicates > 0, "the stream repeats records");
        let mut engine = Engine::resume(config_of(&emu), &store).unwrap();
        engine.run(&mut store).unwrap();
        assert_same(&found(&store), &planted(&emu), &format!("seed {seed}"));
        emu.shutdown().await.unwrap();
    }
}

#[tokio::test]
async fn graph_audit_query_backfills_the_whole_stream_and_detects_every_planted_attack() {
    let emu = emulator(ServeOptions {
        seed: 4,
        ..ServeOptions::default()
    })
    .await;
    let (_, t) = client(&emu);
    let base = url::Url::parse(&emu.ready().url).unwrap();
    let endpoints = Endpoints::all_at(&base);
    let mut store = Store::open_in_memory().unwrap();
    let now = Utc::now();
    let opts = ppgov_audit::graph::GraphOptions {
        poll_interval: std::time::Duration::from_millis(1),
        ..Default::default()
    };
    let out = ppgov_audit::graph::ingest(
        &t,
        &endpoints.graph,
        &endpoints.scopes.graph,
        &mut store,
        now - Duration::days(15),
        now + Duration::minutes(1),
        &opts,
    )
    .await
    .unwrap();
    assert_eq!(out.polls, 2, "polled until the query succeeded");
    assert!(out.pages > 1, "records were paged");
    assert_eq!(out.ingest.duplicates, 0, "a query returns each record once");
    assert_eq!(out.ingest.malformed, 0);
    let mut engine = Engine::resume(config_of(&emu), &store).unwrap();
    engine.run(&mut store).unwrap();
    assert_same(&found(&store), &planted(&emu), "after all runs");
    emu.shutdown().await.unwrap();
}

#[tokio::test]
async fn detection_state_spans_runs_and_never_counts_twice() {
    let emu = emulator(ServeOptions {
        seed: 5,
        ..ServeOptions::default()
    })
    .await;
    let dir = tempfile::tempdir().unwrap();
    let cfg = config_of(&emu);
    // The stream in time order, cut in two halves ingested and detected in separate runs
    // (a fresh engine each time, resumed from the store).
    let mut recs: Vec<(String, String)> = emu
        .tenant()
        .audit
        .iter()
        .map(|a| {
            let v = a.record.value();
            (
                v["CreationTime"].as_str().unwrap().to_string(),
                a.record.text().to_string(),
            )
        })
        .collect();
    recs.sort();
    let mid = recs.len() / 2;
    let mut store = Store::open(dir.path().join("s.db")).unwrap();
    for part in [&recs[..mid], &recs[mid..]] {
        let p = dir.path().join("part.jsonl");
        let mut f = std::fs::File::create(&p).unwrap();
        for (_, r) in part {
            writeln!(f, "{r}").unwrap();
        }
        drop(f);
        ingest_file(&mut store, &p);
        let mut engine = Engine::resume(cfg.clone(), &store).unwrap();
        engine.run(&mut store).unwrap();
        // A second run over nothing new changes nothing.
        let before = found(&store);
        let mut again = Engine::resume(cfg.clone(), &store).unwrap();
        assert!(again.run(&mut store).unwrap().is_empty());
        assert_same(&found(&store), &before, "rerun");
    }
    assert_same(&found(&store), &planted(&emu), "after all runs");
    emu.shutdown().await.unwrap();
}

fn expected_in_api_window(emu: &Emulator, now: DateTime<Utc>) -> BTreeSet<String> {
    let start = now - Duration::days(7) + Duration::minutes(5);
    emu.tenant()
        .audit
        .iter()
        .filter(|a| {
            let ts = a.available.timestamp();
            let created = ts - ts.rem_euclid(900) + 900;
            created >= start.timestamp() && created < now.timestamp()
        })
        .map(|a| a.record.value()["Id"].as_str().unwrap().to_string())
        .collect()
}

fn stored_ids(store: &Store) -> Vec<String> {
    store
        .search(&EventFilter::default())
        .unwrap()
        .into_iter()
        .map(|e| e.id)
        .collect()
}

#[tokio::test]
async fn management_ingest_killed_midway_then_rerun_stores_every_event_once() {
    let now = Utc::now();
    // A rate limit makes the API answer 403 AF429; the transport backs off and retries.
    let emu = emulator(ServeOptions {
        now: Some(now),
        rate_limit: Some(40.0),
        ..ServeOptions::default()
    })
    .await;
    let (m, t) = client(&emu);
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("s.db");
    let expected = expected_in_api_window(&emu, now);
    // First run: stopped after 25 blobs (as if killed); the cursor stays before the window.
    {
        let mut store = Store::open(&db).unwrap();
        let opts = ManagementOptions {
            max_blobs: Some(25),
            concurrency: 4,
            ..ManagementOptions::default()
        };
        let out = management::ingest(&m, &mut store, &opts, now)
            .await
            .unwrap();
        assert!(out.started_subscription);
        assert!(out.stopped_early);
        assert_eq!(out.blobs, 25);
        assert_eq!(
            out.windows, 0,
            "no window finished, so the cursor did not move"
        );
        assert!(out.cursor.is_none());
        assert!(stored_ids(&store).len() < expected.len());
    }
    // Rerun from a fresh process state: everything, each event once.
    let mut store = Store::open(&db).unwrap();
    let out = management::ingest(&m, &mut store, &ManagementOptions::default(), now)
        .await
        .unwrap();
    assert!(!out.started_subscription, "already enabled");
    assert_eq!(out.windows, 7, "7 days in windows of at most 24 hours");
    assert!(out.blobs > 7 * 32, "listings were paged (NextPageUri)");
    assert!(
        out.ingest.duplicates > 0,
        "duplicates across blobs and the re-read window"
    );
    let ids = stored_ids(&store);
    let unique: BTreeSet<String> = ids.iter().cloned().collect();
    assert_eq!(ids.len(), unique.len(), "no event twice");
    assert_eq!(unique, expected, "every event of the API's 7 days");
    assert!(
        t.counters().throttled > 0,
        "AF429 answers were backed off and retried"
    );
    // A third run has nothing new and does not move the cursor back.
    let again = management::ingest(&m, &mut store, &ManagementOptions::default(), now)
        .await
        .unwrap();
    assert_eq!(again.ingest.stored, 0);
    assert_eq!(stored_ids(&store).len(), expected.len());
    assert!(store.verify().unwrap().problems.is_empty());
    emu.shutdown().await.unwrap();
}

#[test]
fn purview_csv_with_quoting_newlines_and_non_ascii_names() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("export.csv");
    let rec1 = r#"{"Id":"c1","RecordType":30,"CreationTime":"2026-03-02T09:00:00","Operation":"CreateFlow","UserId":"zoë.müller@contoso.com","FlowConnectorNames":"SharePoint, Office 365 Outlook","FlowDetailsUrl":"https://make.powerautomate.com/environments/Default-t/flows/f1/details"}"#;
    // Pretty-printed AuditData: the CSV cell spans several lines.
    let rec2 = "{\"Id\":\"c2\",\n  \"RecordType\":256,\n  \"CreationTime\":\"2026-03-02T09:05:00\",\"Operation\":\"LaunchPowerApp\",\"UserId\":\"李@contoso.com\",\n  \"PropertyCollection\":[{\"Name\":\"powerplatform.analytics.resource.power_app.display_name\",\"Value\":\"Réunion, \\\"quoted\\\" \\n app\"}]}";
    let q = |s: &str| format!("\"{}\"", s.replace('"', "\"\""));
    let mut text = String::from("\u{feff}CreationDate,UserIds,Operations,AuditData,ResultIndex\n");
    text += &format!(
        "2026-03-02T09:00:00,{},CreateFlow,{},1\n",
        q("zoë.müller@contoso.com"),
        q(rec1)
    );
    text += &format!(
        "2026-03-02T09:05:00,{},LaunchPowerApp,{},2\n",
        q("李@contoso.com"),
        q(rec2)
    );
    text += "2026-03-02T09:06:00,x@contoso.com,Broken,\"{not json\",3\n";
    text += &format!(
        "2026-03-02T09:07:00,x@contoso.com,NoId,{},4\n",
        q(r#"{"RecordType":30}"#)
    );
    std::fs::write(&p, text).unwrap();
    let mut store = Store::open_in_memory().unwrap();
    let out = ingest_file(&mut store, &p);
    assert_eq!((out.read, out.stored, out.malformed), (4, 2, 2));
    let pos: Vec<&str> = out
        .malformed_records
        .iter()
        .map(|m| m.position.as_str())
        .collect();
    assert!(pos[0].ends_with("(row 3)"), "{pos:?}");
    assert!(out.malformed_records[0].reason.starts_with("bad JSON"));
    assert_eq!(out.malformed_records[1].reason, "missing field `Id`");
    let ev = store.search(&EventFilter::default()).unwrap();
    assert_eq!(ev[0].actor, "zoë.müller@contoso.com");
    assert_eq!(ev[0].raw, rec1);
    assert_eq!(ev[1].actor, "李@contoso.com");
    assert_eq!(ev[1].raw, rec2);
    assert!(ev[1].raw.contains("\n  \"RecordType\""));
}

#[test]
fn json_lines_and_arrays_count_bad_records_and_keep_good_ones() {
    let dir = tempfile::tempdir().unwrap();
    let good = |i: usize| {
        format!(
            r#"{{"Id":"g{i}","RecordType":30,"CreationTime":"2026-03-02T09:00:0{i}","Operation":"EditFlow","UserId":"a@c.com"}}"#
        )
    };
    let lines = [
        good(1),
        "{bad".into(),
        r#"{"Id":"w","RecordType":[1],"CreationTime":"2026-03-02T09:00:00","Operation":"x"}"#
            .into(),
        good(2),
        format!(
            r#"{{"Id":"h","RecordType":30,"CreationTime":"2026-03-02T09:00:00","Operation":"{}"}}"#,
            "x".repeat(1 << 20)
        ),
        good(3),
        good(1),
    ];
    let p = dir.path().join("a.jsonl");
    std::fs::write(&p, lines.join("\n")).unwrap();
    let mut store = Store::open_in_memory().unwrap();
    let out = ingest_file(&mut store, &p);
    assert_eq!((out.stored, out.malformed, out.duplicates), (3, 3, 1));
    let pos: Vec<&str> = out
        .malformed_records
        .iter()
        .map(|m| m.position.as_str())
        .collect();
    assert_eq!(
        pos,
        [
            format!("{}:2", p.display()),
            format!("{}:3", p.display()),
            format!("{}:5", p.display())
        ]
    );
    assert!(out.malformed_records[2].reason.contains("byte limit"));
    // The same records as a JSON array; a Graph page of auditLogRecords too.
    let arr = dir.path().join("b.json");
    std::fs::write(&arr, format!("[{},{},42]", good(4), good(5))).unwrap();
    let out = ingest_file(&mut store, &arr);
    assert_eq!((out.stored, out.malformed), (2, 1));
    assert!(out.malformed_records[0].position.ends_with("[2]"));
    let page = dir.path().join("c.json");
    std::fs::write(
        &page,
        format!(r#"{{"value":[{{"id":"g6","auditData":{}}}]}}"#, good(6)),
    )
    .unwrap();
    assert_eq!(ingest_file(&mut store, &page).stored, 1);
}

fn small_store() -> (tempfile::TempDir, std::path::PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("s.db");
    let mut store = Store::open(&db).unwrap();
    let mut ing = Ingestor::new(&mut store);
    for (i, month) in ["2026-01", "2026-02", "2026-03"].iter().enumerate() {
        for k in 0..5 {
            let r = format!(
                r#"{{"Id":"e{i}{k}","RecordType":30,"CreationTime":"{month}-1{k}T10:00:00","Operation":"EditFlow","UserId":"a@c.com"}}"#
            );
            ing.push(format!("#{i}{k}"), Ok(r)).unwrap();
        }
        ing.flush().unwrap();
    }
    ing.finish().unwrap();
    (dir, db)
}

fn tamper(db: &std::path::Path, sql: &str) -> Vec<String> {
    let c = rusqlite::Connection::open(db).unwrap();
    c.execute_batch(sql).unwrap();
    drop(c);
    let store = Store::open(db).unwrap();
    store
        .verify()
        .unwrap()
        .problems
        .into_iter()
        .map(|p| p.message)
        .collect()
}

#[test]
fn verify_detects_modified_deleted_inserted_and_reordered_events() {
    let (_d, db) = small_store();
    assert!(
        Store::open(&db)
            .unwrap()
            .verify()
            .unwrap()
            .problems
            .is_empty()
    );
    let modified = tamper(
        &db,
        "UPDATE audit_events_202602 SET actor = 'x@c.com' WHERE id = 'e12'",
    );
    assert!(
        modified.iter().any(|m| m.contains("modified")),
        "{modified:?}"
    );

    let (_d, db) = small_store();
    let deleted = tamper(&db, "DELETE FROM audit_events_202601 WHERE id = 'e03'");
    assert!(deleted.iter().any(|m| m.contains("deleted")), "{deleted:?}");

    let (_d, db) = small_store();
    let inserted = tamper(
        &db,
        "INSERT INTO audit_events_202603 SELECT seq + 100, 'new', time_ms, record_type, operation, workload, actor, environment_id, resource_kind, resource_id, client_ip, risk, attrs, raw, batch FROM audit_events_202603 WHERE id = 'e20'",
    );
    assert!(
        inserted.iter().any(|m| m.contains("inserted")),
        "{inserted:?}"
    );

    let (_d, db) = small_store();
    let reordered = tamper(
        &db,
        "UPDATE audit_events_202601 SET seq = -seq WHERE id IN ('e00', 'e01'); UPDATE audit_events_202601 SET seq = CASE id WHEN 'e00' THEN -seq + 1 ELSE -seq - 1 END WHERE id IN ('e00', 'e01')",
    );
    assert!(
        reordered.iter().any(|m| m.contains("reordered")),
        "{reordered:?}"
    );

    let (_d, db) = small_store();
    let batch_gone = tamper(
        &db,
        "DELETE FROM audit_batch_parts WHERE batch = 2; DELETE FROM audit_batches WHERE seq = 2; DROP TABLE audit_events_202602",
    );
    assert!(!batch_gone.is_empty());
}

#[test]
fn prune_drops_whole_months_and_shows_in_the_chain() {
    let (_d, db) = small_store();
    let mut store = Store::open(&db).unwrap();
    let before = chrono::NaiveDate::from_ymd_opt(2026, 3, 1)
        .unwrap()
        .and_hms_opt(0, 0, 0)
        .unwrap()
        .and_utc();
    let p = store.prune_before(before.timestamp_millis()).unwrap();
    assert_eq!(p.months, ["202601", "202602"]);
    assert_eq!(p.events, 10);
    let v = store.verify().unwrap();
    assert!(v.problems.is_empty(), "{:?}", v.problems);
    assert_eq!(
        v.prunes,
        vec![(p.batch, vec!["202601".to_string(), "202602".to_string()])]
    );
    assert_eq!(stored_ids(&store).len(), 5);
    // Dropping a month without a prune record is caught.
    drop(store);
    let msgs = tamper(
        &db,
        "DROP TABLE audit_events_202603; UPDATE audit_months SET pruned = 1 WHERE month = '202603'",
    );
    assert!(msgs.iter().any(|m| m.contains("no prune")), "{msgs:?}");
    // Old events re-ingested after a prune are not stored again.
    let mut store = Store::open(&db).unwrap();
    let mut ing = Ingestor::new(&mut store);
    ing.push("x".into(), Ok(r#"{"Id":"e00","RecordType":30,"CreationTime":"2026-01-10T10:00:00","Operation":"EditFlow"}"#.into())).unwrap();
    assert_eq!(ing.finish().unwrap().stored, 0);
    let stats = store.event_stats().unwrap();
    assert!(stats.bytes > 0);
}
