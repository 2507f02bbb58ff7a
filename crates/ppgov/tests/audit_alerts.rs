//! Audit alerts to the notification sinks through the CLI: the detections configured in
//! `ppgov.toml`'s `[detections]`, one digest per `[notify] it_recipients` address naming every
//! new incident, nothing told twice, and a failed delivery retried by the next run.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;
use common::*;

#[allow(dead_code)]
#[path = "../../ppgov-notify/tests/it/receiver.rs"]
mod receiver;

use ppgov_emulator::server::{Emulator, ServeOptions};
use receiver::{HttpReceiver, Response};
use serde_json::Value;
use std::collections::BTreeSet;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

const HOOK_VAR: &str = "PPGOV_TEST_ALERT_HOOK";
const SOC: [&str; 2] = ["soc@contoso.example", "ciso@contoso.example"];

/// TOML has no null: absent is how it says "not set".
fn strip_nulls(v: &mut Value) {
    match v {
        Value::Object(m) => {
            m.retain(|_, x| !x.is_null());
            m.values_mut().for_each(strip_nulls);
        }
        Value::Array(a) => a.iter_mut().for_each(strip_nulls),
        _ => {}
    }
}

/// `[detections]` from the emulator's ground truth, as TOML, and the notification sinks.
fn sections(emu: &Emulator) -> String {
    let mut det: Value = emu.ground_truth().detection_config.clone();
    strip_nulls(&mut det);
    let mut table = toml::Table::new();
    table.insert(
        "detections".into(),
        toml::Value::try_from(&det).expect("the detection config is TOML-able"),
    );
    format!(
        "\n[notify]\nit_recipients = [\"{}\", \"{}\"]\n\n[[notify.webhooks]]\nname = \"soc\"\nkind = \"generic\"\nurl_env = \"{HOOK_VAR}\"\n\n{}",
        SOC[0],
        SOC[1],
        toml::to_string(&table).unwrap()
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn new_incidents_are_told_once_to_every_it_recipient() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let emu = Emulator::start(listener, ServeOptions::default())
        .await
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    config_with(d, &emu, &sections(&emu));
    // The first run's receiver refuses: the alerts are stored, the command says the delivery
    // failed, and nothing is marked as told.
    let refuse = Arc::new(AtomicBool::new(true));
    let r = refuse.clone();
    let hook = HttpReceiver::start(move |_, _| {
        if r.load(Ordering::SeqCst) {
            Response(400, Vec::new(), "no".into())
        } else {
            Response::ok()
        }
    });
    let url = hook.url("/soc");
    let env = [(HOOK_VAR, url.as_str())];
    let o = run(d, &["audit", "ingest", "--detect"], &env).await;
    assert!(!o.status.success(), "a failed delivery fails the command");
    assert!(err(&o).contains("retried"), "{}", err(&o));
    let refused = hook.requests().len();
    assert_eq!(
        refused,
        SOC.len(),
        "one digest per recipient, not per alert"
    );

    // The next run delivers every incident, once per recipient.
    refuse.store(false, Ordering::SeqCst);
    let o = run(d, &["audit", "detect", "--format", "json"], &env).await;
    assert!(o.status.success(), "{}", err(&o));
    let alerts = run(d, &["audit", "alerts", "--format", "json"], &[]).await;
    let alerts: Value = serde_json::from_slice(&alerts.stdout).unwrap();
    let keys: BTreeSet<String> = alerts["alerts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["detection_id"].as_str().unwrap().to_string())
        .collect();
    assert!(
        keys.len() >= 5,
        "the planted attacks are detected: {keys:?}"
    );
    let sent = &hook.requests()[refused..];
    assert_eq!(sent.len(), SOC.len());
    let mut told = BTreeSet::new();
    for r in sent {
        let v = r.json();
        assert!(SOC.contains(&v["recipient"].as_str().unwrap()));
        let items = v["items"].as_array().unwrap();
        assert_eq!(
            items.len(),
            alerts["alerts"].as_array().unwrap().len(),
            "every incident in the digest"
        );
        for i in items {
            told.insert(i["findings"][0]["rule_id"].as_str().unwrap().to_string());
        }
    }
    assert_eq!(told, keys);

    // Nothing new: nobody is told again.
    let o = run(d, &["audit", "detect"], &env).await;
    assert!(o.status.success(), "{}", err(&o));
    assert_eq!(hook.requests().len(), refused + SOC.len());
}
