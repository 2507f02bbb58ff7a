//! Audit search and the evidence package against the emulator, people signed in through the
//! emulated Entra: the auditor's search answers exactly what the event store's own `search`
//! answers for the same filter, newest first; the downloads are `write_events` of that result;
//! a bad filter gets a 400 naming the field; the evidence zip holds the files `ppgov evidence`
//! writes for the latest complete snapshot, with the engine's findings; makers and viewers are
//! refused both.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::*;
use ppgov_audit::export::{ExportFormat, write_events};
use ppgov_audit::management::{self, ManagementOptions};
use ppgov_core::ScanReport;
use ppgov_engine::ScanOptions;
use ppgov_serve::Clock;
use ppgov_store::{EventFilter, EventRow, Records, Store};
use reqwest::StatusCode;
use std::collections::BTreeMap;
use std::io::Read;

/// The `href` of the element with `id="..."`.
fn href(html: &str, id: &str) -> String {
    attrs(section(html, &format!("id=\"{id}\""), ">"), "href")
        .into_iter()
        .next()
        .unwrap_or_else(|| panic!("#{id} has no href"))
}

/// Reads the emulator's audit stream into the tenant's event store, as the audit job does
/// (a no-op for what the start's audit job already stored).
async fn ingest(run: &Running) {
    let tenant = ppgov_serve::Tenant::new(run.config.clone(), &|_| None);
    let conn = tenant.connection().unwrap();
    let client = conn.clients.management(tenant.id(), None).unwrap();
    let mut store = tenant.events().unwrap();
    management::ingest(
        &client,
        store.as_mut(),
        &ManagementOptions::default(),
        chrono::Utc::now(),
    )
    .await
    .unwrap();
}

fn events(run: &Running, filter: &EventFilter) -> Vec<EventRow> {
    ppgov_serve::open_events(&run.config)
        .unwrap()
        .search(filter)
        .unwrap()
}

fn written(events: &[EventRow], format: ExportFormat) -> String {
    let mut out = Vec::new();
    write_events(&mut out, events, format).unwrap();
    String::from_utf8(out).unwrap()
}

/// A GET whose body is bytes (the browser's answers are text).
async fn bytes(b: &Browser, url: &str) -> (StatusCode, reqwest::header::HeaderMap, Vec<u8>) {
    let resp = b
        .http
        .get(url)
        .header("cookie", b.cookie_header())
        .send()
        .await
        .unwrap();
    let (status, headers) = (resp.status(), resp.headers().clone());
    (status, headers, resp.bytes().await.unwrap().to_vec())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_auditor_searches_exports_and_downloads_the_evidence_others_are_refused() {
    let emu = emulator().await;
    let dir = tempfile::tempdir().unwrap();
    let run = start(&emu, dir.path(), "session_minutes = 60").await;
    ran(&run.server, &["crawl", "audit"]).await;
    ingest(&run).await;
    let t = run.tenant.clone();

    // The operation most events have, so the search has something to find.
    let all = events(&run, &EventFilter::default());
    assert!(!all.is_empty(), "the emulator's audit stream was stored");
    let mut counts: BTreeMap<&str, usize> = BTreeMap::new();
    for e in &all {
        *counts.entry(e.operation.as_str()).or_default() += 1;
    }
    let (op, _) = counts.iter().max_by_key(|(_, n)| **n).unwrap();
    let op = op.to_string();
    let filter = EventFilter {
        operation: Some(op.clone()),
        ..EventFilter::default()
    };
    let want = events(&run, &filter);
    assert!(!want.is_empty());

    let mut auditor = run.signed_in("console.auditor").await;
    let home = auditor.get(&run.url(&format!("/t/{t}"))).await;
    assert!(home.body.contains("id=\"nav-audit\""), "{}", home.body);
    assert!(home.body.contains("id=\"nav-evidence\""), "{}", home.body);

    // The search by operation (in another case: the store compares case-insensitively).
    let q: String = url::form_urlencoded::byte_serialize(op.to_uppercase().as_bytes()).collect();
    let page = auditor
        .get(&run.url(&format!("/t/{t}/audit?operation={q}&since=&risk=")))
        .await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    let table = section(&page.body, "id=\"audit\"", "</table>");
    let shown = attrs(table, "data-id");
    let newest_first: Vec<String> = want.iter().rev().take(500).map(|e| e.id.clone()).collect();
    assert_eq!(shown, newest_first);
    let newest = &want[want.len() - 1];
    assert!(table.contains(&newest.operation), "{table}");
    assert_eq!(page.body.contains("id=\"total\""), want.len() > 500);
    // The count is the store's, of every match, not of the rows shown.
    assert!(
        page.body
            .contains(&format!("Download all {} as", want.len())),
        "{}",
        page.body
    );

    // The downloads: `write_events` of the same result, in the store's order.
    let url = run.url(&text(&href(&page.body, "export-ndjson")));
    let nd = auditor.get(&url).await;
    assert_eq!(nd.status, StatusCode::OK, "{}", nd.body);
    assert_eq!(nd.headers["content-type"], "application/x-ndjson");
    assert_eq!(nd.headers["cache-control"], "no-store");
    let disposition = nd.headers["content-disposition"].to_str().unwrap();
    assert!(
        disposition.starts_with(&format!("attachment; filename=\"ppgov-audit-{t}-")),
        "{disposition}"
    );
    assert_eq!(nd.body, written(&want, ExportFormat::Ndjson));
    let csv = auditor
        .get(&run.url(&text(&href(&page.body, "export-csv"))))
        .await;
    assert_eq!(csv.status, StatusCode::OK, "{}", csv.body);
    assert_eq!(csv.body, written(&want, ExportFormat::Csv));

    // Relative times and the other filters resolve as the CLI resolves them.
    let since = "7d";
    let one = newest;
    let narrow = EventFilter {
        since_ms: Some(ppgov_audit::parse_since(since, run.clock.now_ms()).unwrap()),
        actor: Some(one.actor.clone()).filter(|a| !a.is_empty()),
        operation: Some(op.clone()),
        risk: Some(one.risk.clone()),
        ..EventFilter::default()
    };
    let mut form = url::form_urlencoded::Serializer::new(String::new());
    form.append_pair("since", since)
        .append_pair("user", narrow.actor.as_deref().unwrap_or(""))
        .append_pair("operation", &op)
        .append_pair("risk", &one.risk);
    let page = auditor
        .get(&run.url(&format!("/t/{t}/audit?{}", form.finish())))
        .await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    let shown = attrs(section(&page.body, "id=\"audit\"", "</table>"), "data-id");
    let want_narrow: Vec<String> = events(&run, &narrow)
        .iter()
        .rev()
        .take(500)
        .map(|e| e.id.clone())
        .collect();
    assert_eq!(shown, want_narrow);
    assert!(
        want_narrow.contains(&one.id),
        "the newest event is in the last 7 days"
    );

    // Bad filters: a 400 saying which field and why, on the page and on the export.
    for (query, field) in [
        ("since=yesterday", "since"),
        ("since=99999999999999999999d", "since"),
        ("since=9999999999999w", "since"),
        ("until=not-a-time", "until"),
        ("risk=severe", "risk"),
    ] {
        let p = auditor
            .get(&run.url(&format!("/t/{t}/audit?{query}")))
            .await;
        assert_eq!(p.status, StatusCode::BAD_REQUEST, "{query}: {}", p.body);
        assert_eq!(
            attrs(section(&p.body, "id=\"filter-error\"", ">"), "data-field"),
            vec![field.to_string()],
            "{query}"
        );
        let p = auditor
            .get(&run.url(&format!("/t/{t}/audit/export?format=ndjson&{query}")))
            .await;
        assert_eq!(p.status, StatusCode::BAD_REQUEST, "{query}: {}", p.body);
        assert!(
            by_id(&p.body, "problem").starts_with(&format!("{field}:")),
            "{query}: {}",
            p.body
        );
    }
    let p = auditor
        .get(&run.url(&format!("/t/{t}/audit?since=yesterday")))
        .await;
    assert!(p.body.contains("neither a duration"), "{}", p.body);
    let p = auditor
        .get(&run.url(&format!("/t/{t}/audit/export?format=xml")))
        .await;
    assert_eq!(p.status, StatusCode::BAD_REQUEST);
    assert!(
        by_id(&p.body, "problem").starts_with("format:"),
        "{}",
        p.body
    );

    // The evidence package: the files `ppgov evidence` writes for the latest complete snapshot.
    let page = auditor.get(&run.url(&format!("/t/{t}/evidence"))).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    assert_eq!(
        href(&page.body, "download-evidence"),
        format!("/t/{t}/evidence.zip")
    );
    let (status, headers, zip) = bytes(&auditor, &run.url(&format!("/t/{t}/evidence.zip"))).await;
    assert_eq!(status, StatusCode::OK, "{}", String::from_utf8_lossy(&zip));
    assert_eq!(headers["content-type"], "application/zip");
    assert_eq!(headers["cache-control"], "no-store");
    let disposition = headers["content-disposition"].to_str().unwrap();
    let today = chrono::DateTime::from_timestamp_millis(run.clock.now_ms())
        .unwrap()
        .format("%Y-%m-%d");
    assert_eq!(
        disposition,
        format!("attachment; filename=\"ppgov-evidence-{t}-{today}.zip\"")
    );
    let store = Store::open(&run.store).unwrap();
    let info = store.latest_snapshot(&t, true).unwrap().unwrap();
    let snap = store.load_snapshot(&info.id).unwrap();
    // Judged as `ppgov evidence` judges: the `[posture]` and the console's suppressions.
    let stored = store.live_suppressions(&t).unwrap();
    let posture = ppgov_engine::with_stored_suppressions(
        &run.config.posture,
        stored.iter().map(ppgov_store::StoredSuppression::entry),
    );
    let report = ppgov_engine::scan(&snap, &posture, &ScanOptions::default());
    let items = ppgov_report::standard_evidence(&snap, &report).unwrap();
    let mut archive = zip::ZipArchive::new(std::io::Cursor::new(zip.clone())).unwrap();
    let mut names: Vec<String> = archive
        .file_names()
        .map(|n| n.unwrap().into_owned())
        .collect();
    names.sort();
    let mut want_names: Vec<String> = items.iter().map(|i| i.name.clone()).collect();
    want_names.extend(["manifest.json".to_string(), "MANIFEST.sha256".to_string()]);
    want_names.sort();
    assert_eq!(names, want_names);
    let mut findings = String::new();
    archive
        .by_name("findings/findings.json")
        .unwrap()
        .read_to_string(&mut findings)
        .unwrap();
    let got: ScanReport = ppgov_report::parse_json(&findings).unwrap();
    assert_eq!(got.snapshot_id, info.id.0);
    assert_eq!(
        serde_json::to_value(&got.findings).unwrap(),
        serde_json::to_value(&report.findings).unwrap()
    );
    assert_eq!(
        zip,
        ppgov_report::evidence_package(&items).unwrap(),
        "the same snapshot gives the same bytes as `ppgov evidence`"
    );

    // The maker and the viewer are refused the search, the export and the evidence.
    for local in ["console.maker", "console.viewer"] {
        let mut b = run.signed_in(local).await;
        let home = b.get(&run.url(&format!("/t/{t}/requests"))).await;
        assert!(!home.body.contains("id=\"nav-audit\""), "{local}");
        assert!(!home.body.contains("id=\"nav-evidence\""), "{local}");
        for path in [
            format!("/t/{t}/audit"),
            format!("/t/{t}/audit?operation={q}"),
            format!("/t/{t}/audit/export?format=ndjson"),
            format!("/t/{t}/evidence"),
            format!("/t/{t}/evidence.zip"),
        ] {
            let p = b.get(&run.url(&path)).await;
            assert_eq!(
                p.status,
                StatusCode::FORBIDDEN,
                "{local} {path}: {}",
                p.body
            );
            assert!(!p.body.contains(&newest.id), "{local} {path}");
        }
    }
    // The admin may both.
    let (mut admin, landed) = run
        .sign_in(&emu.ready().username, &emu.ready().password)
        .await;
    assert_eq!(landed.status, StatusCode::SEE_OTHER, "{}", landed.body);
    let p = admin
        .get(&run.url(&format!("/t/{t}/audit?operation={q}")))
        .await;
    assert_eq!(p.status, StatusCode::OK, "{}", p.body);
    assert_eq!(
        attrs(section(&p.body, "id=\"audit\"", "</table>"), "data-id"),
        newest_first
    );
    let (status, _, again) = bytes(&admin, &run.url(&format!("/t/{t}/evidence.zip"))).await;
    assert_eq!((status, again == zip), (StatusCode::OK, true));
    // Without a complete snapshot there is no package: the page and the download say to crawl.
    let mut store = Store::open(&run.store).unwrap();
    for s in store.list_snapshots(Some(&t)).unwrap() {
        store.delete_snapshot(&s.id).unwrap();
    }
    let page = auditor.get(&run.url(&format!("/t/{t}/evidence"))).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    assert!(
        by_id(&page.body, "no-snapshot").contains("run a crawl"),
        "{}",
        page.body
    );
    assert!(!page.body.contains("id=\"download-evidence\""));
    let p = auditor.get(&run.url(&format!("/t/{t}/evidence.zip"))).await;
    assert_eq!(p.status, StatusCode::NOT_FOUND, "{}", p.body);
    assert!(
        by_id(&p.body, "problem").contains("run a crawl"),
        "{}",
        p.body
    );
    // Not signed in: sign-in first.
    let mut anon = Browser::new();
    let p = anon.get(&run.url(&format!("/t/{t}/evidence.zip"))).await;
    assert_eq!(p.status, StatusCode::SEE_OTHER);
    run.server.shutdown().await;
}
