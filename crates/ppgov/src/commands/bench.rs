//! `ppgov bench ...`: whole-system figures, printed, never asserted by timed tests.

use crate::cli::{BenchCommand, BenchCrawlArgs, BenchFormat, BenchScanArgs};
use crate::commands::Outcome;
use anyhow::Context;
use ppgov_client::{LimiterConfig, Transport, TransportConfig};
use ppgov_config::{Endpoints, PostureConfig};
use ppgov_crawl::{Clients, CrawlOptions, map};
use ppgov_emulator::server::{ContentFn, Emulator, ServeOptions};
use ppgov_emulator::tenant::{ScenarioConfig, Tenant};
use serde_json::json;
use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::{Duration, Instant};

pub async fn run(cmd: BenchCommand) -> anyhow::Result<Outcome> {
    match cmd {
        BenchCommand::Crawl(a) => crawl(a).await,
        BenchCommand::Scan(a) => scan(a),
        BenchCommand::Dlp(a) => dlp(a),
        BenchCommand::Emulator(a) => emulator(a).await,
        BenchCommand::Audit(a) => super::audit::bench(a),
        BenchCommand::Serve(a) => serve(a).await,
    }
}

/// `ppgov bench serve` (PostgreSQL from `PPGOV_TEST_PG_URL`, else a throwaway cluster).
async fn serve(a: crate::cli::BenchServeArgs) -> anyhow::Result<Outcome> {
    let opts = ppgov_bench::serve::ServeBenchOptions {
        tenants: a.tenants.max(1),
        instances: a.instances.clone(),
        rounds: a.rounds.max(1),
        lease_s: a.lease_seconds.max(1),
    };
    let report = ppgov_bench::serve::run(&opts)
        .await
        .map_err(|e| anyhow::anyhow!("bench serve: {e}"))?;
    print(a.format, serde_json::to_value(&report)?);
    if report.duplicate_executions > 0 {
        anyhow::bail!("{} duplicate execution(s)", report.duplicate_executions);
    }
    Ok(Outcome::Clean)
}

fn print(format: BenchFormat, value: serde_json::Value) {
    match format {
        BenchFormat::Json => println!("{value}"),
        BenchFormat::Text => {
            if let Some(map) = value.as_object() {
                for (k, v) in map {
                    println!("{k:<22} {v}");
                }
            }
        }
    }
}

/// The transport a user gets (default limiter: slow start, then adaptive on 429), with the
/// benchmark's concurrency.
fn transport(
    emu: &Emulator,
    concurrency: usize,
    delegated: bool,
) -> anyhow::Result<(Transport, Endpoints)> {
    let limiter = LimiterConfig {
        concurrency_per_host: concurrency.max(1),
        ..LimiterConfig::default()
    };
    super::demo::emulator_transport_as(
        emu,
        TransportConfig {
            limiter,
            ..TransportConfig::default()
        },
        delegated,
    )
}

/// Requests a full crawl of this tenant makes, estimated from its shape (for choosing a rate limit
/// whose floor is about a minute before anything is crawled).
fn estimate_requests(t: &Tenant) -> f64 {
    let envs = t.environments.len() as f64;
    let apps: usize = t.environments.iter().map(|e| e.apps).sum();
    let flows: usize = t.environments.iter().map(|e| e.flows).sum();
    let conns: usize = t.environments.iter().map(|e| e.connections).sum();
    envs * 5.0
        + apps as f64
        + flows as f64 * 3.2
        + conns as f64 / 100.0
        + t.directory.users.len() as f64 / 20.0 * 0.3
        + 50.0
}

async fn crawl(a: BenchCrawlArgs) -> anyhow::Result<Outcome> {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let base = format!("http://{}", listener.local_addr()?);
    let size = super::emulator::size(a.size);
    let gen_start = Instant::now();
    let tenant = ppgov_emulator::scenario::generate(&ScenarioConfig {
        seed: 1,
        size,
        base_url: base,
        now: chrono::Utc::now(),
    });
    let generated_s = gen_start.elapsed().as_secs_f64();
    let estimate = estimate_requests(&tenant);
    let rate = a.rate_limit.unwrap_or((estimate / 60.0).max(1.0));
    let latency = Duration::from_millis(a.latency_ms);
    let content: ContentFn = Arc::new(|t: &Tenant, i: usize| t.env_content(i));
    let opts = ServeOptions {
        size,
        seed: 1,
        latency,
        rate_limit: Some(rate),
        ..ServeOptions::default()
    };
    let env_names: Vec<String> = tenant.environments.iter().map(|e| e.name.clone()).collect();
    let emu = Emulator::start_with_tenant(listener, tenant, content, opts).await?;
    // By default room for every environment of `large` (about 400 MB of compact JSON): the real
    // service does not regenerate a tenant while it is read, so neither should its stand-in.
    emu.state()
        .set_env_cache_budget(a.emulator_cache_mib.saturating_mul(1 << 20));
    let tenant_id = emu.ready().tenant_id.clone();
    let rss_emulator = ppgov_bench::peak_rss_mb();
    eprintln!(
        "bench: {:?} tenant generated in {generated_s:.1} s; rate limit {rate:.0} req/s, latency {} ms, concurrency {}",
        a.size, a.latency_ms, a.concurrency
    );

    let dir = tempfile::tempdir()?;
    let (t, endpoints) = transport(&emu, a.concurrency, a.delegated)?;
    let clients = Clients::new(t, &endpoints);
    let before = emu.request_count();
    let charged_before = emu.charged_count();
    let counters_before = clients.transport.counters();
    let started = Instant::now();
    let store: Box<dyn ppgov_store::Snapshots> =
        Box::new(ppgov_store::Store::open(dir.path().join("bench.db"))?);
    let (full, store) = ppgov_crawl::crawl(
        clients.clone(),
        store,
        &tenant_id,
        CrawlOptions {
            concurrency: a.concurrency,
            ..Default::default()
        },
    )
    .await?;
    let wall = started.elapsed().as_secs_f64();
    let requests = emu.request_count() - before;
    // The rate limit counts what the emulator charged (a Graph `$batch` once per item), so the
    // floor does too; latency counts per HTTP request.
    let charged = emu.charged_count() - charged_before;
    // Where the crawl's requests spent their time, as averages over the crawl: in flight, paced by
    // the rate limiter (and Retry-After), queued for one of the host's connection slots.
    let c = clients.transport.counters();
    let avg = |after: u64, before: u64| {
        (after.saturating_sub(before) as f64 / 1000.0 / wall * 10.0).round() / 10.0
    };
    let time_spent = json!({
        "in_flight": avg(c.flight_ms, counters_before.flight_ms),
        "paced": avg(c.wait_ms, counters_before.wait_ms),
        "queued": avg(c.queue_ms, counters_before.queue_ms),
    });
    let floor =
        (charged as f64 / rate).max(requests as f64 * latency.as_secs_f64() / a.concurrency as f64);
    eprintln!(
        "bench: full crawl {requests} requests in {wall:.1} s (floor {floor:.1} s); {} failures",
        full.failures.len()
    );

    // Incremental after 1% of flows changed (stopped through the API, which updates lastModifiedTime).
    let snapshot = store.load_snapshot(&full.snapshot_id)?;
    let changed: Vec<_> = snapshot
        .flows
        .iter()
        .step_by(100)
        .map(|f| (f.environment_id.clone(), f.id.clone()))
        .collect();
    drop(snapshot);
    for (env, flow) in &changed {
        clients
            .flow
            .stop_flow(env, flow)
            .await
            .with_context(|| format!("cannot change flow {flow}"))?;
    }
    let before_inc = emu.request_count();
    let started = Instant::now();
    let (inc, _store) = ppgov_crawl::crawl(
        clients,
        store,
        &tenant_id,
        CrawlOptions {
            concurrency: a.concurrency,
            ..Default::default()
        },
    )
    .await?;
    let incremental_wall = started.elapsed().as_secs_f64();
    let incremental_requests = emu.request_count() - before_inc;
    eprintln!(
        "bench: incremental crawl ({} flows changed) {incremental_requests} requests in {incremental_wall:.1} s; {} failures",
        changed.len(),
        inc.failures.len()
    );

    // The same crawl one request at a time, the way the admin PowerShell cmdlets walk a tenant.
    // At 20 ms a request a large tenant takes most of an hour, so it runs on every 10th environment
    // and is scaled by requests; the output says so.
    let mut sequential = serde_json::Value::Null;
    let mut sequential_note = serde_json::Value::Null;
    if !a.no_sequential {
        let sample: BTreeSet<String> = env_names.iter().step_by(10).cloned().collect();
        let (t, endpoints) = transport(&emu, 1, a.delegated)?;
        let seq_clients = Clients::new(t, &endpoints);
        let before_seq = emu.request_count();
        let started = Instant::now();
        let store = Box::new(ppgov_store::Store::open(dir.path().join("sequential.db"))?);
        let opts = CrawlOptions {
            concurrency: 1,
            environments: Some(sample.clone()),
            ..Default::default()
        };
        ppgov_crawl::crawl(seq_clients, store, &tenant_id, opts).await?;
        let seq_wall = started.elapsed().as_secs_f64();
        let seq_requests = (emu.request_count() - before_seq).max(1);
        let scaled = seq_wall * requests as f64 / seq_requests as f64;
        sequential = json!((scaled * 10.0).round() / 10.0);
        sequential_note = json!(format!(
            "measured on {} of {} environments ({seq_requests} requests, {seq_wall:.1} s), scaled by request count",
            sample.len(),
            env_names.len()
        ));
    }
    let peak = ppgov_bench::peak_rss_mb();
    print(
        a.format,
        json!({
            "size": format!("{:?}", a.size).to_lowercase(),
            "requests": requests,
            "rate_limited_units": charged,
            "wall_s": (wall * 10.0).round() / 10.0,
            "floor_s": (floor * 10.0).round() / 10.0,
            "ratio": ((wall / floor) * 100.0).round() / 100.0,
            "peak_rss_mb": peak.map(|p| p.round()),
            "emulator_rss_mb": rss_emulator.map(|p| p.round()),
            "sequential_wall_s": sequential,
            "sequential_note": sequential_note,
            "incremental_wall_s": (incremental_wall * 10.0).round() / 10.0,
            "incremental_requests": incremental_requests,
            "incremental_share": ((incremental_wall / wall) * 1000.0).round() / 1000.0,
            // Per facet, resources read again vs carried forward by the incremental crawl.
            "incremental_facets": inc
                .facets
                .iter()
                .map(|(f, c)| (f.as_str().to_string(), json!({"read": c.read, "carried": c.carried})))
                .collect::<serde_json::Map<_, _>>(),
            "rate_limit": rate.round(),
            "latency_ms": a.latency_ms,
            "concurrency": a.concurrency,
            "sign_in": if a.delegated { "delegated" } else { "app-only" },
            "failures": full.failures.len() + inc.failures.len(),
            "avg_requests": time_spent,
        }),
    );
    emu.shutdown().await?;
    Ok(Outcome::Clean)
}

fn scan(a: BenchScanArgs) -> anyhow::Result<Outcome> {
    let size = super::emulator::size(a.size);
    let built = Instant::now();
    let snapshot = ppgov_bench::offline_snapshot(size, a.seed, chrono::Utc::now())?;
    let build_s = built.elapsed().as_secs_f64();
    let dir = tempfile::tempdir()?;
    let mut store = ppgov_store::Store::open(dir.path().join("bench.db"))?;
    let id = store.insert_snapshot(&snapshot)?;
    drop(snapshot);
    let t = Instant::now();
    let loaded = store.load_snapshot(&id)?;
    let load_s = t.elapsed().as_secs_f64();
    let t = Instant::now();
    let report = super::scan::evaluate(&loaded, &PostureConfig::default(), None)?;
    let scan_s = t.elapsed().as_secs_f64();
    print(
        a.format,
        json!({
            "size": format!("{:?}", a.size).to_lowercase(),
            "environments": loaded.environments.len(),
            "apps": loaded.apps.len(),
            "flows": loaded.flows.len(),
            "connections": loaded.connections.len(),
            "findings": report.findings.len(),
            "load_s": (load_s * 1000.0).round() / 1000.0,
            "scan_s": (scan_s * 1000.0).round() / 1000.0,
            "scan_to_load": ((scan_s / load_s) * 100.0).round() / 100.0,
            "snapshot_build_s": (build_s * 10.0).round() / 10.0,
            "peak_rss_mb": ppgov_bench::peak_rss_mb().map(|p| p.round()),
        }),
    );
    Ok(Outcome::Clean)
}

fn dlp(a: BenchScanArgs) -> anyhow::Result<Outcome> {
    let size = super::emulator::size(a.size);
    let snapshot = ppgov_bench::offline_snapshot(size, a.seed, chrono::Utc::now())?;
    // A draft that blocks a common connector everywhere: every app and flow is evaluated.
    let draft = json!({"policyDefinition": {
        "name": "bench-draft", "displayName": "Block Dropbox and Gmail", "defaultConnectorsClassification": "General",
        "environmentType": "AllEnvironments", "environments": [],
        "connectorGroups": [
            {"classification": "Confidential", "connectors": [{"id": "/providers/Microsoft.PowerApps/apis/shared_sharepointonline", "name": "SharePoint", "type": "Microsoft.PowerApps/apis"}]},
            {"classification": "General", "connectors": []},
            {"classification": "Blocked", "connectors": [
                {"id": "/providers/Microsoft.PowerApps/apis/shared_dropbox", "name": "Dropbox", "type": "Microsoft.PowerApps/apis"},
                {"id": "/providers/Microsoft.PowerApps/apis/shared_gmail", "name": "Gmail", "type": "Microsoft.PowerApps/apis"}]}]}});
    let draft = map::dlp_policy_v2(&serde_json::from_value(draft)?);
    let t = Instant::now();
    let report = ppgov_engine::dlp::simulate(&snapshot, &draft, None);
    let sim_s = t.elapsed().as_secs_f64();
    print(
        a.format,
        json!({
            "size": format!("{:?}", a.size).to_lowercase(),
            "apps": report.apps_evaluated,
            "flows": report.flows_evaluated,
            "would_break": report.would_break.len(),
            "would_fix": report.would_fix.len(),
            "simulate_s": (sim_s * 1000.0).round() / 1000.0,
            "peak_rss_mb": ppgov_bench::peak_rss_mb().map(|p| p.round()),
        }),
    );
    Ok(Outcome::Clean)
}

async fn emulator(a: BenchScanArgs) -> anyhow::Result<Outcome> {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let t = Instant::now();
    let emu = Emulator::start(
        listener,
        ServeOptions {
            size: super::emulator::size(a.size),
            seed: a.seed,
            ..ServeOptions::default()
        },
    )
    .await?;
    let start_s = t.elapsed().as_secs_f64();
    let rss_start = ppgov_bench::peak_rss_mb();
    // Serve pages from a spread of environments, as a crawl would, and measure memory after.
    let (t, endpoints) = transport(&emu, 8, false)?;
    let clients = Clients::new(t, &endpoints);
    let names: Vec<String> = emu
        .tenant()
        .environments
        .iter()
        .map(|e| e.name.clone())
        .collect();
    let sample: Vec<&String> = names.iter().step_by((names.len() / 50).max(1)).collect();
    let t = Instant::now();
    let mut pages = 0u64;
    for env in &sample {
        use futures::StreamExt;
        let mut s = clients.flow.list_flows::<serde_json::Value>(env);
        let mut n = 0;
        while let Some(item) = s.next().await {
            item?;
            n += 1;
            if n >= 50 {
                break;
            }
        }
        pages += 1;
    }
    let serve_s = t.elapsed().as_secs_f64();
    print(
        a.format,
        json!({
            "size": format!("{:?}", a.size).to_lowercase(),
            "environments": names.len(),
            "start_s": (start_s * 100.0).round() / 100.0,
            "rss_after_start_mb": rss_start.map(|p| p.round()),
            "pages_served": pages,
            "serve_s": (serve_s * 100.0).round() / 100.0,
            "peak_rss_mb": ppgov_bench::peak_rss_mb().map(|p| p.round()),
        }),
    );
    emu.shutdown().await?;
    Ok(Outcome::Clean)
}
