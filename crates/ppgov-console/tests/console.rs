//! The console on `ppgov serve` against the emulator, signed in through the emulated Entra the
//! way a browser does (redirects followed by hand, cookies kept): every route refuses what the
//! role may not do, forged and replayed forms are refused, sessions end, failed sign-ins say
//! why, and the overview shows the numbers of the scan the crawl job saved.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use ppgov_emulator::scenario::wellknown as wk;
use ppgov_emulator::server::{Emulator, ServeOptions as EmuOptions};
use ppgov_emulator::tenant::Size;
use ppgov_serve::{JobEvent, ManualClock, RunEnd, ServeOptions, Server, Tenant};
use ppgov_store::{JobFilter, JobQueue, Store};
use reqwest::StatusCode;
use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;

async fn emulator() -> Emulator {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    Emulator::start(
        listener,
        EmuOptions {
            size: Size::Small,
            seed: 5,
            ..Default::default()
        },
    )
    .await
    .unwrap()
}

fn config(dir: &Path, emu: &Emulator, console: &str) -> ppgov_config::Config {
    let r = emu.ready();
    let u = &r.url;
    let text = format!(
        "[tenant]\nid = \"{}\"\nname = \"Contoso\"\n\n[auth]\nmethod = \"client_secret\"\nclient_id = \"{}\"\nclient_secret = \"{}\"\n\n[endpoints]\nlogin = \"{u}\"\nbap = \"{u}\"\npowerapps = \"{u}\"\nflow = \"{u}\"\npowerplatform = \"{u}\"\ngraph = \"{u}\"\nmanagement = \"{u}\"\n\n[store]\npath = \"{}\"\n\n[console]\nclient_id = \"{}\"\n{console}\n",
        r.tenant_id,
        r.client_id,
        r.client_secret,
        dir.join("store").display(),
        wk::CONSOLE_CLIENT_ID,
    );
    let path = dir.join("ppgov.toml");
    std::fs::write(&path, text).unwrap();
    ppgov_config::validate(&ppgov_config::ConfigSources {
        file: Some(path),
        env: BTreeMap::new(),
        flags: ppgov_config::Flags::default(),
    })
    .unwrap()
}

struct Running {
    server: Server,
    clock: Arc<ManualClock>,
    base: String,
    emu: String,
    domain: String,
    tenant: String,
    store: std::path::PathBuf,
}

async fn start(emu: &Emulator, dir: &Path, console: &str) -> Running {
    let config = config(dir, emu, console);
    let clock = ManualClock::new(chrono::Utc::now().timestamp_millis());
    let setup = ppgov_console::ConsoleSetup::from_configs(std::slice::from_ref(&config), &|v| {
        (v == "PPGOV_CONSOLE_SECRET").then(|| wk::CONSOLE_CLIENT_SECRET.to_string())
    })
    .unwrap()
    .expect("[console] is configured");
    let queue = Store::open(&config.store.path).unwrap();
    let server = Server::start(
        vec![Tenant::new(config.clone(), &|_| None)],
        Box::new(queue),
        ServeOptions {
            listen: "127.0.0.1:0".parse().unwrap(),
            clock: clock.clone(),
            instance: "test".into(),
            workers: 2,
            lease_ms: 300_000,
            poll_ms: 60_000,
            api_tokens: vec![],
            extra_routes: Some(ppgov_console::routes(setup).unwrap()),
        },
    )
    .await
    .unwrap();
    let r = emu.ready();
    Running {
        base: format!("http://{}", server.addr()),
        clock,
        server,
        emu: r.url.clone(),
        domain: r.username.split('@').nth(1).unwrap().to_string(),
        tenant: config.tenant.id.clone(),
        store: config.store.path.clone(),
    }
}

/// A browser's part of HTTP: cookies kept per name, redirects followed by the test.
#[derive(Default)]
struct Browser {
    http: reqwest::Client,
    cookies: BTreeMap<String, String>,
}

struct Answer {
    status: StatusCode,
    location: Option<String>,
    body: String,
    headers: reqwest::header::HeaderMap,
}

impl Browser {
    fn new() -> Browser {
        Browser {
            http: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .unwrap(),
            cookies: BTreeMap::new(),
        }
    }

    fn cookie_header(&self) -> String {
        self.cookies
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join("; ")
    }

    async fn take(&mut self, r: reqwest::RequestBuilder) -> Answer {
        let r = if self.cookies.is_empty() {
            r
        } else {
            r.header("cookie", self.cookie_header())
        };
        let resp = r.send().await.unwrap();
        for v in resp.headers().get_all("set-cookie") {
            let v = v.to_str().unwrap();
            let (pair, attrs) = v.split_once(';').unwrap_or((v, ""));
            let (k, val) = pair.split_once('=').unwrap();
            if attrs.contains("Max-Age=0") {
                self.cookies.remove(k);
            } else {
                self.cookies.insert(k.to_string(), val.to_string());
            }
        }
        Answer {
            status: resp.status(),
            location: resp
                .headers()
                .get("location")
                .map(|l| l.to_str().unwrap().to_string()),
            headers: resp.headers().clone(),
            body: resp.text().await.unwrap(),
        }
    }

    async fn get(&mut self, url: &str) -> Answer {
        let r = self.http.get(url);
        self.take(r).await
    }

    async fn post(&mut self, url: &str, form: &[(&str, &str)]) -> Answer {
        let r = self.http.post(url).form(form);
        self.take(r).await
    }
}

fn unescape(s: &str) -> String {
    s.replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&#x2f;", "/")
        .replace("&amp;", "&")
}

/// `name="..." value="..."` of every input in `html` with the given attribute text.
fn inputs(html: &str, marker: &str) -> Vec<(String, String)> {
    html.split("<input")
        .skip(1)
        .filter(|i| i.contains(marker))
        .filter_map(|i| {
            let attr = |a: &str| {
                let start = i.find(&format!("{a}=\""))? + a.len() + 2;
                let end = i[start..].find('"')? + start;
                Some(unescape(&i[start..end]))
            };
            Some((attr("name")?, attr("value").unwrap_or_default()))
        })
        .collect()
}

/// The value of the first `name="csrf"` input after `after` in `html`.
fn csrf_after(html: &str, after: &str) -> String {
    let at = html
        .find(after)
        .unwrap_or_else(|| panic!("no {after} in\n{html}"));
    inputs(&html[at..], "name=\"csrf\"")
        .into_iter()
        .next()
        .unwrap()
        .1
}

impl Running {
    fn persona(&self, local: &str) -> String {
        format!("{local}@{}", self.domain)
    }

    /// Signs `login` in; returns the browser and where it landed.
    async fn sign_in(&self, login: &str, password: &str) -> (Browser, Answer) {
        let mut b = Browser::new();
        let start = b
            .get(&format!(
                "{}/auth/login?return_to=/t/{}",
                self.base, self.tenant
            ))
            .await;
        assert_eq!(start.status, StatusCode::FOUND, "{}", start.body);
        let authorize = start.location.unwrap();
        assert!(authorize.starts_with(&self.emu), "{authorize}");
        assert!(
            authorize.contains("code_challenge_method=S256"),
            "{authorize}"
        );
        let page = b.get(&authorize).await;
        assert_eq!(page.status, StatusCode::OK, "{}", page.body);
        let mut form = inputs(&page.body, "type=\"hidden\"");
        form.push(("login".into(), login.into()));
        form.push(("passwd".into(), password.into()));
        let pairs: Vec<(&str, &str)> = form.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        let posted = b
            .post(
                &format!("{}/{}/oauth2/v2.0/authorize", self.emu, self.tenant),
                &pairs,
            )
            .await;
        let Some(callback) = posted.location.clone() else {
            return (b, posted);
        };
        let landed = b.get(&callback).await;
        (b, landed)
    }

    async fn signed_in(&self, local: &str) -> Browser {
        let (b, landed) = self.sign_in(&self.persona(local), wk::ADMIN_PASSWORD).await;
        assert_eq!(
            landed.status,
            StatusCode::SEE_OTHER,
            "{local}: {}",
            landed.body
        );
        assert_eq!(
            landed.location.as_deref(),
            Some(format!("/t/{}", self.tenant).as_str())
        );
        b
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    fn jobs(&self, kind: &str) -> usize {
        let mut store = Store::open(&self.store).unwrap();
        store
            .list_jobs(&JobFilter {
                kind: Some(kind.into()),
                ..JobFilter::default()
            })
            .unwrap()
            .len()
    }
}

/// Waits for the first start's crawl to end; a guard against a hang, not a timing check.
async fn crawled(server: &Server) {
    let mut rx = server.events();
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

/// The text of the element with `id="..."`.
fn by_id(html: &str, id: &str) -> String {
    let at = html
        .find(&format!("id=\"{id}\""))
        .unwrap_or_else(|| panic!("no #{id} in\n{html}"));
    let start = html[at..].find('>').unwrap() + at + 1;
    let end = html[start..].find('<').unwrap() + start;
    html[start..end].trim().to_string()
}

fn data_cell(html: &str, attr: &str, value: &str) -> String {
    let at = html
        .find(&format!("{attr}=\"{value}\""))
        .unwrap_or_else(|| panic!("no {attr}={value}"));
    let start = html[at..].find('>').unwrap() + at + 1;
    let end = html[start..].find('<').unwrap() + start;
    html[start..end].trim().to_string()
}

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
        ] {
            let p = b.get(&run.url(&page)).await;
            assert_eq!(p.status, StatusCode::OK, "{local} {page}: {}", p.body);
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
    for page in [
        overview.clone(),
        format!("{overview}/findings"),
        format!("{overview}/alerts"),
    ] {
        let p = maker.get(&run.url(&page)).await;
        assert_eq!(p.status, StatusCode::FORBIDDEN, "maker {page}");
    }
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
