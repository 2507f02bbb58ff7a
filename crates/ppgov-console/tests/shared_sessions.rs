//! Console sessions shared through PostgreSQL (`[store] url`): two `ppgov serve` instances with
//! the console on one database, behind one public address (a load balancer the test plays by
//! sending each request to the instance it chooses). A session opened on one works on the
//! other, a form token is spent once whichever instance sees it, sign-out and expiry hold on
//! both, a sign-in finishes on another instance than the one it started on, a restart signs
//! nobody out, and a session store that fails signs people out instead of letting them in.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::*;
use ppgov_emulator::scenario::wellknown as wk;
use ppgov_emulator::server::Emulator;
use ppgov_serve::{ManualClock, ServeOptions, Server, Tenant};
use ppgov_store_pg::PgStore;
use ppgov_store_pg::testing::{APP_ROLE, TestDb};
use reqwest::StatusCode;
use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;

/// What browsers open: the load balancer's address (`[console] public_url`), the same for
/// every instance, so the redirect URI of a sign-in is the same whichever instance finishes it.
const LB: &str = "http://127.0.0.1:9";

/// One tenant of the emulator, its store folder shared by the instances, `[store] url` and the
/// console behind [`LB`].
fn config(dir: &Path, emu: &Emulator, url: &str) -> ppgov_config::Config {
    let r = emu.ready();
    let u = &r.url;
    let text = format!(
        "[tenant]\nid = \"{}\"\nname = \"Contoso\"\n\n[auth]\nmethod = \"client_secret\"\nclient_id = \"{}\"\nclient_secret = \"{}\"\n\n[endpoints]\nlogin = \"{u}\"\nbap = \"{u}\"\npowerapps = \"{u}\"\nflow = \"{u}\"\npowerplatform = \"{u}\"\ngraph = \"{u}\"\nmanagement = \"{u}\"\n\n[store]\npath = \"{}\"\nurl = \"{url}\"\n\n[console]\nclient_id = \"{}\"\npublic_url = \"{LB}\"\nsession_minutes = 60\n",
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

fn setup(config: &ppgov_config::Config) -> ppgov_console::ConsoleSetup {
    ppgov_console::ConsoleSetup::from_configs(std::slice::from_ref(config), &|v| {
        (v == "PPGOV_CONSOLE_SECRET").then(|| wk::CONSOLE_CLIENT_SECRET.to_string())
    })
    .unwrap()
    .expect("[console] is configured")
}

/// An instance: the PostgreSQL job queue, the console with its sessions in the same database.
async fn instance(config: &ppgov_config::Config, clock: &Arc<ManualClock>, name: &str) -> Server {
    let url = config.store.url.clone().unwrap();
    let queue = tokio::task::block_in_place(|| PgStore::connect(&url, None)).unwrap();
    Server::start(
        vec![Tenant::new(config.clone(), &|_| None)],
        Box::new(queue),
        ServeOptions {
            listen: "127.0.0.1:0".parse().unwrap(),
            clock: clock.clone(),
            instance: name.into(),
            workers: 2,
            lease_ms: 300_000,
            poll_ms: 60_000,
            api_tokens: vec![],
            extra_routes: Some(ppgov_console::routes(setup(config)).unwrap()),
        },
    )
    .await
    .unwrap()
}

fn base(server: &Server) -> String {
    format!("http://{}", server.addr())
}

/// Signs `login` in, starting at instance `from` and delivering Entra's callback (addressed to
/// the load balancer) to instance `to`; returns the answer and the callback as Entra sent it.
async fn sign_in(
    b: &mut Browser,
    emu: &Emulator,
    from: &str,
    to: &str,
    login: &str,
    password: &str,
) -> (Answer, String) {
    let tenant = &emu.ready().tenant_id;
    let start = b
        .get(&format!("{from}/auth/login?return_to=/t/{tenant}"))
        .await;
    assert_eq!(start.status, StatusCode::FOUND, "{}", start.body);
    let page = b.get(&start.location.unwrap()).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    let mut form = inputs(&page.body, "type=\"hidden\"");
    form.push(("login".into(), login.into()));
    form.push(("passwd".into(), password.into()));
    let pairs: Vec<(&str, &str)> = form.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let posted = b
        .post(
            &format!("{}/{tenant}/oauth2/v2.0/authorize", emu.ready().url),
            &pairs,
        )
        .await;
    let callback = posted.location.expect("Entra redirects to the callback");
    assert!(
        callback.starts_with(&format!("{LB}/auth/callback?")),
        "{callback}"
    );
    let landed = b.get(&callback.replacen(LB, to, 1)).await;
    (landed, callback)
}

fn signed_in_at(landed: &Answer, tenant: &str) {
    assert_eq!(landed.status, StatusCode::SEE_OTHER, "{}", landed.body);
    assert_eq!(
        landed.location.as_deref(),
        Some(format!("/t/{tenant}").as_str())
    );
}

/// A browser holding only the session cookie `id`.
fn with_session(id: &str) -> Browser {
    let mut b = Browser::new();
    b.cookies.insert("ppgov_session".into(), id.into());
    b
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_instances_share_sessions_sign_ins_and_form_tokens_through_postgresql() {
    // The PostgreSQL client blocks on a runtime of its own: off this one.
    let db = tokio::task::block_in_place(TestDb::new);
    let emu = emulator().await;
    let dir = tempfile::tempdir().unwrap();
    let config = config(dir.path(), &emu, &db.url());
    let clock = ManualClock::new(chrono::Utc::now().timestamp_millis());
    let a = instance(&config, &clock, "instance-a").await;
    let b = instance(&config, &clock, "instance-b").await;
    let (at_a, at_b) = (base(&a), base(&b));
    let t = emu.ready().tenant_id.clone();
    let overview = format!("/t/{t}");
    let r = emu.ready();

    // Signed in on A; the cookie works on B.
    let mut admin = Browser::new();
    let (landed, _) = sign_in(&mut admin, &emu, &at_a, &at_a, &r.username, &r.password).await;
    signed_in_at(&landed, &t);
    let id = admin.cookies["ppgov_session"].clone();
    let page = admin.get(&format!("{at_b}{overview}")).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    assert!(page.body.contains("id=\"run-digest\""), "{}", page.body);
    // The database holds the id's digest, never the id.
    let mut pg = tokio::task::block_in_place(|| db.admin());
    let (by_digest, raw): (i64, i64) = tokio::task::block_in_place(|| {
        let r = pg
            .query_one(
                "SELECT count(*) FILTER (WHERE id_digest = sha256($1::text::bytea)),
                        count(*) FILTER (WHERE position($1 in value) > 0)
                 FROM console_sessions",
                &[&id],
            )
            .unwrap();
        (r.get(0), r.get(1))
    });
    assert_eq!((by_digest, raw), (1, 0));

    // A form token rendered by A is accepted once on B; its replay on A is refused.
    let page = admin.get(&format!("{at_a}{overview}")).await;
    let token = csrf_after(&page.body, "value=\"digest\"");
    let jobs = format!("{overview}/jobs");
    let form = [("csrf", token.as_str()), ("kind", "digest")];
    let ok = admin.post(&format!("{at_b}{jobs}"), &form).await;
    assert_eq!(ok.status, StatusCode::SEE_OTHER, "{}", ok.body);
    let replay = admin.post(&format!("{at_a}{jobs}"), &form).await;
    assert_eq!(replay.status, StatusCode::FORBIDDEN, "{}", replay.body);
    assert!(replay.body.contains("already sent once"), "{}", replay.body);
    let replay = admin.post(&format!("{at_b}{jobs}"), &form).await;
    assert_eq!(replay.status, StatusCode::FORBIDDEN, "replayed on B too");

    // Sign-out on B ends the session on A.
    let page = admin.get(&format!("{at_b}{overview}")).await;
    let token = csrf_after(&page.body, "/auth/logout");
    let out = admin
        .post(&format!("{at_b}/auth/logout"), &[("csrf", &token)])
        .await;
    assert_eq!(out.status, StatusCode::SEE_OTHER, "{}", out.body);
    let mut replayed = with_session(&id);
    let p = replayed.get(&format!("{at_a}{overview}")).await;
    assert_eq!(p.status, StatusCode::SEE_OTHER, "signed out on A as well");
    assert!(p.location.unwrap().starts_with("/auth/login"));

    // A sign-in started on A finishes on B, once: the same callback on A is refused.
    let mut viewer = Browser::new();
    let viewer_login = format!("console.viewer@{}", r.username.split('@').nth(1).unwrap());
    let (landed, callback) = sign_in(
        &mut viewer,
        &emu,
        &at_a,
        &at_b,
        &viewer_login,
        wk::ADMIN_PASSWORD,
    )
    .await;
    signed_in_at(&landed, &t);
    let again = viewer.get(&callback.replacen(LB, &at_a, 1)).await;
    assert_eq!(again.status, StatusCode::BAD_REQUEST, "{}", again.body);
    assert!(again.body.contains("already finished"), "{}", again.body);
    for at in [&at_a, &at_b] {
        let p = viewer.get(&format!("{at}{overview}")).await;
        assert_eq!(p.status, StatusCode::OK, "{at}: {}", p.body);
    }

    // A restart signs nobody out: A stops, a new instance takes its place.
    a.shutdown().await;
    let a2 = instance(&config, &clock, "instance-a2").await;
    let at_a2 = base(&a2);
    let p = viewer.get(&format!("{at_a2}{overview}")).await;
    assert_eq!(p.status, StatusCode::OK, "after the restart: {}", p.body);

    // Past its expiry (the server's clock), the session is refused on both.
    clock.advance(61 * 60 * 1000);
    for at in [&at_a2, &at_b] {
        let p = viewer.get(&format!("{at}{overview}")).await;
        assert_eq!(p.status, StatusCode::SEE_OTHER, "{at}: expired");
        let p = viewer
            .post(&format!("{at}{jobs}"), &[("kind", "digest")])
            .await;
        assert_eq!(p.status, StatusCode::UNAUTHORIZED, "{at}: expired");
    }
    let left: i64 = tokio::task::block_in_place(|| {
        pg.query_one("SELECT count(*) FROM console_sessions", &[])
            .unwrap()
            .get(0)
    });
    assert_eq!(
        left, 0,
        "the expired session was deleted when it was refused"
    );
    a2.shutdown().await;
    b.shutdown().await;
    tokio::task::block_in_place(|| drop(pg));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failing_session_store_signs_people_out_and_refuses_sign_in_until_it_is_back() {
    let db = tokio::task::block_in_place(TestDb::new);
    let emu = emulator().await;
    let dir = tempfile::tempdir().unwrap();
    let config = config(dir.path(), &emu, &db.url());
    let clock = ManualClock::new(chrono::Utc::now().timestamp_millis());
    let a = instance(&config, &clock, "instance-a").await;
    let at = base(&a);
    let overview = format!("{at}/t/{}", emu.ready().tenant_id);
    let r = emu.ready();
    let mut admin = Browser::new();
    let (landed, _) = sign_in(&mut admin, &emu, &at, &at, &r.username, &r.password).await;
    signed_in_at(&landed, &r.tenant_id);
    let page = admin.get(&overview).await;
    let token = csrf_after(&page.body, "value=\"digest\"");

    // The console's role loses its rights on the session tables: every call fails.
    let tables = "console_sessions, console_pending, console_form_tokens";
    let mut pg = tokio::task::block_in_place(|| db.admin());
    tokio::task::block_in_place(|| {
        pg.batch_execute(&format!("REVOKE ALL ON {tables} FROM {APP_ROLE}"))
            .unwrap();
    });
    let p = admin.get(&overview).await;
    assert_eq!(p.status, StatusCode::SEE_OTHER, "signed out: {}", p.body);
    assert!(p.location.unwrap().starts_with("/auth/login"));
    let jobs = format!("{overview}/jobs");
    let form = [("csrf", token.as_str()), ("kind", "digest")];
    let p = admin.post(&jobs, &form).await;
    assert_eq!(p.status, StatusCode::UNAUTHORIZED, "a form is refused");
    let p = Browser::new().get(&format!("{at}/auth/login")).await;
    assert_eq!(p.status, StatusCode::SERVICE_UNAVAILABLE, "{}", p.body);
    assert!(
        p.body.contains("session store cannot be reached"),
        "{}",
        p.body
    );

    // Back: the session and its token work again (once).
    tokio::task::block_in_place(|| {
        pg.batch_execute(&format!("GRANT ALL ON {tables} TO {APP_ROLE}"))
            .unwrap();
    });
    assert_eq!(admin.get(&overview).await.status, StatusCode::OK);
    let p = admin.post(&jobs, &form).await;
    assert_eq!(p.status, StatusCode::SEE_OTHER, "{}", p.body);
    let p = admin.post(&jobs, &form).await;
    assert_eq!(p.status, StatusCode::FORBIDDEN);
    a.shutdown().await;
    tokio::task::block_in_place(|| drop(pg));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unreachable_session_database_stops_the_console_with_its_address_not_its_password() {
    let emu = emulator().await;
    let dir = tempfile::tempdir().unwrap();
    // Port 1 on loopback: nothing listens there.
    let config = config(
        dir.path(),
        &emu,
        "postgres://ppgov:s3cret@127.0.0.1:1/sessions",
    );
    let err = match ppgov_console::routes(setup(&config)) {
        Ok(_) => panic!("the console started without its session database"),
        Err(e) => e,
    };
    let text = err.to_string();
    assert!(
        matches!(err, ppgov_console::ConsoleError::Sessions(_)),
        "{err:?}"
    );
    assert!(text.contains("[store] url"), "{text}");
    assert!(text.contains("127.0.0.1:1/sessions"), "{text}");
    assert!(!text.contains("s3cret"), "{text}");
}
