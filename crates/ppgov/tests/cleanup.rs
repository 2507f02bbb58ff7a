//! PPG-ACT-009 through the CLI: default-environment apps and flows made outside the
//! approved-makers group (PPG-DEF-006) are cleaned up only after their makers were told and the
//! grace period passed. The first apply sends the notices and writes nothing to the tenant; a
//! rerun tells nobody twice; `apply --due` acts once the period is over, and the next scan has
//! no PPG-DEF-006 finding left. Writes are counted at the emulator, notices at a local webhook.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;
use common::*;

#[allow(dead_code)]
#[path = "../../ppgov-notify/tests/it/receiver.rs"]
mod receiver;

use ppgov_emulator::server::Emulator;
use ppgov_emulator::tenant::Group;
use receiver::{HttpReceiver, Response};
use serde_json::Value;
use std::collections::BTreeSet;
use std::path::Path;

const APPROVED: &str = "6d0b1f38-5a53-4c55-9d51-0a6a7e0c2001";
const HOOK_VAR: &str = "PPGOV_TEST_CLEANUP_HOOK";

/// Approves the first maker of the default environment, so the others' resources are findings.
fn approve_one_maker(emu: &Emulator) {
    let first = {
        let t = emu.tenant();
        let env = t
            .environments
            .iter()
            .find(|e| e.name.starts_with("Default-"))
            .unwrap();
        let content = t.env_content(env.index);
        content.flows[0].doc["properties"]["creator"]["objectId"]
            .as_str()
            .unwrap()
            .to_ascii_lowercase()
    };
    emu.state().tenant_mut().directory.groups.push(Group {
        id: APPROVED.into(),
        display_name: "Approved makers".into(),
        security_enabled: true,
        members: vec![first],
    });
}

fn sections(mode: &str, grace_hours: i64, with_sink: bool) -> String {
    let mut s = format!(
        "\n[posture]\napproved_makers_group = \"{APPROVED}\"\n\n[remediation]\ndefault_env_cleanup = \"{mode}\"\ngrace_period_hours = {grace_hours}\n"
    );
    if with_sink {
        s.push_str(&format!(
            "\n[notify]\n\n[[notify.webhooks]]\nname = \"makers\"\nkind = \"generic\"\nurl_env = \"{HOOK_VAR}\"\n"
        ));
    }
    s
}

async fn def_006(dir: &Path) -> BTreeSet<String> {
    let o = run(
        dir,
        &["scan", "--format", "json", "--allow-incomplete"],
        &[],
    )
    .await;
    let v: Value = serde_json::from_slice(&o.stdout).unwrap_or_else(|e| panic!("{e}: {}", err(&o)));
    v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["rule_id"] == "PPG-DEF-006")
        .map(|f| f["resource"]["id"].as_str().unwrap().to_string())
        .collect()
}

fn tenant_writes(emu: &Emulator) -> u64 {
    emu.write_counts().values().sum()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn makers_are_told_first_and_the_cleanup_runs_only_when_due() {
    let emu = emulator(7).await;
    approve_one_maker(&emu);
    let hook = HttpReceiver::start(|_, _| Response::ok());
    let url = hook.url("/makers");
    let env = [(HOOK_VAR, url.as_str())];
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    config_with(d, &emu, &sections("quarantine", 0, true));
    let o = run(d, &["--quiet", "crawl"], &[]).await;
    assert!(o.status.success(), "{}", err(&o));
    let found = def_006(d).await;
    assert!(found.len() >= 2, "several unapproved resources: {found:?}");

    let o = run(
        d,
        &[
            "plan",
            "--from-scan",
            "--rule",
            "PPG-DEF-006",
            "--out",
            "plan.json",
        ],
        &[],
    )
    .await;
    assert!(o.status.success(), "{}", err(&o));
    let plan: Value = serde_json::from_slice(&std::fs::read(d.join("plan.json")).unwrap()).unwrap();
    let steps = plan["steps"].as_array().unwrap();
    let targets: BTreeSet<String> = steps
        .iter()
        .map(|s| s["target"]["id"].as_str().unwrap().to_string())
        .collect();
    // One step per finding whose maker can be told; the others are named as not planned.
    assert!(
        targets.is_subset(&found) && targets.len() >= 2,
        "{targets:?} of {found:?}"
    );
    for missed in found.difference(&targets) {
        assert!(
            err(&o).contains(missed.as_str()),
            "{missed} not planned, and said why: {}",
            err(&o)
        );
    }
    assert!(steps.iter().all(|s| {
        s["action"] == "PPG-ACT-009"
            && s["grace"]["recipients"]
                .as_array()
                .is_some_and(|r| !r.is_empty())
    }));
    let shown = run(d, &["plan", "show", "plan.json"], &[]).await;
    assert!(out(&shown).contains("tells "), "{}", out(&shown));

    // First apply: the makers are told, the tenant is not touched.
    let o = run(d, &["apply", "plan.json", "--yes", "--json"], &env).await;
    assert!(o.status.success(), "{}", err(&o));
    let report: Value = serde_json::from_slice(&o.stdout).unwrap();
    assert!(
        report["steps"]
            .as_array()
            .unwrap()
            .iter()
            .all(|s| s["outcome"] == "noticed"),
        "{report}"
    );
    assert_eq!(
        tenant_writes(&emu),
        0,
        "nothing changes before the grace period"
    );
    let told: BTreeSet<String> = hook
        .requests()
        .iter()
        .map(|r| r.json()["recipient"].as_str().unwrap().to_ascii_lowercase())
        .collect();
    let recipients: BTreeSet<String> = steps
        .iter()
        .flat_map(|s| s["grace"]["recipients"].as_array().unwrap().clone())
        .map(|r| r.as_str().unwrap().to_ascii_lowercase())
        .collect();
    assert_eq!(told, recipients, "every maker is told, one digest each");
    let sent = hook.requests().len();
    assert_eq!(sent, recipients.len());

    // A rerun of the same plan tells nobody twice.
    let o = run(d, &["apply", "plan.json", "--yes"], &env).await;
    assert!(o.status.success(), "{}", err(&o));
    assert_eq!(hook.requests().len(), sent);
    assert_eq!(tenant_writes(&emu), 0);

    // The grace period (0 h here) has passed: `apply --due` acts, once per target.
    let o = run(d, &["apply", "--due"], &env).await;
    assert!(o.status.success(), "{}{}", out(&o), err(&o));
    let writes = emu.write_counts();
    assert_eq!(
        writes.values().sum::<u64>(),
        targets.len() as u64,
        "one write per target: {writes:?}"
    );
    assert!(
        writes
            .keys()
            .all(|k| k.contains("setappquarantinestate") || k.ends_with("/stop")),
        "{writes:?}"
    );
    let o = run(d, &["apply", "--due"], &env).await;
    assert!(out(&o).contains("nothing due"), "{}", out(&o));
    assert_eq!(emu.write_counts(), writes, "nothing repeated");
    assert_eq!(hook.requests().len(), sent, "no notice repeated");

    let o = run(d, &["--quiet", "crawl"], &[]).await;
    assert!(o.status.success(), "{}", err(&o));
    let left = def_006(d).await;
    assert!(
        left.is_disjoint(&targets),
        "every planned finding resolved: {left:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nothing_acts_before_the_grace_period_or_without_a_sink() {
    let emu = emulator(7).await;
    approve_one_maker(&emu);
    let hook = HttpReceiver::start(|_, _| Response::ok());
    let url = hook.url("/makers");
    let env = [(HOOK_VAR, url.as_str())];
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    // Without a sink, apply refuses before any call.
    config_with(d, &emu, &sections("delete", 48, false));
    let o = run(d, &["--quiet", "crawl"], &[]).await;
    assert!(o.status.success(), "{}", err(&o));
    let o = run(
        d,
        &[
            "plan",
            "--from-scan",
            "--rule",
            "PPG-DEF-006",
            "--out",
            "plan.json",
        ],
        &[],
    )
    .await;
    assert!(o.status.success(), "{}", err(&o));
    let shown = run(d, &["plan", "show", "plan.json"], &[]).await;
    assert!(out(&shown).contains("cannot be undone"), "{}", out(&shown));
    let o = run(d, &["apply", "plan.json", "--yes"], &env).await;
    assert!(!o.status.success());
    assert!(err(&o).contains("notification sink"), "{}", err(&o));
    assert!(hook.requests().is_empty());

    // With a sink and 48 h of grace: told now, nothing due yet, nothing deleted.
    config_with(d, &emu, &sections("delete", 48, true));
    let o = run(d, &["apply", "plan.json", "--yes"], &env).await;
    assert!(o.status.success(), "{}", err(&o));
    assert!(!hook.requests().is_empty());
    let o = run(d, &["apply", "--due"], &env).await;
    assert!(out(&o).contains("nothing due"), "{}", out(&o));
    assert_eq!(tenant_writes(&emu), 0);
}
