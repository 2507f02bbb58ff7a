//! Prometheus metrics of `ppgov serve`, served as text at `/metrics`.

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

/// A job's tenant and kind.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct JobLabels {
    /// Tenant id.
    pub tenant: String,
    /// Job kind.
    pub kind: String,
}

/// A job run's tenant, kind and how it ended (`done`, `failed`, `lease_lost`, `released`).
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct RunLabels {
    /// Tenant id.
    pub tenant: String,
    /// Job kind.
    pub kind: String,
    /// How it ended.
    pub outcome: String,
}

/// A tenant.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct TenantLabels {
    /// Tenant id.
    pub tenant: String,
}

/// A tenant and a severity.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct SeverityLabels {
    /// Tenant id.
    pub tenant: String,
    /// `critical`, `high`, `medium`, `low` or `info`.
    pub severity: String,
}

/// Every metric, registered once.
pub struct Metrics {
    registry: Registry,
    /// Job runs by how they ended.
    pub job_runs: Family<RunLabels, Counter>,
    /// Job run durations (seconds).
    pub job_duration: Family<JobLabels, Histogram>,
    /// How late the last run started after its scheduled tick (seconds).
    pub schedule_lag: Family<JobLabels, Gauge<f64, std::sync::atomic::AtomicU64>>,
    /// Jobs running now.
    pub jobs_running: Family<JobLabels, Gauge>,
    /// API requests sent by jobs (retries included), by the job kind that sent them (a crawl
    /// reads every API family).
    pub api_requests: Family<JobLabels, Counter>,
    /// API responses that were throttled (429 or AF429).
    pub api_throttled: Family<JobLabels, Counter>,
    /// Findings of the latest scan, by severity (suppressed ones excluded).
    pub findings: Family<SeverityLabels, Gauge>,
    /// Rules the latest scan could not evaluate (inputs not collected).
    pub rules_errored: Family<TenantLabels, Gauge>,
    /// Alerts in the store.
    pub alerts: Family<TenantLabels, Gauge>,
    /// Audit events stored by this instance's ingestion jobs (duplicates excluded).
    pub audit_events_stored: Family<TenantLabels, Counter>,
    /// Bytes of the tenant's store file.
    pub store_bytes: Family<TenantLabels, Gauge>,
    /// Jobs enqueued by this instance's scheduler.
    pub jobs_enqueued: Family<JobLabels, Counter>,
}

impl Default for Metrics {
    fn default() -> Self {
        Metrics::new()
    }
}

impl Metrics {
    /// Registers every metric under the `ppgov` prefix.
    pub fn new() -> Metrics {
        let mut registry = Registry::with_prefix("ppgov");
        let job_runs = Family::<RunLabels, Counter>::default();
        registry.register("job_runs", "Job runs by how they ended", job_runs.clone());
        let job_duration = Family::<JobLabels, Histogram>::new_with_constructor(|| {
            Histogram::new(exponential_buckets(0.5, 2.0, 14))
        });
        registry.register(
            "job_duration_seconds",
            "Job run durations",
            job_duration.clone(),
        );
        let schedule_lag = Family::default();
        registry.register(
            "schedule_lag_seconds",
            "How late the last run of a job started after its tick",
            schedule_lag.clone(),
        );
        let jobs_running = Family::default();
        registry.register("jobs_running", "Jobs running now", jobs_running.clone());
        let api_requests = Family::default();
        registry.register(
            "api_requests",
            "API requests sent by jobs, retries included",
            api_requests.clone(),
        );
        let api_throttled = Family::default();
        registry.register(
            "api_throttled",
            "API responses that were throttled (429 or AF429)",
            api_throttled.clone(),
        );
        let findings = Family::default();
        registry.register(
            "findings",
            "Findings of the latest scan by severity",
            findings.clone(),
        );
        let rules_errored = Family::default();
        registry.register(
            "rules_errored",
            "Rules the latest scan could not evaluate",
            rules_errored.clone(),
        );
        let alerts = Family::default();
        registry.register("alerts", "Alerts in the store", alerts.clone());
        let audit_events_stored = Family::default();
        registry.register(
            "audit_events_stored",
            "Audit events stored by this instance's ingestion jobs",
            audit_events_stored.clone(),
        );
        let store_bytes = Family::default();
        registry.register(
            "store_bytes",
            "Bytes of the tenant's store file",
            store_bytes.clone(),
        );
        let jobs_enqueued = Family::default();
        registry.register(
            "jobs_enqueued",
            "Scheduled runs this instance enqueued (each tick exists once across instances)",
            jobs_enqueued.clone(),
        );
        Metrics {
            registry,
            job_runs,
            job_duration,
            schedule_lag,
            jobs_running,
            api_requests,
            api_throttled,
            findings,
            rules_errored,
            alerts,
            audit_events_stored,
            store_bytes,
            jobs_enqueued,
        }
    }

    /// The text exposition format.
    pub fn encode(&self) -> String {
        let mut out = String::new();
        // Writing to a String cannot fail.
        let _ = prometheus_client::encoding::text::encode(&mut out, &self.registry);
        out
    }

    /// Labels of a job.
    pub fn job(tenant: &str, kind: &str) -> JobLabels {
        JobLabels {
            tenant: tenant.to_string(),
            kind: kind.to_string(),
        }
    }

    /// Labels of a tenant.
    pub fn tenant(tenant: &str) -> TenantLabels {
        TenantLabels {
            tenant: tenant.to_string(),
        }
    }
}
