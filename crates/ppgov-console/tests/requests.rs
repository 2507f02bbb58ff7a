//! The connector request workflow end to end over HTTP, each person signed in through the
//! emulated Entra: the maker asks, the security reviewer evaluates, the compliance approver
//! approves (the DLP change is drafted as a PPG-ACT-005 plan), an admin approves the plan (its
//! author could not) and applies it; the emulator's DLP policy changed with exactly the plan's
//! writes, every step told the next person through a webhook, and no one could take a step
//! their role does not hold.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use axum::Json;
use axum::routing::post;
use common::*;
use ppgov_core::DlpGroup;
use ppgov_store::Store;
use reqwest::StatusCode;
use serde_json::Value;
use std::sync::{Arc, Mutex};

/// A webhook receiver on loopback that keeps every JSON body it is sent.
async fn receiver() -> (String, Arc<Mutex<Vec<Value>>>) {
    let got: Arc<Mutex<Vec<Value>>> = Arc::default();
    let keep = got.clone();
    let app = axum::Router::new().route(
        "/hook",
        post(move |Json(v): Json<Value>| {
            let keep = keep.clone();
            async move {
                keep.lock().unwrap().push(v);
                "ok"
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/hook", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (url, got)
}

/// Recipients and actions the webhook was told so far.
fn told(got: &Arc<Mutex<Vec<Value>>>) -> Vec<(String, String)> {
    got.lock()
        .unwrap()
        .iter()
        .flat_map(|v| {
            let to = v["recipient"].as_str().unwrap_or("").to_string();
            v["items"]
                .as_array()
                .cloned()
                .unwrap_or_default()
                .into_iter()
                .map(move |i| (to.clone(), i["action"].as_str().unwrap_or("").to_string()))
        })
        .collect()
}

fn writes(emu: &ppgov_emulator::server::Emulator) -> u64 {
    emu.write_counts().values().sum()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_requested_connector_is_evaluated_approved_and_applied_with_four_eyes() {
    let emu = emulator().await;
    let dir = tempfile::tempdir().unwrap();
    let (hook, got) = receiver().await;
    let console = "reviewers = [\"security@contoso.example\"]\napprovers = [\"compliance@contoso.example\"]\nadmins = [\"platform@contoso.example\"]\nrequest_sla_hours = 24\n\n[[notify.webhooks]]\nname = \"hook\"\nkind = \"generic\"\nurl_env = \"HOOK_URL\"\n";
    let run = start_with(&emu, dir.path(), console, &[("HOOK_URL", hook.as_str())]).await;
    crawled(&run.server).await;
    let t = run.tenant.clone();

    // A connector some policy covering an environment blocks today.
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

    // The maker asks. Bad input is refused with the field named, and nothing is saved.
    let mut maker = run.signed_in("console.maker").await;
    let list = maker.get(&run.url(&format!("/t/{t}/requests"))).await;
    assert_eq!(list.status, StatusCode::OK, "{}", list.body);
    let token = csrf_after(&list.body, "id=\"new-request\"");
    let bad = maker
        .post(
            &run.url(&format!("/t/{t}/requests")),
            &[
                ("csrf", &token),
                ("environment", "not-an-env"),
                ("connector", &connector),
                ("justification", "x"),
                ("classification", "Internal"),
            ],
        )
        .await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST);
    assert!(bad.body.contains("environment:"), "{}", bad.body);
    let list = maker.get(&run.url(&format!("/t/{t}/requests"))).await;
    assert!(list.body.contains("id=\"no-requests\""));
    let token = csrf_after(&list.body, "id=\"new-request\"");
    let made = maker
        .post(
            &run.url(&format!("/t/{t}/requests")),
            &[
                ("csrf", &token),
                ("environment", &env),
                ("connector", &connector),
                ("justification", "Marketing campaign replies"),
                ("classification", "Internal"),
            ],
        )
        .await;
    assert_eq!(made.status, StatusCode::SEE_OTHER, "{}", made.body);
    let page_path = made.location.unwrap();
    let id = page_path.rsplit('/').next().unwrap().to_string();
    assert!(
        told(&got)
            .iter()
            .any(|(to, a)| to == "security@contoso.example" && a.contains("evaluate")),
        "{:?}",
        told(&got)
    );

    // The viewer sees it but can take no step: the server refuses, not only the page.
    let mut viewer = run.signed_in("console.viewer").await;
    let p = viewer.get(&run.url(&page_path)).await;
    assert_eq!(p.status, StatusCode::OK);
    assert!(!p.body.contains("id=\"evaluate\""));
    let vt = csrf_after(&p.body, "/auth/logout");
    for step in ["evaluate", "decide", "approve-plan", "apply"] {
        let r = viewer
            .post(
                &run.url(&format!("{page_path}/{step}")),
                &[
                    ("csrf", &vt),
                    ("recommendation", "approve"),
                    ("decision", "approve"),
                ],
            )
            .await;
        assert_eq!(r.status, StatusCode::FORBIDDEN, "viewer {step}");
    }

    // The reviewer sees what the change would do and records the evaluation.
    let mut reviewer = run.signed_in("console.reviewer").await;
    let p = reviewer.get(&run.url(&page_path)).await;
    assert!(
        p.body.contains("What the DLP change would do"),
        "{}",
        p.body
    );
    let token = csrf_after(&p.body, "id=\"evaluate\"");
    let r = reviewer
        .post(
            &run.url(&format!("{page_path}/evaluate")),
            &[
                ("csrf", &token),
                ("certification", "SOC 2"),
                ("certification", "ISO 27001"),
                ("encryption_in_transit", "yes"),
                ("alignment", "GDPR: no personal data"),
                ("recommendation", "approve"),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    // The same form again is refused (its token is spent), and the state moved once.
    let again = reviewer
        .post(
            &run.url(&format!("{page_path}/evaluate")),
            &[("csrf", &token), ("recommendation", "approve")],
        )
        .await;
    assert_eq!(again.status, StatusCode::FORBIDDEN);
    assert!(
        told(&got)
            .iter()
            .any(|(to, _)| to == "compliance@contoso.example")
    );

    // The approver approves: the plan is drafted with the approver as its author, who cannot
    // approve it.
    let mut approver = run.signed_in("console.approver").await;
    let p = approver.get(&run.url(&page_path)).await;
    assert!(p.body.contains("SOC 2, ISO 27001"), "{}", p.body);
    let token = csrf_after(&p.body, "id=\"decide\"");
    let r = approver
        .post(
            &run.url(&format!("{page_path}/decide")),
            &[
                ("csrf", &token),
                ("decision", "approve"),
                ("comment", "ok for campaign"),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let p = approver.get(&run.url(&page_path)).await;
    assert_eq!(by_id(&p.body, "request-state"), "approved");
    assert!(
        p.body.contains("someone else must approve it"),
        "{}",
        p.body
    );
    assert!(!p.body.contains("id=\"approve-plan\""));
    assert!(
        told(&got)
            .iter()
            .any(|(to, a)| *to == run.persona("console.maker") && a.contains("approved")),
        "{:?}",
        told(&got)
    );
    assert!(
        told(&got)
            .iter()
            .any(|(to, _)| to == "platform@contoso.example")
    );

    // The admin cannot apply before approving; approves (four eyes), then applies.
    let before = writes(&emu);
    let (mut admin, landed) = run
        .sign_in(&emu.ready().username, &emu.ready().password)
        .await;
    assert_eq!(landed.status, StatusCode::SEE_OTHER);
    let p = admin.get(&run.url(&page_path)).await;
    assert!(
        !p.body.contains("id=\"apply-plan\""),
        "no apply before an approval"
    );
    let steps = p.body.matches("PPG-ACT-005 on dlp_policy").count();
    assert!(steps >= 1, "{}", p.body);
    let token = csrf_after(&p.body, "approve-plan\"");
    let r = admin
        .post(&run.url(&format!("{page_path}/apply")), &[("csrf", &token)])
        .await;
    assert_eq!(
        r.status,
        StatusCode::FORBIDDEN,
        "an unapproved plan is not applied: {}",
        r.body
    );
    assert_eq!(writes(&emu), before);
    let p = admin.get(&run.url(&page_path)).await;
    let token = csrf_after(&p.body, "approve-plan\"");
    let r = admin
        .post(
            &run.url(&format!("{page_path}/approve-plan")),
            &[("csrf", &token)],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let p = admin.get(&run.url(&page_path)).await;
    let token = csrf_after(&p.body, "/apply\"");
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
    let p = admin.get(&run.url(&page_path)).await;
    assert_eq!(by_id(&p.body, "request-state"), "applied");
    let history = p.body.matches("<li><time>").count();
    assert_eq!(
        history, 5,
        "submitted, evaluated, approved, plan approved, applied: {}",
        p.body
    );
    assert!(
        told(&got)
            .iter()
            .any(|(to, a)| *to == run.persona("console.maker") && a.contains("can now be used"))
    );

    // The live policy has the connector now: planning the same request again changes nothing.
    let conn =
        ppgov_client::connect(&run.config, ppgov_client::TransportConfig::default()).unwrap();
    let ctx = ppgov_act::Ctx::new(conn.clients.clone());
    let again = ppgov_act::request::allow_connector(&ctx, &env, &connector, "Internal", "check")
        .await
        .unwrap();
    assert!(again.steps.is_empty(), "{:?}", again.steps);

    // The maker sees their request; another maker's view would not list it (only own).
    let list = maker.get(&run.url(&format!("/t/{t}/requests"))).await;
    assert!(list.body.contains(&format!("/t/{t}/requests/{id}")));
    run.server.shutdown().await;
}
