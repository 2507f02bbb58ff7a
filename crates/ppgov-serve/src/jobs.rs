//! What each job kind does. A job returns a one-line summary when it did its work, or the reason
//! it failed, with what to do; either way what it stored stays stored.
//!
//! - `crawl` / `full_crawl`: an incremental (or full) crawl, resumed from its checkpoints when an
//!   unfinished snapshot is there (a job taken over from a killed instance), then a scan of the
//!   new snapshot, saved, with its diff against the previous scan. A crawl that could not
//!   collect everything fails the job (fail closed) after storing what it read.
//! - `audit`: ingestion from the Office 365 Management Activity API, then the detections over
//!   the new events, and new incidents told through the `[notify]` sinks.
//! - `due`: `apply --due` (elevation expiries, grace periods ended).
//! - `digest`: the latest scan's notification digests, when `[notify]` has a sink.

use crate::metrics::{Metrics, SeverityLabels};
use crate::tenant::Tenant;
use chrono::{DateTime, Utc};
use ppgov_audit::detect::Engine;
use ppgov_audit::management::{self, ManagementOptions};
use ppgov_crawl::CrawlOptions;
use ppgov_engine::ScanOptions;
use ppgov_store::{SnapshotId, Snapshots};

/// The job kinds, as `[schedule]` names them.
pub const KINDS: &[&str] = &["crawl", "full_crawl", "audit", "due", "digest"];

/// Runs one job of `kind` for `tenant` at `now_ms`.
pub async fn execute(
    tenant: &Tenant,
    kind: &str,
    now_ms: i64,
    metrics: &Metrics,
) -> Result<String, String> {
    let now = DateTime::from_timestamp_millis(now_ms).unwrap_or_else(Utc::now);
    let out = match kind {
        "crawl" => crawl(tenant, false, metrics).await,
        "full_crawl" => crawl(tenant, true, metrics).await,
        "audit" => audit(tenant, now, metrics).await,
        "due" => due(tenant, now).await,
        "digest" => digest(tenant).await,
        other => Err(format!(
            "unknown job kind `{other}`; known kinds: {}",
            KINDS.join(", ")
        )),
    };
    observe_store(tenant, metrics);
    out
}

fn count_api(tenant: &Tenant, kind: &str, requests: u64, throttled: u64, metrics: &Metrics) {
    let l = Metrics::job(tenant.id(), kind);
    metrics.api_requests.get_or_create(&l).inc_by(requests);
    metrics.api_throttled.get_or_create(&l).inc_by(throttled);
}

/// The store file's size (cheap: one `stat`; the event and alert figures come from the audit
/// job, the only one that changes them).
fn observe_store(tenant: &Tenant, metrics: &Metrics) {
    if let Ok(meta) = std::fs::metadata(&tenant.config.store.path) {
        metrics
            .store_bytes
            .get_or_create(&Metrics::tenant(tenant.id()))
            .set(i64::try_from(meta.len()).unwrap_or(i64::MAX));
    }
}

async fn crawl(tenant: &Tenant, full: bool, metrics: &Metrics) -> Result<String, String> {
    let _one_crawl = tenant.crawl_lock.lock().await;
    let conn = tenant.connection()?;
    let id = tenant.id().to_string();
    let store = tenant.snapshots()?;
    let resume = store
        .unfinished_snapshot(&id)
        .map_err(|e| e.to_string())?
        .is_some();
    let opts = CrawlOptions {
        resume,
        full: full && !resume,
        max_age: tenant.config.crawl.max_age,
        groups: tenant
            .config
            .posture
            .approved_makers_group
            .iter()
            .cloned()
            .collect(),
        ..CrawlOptions::default()
    };
    let kind = if full { "full_crawl" } else { "crawl" };
    let (summary, store) = boxed_crawl(conn.clients.clone(), store, id.clone(), opts)
        .await
        .map_err(|e| format!("crawl failed: {e}"))?;
    count_api(tenant, kind, summary.requests, summary.throttled, metrics);
    let scanned = scan(tenant, store.as_ref(), &summary.snapshot_id, metrics)?;
    let text = format!(
        "snapshot {} ({}{}), {} requests; {scanned}",
        summary.snapshot_id.as_str(),
        summary.kind.as_str(),
        if resume { ", resumed" } else { "" },
        summary.requests,
    );
    if summary.failures.is_empty() {
        Ok(text)
    } else {
        Err(format!(
            "incomplete crawl: {} part(s) not collected ({}); {text}; rules that need them report errors",
            summary.failures.len(),
            summary.failures.join("; ")
        ))
    }
}

type CrawlFuture = std::pin::Pin<
    Box<
        dyn std::future::Future<
                Output = Result<
                    (ppgov_crawl::CrawlSummary, Box<dyn Snapshots>),
                    ppgov_crawl::CrawlError,
                >,
            > + Send,
    >,
>;

/// The crawl as a boxed `Send` future: the compiler proves it `Send` here, where every lifetime
/// is concrete, which it cannot do through the worker's generic spawn.
fn boxed_crawl(
    clients: ppgov_client::Clients,
    store: Box<dyn Snapshots>,
    tenant: String,
    opts: CrawlOptions,
) -> CrawlFuture {
    Box::pin(async move { ppgov_crawl::crawl(clients, store, &tenant, opts).await })
}

/// Scans a snapshot, saves the scan and returns its summary with the diff against the
/// previous scan.
fn scan(
    tenant: &Tenant,
    store: &dyn Snapshots,
    snapshot: &SnapshotId,
    metrics: &Metrics,
) -> Result<String, String> {
    let id = tenant.id();
    let snap = store.load_snapshot(snapshot).map_err(|e| e.to_string())?;
    let mut records = tenant.records()?;
    let posture =
        crate::judging_posture(&tenant.config, records.as_ref()).map_err(|e| e.to_string())?;
    let report = ppgov_engine::scan(&snap, &posture, &ScanOptions::default());
    let previous = records.previous_scan(id, None).map_err(|e| e.to_string())?;
    records
        .save_scan(snapshot, &report)
        .map_err(|e| format!("cannot save the scan: {e}"))?;
    for severity in ["critical", "high", "medium", "low", "info"] {
        let n = report
            .summary
            .by_severity
            .get(severity)
            .copied()
            .unwrap_or(0);
        metrics
            .findings
            .get_or_create(&SeverityLabels {
                tenant: id.to_string(),
                severity: severity.to_string(),
            })
            .set(i64::try_from(n).unwrap_or(i64::MAX));
    }
    metrics
        .rules_errored
        .get_or_create(&Metrics::tenant(id))
        .set(i64::try_from(report.summary.rules_errored).unwrap_or(i64::MAX));
    let diff = match previous {
        Some(p) => {
            let d = ppgov_report::diff(&p, &report);
            format!("{} new, {} resolved", d.new.len(), d.resolved.len())
        }
        None => "first scan".to_string(),
    };
    Ok(format!(
        "scan: {} findings ({diff}), {} rules errored",
        report.summary.total, report.summary.rules_errored
    ))
}

async fn audit(tenant: &Tenant, now: DateTime<Utc>, metrics: &Metrics) -> Result<String, String> {
    let conn = tenant.connection()?;
    let detections = tenant.detections()?.clone();
    let mut store = tenant.events()?;
    let client = conn
        .clients
        .management(tenant.id(), None)
        .map_err(|e| e.to_string())?;
    let before = conn.clients.transport.counters();
    let out = management::ingest(&client, store.as_mut(), &ManagementOptions::default(), now)
        .await
        .map_err(|e| format!("audit ingestion failed: {e}"))?;
    let after = conn.clients.transport.counters();
    count_api(
        tenant,
        "audit",
        after.requests.saturating_sub(before.requests),
        after.throttled.saturating_sub(before.throttled),
        metrics,
    );
    let t = Metrics::tenant(tenant.id());
    metrics
        .audit_events_stored
        .get_or_create(&t)
        .inc_by(u64::try_from(out.ingest.stored).unwrap_or(u64::MAX));
    let (alerts, processed) = {
        let mut engine = Engine::resume(detections, store.as_ref()).map_err(|e| e.to_string())?;
        let alerts = engine.run(store.as_mut()).map_err(|e| e.to_string())?;
        (alerts, engine.processed)
    };
    if let Ok(all) = store.alerts(None, None) {
        metrics
            .alerts
            .get_or_create(&t)
            .set(i64::try_from(all.len()).unwrap_or(i64::MAX));
    }
    let mut text = format!(
        "{} events stored ({} duplicates) from {} blobs; detections over {processed} events: {} alerts created or extended",
        out.ingest.stored,
        out.ingest.duplicates,
        out.blobs,
        alerts.len()
    );
    if let Some(n) = tenant.notifier()? {
        let d = ppgov_audit::alerting::deliver(
            store.as_mut(),
            &alerts,
            &tenant.config.notify.it_recipients,
            n,
        )
        .await
        .map_err(|e| e.to_string())?;
        text.push_str(&format!("; {} incident(s) told", d.told.len()));
        if !d.failed.is_empty() {
            return Err(format!(
                "{text}; {} delivery(ies) failed ({}); the incidents are retried by the next run",
                d.failed.len(),
                d.failed.join("; ")
            ));
        }
    }
    Ok(text)
}

async fn due(tenant: &Tenant, now: DateTime<Utc>) -> Result<String, String> {
    let records = tenant.records()?;
    if ppgov_act::due::admitted(&tenant.config, records.as_ref(), now)
        .map_err(|e| e.to_string())?
        .is_empty()
    {
        return Ok("nothing due".into());
    }
    let conn = tenant.connection()?;
    let scope = tenant.config.endpoints().scopes.powerapps.clone();
    let me = ppgov_act::whoami(conn.tokens.as_ref(), &scope)
        .await
        .map_err(|e| e.to_string())?;
    let opts = ppgov_act::ApplyOptions {
        actor: me.to_actor(),
        concurrency: tenant.config.remediation.concurrency,
        ..Default::default()
    };
    let run = ppgov_act::due::run(&tenant.config, &conn.clients, opts, now, records)
        .await
        .map_err(|e| e.to_string())?;
    let steps: usize = run.applied.iter().map(|(_, r)| r.steps.len()).sum();
    let text = format!("{} due action(s), {steps} step(s)", run.applied.len());
    if run.failed() {
        Err(format!(
            "{text}; a due action failed; it stays due and runs again at the next tick"
        ))
    } else {
        Ok(text)
    }
}

async fn digest(tenant: &Tenant) -> Result<String, String> {
    let Some(notifier) = tenant.notifier()? else {
        return Ok("no [notify] sink configured: nothing sent".into());
    };
    let store = tenant.snapshots()?;
    let Some(info) = store
        .latest_snapshot(tenant.id(), true)
        .map_err(|e| e.to_string())?
    else {
        return Err("no complete snapshot yet: the digest waits for the first crawl".into());
    };
    let snapshot = store.load_snapshot(&info.id).map_err(|e| e.to_string())?;
    // The scan the crawl job saved; judged again only when none was saved.
    let records = tenant.records()?;
    let report = match records
        .previous_scan(tenant.id(), None)
        .map_err(|e| e.to_string())?
    {
        Some(r) if r.snapshot_id == info.id.0 => r,
        _ => {
            let posture = crate::judging_posture(&tenant.config, records.as_ref())
                .map_err(|e| e.to_string())?;
            ppgov_engine::scan(&snapshot, &posture, &ScanOptions::default())
        }
    };
    let prepared = ppgov_act::notices::prepare(
        &snapshot,
        &report.findings,
        &[],
        &tenant.config.notify,
        None,
        None,
    )
    .await;
    let outcomes = notifier.send_all(&prepared.digests).await;
    let failed: Vec<String> = outcomes
        .iter()
        .filter_map(|o| {
            o.result
                .as_ref()
                .err()
                .map(|e| format!("{} via {}: {e}", o.recipient, o.sink))
        })
        .collect();
    let text = format!("{} digest(s) sent", outcomes.len() - failed.len());
    if failed.is_empty() {
        Ok(text)
    } else {
        Err(format!(
            "{text}; {} failed: {}",
            failed.len(),
            failed.join("; ")
        ))
    }
}

/// The queue as a table for `ppgov jobs list` (times in UTC).
pub fn table(jobs: &[ppgov_store::JobRow], width: Option<u16>) -> String {
    let time = |ms: Option<i64>| {
        ms.and_then(DateTime::from_timestamp_millis)
            .map(|t| t.format("%Y-%m-%d %H:%M:%S").to_string())
            .unwrap_or_default()
    };
    let rows: Vec<Vec<String>> = jobs
        .iter()
        .map(|j| {
            vec![
                j.id.to_string(),
                j.key.kind.clone(),
                time(Some(j.key.scheduled_for_ms)),
                j.state.as_str().to_string(),
                j.attempts.to_string(),
                time(j.finished_ms),
                j.error.clone().unwrap_or_default(),
            ]
        })
        .collect();
    let header = [
        "id", "kind", "tick", "state", "attempts", "finished", "error",
    ];
    format!(
        "{}{} job(s)\n",
        ppgov_report::grid(&header, &rows, width),
        jobs.len()
    )
}
