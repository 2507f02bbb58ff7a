//! Remediation plans in the console end to end over HTTP, each person signed in through the
//! emulated Entra: an admin submits a plan ppgov_act made for the emulated tenant (bad ones are
//! refused with what is wrong, and nothing is stored), cannot approve it (four eyes), a second
//! admin approves, apply changes the emulator with exactly the plan's writes, a rerun writes
//! nothing, viewers and makers can do nothing, forged forms are refused, and the journal page
//! shows the applied steps with the chain intact. A plan that tells makers first is noticed
//! through the tenant's sink and changes nothing yet.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

#[allow(dead_code)]
#[path = "../../ppgov-notify/tests/it/receiver.rs"]
mod receiver;

use common::*;
use ppgov_act::{Identity, Plan};
use ppgov_core::DlpGroup;
use ppgov_emulator::scenario::wellknown as wk;
use ppgov_serve::Clock;
use ppgov_store::Store;
use reqwest::StatusCode;

fn writes(emu: &ppgov_emulator::server::Emulator) -> u64 {
    emu.write_counts().values().sum()
}

/// Gives a console persona `ppgov.Admin` besides its own role.
fn make_admin(emu: &ppgov_emulator::server::Emulator, local: &str) {
    let id = wk::CONSOLE_PERSONAS
        .iter()
        .find(|p| p.0 == local)
        .unwrap()
        .1;
    let mut t = emu.state().tenant_mut();
    let app = t
        .directory
        .apps
        .iter_mut()
        .find(|a| a.client_id == wk::CONSOLE_CLIENT_ID)
        .unwrap();
    app.role_assignments
        .entry(id.to_string())
        .or_default()
        .push("ppgov.Admin".into());
}

fn journal_len(run: &Running) -> usize {
    Store::open(&run.store)
        .unwrap()
        .journal(None)
        .unwrap()
        .len()
}

/// Posts a plan through the submit form, with a fresh token.
async fn submit(run: &Running, b: &mut Browser, json: &str) -> Answer {
    let t = &run.tenant;
    let list = b.get(&run.url(&format!("/t/{t}/plans"))).await;
    assert_eq!(list.status, StatusCode::OK, "{}", list.body);
    let token = csrf_after(&list.body, "id=\"submit-plan\"");
    b.post(
        &run.url(&format!("/t/{t}/plans")),
        &[("csrf", &token), ("plan", json)],
    )
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_plan_is_submitted_approved_by_another_admin_and_applied_once() {
    let emu = emulator().await;
    make_admin(&emu, "console.reviewer");
    let dir = tempfile::tempdir().unwrap();
    let run = start(&emu, dir.path(), "").await;
    crawled(&run.server).await;
    let t = run.tenant.clone();

    // A plan ppgov_act makes for the emulated tenant, by the emulator's admin user: let a
    // connector some policy blocks be used in an environment (PPG-ACT-005 steps).
    let store = Store::open(&run.store).unwrap();
    let info = store.latest_snapshot(&t, true).unwrap().unwrap();
    let snap = store.load_snapshot(&info.id).unwrap();
    let (env, connector) = snap
        .environments
        .iter()
        .find_map(|e| {
            snap.dlp_policies
                .iter()
                .filter(|p| ppgov_engine::dlp::applies_to(p, &e.id))
                .find_map(|p| {
                    p.connectors
                        .iter()
                        .find(|(_, g)| **g == DlpGroup::Blocked)
                        .map(|(k, _)| (e.id.clone(), k.clone()))
                })
        })
        .expect("the scenario blocks a connector somewhere");
    drop(store);
    let conn =
        ppgov_client::connect(&run.config, ppgov_client::TransportConfig::default()).unwrap();
    let ctx = ppgov_act::Ctx::new(conn.clients.clone());
    let planned = ppgov_act::request::allow_connector(&ctx, &env, &connector, "Internal", "test")
        .await
        .unwrap();
    assert!(!planned.steps.is_empty(), "{:?}", planned.notes);
    let admin_id = Identity {
        kind: "user".into(),
        name: emu.ready().username.clone(),
        tenant: t.clone(),
    };
    let plan = Plan::new(&t, admin_id.clone(), "console test", planned.steps.clone()).unwrap();
    let json = plan.to_json().unwrap();
    let steps = plan.steps.len();

    let (mut admin, landed) = run
        .sign_in(&emu.ready().username, &emu.ready().password)
        .await;
    assert_eq!(landed.status, StatusCode::SEE_OTHER, "{}", landed.body);
    let list = admin.get(&run.url(&format!("/t/{t}/plans"))).await;
    assert!(list.body.contains("id=\"nav-journal\""), "{}", list.body);
    assert!(list.body.contains("id=\"no-plans\""));

    // Bad plans are refused, saying what is wrong; nothing is stored.
    let before_journal = journal_len(&run);
    let r = submit(&run, &mut admin, "{ not a plan").await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert!(r.body.contains("not JSON"), "{}", r.body);
    let tampered = json.replacen("console test", "console test, edited", 1);
    let r = submit(&run, &mut admin, &tampered).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert!(r.body.contains("does not match its digest"), "{}", r.body);
    let foreign = Plan::new(
        "00000000-0000-0000-0000-000000000000",
        admin_id.clone(),
        "other tenant",
        planned.steps.clone(),
    )
    .unwrap();
    let r = submit(&run, &mut admin, &foreign.to_json().unwrap()).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert!(r.body.contains("00000000-0000"), "{}", r.body);
    let mut old = plan.clone();
    old.created_at -= chrono::Duration::hours(24 * 30);
    old.digest = old.compute_digest().unwrap();
    let r = submit(&run, &mut admin, &old.to_json().unwrap()).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert!(r.body.contains("max_plan_age_hours"), "{}", r.body);
    let empty = Plan::new(&t, admin_id.clone(), "nothing", vec![]).unwrap();
    let r = submit(&run, &mut admin, &empty.to_json().unwrap()).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert!(r.body.contains("no steps"), "{}", r.body);
    // A forged post (no form token) is refused.
    let r = admin
        .post(
            &run.url(&format!("/t/{t}/plans")),
            &[("plan", json.as_str())],
        )
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    assert_eq!(journal_len(&run), before_journal, "nothing stored");

    // The admin submits it; submitting it again finds the same plan.
    let r = submit(&run, &mut admin, &json).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let page_path = r.location.unwrap();
    assert_eq!(page_path, format!("/t/{t}/plans/{}", plan.digest));
    let r = submit(&run, &mut admin, &json).await;
    assert_eq!(
        r.location.as_deref(),
        Some(format!("{page_path}?exists=1").as_str())
    );
    assert_eq!(journal_len(&run), before_journal + 1);

    // Its review page: the steps, the author, no approvals, and no Approve for its author.
    let p = admin.get(&run.url(&page_path)).await;
    assert_eq!(p.status, StatusCode::OK, "{}", p.body);
    assert_eq!(p.body.matches("class=\"step\"").count(), steps);
    assert!(p.body.contains("PPG-ACT-005"));
    assert!(
        p.body.contains(&format!("+ &quot;{connector}&quot;")),
        "what changes is shown: {}",
        p.body
    );
    assert_eq!(by_id(&p.body, "approvals"), "none");
    assert_eq!(by_id(&p.body, "plan-status"), "awaiting approval");
    assert!(p.body.contains("id=\"you-wrote-it\""), "{}", p.body);
    assert!(!p.body.contains("id=\"approve-plan\""));
    assert!(!p.body.contains("id=\"apply-plan\""));
    let list = admin.get(&run.url(&format!("/t/{t}/plans"))).await;
    assert!(
        list.body
            .contains(&format!("data-digest=\"{}\"", plan.digest))
    );

    // The server refuses the author's approval and an unapproved apply, form token or not.
    let before = writes(&emu);
    let token = csrf_after(&p.body, "/auth/logout");
    let r = admin
        .post(
            &run.url(&format!("{page_path}/approve")),
            &[("csrf", &token)],
        )
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    assert!(r.body.contains("four eyes"), "{}", r.body);
    let p = admin.get(&run.url(&page_path)).await;
    let token = csrf_after(&p.body, "/auth/logout");
    let r = admin
        .post(&run.url(&format!("{page_path}/apply")), &[("csrf", &token)])
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.body);
    assert_eq!(writes(&emu), before);

    // Viewers and makers see no plans or journal and can do nothing; an auditor reads both
    // but cannot approve.
    for local in ["console.viewer", "console.maker"] {
        let mut b = run.signed_in(local).await;
        for page in [
            format!("/t/{t}/plans"),
            page_path.clone(),
            format!("/t/{t}/journal"),
        ] {
            let r = b.get(&run.url(&page)).await;
            assert_eq!(r.status, StatusCode::FORBIDDEN, "{local} {page}");
        }
        let p = b.get(&run.url(&format!("/t/{t}/requests"))).await;
        assert!(!p.body.contains("id=\"nav-journal\""), "{local}");
        for step in ["approve", "apply"] {
            let p = b.get(&run.url(&format!("/t/{t}/requests"))).await;
            let token = csrf_after(&p.body, "/auth/logout");
            let r = b
                .post(
                    &run.url(&format!("{page_path}/{step}")),
                    &[("csrf", &token)],
                )
                .await;
            assert_eq!(r.status, StatusCode::FORBIDDEN, "{local} {step}");
        }
        let p = b.get(&run.url(&format!("/t/{t}/requests"))).await;
        let token = csrf_after(&p.body, "/auth/logout");
        let r = b
            .post(
                &run.url(&format!("/t/{t}/plans")),
                &[("csrf", &token), ("plan", json.as_str())],
            )
            .await;
        assert_eq!(r.status, StatusCode::FORBIDDEN, "{local} submit");
    }
    let mut auditor = run.signed_in("console.auditor").await;
    let p = auditor.get(&run.url(&page_path)).await;
    assert_eq!(p.status, StatusCode::OK, "{}", p.body);
    assert!(!p.body.contains("id=\"approve-plan\""));
    let token = csrf_after(&p.body, "/auth/logout");
    let r = auditor
        .post(
            &run.url(&format!("{page_path}/approve")),
            &[("csrf", &token)],
        )
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    assert_eq!(writes(&emu), before);

    // A second admin approves (a forged approval first: refused, nothing recorded).
    let mut second = run.signed_in("console.reviewer").await;
    let r = second
        .post(
            &run.url(&format!("{page_path}/approve")),
            &[("csrf", "forged")],
        )
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    let p = second.get(&run.url(&page_path)).await;
    assert_eq!(by_id(&p.body, "approvals"), "none");
    let token = csrf_after(&p.body, "id=\"approve-form\"");
    let r = second
        .post(
            &run.url(&format!("{page_path}/approve")),
            &[("csrf", &token)],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let p = second.get(&run.url(&page_path)).await;
    assert_eq!(by_id(&p.body, "plan-status"), "approved");
    assert!(
        by_id(&p.body, "approvals").contains(&run.persona("console.reviewer")),
        "{}",
        p.body
    );
    assert!(p.body.contains("id=\"you-approved-it\""));
    assert_eq!(writes(&emu), before);

    // The author applies it now: exactly one write per step.
    let p = admin.get(&run.url(&page_path)).await;
    let token = csrf_after(&p.body, "id=\"apply-form\"");
    let r = admin
        .post(&run.url(&format!("{page_path}/apply")), &[("csrf", &token)])
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    assert_eq!(
        writes(&emu) - before,
        steps as u64,
        "one write per step: {:?}",
        emu.write_counts()
    );
    let p = admin.get(&run.url(r.location.as_deref().unwrap())).await;
    assert!(p.body.contains("id=\"applied-now\""), "{}", p.body);
    assert_eq!(by_id(&p.body, "plan-status"), "applied");
    assert!(p.body.matches("data-phase=\"done\"").count() >= steps);

    // A rerun changes nothing: each step is journaled done already.
    let after = writes(&emu);
    let token = csrf_after(&p.body, "id=\"apply-form\"");
    let r = admin
        .post(&run.url(&format!("{page_path}/apply")), &[("csrf", &token)])
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    assert_eq!(writes(&emu), after, "{:?}", emu.write_counts());

    // The journal, newest first, for the auditor: the applied steps, and the chain intact.
    let j = auditor.get(&run.url(&format!("/t/{t}/journal"))).await;
    assert_eq!(j.status, StatusCode::OK, "{}", j.body);
    assert!(j.body.contains("data-chain=\"intact\""), "{}", j.body);
    let done = j
        .body
        .matches("data-phase=\"done\" data-action=\"PPG-ACT-005\"")
        .count();
    assert_eq!(done, steps, "{}", j.body);
    assert!(j.body.contains("data-action=\"approve\""));
    assert!(j.body.contains("data-action=\"submit\""));
    let newest = j.body.find("data-seq=\"").unwrap();
    let total = journal_len(&run);
    assert!(
        j.body[newest..].starts_with(&format!("data-seq=\"{total}\"")),
        "newest first"
    );
    let chain = Store::open(&run.store).unwrap().verify_journal().unwrap();
    assert!(chain.breaks.is_empty(), "{:?}", chain.breaks);
    run.server.shutdown().await;
}

const APPROVED: &str = "6d0b1f38-5a53-4c55-9d51-0a6a7e0c2001";

/// A cleanup plan (PPG-ACT-009, notice first) applied from the console tells the makers through
/// the tenant's `[notify]` sink and changes nothing in the tenant yet: each step becomes an
/// action due when its grace period ends, as `ppgov apply` does it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_plan_that_tells_makers_first_is_noticed_from_the_console_and_changes_nothing_yet() {
    let emu = emulator().await;
    make_admin(&emu, "console.reviewer");
    // Approve the first maker of the default environment: the others' resources are findings.
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
    emu.state()
        .tenant_mut()
        .directory
        .groups
        .push(ppgov_emulator::tenant::Group {
            id: APPROVED.into(),
            display_name: "Approved makers".into(),
            security_enabled: true,
            members: vec![first],
        });
    let hook = receiver::HttpReceiver::start(|_, _| receiver::Response::ok());
    let url = hook.url("/makers");
    let dir = tempfile::tempdir().unwrap();
    let sections = format!(
        "\n[posture]\napproved_makers_group = \"{APPROVED}\"\n\n[remediation]\ndefault_env_cleanup = \"quarantine\"\ngrace_period_hours = 48\n\n[notify]\n\n[[notify.webhooks]]\nname = \"makers\"\nkind = \"generic\"\nurl_env = \"MAKERS_HOOK\"\n"
    );
    let run = start_with(&emu, dir.path(), &sections, &[("MAKERS_HOOK", &url)]).await;
    crawled(&run.server).await;
    let t = run.tenant.clone();

    let store = Store::open(&run.store).unwrap();
    let info = store.latest_snapshot(&t, true).unwrap().unwrap();
    let snap = store.load_snapshot(&info.id).unwrap();
    drop(store);
    let report = ppgov_engine::scan(
        &snap,
        &run.config.posture,
        &ppgov_engine::ScanOptions::default(),
    );
    let conn =
        ppgov_client::connect(&run.config, ppgov_client::TransportConfig::default()).unwrap();
    let ctx = ppgov_act::Ctx::new(conn.clients.clone());
    let planned = ppgov_act::planner::from_findings(
        &ctx,
        &run.config.remediation,
        &t,
        &report.findings,
        &["PPG-DEF-006".to_string()],
    )
    .await
    .unwrap();
    assert!(!planned.steps.is_empty(), "{:?}", planned.notes);
    assert!(planned.steps.iter().all(|s| s.action == "PPG-ACT-009"));
    let author = Identity {
        kind: "user".into(),
        name: emu.ready().username.clone(),
        tenant: t.clone(),
    };
    let plan = Plan::new(&t, author, "cleanup from the console", planned.steps).unwrap();
    assert!(ppgov_act::tells_first(&plan));
    let steps = plan.steps.len();

    let (mut admin, _) = run
        .sign_in(&emu.ready().username, &emu.ready().password)
        .await;
    let r = submit(&run, &mut admin, &plan.to_json().unwrap()).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let page_path = r.location.unwrap();
    let mut second = run.signed_in("console.reviewer").await;
    let p = second.get(&run.url(&page_path)).await;
    let token = csrf_after(&p.body, "id=\"approve-form\"");
    let r = second
        .post(
            &run.url(&format!("{page_path}/approve")),
            &[("csrf", &token)],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);

    let before = writes(&emu);
    let p = admin.get(&run.url(&page_path)).await;
    let token = csrf_after(&p.body, "id=\"apply-form\"");
    let r = admin
        .post(&run.url(&format!("{page_path}/apply")), &[("csrf", &token)])
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    assert_eq!(
        writes(&emu),
        before,
        "nothing changes before the grace period"
    );
    // Every maker told, at the webhook; every step due in 48 hours.
    let told: std::collections::BTreeSet<String> = hook
        .requests()
        .iter()
        .map(|r| {
            r.json()["recipient"]
                .as_str()
                .unwrap_or_default()
                .to_string()
        })
        .collect();
    let recipients: std::collections::BTreeSet<String> = plan
        .steps
        .iter()
        .flat_map(|s| s.grace.as_ref().unwrap().recipients.clone())
        .collect();
    assert_eq!(told, recipients);
    let due = Store::open(&run.store)
        .unwrap()
        .due_actions(&t, None)
        .unwrap();
    assert_eq!(due.len(), steps, "one due action per step");
    let now = chrono::DateTime::from_timestamp_millis(run.clock.now_ms()).unwrap();
    assert!(
        due.iter()
            .all(|d| d.due_at > now + chrono::Duration::hours(47))
    );
    let journal = Store::open(&run.store).unwrap().journal(None).unwrap();
    assert_eq!(
        journal
            .iter()
            .filter(|e| e.entry.action == "PPG-ACT-009"
                && e.entry.phase == ppgov_store::JournalPhase::Done)
            .count(),
        steps
    );
    run.server.shutdown().await;
}
