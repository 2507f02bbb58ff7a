//! Custom connectors are collected per environment over real HTTP against the emulator, with
//! the host URL DLP custom connector URL patterns are matched against, and the collection status
//! says where they were collected; a connector whose response carries no host keeps `None`.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use ppgov_auth::{Credential, EntraTokenSource, SourceOptions};
use ppgov_client::{LimiterConfig, Transport, TransportConfig};
use ppgov_config::Endpoints;
use ppgov_core::{CollectionKind, CollectionScope};
use ppgov_crawl::{Clients, CrawlOptions, crawl};
use ppgov_emulator::server::{Emulator, ServeOptions};
use ppgov_emulator::tenant::Size;
use ppgov_store::Store;
use std::sync::Arc;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn custom_connectors_and_their_hosts_are_collected() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let emu = Emulator::start(
        listener,
        ServeOptions {
            size: Size::Small,
            seed: 3,
            ..Default::default()
        },
    )
    .await
    .unwrap();
    let ready = emu.ready();
    let base = url::Url::parse(&ready.url).unwrap();
    let endpoints = Endpoints::all_at(&base);
    let tokens = EntraTokenSource::new(
        Credential::ClientSecret {
            client_id: ready.client_id.clone(),
            secret: ready.client_secret.clone().into(),
        },
        &ready.tenant_id,
        &endpoints.login,
        SourceOptions::default(),
    );
    let config = TransportConfig {
        limiter: LimiterConfig {
            initial_rate: 5_000.0,
            max_rate: 5_000.0,
            concurrency_per_host: 16,
            ..LimiterConfig::default()
        },
        ..TransportConfig::default()
    };
    let transport = Transport::with_config(Arc::new(tokens), config).unwrap();
    let clients = Clients::new(transport, &endpoints);
    let (summary, store) = crawl(
        clients,
        Box::new(Store::open_in_memory().unwrap()),
        &ready.tenant_id,
        CrawlOptions::default(),
    )
    .await
    .unwrap();
    assert!(summary.failures.is_empty(), "{:?}", summary.failures);
    let snap = store.load_snapshot(&summary.snapshot_id).unwrap();
    let domain = emu.state().tenant().domain.clone();
    assert!(!snap.environments.is_empty());
    for env in &snap.environments {
        assert!(
            snap.collection.collected(
                &CollectionScope::Environment(env.id.clone()),
                CollectionKind::CustomConnectors
            ),
            "{}: custom connectors not marked collected",
            env.id
        );
        let mine: Vec<_> = snap
            .custom_connectors
            .iter()
            .filter(|c| c.environment_id == env.id)
            .collect();
        let erp = mine
            .iter()
            .find(|c| c.display_name == "Contoso ERP")
            .unwrap_or_else(|| panic!("{}: {mine:?}", env.id));
        assert_eq!(
            erp.host_url.as_deref(),
            Some(format!("https://erp.{domain}/api").as_str())
        );
        assert!(
            erp.key.starts_with("shared_contoso-20erp-5f"),
            "{}",
            erp.key
        );
        let legacy = mine.iter().find(|c| c.display_name == "Legacy gateway");
        if env.is_default {
            assert!(legacy.is_none());
        } else {
            assert_eq!(legacy.unwrap().host_url, None, "no host in the response");
        }
    }
}
