//! `ppgov audit ...` and `ppgov bench audit`: wiring only; the logic is in `ppgov-audit`.

use crate::commands::Outcome;
use anyhow::{Context as _, bail};
use clap::{Args, Subcommand, ValueEnum};
use ppgov_audit::detect::{DetectionConfig, Engine};
use ppgov_audit::export::{self, ExportFormat};
use ppgov_audit::files::{self, Format};
use ppgov_audit::management::{self, ManagementOptions};
use ppgov_audit::report::{self, ReportFormat};
use ppgov_audit::{IngestOutcome, Ingestor, parse_since};
use ppgov_store::{EventFilter, EventStore, Store};
use std::io::Write;
use std::path::{Path, PathBuf};

/// `ppgov audit`.
#[derive(Debug, Subcommand)]
pub enum AuditCommand {
    /// Ingest audit records from the Management Activity API or from files (CSV, JSON lines, JSON arrays, `-` for stdin).
    Ingest(IngestArgs),
    /// Recompute the store's hash chain; exit 2 when anything was modified, deleted, inserted or reordered.
    Verify(VerifyArgs),
    /// Drop month partitions older than the retention (seven years by default), recorded in the chain.
    Prune(PruneArgs),
    /// Run the detections over the stored events not yet processed.
    Detect(DetectArgs),
    /// List stored alerts with the events that caused them.
    Alerts(AlertsArgs),
    /// Search stored events.
    Search(SearchArgs),
    /// Export stored events for a SIEM.
    Export(ExportArgs),
    /// The daily audit report.
    Report(ReportArgs),
}

/// Where the event store is.
#[derive(Debug, Args)]
pub struct StoreArg {
    /// Store file (default: the configured store).
    #[arg(long, value_name = "FILE")]
    pub store: Option<PathBuf>,
}

/// Detection settings.
#[derive(Debug, Args)]
pub struct DetectionArgs {
    /// Detection thresholds and lists (TOML with a [detections] table, or JSON).
    #[arg(long, value_name = "FILE")]
    pub detections: Option<PathBuf>,
    /// Departing users, a CSV with a UserPrincipalName (or first) column.
    #[arg(long, value_name = "FILE")]
    pub departing_csv: Option<PathBuf>,
}

/// Input file formats.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum FileFormat {
    /// Purview audit export CSV.
    Csv,
    /// JSON lines.
    Jsonl,
    /// JSON array.
    Json,
}

/// `ppgov audit ingest`.
#[derive(Debug, Args)]
pub struct IngestArgs {
    #[command(flatten)]
    pub store: StoreArg,
    /// Files to import (`-` reads standard input); without any, the Management Activity API is read.
    pub files: Vec<PathBuf>,
    /// File format (default: guessed).
    #[arg(long, value_enum)]
    pub format: Option<FileFormat>,
    /// Keep polling the Management Activity API.
    #[arg(long)]
    pub follow: bool,
    /// Seconds between polls with --follow.
    #[arg(long, default_value_t = 300)]
    pub interval: u64,
    /// Blobs fetched at once.
    #[arg(long, default_value_t = 4)]
    pub concurrency: usize,
    /// Stop after this many blobs (the cursor stays before the unfinished window).
    #[arg(long)]
    pub max_blobs: Option<usize>,
    /// PublisherIdentifier (your tenant GUID) for a dedicated throttling quota.
    #[arg(long)]
    pub publisher: Option<String>,
    /// Read history through a Microsoft Graph audit log query instead (Purview keeps more than
    /// the Management API's 7 days).
    #[arg(long)]
    pub graph: bool,
    /// With --graph: the query's start (`30d`, `2026-01-01`).
    #[arg(long, default_value = "7d")]
    pub since: String,
    /// Run the detections on what arrived.
    #[arg(long)]
    pub detect: bool,
    #[command(flatten)]
    pub detection: DetectionArgs,
}

/// Text or JSON.
#[derive(Debug, Clone, Copy, ValueEnum, PartialEq, Eq)]
pub enum TextJson {
    /// Lines for people.
    Table,
    /// JSON.
    Json,
}

/// `ppgov audit verify`.
#[derive(Debug, Args)]
pub struct VerifyArgs {
    #[command(flatten)]
    pub store: StoreArg,
    /// Output format.
    #[arg(long, value_enum, default_value_t = TextJson::Table)]
    pub format: TextJson,
}

/// `ppgov audit prune`.
#[derive(Debug, Args)]
pub struct PruneArgs {
    #[command(flatten)]
    pub store: StoreArg,
    /// Keep this many days (default: seven years).
    #[arg(long, default_value_t = 2557)]
    pub retention_days: i64,
}

/// Alert output formats.
#[derive(Debug, Clone, Copy, ValueEnum, PartialEq, Eq)]
pub enum AlertFormat {
    /// Lines for people.
    Table,
    /// `{"alerts": [...]}`.
    Json,
    /// OCSF Detection Findings, one per line.
    Ocsf,
    /// SARIF 2.1.0.
    Sarif,
}

/// `ppgov audit detect`.
#[derive(Debug, Args)]
pub struct DetectArgs {
    #[command(flatten)]
    pub store: StoreArg,
    #[command(flatten)]
    pub detection: DetectionArgs,
    /// Show every stored alert since then (default: the alerts this run created or extended).
    #[arg(long)]
    pub since: Option<String>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = AlertFormat::Table)]
    pub format: AlertFormat,
    /// Forget the detection state and start over from the first stored event.
    #[arg(long)]
    pub reset: bool,
}

/// `ppgov audit alerts`.
#[derive(Debug, Args)]
pub struct AlertsArgs {
    #[command(flatten)]
    pub store: StoreArg,
    /// Alerts whose last event is at most this old (`24h`, `7d`) or after this time.
    #[arg(long)]
    pub since: Option<String>,
    /// One detection (`PPG-DET-001`).
    #[arg(long)]
    pub detection: Option<String>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = AlertFormat::Table)]
    pub format: AlertFormat,
}

/// Event filters.
#[derive(Debug, Args)]
pub struct FilterArgs {
    /// Events since (`24h`, `7d`, `2026-03-01`).
    #[arg(long)]
    pub since: Option<String>,
    /// Events before.
    #[arg(long)]
    pub until: Option<String>,
    /// Actor UPN.
    #[arg(long)]
    pub user: Option<String>,
    /// Operation.
    #[arg(long)]
    pub operation: Option<String>,
    /// Environment id.
    #[arg(long)]
    pub environment: Option<String>,
    /// Resource id.
    #[arg(long)]
    pub resource: Option<String>,
    /// Risk level (low, medium, high).
    #[arg(long)]
    pub risk: Option<String>,
    /// At most this many events.
    #[arg(long)]
    pub limit: Option<usize>,
}

/// `ppgov audit search`.
#[derive(Debug, Args)]
pub struct SearchArgs {
    #[command(flatten)]
    pub store: StoreArg,
    #[command(flatten)]
    pub filter: FilterArgs,
    /// Output format.
    #[arg(long, value_enum, default_value_t = TextJson::Table)]
    pub format: TextJson,
}

/// Export formats.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum ExportArg {
    /// One JSON object per line.
    Ndjson,
    /// CSV.
    Csv,
    /// CEF lines.
    Cef,
    /// OCSF API Activity lines.
    Ocsf,
}

/// `ppgov audit export`.
#[derive(Debug, Args)]
pub struct ExportArgs {
    #[command(flatten)]
    pub store: StoreArg,
    #[command(flatten)]
    pub filter: FilterArgs,
    /// Format.
    #[arg(long, value_enum)]
    pub format: ExportArg,
    /// Output file (default: standard output).
    #[arg(long, conflicts_with = "syslog")]
    pub out: Option<PathBuf>,
    /// Send CEF to a syslog receiver instead: udp://HOST:514, tcp://HOST:601, tls://HOST:6514.
    #[arg(long, value_name = "URL")]
    pub syslog: Option<String>,
    /// Extra trusted CA certificates (PEM) for tls:// syslog.
    #[arg(long, value_name = "FILE", requires = "syslog")]
    pub syslog_ca: Option<PathBuf>,
}

/// Report formats.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum ReportArg {
    /// HTML.
    Html,
    /// Markdown.
    Md,
    /// CSV.
    Csv,
}

/// `ppgov audit report`.
#[derive(Debug, Args)]
pub struct ReportArgs {
    #[command(flatten)]
    pub store: StoreArg,
    /// Period start.
    #[arg(long, default_value = "24h")]
    pub since: String,
    /// Format.
    #[arg(long, value_enum, default_value_t = ReportArg::Md)]
    pub format: ReportArg,
    /// Output file (default: standard output).
    #[arg(long)]
    pub out: Option<PathBuf>,
}

/// `ppgov bench audit`.
#[derive(Debug, Args)]
pub struct BenchAuditArgs {
    /// Events to generate.
    #[arg(long, default_value_t = 2_000_000)]
    pub events: u64,
    /// Work directory (default: a temporary one).
    #[arg(long)]
    pub dir: Option<PathBuf>,
    /// Skip the DuckDB comparison.
    #[arg(long)]
    pub no_duckdb: bool,
    /// Output format.
    #[arg(long, value_enum, default_value_t = crate::cli::BenchFormat::Text)]
    pub format: crate::cli::BenchFormat,
}

fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

/// The event store: `--store FILE`, else the configured one (PostgreSQL with `[store] url`, as
/// `ppgov serve` keeps it, else the embedded store).
fn open_store(config: Option<PathBuf>, arg: &StoreArg) -> anyhow::Result<Events> {
    match &arg.store {
        Some(p) => Ok(Box::new(Store::open(p).with_context(|| {
            format!("cannot open the store at {}", p.display())
        })?)),
        None => {
            ppgov_serve::open_events(&super::context::config(config)?).map_err(anyhow::Error::msg)
        }
    }
}

type Events = Box<dyn EventStore + Send>;

fn detection_config(a: &DetectionArgs, config: Option<PathBuf>) -> anyhow::Result<DetectionConfig> {
    let mut cfg = super::audit_notify::detection_file(a.detections.as_ref(), config)?;
    if let Some(p) = &a.departing_csv {
        cfg.add_departing_csv(p)?;
    }
    Ok(cfg)
}

fn since(s: &Option<String>) -> anyhow::Result<Option<i64>> {
    s.as_deref()
        .map(|s| parse_since(s, now_ms()).map_err(anyhow::Error::msg))
        .transpose()
}

fn filter(f: &FilterArgs) -> anyhow::Result<EventFilter> {
    Ok(EventFilter {
        since_ms: since(&f.since)?,
        until_ms: since(&f.until)?,
        actor: f.user.clone(),
        operation: f.operation.clone(),
        environment_id: f.environment.clone(),
        resource_id: f.resource.clone(),
        risk: f.risk.clone(),
        after_seq: None,
        limit: f.limit,
        newest_first: false,
    })
}

fn print_outcome(o: &IngestOutcome) {
    eprintln!(
        "read {}, stored {}, duplicates {}, malformed {}; {} resources marked for refresh at the next crawl",
        o.read, o.stored, o.duplicates, o.malformed, o.marked_for_refresh
    );
    for m in &o.malformed_records {
        eprintln!("  skipped {}: {}", m.position, m.reason);
    }
    if o.malformed > o.malformed_records.len() {
        eprintln!("  ... and {} more", o.malformed - o.malformed_records.len());
    }
}

pub async fn run(config: Option<PathBuf>, cmd: AuditCommand) -> anyhow::Result<Outcome> {
    match cmd {
        AuditCommand::Ingest(a) => ingest(config, a).await,
        AuditCommand::Verify(a) => {
            let store = open_store(config, &a.store)?;
            let r = store.verify()?;
            match a.format {
                TextJson::Json => println!("{}", serde_json::to_string_pretty(&r)?),
                TextJson::Table => {
                    println!(
                        "batches {}, events {}, head {}",
                        r.batches, r.events, r.head
                    );
                    for (b, m) in &r.prunes {
                        println!("prune at batch {b}: months {}", m.join(", "));
                    }
                    for p in &r.problems {
                        println!(
                            "PROBLEM batch {} {}: {}",
                            p.batch,
                            p.month.clone().unwrap_or_default(),
                            p.message
                        );
                    }
                }
            }
            if !r.problems.is_empty() {
                bail!(
                    "the audit store failed verification ({} problems); hint: restore it from a backup and compare the head hash you recorded",
                    r.problems.len()
                );
            }
            Ok(Outcome::Clean)
        }
        AuditCommand::Prune(a) => {
            let mut store = open_store(config, &a.store)?;
            let before = now_ms() - a.retention_days * 86_400_000;
            let p = store.prune_before(before)?;
            println!(
                "pruned months [{}], {} events, chain batch {}",
                p.months.join(", "),
                p.events,
                p.batch
            );
            Ok(Outcome::Clean)
        }
        AuditCommand::Detect(a) => {
            let mut store = open_store(config.clone(), &a.store)?;
            let cfg = detection_config(&a.detection, config.clone())?;
            let alerting = super::audit_notify::Alerting::from_config(config)?;
            if a.reset {
                store.set_state(ppgov_audit::detect::STATE_KEY, "{}")?;
            }
            let mut engine = Engine::resume(cfg, store.as_ref())?;
            let mut alerts = engine.run(store.as_mut())?;
            let told = alerting.tell(store.as_mut(), &alerts).await;
            eprintln!("processed {} events", engine.processed);
            if let Some(s) = since(&a.since)? {
                alerts = store.alerts(Some(s), None)?;
            } else {
                // Show each touched incident whole, as stored.
                let keys: std::collections::BTreeSet<String> =
                    alerts.iter().map(|x| x.key.clone()).collect();
                alerts = store
                    .alerts(None, None)?
                    .into_iter()
                    .filter(|x| keys.contains(&x.key))
                    .collect();
            }
            print_alerts(&alerts, a.format)?;
            told?;
            Ok(Outcome::Clean)
        }
        AuditCommand::Alerts(a) => {
            let store = open_store(config, &a.store)?;
            let alerts = store.alerts(since(&a.since)?, a.detection.as_deref())?;
            print_alerts(&alerts, a.format)?;
            Ok(Outcome::Clean)
        }
        AuditCommand::Search(a) => {
            let store = open_store(config, &a.store)?;
            let ev = store.search(&filter(&a.filter)?)?;
            let mut out = std::io::stdout().lock();
            match a.format {
                TextJson::Json => export::write_events(&mut out, &ev, ExportFormat::Ndjson)?,
                TextJson::Table => {
                    for e in &ev {
                        let t =
                            chrono::DateTime::from_timestamp_millis(e.time_ms).unwrap_or_default();
                        writeln!(
                            out,
                            "{}  {:<6} {:<28} {:<32} {} {}",
                            t.format("%Y-%m-%d %H:%M:%S"),
                            e.risk,
                            e.operation,
                            e.actor,
                            e.environment_id,
                            e.resource_id
                        )?;
                    }
                }
            }
            Ok(Outcome::Clean)
        }
        AuditCommand::Export(a) => {
            let store = open_store(config, &a.store)?;
            let ev = store.search(&filter(&a.filter)?)?;
            if let Some(url) = &a.syslog {
                if !matches!(a.format, ExportArg::Cef) {
                    bail!("--syslog sends CEF; use --format cef");
                }
                let target: ppgov_audit::syslog::Target = url.parse()?;
                let mut opts = ppgov_audit::syslog::Options::default();
                if let Some(ca) = &a.syslog_ca {
                    opts.extra_roots_pem = std::fs::read(ca)
                        .with_context(|| format!("cannot read {}", ca.display()))?;
                }
                let n = ppgov_audit::syslog::send(&target, &opts, &ev).await?;
                eprintln!("sent {n} event(s) to {url}");
                return Ok(Outcome::Clean);
            }
            let f = match a.format {
                ExportArg::Ndjson => ExportFormat::Ndjson,
                ExportArg::Csv => ExportFormat::Csv,
                ExportArg::Cef => ExportFormat::Cef,
                ExportArg::Ocsf => ExportFormat::Ocsf,
            };
            match &a.out {
                Some(p) => {
                    let mut w = std::io::BufWriter::new(
                        std::fs::File::create(p)
                            .with_context(|| format!("cannot create {}", p.display()))?,
                    );
                    export::write_events(&mut w, &ev, f)?;
                    w.flush()?;
                }
                None => export::write_events(&mut std::io::stdout().lock(), &ev, f)?,
            }
            Ok(Outcome::Clean)
        }
        AuditCommand::Report(a) => {
            let store = open_store(config, &a.store)?;
            let now = now_ms();
            let from = parse_since(&a.since, now).map_err(anyhow::Error::msg)?;
            let ev = store.search(&EventFilter {
                since_ms: Some(from),
                until_ms: Some(now),
                ..EventFilter::default()
            })?;
            let alerts = store.alerts(Some(from), None)?;
            let f = match a.format {
                ReportArg::Html => ReportFormat::Html,
                ReportArg::Md => ReportFormat::Markdown,
                ReportArg::Csv => ReportFormat::Csv,
            };
            let text = report::render(&ev, &alerts, from, now, f)?;
            write_out(a.out.as_deref(), &text)?;
            Ok(Outcome::Clean)
        }
    }
}

fn write_out(out: Option<&Path>, text: &str) -> anyhow::Result<()> {
    match out {
        Some(p) => std::fs::write(p, text).with_context(|| format!("cannot write {}", p.display())),
        None => {
            print!("{text}");
            Ok(())
        }
    }
}

fn print_alerts(alerts: &[ppgov_store::AlertRow], f: AlertFormat) -> anyhow::Result<()> {
    match f {
        AlertFormat::Json => println!(
            "{}",
            serde_json::to_string_pretty(&export::alerts_json(alerts))?
        ),
        AlertFormat::Sarif => println!(
            "{}",
            serde_json::to_string_pretty(&export::alerts_sarif(alerts))?
        ),
        AlertFormat::Ocsf => {
            for v in export::alerts_ocsf(alerts) {
                println!("{v}");
            }
        }
        AlertFormat::Table => {
            for a in alerts {
                let t = |ms: i64| {
                    chrono::DateTime::from_timestamp_millis(ms)
                        .unwrap_or_default()
                        .format("%Y-%m-%d %H:%M")
                        .to_string()
                };
                println!(
                    "{} {:<6} {} [{} .. {}] {} ({} events)",
                    a.detection_id,
                    a.severity,
                    a.actor,
                    t(a.first_seen),
                    t(a.last_seen),
                    a.reason,
                    a.event_ids.len()
                );
                for id in a.event_ids.iter().take(10) {
                    println!("    {id}");
                }
                if a.event_ids.len() > 10 {
                    println!("    ... {} more", a.event_ids.len() - 10);
                }
            }
            if alerts.is_empty() {
                println!("no alerts");
            }
        }
    }
    Ok(())
}

async fn ingest(config: Option<PathBuf>, a: IngestArgs) -> anyhow::Result<Outcome> {
    let mut store = open_store(config.clone(), &a.store)?;
    let format = a.format.map(|f| match f {
        FileFormat::Csv => Format::Csv,
        FileFormat::Jsonl => Format::JsonLines,
        FileFormat::Json => Format::JsonArray,
    });
    let cfg = detection_config(&a.detection, config.clone())?;
    let alerting = super::audit_notify::Alerting::from_config(config.clone())?;
    if !a.files.is_empty() {
        let mut total = IngestOutcome::default();
        for p in &a.files {
            let mut ing = Ingestor::new(store.as_mut());
            files::read_path(p, format, &mut |(pos, raw)| ing.push(pos, raw))?;
            total.add(ing.finish()?);
        }
        print_outcome(&total);
        if a.detect {
            detect_now(store.as_mut(), &cfg, &alerting).await?;
        }
        return Ok(Outcome::Clean);
    }
    let conf = super::context::config(config)?;
    let conn = super::context::connect(&conf, ppgov_client::TransportConfig::default())?;
    if a.graph {
        let endpoints = conf.endpoints();
        let now = chrono::Utc::now();
        let from = parse_since(&a.since, now.timestamp_millis()).map_err(anyhow::Error::msg)?;
        let from = chrono::DateTime::from_timestamp_millis(from).unwrap_or(now);
        let out = ppgov_audit::graph::ingest(
            &conn.clients.transport,
            &endpoints.graph,
            &endpoints.scopes.graph,
            store.as_mut(),
            from,
            now,
            &ppgov_audit::graph::GraphOptions::default(),
        )
        .await?;
        print_outcome(&out.ingest);
        eprintln!(
            "graph query {}: {} polls, {} pages",
            out.query_id, out.polls, out.pages
        );
        if a.detect {
            detect_now(store.as_mut(), &cfg, &alerting).await?;
        }
        return Ok(Outcome::Clean);
    }
    let client = conn
        .clients
        .management(&conf.tenant.id, a.publisher.clone())?;
    let opts = ManagementOptions {
        concurrency: a.concurrency,
        max_blobs: a.max_blobs,
        ..ManagementOptions::default()
    };
    loop {
        let out = management::ingest(&client, store.as_mut(), &opts, chrono::Utc::now()).await?;
        print_outcome(&out.ingest);
        eprintln!(
            "blobs {}, windows {}, cursor {}",
            out.blobs,
            out.windows,
            out.cursor.unwrap_or_default()
        );
        if a.detect {
            detect_now(store.as_mut(), &cfg, &alerting).await?;
        }
        if !a.follow {
            return Ok(Outcome::Clean);
        }
        tokio::time::sleep(std::time::Duration::from_secs(a.interval.max(1))).await;
    }
}

async fn detect_now(
    store: &mut (dyn EventStore + Send),
    cfg: &DetectionConfig,
    alerting: &super::audit_notify::Alerting,
) -> anyhow::Result<()> {
    let mut engine = Engine::resume(cfg.clone(), store)?;
    let alerts = engine.run(store)?;
    eprintln!(
        "detections: {} events, {} alerts created or extended",
        engine.processed,
        alerts.len()
    );
    alerting.tell(store, &alerts).await
}

pub fn bench(a: BenchAuditArgs) -> anyhow::Result<Outcome> {
    let tmp;
    let dir = match &a.dir {
        Some(d) => {
            std::fs::create_dir_all(d)?;
            d.clone()
        }
        None => {
            tmp = tempfile::tempdir()?;
            tmp.path().to_path_buf()
        }
    };
    let r = ppgov_audit::bench::run(&dir, a.events, !a.no_duckdb)?;
    let v = serde_json::to_value(&r)?;
    match a.format {
        crate::cli::BenchFormat::Json => println!("{v}"),
        crate::cli::BenchFormat::Text => {
            if let Some(m) = v.as_object() {
                for (k, x) in m {
                    println!("{k:<28} {x}");
                }
            }
        }
    }
    Ok(Outcome::Clean)
}
