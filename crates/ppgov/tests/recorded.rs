//! `[endpoints]` really are plain configuration: the `ppgov` binary crawls, lists and scans a
//! tenant served by a tiny static HTTP server on 127.0.0.1 that knows nothing but the
//! recorded-shape fixtures under `fixtures/api/` (not the emulator), and `config validate`
//! refuses plain `http://` to a non-loopback host while accepting it for loopback addresses.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::{Arc, Mutex};

const FIXTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../fixtures/api");

/// The tenant the fixtures were recorded in.
const TENANT: &str = "11111111-1111-1111-1111-111111111111";

const BAE: [&str; 5] = [
    "providers",
    "Microsoft.BusinessAppPlatform",
    "scopes",
    "admin",
    "environments",
];

/// Reads one fixture (relative to `fixtures/api/`) as JSON.
fn fixture(rel: &str) -> Value {
    let p = format!("{FIXTURES}/{rel}");
    let text = std::fs::read_to_string(&p).unwrap_or_else(|e| panic!("cannot read {p}: {e}"));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{p} is not JSON: {e}"))
}

/// Server state: its own base URL (to rewrite continuation links), the continuation pages it
/// was asked for, and every request it had no recorded answer for.
#[derive(Clone)]
struct Recorded {
    base: String,
    followed: Arc<Mutex<BTreeSet<String>>>,
    unanswered: Arc<Mutex<Vec<String>>>,
}

async fn serve(State(s): State<Recorded>, method: Method, uri: Uri, body: Bytes) -> Response {
    let path = uri.path();
    // The inventory API refuses app-only tokens (INVENTORY-API.md §0); this recorded tenant is
    // crawled with a service principal, so the crawler must fall back to per-environment lists.
    if method == Method::POST && path == "/resourcequery/resources/query" {
        let err =
            json!({"error": {"code": "Forbidden", "message": "app-only tokens are not supported"}});
        return (StatusCode::FORBIDDEN, axum::Json(err)).into_response();
    }
    match answer(&s, &method, path, uri.query().unwrap_or(""), &body) {
        Some(v) => (StatusCode::OK, axum::Json(v)).into_response(),
        None => {
            s.unanswered.lock().unwrap().push(format!("{method} {uri}"));
            let err = json!({"error": {
                "code": "NotFound",
                "message": format!("no recorded response for {method} {path}"),
            }});
            (StatusCode::NOT_FOUND, axum::Json(err)).into_response()
        }
    }
}

/// The recorded answer for a request, matched on method and path only (api-version and other
/// query parameters vary by call).
fn answer(s: &Recorded, method: &Method, path: &str, query: &str, body: &[u8]) -> Option<Value> {
    let segs: Vec<&str> = path.trim_matches('/').split('/').collect();
    let get = method == Method::GET;
    let post = method == Method::POST;
    // Paths under `/providers/<family>/scopes/admin/environments/...`.
    let under_envs = |family: &str| -> Option<&[&str]> {
        (segs.len() > 5 && segs[0] == "providers" && segs[1] == family && segs[2..5] == BAE[2..5])
            .then(|| &segs[5..])
    };
    match segs.as_slice() {
        [_tenant, "oauth2", "v2.0", "token"] if post => {
            return Some(fixture("entra/token_response.json"));
        }
        s5 if get && *s5 == BAE => return Some(fixture("bap/environments_list.json")),
        [
            "providers",
            "Microsoft.BusinessAppPlatform",
            "listTenantSettings",
        ] if post => {
            return Some(fixture("bap/tenant_settings_unknown_keys.json"));
        }
        ["providers", "PowerPlatform.Governance", rest @ ..] if get => {
            return match rest {
                ["v1", "tenants", _, "tenantIsolationPolicy"] => {
                    Some(fixture("bap/tenant_isolation_policy.json"))
                }
                ["v2", "policies"] => Some(fixture("dlp/v2_policies_list.json")),
                ["v2", "policies", _name] => Some(fixture("dlp/v2_policy_full.json")),
                ["v1", "connectors", "metadata", "unblockable"] => {
                    Some(fixture("dlp/connectors_unblockable.json"))
                }
                ["v1", "connectors", "metadata", "virtual"] => {
                    Some(fixture("dlp/connectors_virtual.json"))
                }
                _ => None,
            };
        }
        ["v1.0", "$batch" | "%24batch"] if post => return batch(body),
        ["v1.0", "directoryObjects", "getByIds"] if post => return get_by_ids(body),
        _ => {}
    }
    if !get {
        return None;
    }
    if let Some(rest) = under_envs("Microsoft.BusinessAppPlatform") {
        return match rest {
            [_env, "roleAssignments"] => Some(fixture("bap/role_assignments.json")),
            _ => None,
        };
    }
    if let Some(rest) = under_envs("Microsoft.PowerApps") {
        return match rest {
            [env, "apps"] => Some(page(s, "powerapps/apps_list.json", env, path, query)),
            [_env, "apps", _app, "permissions"] => Some(fixture("powerapps/app_permissions.json")),
            // The custom connector list (`$filter=isCustomApi eq 'True'`): the recorded connector
            // list holds one custom and one built-in; the crawler keeps only the custom one.
            [_env, "apis"] => Some(fixture("powerapps/connectors_list.json")),
            [env, "connections"] => {
                Some(page(s, "powerapps/connections_list.json", env, path, query))
            }
            _ => None,
        };
    }
    if let Some(rest) = under_envs("Microsoft.ProcessSimple") {
        return match rest {
            [env, "v2", "flows"] => Some(page(s, "flow/flows_list.json", env, path, query)),
            [_env, "flows", _flow] => Some(fixture("flow/flow_get.json")),
            [_env, "flows", _flow, "permissions"] => Some(fixture("flow/flow_permissions.json")),
            [_env, "flows", _flow, "runs"] => Some(fixture("flow/flow_runs.json")),
            _ => None,
        };
    }
    None
}

/// A listing page from a fixture. Items recorded in another environment are left out (a real
/// tenant lists an environment's own resources only). A recorded `nextLink` points at Microsoft
/// and would rightly be refused (another host would receive the token), so it is rewritten to
/// this server; the page it names is empty. This way the crawl follows a continuation link.
fn page(s: &Recorded, rel: &str, env: &str, path: &str, query: &str) -> Value {
    if query.contains("skiptoken") {
        s.followed.lock().unwrap().insert(rel.to_string());
        return json!({ "value": [] });
    }
    let mut doc = fixture(rel);
    if let Some(items) = doc.get_mut("value").and_then(Value::as_array_mut) {
        items.retain(|i| {
            i.pointer("/properties/environment/name")
                .and_then(Value::as_str)
                .is_none_or(|n| n.eq_ignore_ascii_case(env))
        });
    }
    let next = doc
        .get("nextLink")
        .and_then(Value::as_str)
        .filter(|n| !n.is_empty())
        .map(|n| url::Url::parse(n).unwrap());
    if let (Some(next), Some(obj)) = (next, doc.as_object_mut()) {
        let q = next.query().unwrap_or_default();
        assert!(q.contains("skiptoken"), "{rel}: nextLink without skiptoken");
        obj.insert(
            "nextLink".into(),
            Value::String(format!("{}{path}?{q}", s.base)),
        );
    }
    doc
}

/// Graph `directoryObjects/getByIds`: every id asked is the recorded user (the default subset).
fn get_by_ids(body: &[u8]) -> Option<Value> {
    let req: Value = serde_json::from_slice(body).ok()?;
    let user = fixture("graph/get_by_ids_response.json")["value"][0].clone();
    let value: Vec<Value> = req
        .get("ids")?
        .as_array()?
        .iter()
        .map(|id| {
            let mut u = user.clone();
            u["id"] = id.clone();
            u
        })
        .collect();
    Some(json!({ "value": value }))
}

/// Graph `$batch`: every request answered 200 with the recorded user.
fn batch(body: &[u8]) -> Option<Value> {
    let req: Value = serde_json::from_slice(body).ok()?;
    let user = fixture("graph/user.json");
    let responses: Vec<Value> = req
        .get("requests")?
        .as_array()?
        .iter()
        .map(|r| {
            json!({
                "id": r.get("id").cloned().unwrap_or(Value::Null),
                "status": 200,
                "headers": { "Content-Type": "application/json" },
                "body": user,
            })
        })
        .collect();
    Some(json!({ "responses": responses }))
}

/// Starts the static server on 127.0.0.1:0.
async fn start() -> Recorded {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let state = Recorded {
        base: format!("http://{addr}"),
        followed: Arc::new(Mutex::new(BTreeSet::new())),
        unanswered: Arc::new(Mutex::new(Vec::new())),
    };
    let app = Router::new().fallback(serve).with_state(state.clone());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    state
}

/// Writes a ppgov.toml in `dir` with every endpoint at `url`.
fn config(dir: &Path, name: &str, url: &str) -> PathBuf {
    let text = format!(
        "[tenant]\nid = \"{TENANT}\"\n\n[auth]\nmethod = \"client_secret\"\n\
         client_id = \"22222222-2222-2222-2222-222222222222\"\nclient_secret = \"not-a-real-secret\"\n\n\
         [endpoints]\nlogin = \"{url}\"\nbap = \"{url}\"\npowerapps = \"{url}\"\nflow = \"{url}\"\n\
         powerplatform = \"{url}\"\ngraph = \"{url}\"\nmanagement = \"{url}\"\n\n\
         [store]\npath = \"{}\"\n",
        dir.join("store.db").display()
    );
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    path
}

/// Runs the real binary with `cfg`, free of any ambient credentials or config.
fn run(cfg: &Path, args: &[&str]) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_ppgov"));
    cmd.arg("--config").arg(cfg).args(args).env("NO_COLOR", "1");
    for var in [
        "PPGOV_CONFIG",
        "AZURE_TENANT_ID",
        "AZURE_CLIENT_ID",
        "AZURE_CLIENT_SECRET",
        "AZURE_CLIENT_CERTIFICATE_PATH",
        "AZURE_CLIENT_CERTIFICATE_PASSWORD",
        "AZURE_USERNAME",
        "AZURE_PASSWORD",
    ] {
        cmd.env_remove(var);
    }
    cmd.output().unwrap()
}

/// [`run`] off the async runtime, which serves the fixtures meanwhile.
async fn ppgov(cfg: &Path, args: &[&str]) -> Output {
    let cfg = cfg.to_path_buf();
    let args: Vec<String> = args.iter().map(|s| s.to_string()).collect();
    tokio::task::spawn_blocking(move || {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        run(&cfg, &args)
    })
    .await
    .unwrap()
}

fn text(o: &Output) -> String {
    format!(
        "status {:?}\n--- stdout\n{}\n--- stderr\n{}",
        o.status.code(),
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

/// `ppgov inventory <view> --format json` as rows.
async fn inventory(cfg: &Path, view: &str) -> Vec<Value> {
    let out = ppgov(cfg, &["inventory", view, "--format", "json"]).await;
    assert_eq!(
        out.status.code(),
        Some(0),
        "inventory {view}: {}",
        text(&out)
    );
    let v: Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("inventory {view} is not JSON ({e}): {}", text(&out)));
    assert_eq!(v["schema_version"], "1.0", "inventory {view}: {v}");
    assert_eq!(v["view"], view);
    v["rows"]
        .as_array()
        .unwrap_or_else(|| panic!("inventory {view} has no rows array: {v}"))
        .clone()
}

/// The (environment, id) pairs of a recorded listing.
fn recorded_pairs(rel: &str) -> BTreeSet<(String, String)> {
    fixture(rel)["value"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| {
            let env = i
                .pointer("/properties/environment/name")
                .and_then(Value::as_str)
                .unwrap();
            (env.to_string(), i["name"].as_str().unwrap().to_string())
        })
        .collect()
}

fn pairs(rows: &[Value], id_col: &str) -> BTreeSet<(String, String)> {
    rows.iter()
        .map(|r| {
            (
                r["environment_id"].as_str().unwrap().to_string(),
                r[id_col].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn crawl_inventory_and_scan_against_a_static_recorded_server() {
    let server = start().await;
    let dir = tempfile::tempdir().unwrap();
    let cfg = config(dir.path(), "ppgov.toml", &server.base);

    // The Dataverse environment's instance URL is a real https host the sandbox cannot reach:
    // that part fails and is recorded as not collected, and the crawl still succeeds.
    let out = ppgov(&cfg, &["--quiet", "crawl"]).await;
    let unanswered = server.unanswered.lock().unwrap().clone();
    assert_eq!(
        out.status.code(),
        Some(0),
        "crawl: {}\nunanswered: {unanswered:#?}",
        text(&out)
    );
    // Every request the crawl made to this server has a recorded answer: the paths above are
    // the ones the client really uses.
    assert!(
        unanswered.is_empty(),
        "requests without a recorded answer: {unanswered:#?}\n{}",
        text(&out)
    );
    // The recorded apps and flows listings carry a nextLink; the crawl followed both.
    let followed = server.followed.lock().unwrap().clone();
    for rel in ["powerapps/apps_list.json", "flow/flows_list.json"] {
        assert!(followed.contains(rel), "{rel}: nextLink not followed");
    }
    // The unreachable Dataverse host is reported as not collected, not as a failed crawl.
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains("not collected") && stdout.contains("org1a2b.api.crm4.dynamics.com"),
        "{}",
        text(&out)
    );

    let envs: BTreeSet<String> = inventory(&cfg, "environments")
        .await
        .iter()
        .map(|r| r["environment_id"].as_str().unwrap().to_string())
        .collect();
    let want_envs: BTreeSet<String> = fixture("bap/environments_list.json")["value"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["name"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(envs, want_envs);

    let apps = inventory(&cfg, "apps").await;
    let want_apps = recorded_pairs("powerapps/apps_list.json");
    assert_eq!(apps.len(), want_apps.len(), "apps: {apps:#?}");
    assert_eq!(pairs(&apps, "app_id"), want_apps);

    // Flows: the listing names f1 and f2; this static server answers every flow GET with the one
    // recorded document (f1). The crawler keys flows on the listed id, so both still appear, once.
    let flows = inventory(&cfg, "flows").await;
    let want_flows = recorded_pairs("flow/flows_list.json");
    assert_eq!(flows.len(), want_flows.len(), "flows: {flows:#?}");
    assert_eq!(pairs(&flows, "flow_id"), want_flows);

    let out = ppgov(&cfg, &["scan", "--format", "json"]).await;
    assert!(
        matches!(out.status.code(), Some(0 | 1)),
        "scan: {}",
        text(&out)
    );
    let report: Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("scan output is not JSON ({e}): {}", text(&out)));
    assert!(
        report["schema_version"]
            .as_str()
            .is_some_and(|v| !v.is_empty()),
        "no schema_version: {report}"
    );
    assert_eq!(report["tenant_id"], TENANT);
}

#[test]
fn config_validate_allows_plain_http_only_to_loopback() {
    let dir = tempfile::tempdir().unwrap();

    let cfg = config(dir.path(), "remote.toml", "https://127.0.0.1:1");
    let text_cfg = std::fs::read_to_string(&cfg).unwrap().replace(
        "bap = \"https://127.0.0.1:1\"",
        "bap = \"http://example.com\"",
    );
    assert!(text_cfg.contains("bap = \"http://example.com\""));
    std::fs::write(&cfg, text_cfg).unwrap();
    let out = run(&cfg, &["config", "validate"]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    let all = text(&out);
    assert!(
        all.contains("http://example.com")
            && all.contains("uses plain http to a non-loopback host"),
        "{all}"
    );

    for url in ["http://127.0.0.9:1", "http://localhost:1"] {
        let cfg = config(dir.path(), "loopback.toml", url);
        let out = run(&cfg, &["config", "validate"]);
        assert_eq!(out.status.code(), Some(0), "{url}: {}", text(&out));
    }
}
