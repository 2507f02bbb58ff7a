//! The `ppgov` binary end to end, against the emulator over real HTTP on 127.0.0.1.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use ppgov_emulator::scenario::wellknown;
mod common;
use common::ids;
use ppgov_emulator::server::gate::Gated;
use ppgov_emulator::server::{Emulator, ServeOptions};
use ppgov_emulator::tenant::Size;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

fn bin() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_ppgov"))
}

async fn emulator(opts: ServeOptions) -> Emulator {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    Emulator::start(listener, opts).await.unwrap()
}

/// Writes a ppgov.toml pointing every endpoint at the emulator.
fn config(dir: &Path, emu: &Emulator, auth: &str) -> PathBuf {
    let r = emu.ready();
    let u = &r.url;
    let text = format!(
        "[tenant]\nid = \"{}\"\n\n[auth]\n{auth}\n\n[endpoints]\nlogin = \"{u}\"\nbap = \"{u}\"\npowerapps = \"{u}\"\nflow = \"{u}\"\npowerplatform = \"{u}\"\ngraph = \"{u}\"\nmanagement = \"{u}\"\n\n[store]\npath = \"{}\"\n",
        r.tenant_id,
        dir.join("store.db").display()
    );
    let path = dir.join("ppgov.toml");
    std::fs::write(&path, text).unwrap();
    path
}

fn secret_auth(client_id: &str, secret: &str) -> String {
    format!("method = \"client_secret\"\nclient_id = \"{client_id}\"\nclient_secret = \"{secret}\"")
}

/// Runs ppgov off the async runtime (the emulator lives on it).
async fn ppgov(cfg: &Path, args: &[&str]) -> Output {
    let cfg = cfg.to_path_buf();
    let args: Vec<String> = args.iter().map(|s| s.to_string()).collect();
    tokio::task::spawn_blocking(move || {
        Command::new(bin())
            .arg("--config")
            .arg(&cfg)
            .args(&args)
            .env("RUST_LOG", "trace")
            .env("NO_COLOR", "1")
            .output()
            .unwrap()
    })
    .await
    .unwrap()
}

fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

/// A JWT-looking string: three base64url parts, the first starting with `eyJ`.
fn has_jwt(s: &str) -> bool {
    s.match_indices("eyJ").any(|(i, _)| {
        let rest = &s[i..];
        let token: String = rest
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '_' || *c == '.')
            .collect();
        token.split('.').filter(|p| p.len() >= 8).count() >= 3
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_run_never_prints_a_secret_password_or_token() {
    let emu = emulator(ServeOptions {
        size: Size::Small,
        seed: 11,
        ..Default::default()
    })
    .await;
    let dir = tempfile::tempdir().unwrap();
    let secret = emu.ready().client_secret.clone();
    let cfg = config(
        dir.path(),
        &emu,
        &secret_auth(&emu.ready().client_id, &secret),
    );
    let mut all = String::new();
    for args in [
        vec!["-vvv", "auth", "test"],
        vec!["-vvv", "doctor"],
        vec!["-vvv", "crawl"],
        vec!["-vvv", "scan", "--format", "json"],
        vec![
            "-vvv",
            "scan",
            "--format",
            "html",
            "--out",
            dir.path().join("r.html").to_str().unwrap(),
        ],
        vec!["-vvv", "inventory", "connections", "--format", "csv"],
    ] {
        let o = ppgov(&cfg, &args).await;
        all.push_str(&text(&o));
    }
    all.push_str(&std::fs::read_to_string(dir.path().join("r.html")).unwrap());
    // Password sign-in (ROPC) as the admin user through the public client.
    let user = format!("{}@{}", wellknown::ADMIN_USER, emu.tenant().domain);
    let pw_cfg = config(
        dir.path(),
        &emu,
        &format!(
            "method = \"password\"\nclient_id = \"{}\"\nusername = \"{user}\"\npassword = \"{}\"",
            wellknown::PUBLIC_CLIENT_ID,
            wellknown::ADMIN_PASSWORD
        ),
    );
    let o = ppgov(&pw_cfg, &["-vvv", "auth", "test"]).await;
    assert!(o.status.success(), "password sign-in works: {}", text(&o));
    all.push_str(&text(&o));
    // A failing run prints errors too; they must not carry the secret either.
    let bad = config(
        dir.path(),
        &emu,
        &secret_auth(&emu.ready().client_id, "wrong-secret-value-123"),
    );
    all.push_str(&text(&ppgov(&bad, &["-vvv", "auth", "test"]).await));

    assert!(
        all.contains("trace") || all.contains("TRACE") || all.contains("DEBUG"),
        "logs were captured"
    );
    assert!(!all.contains(&secret), "the client secret leaked");
    assert!(
        !all.contains(wellknown::ADMIN_PASSWORD),
        "the password leaked"
    );
    assert!(
        !all.contains("wrong-secret-value-123"),
        "a rejected secret leaked"
    );
    assert!(!has_jwt(&all), "a token leaked");
    emu.shutdown().await.unwrap();
}

#[test]
fn jwt_detector_finds_tokens_and_ignores_excerpts() {
    assert!(has_jwt(
        "Authorization: Bearer eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U"
    ));
    assert!(!has_jwt("excerpt eyJh… (212 chars)"));
}

#[test]
fn emulator_serve_prints_its_ready_line_and_ground_truth() {
    let dir = tempfile::tempdir().unwrap();
    let gt = dir.path().join("gt.json");
    let mut child = Command::new(bin())
        .args([
            "emulator",
            "serve",
            "--size",
            "small",
            "--seed",
            "3",
            "--ground-truth",
        ])
        .arg(&gt)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    child.kill().unwrap();
    let _ = child.wait();
    let ready: serde_json::Value = serde_json::from_str(&line).unwrap();
    for key in [
        "url",
        "tenant_id",
        "client_id",
        "client_secret",
        "username",
        "password",
    ] {
        assert!(
            ready[key].as_str().is_some_and(|s| !s.is_empty()),
            "ready line has {key}: {line}"
        );
    }
    assert!(
        ready["url"]
            .as_str()
            .unwrap()
            .starts_with("http://127.0.0.1:")
    );
    let truth: serde_json::Value = serde_json::from_slice(&std::fs::read(&gt).unwrap()).unwrap();
    assert!(truth["findings"].as_array().is_some_and(|f| !f.is_empty()));
    assert!(truth["detections"].as_array().is_some());
}

#[test]
fn bad_arguments_exit_2_with_a_message() {
    let o = Command::new(bin())
        .args(["emulator", "serve", "--fault-rate", "3"])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2));
    assert!(text(&o).contains("--fault-rate"));
    let o = Command::new(bin())
        .args(["scan", "--snapshot", "/nonexistent/snap.json"])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2));
    assert!(text(&o).contains("snap.json"));
}

struct DoctorCase {
    name: &'static str,
    auth: String,
    opts: ServeOptions,
    expect: &'static [&'static str],
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn doctor_explains_each_set_up_problem_with_its_fix() {
    let probe = emulator(ServeOptions::default()).await;
    let domain = probe.tenant().domain.clone();
    let admin_secret = probe.ready().client_secret.clone();
    probe.shutdown().await.unwrap();
    let user = |u: &str| {
        format!(
            "method = \"password\"\nclient_id = \"{}\"\nusername = \"{u}@{domain}\"\npassword = \"{}\"",
            wellknown::PUBLIC_CLIENT_ID,
            wellknown::ADMIN_PASSWORD
        )
    };
    let cases = vec![
        DoctorCase {
            name: "bad secret",
            auth: secret_auth(wellknown::ADMIN_CLIENT_ID, "not-the-secret"),
            opts: ServeOptions::default(),
            expect: &["7000215", "secret"],
        },
        DoctorCase {
            name: "unknown app",
            auth: secret_auth("0b7e3c1d-1111-4222-8333-944455566677", &admin_secret),
            opts: ServeOptions::default(),
            expect: &["700016"],
        },
        DoctorCase {
            name: "not a management app",
            auth: secret_auth(
                wellknown::UNREGISTERED_CLIENT_ID,
                wellknown::UNREGISTERED_CLIENT_SECRET,
            ),
            opts: ServeOptions::default(),
            expect: &["management application", "adminApplications/"],
        },
        DoctorCase {
            name: "inventory needs a user",
            auth: secret_auth(wellknown::ADMIN_CLIENT_ID, &admin_secret),
            opts: ServeOptions::default(),
            expect: &["WARN", "delegated"],
        },
        DoctorCase {
            name: "audit logging off",
            auth: secret_auth(wellknown::ADMIN_CLIENT_ID, &admin_secret),
            opts: ServeOptions {
                audit_enabled: false,
                ..Default::default()
            },
            expect: &[
                "audit logging is not enabled",
                "UnifiedAuditLogIngestionEnabled",
            ],
        },
        DoctorCase {
            name: "MFA for ROPC",
            auth: user(wellknown::MFA_USER),
            opts: ServeOptions::default(),
            expect: &["50076"],
        },
        DoctorCase {
            name: "conditional access",
            auth: user(wellknown::CA_BLOCKED_USER),
            opts: ServeOptions::default(),
            expect: &["53003"],
        },
        DoctorCase {
            name: "user not assigned",
            auth: user(wellknown::NOT_ASSIGNED_USER),
            opts: ServeOptions::default(),
            expect: &["50105"],
        },
        DoctorCase {
            name: "no admin consent",
            auth: format!(
                "method = \"password\"\nclient_id = \"{}\"\nusername = \"{}@{domain}\"\npassword = \"{}\"",
                wellknown::NO_CONSENT_CLIENT_ID,
                wellknown::ADMIN_USER,
                wellknown::ADMIN_PASSWORD
            ),
            opts: ServeOptions::default(),
            expect: &["65001", "consent"],
        },
    ];
    for case in cases {
        let emu = emulator(case.opts).await;
        let dir = tempfile::tempdir().unwrap();
        let cfg = config(dir.path(), &emu, &case.auth);
        let o = ppgov(&cfg, &["doctor"]).await;
        let out = String::from_utf8_lossy(&o.stdout).to_string();
        for want in case.expect {
            assert!(
                out.contains(want),
                "{}: doctor output lacks `{want}`:\n{out}\n{}",
                case.name,
                String::from_utf8_lossy(&o.stderr)
            );
        }
        emu.shutdown().await.unwrap();
    }
}

/// `ppgov doctor` checks the store too, opened as every command opens it: the embedded store,
/// and with `[store] url` the tenant's records and audit events in PostgreSQL; an unreachable
/// server fails the check and the exit code, named without its password.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn doctor_checks_the_store_every_command_keeps_its_state_in() {
    let emu = emulator(ServeOptions::default()).await;
    let dir = tempfile::tempdir().unwrap();
    let auth = secret_auth(wellknown::ADMIN_CLIENT_ID, &emu.ready().client_secret);
    let cfg = config(dir.path(), &emu, &auth);
    let store_line = |o: &Output| {
        let out = String::from_utf8_lossy(&o.stdout).to_string();
        out.lines()
            .find(|l| l.split_whitespace().nth(1) == Some("store"))
            .unwrap_or_else(|| panic!("no store check:\n{out}"))
            .to_string()
    };
    let o = ppgov(&cfg, &["doctor"]).await;
    let line = store_line(&o);
    assert!(
        line.starts_with("OK") && line.contains("store.db"),
        "{line}"
    );

    let db = tokio::task::block_in_place(ppgov_store_pg::testing::TestDb::new);
    let text = std::fs::read_to_string(&cfg).unwrap();
    // Under the file's `[store]` table, beside its path.
    std::fs::write(&cfg, format!("{text}url = \"{}\"\n", db.url())).unwrap();
    let o = ppgov(&cfg, &["doctor"]).await;
    let line = store_line(&o);
    assert!(
        line.starts_with("OK") && line.contains("PostgreSQL at 127.0.0.1:"),
        "{line}"
    );
    assert!(line.contains(&db.name), "{line}");

    std::fs::write(
        &cfg,
        format!("{text}url = \"postgres://ppgov:s3cret-pw@127.0.0.1:1/ppgov\"\n"),
    )
    .unwrap();
    let o = ppgov(&cfg, &["doctor"]).await;
    let line = store_line(&o);
    assert!(
        line.starts_with("FAIL") && line.contains("127.0.0.1:1"),
        "{line}"
    );
    assert_ne!(o.status.code(), Some(0));
    let all = format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
    assert!(
        !all.contains("s3cret-pw"),
        "the password never shows: {all}"
    );
    emu.shutdown().await.unwrap();
}

/// An expired certificate registered on the admin app: the assertion signed with it is refused
/// (AADSTS700027) and `doctor` says to upload a current certificate.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn doctor_explains_an_expired_certificate() {
    let emu = emulator(ServeOptions::default()).await;
    let key = rcgen::KeyPair::generate_for(&rcgen::PKCS_RSA_SHA256).unwrap();
    let mut params = rcgen::CertificateParams::new(vec!["ppgov-doctor".to_string()]).unwrap();
    params.not_before = rcgen::date_time_ymd(2020, 1, 1);
    params.not_after = rcgen::date_time_ymd(2021, 1, 1);
    let cert = params.self_signed(&key).unwrap();
    emu.register_certificate(wellknown::ADMIN_CLIENT_ID, cert.der())
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let pem = dir.path().join("app.pem");
    std::fs::write(&pem, format!("{}{}", cert.pem(), key.serialize_pem())).unwrap();
    let auth = format!(
        "method = \"certificate\"\nclient_id = \"{}\"\ncertificate_path = \"{}\"",
        wellknown::ADMIN_CLIENT_ID,
        pem.display()
    );
    let cfg = config(dir.path(), &emu, &auth);
    let o = ppgov(&cfg, &["doctor"]).await;
    let out = String::from_utf8_lossy(&o.stdout).to_string();
    assert_eq!(o.status.code(), Some(2), "a failing doctor exits 2: {out}");
    assert!(
        out.contains("700027"),
        "doctor names the AADSTS code:\n{out}"
    );
    assert!(
        out.to_lowercase().contains("certificate"),
        "and the fix mentions the certificate:\n{out}"
    );
    emu.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_crawl_killed_with_sigkill_resumes_to_the_same_snapshot() {
    let emu = emulator(ServeOptions {
        size: Size::Small,
        seed: 12,
        ..Default::default()
    })
    .await;
    let dir = tempfile::tempdir().unwrap();
    let auth = secret_auth(&emu.ready().client_id, &emu.ready().client_secret);
    let cfg = config(dir.path(), &emu, &auth);
    let tenant = emu.ready().tenant_id.clone();
    // The emulator serves 500 requests (of about 1,200), then holds the crawl's next ones: it
    // is killed there, mid-way at a known point, with no timer involved.
    emu.gate(Gated::Requests).hold_after(500);
    let mut child = Command::new(bin())
        .arg("--config")
        .arg(&cfg)
        .args(["--quiet", "crawl", "--concurrency", "2"])
        .spawn()
        .unwrap();
    emu.gate(Gated::Requests).wait_held(1).await;
    assert!(
        child.try_wait().unwrap().is_none(),
        "the crawl is still running, held"
    );
    child.kill().unwrap(); // SIGKILL on Unix
    let _ = child.wait();
    emu.gate(Gated::Requests).abort_held();
    let db = dir.path().join("store.db");
    {
        let store = ppgov_store::Store::open(&db).unwrap();
        let info = store
            .unfinished_snapshot(&tenant)
            .unwrap()
            .expect("an unfinished snapshot");
        assert!(
            !store.done_shards(&info.id).unwrap().is_empty(),
            "some shards were checkpointed before the kill"
        );
    }

    let o = ppgov(&cfg, &["--quiet", "crawl", "--resume"]).await;
    assert!(o.status.success(), "resume: {}", text(&o));
    let resumed_flows = ppgov(&cfg, &["inventory", "flows", "--format", "json"]).await;
    let resumed_conns = ppgov(&cfg, &["inventory", "connections", "--format", "json"]).await;

    let dir2 = tempfile::tempdir().unwrap();
    let cfg2 = config(dir2.path(), &emu, &auth);
    assert!(ppgov(&cfg2, &["--quiet", "crawl"]).await.status.success());
    let fresh_flows = ppgov(&cfg2, &["inventory", "flows", "--format", "json"]).await;
    let fresh_conns = ppgov(&cfg2, &["inventory", "connections", "--format", "json"]).await;
    assert_eq!(
        ids(&resumed_flows.stdout, "flow_id"),
        ids(&fresh_flows.stdout, "flow_id")
    );
    assert_eq!(
        ids(&resumed_conns.stdout, "connection_id"),
        ids(&fresh_conns.stdout, "connection_id")
    );
    assert_eq!(
        resumed_flows.stdout, fresh_flows.stdout,
        "the same flow inventory, run counts included"
    );
    emu.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn views_formats_exit_codes_and_offline_snapshots() {
    let emu = emulator(ServeOptions {
        size: Size::Small,
        seed: 13,
        ..Default::default()
    })
    .await;
    let dir = tempfile::tempdir().unwrap();
    let cfg = config(
        dir.path(),
        &emu,
        &secret_auth(&emu.ready().client_id, &emu.ready().client_secret),
    );
    assert!(ppgov(&cfg, &["--quiet", "crawl"]).await.status.success());
    let snap = dir.path().join("snap.json");
    assert!(
        ppgov(&cfg, &["snapshot", "export", snap.to_str().unwrap()])
            .await
            .status
            .success()
    );

    for view in [
        "environments",
        "apps",
        "flows",
        "connections",
        "roles",
        "principals",
    ] {
        let json = ppgov(&cfg, &["inventory", view, "--format", "json"]).await;
        assert!(json.status.success(), "{view}: {}", text(&json));
        let doc: serde_json::Value = serde_json::from_slice(&json.stdout).unwrap();
        // The versioned inventory document (docs/inventory-json.md), values typed.
        assert_eq!(doc["schema_version"], "1.0", "{view}");
        assert_eq!(doc["view"], view);
        let rows = &doc["rows"];
        let n = rows.as_array().unwrap().len();
        for r in rows.as_array().unwrap() {
            for (k, v) in r.as_object().unwrap() {
                let ok = match ppgov_report::views::column_type(k) {
                    ppgov_report::views::ColumnType::Bool => v.is_boolean(),
                    ppgov_report::views::ColumnType::Count => v.is_u64() || v.is_null(),
                    ppgov_report::views::ColumnType::List => v.is_array(),
                    _ => v.is_string() || v.is_null(),
                };
                assert!(ok, "{view}.{k} = {v}");
                assert_ne!(v, "", "{view}.{k}: empty strings are null");
            }
        }
        if view == "environments" {
            assert!(rows[0]["managed"].is_boolean(), "{}", rows[0]);
        }
        assert!(n > 0, "{view} has rows");
        let csv = ppgov(&cfg, &["inventory", view, "--format", "csv"]).await;
        let mut reader = csv::Reader::from_reader(csv.stdout.as_slice());
        assert_eq!(
            reader
                .records()
                .collect::<Result<Vec<_>, _>>()
                .unwrap()
                .len(),
            n,
            "{view}: CSV has the same rows as JSON"
        );
        let table = ppgov(&cfg, &["inventory", view]).await;
        assert_eq!(
            String::from_utf8_lossy(&table.stdout).lines().count(),
            n + 2,
            "{view}: header, rule, rows"
        );
    }
    // Seed 002's connection report: Active or Orphaned, and flows using each.
    let conns = ppgov(&cfg, &["inventory", "connections", "--format", "json"]).await;
    let rows: serde_json::Value = serde_json::from_slice(&conns.stdout).unwrap();
    let rows = &rows["rows"];
    assert!(
        rows.as_array()
            .unwrap()
            .iter()
            .any(|r| r["status"] == "Orphaned"),
        "a planted orphaned connection shows"
    );

    // The snapshot file is judged offline, with no configuration at all.
    let offline = Command::new(bin())
        .args([
            "scan",
            "--snapshot",
            snap.to_str().unwrap(),
            "--format",
            "json",
        ])
        .current_dir(dir.path().parent().unwrap())
        .output()
        .unwrap();
    assert!(offline.status.success(), "{}", text(&offline));
    let report: serde_json::Value = serde_json::from_slice(&offline.stdout).unwrap();
    assert_eq!(report["tenant_id"], emu.ready().tenant_id.as_str());
    // The evidence package: a zip whose manifest lists every file with its SHA-256.
    let zip = dir.path().join("evidence.zip");
    let o = Command::new(bin())
        .args([
            "evidence",
            "--snapshot",
            snap.to_str().unwrap(),
            "--out",
            zip.to_str().unwrap(),
        ])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", text(&o));
    let bytes = std::fs::read(&zip).unwrap();
    assert!(bytes.starts_with(b"PK"), "a zip file");
    for name in [
        "manifest.json",
        "MANIFEST.sha256",
        "dlp/policies.json",
        "inventory/flows.csv",
        "findings/findings.json",
        "admins/role_assignments.csv",
    ] {
        assert!(
            bytes.windows(name.len()).any(|w| w == name.as_bytes()),
            "evidence holds {name}"
        );
    }
    // A draft DLP policy that blocks Gmail everywhere breaks the flows that use it.
    let draft = dir.path().join("draft.json");
    std::fs::write(&draft, r#"{"policyDefinition":{"name":"draft-1","displayName":"Block Gmail","defaultConnectorsClassification":"General","environmentType":"AllEnvironments","environments":[],"connectorGroups":[{"classification":"Blocked","connectors":[{"id":"/providers/Microsoft.PowerApps/apis/shared_gmail","name":"Gmail","type":"Microsoft.PowerApps/apis"}]}]}}"#).unwrap();
    let o = Command::new(bin())
        .args([
            "dlp",
            "simulate",
            "--policy",
            draft.to_str().unwrap(),
            "--snapshot",
            snap.to_str().unwrap(),
            "--format",
            "json",
        ])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", text(&o));
    let sim: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let snapshot = ppgov_store::read_snapshot_file(&snap).unwrap();
    let gmail_users = snapshot
        .flows
        .iter()
        .filter(|f| f.connectors.iter().any(|c| c.key == "shared_gmail"))
        .count()
        + snapshot
            .apps
            .iter()
            .filter(|a| a.connectors.iter().any(|c| c.key == "shared_gmail"))
            .count();
    assert!(gmail_users > 0, "the tenant has Gmail users");
    let breaks = sim["would_break"].as_array().unwrap();
    assert!(
        breaks.len() <= gmail_users && !breaks.is_empty(),
        "{} breaks for {gmail_users} Gmail users",
        breaks.len()
    );
    let o = Command::new(bin())
        .args([
            "dlp",
            "simulate",
            "--policy",
            "/nonexistent.json",
            "--snapshot",
            snap.to_str().unwrap(),
        ])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2));
    // --fail-on: findings at or above -> 1; a bad severity -> 2.
    let o = Command::new(bin())
        .args([
            "scan",
            "--snapshot",
            snap.to_str().unwrap(),
            "--fail-on",
            "info",
        ])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(1));
    let o = Command::new(bin())
        .args([
            "scan",
            "--snapshot",
            snap.to_str().unwrap(),
            "--fail-on",
            "urgent",
        ])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2));
    emu.shutdown().await.unwrap();
}

#[test]
fn emulator_serve_refuses_a_remote_addr_unless_allowed() {
    for addr in ["0.0.0.0:0", "[::]:0"] {
        let o = Command::new(bin())
            .args(["emulator", "serve", "--addr", addr])
            .output()
            .unwrap();
        assert_eq!(o.status.code(), Some(2), "{}", text(&o));
        assert!(text(&o).contains("--allow-remote"), "{}", text(&o));
        assert!(o.stdout.is_empty(), "no ready line, no credentials printed");
    }
}

#[test]
fn auth_test_fails_naming_a_redirecting_token_endpoint() {
    use std::io::{Read, Write};
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};
    // Counts connections and answers each with `answer`.
    fn serve(answer: String) -> (String, Arc<AtomicUsize>) {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}", l.local_addr().unwrap());
        let n = Arc::new(AtomicUsize::new(0));
        let n2 = n.clone();
        std::thread::spawn(move || {
            for mut s in l.incoming().flatten() {
                n2.fetch_add(1, Ordering::SeqCst);
                let mut buf = [0u8; 65536];
                let _ = s.read(&mut buf);
                let _ = s.write_all(answer.as_bytes());
            }
        });
        (url, n)
    }
    let (target, followed) =
        serve("HTTP/1.1 200 OK\r\ncontent-length: 2\r\nconnection: close\r\n\r\n{}".to_string());
    let (login, redirected) = serve(format!(
        "HTTP/1.1 307 Temporary Redirect\r\nlocation: {target}/collect\r\ncontent-length: 0\r\nconnection: close\r\n\r\n"
    ));
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("ppgov.toml");
    std::fs::write(
        &cfg,
        format!(
            "[tenant]\nid = \"72f988bf-86f1-41af-91ab-2d7cd011db47\"\n[auth]\n{}\n[endpoints]\nlogin = \"{login}\"\nbap = \"{target}\"\npowerapps = \"{target}\"\nflow = \"{target}\"\npowerplatform = \"{target}\"\ngraph = \"{target}\"\nmanagement = \"{target}\"\n[store]\npath = \"{}\"\n",
            secret_auth("11111111-2222-3333-4444-555555555555", "s3cr3t-value"),
            dir.path().join("store").display()
        ),
    )
    .unwrap();
    let o = Command::new(bin())
        .arg("--config")
        .arg(&cfg)
        .args(["auth", "test"])
        .env("NO_COLOR", "1")
        .output()
        .unwrap();
    let out = text(&o);
    assert_ne!(o.status.code(), Some(0), "{out}");
    assert!(
        out.contains("HTTP 307 redirect") && out.contains("/collect"),
        "{out}"
    );
    assert!(!out.contains("s3cr3t-value"));
    assert!(redirected.load(Ordering::SeqCst) >= 1);
    assert_eq!(
        followed.load(Ordering::SeqCst),
        0,
        "no second request anywhere"
    );
}

/// A suppression recorded in the console counts in `ppgov scan` as a `[posture]` one does, with
/// its justification and expiry, and a revoked one no longer does.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scan_honours_the_suppressions_recorded_in_the_console() {
    let emu = emulator(ServeOptions {
        size: Size::Small,
        seed: 17,
        ..Default::default()
    })
    .await;
    let dir = tempfile::tempdir().unwrap();
    let cfg = config(
        dir.path(),
        &emu,
        &secret_auth(&emu.ready().client_id, &emu.ready().client_secret),
    );
    assert!(ppgov(&cfg, &["--quiet", "crawl"]).await.status.success());
    let scan = || async {
        let o = ppgov(&cfg, &["scan", "--format", "json"]).await;
        assert!(o.status.code().is_some_and(|c| c <= 1), "{}", text(&o));
        serde_json::from_slice::<serde_json::Value>(&o.stdout).unwrap()
    };
    let before = scan().await;
    let f = before["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["suppressed"].is_null())
        .expect("an unsuppressed finding")
        .clone();
    let (rule, resource) = (
        f["rule_id"].as_str().unwrap().to_string(),
        f["resource"]["id"].as_str().unwrap().to_string(),
    );
    let same = |doc: &serde_json::Value| -> Vec<serde_json::Value> {
        doc["findings"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|x| x["rule_id"] == rule.as_str() && x["resource"]["id"] == resource.as_str())
            .cloned()
            .collect()
    };
    let matching = same(&before).len();
    let tenant = emu.ready().tenant_id.clone();
    let expires = chrono::Utc::now().date_naive() + chrono::Duration::days(30);
    let mut store = ppgov_store::Store::open(dir.path().join("store.db")).unwrap();
    let row = store
        .add_suppression(
            &ppgov_store::NewSuppression {
                tenant_id: tenant.clone(),
                rule_id: rule.clone(),
                resource_id: resource.clone(),
                justification: "accepted by the CAB, ticket 4711".into(),
                expires,
                created_by: "console.reviewer@example".into(),
            },
            chrono::Utc::now(),
        )
        .unwrap();
    drop(store);

    let after = scan().await;
    for x in same(&after) {
        assert_eq!(
            x["suppressed"]["justification"], "accepted by the CAB, ticket 4711",
            "{x:#}"
        );
        assert_eq!(x["suppressed"]["expires"], expires.to_string());
    }
    assert_eq!(
        after["summary"]["suppressed"].as_u64().unwrap(),
        before["summary"]["suppressed"].as_u64().unwrap() + matching as u64
    );
    assert_eq!(
        after["summary"]["total"].as_u64().unwrap(),
        before["summary"]["total"].as_u64().unwrap() - matching as u64
    );

    let mut store = ppgov_store::Store::open(dir.path().join("store.db")).unwrap();
    store
        .revoke_suppression(
            &tenant,
            row.id,
            "console.admin@example",
            "the CAB withdrew it",
            chrono::Utc::now(),
        )
        .unwrap();
    drop(store);
    let revoked = scan().await;
    assert!(same(&revoked).iter().all(|x| x["suppressed"].is_null()));
    assert_eq!(revoked["summary"]["total"], before["summary"]["total"]);
}
