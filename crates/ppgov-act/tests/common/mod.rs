//! Set-up shared by the remediation tests: an emulator on loopback, clients signed in to it,
//! crawl-and-scan, and the emulator's write counts.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use ppgov_act::{ApplyOptions, Identity};
use ppgov_auth::{Credential, EntraTokenSource, SourceOptions};
use ppgov_client::{Clients, LifecycleConfig, LimiterConfig, Transport, TransportConfig};
use ppgov_config::{Endpoints, PostureConfig};
use ppgov_emulator::scenario::wellknown;
use ppgov_emulator::server::{Emulator, ServeOptions};
use ppgov_emulator::tenant::Size;
use ppgov_store::Store;
use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;

pub async fn emulator(seed: u64, size: Size) -> Emulator {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    Emulator::start(
        listener,
        ServeOptions {
            seed,
            size,
            ..Default::default()
        },
    )
    .await
    .unwrap()
}

pub fn fast() -> TransportConfig {
    TransportConfig {
        limiter: LimiterConfig {
            initial_rate: 5_000.0,
            max_rate: 5_000.0,
            concurrency_per_host: 16,
            ..LimiterConfig::default()
        },
        lifecycle: LifecycleConfig {
            poll_interval: Duration::from_millis(200),
            conflict_delay: Duration::from_millis(200),
            ..LifecycleConfig::default()
        },
        ..TransportConfig::default()
    }
}

pub fn clients(emu: &Emulator, delegated: bool) -> Clients {
    let ready = emu.ready();
    let endpoints = Endpoints::all_at(&url::Url::parse(&ready.url).unwrap());
    let credential = if delegated {
        Credential::Password {
            client_id: wellknown::PUBLIC_CLIENT_ID.into(),
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
    Clients::new(
        Transport::with_config(Arc::new(tokens), fast()).unwrap(),
        &endpoints,
    )
}

pub fn author() -> Identity {
    Identity {
        kind: "app".into(),
        name: "planner".into(),
        tenant: String::new(),
    }
}

pub fn opts() -> ApplyOptions {
    ApplyOptions {
        actor: "app:applier".into(),
        busy_poll: Duration::from_millis(100),
        ..Default::default()
    }
}

/// Crawls the emulator into a fresh store and scans it.
pub async fn scan(emu: &Emulator) -> ppgov_core::ScanReport {
    let store = Box::new(Store::open_in_memory().unwrap());
    let tenant = emu.ready().tenant_id.clone();
    let (summary, store) =
        ppgov_crawl::crawl(clients(emu, false), store, &tenant, Default::default())
            .await
            .unwrap();
    let snap = store.load_snapshot(&summary.snapshot_id).unwrap();
    ppgov_engine::scan(&snap, &PostureConfig::default(), &Default::default())
}

/// Crawls the emulator into a fresh store and scans: the findings, as `rule resource`.
pub async fn findings(emu: &Emulator) -> BTreeSet<String> {
    scan(emu)
        .await
        .findings
        .iter()
        .map(|f| format!("{} {}", f.rule_id, f.resource.id))
        .collect()
}

pub fn has(found: &BTreeSet<String>, rule: &str) -> bool {
    found.iter().any(|f| f.starts_with(&format!("{rule} ")))
}

pub fn writes(emu: &Emulator, needle: &str) -> u64 {
    emu.state().writes.count_matching(needle)
}

/// Applies `plan` as the admin service principal and asserts every step ended as `want`.
pub async fn apply_all(
    emu: &Emulator,
    store: Box<dyn ppgov_store::Records>,
    plan: ppgov_act::Plan,
    want: ppgov_act::StepOutcome,
) -> (ppgov_act::ApplyReport, Box<dyn ppgov_store::Records>) {
    let (report, store) = ppgov_act::apply(
        ppgov_act::Ctx::new(clients(emu, false)),
        store,
        plan,
        opts(),
    )
    .await
    .unwrap();
    assert!(
        report.steps.iter().all(|s| s.outcome == want),
        "{}",
        report.to_text()
    );
    (report, store)
}
