//! The Office 365 Management Activity API source (`AUDIT-LOGS.md` §1).
//!
//! One run: make sure the subscription to the content type is enabled (start it when it is not,
//! never twice within the 15 minutes the API requires between starts), then list content from the
//! cursor (or the oldest the API keeps: 7 days) to now in windows of at most 24 hours, following
//! `NextPageUri` (the client does), fetch the blobs with bounded concurrency, and store their
//! records. Throttling (429, 403 `AF429`) is retried with back-off by the transport. The cursor
//! of a window is advanced only after every blob of that window is stored, so a run killed at any
//! point re-reads at most one window, and de-duplication on `Id` keeps every event exactly once.

use crate::AuditError;
use crate::ingest::{IngestOutcome, Ingestor};
use chrono::{DateTime, Duration, Utc};
use futures::StreamExt;
use ppgov_client::clients::management::ManagementClient;
use ppgov_model::management::{ContentBlob, Subscription};
use ppgov_store::EventStore;
use serde_json::value::RawValue;

/// The API keeps content this long.
const RETENTION: Duration = Duration::days(7);
/// Margin kept from the 7-day edge so a window never starts outside it.
const EDGE: Duration = Duration::minutes(5);
/// Wait the API requires between two starts of a subscription.
const START_GAP_MS: i64 = 15 * 60_000;

/// Settings of a Management API ingest.
#[derive(Debug, Clone)]
pub struct ManagementOptions {
    /// Content type (`Audit.General` holds Power Platform).
    pub content_type: String,
    /// Blobs fetched at once.
    pub concurrency: usize,
    /// Stop after this many blobs (a bounded run; the cursor stays before the unfinished window).
    pub max_blobs: Option<usize>,
}

impl Default for ManagementOptions {
    fn default() -> Self {
        ManagementOptions {
            content_type: ppgov_model::management::content_type::GENERAL.to_string(),
            concurrency: 4,
            max_blobs: None,
        }
    }
}

/// What a Management API run did.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct ManagementOutcome {
    /// Records, stored, duplicates, malformed.
    #[serde(flatten)]
    pub ingest: IngestOutcome,
    /// Content blobs fetched.
    pub blobs: usize,
    /// Windows completed (cursor advanced).
    pub windows: usize,
    /// Whether the subscription was started by this run.
    pub started_subscription: bool,
    /// The cursor after the run (RFC 3339).
    pub cursor: Option<String>,
    /// True when `max_blobs` stopped the run early.
    pub stopped_early: bool,
}

fn cursor_key(ct: &str) -> String {
    format!("mgmt.cursor.{ct}")
}

/// Runs one ingest from the Management Activity API into `store`, as of `now`.
pub async fn ingest<S: EventStore + ?Sized>(
    client: &ManagementClient,
    store: &mut S,
    opts: &ManagementOptions,
    now: DateTime<Utc>,
) -> Result<ManagementOutcome, AuditError> {
    let ct = opts.content_type.as_str();
    // The API takes whole seconds: work in them, so a window is never empty.
    let now = DateTime::from_timestamp(now.timestamp(), 0).unwrap_or(now);
    let mut out = ManagementOutcome::default();
    let subs: Vec<Subscription> = client.list_subscriptions().await?;
    let enabled = subs
        .iter()
        .any(|s| s.content_type.eq_ignore_ascii_case(ct) && s.is_enabled());
    if !enabled {
        let key = format!("mgmt.started.{ct}");
        let last: Option<i64> = store.state(&key)?.and_then(|v| v.parse().ok());
        if last.is_some_and(|l| now.timestamp_millis() - l < START_GAP_MS) {
            return Err(AuditError::Output(format!(
                "the {ct} subscription was started less than 15 minutes ago and is still not enabled; wait and run again"
            )));
        }
        let _: Subscription = client.start_subscription(ct).await?;
        store.set_state(&key, &now.timestamp_millis().to_string())?;
        out.started_subscription = true;
        tracing::info!(content_type = ct, "started the audit subscription");
    }
    let oldest = now - RETENTION + EDGE;
    let from = store
        .state(&cursor_key(ct))?
        .and_then(|v| v.parse::<i64>().ok())
        .and_then(DateTime::from_timestamp_millis)
        .map_or(oldest, |c| c.max(oldest));
    let mut from = DateTime::from_timestamp(from.timestamp(), 0).unwrap_or(from);
    let mut fetched = 0usize;
    while from + Duration::seconds(1) <= now {
        let to = (from + Duration::hours(24)).min(now);
        let mut listing = client.list_content::<ContentBlob>(ct, from, to);
        let mut blobs = Vec::new();
        while let Some(b) = listing.next().await {
            blobs.push(b?);
        }
        let mut budget_hit = false;
        if let Some(max) = opts.max_blobs {
            let left = max.saturating_sub(fetched);
            if blobs.len() > left {
                blobs.truncate(left);
                budget_hit = true;
            }
        }
        let mut results = futures::stream::iter(blobs.into_iter().map(|b| async move {
            let recs = client.fetch_blob::<Box<RawValue>>(&b.content_uri).await;
            (b.content_id, recs)
        }))
        .buffer_unordered(opts.concurrency.max(1));
        let mut ing = Ingestor::new(&mut *store);
        while let Some((id, recs)) = results.next().await {
            let recs = recs?;
            for (i, r) in recs.iter().enumerate() {
                ing.push(format!("blob {id} #{i}"), Ok(r.get().to_string()))?;
            }
            ing.flush()?;
            fetched += 1;
            out.blobs += 1;
        }
        out.ingest.add(ing.finish()?);
        if budget_hit {
            out.stopped_early = true;
            break;
        }
        store.set_state(&cursor_key(ct), &to.timestamp_millis().to_string())?;
        out.windows += 1;
        from = to;
    }
    out.cursor = store
        .state(&cursor_key(ct))?
        .and_then(|v| v.parse::<i64>().ok())
        .and_then(DateTime::from_timestamp_millis)
        .map(|d| d.to_rfc3339());
    Ok(out)
}
