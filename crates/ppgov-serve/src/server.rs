//! The long-running process: a scheduler that turns every tick of every tenant's schedule into
//! one job, workers that claim jobs under a renewed lease and run them, and the HTTP endpoints.
//!
//! Exactly once comes from the queue ([`ppgov_store::JobQueue`]): a tick is a unique key, so
//! however many instances tick the same schedule each run exists once, and a claim is a lease,
//! so each run executes once at a time and is taken over only when its worker stopped renewing.
//! Runs of one tenant's job never overlap (the queue does not claim a job while another of its
//! tenant and kind runs), and a missed run (the process was down) is enqueued once, at start.

use crate::clock::Clock;
use crate::jobs;
use crate::metrics::{Metrics, RunLabels};
use crate::tenant::Tenant;
use crate::ticks;
use croner::Cron;
use ppgov_store::{JobKey, JobOutcome, JobQueue, JobRow};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use tokio::sync::{broadcast, watch};
use tokio::task::JoinSet;

/// The job queue, shared by the scheduler, the workers and the API (`None` once closed).
pub type Queue = Arc<Mutex<Option<Box<dyn JobQueue + Send>>>>;

/// Runs with no history that run once at the first start (the jobs that bring data in); the
/// others wait for their first tick.
const CATCH_UP_ON_FIRST_START: &[&str] = &["crawl", "audit"];
/// How far back the first start looks for those.
const FIRST_START_LOOKBACK_MS: i64 = 7 * 24 * 3_600_000;

/// How `ppgov serve` runs.
pub struct ServeOptions {
    /// Where the HTTP endpoints listen.
    pub listen: SocketAddr,
    /// The clock (the machine's, or a test's).
    pub clock: Arc<dyn Clock>,
    /// This instance's name (workers are `<instance>/<n>`; leases name them).
    pub instance: String,
    /// Jobs run at once.
    pub workers: usize,
    /// A claimed job's lease (ms); renewed every third of it.
    pub lease_ms: i64,
    /// How often an idle worker looks for jobs another instance enqueued (ms).
    pub poll_ms: i64,
    /// Bearer tokens the JSON API accepts (none: the API answers 401 to everything).
    pub api_tokens: Vec<String>,
    /// Routes served beside the API (the web console), if any.
    pub extra_routes: Option<crate::handle::ExtraRoutes>,
}

/// How a job run ended, as [`JobEvent`]s report it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RunEnd {
    /// It did its work.
    Done,
    /// It failed (the summary says why).
    Failed,
    /// Its lease was no longer this worker's (cancelled, or taken over): its result was not
    /// recorded.
    LeaseLost,
    /// Given back to the queue at shutdown.
    Released,
}

impl RunEnd {
    /// The metric label.
    pub fn as_str(self) -> &'static str {
        match self {
            RunEnd::Done => "done",
            RunEnd::Failed => "failed",
            RunEnd::LeaseLost => "lease_lost",
            RunEnd::Released => "released",
        }
    }
}

/// A job run ended (for logs, tests and the console).
#[derive(Debug, Clone)]
pub struct JobEvent {
    /// The job's id in the queue.
    pub id: i64,
    /// Tenant, kind, tick.
    pub key: JobKey,
    /// How it ended.
    pub end: RunEnd,
    /// What it did, or why it failed.
    pub summary: String,
}

pub(crate) struct Shared {
    pub(crate) tenants: Vec<Arc<Tenant>>,
    pub(crate) queue: Queue,
    pub(crate) metrics: Metrics,
    pub(crate) clock: Arc<dyn Clock>,
    pub(crate) api_tokens: Vec<String>,
    pub(crate) ready: AtomicBool,
    enqueued: watch::Sender<u64>,
    events: broadcast::Sender<JobEvent>,
    lease_ms: i64,
    poll_ms: i64,
}

impl Shared {
    pub(crate) fn tenant(&self, id: &str) -> Option<&Arc<Tenant>> {
        self.tenants.iter().find(|t| t.id() == id)
    }

    /// Enqueues a run and wakes the idle workers; `None` when the key existed.
    pub(crate) fn enqueue(&self, key: &JobKey) -> Result<Option<i64>, String> {
        let now = self.clock.now_ms();
        let id = with_queue(&self.queue, |q| q.enqueue(key, &serde_json::json!({}), now))?;
        if id.is_some() {
            self.metrics
                .jobs_enqueued
                .get_or_create(&Metrics::job(&key.tenant, &key.kind))
                .inc();
            self.enqueued.send_modify(|n| *n = n.wrapping_add(1));
        }
        Ok(id)
    }
}

impl Drop for Shared {
    /// Closes the queue on a thread of its own: a PostgreSQL client blocks on its own runtime
    /// when it closes, which must not happen on one of tokio's.
    fn drop(&mut self) {
        let queue = self.queue.lock().unwrap_or_else(|p| p.into_inner()).take();
        if let Some(q) = queue {
            let _ = std::thread::spawn(move || drop(q)).join();
        }
    }
}

/// Runs `f` on the queue. The queue is locked (a poisoned lock is cleared: every change is one
/// statement or transaction, so a panic leaves nothing half-done); the call leaves the async
/// worker (`ppgov_store_pg::off_runtime`), as a PostgreSQL queue's client blocks on a runtime of
/// its own.
pub(crate) fn with_queue<T>(
    queue: &Queue,
    f: impl FnOnce(&mut (dyn JobQueue + Send)) -> Result<T, ppgov_store::StoreError>,
) -> Result<T, String> {
    let run = || {
        let mut q = queue.lock().unwrap_or_else(|p| p.into_inner());
        match q.as_mut() {
            Some(q) => f(q.as_mut()).map_err(|e| e.to_string()),
            None => Err("the job queue is closed (the server is stopping)".to_string()),
        }
    };
    ppgov_store_pg::off_runtime(run)
}

/// A running `ppgov serve`.
pub struct Server {
    shared: Arc<Shared>,
    /// Subscribed before any task started, so the first caller of [`Server::events`] misses none.
    first_events: Mutex<Option<broadcast::Receiver<JobEvent>>>,
    addr: SocketAddr,
    shutdown: watch::Sender<bool>,
    tasks: JoinSet<()>,
}

/// Why the server could not start.
#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    /// The listen address could not be bound.
    #[error(
        "cannot listen on {addr}: {source}; hint: pick a free port with --listen or [serve] listen"
    )]
    Listen {
        /// The address.
        addr: SocketAddr,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// Nothing to serve.
    #[error("no tenant to serve; hint: configure [tenant] and [auth] in ppgov.toml")]
    NoTenant,
}

impl Server {
    /// Binds the listener and starts the scheduler, the workers and the HTTP endpoints.
    pub async fn start(
        tenants: Vec<Tenant>,
        queue: Box<dyn JobQueue + Send>,
        opts: ServeOptions,
    ) -> Result<Server, ServeError> {
        if tenants.is_empty() {
            return Err(ServeError::NoTenant);
        }
        let listener = tokio::net::TcpListener::bind(opts.listen)
            .await
            .map_err(|source| ServeError::Listen {
                addr: opts.listen,
                source,
            })?;
        let addr = listener.local_addr().map_err(|source| ServeError::Listen {
            addr: opts.listen,
            source,
        })?;
        let (events, first_events) = broadcast::channel(1024);
        let shared = Arc::new(Shared {
            tenants: tenants.into_iter().map(Arc::new).collect(),
            queue: Arc::new(Mutex::new(Some(queue))),
            metrics: Metrics::new(),
            clock: opts.clock,
            api_tokens: opts.api_tokens,
            ready: AtomicBool::new(false),
            enqueued: watch::Sender::new(0),
            events: events.clone(),
            lease_ms: opts.lease_ms.max(3),
            poll_ms: opts.poll_ms.max(1),
        });
        let (shutdown, _) = watch::channel(false);
        let mut tasks = JoinSet::new();
        let mut app = crate::http::router(shared.clone());
        if let Some(extra) = opts.extra_routes {
            app = app.merge(extra(crate::handle::ServeHandle {
                shared: shared.clone(),
                addr,
            }));
        }
        let mut stop = shutdown.subscribe();
        tasks.spawn(async move {
            let serve = axum::serve(listener, app).with_graceful_shutdown(async move {
                let _ = stop.wait_for(|s| *s).await;
            });
            if let Err(e) = serve.await {
                tracing::error!(error = %e, "the HTTP endpoints stopped");
            }
        });
        tasks.spawn(schedule(shared.clone(), shutdown.subscribe()));
        for n in 0..opts.workers.max(1) {
            let worker = format!("{}/{n}", opts.instance);
            tasks.spawn(work(shared.clone(), worker, shutdown.subscribe()));
        }
        Ok(Server {
            shared,
            first_events: Mutex::new(Some(first_events)),
            addr,
            shutdown,
            tasks,
        })
    }

    /// Where the HTTP endpoints listen.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Every job run's end: from the start for the first caller, from now on for later ones.
    pub fn events(&self) -> broadcast::Receiver<JobEvent> {
        let first = self
            .first_events
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .take();
        first.unwrap_or_else(|| self.shared.events.subscribe())
    }

    /// The metrics in the text exposition format (what `/metrics` serves).
    pub fn metrics_text(&self) -> String {
        self.shared.metrics.encode()
    }

    /// Stops at once as a crashed instance would: every task is aborted and no lease is
    /// released, so other instances take its jobs over only when their leases run out (the
    /// takeover benchmark; a real crash is a SIGKILL, see the `serve_kill` test).
    pub async fn abort(mut self) {
        self.tasks.abort_all();
        while self.tasks.join_next().await.is_some() {}
    }

    /// Stops: no new claims, running jobs are given back to the queue (their leases released,
    /// so another instance takes them at once and resumes from their checkpoints), the HTTP
    /// endpoints finish their requests.
    pub async fn shutdown(mut self) {
        let _ = self.shutdown.send(true);
        while self.tasks.join_next().await.is_some() {}
    }
}

/// The scheduler: enqueues each due tick once, then sleeps until the next tick of any job.
async fn schedule(shared: Arc<Shared>, mut stop: watch::Receiver<bool>) {
    let started = shared.clock.now_ms();
    let schedules: Vec<(Arc<Tenant>, &'static str, Cron)> = shared
        .tenants
        .iter()
        .flat_map(|t| {
            t.config
                .schedule
                .jobs
                .iter()
                .filter_map(|j| Some((t.clone(), j.name, j.expression.parse::<Cron>().ok()?)))
                .collect::<Vec<_>>()
        })
        .collect();
    loop {
        let now = shared.clock.now_ms();
        let mut wake = i64::MAX;
        for (tenant, name, cron) in &schedules {
            let last = match with_queue(&shared.queue, |q| q.last_scheduled(tenant.id(), name)) {
                Ok(last) => last,
                Err(e) => {
                    tracing::error!(tenant = tenant.id(), job = name, error = %e, "cannot read the job queue");
                    continue;
                }
            };
            let after = match last {
                Some(l) => l,
                None if CATCH_UP_ON_FIRST_START.contains(name) => now - FIRST_START_LOOKBACK_MS,
                None => started - 1,
            };
            if let Some(tick) = ticks::latest_due(cron, after, now) {
                let key = JobKey {
                    tenant: tenant.id().to_string(),
                    kind: (*name).to_string(),
                    scheduled_for_ms: tick,
                };
                if let Err(e) = shared.enqueue(&key) {
                    tracing::error!(tenant = tenant.id(), job = name, error = %e, "cannot enqueue");
                }
            }
            if let Some(next) = ticks::next_after(cron, now) {
                wake = wake.min(next);
            }
        }
        shared.ready.store(true, Ordering::SeqCst);
        tokio::select! {
            _ = shared.clock.sleep_until(wake) => {}
            _ = stop.wait_for(|s| *s) => return,
        }
    }
}

/// A worker: claims the earliest due job, runs it under a renewed lease, records how it ended.
async fn work(shared: Arc<Shared>, worker: String, mut stop: watch::Receiver<bool>) {
    let mut enqueued = shared.enqueued.subscribe();
    loop {
        if *stop.borrow() {
            return;
        }
        let now = shared.clock.now_ms();
        let claimed = with_queue(&shared.queue, |q| {
            q.claim(&worker, &[], now, shared.lease_ms)
        });
        match claimed {
            Ok(Some(job)) => run(&shared, &worker, job, &mut stop).await,
            Ok(None) => {
                tokio::select! {
                    _ = enqueued.changed() => {}
                    _ = shared.clock.sleep_until(now.saturating_add(shared.poll_ms)) => {}
                    _ = stop.wait_for(|s| *s) => return,
                }
            }
            Err(e) => {
                tracing::error!(worker, error = %e, "cannot claim from the job queue");
                tokio::select! {
                    _ = shared.clock.sleep_until(now.saturating_add(shared.poll_ms)) => {}
                    _ = stop.wait_for(|s| *s) => return,
                }
            }
        }
    }
}

async fn run(shared: &Shared, worker: &str, job: JobRow, stop: &mut watch::Receiver<bool>) {
    let key = job.key.clone();
    let labels = Metrics::job(&key.tenant, &key.kind);
    let started = shared.clock.now_ms();
    shared
        .metrics
        .schedule_lag
        .get_or_create(&labels)
        .set((started - key.scheduled_for_ms).max(0) as f64 / 1000.0);
    shared.metrics.jobs_running.get_or_create(&labels).inc();
    tracing::info!(
        job = job.id,
        tenant = key.tenant,
        kind = key.kind,
        attempt = job.attempts,
        "job started"
    );
    let renew = async {
        loop {
            let at = shared.clock.now_ms().saturating_add(shared.lease_ms / 3);
            shared.clock.sleep_until(at).await;
            let now = shared.clock.now_ms();
            let held = with_queue(&shared.queue, |q| {
                q.renew(job.id, worker, now, shared.lease_ms)
            });
            if !matches!(held, Ok(true)) {
                return;
            }
        }
    };
    let (end, summary) = match shared.tenant(&key.tenant).cloned() {
        None => {
            let why = format!(
                "tenant {} is not in this instance's configuration",
                key.tenant
            );
            finish(shared, worker, &job, Err(why))
        }
        Some(tenant) => {
            let work = contained(jobs::execute(&tenant, &key.kind, started, &shared.metrics));
            tokio::select! {
                result = work => finish(shared, worker, &job, result),
                () = renew => (RunEnd::LeaseLost, "the lease was lost (cancelled, or taken over); this run's result is not recorded".to_string()),
                _ = stop.wait_for(|s| *s) => {
                    let _ = with_queue(&shared.queue, |q| q.release(job.id, worker));
                    (RunEnd::Released, "given back to the queue at shutdown".to_string())
                }
            }
        }
    };
    let elapsed = (shared.clock.now_ms() - started).max(0) as f64 / 1000.0;
    shared.metrics.jobs_running.get_or_create(&labels).dec();
    shared
        .metrics
        .job_duration
        .get_or_create(&labels)
        .observe(elapsed);
    shared
        .metrics
        .job_runs
        .get_or_create(&RunLabels {
            tenant: key.tenant.clone(),
            kind: key.kind.clone(),
            outcome: end.as_str().to_string(),
        })
        .inc();
    match end {
        RunEnd::Done => tracing::info!(
            job = job.id,
            tenant = key.tenant,
            kind = key.kind,
            summary,
            "job done"
        ),
        _ => tracing::warn!(
            job = job.id,
            tenant = key.tenant,
            kind = key.kind,
            end = end.as_str(),
            summary,
            "job ended"
        ),
    }
    let _ = shared.events.send(JobEvent {
        id: job.id,
        key,
        end,
        summary,
    });
}

/// Records the result unless the lease is no longer this worker's.
fn finish(
    shared: &Shared,
    worker: &str,
    job: &JobRow,
    result: Result<String, String>,
) -> (RunEnd, String) {
    let (end, summary, outcome) = match result {
        Ok(s) => (RunEnd::Done, s, JobOutcome::Done),
        Err(e) => (RunEnd::Failed, e.clone(), JobOutcome::Failed(e)),
    };
    let now = shared.clock.now_ms();
    match with_queue(&shared.queue, |q| q.finish(job.id, worker, &outcome, now)) {
        Ok(true) => (end, summary),
        Ok(false) => (
            RunEnd::LeaseLost,
            format!("{summary} (not recorded: the lease was no longer this worker's)"),
        ),
        Err(e) => (RunEnd::Failed, format!("{summary} (not recorded: {e})")),
    }
}

/// A job's run with a panic turned into its failure: the worker lives on to run the next job and
/// the job ends failed with the panic's message, instead of staying claimed until its lease runs
/// out and taking the next worker down with it.
async fn contained(
    work: impl std::future::Future<Output = Result<String, String>>,
) -> Result<String, String> {
    use futures::FutureExt;
    std::panic::AssertUnwindSafe(work)
        .catch_unwind()
        .await
        .unwrap_or_else(|panic| {
            let what = panic
                .downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| panic.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "no message".into());
            Err(format!(
                "the job stopped on an internal error ({what}); this is a bug in ppgov: please report it with this message"
            ))
        })
}

#[cfg(test)]
mod tests {
    use super::contained;

    #[tokio::test]
    async fn a_panicking_job_ends_failed_with_its_message() {
        let r = contained(async {
            let v: Vec<u8> = Vec::new();
            // An index out of bounds, as a bug would make.
            Ok(format!("{}", v[usize::from(v.is_empty())]))
        })
        .await;
        let e = r.unwrap_err();
        assert!(e.contains("index out of bounds"), "{e}");
        assert!(e.contains("bug in ppgov"), "{e}");
        assert_eq!(
            contained(async { Ok("done".into()) }).await.unwrap(),
            "done"
        );
    }
}
