//! Whole listings against the emulator, with and without its rate limit.

use crate::support::*;
use futures::{StreamExt, TryStreamExt};
use ppgov_client::{BapClient, FlowClient, LimiterConfig, PowerAppsClient, Transport};
use ppgov_config::Endpoints;
use ppgov_emulator::server::{Emulator, ServeOptions};
use serde_json::Value;
use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;

async fn emulator(opts: ServeOptions) -> (Emulator, Endpoints, Arc<EmulatorToken>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let emu = Emulator::start(listener, opts).await.unwrap();
    let base = url::Url::parse(&emu.ready().url).unwrap();
    let tokens = Arc::new(EmulatorToken::new(emu.ready()));
    (emu, Endpoints::all_at(&base), tokens)
}

async fn env_names(t: &Transport, e: &Endpoints) -> Vec<String> {
    let envs: Vec<Value> = BapClient::new(t.clone(), e)
        .list_environments(&[])
        .try_collect()
        .await
        .unwrap();
    assert!(!envs.is_empty());
    envs.iter()
        .map(|v| v["name"].as_str().unwrap().to_owned())
        .collect()
}

/// Every flow and app of every environment, checking each id appears once.
async fn crawl(t: &Transport, e: &Endpoints) -> (usize, usize) {
    let flows = FlowClient::new(t.clone(), e);
    let apps = PowerAppsClient::new(t.clone(), e);
    let mut flow_ids = BTreeSet::new();
    let mut app_ids = BTreeSet::new();
    for env in env_names(t, e).await {
        let f: Vec<Value> = flows.list_flows(&env).try_collect().await.unwrap();
        for v in f {
            assert!(
                flow_ids.insert(v["name"].as_str().unwrap().to_owned()),
                "duplicate flow"
            );
        }
        let a: Vec<Value> = apps.list_apps(&env).try_collect().await.unwrap();
        for v in a {
            assert!(
                app_ids.insert(v["name"].as_str().unwrap().to_owned()),
                "duplicate app"
            );
        }
    }
    (flow_ids.len(), app_ids.len())
}

#[tokio::test]
async fn paged_flow_and_app_listings_complete() {
    let (emu, e, tokens) = emulator(ServeOptions::default()).await;
    let t = Transport::with_config(tokens, fast_config()).unwrap();
    let (flows, apps) = crawl(&t, &e).await;
    assert!(flows > 50, "flows {flows}");
    assert!(apps > 0, "apps {apps}");
    let c = t.counters();
    assert_eq!(c.throttled, 0);
    assert_eq!(
        c.requests,
        emu.request_count(),
        "every request the server saw came from this transport"
    );
}

#[tokio::test]
async fn rate_limited_listing_loses_nothing_and_stays_under_the_limit() {
    // Ground truth without a limit.
    let (_emu0, e0, tokens0) = emulator(ServeOptions::default()).await;
    let t0 = Transport::with_config(tokens0, fast_config()).unwrap();
    let (flows0, apps0) = crawl(&t0, &e0).await;

    let limit = 25.0;
    let (emu, e, tokens) = emulator(ServeOptions {
        rate_limit: Some(limit),
        ..Default::default()
    })
    .await;
    let mut cfg = fast_config();
    // Optimistic start well above the server's limit; the limiter must find it.
    cfg.limiter = LimiterConfig {
        initial_rate: 100.0,
        ..LimiterConfig::default()
    };
    cfg.retry.max_delay = Duration::from_secs(5);
    cfg.retry.max_throttled_attempts = 20;
    let t = Transport::with_config(tokens, cfg).unwrap();
    // Two crawls back to back, plus a burst of concurrent permission reads.
    let (flows, apps) = crawl(&t, &e).await;
    let envs = env_names(&t, &e).await;
    let fc = FlowClient::new(t.clone(), &e);
    let mut pairs = Vec::new();
    for env in &envs {
        let f: Vec<Value> = fc.list_flows(env).try_collect().await.unwrap();
        pairs.extend(
            f.into_iter()
                .map(|v| (env.clone(), v["name"].as_str().unwrap().to_owned())),
        );
    }
    let perms: Vec<usize> = futures::stream::iter(pairs.clone())
        .map(|(env, flow)| {
            let fc = fc.clone();
            async move {
                fc.flow_permissions::<Value>(&env, &flow)
                    .try_collect::<Vec<_>>()
                    .await
                    .map(|v| v.len())
            }
        })
        .buffer_unordered(8)
        .try_collect()
        .await
        .unwrap();
    assert_eq!(
        (flows, apps),
        (flows0, apps0),
        "no item lost or duplicated under throttling"
    );
    assert_eq!(perms.len(), pairs.len());
    let c = t.counters();
    let served = emu.request_count();
    assert_eq!(c.requests, served);
    // The server answers every request over its budget with a 429, so few 429s means the
    // limiter found the rate (judged by the server's answers, not by timing this machine).
    assert!(
        c.throttled * 20 <= c.requests,
        "too many 429s: {} of {} requests",
        c.throttled,
        c.requests
    );
    eprintln!(
        "rate-limited crawl: {} requests, {} throttled, wait {} ms",
        c.requests, c.throttled, c.wait_ms
    );
}

#[tokio::test]
async fn listings_survive_injected_faults() {
    let (_emu0, e0, tokens0) = emulator(ServeOptions::default()).await;
    let t0 = Transport::with_config(tokens0, fast_config()).unwrap();
    let expected = crawl(&t0, &e0).await;
    // 10 % of calls fail: half 500/503, half dropped connections. Listings are GETs, so every
    // failure is retried and nothing is lost or doubled.
    let (_emu, e, tokens) = emulator(ServeOptions {
        fault_rate: 0.1,
        ..Default::default()
    })
    .await;
    let mut cfg = fast_config();
    cfg.retry.max_attempts = 8;
    let t = Transport::with_config(tokens, cfg).unwrap();
    assert_eq!(crawl(&t, &e).await, expected);
    assert!(t.counters().retries > 0, "faults were injected and retried");
}

#[tokio::test]
async fn management_feed_lists_and_fetches_blobs() {
    let (emu, e, tokens) = emulator(ServeOptions::default()).await;
    let t = Transport::with_config(tokens, fast_config()).unwrap();
    let m = ppgov_client::ManagementClient::new(
        t,
        &e,
        &emu.ready().tenant_id,
        Some("00000000-0000-0000-0000-00000000beef".into()),
    )
    .unwrap();
    let sub: Value = m.start_subscription("Audit.General").await.unwrap();
    assert_eq!(sub["status"], "enabled");
    let subs: Vec<Value> = m.list_subscriptions().await.unwrap();
    assert!(subs.iter().any(|s| s["contentType"] == "Audit.General"));
    let end = chrono::Utc::now();
    let start = end - chrono::Duration::hours(48);
    let blobs: Vec<Value> = m
        .list_content("Audit.General", start, end)
        .try_collect()
        .await
        .unwrap();
    let mut ids = BTreeSet::new();
    for b in &blobs {
        assert!(
            ids.insert(b["contentId"].as_str().unwrap().to_owned()),
            "duplicate blob"
        );
    }
    assert!(
        !blobs.is_empty(),
        "the small tenant has audit content in the last 48 h"
    );
    let records: Vec<Value> = m
        .fetch_blob(blobs[0]["contentUri"].as_str().unwrap())
        .await
        .unwrap();
    assert!(!records.is_empty());
    assert!(records.iter().all(|r| r.get("Id").is_some()));
}

#[tokio::test]
async fn inventory_query_pages_through_every_row() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let emu = Emulator::start(listener, ServeOptions::default())
        .await
        .unwrap();
    let base = url::Url::parse(&emu.ready().url).unwrap();
    let e = Endpoints::all_at(&base);
    let t =
        Transport::with_config(Arc::new(EmulatorToken::user(emu.ready())), fast_config()).unwrap();
    let query = serde_json::json!({
        "TableName": "PowerPlatformResources",
        "Clauses": [
            {"$type": "where", "FieldName": "type", "Operator": "in~", "Values": ["'microsoft.powerapps/canvasapps'", "'microsoft.powerautomate/cloudflows'"]},
            {"$type": "orderby", "FieldNamesAscDesc": {"name": "asc"}}
        ]
    });
    // One big page for the expected total.
    let u = ppgov_client::build_url(
        &e.powerplatform,
        "/resourcequery/resources/query",
        &[("api-version", "2024-10-01")],
    )
    .unwrap();
    let mut body = query.clone();
    body["Options"] = serde_json::json!({"Top": 1000});
    let first: Value = t
        .send_json(
            ppgov_client::Request::post(u, &e.scopes.powerplatform)
                .json(&body)
                .unwrap(),
        )
        .await
        .unwrap();
    let total = first["totalRecords"].as_u64().unwrap() as usize;
    assert!(total > 20, "total {total}");
    // Then small pages through the stream.
    let pp = ppgov_client::PowerPlatformClient::new(t.clone(), &e);
    let rows: Vec<Value> = pp.inventory_query(&query, 17).try_collect().await.unwrap();
    let names: BTreeSet<String> = rows
        .iter()
        .map(|r| r["name"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(rows.len(), total);
    assert_eq!(names.len(), total, "no duplicates");
    assert!(
        t.counters().requests as usize > total.div_ceil(17),
        "paged in pages of 17"
    );
}

#[tokio::test]
async fn dataverse_users_roles_and_association_round_trip() {
    let (_emu, e, tokens) = emulator(ServeOptions::default()).await;
    let t = Transport::with_config(tokens, fast_config()).unwrap();
    let envs: Vec<Value> = BapClient::new(t.clone(), &e)
        .list_environments(&[])
        .try_collect()
        .await
        .unwrap();
    let instance = envs
        .iter()
        .filter_map(|v| {
            v.pointer("/properties/linkedEnvironmentMetadata/instanceUrl")
                .and_then(Value::as_str)
        })
        .next()
        .expect("a Dataverse environment");
    let instance = url::Url::parse(instance).unwrap();
    let small = ppgov_client::DataverseClient::new(t.clone(), &instance, 7).unwrap();
    let big = ppgov_client::DataverseClient::new(t.clone(), &instance, 5000).unwrap();
    let users_small: Vec<Value> = small
        .system_users(None, "systemuserid,domainname", "")
        .try_collect()
        .await
        .unwrap();
    let users_big: Vec<Value> = big
        .system_users(None, "systemuserid,domainname", "")
        .try_collect()
        .await
        .unwrap();
    assert_eq!(users_small.len(), users_big.len());
    let ids: BTreeSet<&str> = users_small
        .iter()
        .map(|u| u["systemuserid"].as_str().unwrap())
        .collect();
    assert_eq!(
        ids.len(),
        users_small.len(),
        "no duplicates across small pages"
    );
    assert!(small.organization::<Value>().await.unwrap().is_some());

    let roles: Vec<Value> = big
        .roles_by_template(ppgov_core::SYSTEM_ADMINISTRATOR_TEMPLATE_ID)
        .try_collect()
        .await
        .unwrap();
    let role_id = roles[0]["roleid"].as_str().unwrap().to_owned();
    let members = |dv: ppgov_client::DataverseClient, r: String| async move {
        dv.role_members::<Value>(&r)
            .map_ok(|m| m["systemuserid"].as_str().unwrap().to_owned())
            .try_collect::<BTreeSet<String>>()
            .await
            .unwrap()
    };
    let before = members(big.clone(), role_id.clone()).await;
    let outsider = ids
        .iter()
        .find(|id| !before.contains(**id))
        .expect("a user without the role")
        .to_string();
    assert_eq!(
        big.associate_role(&outsider, &role_id)
            .await
            .unwrap()
            .status,
        204
    );
    assert!(
        members(big.clone(), role_id.clone())
            .await
            .contains(&outsider)
    );
    assert_eq!(
        big.disassociate_role(&outsider, &role_id)
            .await
            .unwrap()
            .status,
        204
    );
    assert_eq!(members(big.clone(), role_id.clone()).await, before);
}

#[tokio::test]
async fn graph_batch_lookup_matches_the_directory() {
    let (emu, e, tokens) = emulator(ServeOptions::default()).await;
    let (ids, deleted): (Vec<String>, BTreeSet<String>) = {
        let tenant = emu.tenant();
        let users = &tenant.directory.users;
        let ids: Vec<String> = users.iter().take(45).map(|u| u.id.clone()).collect();
        let deleted = users
            .iter()
            .take(45)
            .filter(|u| u.deleted)
            .map(|u| u.id.clone())
            .collect();
        (ids, deleted)
    };
    let mut ids = ids;
    ids.push("00000000-0000-0000-0000-00000000dead".into());
    let t = Transport::with_config(tokens, fast_config()).unwrap();
    let g = ppgov_client::GraphClient::new(t.clone(), &e);
    let res = g
        .get_users::<Value>(&ids, "id,userPrincipalName")
        .await
        .unwrap();
    assert_eq!(res.len(), ids.len());
    for (id, r) in &res {
        match r {
            ppgov_client::UserLookup::Found(v) => {
                assert_eq!(v["id"], id.as_str());
                assert!(!deleted.contains(id));
            }
            ppgov_client::UserLookup::Deleted => {
                assert!(deleted.contains(id) || id.ends_with("dead"), "{id}")
            }
            other => panic!("{id}: {other:?}"),
        }
    }
    // 46 lookups in 3 batches (20, 20, 6), no throttling.
    assert_eq!(t.counters().requests, 3);
}
