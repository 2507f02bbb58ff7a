//! `ppgov bench serve`: instances of `ppgov serve` (in this process, each with its own tenants'
//! clients and workers) sharing one PostgreSQL job queue, against emulated tenants. Each round
//! queues one crawl per tenant; the figures are the jobs completed, duplicate executions (a job
//! key that ended twice: must be 0), jobs per second for each instance count, and, with more than
//! one instance, how long a job of an instance that crashed mid-crawl waits before another
//! instance takes it over (its lease has to run out first).

use ppgov_emulator::server::gate::Gated;
use ppgov_emulator::server::{Emulator, ServeOptions as EmuOptions};
use ppgov_emulator::tenant::Size;
use ppgov_serve::{JobEvent, RunEnd, ServeOptions, Server, SystemClock, Tenant};
use ppgov_store::{JobFilter, JobKey, JobQueue, JobState};
use ppgov_store_pg::PgStore;
use ppgov_store_pg::testing::TestDb;
use serde::Serialize;
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::mpsc;

/// What `bench serve` measures.
#[derive(Debug, Clone)]
pub struct ServeBenchOptions {
    /// Emulated tenants.
    pub tenants: usize,
    /// Instance counts to measure (e.g. 1 and 3).
    pub instances: Vec<usize>,
    /// Crawl rounds per instance count (the first is a full crawl of every tenant).
    pub rounds: usize,
    /// The job lease (seconds): a crashed instance's job waits this long.
    pub lease_s: u64,
}

/// The figures.
#[derive(Debug, Clone, Serialize)]
pub struct ServeBenchReport {
    /// Emulated tenants.
    pub tenants: usize,
    /// Instance counts measured.
    pub instances: Vec<usize>,
    /// Jobs that ended done, over every instance count (the takeover job included).
    pub jobs_completed: u64,
    /// Job keys that ended more than once (must be 0).
    pub duplicate_executions: u64,
    /// Jobs per second, by instance count.
    pub jobs_per_s: BTreeMap<String, f64>,
    /// Seconds from an instance's crash mid-crawl to another instance claiming its job; `None`
    /// with a single instance.
    pub takeover_s: Option<f64>,
    /// The lease the takeover waited out (seconds).
    pub lease_s: u64,
    /// Jobs that failed (should be 0).
    pub jobs_failed: u64,
}

fn blocking<T>(f: impl FnOnce() -> T) -> T {
    tokio::task::block_in_place(f)
}

fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

async fn emulator(seed: u64) -> Result<Emulator, String> {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .map_err(|e| e.to_string())?;
    Emulator::start(
        listener,
        EmuOptions {
            size: Size::Small,
            seed,
            ..Default::default()
        },
    )
    .await
    .map_err(|e| e.to_string())
}

/// The tenants' configuration: jobs come from the benchmark, so every schedule is yearly.
fn configs(
    dir: &std::path::Path,
    emus: &[Emulator],
    url: &str,
) -> Result<Vec<ppgov_config::Config>, String> {
    let yearly = "0 3 29 2 *";
    let mut text = format!(
        "[store]\nurl = \"{url}\"\n\n[schedule]\ncrawl = \"{yearly}\"\nfull_crawl = \"{yearly}\"\naudit = \"{yearly}\"\ndue = \"{yearly}\"\ndigest = \"{yearly}\"\n"
    );
    for (i, emu) in emus.iter().enumerate() {
        let r = emu.ready();
        let u = &r.url;
        let _ = write!(
            text,
            "\n[[tenants]]\nid = \"{}\"\nstore = \"store-{i}\"\nauth = {{ method = \"client_secret\", client_id = \"{}\", client_secret = \"{}\" }}\nendpoints = {{ login = \"{u}\", bap = \"{u}\", powerapps = \"{u}\", flow = \"{u}\", powerplatform = \"{u}\", graph = \"{u}\", management = \"{u}\" }}\n",
            r.tenant_id, r.client_id, r.client_secret
        );
    }
    let path = dir.join("ppgov.toml");
    std::fs::write(&path, text).map_err(|e| e.to_string())?;
    ppgov_config::tenants(&ppgov_config::ConfigSources {
        file: Some(path),
        env: BTreeMap::new(),
        flags: ppgov_config::Flags::default(),
    })
    .map_err(|e| e.to_string())
}

struct Run {
    servers: Vec<Option<Server>>,
    events: mpsc::UnboundedReceiver<(usize, JobEvent)>,
    url: String,
}

impl Run {
    fn enqueue(&self, key: &JobKey) -> Result<(), String> {
        blocking(|| {
            let mut q = PgStore::connect(&self.url, None).map_err(|e| e.to_string())?;
            q.enqueue(key, &serde_json::json!({}), now_ms())
                .map_err(|e| e.to_string())
                .map(|_| ())
        })
    }

    fn jobs(&self) -> Result<Vec<ppgov_store::JobRow>, String> {
        blocking(|| {
            let mut q = PgStore::connect(&self.url, None).map_err(|e| e.to_string())?;
            q.list_jobs(&JobFilter::default())
                .map_err(|e| e.to_string())
        })
    }

    async fn next(&mut self) -> Result<(usize, JobEvent), String> {
        tokio::time::timeout(Duration::from_secs(900), self.events.recv())
            .await
            .map_err(|_| "no job ended within 15 minutes".to_string())?
            .ok_or_else(|| "every instance stopped".to_string())
    }
}

async fn start(
    configs: &[ppgov_config::Config],
    url: &str,
    instances: usize,
    lease_s: u64,
) -> Result<Run, String> {
    let (tx, events) = mpsc::unbounded_channel();
    let mut servers = Vec::new();
    for n in 0..instances {
        let queue = blocking(|| PgStore::connect(url, None)).map_err(|e| e.to_string())?;
        let tenants = configs
            .iter()
            .map(|c| Tenant::new(c.clone(), &|_| None))
            .collect();
        let server = Server::start(
            tenants,
            Box::new(queue),
            ServeOptions {
                listen: "127.0.0.1:0".parse().map_err(|e| format!("{e}"))?,
                clock: Arc::new(SystemClock),
                instance: format!("bench-{n}"),
                workers: 2,
                lease_ms: i64::try_from(lease_s).unwrap_or(5) * 1000,
                poll_ms: 100,
                api_tokens: Vec::new(),
                extra_routes: None,
            },
        )
        .await
        .map_err(|e| e.to_string())?;
        let mut rx = server.events();
        let tx = tx.clone();
        tokio::spawn(async move {
            while let Ok(e) = rx.recv().await {
                let _ = tx.send((n, e));
            }
        });
        servers.push(Some(server));
    }
    Ok(Run {
        servers,
        events,
        url: url.to_string(),
    })
}

/// Runs the benchmark (needs the multi-thread runtime; PostgreSQL from `PPGOV_TEST_PG_URL`, else
/// a throwaway cluster started with `scripts/pg-cluster`).
pub async fn run(opts: &ServeBenchOptions) -> Result<ServeBenchReport, String> {
    let mut emus = Vec::new();
    for seed in 0..opts.tenants {
        emus.push(emulator(100 + seed as u64).await?);
    }
    let mut report = ServeBenchReport {
        tenants: opts.tenants,
        instances: opts.instances.clone(),
        jobs_completed: 0,
        duplicate_executions: 0,
        jobs_per_s: BTreeMap::new(),
        takeover_s: None,
        lease_s: opts.lease_s,
        jobs_failed: 0,
    };
    let most = opts.instances.iter().copied().max().unwrap_or(1);
    for &k in &opts.instances {
        let db = blocking(TestDb::new);
        let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
        let configs = configs(dir.path(), &emus, &db.url())?;
        let mut run = start(&configs, &db.url(), k.max(1), opts.lease_s).await?;
        let mut ended: BTreeMap<JobKey, u64> = BTreeMap::new();
        let started = Instant::now();
        for round in 0..opts.rounds {
            let tick = now_ms() + round as i64;
            for c in &configs {
                run.enqueue(&JobKey {
                    tenant: c.tenant.id.clone(),
                    kind: "crawl".into(),
                    scheduled_for_ms: tick,
                })?;
            }
            let mut left = configs.len();
            while left > 0 {
                let (_, e) = run.next().await?;
                if e.end == RunEnd::Failed {
                    report.jobs_failed += 1;
                }
                if matches!(e.end, RunEnd::Done | RunEnd::Failed) {
                    *ended.entry(e.key).or_default() += 1;
                    left -= 1;
                }
            }
        }
        let secs = started.elapsed().as_secs_f64();
        report
            .jobs_per_s
            .insert(k.to_string(), (opts.rounds * configs.len()) as f64 / secs);

        if k == most && k > 1 {
            report.takeover_s = Some(takeover(&mut run, &emus[0], &configs[0], &mut ended).await?);
        }
        for s in run.servers.iter_mut().filter_map(Option::take) {
            s.shutdown().await;
        }
        // Every job in the queue ended exactly once.
        for j in run.jobs()? {
            if j.state == JobState::Done {
                report.jobs_completed += 1;
            }
        }
        report.duplicate_executions += ended.values().map(|n| n.saturating_sub(1)).sum::<u64>();
        drop(db);
    }
    Ok(report)
}

/// Crashes the instance that holds a full crawl mid-way and times how long its job waits before
/// another instance claims it.
async fn takeover(
    run: &mut Run,
    emu: &Emulator,
    config: &ppgov_config::Config,
    ended: &mut BTreeMap<JobKey, u64>,
) -> Result<f64, String> {
    let key = JobKey {
        tenant: config.tenant.id.clone(),
        kind: "full_crawl".into(),
        scheduled_for_ms: now_ms(),
    };
    emu.gate(Gated::Requests).hold_after(200);
    run.enqueue(&key)?;
    emu.gate(Gated::Requests).wait_held(1).await;
    let job = run
        .jobs()?
        .into_iter()
        .find(|j| j.key == key)
        .ok_or("the takeover job is not in the queue")?;
    let owner = job
        .lease_owner
        .clone()
        .ok_or("the takeover job is not claimed")?;
    let victim = (0..run.servers.len())
        .find(|n| owner.starts_with(&format!("bench-{n}/")))
        .ok_or_else(|| format!("no instance named {owner}"))?;
    if let Some(s) = run.servers[victim].take() {
        s.abort().await;
    }
    let crashed = now_ms();
    emu.gate(Gated::Requests).abort_held();
    loop {
        let (n, e) = run.next().await?;
        if e.key == key && matches!(e.end, RunEnd::Done | RunEnd::Failed) {
            if n == victim {
                return Err("the crashed instance reported the job".into());
            }
            *ended.entry(e.key).or_default() += 1;
            break;
        }
    }
    let job = run
        .jobs()?
        .into_iter()
        .find(|j| j.key == key)
        .ok_or("the takeover job left the queue")?;
    let claimed = job
        .started_ms
        .ok_or("the takeover job was never claimed again")?;
    Ok((claimed - crashed).max(0) as f64 / 1000.0)
}
