//! `ppgov demo`: the whole job on a built-in tenant, with no credentials and no set-up: start the
//! emulator in-process, crawl it, scan it, write the HTML report, print the summary.

use crate::cli::DemoArgs;
use crate::commands::Outcome;
use anyhow::Context;
use ppgov_auth::{Credential, EntraTokenSource, SourceOptions};
use ppgov_client::{Transport, TransportConfig};
use ppgov_config::{Endpoints, PostureConfig};
use ppgov_crawl::{Clients, CrawlOptions, ProgressMode};
use ppgov_emulator::scenario::wellknown as wk;
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
    let store = Box::new(ppgov_store::Store::open(&db)?);
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
    // Owner-only, like everything ppgov writes: the report names the tenant's admins.
    let write = |name: &str, bytes: &[u8]| {
        let path = args.out.join(name);
        ppgov_store::write_private_file(&path, bytes)
            .with_context(|| format!("cannot write {}", path.display()))
    };
    write("report.html", &ppgov_report::render(Format::Html, &report)?)?;
    write("findings.json", ppgov_report::json(&report)?.as_bytes())?;
    write(
        "ground-truth.json",
        &serde_json::to_vec_pretty(emu.ground_truth())?,
    )?;
    ppgov_store::write_snapshot_file(&snapshot, args.out.join("snapshot.json"))?;

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
    if !args.console {
        emu.shutdown().await?;
        return Ok(Outcome::Clean);
    }
    let outcome = console(&emu, &args).await;
    emu.shutdown().await?;
    outcome
}

/// `ppgov demo --console`: `ppgov serve` with the console on the emulated tenant, configured by
/// a `ppgov.toml` written next to the report (so the same set-up also runs by hand).
async fn console(emu: &Emulator, args: &DemoArgs) -> anyhow::Result<Outcome> {
    let ready = emu.ready();
    let out = std::path::absolute(&args.out)
        .with_context(|| format!("cannot resolve {}", args.out.display()))?;
    let path = out.join("ppgov.toml");
    let text = console_config(emu, &out.join("ppgov.db"))?;
    ppgov_store::write_private_file(&path, text.as_bytes())
        .with_context(|| format!("cannot write {}", path.display()))?;
    // The file alone: no PPGOV_* variable or flag of the user's shell (a real store URL, a real
    // tenant) reaches the demo.
    let configs = ppgov_config::tenants(&ppgov_config::ConfigSources {
        file: Some(path.clone()),
        env: Default::default(),
        flags: ppgov_config::Flags::default(),
    })
    .map_err(|errs| anyhow::anyhow!("the demo's configuration is invalid (a bug):\n{errs}"))?;
    let domain = ready.username.split('@').nth(1).unwrap_or("").to_string();
    println!();
    println!(
        "ppgov demo --console: the emulated tenant's console (configuration: {}); its address follows",
        path.display()
    );
    println!(
        "  sign in as one of these (password {}):",
        wk::ADMIN_PASSWORD
    );
    let people = wk::CONSOLE_PERSONAS
        .iter()
        .map(|(login, _, name, role)| (*login, format!("{name} ({role})")))
        .chain([(wk::ADMIN_USER, "the tenant's admin (ppgov.Admin)".into())]);
    for (login, who) in people {
        println!("    {:<40} {who}", format!("{login}@{domain}"));
    }
    println!("  Ctrl-C stops the console and the emulator.");
    // The console's client secret is the emulator's well-known one; nothing else is read from
    // the environment, so the demo never picks up a real tenant's secrets.
    let env = |name: &str| {
        (name == "PPGOV_CONSOLE_SECRET").then(|| wk::CONSOLE_CLIENT_SECRET.to_string())
    };
    let serve = super::serve::ServeArgs {
        listen: Some(args.listen),
    };
    super::serve::serve_configs(configs, serve, &env).await
}

/// The configuration of the demo's console: the emulated tenant signed in as its admin service
/// principal, every endpoint at the emulator, the demo's store, and the console app the
/// emulator registers.
fn console_config(emu: &Emulator, store: &std::path::Path) -> anyhow::Result<String> {
    let ready = emu.ready();
    let u = ready.url.trim_end_matches('/');
    let table = |pairs: &[(&str, &str)]| -> toml::Value {
        toml::Value::Table(
            pairs
                .iter()
                .map(|(k, v)| (k.to_string(), toml::Value::String(v.to_string())))
                .collect(),
        )
    };
    let mut doc = toml::Table::new();
    doc.insert("tenant".into(), table(&[("id", &ready.tenant_id)]));
    doc.insert(
        "auth".into(),
        table(&[
            ("method", "client_secret"),
            ("client_id", &ready.client_id),
            ("client_secret", &ready.client_secret),
        ]),
    );
    let endpoints: Vec<(&str, &str)> = [
        "login",
        "bap",
        "powerapps",
        "flow",
        "powerplatform",
        "graph",
        "management",
    ]
    .into_iter()
    .map(|k| (k, u))
    .collect();
    doc.insert("endpoints".into(), table(&endpoints));
    let store = store
        .to_str()
        .context("the demo folder's path is not UTF-8")?;
    doc.insert("store".into(), table(&[("path", store)]));
    doc.insert(
        "console".into(),
        table(&[
            ("client_id", wk::CONSOLE_CLIENT_ID),
            ("client_secret_env", "PPGOV_CONSOLE_SECRET"),
        ]),
    );
    Ok(format!(
        "# Written by `ppgov demo --console` for the emulated tenant; its secrets are the\n# emulator's well-known ones.\n{}",
        toml::to_string(&doc)?
    ))
}
