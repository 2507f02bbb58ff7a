//! The environment cache is bounded by size, yet a write is never lost: a written environment
//! survives any eviction pressure (it is rebuilt with its writes), and an untouched one comes back
//! identical after eviction.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::time::Duration;

use ppgov_emulator::server::{Emulator, ServeOptions};
use reqwest::StatusCode;
use serde_json::Value;

const PA: &str = "https://service.powerapps.com/.default";
const FLOW: &str = "https://service.flow.microsoft.com/.default";
const FLE: &str = "/providers/Microsoft.ProcessSimple/scopes/admin/environments";
const PAE: &str = "/providers/Microsoft.PowerApps/scopes/admin/environments";

fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .no_proxy()
        .timeout(Duration::from_secs(20))
        .build()
        .unwrap()
}

async fn token(emu: &Emulator, scope: &str) -> String {
    let r = emu.ready();
    let url = format!("{}/{}/oauth2/v2.0/token", r.url, r.tenant_id);
    let form = [
        ("grant_type", "client_credentials"),
        ("client_id", r.client_id.as_str()),
        ("client_secret", r.client_secret.as_str()),
        ("scope", scope),
    ];
    let body: Value = client()
        .post(url)
        .form(&form)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    body["access_token"].as_str().unwrap().to_string()
}

async fn call(
    emu: &Emulator,
    method: reqwest::Method,
    token: &str,
    path: &str,
) -> (StatusCode, String) {
    let mut rb = client()
        .request(method.clone(), format!("{}{path}", emu.ready().url))
        .bearer_auth(token);
    if method == reqwest::Method::POST {
        rb = rb.header("content-type", "application/json").body("{}");
    }
    let r = rb.send().await.unwrap();
    (r.status(), r.text().await.unwrap())
}

async fn get_json(emu: &Emulator, token: &str, path: &str) -> Value {
    let (s, text) = call(emu, reqwest::Method::GET, token, path).await;
    assert_eq!(s, StatusCode::OK, "{path}: {text}");
    serde_json::from_str(&text).unwrap()
}

#[tokio::test]
async fn written_environment_survives_eviction_pressure() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let emu = Emulator::start(listener, ServeOptions::default())
        .await
        .unwrap();
    let (fl, pa) = (token(&emu, FLOW).await, token(&emu, PA).await);
    let (written, others): (String, Vec<String>) = {
        let t = emu.tenant();
        let e = t.environments.iter().max_by_key(|e| e.flows).unwrap();
        let others = t
            .environments
            .iter()
            .filter(|o| o.index != e.index)
            .map(|o| o.name.clone())
            .collect();
        (e.name.clone(), others)
    };
    assert!(!others.is_empty());

    // Untouched content, as served before any eviction.
    let mut before = Vec::new();
    for env in &others {
        before.push(get_json(&emu, &fl, &format!("{FLE}/{env}/v2/flows?$top=250")).await);
    }

    // Write: stop a flow and delete an app.
    let flows = get_json(&emu, &fl, &format!("{FLE}/{written}/v2/flows")).await;
    let flow = flows["value"][0]["name"].as_str().unwrap().to_string();
    let later = flows["value"][1]["name"].as_str().unwrap().to_string();
    let apps = get_json(&emu, &pa, &format!("{PAE}/{written}/apps")).await;
    let app = apps["value"][0]["name"].as_str().unwrap().to_string();
    let (s, _) = call(
        &emu,
        reqwest::Method::POST,
        &fl,
        &format!("{FLE}/{written}/flows/{flow}/stop"),
    )
    .await;
    assert_eq!(s, StatusCode::OK);
    let (s, _) = call(
        &emu,
        reqwest::Method::DELETE,
        &pa,
        &format!("{PAE}/{written}/apps/{app}"),
    )
    .await;
    assert_eq!(s, StatusCode::OK);

    // Pressure: a budget of one byte drops every environment, now and right after each use.
    emu.state().set_env_cache_budget(1);
    let stats = emu.state().env_cache_stats();
    assert_eq!((stats.environments, stats.written), (0, 1), "{stats:?}");
    assert!(stats.delta_bytes > 0);
    for (env, old) in others.iter().zip(&before) {
        let again = get_json(&emu, &fl, &format!("{FLE}/{env}/v2/flows?$top=250")).await;
        assert_eq!(&again, old, "{env} rebuilt identically");
    }
    // A write to an environment that is not cached lands too.
    let (s, _) = call(
        &emu,
        reqwest::Method::POST,
        &fl,
        &format!("{FLE}/{written}/flows/{later}/stop"),
    )
    .await;
    assert_eq!(s, StatusCode::OK);
    let stats = emu.state().env_cache_stats();
    assert_eq!((stats.environments, stats.written), (0, 1), "{stats:?}");

    // The writes are still there.
    let doc = get_json(&emu, &fl, &format!("{FLE}/{written}/flows/{flow}")).await;
    assert_eq!(doc["properties"]["state"], "Stopped");
    assert!(doc["properties"]["definition"]["triggers"].is_object());
    let (s, _) = call(
        &emu,
        reqwest::Method::GET,
        &pa,
        &format!("{PAE}/{written}/apps/{app}"),
    )
    .await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    let listed = get_json(&emu, &fl, &format!("{FLE}/{written}/v2/flows?$top=250")).await;
    for name in [&flow, &later] {
        let stopped = listed["value"]
            .as_array()
            .unwrap()
            .iter()
            .find(|f| f["name"] == name.as_str())
            .unwrap();
        assert_eq!(stopped["properties"]["state"], "Stopped", "{name}");
    }
    let apps = get_json(&emu, &pa, &format!("{PAE}/{written}/apps?$top=250")).await;
    assert!(
        apps["value"]
            .as_array()
            .unwrap()
            .iter()
            .all(|a| a["name"] != app.as_str())
    );
    emu.shutdown().await.unwrap();
}
