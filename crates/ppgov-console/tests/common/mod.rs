//! Set-up shared by the console tests: the emulator, a served tenant with the console, and a
//! browser's part of HTTP.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use ppgov_emulator::scenario::wellknown as wk;
use ppgov_emulator::server::{Emulator, ServeOptions as EmuOptions};
use ppgov_emulator::tenant::Size;
use ppgov_serve::{JobEvent, ManualClock, RunEnd, ServeOptions, Server, Tenant};
use ppgov_store::{JobFilter, JobQueue, Store};
use reqwest::StatusCode;
use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;

pub async fn emulator() -> Emulator {
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

pub fn config(dir: &Path, emu: &Emulator, console: &str) -> ppgov_config::Config {
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

pub struct Running {
    pub server: Server,
    pub clock: Arc<ManualClock>,
    pub base: String,
    pub emu: String,
    pub domain: String,
    pub tenant: String,
    pub store: std::path::PathBuf,
    pub config: ppgov_config::Config,
}

pub async fn start(emu: &Emulator, dir: &Path, console: &str) -> Running {
    start_with(emu, dir, console, &[]).await
}

/// As [`start`], with environment variables the tenant's set-up reads (webhook URLs).
pub async fn start_with(
    emu: &Emulator,
    dir: &Path,
    console: &str,
    vars: &[(&str, &str)],
) -> Running {
    let config = config(dir, emu, console);
    let vars: BTreeMap<String, String> = vars
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    let clock = ManualClock::new(chrono::Utc::now().timestamp_millis());
    let setup = ppgov_console::ConsoleSetup::from_configs(std::slice::from_ref(&config), &|v| {
        (v == "PPGOV_CONSOLE_SECRET").then(|| wk::CONSOLE_CLIENT_SECRET.to_string())
    })
    .unwrap()
    .expect("[console] is configured");
    let queue = Store::open(&config.store.path).unwrap();
    let server = Server::start(
        vec![Tenant::new(config.clone(), &|v| vars.get(v).cloned())],
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
        config,
    }
}

/// A browser's part of HTTP: cookies kept per name, redirects followed by the test.
#[derive(Default)]
pub struct Browser {
    pub http: reqwest::Client,
    pub cookies: BTreeMap<String, String>,
}

pub struct Answer {
    pub status: StatusCode,
    pub location: Option<String>,
    pub body: String,
    pub headers: reqwest::header::HeaderMap,
}

impl Browser {
    pub fn new() -> Browser {
        Browser {
            http: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .unwrap(),
            cookies: BTreeMap::new(),
        }
    }

    pub fn cookie_header(&self) -> String {
        self.cookies
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join("; ")
    }

    pub async fn take(&mut self, r: reqwest::RequestBuilder) -> Answer {
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

    pub async fn get(&mut self, url: &str) -> Answer {
        let r = self.http.get(url);
        self.take(r).await
    }

    pub async fn post(&mut self, url: &str, form: &[(&str, &str)]) -> Answer {
        let r = self.http.post(url).form(form);
        self.take(r).await
    }
}

pub fn unescape(s: &str) -> String {
    s.replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&#x2f;", "/")
        .replace("&amp;", "&")
}

/// `name="..." value="..."` of every input in `html` with the given attribute text.
pub fn inputs(html: &str, marker: &str) -> Vec<(String, String)> {
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
pub fn csrf_after(html: &str, after: &str) -> String {
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
    pub fn persona(&self, local: &str) -> String {
        format!("{local}@{}", self.domain)
    }

    /// Signs `login` in; returns the browser and where it landed.
    pub async fn sign_in(&self, login: &str, password: &str) -> (Browser, Answer) {
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

    pub async fn signed_in(&self, local: &str) -> Browser {
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

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    pub fn jobs(&self, kind: &str) -> usize {
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
pub async fn crawled(server: &Server) {
    ran(server, &["crawl"]).await;
}

/// Waits until a run of each of `kinds` has ended (the server's job events, from its start; a
/// guard against a hang, not a timing check); a crawl must have ended done.
pub async fn ran(server: &Server, kinds: &[&str]) {
    let mut rx = server.events();
    let mut want: Vec<&str> = kinds.to_vec();
    while !want.is_empty() {
        let e: JobEvent = tokio::time::timeout(std::time::Duration::from_secs(600), rx.recv())
            .await
            .unwrap_or_else(|_| panic!("runs of {want:?} ended"))
            .unwrap();
        if let Some(i) = want.iter().position(|k| *k == e.key.kind) {
            if e.key.kind == "crawl" {
                assert_eq!(e.end, RunEnd::Done, "{}", e.summary);
            }
            want.remove(i);
        }
    }
}

/// The text of the element with `id="..."`.
pub fn by_id(html: &str, id: &str) -> String {
    let at = html
        .find(&format!("id=\"{id}\""))
        .unwrap_or_else(|| panic!("no #{id} in\n{html}"));
    let start = html[at..].find('>').unwrap() + at + 1;
    let end = html[start..].find('<').unwrap() + start;
    html[start..end].trim().to_string()
}

pub fn data_cell(html: &str, attr: &str, value: &str) -> String {
    let at = html
        .find(&format!("{attr}=\"{value}\""))
        .unwrap_or_else(|| panic!("no {attr}={value}"));
    let start = html[at..].find('>').unwrap() + at + 1;
    let end = html[start..].find('<').unwrap() + start;
    html[start..end].trim().to_string()
}

/// Every value of `attr="..."` in `html`, in order.
pub fn attrs(html: &str, attr: &str) -> Vec<String> {
    let needle = format!("{attr}=\"");
    html.match_indices(&needle)
        .map(|(at, _)| {
            let start = at + needle.len();
            let end = html[start..].find('"').unwrap() + start;
            text(&html[start..end])
        })
        .collect()
}

/// HTML text read back (minijinja writes `'` as `&#x27;`).
pub fn text(s: &str) -> String {
    unescape(&s.replace("&#x27;", "'"))
}

/// The text between `from` and the next `to` after it.
pub fn section<'a>(html: &'a str, from: &str, to: &str) -> &'a str {
    let at = html
        .find(from)
        .unwrap_or_else(|| panic!("no {from} in\n{html}"));
    let end = html[at..].find(to).map_or(html.len(), |e| e + at);
    &html[at..end]
}
