//! Issue 9 item 7, PPG-DEF-006 for real: with `[posture] approved_makers_group` configured, the
//! crawl reads the group's transitive membership through Graph and the scan finds exactly the
//! default environment's apps and flows made by someone outside it (a member through a nested
//! group counts as a member); a group Entra does not know makes the rule an error, never a pass.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use ppgov_emulator::tenant::Group;
use std::collections::BTreeSet;

mod common;
use common::{config_with, emulator, err, run};

const APPROVED: &str = "6d0b1f38-5a53-4c55-9d51-0a6a7e0c1001";
const NESTED: &str = "6d0b1f38-5a53-4c55-9d51-0a6a7e0c1002";

fn posture(group: &str) -> String {
    format!("\n[posture]\napproved_makers_group = \"{group}\"\n")
}

/// Rule status and the resources of its findings, from `scan --format json`.
async fn def_006(dir: &std::path::Path) -> (String, String, BTreeSet<String>) {
    let scan = run(
        dir,
        &["scan", "--format", "json", "--allow-incomplete"],
        &[],
    )
    .await;
    let v: serde_json::Value = serde_json::from_slice(&scan.stdout)
        .unwrap_or_else(|e| panic!("scan JSON: {e}: {}", err(&scan)));
    let rule = v["rules"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["rule_id"] == "PPG-DEF-006")
        .expect("PPG-DEF-006 in the results")
        .clone();
    let found = v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["rule_id"] == "PPG-DEF-006")
        .map(|f| f["resource"]["id"].as_str().unwrap().to_string())
        .collect();
    (
        rule["status"].as_str().unwrap_or_default().to_string(),
        rule.to_string(),
        found,
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn makers_outside_the_approved_group_are_found_through_nested_groups() {
    let emu = emulator(7).await;
    // The default environment's makers: apps' createdBy, flows' creator.
    let (makers, expected_by_maker) = {
        let t = emu.tenant();
        let env = t
            .environments
            .iter()
            .find(|e| e.name.starts_with("Default-"))
            .expect("a default environment");
        let content = t.env_content(env.index);
        let mut by_maker: Vec<(String, String)> = Vec::new();
        for a in &content.apps {
            let p = &a.doc["properties"];
            let maker = p["createdBy"]["id"]
                .as_str()
                .or(p["owner"]["id"].as_str())
                .unwrap();
            by_maker.push((
                maker.to_ascii_lowercase(),
                a.doc["name"].as_str().unwrap().into(),
            ));
        }
        // Flows turned off or suspended are contained and not reported.
        for f in content
            .flows
            .iter()
            .filter(|f| f.doc["properties"]["state"] == "Started")
        {
            let maker = f.doc["properties"]["creator"]["objectId"].as_str().unwrap();
            by_maker.push((
                maker.to_ascii_lowercase(),
                f.doc["name"].as_str().unwrap().into(),
            ));
        }
        let makers: BTreeSet<String> = by_maker.iter().map(|(m, _)| m.clone()).collect();
        (makers, by_maker)
    };
    assert!(
        makers.len() >= 3,
        "the seed has several makers in the default environment"
    );
    let makers: Vec<String> = makers.into_iter().collect();
    // One maker is a direct member, one is a member through a nested group; the rest are not.
    let (direct, nested) = (makers[0].clone(), makers[1].clone());
    {
        let mut t = emu.state().tenant_mut();
        t.directory.groups.push(Group {
            id: NESTED.into(),
            display_name: "Approved makers (nested)".into(),
            security_enabled: true,
            members: vec![nested.to_uppercase()],
        });
        t.directory.groups.push(Group {
            id: APPROVED.into(),
            display_name: "Approved makers".into(),
            security_enabled: true,
            members: vec![direct.clone(), NESTED.into()],
        });
    }
    let approved: BTreeSet<&str> = [direct.as_str(), nested.as_str()].into();
    let expected: BTreeSet<String> = expected_by_maker
        .iter()
        .filter(|(m, _)| !approved.contains(m.as_str()))
        .map(|(_, id)| id.clone())
        .collect();
    assert!(!expected.is_empty());
    assert!(
        expected.len() < expected_by_maker.len(),
        "some resources are made by members"
    );

    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    config_with(d, &emu, &posture(&APPROVED.to_uppercase()));
    let crawl = run(d, &["--quiet", "crawl"], &[]).await;
    assert!(crawl.status.success(), "crawl: {}", err(&crawl));
    let (status, rule, found) = def_006(d).await;
    assert_eq!(status, "evaluated", "{rule}");
    assert_eq!(found, expected);

    // A member added since the crawl counts after the next one: membership is read every crawl.
    let third = makers[2].clone();
    {
        let mut t = emu.state().tenant_mut();
        let g = t
            .directory
            .groups
            .iter_mut()
            .find(|g| g.id == NESTED)
            .unwrap();
        g.members.push(third.clone());
    }
    let crawl = run(d, &["--quiet", "crawl"], &[]).await;
    assert!(crawl.status.success(), "incremental crawl: {}", err(&crawl));
    let (status, _, found) = def_006(d).await;
    assert_eq!(status, "evaluated");
    let expected: BTreeSet<String> = expected_by_maker
        .iter()
        .filter(|(m, _)| !approved.contains(m.as_str()) && *m != third)
        .map(|(_, id)| id.clone())
        .collect();
    assert_eq!(found, expected);
    emu.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_approved_group_entra_does_not_know_is_an_error_not_a_pass() {
    let emu = emulator(7).await;
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    config_with(d, &emu, &posture("6d0b1f38-5a53-4c55-9d51-0a6a7e0c1fff"));
    let crawl = run(d, &["--quiet", "crawl"], &[]).await;
    assert!(crawl.status.success(), "crawl: {}", err(&crawl));
    let (status, rule, found) = def_006(d).await;
    assert_eq!(status, "error", "{rule}");
    assert!(rule.contains("does not exist"), "{rule}");
    assert!(found.is_empty());
    // Under a gate the scan does not pass.
    let gate = run(
        d,
        &["scan", "--fail-on", "critical", "--format", "json"],
        &[],
    )
    .await;
    assert_eq!(gate.status.code(), Some(2), "{}", err(&gate));
    assert!(err(&gate).contains("PPG-DEF-006"), "{}", err(&gate));
    emu.shutdown().await.unwrap();
}
