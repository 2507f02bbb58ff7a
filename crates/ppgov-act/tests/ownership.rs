//! PPG-ACT-008 and PPG-ACT-010 against the emulator over real HTTP: planned from a scan, applied,
//! then a new crawl and scan show the findings resolved; a second plan is empty and a second
//! apply writes nothing; revert brings a reversible change back; a removal is marked not
//! reversible.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use ppgov_act::{Ctx, Plan, StepOutcome, planner};
use ppgov_config::RemediationConfig;
use ppgov_emulator::server::Emulator;
use ppgov_emulator::tenant::Size;
use ppgov_store::Store;
use std::collections::BTreeSet;

mod common;
use common::*;

/// The first small seed whose ground truth plants every one of `rules`.
async fn seed_with(rules: &[&str]) -> Emulator {
    for seed in 1..60 {
        let emu = emulator(seed, Size::Small).await;
        let planted: BTreeSet<&str> = emu
            .ground_truth()
            .findings
            .iter()
            .map(|f| f.rule_id.as_str())
            .collect();
        if rules.iter().all(|r| planted.contains(r)) {
            return emu;
        }
        emu.shutdown().await.unwrap();
    }
    panic!("no small seed plants {rules:?}");
}

fn of(report: &ppgov_core::ScanReport, rule: &str) -> BTreeSet<String> {
    report
        .findings
        .iter()
        .filter(|f| f.rule_id == rule)
        .map(|f| f.resource.id.clone())
        .collect()
}

/// An active member user of the tenant, to take over orphans.
fn active_user(emu: &Emulator) -> String {
    let t = emu.tenant();
    t.directory
        .users
        .iter()
        .find(|u| u.enabled && !u.deleted && !u.guest)
        .map(|u| u.id.clone())
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn orphaned_flows_and_apps_are_taken_over_and_revert_hands_them_back() {
    let emu = seed_with(&["PPG-FLW-002", "PPG-APP-002"]).await;
    let tenant = emu.ready().tenant_id.clone();
    let before = scan(&emu).await;
    let (flows, apps) = (of(&before, "PPG-FLW-002"), of(&before, "PPG-APP-002"));
    assert!(!flows.is_empty() && !apps.is_empty());
    let user = active_user(&emu);
    let cfg = RemediationConfig {
        orphan_owner: Some(user.clone()),
        ..Default::default()
    };
    let ctx = Ctx::new(clients(&emu, false));
    let rules = vec!["PPG-FLW-002".to_string(), "PPG-APP-002".to_string()];
    let planned = planner::from_findings(&ctx, &cfg, &tenant, &before.findings, &rules)
        .await
        .unwrap();
    assert!(emu.write_counts().is_empty(), "planning writes nothing");
    let targets: BTreeSet<String> = planned.steps.iter().map(|s| s.target.id.clone()).collect();
    let want: BTreeSet<String> = flows.union(&apps).cloned().collect();
    assert_eq!(targets, want, "one step per orphan: {:?}", planned.notes);
    assert!(planned.steps.iter().all(|s| s.action == "PPG-ACT-008"));

    let plan = Plan::new(&tenant, author(), "from-scan", planned.steps).unwrap();
    let store = Box::new(Store::open_in_memory().unwrap());
    let (report, store) = apply_all(&emu, store, plan.clone(), StepOutcome::Applied).await;
    assert_eq!(writes(&emu, "/modifypermissions"), flows.len() as u64);
    assert_eq!(writes(&emu, "/modifyappowner"), apps.len() as u64);
    let after = scan(&emu).await;
    assert!(
        of(&after, "PPG-FLW-002").is_empty(),
        "{:?}",
        of(&after, "PPG-FLW-002")
    );
    assert!(
        of(&after, "PPG-APP-002").is_empty(),
        "{:?}",
        of(&after, "PPG-APP-002")
    );

    // A second plan is empty; the same plan again writes nothing.
    let again = planner::from_findings(&ctx, &cfg, &tenant, &before.findings, &rules)
        .await
        .unwrap();
    assert!(again.steps.is_empty(), "{:?}", again.steps);
    let counted = emu.write_counts();
    let (_, store) = apply_all(&emu, store, plan, StepOutcome::AlreadyDone).await;
    assert_eq!(emu.write_counts(), counted, "re-apply wrote nothing");

    // Revert: the co-owners go again, so the flows are orphaned again.
    let entries = store.journal(Some(&report.apply_id)).unwrap();
    let undo = planner::revert_steps(&entries);
    let flow_undos: Vec<_> = undo
        .steps
        .iter()
        .filter(|s| s.target.kind == "flow")
        .cloned()
        .collect();
    assert_eq!(flow_undos.len(), flows.len());
    let plan = Plan::new(&tenant, author(), "revert", flow_undos).unwrap();
    apply_all(&emu, store, plan, StepOutcome::Applied).await;
    assert_eq!(of(&scan(&emu).await, "PPG-FLW-002"), flows);
    emu.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_group_takes_over_single_owner_flows_but_not_orphans_or_apps() {
    let emu = seed_with(&["PPG-FLW-003", "PPG-FLW-002", "PPG-APP-002"]).await;
    let tenant = emu.ready().tenant_id.clone();
    let group = emu.tenant().directory.groups[0].id.clone();
    let before = scan(&emu).await;
    let single = of(&before, "PPG-FLW-003");
    let cfg = RemediationConfig {
        orphan_owner: Some(group.clone()),
        ..Default::default()
    };
    let ctx = Ctx::new(clients(&emu, false));
    let planned = planner::from_findings(&ctx, &cfg, &tenant, &before.findings, &[])
        .await
        .unwrap();
    let targets: BTreeSet<String> = planned
        .steps
        .iter()
        .filter(|s| s.action == "PPG-ACT-008")
        .map(|s| s.target.id.clone())
        .collect();
    assert_eq!(targets, single);
    // Orphaned flows and apps are left out, each with why.
    let orphans = of(&before, "PPG-FLW-002").len() + of(&before, "PPG-APP-002").len();
    let refused = planned
        .notes
        .iter()
        .filter(|n| n.contains("needs an active user") || n.contains("must be a user"))
        .count();
    assert_eq!(refused, orphans, "{:#?}", planned.notes);
    let steps: Vec<_> = planned
        .steps
        .into_iter()
        .filter(|s| s.action == "PPG-ACT-008")
        .collect();
    let plan = Plan::new(&tenant, author(), "from-scan", steps).unwrap();
    apply_all(
        &emu,
        Box::new(Store::open_in_memory().unwrap()),
        plan,
        StepOutcome::Applied,
    )
    .await;
    assert!(of(&scan(&emu).await, "PPG-FLW-003").is_empty());
    emu.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn orphaned_connections_are_removed_once_and_never_reverted() {
    let emu = seed_with(&["PPG-CON-001"]).await;
    let tenant = emu.ready().tenant_id.clone();
    let before = scan(&emu).await;
    let orphans = of(&before, "PPG-CON-001");
    assert!(!orphans.is_empty());
    let ctx = Ctx::new(clients(&emu, false));
    let rules = vec!["PPG-CON-001".to_string()];
    let planned = planner::from_findings(
        &ctx,
        &RemediationConfig::default(),
        &tenant,
        &before.findings,
        &rules,
    )
    .await
    .unwrap();
    let targets: BTreeSet<String> = planned.steps.iter().map(|s| s.target.id.clone()).collect();
    assert_eq!(targets, orphans);
    assert!(planned.steps.iter().all(|s| {
        s.action == "PPG-ACT-010"
            && matches!(s.undo, ppgov_act::Undo::NotReversible { .. })
            && s.warnings.iter().any(|w| w.contains("cannot be undone"))
    }));
    let plan = Plan::new(&tenant, author(), "from-scan", planned.steps).unwrap();
    let (report, store) = apply_all(
        &emu,
        Box::new(Store::open_in_memory().unwrap()),
        plan.clone(),
        StepOutcome::Applied,
    )
    .await;
    assert_eq!(writes(&emu, "/connections/"), orphans.len() as u64);
    assert!(of(&scan(&emu).await, "PPG-CON-001").is_empty());
    // Again: nothing to do, nothing written; revert has nothing it may undo.
    let counted = emu.write_counts();
    let (_, store) = apply_all(&emu, store, plan, StepOutcome::AlreadyDone).await;
    assert_eq!(emu.write_counts(), counted);
    let undo = planner::revert_steps(&store.journal(Some(&report.apply_id)).unwrap());
    assert!(undo.steps.is_empty());
    assert_eq!(undo.notes.len(), orphans.len(), "{:?}", undo.notes);
    emu.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn inactive_flows_are_turned_off_from_a_scan_and_revert_turns_them_on() {
    let emu = seed_with(&["PPG-FLW-004"]).await;
    let tenant = emu.ready().tenant_id.clone();
    let before = scan(&emu).await;
    let inactive = of(&before, "PPG-FLW-004");
    assert!(!inactive.is_empty());
    let ctx = Ctx::new(clients(&emu, false));
    let cfg = RemediationConfig::default();
    let rules = vec!["PPG-FLW-004".to_string()];
    let planned = planner::from_findings(&ctx, &cfg, &tenant, &before.findings, &rules)
        .await
        .unwrap();
    let targets: BTreeSet<String> = planned.steps.iter().map(|s| s.target.id.clone()).collect();
    assert_eq!(targets, inactive, "{:?}", planned.notes);
    assert!(planned.steps.iter().all(|s| s.action == "PPG-ACT-007"));
    let plan = Plan::new(&tenant, author(), "from-scan", planned.steps).unwrap();
    let store = Box::new(Store::open_in_memory().unwrap());
    let (report, store) = apply_all(&emu, store, plan.clone(), StepOutcome::Applied).await;
    assert_eq!(writes(&emu, "/stop"), inactive.len() as u64);
    let after = scan(&emu).await;
    assert!(
        of(&after, "PPG-FLW-004").is_empty(),
        "{:?}",
        of(&after, "PPG-FLW-004")
    );
    let again = planner::from_findings(&ctx, &cfg, &tenant, &after.findings, &rules)
        .await
        .unwrap();
    assert!(again.steps.is_empty());
    let counted = emu.write_counts();
    let (_, store) = apply_all(&emu, store, plan, StepOutcome::AlreadyDone).await;
    assert_eq!(emu.write_counts(), counted, "re-apply wrote nothing");

    // Revert turns them on again: the findings come back.
    let undo = planner::revert_steps(&store.journal(Some(&report.apply_id)).unwrap());
    assert_eq!(undo.steps.len(), inactive.len());
    let plan = Plan::new(&tenant, author(), "revert", undo.steps).unwrap();
    apply_all(&emu, store, plan, StepOutcome::Applied).await;
    assert_eq!(writes(&emu, "/start"), inactive.len() as u64);
    assert_eq!(of(&scan(&emu).await, "PPG-FLW-004"), inactive);
}
