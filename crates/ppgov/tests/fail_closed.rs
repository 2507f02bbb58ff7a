//! A scan that could not judge every rule never passes a gate: against a tenant that answers 403
//! to everything but the environment list, `scan --fail-on` exits 2, names the rules in error on
//! stderr and marks them in every format; `--allow-incomplete` gates on the findings alone.
//! Also: one configuration discovery path (evidence honours ./ppgov.toml like scan), and flags
//! beat the environment, which beats the file.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::BTreeSet;
use std::io::Read;
use std::path::Path;
use std::process::Output;

mod common;
use common::{config, emulator, err, out, run};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_scan_that_could_not_read_the_tenant_fails_the_gate_in_every_format() {
    let emu = emulator(21).await;
    emu.forbid_all_but_environment_list(true);
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    config(d, &emu);
    let crawl = run(d, &["--quiet", "crawl"], &[]).await;
    assert!(
        crawl.status.success(),
        "a crawl records 403s and goes on: {}",
        err(&crawl)
    );

    let json = run(d, &["scan", "--fail-on", "high", "--format", "json"], &[]).await;
    assert_eq!(
        json.status.code(),
        Some(2),
        "an incomplete scan exits 2 under --fail-on: {}",
        err(&json)
    );
    let v: serde_json::Value = serde_json::from_slice(&json.stdout).unwrap();
    let listed: BTreeSet<String> = v["summary"]["errored_rules"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r.as_str().unwrap().to_string())
        .collect();
    let in_results: BTreeSet<String> = v["rules"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["status"] == "error")
        .map(|r| r["rule_id"].as_str().unwrap().to_string())
        .collect();
    assert!(
        !listed.is_empty(),
        "rules that read apps, flows, settings are in error"
    );
    assert_eq!(
        listed, in_results,
        "the summary lists exactly the rules in error"
    );
    assert_eq!(v["summary"]["rules_errored"], listed.len());
    let stderr = err(&json);
    assert!(stderr.contains("incomplete scan"), "{stderr}");
    for r in v["rules"].as_array().unwrap() {
        if r["status"] == "error" {
            let id = r["rule_id"].as_str().unwrap();
            let why = r["detail"].as_str().unwrap();
            assert!(!why.is_empty(), "{id} says why");
            assert!(
                stderr.contains(&format!("{id}: {why}")),
                "stderr names {id} and why:\n{stderr}"
            );
        }
    }
    assert!(stderr.contains("--allow-incomplete"), "{stderr}");

    // The explicit opt-out gates on the findings alone.
    let allowed = run(
        d,
        &[
            "scan",
            "--fail-on",
            "high",
            "--allow-incomplete",
            "--format",
            "json",
        ],
        &[],
    )
    .await;
    let a: serde_json::Value = serde_json::from_slice(&allowed.stdout).unwrap();
    let high = a["summary"]["by_severity"]["critical"].as_u64().unwrap()
        + a["summary"]["by_severity"]["high"].as_u64().unwrap();
    assert_eq!(
        allowed.status.code(),
        Some(if high > 0 { 1 } else { 0 }),
        "--allow-incomplete: {}",
        err(&allowed)
    );
    assert!(err(&allowed).contains("incomplete scan"), "still said");
    // Without a gate there is nothing to fail, but the warning stands.
    let nogate = run(d, &["scan", "--format", "json"], &[]).await;
    assert_eq!(nogate.status.code(), Some(0));
    assert!(err(&nogate).contains("warning: incomplete scan"));

    let first = listed.iter().next().unwrap().clone();
    // SARIF: one tool execution notification per rule in error, execution not successful.
    let sarif = run(d, &["scan", "--format", "sarif"], &[]).await;
    let s: serde_json::Value = serde_json::from_slice(&sarif.stdout).unwrap();
    let inv = &s["runs"][0]["invocations"][0];
    assert_eq!(inv["executionSuccessful"], false);
    let notified: BTreeSet<String> = inv["toolExecutionNotifications"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["descriptor"]["id"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(notified, listed);
    // HTML, Markdown, table: a visible mark and every rule in error.
    for (format, mark) in [
        ("html", "Incomplete scan"),
        ("md", "**Incomplete scan:**"),
        ("table", "INCOMPLETE:"),
    ] {
        let o = run(d, &["scan", "--format", format], &[]).await;
        let text = out(&o);
        assert!(text.contains(mark), "{format} marks the scan incomplete");
        for id in &listed {
            assert!(text.contains(id.as_str()), "{format} names {id}");
        }
    }
    let table = out(&run(d, &["scan"], &[]).await);
    assert!(table.contains(&format!("error: {first} could not be evaluated")));
    emu.shutdown().await.unwrap();
}

fn zip_entry(path: &Path, name: &str) -> String {
    let mut z = zip::ZipArchive::new(std::fs::File::open(path).unwrap()).unwrap();
    let mut f = z.by_name(name).unwrap();
    let mut s = String::new();
    f.read_to_string(&mut s).unwrap();
    s
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn evidence_honours_the_discovered_ppgov_toml_exactly_as_scan() {
    let emu = emulator(22).await;
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    config(d, &emu);
    assert!(run(d, &["--quiet", "crawl"], &[]).await.status.success());
    let snap = d.join("snap.json");
    let o = run(d, &["snapshot", "export", snap.to_str().unwrap()], &[]).await;
    assert!(o.status.success(), "{}", err(&o));
    emu.shutdown().await.unwrap();

    // Offline, elsewhere: a ppgov.toml with nothing but a suppression, found in the working
    // directory by both commands.
    let offline = tempfile::tempdir().unwrap();
    let before = run(
        offline.path(),
        &[
            "scan",
            "--snapshot",
            snap.to_str().unwrap(),
            "--format",
            "json",
        ],
        &[],
    )
    .await;
    let v: serde_json::Value = serde_json::from_slice(&before.stdout).unwrap();
    let f = &v["findings"][0];
    let (rule, resource) = (
        f["rule_id"].as_str().unwrap().to_string(),
        f["resource"]["id"].as_str().unwrap().to_string(),
    );
    std::fs::write(
        offline.path().join("ppgov.toml"),
        format!(
            "[[posture.suppressions]]\nrule_id = \"{rule}\"\nresource = \"{}\"\njustification = \"accepted by the CISO\"\n",
            resource.replace('\\', "\\\\").replace('"', "\\\"")
        ),
    )
    .unwrap();
    let scan = run(
        offline.path(),
        &[
            "scan",
            "--snapshot",
            snap.to_str().unwrap(),
            "--format",
            "json",
        ],
        &[],
    )
    .await;
    assert!(scan.status.success(), "{}", err(&scan));
    let scanned: serde_json::Value = serde_json::from_slice(&scan.stdout).unwrap();
    let suppressed = scanned["summary"]["suppressed"].as_u64().unwrap();
    assert!(suppressed >= 1, "scan applies the suppression");
    let zip = offline.path().join("e.zip");
    let ev = run(
        offline.path(),
        &[
            "evidence",
            "--snapshot",
            snap.to_str().unwrap(),
            "--out",
            zip.to_str().unwrap(),
        ],
        &[],
    )
    .await;
    assert!(ev.status.success(), "{}", err(&ev));
    let findings: serde_json::Value =
        serde_json::from_str(&zip_entry(&zip, "findings/findings.json")).unwrap();
    assert_eq!(
        findings["summary"], scanned["summary"],
        "evidence judges with the same posture as scan"
    );
}

#[tokio::test(flavor = "current_thread")]
async fn flags_beat_environment_beats_file() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::fs::write(
        d.join("ppgov.toml"),
        "[tenant]\nid = \"file.onmicrosoft.com\"\n\n[auth]\nmethod = \"client_secret\"\nclient_id = \"11111111-2222-3333-4444-555555555555\"\nclient_secret = \"x\"\n",
    )
    .unwrap();
    let tenant = |o: &Output| {
        out(o)
            .lines()
            .find(|l| l.trim_start().starts_with("tenant:"))
            .unwrap_or_default()
            .trim()
            .to_string()
    };
    let file = run(d, &["config", "validate"], &[]).await;
    assert!(file.status.success(), "{}", err(&file));
    assert_eq!(tenant(&file), "tenant:    file.onmicrosoft.com");
    let env = [("AZURE_TENANT_ID", "env.onmicrosoft.com")];
    let from_env = run(d, &["config", "validate"], &env).await;
    assert_eq!(tenant(&from_env), "tenant:    env.onmicrosoft.com");
    let flag = run(
        d,
        &["config", "validate", "--tenant", "flag.onmicrosoft.com"],
        &env,
    )
    .await;
    assert_eq!(tenant(&flag), "tenant:    flag.onmicrosoft.com");
    let set = run(
        d,
        &[
            "--set",
            "tenant.id=set.onmicrosoft.com",
            "config",
            "validate",
        ],
        &env,
    )
    .await;
    assert_eq!(tenant(&set), "tenant:    set.onmicrosoft.com");
    let bad = run(d, &["--set", "tenant.idd=x", "config", "validate"], &[]).await;
    assert_eq!(bad.status.code(), Some(2));
    assert!(
        err(&bad).contains("tenant.id"),
        "suggests the key: {}",
        err(&bad)
    );
}
