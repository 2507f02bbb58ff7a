//! A tenant whose environment, app, flow, connection and principal ids hold quotes, slashes,
//! `#`, spaces and percent signs crawls exactly like any other: every id is percent-encoded in
//! paths, escaped in OData filters and in Graph `$batch` URLs (the emulator decodes them the
//! way the services do, so a missing or doubled encoding misses the resource).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use ppgov_auth::{Credential, EntraTokenSource, SourceOptions};
use ppgov_client::{LimiterConfig, Transport, TransportConfig};
use ppgov_config::Endpoints;
use ppgov_core::PrincipalStatus;
use ppgov_crawl::{Clients, CrawlOptions, crawl};
use ppgov_emulator::scenario::hostile::{self, SUFFIX};
use ppgov_emulator::server::{ContentFn, Emulator, ServeOptions};
use ppgov_emulator::tenant::{ScenarioConfig, Size, Tenant};
use ppgov_store::Store;
use std::collections::BTreeSet;
use std::sync::Arc;

fn clients(emu: &Emulator, delegated: bool) -> Clients {
    let ready = emu.ready();
    let base = url::Url::parse(&ready.url).unwrap();
    let endpoints = Endpoints::all_at(&base);
    let credential = if delegated {
        Credential::Password {
            client_id: ppgov_emulator::scenario::wellknown::PUBLIC_CLIENT_ID.into(),
            username: ready.username.clone(),
            password: ready.password.clone().into(),
        }
    } else {
        Credential::ClientSecret {
            client_id: ready.client_id.clone(),
            secret: ready.client_secret.clone().into(),
        }
    };
    let tokens = EntraTokenSource::new(
        credential,
        &ready.tenant_id,
        &endpoints.login,
        SourceOptions::default(),
    );
    let cfg = TransportConfig {
        limiter: LimiterConfig {
            initial_rate: 5_000.0,
            max_rate: 5_000.0,
            concurrency_per_host: 16,
            ..LimiterConfig::default()
        },
        ..TransportConfig::default()
    };
    let transport = Transport::with_config(Arc::new(tokens), cfg).unwrap();
    Clients::new(transport, &endpoints)
}

fn names(t: &Tenant, content: &ContentFn) -> [BTreeSet<String>; 4] {
    let mut out: [BTreeSet<String>; 4] = Default::default();
    let name = |v: &serde_json::Value| v["name"].as_str().unwrap().to_string();
    for env in &t.environments {
        out[0].insert(env.name.clone());
        let c = content(t, env.index);
        out[1].extend(c.apps.iter().map(|a| name(&a.doc)));
        out[2].extend(c.flows.iter().map(|f| name(&f.doc)));
        out[3].extend(c.connections.iter().map(|x| name(&x.doc)));
    }
    out
}

fn ids<T>(items: &[T], f: impl Fn(&T) -> &str) -> BTreeSet<String> {
    items.iter().map(|i| f(i).to_string()).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_ids_crawl_exactly() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let cfg = ScenarioConfig {
        seed: 5,
        size: Size::Small,
        base_url: format!("http://{}", listener.local_addr().unwrap()),
        now: chrono::Utc::now(),
    };
    let (tenant, content) = hostile::generate(&cfg);
    let [envs, apps, flows, connections] = names(&tenant, &content);
    assert!(envs.iter().filter(|e| e.ends_with(SUFFIX)).count() >= 3);
    assert!(flows.iter().any(|f| f.ends_with(SUFFIX)));
    let users = tenant.directory.users.clone();
    let emu = Emulator::start_with_tenant(listener, tenant, content, ServeOptions::default())
        .await
        .unwrap();
    let tenant_id = emu.ready().tenant_id.clone();

    for delegated in [false, true] {
        let (summary, store) = crawl(
            clients(&emu, delegated),
            Box::new(Store::open_in_memory().unwrap()),
            &tenant_id,
            CrawlOptions::default(),
        )
        .await
        .unwrap();
        assert!(
            summary.failures.is_empty(),
            "delegated={delegated}: collection failures: {:?}",
            summary.failures
        );
        let s = store.load_snapshot(&summary.snapshot_id).unwrap();
        assert_eq!(
            ids(&s.environments, |x| &x.id),
            envs,
            "delegated={delegated}"
        );
        assert_eq!(ids(&s.apps, |x| &x.id), apps);
        assert_eq!(ids(&s.flows, |x| &x.id), flows);
        assert_eq!(ids(&s.connections, |x| &x.id), connections);
        assert_eq!(s.flows.len(), flows.len());
        assert!(
            s.flows
                .iter()
                .all(|f| f.definition.is_some() && f.permissions.is_some() && f.runs.is_some()),
            "every flow, hostile id or not, has its details"
        );
        assert!(
            s.apps.iter().all(|a| a.permissions.is_some()),
            "every app has its access list"
        );
        // Hostile principal ids are kept verbatim on the resources that reference them...
        let refs: BTreeSet<&str> = s
            .apps
            .iter()
            .flat_map(|a| a.owner.iter().chain(a.created_by.iter()))
            .chain(s.connections.iter().flat_map(|c| c.created_by.iter()))
            .map(|r| r.id.as_str())
            .collect();
        let hostile_users: Vec<_> = users.iter().filter(|u| u.id.ends_with(SUFFIX)).collect();
        assert!(
            hostile_users.iter().any(|u| refs.contains(u.id.as_str())),
            "a hostile user id is referenced verbatim"
        );
        // ...but never sent to Graph: Entra object ids are GUIDs, so anything else cannot name
        // a principal and is not looked up (no id of that shape reaches a `$batch` URL).
        for u in &hostile_users {
            assert!(s.principal(&u.id).is_none(), "{} was looked up", u.id);
        }
        // Every GUID principal still resolves as the directory says.
        let mut checked = 0;
        for u in users.iter().filter(|u| !u.id.ends_with(SUFFIX)) {
            let Some(p) = s.principal(&u.id) else {
                continue;
            };
            checked += 1;
            let want = if u.deleted {
                PrincipalStatus::Deleted
            } else if !u.enabled {
                PrincipalStatus::Disabled
            } else {
                PrincipalStatus::Active
            };
            assert_eq!(p.status, want, "user {} ({})", u.upn, u.id);
        }
        assert!(checked > 10, "principals resolved ({checked})");
    }
    emu.shutdown().await.unwrap();
}

/// A BAP answer whose Dataverse instance URL lies outside the cloud's Dataverse domains: the
/// crawl refuses it before any request (so no token goes there) and records why.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_untrusted_dataverse_url_is_refused_and_recorded() {
    use ppgov_core::{CollectionKind, CollectionScope, CollectionState};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let cfg = ScenarioConfig {
        seed: 2,
        size: Size::Small,
        base_url: format!("http://{}", listener.local_addr().unwrap()),
        now: chrono::Utc::now(),
    };
    let mut tenant = ppgov_emulator::scenario::generate(&cfg);
    let evil = "https://org1.crm4.dynamics.com.evil.example/";
    let mut poisoned = None;
    let mut trusted = Vec::new();
    for e in tenant.environments.iter_mut().filter(|e| e.has_dataverse) {
        if poisoned.is_none() {
            let lem = &mut e.doc["properties"]["linkedEnvironmentMetadata"];
            lem["instanceUrl"] = serde_json::json!(evil);
            lem["instanceApiUrl"] = serde_json::json!(evil.trim_end_matches('/'));
            poisoned = Some(e.name.clone());
        } else {
            trusted.push(e.name.clone());
        }
    }
    let poisoned = poisoned.expect("a Dataverse environment");
    assert!(!trusted.is_empty());
    let content: ContentFn = Arc::new(|t: &Tenant, i: usize| t.env_content(i));
    let emu = Emulator::start_with_tenant(listener, tenant, content, ServeOptions::default())
        .await
        .unwrap();
    let tenant_id = emu.ready().tenant_id.clone();
    let (summary, store) = crawl(
        clients(&emu, false),
        Box::new(Store::open_in_memory().unwrap()),
        &tenant_id,
        CrawlOptions::default(),
    )
    .await
    .unwrap();
    let s = store.load_snapshot(&summary.snapshot_id).unwrap();
    for kind in [
        CollectionKind::DataverseAdmins,
        CollectionKind::DataverseSettings,
    ] {
        match s
            .collection
            .get(&CollectionScope::Environment(poisoned.clone()), kind)
        {
            Some(CollectionState::Failed { code, message, .. }) => {
                assert_eq!(code.as_deref(), Some("UntrustedHost"), "{message}");
                assert!(message.contains("evil.example"), "{message}");
                assert!(message.contains("Dataverse domains"), "{message}");
            }
            other => panic!("{kind:?} of the poisoned environment: {other:?}"),
        }
        for env in &trusted {
            assert!(
                matches!(
                    s.collection
                        .get(&CollectionScope::Environment(env.clone()), kind),
                    Some(CollectionState::Collected { .. })
                ),
                "{kind:?} of {env}"
            );
        }
    }
    assert_eq!(
        summary.failures.len(),
        2,
        "only the refused instance: {:?}",
        summary.failures
    );
    emu.shutdown().await.unwrap();
}
