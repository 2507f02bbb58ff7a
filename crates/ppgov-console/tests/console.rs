//! The console on `ppgov serve` against the emulator, signed in through the emulated Entra the
//! way a browser does (redirects followed by hand, cookies kept): every route refuses what the
//! role may not do, forged and replayed forms are refused, sessions end, failed sign-ins say
//! why, and the overview shows the numbers of the scan the crawl job saved.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::*;
use ppgov_emulator::scenario::wellknown as wk;
use ppgov_store::Store;
use reqwest::StatusCode;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_role_gets_what_it_may_and_the_server_refuses_the_rest() {
    let emu = emulator().await;
    let dir = tempfile::tempdir().unwrap();
    let run = start(&emu, dir.path(), "session_minutes = 60").await;
    crawled(&run.server).await;
    let t = run.tenant.clone();
    let overview = format!("/t/{t}");

    // Not signed in: pages go to sign-in, posts are refused.
    let mut anon = Browser::new();
    let a = anon.get(&run.url(&overview)).await;
    assert_eq!(a.status, StatusCode::SEE_OTHER);
    assert_eq!(
        a.location.as_deref(),
        Some(format!("/auth/login?return_to=%2Ft%2F{t}").as_str())
    );
    let a = anon
        .post(&run.url(&format!("{overview}/jobs")), &[("kind", "crawl")])
        .await;
    assert_eq!(a.status, StatusCode::UNAUTHORIZED);
    let landing = anon.get(&run.url("/")).await;
    assert!(landing.body.contains("id=\"sign-in\""));

    // Every reading role sees the overview, findings and alerts; the maker does not.
    for local in [
        "console.viewer",
        "console.auditor",
        "console.reviewer",
        "console.approver",
    ] {
        let mut b = run.signed_in(local).await;
        for page in [
            overview.clone(),
            format!("{overview}/findings"),
            format!("{overview}/alerts"),
            format!("{overview}/inventory"),
            format!("{overview}/mine"),
            format!("{overview}/suppressions"),
        ] {
            let p = b.get(&run.url(&page)).await;
            assert_eq!(p.status, StatusCode::OK, "{local} {page}: {}", p.body);
        }
        // The remediation journal and plans: every reading role but the viewer.
        for page in [format!("{overview}/journal"), format!("{overview}/plans")] {
            let p = b.get(&run.url(&page)).await;
            let want = if local == "console.viewer" {
                StatusCode::FORBIDDEN
            } else {
                StatusCode::OK
            };
            assert_eq!(p.status, want, "{local} {page}: {}", p.body);
        }
        // Audit search: every reading role but the viewer; the evidence: the auditor only.
        for (page, may) in [
            (format!("{overview}/audit"), local != "console.viewer"),
            (
                format!("{overview}/audit/export?format=csv"),
                local != "console.viewer",
            ),
            (format!("{overview}/evidence"), local == "console.auditor"),
            (
                format!("{overview}/evidence.zip"),
                local == "console.auditor",
            ),
        ] {
            let p = b.get(&run.url(&page)).await;
            let want = if may {
                StatusCode::OK
            } else {
                StatusCode::FORBIDDEN
            };
            assert_eq!(p.status, want, "{local} {page}: {}", p.body);
        }
        let p = b.get(&run.url(&overview)).await;
        assert!(
            !p.body.contains("id=\"run-crawl\""),
            "{local} is offered no job"
        );
        // The server refuses a job even with a form token of the session (the sign-out one).
        let token = csrf_after(&p.body, "/auth/logout");
        let r = b
            .post(
                &run.url(&format!("{overview}/jobs")),
                &[("kind", "crawl"), ("csrf", &token)],
            )
            .await;
        assert_eq!(r.status, StatusCode::FORBIDDEN, "{local}");
        assert!(r.body.contains("you may not run jobs"), "{}", r.body);
    }
    let mut maker = run.signed_in("console.maker").await;
    let p = maker.get(&run.url(&overview)).await;
    assert_eq!(
        p.status,
        StatusCode::SEE_OTHER,
        "a maker starts at their requests"
    );
    assert_eq!(
        p.location.as_deref(),
        Some(format!("{overview}/requests").as_str())
    );
    for page in [
        format!("{overview}/findings"),
        format!("{overview}/alerts"),
        format!("{overview}/inventory"),
        format!("{overview}/journal"),
        format!("{overview}/plans"),
        format!("{overview}/audit"),
        format!("{overview}/audit/export?format=ndjson"),
        format!("{overview}/evidence"),
        format!("{overview}/evidence.zip"),
        format!("{overview}/suppressions"),
    ] {
        let p = maker.get(&run.url(&page)).await;
        assert_eq!(p.status, StatusCode::FORBIDDEN, "maker {page}");
    }
    // Suppressing and revoking: never a maker (tests/suppress.rs has the rest).
    for post in [
        format!("{overview}/findings/suppress"),
        format!("{overview}/suppressions/1/revoke"),
    ] {
        let p = maker.post(&run.url(&post), &[]).await;
        assert_eq!(p.status, StatusCode::FORBIDDEN, "maker {post}");
    }
    let p = maker.get(&run.url(&format!("{overview}/mine"))).await;
    assert_eq!(p.status, StatusCode::OK, "maker /mine: {}", p.body);
    // A tenant that is not served.
    let p = maker.get(&run.url("/t/not-a-tenant")).await;
    assert_eq!(p.status, StatusCode::NOT_FOUND);

    // The admin runs a job; the same form again (replayed), a form without a token or with
    // another session's token (forged), and one from another origin are refused.
    let before = run.jobs("digest");
    let (mut admin, landed) = run
        .sign_in(&emu.ready().username, &emu.ready().password)
        .await;
    assert_eq!(landed.status, StatusCode::SEE_OTHER, "{}", landed.body);
    let page = admin.get(&run.url(&overview)).await;
    assert!(page.body.contains("id=\"run-digest\""), "{}", page.body);
    let token = csrf_after(&page.body, "value=\"digest\"");
    let jobs = run.url(&format!("{overview}/jobs"));
    let ok = admin
        .post(&jobs, &[("csrf", &token), ("kind", "digest")])
        .await;
    assert_eq!(ok.status, StatusCode::SEE_OTHER, "{}", ok.body);
    assert!(
        ok.location
            .unwrap()
            .starts_with(&format!("{overview}?queued="))
    );
    assert_eq!(run.jobs("digest"), before + 1);
    let replay = admin
        .post(&jobs, &[("csrf", &token), ("kind", "digest")])
        .await;
    assert_eq!(replay.status, StatusCode::FORBIDDEN);
    let forged = admin.post(&jobs, &[("kind", "digest")]).await;
    assert_eq!(forged.status, StatusCode::FORBIDDEN);
    let other = maker.get(&run.url("/")).await;
    assert_eq!(other.status, StatusCode::SEE_OTHER);
    let page = admin.get(&run.url(&overview)).await;
    let fresh = csrf_after(&page.body, "value=\"digest\"");
    let r = admin
        .take(
            admin
                .http
                .post(&jobs)
                .header("origin", "https://evil.example")
                .form(&[("csrf", fresh.as_str()), ("kind", "digest")]),
        )
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "another origin");
    assert_eq!(
        run.jobs("digest"),
        before + 1,
        "no refused form queued a job"
    );

    // Security headers on every page.
    let p = admin.get(&run.url(&overview)).await;
    let csp = p.headers["content-security-policy"].to_str().unwrap();
    assert!(
        csp.contains("default-src 'none'") && csp.contains("frame-ancestors 'none'"),
        "{csp}"
    );
    assert_eq!(p.headers["x-frame-options"], "DENY");
    assert_eq!(p.headers["cache-control"], "no-store");
    let session = admin.cookies.get("ppgov_session").unwrap().clone();
    assert_eq!(session.len(), 43);
    assert!(
        !p.body.contains(&session),
        "the session id never reaches a page"
    );
    assert!(!p.body.contains(wk::CONSOLE_CLIENT_SECRET));

    // Sign-out ends the session on the server, not only in the browser.
    let token = csrf_after(&p.body, "/auth/logout");
    let out = admin
        .post(&run.url("/auth/logout"), &[("csrf", &token)])
        .await;
    assert_eq!(out.status, StatusCode::SEE_OTHER);
    let mut replayed = Browser::new();
    replayed.cookies.insert("ppgov_session".into(), session);
    assert_eq!(
        replayed.get(&run.url(&overview)).await.status,
        StatusCode::SEE_OTHER
    );

    // Sessions end after session_minutes on the server's clock.
    let mut viewer = run.signed_in("console.viewer").await;
    assert_eq!(viewer.get(&run.url(&overview)).await.status, StatusCode::OK);
    run.clock.advance(61 * 60 * 1000);
    assert_eq!(
        viewer.get(&run.url(&overview)).await.status,
        StatusCode::SEE_OTHER
    );
    run.server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failed_or_forged_sign_ins_are_refused_with_the_reason() {
    let emu = emulator().await;
    let dir = tempfile::tempdir().unwrap();
    let run = start(&emu, dir.path(), "").await;

    // A wrong password stays on Entra's page; no callback.
    let (_, page) = run.sign_in(&run.persona("console.viewer"), "wrong").await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.body.contains("incorrect"));

    // A callback delivered to another browser (login CSRF), or used twice, is refused.
    let mut b = Browser::new();
    let start = b.get(&run.url("/auth/login")).await;
    let page = b.get(start.location.as_deref().unwrap()).await;
    let mut form = inputs(&page.body, "type=\"hidden\"");
    form.push(("login".into(), run.persona("console.viewer")));
    form.push(("passwd".into(), wk::ADMIN_PASSWORD.into()));
    let pairs: Vec<(&str, &str)> = form.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let posted = b
        .post(
            &format!("{}/{}/oauth2/v2.0/authorize", run.emu, run.tenant),
            &pairs,
        )
        .await;
    let callback = posted.location.unwrap();
    let mut other = Browser::new();
    let r = other.get(&callback).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert!(r.body.contains("not started in this browser"), "{}", r.body);
    // The refusal spent the pending sign-in: the right browser cannot finish it now either.
    let r = b.get(&callback).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);

    // Entra's refusal is shown with its reason.
    let r = b
        .get(&run.url(
            "/auth/callback?error=access_denied&error_description=AADSTS50105%3A+not+assigned",
        ))
        .await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    assert!(r.body.contains("AADSTS50105"), "{}", r.body);
    // A tampered state or a bare callback.
    assert_eq!(
        b.get(&run.url("/auth/callback?code=x&state=y"))
            .await
            .status,
        StatusCode::BAD_REQUEST
    );
    assert_eq!(
        b.get(&run.url("/auth/callback")).await.status,
        StatusCode::BAD_REQUEST
    );
    run.server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_overview_and_findings_show_the_numbers_of_the_saved_scan() {
    let emu = emulator().await;
    let dir = tempfile::tempdir().unwrap();
    let run = start(&emu, dir.path(), "").await;
    crawled(&run.server).await;
    let store = Store::open(&run.store).unwrap();
    let report = store
        .previous_scan(&run.tenant, None)
        .unwrap()
        .expect("a scan");
    assert!(report.summary.total > 0, "the scenario plants findings");
    let mut b = run.signed_in("console.auditor").await;
    let page = b.get(&run.url(&format!("/t/{}", run.tenant))).await;
    assert_eq!(by_id(&page.body, "total"), report.summary.total.to_string());
    assert_eq!(
        by_id(&page.body, "suppressed"),
        report.summary.suppressed.to_string()
    );
    for (sev, n) in &report.summary.by_severity {
        assert_eq!(
            data_cell(&page.body, "data-severity", sev),
            n.to_string(),
            "{sev}"
        );
    }
    for a in ppgov_report::posture_scores(&report) {
        let want = a.score.map_or("n/a".to_string(), |s| s.to_string());
        assert_eq!(
            data_cell(&page.body, "data-area", &a.area),
            want,
            "{}",
            a.area
        );
    }
    assert_eq!(by_id(&page.body, "scan-snapshot"), report.snapshot_id);

    // Findings: all, then filtered by severity and by rule.
    let all = b
        .get(&run.url(&format!("/t/{}/findings", run.tenant)))
        .await;
    let rows = all.body.matches("class=\"finding\"").count();
    assert_eq!(rows, report.findings.len());
    let high = report
        .findings
        .iter()
        .filter(|f| f.severity.as_str() == "high")
        .count();
    let p = b
        .get(&run.url(&format!("/t/{}/findings?severity=high", run.tenant)))
        .await;
    assert_eq!(p.body.matches("class=\"finding\"").count(), high);
    let rule = report.findings[0].rule_id.clone();
    let n = report.findings.iter().filter(|f| f.rule_id == rule).count();
    let p = b
        .get(&run.url(&format!("/t/{}/findings?rule={rule}", run.tenant)))
        .await;
    assert_eq!(p.body.matches("class=\"finding\"").count(), n);
    run.server.shutdown().await;
}
