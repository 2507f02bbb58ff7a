//! `ppgov scan` finds every problem the emulator planted and nothing else: precision and recall of
//! 100% against the ground truth, on small and medium tenants for several seeds, through a real
//! crawl over HTTP.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use ppgov_auth::{Credential, EntraTokenSource, SourceOptions};
use ppgov_client::{LimiterConfig, Transport, TransportConfig};
use ppgov_config::{Endpoints, PostureConfig};
use ppgov_crawl::{Clients, CrawlOptions, crawl};
use ppgov_emulator::server::{Emulator, ServeOptions};
use ppgov_emulator::tenant::Size;
use ppgov_engine::ScanOptions;
use std::collections::BTreeSet;
use std::sync::Arc;

async fn check(size: Size, seed: u64) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let emu = Emulator::start(
        listener,
        ServeOptions {
            size,
            seed,
            ..Default::default()
        },
    )
    .await
    .unwrap();
    let ready = emu.ready().clone();
    let endpoints = Endpoints::all_at(&url::Url::parse(&ready.url).unwrap());
    let credential = Credential::ClientSecret {
        client_id: ready.client_id.clone(),
        secret: ready.client_secret.clone().into(),
    };
    let tokens = EntraTokenSource::new(
        credential,
        &ready.tenant_id,
        &endpoints.login,
        SourceOptions::default(),
    );
    let transport = Transport::with_config(Arc::new(tokens), fast()).unwrap();
    let store = Box::new(ppgov_store::Store::open_in_memory().unwrap());
    let (summary, store) = crawl(
        Clients::new(transport, &endpoints),
        store,
        &ready.tenant_id,
        CrawlOptions {
            concurrency: 16,
            ..Default::default()
        },
    )
    .await
    .unwrap();
    assert!(
        summary.failures.is_empty(),
        "{size:?}/{seed}: collection failures {:?}",
        summary.failures
    );
    let snapshot = store.load_snapshot(&summary.snapshot_id).unwrap();
    // The snapshot holds exactly the emulator's resources, each once.
    {
        let t = emu.tenant();
        let (mut apps, mut flows, mut conns) = (BTreeSet::new(), BTreeSet::new(), BTreeSet::new());
        for env in &t.environments {
            let c = t.env_content(env.index);
            apps.extend(
                c.apps
                    .iter()
                    .map(|a| a.doc["name"].as_str().unwrap_or_default().to_string()),
            );
            flows.extend(
                c.flows
                    .iter()
                    .map(|f| f.doc["name"].as_str().unwrap_or_default().to_string()),
            );
            conns.extend(
                c.connections
                    .iter()
                    .map(|x| x.doc["name"].as_str().unwrap_or_default().to_string()),
            );
        }
        let envs: BTreeSet<String> = t.environments.iter().map(|e| e.name.clone()).collect();
        let got = |ids: Vec<&String>| ids.into_iter().cloned().collect::<BTreeSet<String>>();
        assert_eq!(
            got(snapshot.environments.iter().map(|e| &e.id).collect()),
            envs,
            "{size:?}/{seed}: environments"
        );
        assert_eq!(
            got(snapshot.apps.iter().map(|a| &a.id).collect()),
            apps,
            "{size:?}/{seed}: apps"
        );
        assert_eq!(
            got(snapshot.flows.iter().map(|f| &f.id).collect()),
            flows,
            "{size:?}/{seed}: flows"
        );
        assert_eq!(
            got(snapshot.connections.iter().map(|c| &c.id).collect()),
            conns,
            "{size:?}/{seed}: connections"
        );
        assert_eq!(
            (
                snapshot.apps.len(),
                snapshot.flows.len(),
                snapshot.connections.len()
            ),
            (apps.len(), flows.len(), conns.len()),
            "no duplicates"
        );
    }
    let report = ppgov_engine::scan(
        &snapshot,
        &PostureConfig::default(),
        &ScanOptions::default(),
    );
    let errored: Vec<_> = report
        .rules
        .iter()
        .filter(|r| matches!(r.status, ppgov_core::RuleStatus::Error { .. }))
        .collect();
    assert!(
        errored.is_empty(),
        "{size:?}/{seed}: rules in error: {errored:#?}"
    );

    let found: BTreeSet<(String, String)> = report
        .findings
        .iter()
        .map(|f| (f.rule_id.clone(), f.resource.id.clone()))
        .collect();
    let planted: BTreeSet<(String, String)> = emu
        .ground_truth()
        .findings
        .iter()
        .map(|f| (f.rule_id.clone(), f.resource_id.clone()))
        .collect();
    let missed: Vec<_> = planted.difference(&found).collect();
    let extra: Vec<_> = found.difference(&planted).collect();
    assert!(
        missed.is_empty() && extra.is_empty(),
        "{size:?} seed {seed}: recall misses {} {missed:#?}\nprecision extras {} {extra:#?}",
        missed.len(),
        extra.len()
    );
    emu.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn small_tenants_precision_and_recall_are_100_percent() {
    // A sweep, not a handful: a ground truth that is wrong on one seed in twenty shows here.
    for seed in 1..=25 {
        check(Size::Small, seed).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn medium_tenants_precision_and_recall_are_100_percent() {
    // 90210: the default environment once had no security group without PPG-DEF-001 planted.
    for seed in [1, 2, 90210] {
        check(Size::Medium, seed).await;
    }
}

/// A transport that starts fast and lets the emulator's 429s, not a cautious default, set the pace.
fn fast() -> TransportConfig {
    TransportConfig {
        limiter: LimiterConfig {
            initial_rate: 5_000.0,
            max_rate: 5_000.0,
            concurrency_per_host: 16,
            ..LimiterConfig::default()
        },
        ..TransportConfig::default()
    }
}
