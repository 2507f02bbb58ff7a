//! `ppgov notify` through the CLI against the emulator and a local webhook receiver: the preview
//! sends nothing and gives one digest per recipient, managers come from Graph, `send` delivers
//! exactly the previewed digests and asks first, `test` reaches every sink.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;
use common::*;

#[allow(dead_code)]
#[path = "../../ppgov-notify/tests/it/receiver.rs"]
mod receiver;

use receiver::{HttpReceiver, Response};
use serde_json::Value;
use std::collections::BTreeSet;

const HOOK_VAR: &str = "PPGOV_TEST_NOTIFY_HOOK";
const IT: &str = "it@contoso.example";

fn notify_section() -> String {
    format!(
        "\n[notify]\nit_recipients = [\"{IT}\"]\n\n[[notify.webhooks]]\nname = \"ops\"\nkind = \"generic\"\nurl_env = \"{HOOK_VAR}\"\n"
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn preview_send_and_test_reach_makers_managers_and_it() {
    let emu = emulator(3).await;
    let dir = tempfile::tempdir().unwrap();
    config_with(dir.path(), &emu, &notify_section());
    let hook = HttpReceiver::start(|_, _| Response::ok());
    let url = hook.url("/hook");
    let env = [(HOOK_VAR, url.as_str())];
    let o = run(dir.path(), &["crawl"], &[]).await;
    assert!(o.status.success(), "{}", err(&o));

    // Preview: one digest per recipient, managers from Graph, nothing sent.
    let o = run(
        dir.path(),
        &["notify", "preview", "--managers", "--format", "json"],
        &env,
    )
    .await;
    assert!(o.status.success(), "{}", err(&o));
    let digests: Vec<Value> = serde_json::from_str(&out(&o)).unwrap();
    assert!(hook.requests().is_empty(), "preview sent nothing");
    let recipients: Vec<String> = digests
        .iter()
        .map(|d| d["recipient"].as_str().unwrap().to_ascii_lowercase())
        .collect();
    let unique: BTreeSet<&String> = recipients.iter().collect();
    assert_eq!(unique.len(), recipients.len(), "one digest per recipient");
    assert!(recipients.iter().any(|r| r == IT), "IT is told");
    let with_role = |role: &str| -> BTreeSet<String> {
        digests
            .iter()
            .filter(|d| d["roles"].as_array().unwrap().iter().any(|r| r == role))
            .map(|d| d["recipient"].as_str().unwrap().to_ascii_lowercase())
            .collect()
    };
    let makers = with_role("maker");
    let managers = with_role("manager");
    assert!(!makers.is_empty(), "makers are told: {recipients:?}");
    // The managers told are exactly the Graph managers of the makers and owners told.
    let expected: BTreeSet<String> = {
        let t = emu.state().tenant();
        let users = &t.directory.users;
        let by_mail = |m: &str| {
            users.iter().find(|u| {
                u.mail.as_deref().is_some_and(|x| x.eq_ignore_ascii_case(m))
                    || u.upn.eq_ignore_ascii_case(m)
            })
        };
        makers
            .iter()
            .chain(with_role("owner").iter())
            .filter_map(|m| by_mail(m)?.manager.clone())
            .filter_map(|id| users.iter().find(|u| u.id == id)?.mail.clone())
            .map(|m| m.to_ascii_lowercase())
            .collect()
    };
    assert!(!expected.is_empty(), "some makers have managers");
    assert_eq!(managers, expected);

    // Send asks first: off a terminal without --yes it refuses and sends nothing.
    let o = run(dir.path(), &["notify", "send", "--managers"], &env).await;
    assert!(!o.status.success());
    assert!(err(&o).contains("--yes"), "{}", err(&o));
    assert!(hook.requests().is_empty());

    // Send delivers exactly the previewed digests, one request each.
    let o = run(dir.path(), &["notify", "send", "--managers", "--yes"], &env).await;
    assert!(o.status.success(), "{}", err(&o));
    let got: Vec<String> = hook
        .requests()
        .iter()
        .map(|r| {
            let v = r.json();
            assert_eq!(v["test"], false);
            v["recipient"].as_str().unwrap().to_ascii_lowercase()
        })
        .collect();
    assert_eq!(
        got.iter().collect::<BTreeSet<_>>(),
        unique,
        "the sent digests are the previewed ones"
    );
    assert_eq!(got.len(), recipients.len());

    // Test: one message per sink, marked as a test, naming the address.
    let before = hook.requests().len();
    let o = run(
        dir.path(),
        &["notify", "test", "--to", "admin@contoso.example"],
        &env,
    )
    .await;
    assert!(o.status.success(), "{}", err(&o));
    let reqs = hook.requests();
    assert_eq!(reqs.len(), before + 1);
    let v = reqs[before].json();
    assert_eq!(v["test"], true);
    assert_eq!(v["recipient"], "admin@contoso.example");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sink_that_cannot_be_set_up_or_reached_fails_the_command() {
    let emu = emulator(3).await;
    let dir = tempfile::tempdir().unwrap();
    config_with(dir.path(), &emu, &notify_section());
    // The webhook's variable is not set: test names the variable and exits non-zero.
    let o = run(
        dir.path(),
        &["notify", "test", "--to", "a@contoso.example"],
        &[],
    )
    .await;
    assert!(!o.status.success());
    assert!(err(&o).contains(HOOK_VAR), "{}", err(&o));
    // A receiver that refuses: the delivery is reported as failed and the exit is non-zero.
    let hook = HttpReceiver::start(|_, _| Response(400, Vec::new(), "no".into()));
    let url = hook.url("/hook?sig=TOPSECRET");
    let o = run(
        dir.path(),
        &["notify", "test", "--to", "a@contoso.example"],
        &[(HOOK_VAR, url.as_str())],
    )
    .await;
    assert!(!o.status.success());
    assert!(out(&o).contains("FAILED"), "{}", out(&o));
    let all = format!("{}{}", out(&o), err(&o));
    assert!(
        !all.contains("TOPSECRET"),
        "the webhook secret never shows: {all}"
    );
    assert_eq!(hook.requests().len(), 1, "a 400 is not retried");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_sample_preview_needs_no_tenant() {
    let dir = tempfile::tempdir().unwrap();
    let o = run(dir.path(), &["notify", "preview", "--sample"], &[]).await;
    assert!(o.status.success(), "{}", err(&o));
    let text = out(&o);
    assert!(text.contains("maker@contoso.example"), "{text}");
    assert!(err(&o).contains("nothing was sent"));
}
