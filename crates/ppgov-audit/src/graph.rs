//! The Microsoft Graph audit log query source (`AUDIT-LOGS.md` §3): create a query over a time
//! range, poll it until it succeeds, read its records page by page (`@odata.nextLink`). Each
//! `auditLogRecord`'s `auditData` is the raw UAL record, normalised like any other. Purview keeps
//! far more than the Management API's 7 days, so this is how history is back-filled.

use crate::AuditError;
use crate::ingest::{IngestOutcome, Ingestor};
use chrono::{DateTime, Utc};
use ppgov_client::{Request, Transport};
use ppgov_store::EventStore;
use serde_json::{Value, json};
use std::time::Duration;
use url::Url;

/// Record types queried by default: every Power Platform family plus Entra (invitations and
/// consents the detections read).
pub const DEFAULT_RECORD_TYPES: &[&str] = &[
    "microsoftFlow",
    "powerAppsApp",
    "powerAppsResource",
    "powerPlatformAdminDlp",
    "powerPlatformAdministratorActivity",
    "crm",
    "azureActiveDirectory",
];

/// Settings of a Graph audit query ingest.
#[derive(Debug, Clone)]
pub struct GraphOptions {
    /// `auditLogRecordType` names.
    pub record_types: Vec<String>,
    /// Wait between status polls.
    pub poll_interval: Duration,
    /// Give up after this many polls.
    pub max_polls: u32,
}

impl Default for GraphOptions {
    fn default() -> Self {
        GraphOptions {
            record_types: DEFAULT_RECORD_TYPES.iter().map(|s| s.to_string()).collect(),
            poll_interval: Duration::from_secs(10),
            max_polls: 360,
        }
    }
}

/// What a Graph query ingest did.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct GraphOutcome {
    /// Records, stored, duplicates, malformed.
    #[serde(flatten)]
    pub ingest: IngestOutcome,
    /// The query id.
    pub query_id: String,
    /// Status polls made.
    pub polls: u32,
    /// Record pages read.
    pub pages: usize,
}

fn api(e: impl std::fmt::Display) -> AuditError {
    AuditError::Output(format!("Graph audit log query: {e}"))
}

/// Queries `[start, end)` and stores the records.
pub async fn ingest<S: EventStore + ?Sized>(
    t: &Transport,
    graph: &Url,
    scope: &str,
    store: &mut S,
    start: DateTime<Utc>,
    end: DateTime<Utc>,
    opts: &GraphOptions,
) -> Result<GraphOutcome, AuditError> {
    let base = graph.as_str().trim_end_matches('/').to_string();
    let url = |p: &str| Url::parse(&format!("{base}{p}")).map_err(api);
    let body = json!({
        "displayName": format!("ppgov audit ingest {}", start.format("%Y-%m-%d")),
        "filterStartDateTime": start.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        "filterEndDateTime": end.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        "recordTypeFilters": opts.record_types,
    });
    let req = Request::post(url("/v1.0/security/auditLog/queries")?, scope).json(&body)?;
    let created: Value = t.send_json(req).await?;
    let id = created
        .get("id")
        .and_then(Value::as_str)
        .ok_or_else(|| api("the created query has no id"))?
        .to_string();
    let mut out = GraphOutcome {
        query_id: id.clone(),
        ..GraphOutcome::default()
    };
    let status_url = url(&format!("/v1.0/security/auditLog/queries/{id}"))?;
    loop {
        let q: Value = t.get_json(status_url.clone(), scope).await?;
        out.polls += 1;
        match q.get("status").and_then(Value::as_str) {
            Some("succeeded") => break,
            Some("failed" | "cancelled") => {
                return Err(api(format!(
                    "query {id} ended {}; run the ingest again",
                    q["status"]
                )));
            }
            _ if out.polls >= opts.max_polls => {
                return Err(api(format!(
                    "query {id} did not finish after {} polls; run the ingest again later",
                    out.polls
                )));
            }
            _ => tokio::time::sleep(opts.poll_interval).await,
        }
    }
    let mut next = Some(url(&format!(
        "/v1.0/security/auditLog/queries/{id}/records"
    ))?);
    let mut n = 0usize;
    while let Some(u) = next.take() {
        let page: Value = t.get_json(u, scope).await?;
        out.pages += 1;
        let mut ing = Ingestor::new(&mut *store);
        for r in page
            .get("value")
            .and_then(Value::as_array)
            .map(Vec::as_slice)
            .unwrap_or_default()
        {
            let pos = format!("graph query {id} record #{n}");
            n += 1;
            match r.get("auditData") {
                Some(a) if a.is_object() => ing.push(pos, Ok(a.to_string()))?,
                _ => ing.push(pos, Err("the record has no auditData object".into()))?,
            }
        }
        out.ingest.add(ing.finish()?);
        if let Some(l) = page.get("@odata.nextLink").and_then(Value::as_str) {
            let l = Url::parse(l).map_err(api)?;
            if l.origin() != graph.origin() {
                return Err(api(format!(
                    "nextLink {l} leaves {}",
                    graph.origin().ascii_serialization()
                )));
            }
            next = Some(l);
        }
    }
    Ok(out)
}
