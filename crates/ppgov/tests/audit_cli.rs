//! `ppgov audit ...` end to end: the binary ingests the emulator's Management Activity API with
//! the configured sign-in, detects on arrival, and verifies, searches, exports and reports.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use ppgov_emulator::server::{Emulator, ServeOptions};
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn bin() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_ppgov"))
}

fn config(dir: &Path, emu: &Emulator) -> PathBuf {
    let r = emu.ready();
    let u = &r.url;
    let text = format!(
        "[tenant]\nid = \"{}\"\n\n[auth]\nmethod = \"client_secret\"\nclient_id = \"{}\"\nclient_secret = \"{}\"\n\n[endpoints]\nlogin = \"{u}\"\nbap = \"{u}\"\npowerapps = \"{u}\"\nflow = \"{u}\"\npowerplatform = \"{u}\"\ngraph = \"{u}\"\nmanagement = \"{u}\"\n\n[store]\npath = \"{}\"\n",
        r.tenant_id,
        r.client_id,
        r.client_secret,
        dir.join("store.db").display()
    );
    let path = dir.join("ppgov.toml");
    std::fs::write(&path, text).unwrap();
    path
}

async fn ppgov(cfg: &Path, args: &[&str]) -> Output {
    let cfg = cfg.to_path_buf();
    let args: Vec<String> = args.iter().map(|s| s.to_string()).collect();
    tokio::task::spawn_blocking(move || {
        Command::new(bin())
            .arg("--config")
            .arg(&cfg)
            .args(&args)
            .output()
            .unwrap()
    })
    .await
    .unwrap()
}

fn ok(o: &Output) -> String {
    assert!(
        o.status.success(),
        "stdout: {}\nstderr: {}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
    String::from_utf8_lossy(&o.stdout).into_owned()
}

#[tokio::test]
async fn audit_commands_against_the_management_api() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let emu = Emulator::start(listener, ServeOptions::default())
        .await
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let cfg = config(dir.path(), &emu);
    let det = dir.path().join("detections.json");
    std::fs::write(&det, emu.ground_truth().detection_config.to_string()).unwrap();
    let det = det.to_str().unwrap();

    let out = ppgov(&cfg, &["audit", "ingest", "--detect", "--detections", det]).await;
    ok(&out);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("windows 7"), "{err}");

    // Every alert from the API's 7 days is (part of) a planted attack: no false alert.
    let alerts: Value =
        serde_json::from_str(&ok(
            &ppgov(&cfg, &["audit", "alerts", "--format", "json"]).await
        ))
        .unwrap();
    let alerts = alerts["alerts"].as_array().unwrap();
    assert!(alerts.len() >= 10, "{alerts:?}");
    for a in alerts {
        let ids: Vec<&str> = a["event_ids"]
            .as_array()
            .unwrap()
            .iter()
            .map(|i| i.as_str().unwrap())
            .collect();
        let planted = emu.ground_truth().detections.iter().any(|d| {
            d.detection_id == a["detection_id"]
                && d.actor.eq_ignore_ascii_case(a["actor"].as_str().unwrap())
                && ids.iter().all(|i| d.event_ids.iter().any(|p| p == i))
        });
        assert!(planted, "false alert {a}");
    }
    // A second detect run finds nothing new.
    let again = ppgov(
        &cfg,
        &["audit", "detect", "--detections", det, "--format", "json"],
    )
    .await;
    let again: Value = serde_json::from_str(&ok(&again)).unwrap();
    assert_eq!(again["alerts"].as_array().unwrap().len(), 0);

    assert!(ok(&ppgov(&cfg, &["audit", "verify"]).await).contains("batches"));
    let cef = ok(&ppgov(
        &cfg,
        &[
            "audit",
            "export",
            "--format",
            "cef",
            "--operation",
            "DeleteFlow",
            "--limit",
            "3",
        ],
    )
    .await);
    assert_eq!(cef.lines().count(), 3);
    assert!(
        cef.lines()
            .all(|l| l.starts_with("CEF:0|ppgov|ppgov|") && l.contains("act=DeleteFlow"))
    );
    // The same lines over syslog (TCP, octet-counted frames of RFC 5424 messages).
    let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = l.local_addr().unwrap().port();
    let server = tokio::spawn(async move {
        use tokio::io::AsyncReadExt;
        let (mut s, _) = l.accept().await.unwrap();
        let mut b = Vec::new();
        s.read_to_end(&mut b).await.unwrap();
        String::from_utf8(b).unwrap()
    });
    let url = format!("tcp://127.0.0.1:{port}");
    ok(&ppgov(
        &cfg,
        &[
            "audit",
            "export",
            "--format",
            "cef",
            "--operation",
            "DeleteFlow",
            "--limit",
            "3",
            "--syslog",
            &url,
        ],
    )
    .await);
    let got = server.await.unwrap();
    assert_eq!(
        got.matches(" ppgov - CEF - CEF:0|ppgov|ppgov|").count(),
        3,
        "{got}"
    );
    for line in cef.lines() {
        assert!(got.contains(line), "every exported line is sent: {line}");
    }
    let md = ok(&ppgov(
        &cfg,
        &["audit", "report", "--since", "8d", "--format", "md"],
    )
    .await);
    assert!(
        md.contains("## Activity by risk level") && md.contains("PPG-DET-001"),
        "{md}"
    );

    // A file with one bad line: counted with its position, the good ones stored.
    let f = dir.path().join("more.jsonl");
    std::fs::write(&f, "{\"Id\":\"extra-1\",\"RecordType\":30,\"CreationTime\":\"2026-01-05T10:00:00\",\"Operation\":\"EditFlow\",\"UserId\":\"a@b.com\"}\nnot json\n").unwrap();
    let out = ppgov(&cfg, &["audit", "ingest", f.to_str().unwrap()]).await;
    ok(&out);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("stored 1") && err.contains("malformed 1") && err.contains("more.jsonl:2"),
        "{err}"
    );
    let found = ok(&ppgov(
        &cfg,
        &["audit", "search", "--user", "A@B.com", "--format", "json"],
    )
    .await);
    assert_eq!(found.lines().count(), 1);
    emu.shutdown().await.unwrap();
}
