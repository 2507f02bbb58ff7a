//! `ppgov demo`: the whole job on a built-in tenant, with no credentials and no set-up: start the
//! emulator in-process, crawl it, scan it, write the HTML report, print the summary.

use crate::cli::DemoArgs;
use crate::commands::Outcome;
use anyhow::Context;
use ppgov_auth::{Credential, EntraTokenSource, SourceOptions};
use ppgov_client::{Transport, TransportConfig};
use ppgov_config::{Endpoints, PostureConfig};
use ppgov_crawl::{Clients, CrawlOptions, ProgressMode};
use ppgov_emulator::server::{Emulator, ServeOptions};
use ppgov_report::Format;
use std::sync::Arc;

/// Clients signed in as the emulator's built-in admin service principal.
pub fn emulator_clients(emu: &Emulator) -> anyhow::Result<Clients> {
    let (transport, endpoints) = emulator_transport(emu, TransportConfig::default())?;
    Ok(Clients::new(transport, &endpoints))
}

/// A transport signed in as the emulator's built-in admin service principal, and every endpoint
/// pointed at the emulator.
pub fn emulator_transport(
    emu: &Emulator,
    cfg: TransportConfig,
) -> anyhow::Result<(Transport, Endpoints)> {
    emulator_transport_as(emu, cfg, false)
}

/// [`emulator_transport`] signed in as the emulator's admin service principal, or with
/// `delegated` as its admin user (ROPC through the well-known public client).
pub fn emulator_transport_as(
    emu: &Emulator,
    cfg: TransportConfig,
    delegated: bool,
) -> anyhow::Result<(Transport, Endpoints)> {
    let ready = emu.ready();
    let base = url::Url::parse(&ready.url).context("the emulator printed an invalid URL")?;
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
    Ok((Transport::with_config(Arc::new(tokens), cfg)?, endpoints))
}

pub async fn run(args: DemoArgs, quiet: bool) -> anyhow::Result<Outcome> {
    std::fs::create_dir_all(&args.out)
        .with_context(|| format!("cannot create {}", args.out.display()))?;
    let db = args.out.join("ppgov.db");
    // A demo always starts from a fresh store: the emulated tenant is new each run.
    for f in [
        db.clone(),
        db.with_extension("db-wal"),
        db.with_extension("db-shm"),
    ] {
        let _ = std::fs::remove_file(f);
    }
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let opts = ServeOptions {
        size: super::emulator::size(args.size),
        seed: args.seed,
        ..ServeOptions::default()
    };
    if !quiet {
        eprintln!(
            "starting the tenant emulator ({:?}, seed {})...",
            args.size, args.seed
        );
    }
    let emu = Emulator::start(listener, opts)
        .await
        .context("the emulator failed to start")?;
    let tenant = emu.ready().tenant_id.clone();
    let store = ppgov_store::Store::open(&db)?;
    let progress = if quiet {
        ProgressMode::Quiet
    } else {
        super::crawl::progress_mode(false)
    };
    let (summary, store) = ppgov_crawl::crawl(
        emulator_clients(&emu)?,
        store,
        &tenant,
        CrawlOptions {
            progress,
            ..Default::default()
        },
    )
    .await?;
    let snapshot = store.load_snapshot(&summary.snapshot_id)?;
    let report = super::scan::evaluate(&snapshot, &PostureConfig::default(), None)?;
    let html = args.out.join("report.html");
    std::fs::write(&html, ppgov_report::render(Format::Html, &report)?)
        .with_context(|| format!("cannot write {}", html.display()))?;
    std::fs::write(args.out.join("findings.json"), ppgov_report::json(&report)?)?;
    std::fs::write(
        args.out.join("ground-truth.json"),
        serde_json::to_vec_pretty(emu.ground_truth())?,
    )?;
    ppgov_store::write_snapshot_file(&snapshot, args.out.join("snapshot.json"))?;
    emu.shutdown().await?;

    println!("ppgov demo: tenant {tenant} (emulated, {:?})", args.size);
    println!(
        "  crawled {} environments, {} apps, {} flows, {} connections in {:.1} s ({} requests)",
        snapshot.environments.len(),
        snapshot.apps.len(),
        snapshot.flows.len(),
        snapshot.connections.len(),
        summary.elapsed.as_secs_f64(),
        summary.requests
    );
    print!(
        "{}",
        String::from_utf8_lossy(&ppgov_report::render(Format::Table, &report)?)
    );
    println!("  report:   {}", html.display());
    println!("  findings: {}", args.out.join("findings.json").display());
    println!(
        "  snapshot: {} (try `ppgov scan --snapshot {} --format md`)",
        args.out.join("snapshot.json").display(),
        args.out.join("snapshot.json").display()
    );
    Ok(Outcome::Clean)
}
