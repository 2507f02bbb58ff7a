//! `ppgov plan` / `apply` end to end against the emulator: refusals happen before any call, and
//! an apply killed with SIGKILL and rerun writes each target exactly once.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use ppgov_act::{Identity, Plan, Step, Target, Undo};
use ppgov_emulator::scenario::wellknown;
use ppgov_emulator::server::gate::Gated;
use ppgov_emulator::server::{Emulator, ServeOptions};
use ppgov_emulator::tenant::Size;
use serde_json::{Value, json};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

fn bin() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_ppgov"))
}

async fn emulator(opts: ServeOptions) -> Emulator {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    Emulator::start(listener, opts).await.unwrap()
}

fn config(dir: &Path, name: &str, emu: &Emulator, auth: &str, extra: &str) -> PathBuf {
    let r = emu.ready();
    let u = &r.url;
    let text = format!(
        "[tenant]\nid = \"{}\"\n\n[auth]\n{auth}\n\n[endpoints]\nlogin = \"{u}\"\nbap = \"{u}\"\npowerapps = \"{u}\"\nflow = \"{u}\"\npowerplatform = \"{u}\"\ngraph = \"{u}\"\nmanagement = \"{u}\"\n\n[store]\npath = \"{}\"\n\n{extra}\n",
        r.tenant_id,
        dir.join("store.db").display()
    );
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    path
}

fn app_auth(emu: &Emulator) -> String {
    format!(
        "method = \"client_secret\"\nclient_id = \"{}\"\nclient_secret = \"{}\"",
        emu.ready().client_id,
        emu.ready().client_secret
    )
}

fn user_auth(emu: &Emulator) -> String {
    format!(
        "method = \"password\"\nclient_id = \"{}\"\nusername = \"{}\"\npassword = \"{}\"",
        wellknown::PUBLIC_CLIENT_ID,
        emu.ready().username,
        emu.ready().password
    )
}

async fn ppgov(cfg: &Path, args: &[&str]) -> Output {
    let cfg = cfg.to_path_buf();
    let args: Vec<String> = args.iter().map(|s| s.to_string()).collect();
    tokio::task::spawn_blocking(move || {
        Command::new(bin())
            .arg("--config")
            .arg(&cfg)
            .args(&args)
            .env("NO_COLOR", "1")
            .stdin(Stdio::null())
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_plan_is_refused_before_any_call_when_corrupt_foreign_old_unapproved_or_self_approved() {
    let emu = emulator(ServeOptions {
        seed: 1,
        size: Size::Small,
        ..Default::default()
    })
    .await;
    let dir = tempfile::tempdir().unwrap();
    let remediation = "[remediation]\nrequire_approval = true\nmax_plan_age_hours = 2\n";
    let cfg = config(dir.path(), "ppgov.toml", &emu, &app_auth(&emu), remediation);
    let user_cfg = config(dir.path(), "user.toml", &emu, &user_auth(&emu), remediation);
    let plan_path = dir.path().join("plan.json");
    let p = plan_path.to_str().unwrap();
    let o = ppgov(
        &cfg,
        &[
            "plan",
            "--action",
            "PPG-ACT-003",
            "--target",
            "tenant",
            "--out",
            p,
        ],
    )
    .await;
    assert!(o.status.success(), "{}", text(&o));
    let plan = Plan::read(&plan_path).unwrap();
    assert_eq!(plan.steps.len(), 1);
    assert!(emu.write_counts().is_empty(), "planning writes nothing");
    let show = ppgov(&cfg, &["plan", "show", p, "--format", "md"]).await;
    assert!(
        text(&show).contains("| 1 | PPG-ACT-003 |"),
        "{}",
        text(&show)
    );

    let refused = |name: &str, plan: &Plan| {
        let path = dir.path().join(name);
        plan.write(&path).unwrap();
        path
    };
    let mut cases: Vec<(PathBuf, &str)> = vec![];
    // Corrupt: the change edited after planning.
    let edited = std::fs::read_to_string(&plan_path).unwrap().replacen(
        "\"/powerPlatform/governance/enableDefaultEnvironmentRouting\": true",
        "\"/powerPlatform/governance/enableDefaultEnvironmentRouting\": false",
        1,
    );
    let corrupt = dir.path().join("corrupt.json");
    std::fs::write(&corrupt, edited).unwrap();
    cases.push((corrupt, "does not match its digest"));
    let garbage = dir.path().join("garbage.json");
    std::fs::write(&garbage, "{\"steps\": [").unwrap();
    cases.push((garbage, "not JSON"));
    // Another tenant's.
    let foreign = Plan::new(
        "00000000-1111-2222-3333-444444444444",
        plan.author.clone(),
        "x",
        plan.steps.clone(),
    )
    .unwrap();
    cases.push((
        refused("foreign.json", &foreign),
        "is for tenant 00000000-1111-2222-3333-444444444444",
    ));
    // Too old.
    let mut old = plan.clone();
    old.created_at = chrono::Utc::now() - chrono::Duration::hours(3);
    old.digest = old.compute_digest().unwrap();
    cases.push((refused("old.json", &old), "more than the 2 h"));
    // Unapproved.
    cases.push((plan_path.clone(), "nobody approved"));

    let requests = emu.request_count();
    for (path, why) in &cases {
        let o = ppgov(&cfg, &["apply", path.to_str().unwrap(), "--yes"]).await;
        assert_eq!(o.status.code(), Some(2), "{}", text(&o));
        assert!(text(&o).contains(why), "{why}: {}", text(&o));
    }
    assert_eq!(
        emu.request_count(),
        requests,
        "no API call for a refused plan"
    );

    // The author cannot approve their own plan; a journaled self-approval is refused at apply.
    let o = ppgov(&cfg, &["plan", "approve", p]).await;
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(
        text(&o).contains("approved only by its author"),
        "{}",
        text(&o)
    );
    {
        let mut store = ppgov_store::Store::open(dir.path().join("store.db")).unwrap();
        store
            .append_journal(&ppgov_store::NewJournalEntry {
                tenant_id: plan.tenant_id.clone(),
                actor: plan.author.to_actor(),
                apply_id: "approval:forged".into(),
                plan_id: plan.id.clone(),
                plan_digest: plan.digest.clone(),
                step: 0,
                action: ppgov_act::APPROVE_ACTION.into(),
                target: "plan".into(),
                phase: ppgov_store::JournalPhase::Done,
                request_id: None,
                before: None,
                after: None,
                result: "approved".into(),
            })
            .unwrap();
    }
    let requests = emu.request_count();
    let o = ppgov(&cfg, &["apply", p, "--yes"]).await;
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(
        text(&o).contains("approved only by its author"),
        "{}",
        text(&o)
    );
    assert_eq!(emu.request_count(), requests);

    // A second person approves; then it applies, and the journal holds.
    let o = ppgov(&user_cfg, &["plan", "approve", p]).await;
    assert!(o.status.success(), "{}", text(&o));
    assert!(
        text(&o).contains(&format!("as user {}", emu.ready().username)),
        "{}",
        text(&o)
    );
    let o = ppgov(&cfg, &["apply", p, "--yes"]).await;
    assert!(o.status.success(), "{}", text(&o));
    assert!(text(&o).contains("applied"), "{}", text(&o));
    assert_eq!(emu.state().writes.count_matching("updatetenantsettings"), 1);
    let o = ppgov(&cfg, &["journal", "verify"]).await;
    assert!(
        o.status.success() && text(&o).contains("journal intact"),
        "{}",
        text(&o)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_apply_killed_mid_way_and_rerun_writes_each_target_once() {
    killed_and_rerun(None).await;
}

/// The same with `[store] url`: the journal the rerun resumes from is in PostgreSQL (so an
/// apply killed on one machine is resumed from another), and nothing is journaled locally.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_a_postgresql_store_a_killed_apply_resumes_from_the_journal_there() {
    let db = tokio::task::block_in_place(ppgov_store_pg::testing::TestDb::new);
    let (dir, tenant) = killed_and_rerun(Some(&db.url())).await;
    let local = ppgov_store::Store::open(dir.path().join("store.db")).unwrap();
    assert!(local.journal(None).unwrap().is_empty(), "nothing in SQLite");
    let pg = tokio::task::block_in_place(|| {
        use ppgov_store::Records;
        let pg = ppgov_store_pg::PgRecords::connect(&db.url(), &tenant).unwrap();
        (pg.journal(None).unwrap(), pg.verify_journal().unwrap())
    });
    assert!(!pg.0.is_empty());
    assert!(pg.1.breaks.is_empty(), "{:?}", pg.1.breaks);
}

/// Applies a plan stopping every started flow, kills the apply after five writes, reruns it
/// twice; returns the directory holding the embedded store (`store.db`) and the tenant.
async fn killed_and_rerun(store_url: Option<&str>) -> (tempfile::TempDir, String) {
    let emu = emulator(ServeOptions {
        seed: 3,
        size: Size::Small,
        ..Default::default()
    })
    .await;
    let dir = tempfile::tempdir().unwrap();
    // Written under the file's `[store]` table, beside its path.
    let extra = store_url.map_or(String::new(), |u| format!("url = \"{u}\"\n"));
    let cfg = config(dir.path(), "ppgov.toml", &emu, &app_auth(&emu), &extra);
    // Stop every started flow of the tenant: one step each.
    let mut steps = vec![];
    let envs: Vec<(usize, String)> = emu
        .tenant()
        .environments
        .iter()
        .map(|e| (e.index, e.name.clone()))
        .collect();
    for (i, env) in envs {
        let c = emu.state().env_content(i);
        let c = c.read().unwrap();
        for f in c.flows() {
            if f.doc
                .value()
                .pointer("/properties/state")
                .and_then(Value::as_str)
                == Some("Started")
            {
                steps.push(Step {
                    index: 0,
                    action: "PPG-ACT-007".into(),
                    target: Target {
                        kind: "flow".into(),
                        id: f.name.clone(),
                        environment: Some(env.clone()),
                        name: String::new(),
                    },
                    expected: json!({"state": "Started"}),
                    change: json!({"state": "Stopped"}),
                    why: "test".into(),
                    undo: Undo::Restore {
                        state: json!({"state": "Started"}),
                    },
                    warnings: vec![],
                    grace: None,
                });
            }
        }
    }
    assert!(steps.len() >= 20, "{} started flows", steps.len());
    let flows: Vec<String> = steps.iter().map(|s| s.target.id.clone()).collect();
    let author = Identity {
        kind: "app".into(),
        name: "planner".into(),
        tenant: String::new(),
    };
    let plan = Plan::new(&emu.ready().tenant_id, author, "test", steps).unwrap();
    let plan_path = dir.path().join("plan.json");
    plan.write(&plan_path).unwrap();

    emu.gate(Gated::Writes).hold_after(5);
    let mut child = Command::new(bin())
        .arg("--config")
        .arg(&cfg)
        .args([
            "apply",
            plan_path.to_str().unwrap(),
            "--yes",
            "--concurrency",
            "2",
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    // Kill it once five writes went through: the emulator holds the sixth (an event at the
    // emulator, not a timer), and the held one never reaches the service.
    let stopped = |emu: &Emulator| emu.state().writes.count_matching("/stop");
    emu.gate(Gated::Writes).wait_held(1).await;
    assert!(
        child.try_wait().unwrap().is_none(),
        "apply is still running, held at its sixth write"
    );
    child.kill().unwrap();
    child.wait().unwrap();
    emu.gate(Gated::Writes).abort_held();
    let partial = stopped(&emu);
    assert_eq!(partial, 5, "exactly the writes before the held one");
    assert!(
        partial < flows.len() as u64,
        "killed in the middle ({partial} of {})",
        flows.len()
    );

    let o = ppgov(&cfg, &["apply", plan_path.to_str().unwrap(), "--yes"]).await;
    assert!(o.status.success(), "{}", text(&o));
    for f in &flows {
        assert_eq!(
            emu.state()
                .writes
                .count_matching(&format!("/flows/{f}/stop")),
            1,
            "flow {f} stopped exactly once"
        );
    }
    let o = ppgov(&cfg, &["journal", "verify"]).await;
    assert!(o.status.success(), "{}", text(&o));
    // A third run changes nothing.
    let before = emu.write_counts();
    let o = ppgov(&cfg, &["apply", plan_path.to_str().unwrap(), "--yes"]).await;
    assert!(
        o.status.success() && text(&o).contains("already-done"),
        "{}",
        text(&o)
    );
    assert_eq!(emu.write_counts(), before);
    let tenant = emu.ready().tenant_id.clone();
    (dir, tenant)
}
