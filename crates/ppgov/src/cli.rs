//! Command-line definitions (clap). Implementations live in `commands/`; this file only says
//! what can be typed.

use clap::{Args, Parser, Subcommand, ValueEnum};
use std::net::SocketAddr;
use std::path::PathBuf;

/// ppgov: governance, security posture and threat detection for Microsoft Power Platform.
#[derive(Debug, Parser)]
#[command(name = "ppgov", version, about, long_about = None, propagate_version = true)]
pub struct Cli {
    /// Configuration file (default: ./ppgov.toml when present).
    #[arg(long, global = true, env = "PPGOV_CONFIG", value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Print nothing on stderr but errors (no progress, no logs).
    #[arg(long, short, global = true)]
    pub quiet: bool,
    /// More log output on stderr (-v info, -vv debug, -vvv trace).
    #[arg(long, short, global = true, action = clap::ArgAction::Count)]
    pub verbose: u8,
    /// Log format on stderr.
    #[arg(long, global = true, value_enum, default_value_t = LogFormat::Text)]
    pub log_format: LogFormat,
    /// Configuration overrides; flags beat the environment, which beats the file.
    #[command(flatten)]
    pub overrides: ConfigOverrides,
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// Log output format.
#[derive(Debug, Clone, Copy, ValueEnum, PartialEq, Eq)]
pub enum LogFormat {
    /// Human-readable lines.
    Text,
    /// One JSON object per line.
    Json,
}

/// The commands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the whole job on a built-in demo tenant: emulator, crawl, scan, HTML report. No set-up.
    Demo(DemoArgs),
    /// The Power Platform tenant emulator (a stand-in for Microsoft's APIs on loopback).
    #[command(subcommand)]
    Emulator(EmulatorCommand),
    /// Configuration.
    #[command(subcommand)]
    Config(ConfigCommand),
    /// Sign-in.
    #[command(subcommand)]
    Auth(AuthCommand),
    /// Check the tenant set-up: one cheap read per API family, with the problem and its fix.
    Doctor,
    /// Collect the tenant's inventory into the store.
    Crawl(CrawlArgs),
    /// Show the inventory of the latest snapshot.
    Inventory(InventoryArgs),
    /// Snapshots.
    #[command(subcommand)]
    Snapshot(SnapshotCommand),
    /// Judge the tenant's posture: every built-in rule, custom Rego policies, frameworks.
    Scan(ScanArgs),
    /// DLP policy tools.
    #[command(subcommand)]
    Dlp(DlpCommand),
    /// Policy-as-code tools.
    #[command(subcommand)]
    Policy(PolicyCommand),
    /// Pack the compliance evidence package (DLP policies, roles, flow inventory, findings) with a SHA-256 manifest.
    Evidence(EvidenceArgs),
    /// Whole-system benchmarks; they print their figures.
    #[command(subcommand)]
    Bench(BenchCommand),
    /// List the built-in rules, or print one rule's documentation (what, why, remediation,
    /// references, frameworks).
    Rules(RulesArgs),
    /// Audit log: ingest, tamper-evident store, detections, search, export, daily report.
    #[command(subcommand)]
    Audit(crate::commands::audit::AuditCommand),
    /// Plan remediation into a reviewed plan file (changes nothing); `plan show`, `plan approve`.
    Plan(crate::cli_act::PlanArgs),
    /// Apply a plan (or, with --due, the actions whose time has come).
    Apply(crate::cli_act::ApplyArgs),
    /// The remediation journal: show, verify.
    #[command(subcommand)]
    Journal(crate::cli_act::JournalCommand),
    /// Plan the undo of an apply from the journal's before-states.
    Revert(crate::cli_act::RevertArgs),
    /// Security roles: remove a role from listed users.
    #[command(subcommand)]
    Roles(crate::cli_act::RolesCommand),
    /// Just-in-time System Administrator in an environment (applyAdminRole, delegated only).
    Elevate(crate::cli_act::ElevateArgs),
    /// Notifications (PPG-ACT-013): preview the digests, test the sinks, send.
    #[command(subcommand)]
    Notify(crate::commands::notify::NotifyCommand),
    /// Run continuously: scheduled crawls and scans, audit ingestion and detection, due steps and
    /// digests, with /healthz, /readyz, /metrics and the JSON API.
    Serve(crate::commands::serve::ServeArgs),
    /// The server's job queue: list, run now, cancel.
    #[command(subcommand)]
    Jobs(crate::commands::serve::JobsCommand),
}

/// Emulated tenant sizes.
#[derive(Debug, Clone, Copy, ValueEnum, PartialEq, Eq)]
pub enum SizeArg {
    /// 5 environments, about 200 flows.
    Small,
    /// 100 environments, 10k flows.
    Medium,
    /// 1,000 environments, 30k flows.
    Large,
    /// 5,000 environments, 300k flows.
    Huge,
}

/// `ppgov demo`.
#[derive(Debug, Args)]
pub struct DemoArgs {
    /// Size of the generated demo tenant.
    #[arg(long, value_enum, default_value_t = SizeArg::Small)]
    pub size: SizeArg,
    /// Scenario seed.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Where to write the report and the store.
    #[arg(long, default_value = "ppgov-demo")]
    pub out: PathBuf,
    /// Then keep the emulated tenant up and run `ppgov serve` on it with the web console, until
    /// Ctrl-C; prints the console's address and the emulated people to sign in as.
    #[arg(long)]
    pub console: bool,
    /// With --console: the console's address.
    #[arg(
        long,
        value_name = "ADDR",
        default_value = "127.0.0.1:8080",
        requires = "console"
    )]
    pub listen: std::net::SocketAddr,
}

/// `ppgov emulator ...`.
#[derive(Debug, Subcommand)]
pub enum EmulatorCommand {
    /// Serve a generated tenant until interrupted; prints one JSON line with its URL and credentials when ready.
    Serve(ServeArgs),
}

/// `ppgov emulator serve`.
#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Tenant size.
    #[arg(long, value_enum, default_value_t = SizeArg::Small)]
    pub size: SizeArg,
    /// Scenario seed (same seed, same tenant).
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Address to listen on (port 0 picks a free port); loopback only unless --allow-remote.
    #[arg(long, default_value = "127.0.0.1:0")]
    pub addr: SocketAddr,
    /// Allow a non-loopback --addr (the emulator publishes well-known credentials).
    #[arg(long)]
    pub allow_remote: bool,
    /// Latency added to every API response.
    #[arg(long, default_value_t = 0)]
    pub latency_ms: u64,
    /// Requests per second allowed per identity; past it, 429 with Retry-After.
    #[arg(long, value_name = "REQ_PER_S")]
    pub rate_limit: Option<f64>,
    /// Share of API calls answered with a 5xx or a dropped connection (0.0 to 1.0).
    #[arg(long, default_value_t = 0.0, value_name = "P")]
    pub fault_rate: f64,
    /// Write the planted problems (ground truth) to this file.
    #[arg(long, value_name = "FILE")]
    pub ground_truth: Option<PathBuf>,
    /// Behave like a tenant without unified audit logging.
    #[arg(long)]
    pub audit_disabled: bool,
}

/// `ppgov config ...`.
#[derive(Debug, Subcommand)]
pub enum ConfigCommand {
    /// Check the configuration completely, without any network call; lists every problem with its location.
    Validate,
}

/// `ppgov auth ...`.
#[derive(Debug, Subcommand)]
pub enum AuthCommand {
    /// Get a token for each API audience and print who ppgov is (never the token).
    Test,
}

/// `ppgov crawl`.
#[derive(Debug, Args)]
pub struct CrawlArgs {
    /// Continue an interrupted crawl from its checkpoints.
    #[arg(long)]
    pub resume: bool,
    /// Refetch everything even when an earlier complete snapshot exists.
    #[arg(long)]
    pub full: bool,
    /// Concurrent requests per API host.
    #[arg(long, default_value_t = 16)]
    pub concurrency: usize,
    /// List flows per environment even when signed in as a user. The inventory API, used
    /// otherwise, trails changes by up to 15 minutes.
    #[arg(long)]
    pub no_inventory: bool,
}

/// Output formats of inventory views.
#[derive(Debug, Clone, Copy, ValueEnum, PartialEq, Eq)]
pub enum TabularFormat {
    /// Aligned text table.
    Table,
    /// JSON array.
    Json,
    /// CSV (UTF-8, RFC 4180 quoting).
    Csv,
}

/// Inventory views.
#[derive(Debug, Clone, Copy, ValueEnum, PartialEq, Eq)]
pub enum InventoryView {
    /// Environments.
    Environments,
    /// Apps.
    Apps,
    /// Flows with owner, state, connectors, last run, run and failure counts.
    Flows,
    /// Connections with connector, owner, created, last used, Active/Orphaned, flows using each.
    Connections,
    /// Admin role holders.
    Roles,
    /// Principals seen.
    Principals,
}

/// `ppgov inventory`.
#[derive(Debug, Args)]
pub struct InventoryArgs {
    /// Which view.
    #[arg(value_enum)]
    pub view: InventoryView,
    /// Output format.
    #[arg(long, value_enum, default_value_t = TabularFormat::Table)]
    pub format: TabularFormat,
    /// Only this environment.
    #[arg(long, value_name = "ID")]
    pub environment: Option<String>,
    /// Read a snapshot file instead of the store.
    #[arg(long, value_name = "FILE")]
    pub snapshot: Option<PathBuf>,
}

/// `ppgov snapshot ...`.
#[derive(Debug, Subcommand)]
pub enum SnapshotCommand {
    /// Write the latest (or a given) snapshot to a portable file for offline evaluation.
    Export {
        /// Target file.
        file: PathBuf,
        /// Snapshot id (default: latest complete).
        #[arg(long)]
        id: Option<String>,
    },
}

/// Scan output formats.
#[derive(Debug, Clone, Copy, ValueEnum, PartialEq, Eq)]
pub enum ScanFormat {
    /// Text table.
    Table,
    /// Versioned JSON (docs/json-output.md).
    Json,
    /// CSV.
    Csv,
    /// Markdown.
    Md,
    /// One self-contained HTML file.
    Html,
    /// OCSF Detection Finding records (JSON lines).
    Ocsf,
    /// SARIF 2.1.0.
    Sarif,
}

/// `ppgov scan`.
#[derive(Debug, Args)]
pub struct ScanArgs {
    /// Output format.
    #[arg(long, value_enum, default_value_t = ScanFormat::Table)]
    pub format: ScanFormat,
    /// Write to this file instead of stdout.
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
    /// Exit 1 when a finding at or above this severity exists (info, low, medium, high, critical).
    #[arg(long, value_name = "SEVERITY")]
    pub fail_on: Option<String>,
    /// Group results by this framework's requirements (scuba, nist-800-53, bait, sox, hipaa, gdpr).
    #[arg(long)]
    pub framework: Option<String>,
    /// Compare with a previous scan's JSON output: new, resolved, unchanged.
    #[arg(long, value_name = "PREVIOUS")]
    pub diff: Option<PathBuf>,
    /// Evaluate a snapshot file instead of the store.
    #[arg(long, value_name = "FILE")]
    pub snapshot: Option<PathBuf>,
    /// Directory of custom Rego policies.
    #[arg(long, value_name = "DIR")]
    pub policies: Option<PathBuf>,
    /// With --fail-on, judge the findings alone even when some rules could not be evaluated
    /// (by default such an incomplete scan exits 2).
    #[arg(long)]
    pub allow_incomplete: bool,
}

/// `ppgov dlp ...`.
#[derive(Debug, Subcommand)]
pub enum DlpCommand {
    /// Evaluate a draft policy against every app and flow: what would newly break, what would be fixed.
    Simulate(DlpSimulateArgs),
}

/// `ppgov dlp simulate`.
#[derive(Debug, Args)]
pub struct DlpSimulateArgs {
    /// The draft policy (GOV v2 JSON document).
    #[arg(long, value_name = "DRAFT.json")]
    pub policy: PathBuf,
    /// Replace this existing policy (by name) instead of adding the draft.
    #[arg(long, value_name = "NAME")]
    pub replace: Option<String>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = TabularFormat::Table)]
    pub format: TabularFormat,
    /// Evaluate a snapshot file instead of the store.
    #[arg(long, value_name = "FILE")]
    pub snapshot: Option<PathBuf>,
}

/// `ppgov policy ...`.
#[derive(Debug, Subcommand)]
pub enum PolicyCommand {
    /// Run the `_test.rego` files of a policy directory.
    Test {
        /// Policy directory.
        dir: PathBuf,
    },
}

/// `ppgov evidence`.
#[derive(Debug, Args)]
pub struct EvidenceArgs {
    /// Target zip file.
    #[arg(long, value_name = "FILE.zip")]
    pub out: PathBuf,
    /// Evaluate a snapshot file instead of the store.
    #[arg(long, value_name = "FILE")]
    pub snapshot: Option<PathBuf>,
}

/// `ppgov bench ...`.
#[derive(Debug, Subcommand)]
pub enum BenchCommand {
    /// Crawl an in-process emulator with latency and a rate limit; compare with the floor and a sequential crawl.
    Crawl(BenchCrawlArgs),
    /// Time loading a snapshot from the store against scanning it.
    Scan(BenchScanArgs),
    /// Time `dlp simulate` on a generated snapshot.
    Dlp(BenchScanArgs),
    /// Time emulator start-up and measure its memory.
    Emulator(BenchScanArgs),
    /// Generate audit events with planted attacks; ingest and detection throughput, memory, bytes per event.
    Audit(crate::commands::audit::BenchAuditArgs),
    /// Instances of `ppgov serve` on one PostgreSQL job queue against emulated tenants: jobs
    /// completed, duplicate executions, jobs per second per instance count, takeover time.
    Serve(BenchServeArgs),
}

/// `ppgov bench serve`.
#[derive(Debug, Args)]
pub struct BenchServeArgs {
    /// Emulated tenants.
    #[arg(long, default_value_t = 20)]
    pub tenants: usize,
    /// Instance counts to measure (repeatable or comma-separated).
    #[arg(long, value_delimiter = ',', default_values_t = [1, 3])]
    pub instances: Vec<usize>,
    /// Crawl rounds per instance count (the first crawls every tenant in full).
    #[arg(long, default_value_t = 2)]
    pub rounds: usize,
    /// Job lease in seconds (a crashed instance's job waits this long).
    #[arg(long, default_value_t = 5)]
    pub lease_seconds: u64,
    /// Output format.
    #[arg(long, value_enum, default_value_t = BenchFormat::Text)]
    pub format: BenchFormat,
}

/// Benchmark output format.
#[derive(Debug, Clone, Copy, ValueEnum, PartialEq, Eq)]
pub enum BenchFormat {
    /// Human-readable lines.
    Text,
    /// One JSON object.
    Json,
}

/// `ppgov bench crawl`.
#[derive(Debug, Args)]
pub struct BenchCrawlArgs {
    /// Tenant size.
    #[arg(long, value_enum, default_value_t = SizeArg::Medium)]
    pub size: SizeArg,
    /// Emulator latency per response.
    #[arg(long, default_value_t = 20)]
    pub latency_ms: u64,
    /// Emulator rate limit per identity (requests per second); default chosen so the floor is about a minute.
    #[arg(long)]
    pub rate_limit: Option<f64>,
    /// Crawler concurrency per host (64 keeps the latency floor under the rate-limit floor).
    #[arg(long, default_value_t = 64)]
    pub concurrency: usize,
    /// Skip the sequential (one request at a time) comparison crawl.
    #[arg(long)]
    pub no_sequential: bool,
    /// Sign in as the emulator's admin user (delegated) instead of its service principal, so
    /// flows are listed through the inventory API.
    #[arg(long)]
    pub delegated: bool,
    /// Memory the in-process emulator may keep environments in (MiB); past it, environments are
    /// regenerated when read again.
    #[arg(long, default_value_t = 512)]
    pub emulator_cache_mib: usize,
    /// Output format.
    #[arg(long, value_enum, default_value_t = BenchFormat::Text)]
    pub format: BenchFormat,
}

/// `ppgov bench scan|dlp|emulator`.
#[derive(Debug, Args)]
pub struct BenchScanArgs {
    /// Tenant size.
    #[arg(long, value_enum, default_value_t = SizeArg::Large)]
    pub size: SizeArg,
    /// Scenario seed.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Output format.
    #[arg(long, value_enum, default_value_t = BenchFormat::Text)]
    pub format: BenchFormat,
}

/// Configuration values given on the command line (the highest-priority layer).
#[derive(Debug, Args, Default)]
pub struct ConfigOverrides {
    /// Tenant id or domain (overrides AZURE_TENANT_ID and `[tenant] id`).
    #[arg(long, global = true, value_name = "TENANT")]
    pub tenant: Option<String>,
    /// Application (client) id (overrides AZURE_CLIENT_ID and `[auth] client_id`).
    #[arg(long, global = true, value_name = "ID")]
    pub client_id: Option<String>,
    /// Cloud: public, gcc, gcchigh or dod (overrides PPGOV_CLOUD and `[endpoints] cloud`).
    #[arg(long, global = true, value_name = "CLOUD")]
    pub cloud: Option<String>,
    /// Store directory (overrides `[store] path`).
    #[arg(long, global = true, value_name = "DIR")]
    pub store: Option<PathBuf>,
    /// Any configuration key, e.g. `--set auth.method=device_code` (repeatable).
    #[arg(long = "set", global = true, value_name = "KEY=VALUE")]
    pub set: Vec<String>,
}

/// `ppgov rules`.
#[derive(Debug, Args)]
pub struct RulesArgs {
    /// A rule id (e.g. PPG-FLW-006): print its documentation instead of the list.
    pub rule: Option<String>,
    /// Output format: table (or text for one rule), json, or md (the generated docs/rules.md).
    #[arg(long, value_enum, default_value_t = RulesFormat::Table)]
    pub format: RulesFormat,
}

/// Output formats of `ppgov rules`.
#[derive(Debug, Clone, Copy, ValueEnum, PartialEq, Eq)]
pub enum RulesFormat {
    /// A table of rules, or one rule as text.
    Table,
    /// JSON.
    Json,
    /// Markdown (the whole list is docs/rules.md).
    Md,
}
