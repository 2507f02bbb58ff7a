//! Suppressions recorded in the console: a security reviewer suppresses a finding of the saved
//! scan with a justification and an expiry (recorded with who and when), the next scan the
//! server's crawl job runs honours it exactly as the engine does with the stored rows, refused
//! roles and bad forms say why, a revocation brings the finding back at the next scan, and the
//! findings page's owner filter returns the findings on what the snapshot says a person owns.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use chrono::{DateTime, Days, NaiveDate};
use common::*;
use ppgov_core::{Finding, ResourceKind, ScanReport, Snapshot};
use ppgov_engine::ScanOptions;
use ppgov_serve::{Clock, JobEvent, RunEnd};
use ppgov_store::{Store, StoredSuppression};
use reqwest::StatusCode;
use std::collections::BTreeSet;

fn today(run: &Running) -> NaiveDate {
    DateTime::from_timestamp_millis(run.clock.now_ms())
        .unwrap()
        .date_naive()
}

fn saved(run: &Running) -> (Snapshot, ScanReport, Vec<StoredSuppression>) {
    let store = Store::open(&run.store).unwrap();
    let info = store.latest_snapshot(&run.tenant, true).unwrap().unwrap();
    let snap = store.load_snapshot(&info.id).unwrap();
    let scan = store.previous_scan(&run.tenant, None).unwrap().unwrap();
    let rows = store.suppressions(&run.tenant).unwrap();
    (snap, scan, rows)
}

/// The engine's own judgement of a snapshot with the posture and the tenant's live rows.
fn engine(run: &Running, snap: &Snapshot, rows: &[StoredSuppression]) -> ScanReport {
    let live: Vec<&StoredSuppression> = rows.iter().filter(|r| r.is_live()).collect();
    let posture =
        ppgov_engine::with_stored_suppressions(&run.config.posture, live.iter().map(|r| r.entry()));
    ppgov_engine::scan(snap, &posture, &ScanOptions::default())
}

/// An admin runs the crawl job (which scans what it crawled) and waits for it to end.
async fn rescan(run: &Running, admin: &mut Browser) {
    run.clock.advance(1_000);
    let t = &run.tenant;
    let page = admin.get(&run.url(&format!("/t/{t}"))).await;
    let token = csrf_after(&page.body, "value=\"crawl\"");
    let mut rx = run.server.events();
    let r = admin
        .post(
            &run.url(&format!("/t/{t}/jobs")),
            &[("csrf", &token), ("kind", "crawl")],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    loop {
        let e: JobEvent = tokio::time::timeout(std::time::Duration::from_secs(600), rx.recv())
            .await
            .expect("the crawl ended")
            .unwrap();
        if e.key.kind == "crawl" {
            assert_eq!(e.end, RunEnd::Done, "{}", e.summary);
            return;
        }
    }
}

fn same(f: &Finding, rule: &str, resource: &str) -> bool {
    f.rule_id == rule && f.resource.id == resource
}

/// A fresh suppress-form token from the findings page.
async fn suppress_token(run: &Running, b: &mut Browser) -> String {
    let page = b
        .get(&run.url(&format!("/t/{}/findings", run.tenant)))
        .await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    csrf_after(&page.body, "class=\"suppress-form\"")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reviewers_suppress_and_revoke_and_the_next_scan_honours_it() {
    let emu = emulator().await;
    let dir = tempfile::tempdir().unwrap();
    let run = start(&emu, dir.path(), "session_minutes = 600").await;
    crawled(&run.server).await;
    let t = run.tenant.clone();
    let suppress = run.url(&format!("/t/{t}/findings/suppress"));
    let (_, before, _) = saved(&run);
    let target = before
        .findings
        .iter()
        .find(|f| f.suppressed.is_none())
        .expect("the scan has findings")
        .clone();
    let (rule, resource) = (target.rule_id.clone(), target.resource.id.clone());
    let later = today(&run).checked_add_days(Days::new(30)).unwrap();
    let later_s = later.to_string();

    // A viewer and a maker are refused, and are offered no form.
    for local in ["console.viewer", "console.maker"] {
        let mut b = run.signed_in(local).await;
        let page = b.get(&run.url(&format!("/t/{t}/mine"))).await;
        let token = csrf_after(&page.body, "/auth/logout");
        let r = b
            .post(
                &suppress,
                &[
                    ("csrf", &token),
                    ("rule", &rule),
                    ("resource", &resource),
                    ("justification", "mine"),
                    ("expires", &later_s),
                ],
            )
            .await;
        assert_eq!(r.status, StatusCode::FORBIDDEN, "{local}: {}", r.body);
        assert!(
            r.body.contains("you may not suppress findings"),
            "{}",
            r.body
        );
    }
    let mut viewer = run.signed_in("console.viewer").await;
    let page = viewer.get(&run.url(&format!("/t/{t}/findings"))).await;
    assert!(!page.body.contains("suppress-form"), "no form for a viewer");

    // Bad forms from the reviewer, each with a clear message.
    let mut reviewer = run.signed_in("console.reviewer").await;
    let past = today(&run).pred_opt().unwrap().to_string();
    let far = today(&run)
        .checked_add_days(Days::new(367))
        .unwrap()
        .to_string();
    for (why, rule_v, just, exp, status, says) in [
        (
            "no justification",
            rule.as_str(),
            "  ",
            later_s.as_str(),
            StatusCode::BAD_REQUEST,
            "a justification is required",
        ),
        (
            "past expiry",
            rule.as_str(),
            "accepted",
            past.as_str(),
            StatusCode::BAD_REQUEST,
            "is in the past",
        ),
        (
            "expiry too far",
            rule.as_str(),
            "accepted",
            far.as_str(),
            StatusCode::BAD_REQUEST,
            "too far ahead",
        ),
        (
            "no expiry",
            rule.as_str(),
            "accepted",
            "",
            StatusCode::BAD_REQUEST,
            "an expiry date is required",
        ),
        (
            "unknown rule",
            "PPG-NOPE-999",
            "accepted",
            later_s.as_str(),
            StatusCode::BAD_REQUEST,
            "has no finding of rule `PPG-NOPE-999`",
        ),
    ] {
        let token = suppress_token(&run, &mut reviewer).await;
        let r = reviewer
            .post(
                &suppress,
                &[
                    ("csrf", &token),
                    ("rule", rule_v),
                    ("resource", &resource),
                    ("justification", just),
                    ("expires", exp),
                ],
            )
            .await;
        assert_eq!(r.status, status, "{why}: {}", r.body);
        assert!(unescape(&r.body).contains(says), "{why}: {}", r.body);
    }
    let token = suppress_token(&run, &mut reviewer).await;
    let r = reviewer
        .post(
            &suppress,
            &[
                ("csrf", &token),
                ("rule", &rule),
                ("resource", "no-such-resource"),
                ("justification", "accepted"),
                ("expires", &later_s),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.body);
    assert!(r.body.contains("no-such-resource"), "{}", r.body);
    let forged = reviewer
        .post(
            &suppress,
            &[
                ("rule", rule.as_str()),
                ("resource", &resource),
                ("justification", "accepted"),
                ("expires", &later_s),
            ],
        )
        .await;
    assert_eq!(forged.status, StatusCode::FORBIDDEN, "{}", forged.body);
    assert!(
        forged.body.contains("was not issued to your session"),
        "{}",
        forged.body
    );
    assert!(saved(&run).2.is_empty(), "nothing recorded by refusals");

    // The reviewer suppresses it: recorded with who and when.
    let token = suppress_token(&run, &mut reviewer).await;
    let r = reviewer
        .post(
            &suppress,
            &[
                ("csrf", &token),
                ("rule", &rule),
                ("resource", &resource),
                ("justification", "Accepted risk: reviewed with the owner"),
                ("expires", &later_s),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let list = reviewer.get(&run.url(r.location.as_deref().unwrap())).await;
    assert_eq!(list.status, StatusCode::OK);
    assert!(list.body.contains("id=\"added\""), "{}", list.body);
    assert!(
        list.body.contains("data-status=\"active\""),
        "{}",
        list.body
    );
    let rows = saved(&run).2;
    assert_eq!(rows.len(), 1);
    let row = &rows[0];
    assert!(
        row.created_by
            .eq_ignore_ascii_case(&run.persona("console.reviewer")),
        "{}",
        row.created_by
    );
    assert_eq!(row.created_at.timestamp_millis(), run.clock.now_ms());
    assert_eq!((row.rule_id.as_str(), row.expires), (rule.as_str(), later));
    assert!(list.body.contains(&row.created_by), "who is shown");
    // The same finding again while it is suppressed: refused.
    let token = suppress_token(&run, &mut reviewer).await;
    let again = reviewer
        .post(
            &suppress,
            &[
                ("csrf", &token),
                ("rule", &rule),
                ("resource", &resource),
                ("justification", "again"),
                ("expires", &later_s),
            ],
        )
        .await;
    assert_eq!(again.status, StatusCode::CONFLICT, "{}", again.body);
    assert!(again.body.contains("already suppressed"), "{}", again.body);

    // The next scan (the crawl job's) honours it as the engine does.
    let (admin_login, admin_password) =
        (emu.ready().username.clone(), emu.ready().password.clone());
    let (mut admin, landed) = run.sign_in(&admin_login, &admin_password).await;
    assert_eq!(landed.status, StatusCode::SEE_OTHER, "{}", landed.body);
    rescan(&run, &mut admin).await;
    let (snap, after, rows) = saved(&run);
    let plain = engine(&run, &snap, &[]);
    let matching = plain
        .findings
        .iter()
        .filter(|f| same(f, &rule, &resource))
        .count();
    assert!(matching >= 1, "the new snapshot has the finding");
    assert_eq!(after.summary, engine(&run, &snap, &rows).summary);
    assert_eq!(
        after.summary.suppressed,
        plain.summary.suppressed + matching
    );
    assert_eq!(after.summary.total, plain.summary.total - matching);
    for f in after.findings.iter().filter(|f| same(f, &rule, &resource)) {
        let s = f.suppressed.as_ref().expect("suppressed");
        assert_eq!(s.justification, "Accepted risk: reviewed with the owner");
        assert_eq!(s.expires, Some(later));
    }
    let page = reviewer.get(&run.url(&format!("/t/{t}/findings"))).await;
    assert!(
        page.body.contains("data-suppressed=\"yes\""),
        "{}",
        page.body
    );
    assert!(page.body.contains("class=\"console-suppression\""));

    // Revoke: a reason is required; the row stays, and the finding shows at the next scan.
    let revoke = run.url(&format!("/t/{t}/suppressions/{}/revoke", row.id));
    let list = reviewer
        .get(&run.url(&format!("/t/{t}/suppressions")))
        .await;
    let token = csrf_after(&list.body, "class=\"revoke-form\"");
    let r = reviewer
        .post(&revoke, &[("csrf", &token), ("reason", " ")])
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.body);
    assert!(r.body.contains("a reason is required"), "{}", r.body);
    let list = reviewer
        .get(&run.url(&format!("/t/{t}/suppressions")))
        .await;
    let token = csrf_after(&list.body, "class=\"revoke-form\"");
    let r = reviewer
        .post(
            &revoke,
            &[("csrf", &token), ("reason", "the owner fixed nothing")],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let list = reviewer.get(&run.url(r.location.as_deref().unwrap())).await;
    assert!(
        list.body.contains("data-status=\"revoked\""),
        "{}",
        list.body
    );
    let rows = saved(&run).2;
    assert_eq!(rows.len(), 1, "the history is kept");
    assert!(rows[0].revoked_by.is_some() && rows[0].revoked_at.is_some());
    rescan(&run, &mut admin).await;
    let (snap, last, rows) = saved(&run);
    assert_eq!(last.summary, engine(&run, &snap, &rows).summary);
    assert_eq!(last.summary, engine(&run, &snap, &[]).summary);
    assert!(
        last.findings
            .iter()
            .filter(|f| same(f, &rule, &resource))
            .all(|f| f.suppressed.is_none())
    );
}

/// (kind, id) of every app and flow whose owner, creator or Owner access entry is `person`.
fn owned_by(snap: &Snapshot, person: &str) -> BTreeSet<(ResourceKind, String)> {
    let is = |id: &str| id.eq_ignore_ascii_case(person);
    let mut out = BTreeSet::new();
    for a in &snap.apps {
        let access = a.permissions.iter().flatten();
        if a.owner.as_ref().is_some_and(|o| is(&o.id))
            || a.created_by.as_ref().is_some_and(|o| is(&o.id))
            || access
                .clone()
                .any(|p| p.role_name.eq_ignore_ascii_case("owner") && is(&p.principal.id))
        {
            out.insert((ResourceKind::App, a.id.to_lowercase()));
        }
    }
    for f in &snap.flows {
        if f.creator.as_deref().is_some_and(is)
            || f.permissions
                .iter()
                .flatten()
                .any(|p| p.role_name.eq_ignore_ascii_case("owner") && is(&p.principal.id))
        {
            out.insert((ResourceKind::Flow, f.id.to_lowercase()));
        }
    }
    out
}

/// `(rule, resource)` of every finding row of a findings page.
fn rows_of(html: &str) -> Vec<(String, String)> {
    html.split("<tr class=\"finding\"")
        .skip(1)
        .map(|r| {
            let attr = |a: &str| {
                let start = r.find(&format!("{a}=\"")).unwrap() + a.len() + 2;
                let end = r[start..].find('"').unwrap() + start;
                unescape(&r[start..end])
            };
            (attr("data-rule"), attr("data-resource"))
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_owner_filter_returns_the_findings_on_what_that_person_owns() {
    let emu = emulator().await;
    let dir = tempfile::tempdir().unwrap();
    let run = start(&emu, dir.path(), "session_minutes = 600").await;
    crawled(&run.server).await;
    let (snap, scan, _) = saved(&run);
    // Someone who created a flow with findings.
    let person = scan
        .findings
        .iter()
        .filter(|f| f.resource.kind == ResourceKind::Flow)
        .find_map(|f| {
            snap.flows
                .iter()
                .find(|x| x.id.eq_ignore_ascii_case(&f.resource.id))
                .and_then(|x| x.creator.clone())
        })
        .expect("a flow with findings has a creator");
    let owned = owned_by(&snap, &person);
    let mut want: Vec<(String, String)> = scan
        .findings
        .iter()
        .filter(|f| owned.contains(&(f.resource.kind, f.resource.id.to_lowercase())))
        .map(|f| (f.rule_id.clone(), f.resource.id.clone()))
        .collect();
    want.sort();
    assert!(!want.is_empty());
    assert!(want.len() < scan.findings.len(), "the filter narrows");
    let mut b = run.signed_in("console.reviewer").await;
    let page = b
        .get(&run.url(&format!(
            "/t/{}/findings?owner={}",
            run.tenant,
            person.to_uppercase()
        )))
        .await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    let mut got = rows_of(&page.body);
    got.sort();
    assert_eq!(got, want);
    assert_eq!(by_id(&page.body, "shown"), want.len().to_string());
    let none = b
        .get(&run.url(&format!(
            "/t/{}/findings?owner=nobody%40nowhere.example",
            run.tenant
        )))
        .await;
    assert_eq!(by_id(&none.body, "shown"), "0");
}
