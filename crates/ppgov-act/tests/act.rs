//! Remediation against the emulator over real HTTP: plan, apply, crawl and scan again; a second
//! plan is empty and a second apply writes nothing; drift is skipped; revert brings the state
//! back; an interrupted apply never repeats a write (counted at the emulator); roles removal over
//! a hundred environments touches exactly the listed users; elevation works delegated.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use ppgov_act::actions::{self, act_001};
use ppgov_act::{ApplyOptions, Ctx, Plan, StepOutcome, planner};
use ppgov_auth::{Credential, EntraTokenSource, SourceOptions};
use ppgov_config::{Endpoints, PostureConfig, RemediationConfig};
use ppgov_emulator::scenario::wellknown;
use ppgov_emulator::server::Emulator;
use ppgov_emulator::tenant::Size;
use ppgov_store::{JournalPhase, NewJournalEntry, Store};
use serde_json::{Value, json};
use std::collections::BTreeSet;

const GROUP: &str = "5f2fee15-c39e-59e6-0000-00000000a0a0";

mod common;
use common::*;

/// The default environment's core connectors (`[posture.connectors] default_env_core`).
fn core() -> Vec<String> {
    PostureConfig::default().connectors.default_env_core
}

fn inputs(core: &[String]) -> planner::LockdownInputs<'_> {
    planner::LockdownInputs {
        core,
        max_share_users: PostureConfig::default()
            .thresholds
            .developer_env_max_share_users,
    }
}

fn lockdown_cfg() -> RemediationConfig {
    RemediationConfig {
        allow_unsupported: true,
        security_group_id: Some(GROUP.into()),
        ..Default::default()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_lockdown_preset_resolves_the_default_environment_findings_and_replans_empty() {
    // Seed 1 plants DEF-001 and RTE-001, seed 2 DEF-002 and RTE-002.
    let mut planted_dev = false;
    for (seed, rules) in [
        (1, ["PPG-DEF-001", "PPG-RTE-001"]),
        (2, ["PPG-DEF-002", "PPG-RTE-002"]),
    ] {
        let emu = emulator(seed, Size::Small).await;
        let tenant = emu.ready().tenant_id.clone();
        let before = findings(&emu).await;
        for r in rules {
            assert!(has(&before, r), "seed {seed}: {r} planted: {before:?}");
        }
        let ctx = Ctx::new(clients(&emu, false));
        let planned =
            planner::lockdown_default_env(&ctx, &lockdown_cfg(), &tenant, inputs(&core()))
                .await
                .unwrap();
        let plan = Plan::new(&tenant, author(), "preset", planned.steps).unwrap();
        assert!(!plan.steps.is_empty());
        let sg = plan.steps.iter().find(|s| s.action == "PPG-ACT-001");
        if let Some(sg) = sg {
            assert!(
                sg.warnings
                    .iter()
                    .any(|w| w.contains("Microsoft may reset it")),
                "seed 000's warning"
            );
        }
        let writes_before = emu.write_counts();
        assert!(
            writes_before.is_empty(),
            "planning writes nothing: {writes_before:?}"
        );

        let store = Store::open_in_memory().unwrap();
        let (report, store) = ppgov_act::apply(
            Ctx::new(clients(&emu, false)),
            Box::new(store),
            plan.clone(),
            opts(),
        )
        .await
        .unwrap();
        assert!(
            report
                .steps
                .iter()
                .all(|s| s.outcome == StepOutcome::Applied),
            "{}",
            report.to_text()
        );
        let after = findings(&emu).await;
        for r in rules {
            assert!(!has(&after, r), "seed {seed}: {r} resolved: {after:?}");
        }
        // The strict default-environment DLP policy (PPG-ACT-005) covers and locks it down.
        for r in ["PPG-DEF-003", "PPG-DEF-004"] {
            assert!(!has(&after, r), "seed {seed}: {r} resolved: {after:?}");
        }
        // The managed developer preset (PPG-ACT-004) on every developer environment.
        for r in ["PPG-RTE-003", "PPG-RTE-004"] {
            planted_dev |= has(&before, r);
            assert!(!has(&after, r), "seed {seed}: {r} resolved: {after:?}");
        }
        let dlp = plan
            .steps
            .iter()
            .find(|s| s.action == "PPG-ACT-005")
            .unwrap();
        assert!(dlp.warnings.iter().any(|w| w.contains("dlp simulate")));
        // A second plan is empty; the same plan again writes nothing.
        let again = planner::lockdown_default_env(&ctx, &lockdown_cfg(), &tenant, inputs(&core()))
            .await
            .unwrap();
        assert!(again.steps.is_empty(), "{:?}", again.steps);
        let counted = emu.write_counts();
        let (report2, store) =
            ppgov_act::apply(Ctx::new(clients(&emu, false)), store, plan, opts())
                .await
                .unwrap();
        assert!(
            report2
                .steps
                .iter()
                .all(|s| s.outcome == StepOutcome::AlreadyDone),
            "{}",
            report2.to_text()
        );
        assert_eq!(emu.write_counts(), counted, "re-apply wrote nothing");
        assert!(store.verify_journal().unwrap().breaks.is_empty());
    }
    assert!(
        planted_dev,
        "a seed plants a weak or unmanaged developer environment"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_default_environment_group_is_refused_without_the_opt_in() {
    let emu = emulator(1, Size::Small).await;
    let tenant = emu.ready().tenant_id.clone();
    let ctx = Ctx::new(clients(&emu, false));
    let cfg = RemediationConfig {
        security_group_id: Some(GROUP.into()),
        ..Default::default()
    };
    let err = planner::lockdown_default_env(&ctx, &cfg, &tenant, inputs(&core()))
        .await
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("allow_unsupported = true") && err.contains("Microsoft may reset it"),
        "{err}"
    );
    assert!(emu.write_counts().is_empty());
}

/// A non-default environment with Dataverse.
fn dataverse_env(emu: &Emulator) -> String {
    let t = emu.tenant();
    t.environments
        .iter()
        .find(|e| {
            e.doc
                .pointer("/properties/environmentSku")
                .and_then(Value::as_str)
                != Some("Default")
                && e.doc
                    .pointer("/properties/linkedEnvironmentMetadata/instanceUrl")
                    .and_then(Value::as_str)
                    .is_some_and(|u| !u.is_empty())
        })
        .map(|e| e.name.clone())
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_target_changed_after_planning_is_skipped_and_reported() {
    let emu = emulator(3, Size::Small).await;
    let tenant = emu.ready().tenant_id.clone();
    let env = dataverse_env(&emu);
    let ctx = Ctx::new(clients(&emu, false));
    let planned = planner::single(
        &ctx,
        &RemediationConfig::default(),
        &tenant,
        "PPG-ACT-001",
        &env,
        Some(GROUP),
    )
    .await
    .unwrap();
    let plan = Plan::new(&tenant, author(), "single", planned.steps).unwrap();
    assert_eq!(plan.steps.len(), 1);
    // Someone else sets another group in between.
    let other = "11111111-2222-3333-4444-555555555555";
    ctx.clients
        .bap
        .patch_environment(
            &env,
            &json!({"properties": {"linkedEnvironmentMetadata": {"securityGroupId": other}}}),
        )
        .await
        .unwrap();
    let before = writes(&emu, &env);
    let (report, store) = ppgov_act::apply(
        Ctx::new(clients(&emu, false)),
        Box::new(Store::open_in_memory().unwrap()),
        plan,
        opts(),
    )
    .await
    .unwrap();
    assert_eq!(
        report.steps[0].outcome,
        StepOutcome::Drifted,
        "{}",
        report.to_text()
    );
    assert!(
        report.steps[0].detail.contains(other),
        "{}",
        report.steps[0].detail
    );
    assert_eq!(
        writes(&emu, &env),
        before,
        "nothing written to a drifted target"
    );
    let doc: Value = ctx.clients.bap.get_environment(&env, &[]).await.unwrap();
    assert_eq!(act_001::state_of(&doc), json!({"securityGroupId": other}));
    let j = store.journal(None).unwrap();
    assert_eq!(j.len(), 1);
    assert_eq!(j[0].entry.phase, JournalPhase::Skipped);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn revert_restores_the_before_state_from_the_journal() {
    let emu = emulator(3, Size::Small).await;
    let tenant = emu.ready().tenant_id.clone();
    let env = dataverse_env(&emu);
    let ctx = Ctx::new(clients(&emu, false));
    // A security group on a non-default environment, and a flow stopped.
    let sg = |doc: &Value| act_001::state_of(doc);
    let env_before: Value = ctx.clients.bap.get_environment(&env, &[]).await.unwrap();
    let planned = planner::single(
        &ctx,
        &RemediationConfig::default(),
        &tenant,
        "PPG-ACT-001",
        &env,
        Some(GROUP),
    )
    .await
    .unwrap();
    let flow = {
        let t = emu.tenant();
        let i = t.environments.iter().find(|e| e.name == env).unwrap().index;
        drop(t);
        let c = emu.state().env_content(i);
        let c = c.read().unwrap();
        c.flows()
            .iter()
            .find(|f| {
                f.doc
                    .value()
                    .pointer("/properties/state")
                    .and_then(Value::as_str)
                    == Some("Started")
            })
            .map(|f| f.name.clone())
            .unwrap()
    };
    let flow_step = planner::single(
        &ctx,
        &RemediationConfig::default(),
        &tenant,
        "PPG-ACT-007",
        &format!("{env}/{flow}"),
        None,
    )
    .await
    .unwrap();
    let mut steps = planned.steps;
    steps.extend(flow_step.steps);
    assert_eq!(steps.len(), 2, "another group and a started flow in seed 3");
    let plan = Plan::new(&tenant, author(), "single", steps).unwrap();
    let (report, store) = ppgov_act::apply(
        Ctx::new(clients(&emu, false)),
        Box::new(Store::open_in_memory().unwrap()),
        plan,
        opts(),
    )
    .await
    .unwrap();
    assert!(
        report
            .steps
            .iter()
            .all(|s| s.outcome == StepOutcome::Applied),
        "{}",
        report.to_text()
    );
    let env_now: Value = ctx.clients.bap.get_environment(&env, &[]).await.unwrap();
    assert_eq!(sg(&env_now), act_001::desired(GROUP));

    let undo = planner::revert_steps(&store.journal(Some(&report.apply_id)).unwrap());
    assert_eq!(undo.steps.len(), 2, "{:?}", undo.notes);
    let revert = Plan::new(&tenant, author(), "revert", undo.steps).unwrap();
    let (r2, _store) = ppgov_act::apply(Ctx::new(clients(&emu, false)), store, revert, opts())
        .await
        .unwrap();
    assert!(
        r2.steps.iter().all(|s| s.outcome == StepOutcome::Applied),
        "{}",
        r2.to_text()
    );
    let env_after: Value = ctx.clients.bap.get_environment(&env, &[]).await.unwrap();
    assert_eq!(sg(&env_after), sg(&env_before));
    assert_eq!(
        actions::read(&ctx, &probe("PPG-ACT-001", &env))
            .await
            .unwrap()
            .state,
        sg(&env_before)
    );
    let f: Value = ctx.clients.flow.get_flow(&env, &flow).await.unwrap();
    assert_eq!(
        f.pointer("/properties/state").and_then(Value::as_str),
        Some("Started")
    );
    assert_eq!(writes(&emu, &format!("{flow}/stop")), 1);
    assert_eq!(writes(&emu, &format!("{flow}/start")), 1);
}

fn probe(action: &str, env: &str) -> ppgov_act::Step {
    ppgov_act::Step {
        index: 1,
        action: action.into(),
        target: ppgov_act::Target {
            kind: "environment".into(),
            id: env.into(),
            environment: None,
            name: String::new(),
        },
        expected: Value::Null,
        change: Value::Null,
        why: String::new(),
        undo: ppgov_act::Undo::NotReversible {
            reason: String::new(),
        },
        warnings: vec![],
        grace: None,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rerun_after_a_crash_never_repeats_a_write() {
    let emu = emulator(2, Size::Small).await;
    let tenant = emu.ready().tenant_id.clone();
    let ctx = Ctx::new(clients(&emu, false));
    let planned = planner::lockdown_default_env(&ctx, &lockdown_cfg(), &tenant, inputs(&core()))
        .await
        .unwrap();
    let plan = Plan::new(&tenant, author(), "preset", planned.steps).unwrap();
    let org = plan
        .steps
        .iter()
        .find(|s| s.action == "PPG-ACT-002")
        .unwrap()
        .clone();
    let settings = plan
        .steps
        .iter()
        .find(|s| s.action == "PPG-ACT-003")
        .unwrap()
        .clone();
    // The crash: both steps journaled as started; the first one's write went out, the second's not.
    let mut store = Store::open_in_memory().unwrap();
    for s in [&org, &settings] {
        store
            .append_journal(&NewJournalEntry {
                tenant_id: tenant.clone(),
                actor: "app:applier".into(),
                apply_id: "crashed".into(),
                plan_id: plan.id.clone(),
                plan_digest: plan.digest.clone(),
                step: s.index,
                action: s.action.clone(),
                target: serde_json::to_string(&s.target).unwrap(),
                phase: JournalPhase::Started,
                request_id: None,
                before: Some(s.expected.clone()),
                after: None,
                result: "writing".into(),
            })
            .unwrap();
    }
    let observed = actions::read(&ctx, &org).await.unwrap();
    actions::write(&ctx, &org, &observed).await.unwrap();
    assert_eq!(writes(&emu, "/organizations("), 1);
    assert_eq!(writes(&emu, "updatetenantsettings"), 0);

    let (report, store) = ppgov_act::apply(
        Ctx::new(clients(&emu, false)),
        Box::new(store),
        plan.clone(),
        opts(),
    )
    .await
    .unwrap();
    let by = |i: u32| report.steps.iter().find(|s| s.index == i).unwrap();
    assert_eq!(by(org.index).outcome, StepOutcome::Applied);
    assert!(
        by(org.index)
            .detail
            .contains("interrupted apply took effect"),
        "{}",
        by(org.index).detail
    );
    assert_eq!(by(settings.index).outcome, StepOutcome::Applied);
    assert_eq!(
        writes(&emu, "/organizations("),
        1,
        "the organization's write was not repeated"
    );
    assert_eq!(
        writes(&emu, "updatetenantsettings"),
        1,
        "the settings were written once"
    );
    // Everything is done now: a third run writes nothing at all.
    let counted = emu.write_counts();
    let (r3, _) = ppgov_act::apply(Ctx::new(clients(&emu, false)), store, plan, opts())
        .await
        .unwrap();
    assert!(
        r3.steps
            .iter()
            .all(|s| s.outcome == StepOutcome::AlreadyDone),
        "{}",
        r3.to_text()
    );
    assert_eq!(emu.write_counts(), counted);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn max_changes_caps_the_blast_radius() {
    let emu = emulator(2, Size::Small).await;
    let tenant = emu.ready().tenant_id.clone();
    let ctx = Ctx::new(clients(&emu, false));
    let planned = planner::lockdown_default_env(&ctx, &lockdown_cfg(), &tenant, inputs(&core()))
        .await
        .unwrap();
    let n = planned.steps.len();
    assert!(n >= 2);
    let plan = Plan::new(&tenant, author(), "preset", planned.steps).unwrap();
    let o = ApplyOptions {
        max_changes: Some(1),
        concurrency: 1,
        ..opts()
    };
    let (report, _) = ppgov_act::apply(
        Ctx::new(clients(&emu, false)),
        Box::new(Store::open_in_memory().unwrap()),
        plan,
        o,
    )
    .await
    .unwrap();
    assert_eq!(
        report.count(StepOutcome::Applied),
        1,
        "{}",
        report.to_text()
    );
    assert_eq!(
        report.count(StepOutcome::Capped),
        n - 1,
        "{}",
        report.to_text()
    );
}

/// System Administrator holders of every Dataverse environment, as the emulator keeps them:
/// (environment, lower-case UPN) pairs.
fn sysadmins(emu: &Emulator) -> BTreeSet<(String, String)> {
    let envs: Vec<(usize, String)> = emu
        .tenant()
        .environments
        .iter()
        .map(|e| (e.index, e.name.clone()))
        .collect();
    let mut out = BTreeSet::new();
    for (i, name) in envs {
        let c = emu.state().env_content(i);
        let c = c.read().unwrap();
        let Some(d) = c.dataverse() else { continue };
        let sa: BTreeSet<String> = d
            .roles
            .iter()
            .filter(|r| {
                r.get("_roletemplateid_value").and_then(Value::as_str)
                    == Some("627090ff-40a3-4053-8790-584edc5be201")
            })
            .filter_map(|r| {
                r.get("roleid")
                    .and_then(Value::as_str)
                    .map(str::to_ascii_lowercase)
            })
            .collect();
        for (u, r) in &d.user_roles {
            if !sa.contains(&r.to_ascii_lowercase()) {
                continue;
            }
            let upn = d
                .system_users
                .iter()
                .find(|s| {
                    s.get("systemuserid")
                        .and_then(Value::as_str)
                        .is_some_and(|x| x.eq_ignore_ascii_case(u))
                })
                .and_then(|s| s.get("domainname").and_then(Value::as_str))
                .unwrap_or_default()
                .to_ascii_lowercase();
            out.insert((name.clone(), upn));
        }
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn roles_remove_over_a_hundred_environments_removes_exactly_the_listed_users() {
    let emu = emulator(5, Size::Medium).await;
    let tenant = emu.ready().tenant_id.clone();
    assert!(emu.tenant().environments.len() >= 100);
    let before = sysadmins(&emu);
    // The three most widespread holders, one of them break-glass, and a user holding nothing.
    let mut counts: std::collections::BTreeMap<String, usize> = Default::default();
    for (_, u) in &before {
        if !u.is_empty() {
            *counts.entry(u.clone()).or_default() += 1;
        }
    }
    let mut ranked: Vec<(usize, String)> = counts.into_iter().map(|(u, n)| (n, u)).collect();
    ranked.sort_by(|a, b| b.cmp(a));
    let listed: Vec<String> = ranked.iter().take(3).map(|(_, u)| u.clone()).collect();
    assert_eq!(listed.len(), 3, "{ranked:?}");
    let glass = listed[2].clone();
    let csv = format!(
        "UserPrincipalName\n{}\n{}\n\"{}\"\nnobody@example.com\n",
        listed[0],
        listed[1].to_uppercase(),
        glass
    );
    let users = ppgov_act::roles::read_users(&csv).unwrap();
    assert_eq!(users.len(), 4);

    let ctx = Ctx::new(clients(&emu, false));
    let envs = ppgov_act::roles::environments(&ctx, None, None)
        .await
        .unwrap();
    assert!(envs.len() >= 100);
    let removal = ppgov_act::roles::plan_removal(
        &ctx,
        "System Administrator",
        &users,
        &envs,
        std::slice::from_ref(&glass),
        false,
    )
    .await
    .unwrap();
    let (planned, logs) = (removal.planned, removal.logs);
    let plan = Plan::new(&tenant, author(), "roles remove", planned.steps).unwrap();
    let steps = plan.steps.clone();
    let o = ApplyOptions {
        concurrency: 8,
        ..opts()
    };
    let (report, store) = ppgov_act::apply(
        Ctx::new(clients(&emu, false)),
        Box::new(Store::open_in_memory().unwrap()),
        plan.clone(),
        o.clone(),
    )
    .await
    .unwrap();
    assert!(!report.failed(), "{}", report.to_text());
    let after = sysadmins(&emu);
    let removed: BTreeSet<_> = before.difference(&after).cloned().collect();
    let expected: BTreeSet<_> = before
        .iter()
        .filter(|(_, u)| *u == listed[0] || *u == listed[1])
        .cloned()
        .collect();
    assert!(!expected.is_empty());
    assert_eq!(
        removed, expected,
        "exactly the listed, non-break-glass users lost the role"
    );
    assert!(after.is_subset(&before), "nothing was added");
    // Logs: one per environment, 0600, naming what happened.
    let dir = tempfile::tempdir().unwrap();
    let written = ppgov_act::roles::write_logs(dir.path(), logs, &steps, Some(&report)).unwrap();
    assert_eq!(written.len(), envs.len());
    #[cfg(unix)]
    for p in &written {
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(
            std::fs::metadata(p).unwrap().permissions().mode() & 0o777,
            0o600
        );
    }
    let all: String = written
        .iter()
        .map(|p| std::fs::read_to_string(p).unwrap())
        .collect();
    assert!(all.contains(&format!("{glass}: REFUSED")));
    assert!(all.contains(": REMOVED: "));
    // Idempotent: planned again, nothing left to remove.
    let again = ppgov_act::roles::plan_removal(
        &ctx,
        "System Administrator",
        &users,
        &envs,
        std::slice::from_ref(&glass),
        false,
    )
    .await
    .unwrap()
    .planned;
    assert!(again.steps.is_empty());
    let counted = emu.write_counts();
    let (r2, _) = ppgov_act::apply(Ctx::new(clients(&emu, false)), store, plan, o)
        .await
        .unwrap();
    assert!(
        r2.steps
            .iter()
            .all(|s| s.outcome == StepOutcome::AlreadyDone)
    );
    assert_eq!(emu.write_counts(), counted);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn elevation_works_delegated_is_journaled_and_schedules_its_removal() {
    let emu = emulator(3, Size::Small).await;
    let tenant = emu.ready().tenant_id.clone();
    let env = dataverse_env(&emu);
    let c = clients(&emu, true);
    let scope = Endpoints::all_at(&url::Url::parse(&emu.ready().url).unwrap())
        .scopes
        .powerapps;
    let tokens = EntraTokenSource::new(
        Credential::Password {
            client_id: wellknown::PUBLIC_CLIENT_ID.into(),
            username: emu.ready().username.clone(),
            password: emu.ready().password.clone().into(),
        },
        &tenant,
        &Endpoints::all_at(&url::Url::parse(&emu.ready().url).unwrap()).login,
        SourceOptions::default(),
    );
    let me = ppgov_act::whoami(&tokens, &scope).await.unwrap();
    assert_eq!(me.kind, "user");
    let mut store = Store::open_in_memory().unwrap();
    let until = chrono::Utc::now() + chrono::Duration::hours(2);
    let ctx = Ctx::new(c);
    let e = ppgov_act::elevate::elevate(
        &ctx,
        &mut store,
        &tenant,
        &me,
        &env,
        "2022-03-01-preview",
        Some(until),
    )
    .await
    .unwrap();
    assert_eq!(e.outcome.status, 200);
    assert!(!e.outcome.codes.is_empty(), "{:?}", e.outcome);
    let holders = sysadmins(&emu);
    assert!(holders.contains(&(env.clone(), me.name.to_ascii_lowercase())));
    let j = store.journal(Some(&e.apply_id)).unwrap();
    assert_eq!(
        j.iter().map(|x| x.entry.phase).collect::<Vec<_>>(),
        [JournalPhase::Started, JournalPhase::Done]
    );
    assert_eq!(j[1].entry.action, "PPG-ACT-012");
    // Not due yet; at expiry the due plan removes the role.
    assert!(
        store
            .due_actions(&tenant, Some(chrono::Utc::now()))
            .unwrap()
            .is_empty()
    );
    let due = store.due_actions(&tenant, Some(until)).unwrap();
    assert_eq!(due.len(), 1);
    let plan = Plan::parse(&due[0].plan).unwrap();
    let (report, _) =
        ppgov_act::apply(Ctx::new(clients(&emu, true)), Box::new(store), plan, opts())
            .await
            .unwrap();
    assert!(
        report
            .steps
            .iter()
            .all(|s| s.outcome == StepOutcome::Applied),
        "{}",
        report.to_text()
    );
    assert!(!sysadmins(&emu).contains(&(env, me.name.to_ascii_lowercase())));
    // The current api-version is accepted too; an app-only sign-in is refused before any call.
    assert!(ppgov_act::elevate::API_VERSIONS.contains(&"2022-03-01"));
    let err = ppgov_act::elevate::require_delegated(ppgov_config::AuthMethod::ClientSecret)
        .unwrap_err()
        .to_string();
    assert!(err.contains("delegated sign-in"), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_role_held_through_a_group_team_is_named_never_reported_removed() {
    // Group-held System Administrators, as the crawl finds them (via_group set).
    let mut found = None;
    for seed in 1..40 {
        let emu = emulator(seed, Size::Small).await;
        let tenant = emu.ready().tenant_id.clone();
        let (summary, store) = ppgov_crawl::crawl(
            clients(&emu, false),
            Box::new(Store::open_in_memory().unwrap()),
            &tenant,
            Default::default(),
        )
        .await
        .unwrap();
        let snap = store.load_snapshot(&summary.snapshot_id).unwrap();
        let held: Vec<(String, String)> = snap
            .role_assignments
            .iter()
            .filter(|r| r.via_group.is_some() && r.role == "SystemAdministrator")
            .filter_map(|r| Some((r.environment_id.clone(), r.principal_upn.clone()?)))
            .collect();
        if let Some(h) = held.first().cloned() {
            found = Some((emu, h));
            break;
        }
        emu.shutdown().await.unwrap();
    }
    let (emu, (env, upn)) = found.expect("a seed plants a group-held System Administrator");
    let ctx = Ctx::new(clients(&emu, false));
    let envs = ppgov_act::roles::environments(&ctx, Some(&env), None)
        .await
        .unwrap();
    let removal = ppgov_act::roles::plan_removal(
        &ctx,
        "System Administrator",
        std::slice::from_ref(&upn),
        &envs,
        &[],
        false,
    )
    .await
    .unwrap();
    assert_eq!(removal.still_held.len(), 1, "{:?}", removal.still_held);
    assert!(removal.still_held[0].starts_with(&format!("{upn} in {env} via '")));
    let log = removal
        .logs
        .values()
        .flatten()
        .cloned()
        .collect::<Vec<_>>()
        .join("\n");
    assert!(log.contains("STILL HOLDS"), "{log}");
    // Nobody else is named: a user holding nothing through groups is not.
    let none = ppgov_act::roles::plan_removal(
        &ctx,
        "System Administrator",
        &["nobody@example.com".to_string()],
        &envs,
        &[],
        false,
    )
    .await
    .unwrap();
    assert!(none.still_held.is_empty());
}
