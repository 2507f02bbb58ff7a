//! `ppgov audit ingest` killed with SIGKILL in the middle of the Management Activity API stream
//! and run again: the store holds every event the API offers exactly once. The emulator holds
//! blob requests after a number of them, so the kill lands mid-way at a known point without
//! timing anything.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;
use common::*;

use chrono::{DateTime, Duration, Utc};
use ppgov_emulator::server::gate::Gated;
use ppgov_emulator::server::{Emulator, ServeOptions};
use ppgov_store::{EventFilter, EventStore, Store};
use std::collections::BTreeSet;
use std::process::Stdio;

/// Event ids in blobs the API serves to an ingest that starts at `started` (it reads back to
/// `started - 7 days + 5 minutes`), with the emulator's clock frozen at `frozen`.
fn offered(emu: &Emulator, started: DateTime<Utc>, frozen: DateTime<Utc>) -> BTreeSet<String> {
    let oldest = started - Duration::days(7) + Duration::minutes(5);
    emu.tenant()
        .audit
        .iter()
        .filter(|a| {
            let ts = a.available.timestamp();
            let created = ts - ts.rem_euclid(900) + 900;
            created >= oldest.timestamp() && created < frozen.timestamp()
        })
        .map(|a| a.record.value()["Id"].as_str().unwrap().to_string())
        .collect()
}

fn stored(path: &std::path::Path) -> Vec<String> {
    Store::open(path)
        .unwrap()
        .search(&EventFilter::default())
        .unwrap()
        .into_iter()
        .map(|e| e.id)
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_ingest_killed_mid_way_and_rerun_stores_every_event_once() {
    let frozen = Utc::now();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let emu = Emulator::start(
        listener,
        ServeOptions {
            now: Some(frozen),
            ..ServeOptions::default()
        },
    )
    .await
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    config_with(d, &emu, "");
    let started = Utc::now();

    // The first ingest gets 40 blobs, then hangs on the next; it is killed there.
    emu.gate(Gated::AuditBlobs).hold_after(40);
    let mut child = std::process::Command::new(bin())
        .args(["audit", "ingest"])
        .current_dir(d)
        .env_remove("PPGOV_CONFIG")
        .env_remove("RUST_LOG")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    emu.gate(Gated::AuditBlobs).wait_held(1).await;
    child.kill().unwrap(); // SIGKILL
    let status = child.wait().unwrap();
    assert!(!status.success(), "killed, not finished");
    emu.gate(Gated::AuditBlobs).abort_held();
    let store = d.join("store");
    let partial = stored(&store);
    let unique: BTreeSet<&String> = partial.iter().collect();
    assert_eq!(unique.len(), partial.len(), "no event twice after the kill");

    // The rerun completes; every event the API offers is stored exactly once.
    let o = run(d, &["audit", "ingest"], &[]).await;
    assert!(o.status.success(), "{}", err(&o));
    let finished = Utc::now();
    let ids = stored(&store);
    let unique: BTreeSet<String> = ids.iter().cloned().collect();
    assert_eq!(unique.len(), ids.len(), "no event twice");
    // What every run had to read, and what the earliest could have read.
    let must = offered(&emu, finished, frozen);
    let may = offered(&emu, started, frozen);
    assert!(must.len() > 100, "a real stream");
    let missing: Vec<&String> = must.difference(&unique).collect();
    assert!(
        missing.is_empty(),
        "{} events lost: {missing:?}",
        missing.len()
    );
    assert!(unique.is_subset(&may), "nothing the API did not offer");
    assert!(partial.len() < must.len(), "the kill landed mid-way");
    assert!(
        Store::open(&store)
            .unwrap()
            .verify()
            .unwrap()
            .problems
            .is_empty()
    );
}
