//! The web console in a real browser: Debian's Chromium, headless, driven through WebDriver
//! (`chromium-driver`; `scripts/test` installs both) against the `ppgov serve` binary on the
//! emulator. A maker signs in through the emulated Entra and asks for a connector; the security
//! reviewer evaluates; the compliance approver approves; an admin approves the drafted plan and
//! applies it, and the emulator's DLP policy changes. A viewer's forged step, a form without a
//! valid token and a replayed form are refused by the server. The overview shows the numbers of
//! `ppgov scan --format json`, and no console page logs an error in the browser.
//!
//! Set `PPGOV_SCREENSHOTS` to a folder to keep the screenshots (the README's come from here).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::*;
use fantoccini::{Client, ClientBuilder, Locator};
use ppgov_core::DlpGroup;
use ppgov_emulator::scenario::wellknown as wk;
use serde_json::{Value, json};
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;

/// The crawl is daily, so the first start catches up on the last tick and crawls once; the rest
/// is yearly, on a day the test never reaches.
const SETTINGS: &str = "\n[schedule]\ncrawl = \"0 3 * * *\"\nfull_crawl = \"0 3 29 2 *\"\naudit = \"0 3 29 2 *\"\ndue = \"0 3 29 2 *\"\ndigest = \"0 3 29 2 *\"\n";

fn chromedriver() -> PathBuf {
    ["/usr/bin/chromedriver", "/usr/lib/chromium/chromedriver"]
        .iter()
        .map(PathBuf::from)
        .find(|p| p.exists())
        .expect("chromium-driver is needed for the console's browser test: run scripts/test (installs Debian's chromium-driver) or `apt-get install chromium-driver`")
}

/// A child process killed when the test ends, however it ends.
struct Killed(Child);

impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Lines a child writes to `stream`, as they come.
fn lines(stream: impl std::io::Read + Send + 'static) -> mpsc::Receiver<String> {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for l in BufReader::new(stream).lines().map_while(Result::ok) {
            if tx.send(l).is_err() {
                break;
            }
        }
    });
    rx
}

/// The first line `pick` accepts; a guard against a hang, not a timing check.
fn wait_line<T>(
    rx: &mpsc::Receiver<String>,
    what: &str,
    mut pick: impl FnMut(&str) -> Option<T>,
) -> T {
    let mut seen = Vec::new();
    loop {
        match rx.recv_timeout(std::time::Duration::from_secs(600)) {
            Ok(l) => {
                if let Some(v) = pick(&l) {
                    return v;
                }
                seen.push(l);
            }
            Err(_) => panic!("no line with {what}; saw:\n{}", seen.join("\n")),
        }
    }
}

struct Console {
    base: String,
    tenant: String,
    domain: String,
    shots: Option<PathBuf>,
}

impl Console {
    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }
}

/// chromedriver on a free loopback port, and its URL.
fn start_driver() -> (Killed, String) {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mut driver = Command::new(chromedriver())
        .arg(format!("--port={port}"))
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let started = lines(driver.stdout.take().unwrap());
    let driver = Killed(driver);
    wait_line(&started, "chromedriver's start", |l| {
        l.contains("started successfully").then_some(())
    });
    (driver, format!("http://127.0.0.1:{port}"))
}

async fn browser(driver: &str, profile: &Path) -> Client {
    let caps = json!({
        "goog:chromeOptions": {
            "binary": "/usr/bin/chromium",
            "args": [
                "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                "--disable-background-networking", "--disable-component-update", "--disable-sync",
                "--window-size=1280,1000", format!("--user-data-dir={}", profile.display()),
            ],
        },
        "goog:loggingPrefs": { "browser": "ALL" },
    });
    let Value::Object(caps) = caps else {
        unreachable!()
    };
    ClientBuilder::rustls()
        .unwrap()
        .capabilities(caps)
        .connect(driver)
        .await
        .unwrap()
}

/// The element `css` finds; when it finds none, the failure shows the page the browser is on.
async fn element(b: &Client, css: &str) -> fantoccini::elements::Element {
    match b.find(Locator::Css(css)).await {
        Ok(e) => e,
        Err(e) => {
            let url = b
                .current_url()
                .await
                .map(|u| u.to_string())
                .unwrap_or_default();
            let page = b.source().await.unwrap_or_default();
            panic!("{css}: {e}\non {url}:\n{page}")
        }
    }
}

async fn text(b: &Client, css: &str) -> String {
    element(b, css).await.text().await.unwrap()
}

async fn click(b: &Client, css: &str) {
    element(b, css).await.click().await.unwrap();
}

/// Clicks `css`, which leaves the page (a link or a form's button), and waits for the next page.
async fn submit(b: &Client, css: &str) {
    b.execute("document.body.dataset.old = '1'", vec![])
        .await
        .unwrap();
    click(b, css).await;
    b.wait()
        .for_element(Locator::Css("body:not([data-old])"))
        .await
        .unwrap_or_else(|e| panic!("the page after {css}: {e}"));
}

async fn fill(b: &Client, css: &str, value: &str) {
    element(b, css).await.send_keys(value).await.unwrap();
}

/// Signs `login` in through the emulated Entra's page.
async fn sign_in(b: &Client, c: &Console, login: &str, password: &str) {
    b.goto(&c.url("/")).await.unwrap();
    submit(b, "#sign-in").await;
    fill(b, "#i0116", login).await;
    fill(b, "#i0118", password).await;
    submit(b, "#idSIButton9").await;
    // Entra's answer goes through the callback's redirects: wait for the signed-in page.
    let name = b
        .wait()
        .for_element(Locator::Css("#user-name"))
        .await
        .unwrap_or_else(|e| panic!("signed in as {login}: {e}"));
    assert!(!name.text().await.unwrap().is_empty());
    assert!(
        b.current_url().await.unwrap().as_str().starts_with(&c.base),
        "back on the console after sign-in"
    );
}

async fn sign_out(b: &Client) {
    submit(b, "header form button").await;
}

async fn shot(b: &Client, c: &Console, name: &str) {
    let png = b.screenshot().await.unwrap();
    assert!(png.starts_with(b"\x89PNG"), "a screenshot");
    if let Some(dir) = &c.shots {
        std::fs::write(dir.join(name), png).unwrap();
    }
}

/// Posts a form built in the page (as a forger would), carrying `csrf`, and returns the page the
/// server answered with.
async fn post_in_page(b: &Client, action: &str, csrf: &str, fields: &[(&str, &str)]) -> String {
    let fields: Vec<Value> = fields.iter().map(|(k, v)| json!([k, v])).collect();
    b.execute(
        "const [action, csrf, fields] = arguments; const f = document.createElement('form');
         f.method = 'post'; f.action = action;
         for (const [k, v] of [['csrf', csrf], ...fields]) { const i = document.createElement('input');
           i.type = 'hidden'; i.name = k; i.value = v; f.appendChild(i); }
         document.body.appendChild(f); document.body.dataset.old = '1'; f.submit();",
        vec![json!(action), json!(csrf), json!(fields)],
    )
    .await
    .unwrap();
    b.wait()
        .for_element(Locator::Css("body:not([data-old]) main h1"))
        .await
        .unwrap();
    b.source().await.unwrap()
}

/// The browser's console messages at error level from console pages.
async fn console_errors(b: &Client, driver: &str, base: &str) -> Vec<String> {
    let id = b.session_id().await.unwrap().unwrap();
    let logs: Value = reqwest::Client::new()
        .post(format!("{driver}/session/{id}/se/log"))
        .json(&json!({"type": "browser"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    logs["value"]
        .as_array()
        .cloned()
        .unwrap_or_default()
        .into_iter()
        .filter(|e| e["level"] == "SEVERE")
        .map(|e| e["message"].as_str().unwrap_or("").to_string())
        .filter(|m| m.contains(base))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_connector_request_goes_from_maker_to_applied_dlp_change_in_a_browser() {
    let emu = emulator(21).await;
    let dir = tempfile::tempdir().unwrap();
    let console = format!(
        "{SETTINGS}\n[console]\nclient_id = \"{}\"\n",
        wk::CONSOLE_CLIENT_ID
    );
    let cfg = config_with(dir.path(), &emu, &console);
    let mut child = Command::new(bin())
        .arg("--config")
        .arg(&cfg)
        .args(["serve", "--listen", "127.0.0.1:0"])
        .env("PPGOV_CONSOLE_SECRET", wk::CONSOLE_CLIENT_SECRET)
        .env("RUST_LOG", "ppgov_serve=info")
        .env("NO_COLOR", "1")
        .env_remove("PPGOV_CONFIG")
        .env_remove("PPGOV_STORE_URL")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let log = lines(child.stderr.take().unwrap());
    let _serve = Killed(child);
    let base = wait_line(&log, "the listening address", |l| {
        l.split("listening on ")
            .nth(1)
            .map(|r| r.split_whitespace().next().unwrap().to_string())
    });
    wait_line(&log, "the first crawl's end", |l| {
        (l.contains("job done") && (l.contains("kind=crawl") || l.contains("kind=\"crawl\"")))
            .then_some(())
    });
    let r = emu.ready();
    let c = Console {
        base: base.clone(),
        tenant: r.tenant_id.clone(),
        domain: r.username.split('@').nth(1).unwrap().to_string(),
        shots: std::env::var_os("PPGOV_SCREENSHOTS").map(PathBuf::from),
    };
    let persona = |p: &str| format!("{p}@{}", c.domain);

    // What `ppgov scan --format json` says of the same snapshot.
    let scan = run(
        dir.path(),
        &[
            "--config",
            cfg.to_str().unwrap(),
            "scan",
            "--format",
            "json",
        ],
        &[],
    )
    .await;
    assert!(scan.status.success(), "{}", err(&scan));
    let scan: Value = serde_json::from_slice(&scan.stdout).unwrap();

    // A connector a policy covering an environment blocks.
    let store = ppgov_store::Store::open(dir.path().join("store")).unwrap();
    let info = store.latest_snapshot(&c.tenant, true).unwrap().unwrap();
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

    // Chromium through WebDriver.
    let (_driver, driver_url) = start_driver();
    let profile = tempfile::tempdir().unwrap();
    let b = browser(&driver_url, profile.path()).await;

    // The maker asks for the connector.
    sign_in(&b, &c, &persona("console.maker"), wk::ADMIN_PASSWORD).await;
    assert!(
        b.current_url().await.unwrap().path().ends_with("/requests"),
        "a maker starts at their requests"
    );
    b.find(Locator::Css("#environment"))
        .await
        .unwrap()
        .select_by_value(&env)
        .await
        .unwrap();
    fill(&b, "#connector", &connector).await;
    fill(
        &b,
        "#justification",
        "Campaign replies from the marketing team",
    )
    .await;
    b.find(Locator::Css("#classification"))
        .await
        .unwrap()
        .select_by_value("Internal")
        .await
        .unwrap();
    submit(&b, "#submit-request").await;
    assert_eq!(text(&b, "#request-state").await, "submitted");
    let request = b.current_url().await.unwrap().path().to_string();
    shot(&b, &c, "console-request.png").await;
    sign_out(&b).await;

    // The viewer sees the request, is offered no step, and the server refuses a forged one.
    sign_in(&b, &c, &persona("console.viewer"), wk::ADMIN_PASSWORD).await;
    b.goto(&c.url(&request)).await.unwrap();
    assert!(
        b.find(Locator::Css("#evaluate")).await.is_err(),
        "no evaluation form for a viewer"
    );
    let token = b
        .find(Locator::Css("header form input[name=csrf]"))
        .await
        .unwrap()
        .attr("value")
        .await
        .unwrap()
        .unwrap();
    let page = post_in_page(
        &b,
        &format!("{request}/evaluate"),
        &token,
        &[("recommendation", "approve")],
    )
    .await;
    assert!(
        page.contains("you may not evaluate connector requests"),
        "{page}"
    );
    b.goto(&c.url("/")).await.unwrap();
    sign_out(&b).await;

    // The security reviewer evaluates.
    sign_in(&b, &c, &persona("console.reviewer"), wk::ADMIN_PASSWORD).await;
    b.goto(&c.url(&request)).await.unwrap();
    assert!(
        b.source()
            .await
            .unwrap()
            .contains("What the DLP change would do")
    );
    click(&b, "input[value='SOC 2']").await;
    click(&b, "input[value='ISO 27001']").await;
    click(&b, "#in-transit").await;
    click(&b, "#at-rest").await;
    fill(&b, "#alignment", "No personal data; GDPR not engaged").await;
    submit(&b, "#submit-evaluation").await;
    assert_eq!(text(&b, "#request-state").await, "evaluated");
    sign_out(&b).await;

    // The compliance approver approves: the DLP change is drafted as a plan.
    sign_in(&b, &c, &persona("console.approver"), wk::ADMIN_PASSWORD).await;
    b.goto(&c.url(&request)).await.unwrap();
    fill(&b, "#comment", "Approved for the campaign").await;
    submit(&b, "#approve").await;
    assert_eq!(text(&b, "#request-state").await, "approved");
    assert!(
        b.find(Locator::Css("#approve-plan")).await.is_err(),
        "its author cannot approve the plan"
    );
    sign_out(&b).await;

    // The admin: a form without a valid token and a replayed form are refused; then the plan is
    // approved and applied, and the emulator's policy changes.
    let writes_before: u64 = emu.write_counts().values().sum();
    sign_in(&b, &c, &r.username, &r.password).await;
    b.goto(&c.url(&format!("/t/{}", c.tenant))).await.unwrap();
    let page = post_in_page(
        &b,
        &format!("/t/{}/jobs", c.tenant),
        "forged-token",
        &[("kind", "digest")],
    )
    .await;
    assert!(page.contains("Form refused"), "{page}");
    b.goto(&c.url(&format!("/t/{}", c.tenant))).await.unwrap();
    let form_token: String = b
        .execute("return document.querySelector('#run-digest').form.querySelector('input[name=csrf]').value", vec![])
        .await
        .unwrap()
        .as_str()
        .unwrap()
        .to_string();
    submit(&b, "#run-digest").await;
    assert!(text(&b, "#notice").await.contains("queued"));
    let page = post_in_page(
        &b,
        &format!("/t/{}/jobs", c.tenant),
        &form_token,
        &[("kind", "digest")],
    )
    .await;
    assert!(page.contains("Form refused"), "a replayed form: {page}");

    b.goto(&c.url(&request)).await.unwrap();
    submit(&b, "#approve-plan").await;
    submit(&b, "#apply-plan").await;
    assert_eq!(text(&b, "#request-state").await, "applied");
    let writes: u64 = emu.write_counts().values().sum();
    assert!(
        writes > writes_before,
        "the DLP policy was written: {:?}",
        emu.write_counts()
    );
    let conn = ppgov_client::connect(
        &ppgov_config::validate(&ppgov_config::ConfigSources {
            file: Some(cfg.clone()),
            env: Default::default(),
            flags: ppgov_config::Flags::default(),
        })
        .unwrap(),
        ppgov_client::TransportConfig::default(),
    )
    .unwrap();
    let again = ppgov_act::request::allow_connector(
        &ppgov_act::Ctx::new(conn.clients.clone()),
        &env,
        &connector,
        "Internal",
        "check",
    )
    .await
    .unwrap();
    assert!(
        again.steps.is_empty(),
        "the live policy allows the connector now: {:?}",
        again.steps
    );

    // The overview shows the numbers of `ppgov scan --format json`.
    b.goto(&c.url(&format!("/t/{}", c.tenant))).await.unwrap();
    assert_eq!(
        text(&b, "#total").await,
        scan["summary"]["total"].to_string()
    );
    let by_severity = scan["summary"]["by_severity"]
        .as_object()
        .unwrap_or_else(|| panic!("findings by severity in {scan:#}"));
    for (sev, n) in by_severity {
        assert_eq!(
            text(&b, &format!("td[data-severity='{sev}']")).await,
            n.to_string(),
            "{sev}"
        );
    }
    assert_eq!(
        text(&b, "#scan-snapshot").await,
        scan["snapshot"]["id"].as_str().unwrap()
    );
    shot(&b, &c, "console-overview.png").await;

    // The refusals the test provoked are the browser's only errors.
    let refused = [
        format!("{request}/evaluate"),
        format!("/t/{}/jobs", c.tenant),
    ];
    let errors: Vec<String> = console_errors(&b, &driver_url, &base)
        .await
        .into_iter()
        .filter(|m| {
            !(m.contains("status of 403") && refused.iter().any(|p| m.starts_with(&c.url(p))))
        })
        .collect();
    assert!(errors.is_empty(), "console errors: {errors:#?}");
    b.close().await.unwrap();
}

/// The README's one command for the console on the demo tenant: `ppgov demo --console` crawls the
/// built-in tenant, serves the console on it, and a person it lists signs in and sees the
/// numbers `ppgov scan` gives with the configuration the demo wrote.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_demo_serves_the_console_on_the_demo_tenant() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("demo");
    let mut child = Command::new(bin())
        .arg("demo")
        .arg("--out")
        .arg(&out)
        .args(["--console", "--listen", "127.0.0.1:0"])
        .env("RUST_LOG", "ppgov_serve=info")
        .env("NO_COLOR", "1")
        .env_remove("PPGOV_CONFIG")
        .env_remove("PPGOV_STORE_URL")
        .env_remove("PPGOV_CONSOLE_SECRET")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let said = lines(child.stdout.take().unwrap());
    let log = lines(child.stderr.take().unwrap());
    let _demo = Killed(child);
    let tenant = wait_line(&said, "the demo's tenant", |l| {
        l.strip_prefix("ppgov demo: tenant ")
            .map(|r| r.split_whitespace().next().unwrap().to_string())
    });
    let viewer = wait_line(&said, "the viewer to sign in as", |l| {
        l.split_whitespace()
            .find(|w| w.starts_with("console.viewer@"))
            .map(str::to_string)
    });
    let base = wait_line(&log, "the console's address", |l| {
        l.strip_prefix("  console: ").map(|r| {
            r.split_whitespace()
                .next()
                .unwrap()
                .trim_end_matches('/')
                .to_string()
        })
    });
    wait_line(&log, "the first crawl's end", |l| {
        (l.contains("job done") && (l.contains("kind=crawl") || l.contains("kind=\"crawl\"")))
            .then_some(())
    });
    let cfg = out.join("ppgov.toml");
    let scan = run(
        dir.path(),
        &[
            "--config",
            cfg.to_str().unwrap(),
            "scan",
            "--format",
            "json",
        ],
        &[],
    )
    .await;
    assert!(scan.status.success(), "{}", err(&scan));
    let scan: Value = serde_json::from_slice(&scan.stdout).unwrap();

    let (_driver, driver_url) = start_driver();
    let profile = tempfile::tempdir().unwrap();
    let b = browser(&driver_url, profile.path()).await;
    let c = Console {
        base: base.clone(),
        tenant: tenant.clone(),
        domain: viewer.split('@').nth(1).unwrap().to_string(),
        shots: None,
    };
    sign_in(&b, &c, &viewer, wk::ADMIN_PASSWORD).await;
    b.goto(&c.url(&format!("/t/{tenant}"))).await.unwrap();
    assert_eq!(
        text(&b, "#total").await,
        scan["summary"]["total"].to_string()
    );
    assert_eq!(
        text(&b, "#scan-snapshot").await,
        scan["snapshot"]["id"].as_str().unwrap()
    );
    let errors = console_errors(&b, &driver_url, &base).await;
    assert!(errors.is_empty(), "console errors: {errors:#?}");
    b.close().await.unwrap();
}
