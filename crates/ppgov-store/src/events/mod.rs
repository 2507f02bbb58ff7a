//! The audit event store: append-only, de-duplicated on the record `Id`, partitioned by month,
//! hash-chained per batch.
//!
//! Every month of event time has its own partition (in SQLite a table `audit_events_YYYYMM`), so
//! retention drops whole months. Each [`EventStore::append`] is one batch: one transaction that inserts the events not
//! yet stored (the `Id` is the primary key of its month's table), gives them consecutive
//! sequence numbers, and writes one `audit_batches` row whose hash covers the previous batch's
//! hash, the batch's metadata and one digest per month part (`audit_batch_parts`), each digest
//! covering its events in sequence order. [`EventStore::verify`] recomputes everything, so a
//! modified, deleted, inserted or reordered event breaks its part's digest, and a changed or
//! removed batch row breaks the chain. A prune is itself a batch (`kind = prune`) that names the
//! months it dropped; the parts of dropped months are then trusted as recorded (they are still
//! chained), everything else is recomputed.
//!
//! The store is behind the [`EventStore`] trait so another backend (PostgreSQL, server mode) can
//! hold the same events with the same semantics.
//!
//! `chain.rs` holds what both backends share: the part digests, the batch hash and the
//! verification of a chain from the rows a backend read; `sqlite.rs` is the SQLite backend; the
//! PostgreSQL one is `ppgov_store_pg::PgEventStore`.

pub mod chain;
mod sqlite;

pub use chain::month_of;

use crate::StoreError;
use serde::{Deserialize, Serialize};

/// One normalised audit event as the store keeps it.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct EventRow {
    /// Store sequence number (0 until stored).
    #[serde(default)]
    pub seq: i64,
    /// The record `Id` (de-duplication key).
    pub id: String,
    /// Event time, milliseconds since the Unix epoch (UTC).
    pub time_ms: i64,
    /// `RecordType`.
    pub record_type: i64,
    /// `Operation`.
    pub operation: String,
    /// `Workload`.
    pub workload: String,
    /// Actor (UPN, lower case) or empty.
    pub actor: String,
    /// Environment id or empty.
    pub environment_id: String,
    /// Kind of the resource acted on (`flow`, `app`, `connection`, `dlp_policy`, ...) or empty.
    pub resource_kind: String,
    /// Resource id or empty.
    pub resource_id: String,
    /// Client IP or empty.
    pub client_ip: String,
    /// Operation risk level (`low`, `medium`, `high`).
    pub risk: String,
    /// Detection-relevant attributes, a compact JSON object of strings.
    pub attrs: String,
    /// The record exactly as received.
    pub raw: String,
}

/// What one append did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
pub struct AppendOutcome {
    /// Events newly stored.
    pub stored: usize,
    /// Events whose `Id` was already stored (skipped).
    pub duplicates: usize,
    /// The batch's sequence number (0 when nothing was new and no batch was written).
    pub batch: i64,
}

/// Filters for [`EventStore::search`]; empty fields match everything.
#[derive(Debug, Clone, Default)]
pub struct EventFilter {
    /// Earliest event time (ms, inclusive).
    pub since_ms: Option<i64>,
    /// Latest event time (ms, exclusive).
    pub until_ms: Option<i64>,
    /// Actor (case-insensitive).
    pub actor: Option<String>,
    /// Operation (case-insensitive).
    pub operation: Option<String>,
    /// Environment id (case-insensitive).
    pub environment_id: Option<String>,
    /// Resource id (case-insensitive).
    pub resource_id: Option<String>,
    /// Risk level.
    pub risk: Option<String>,
    /// Only events with a sequence number above this.
    pub after_seq: Option<i64>,
    /// At most this many events.
    pub limit: Option<usize>,
    /// Newest first (time, then id, descending) instead of oldest first: with `limit`, the
    /// newest events that match.
    pub newest_first: bool,
}

/// One problem `audit verify` found.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct VerifyProblem {
    /// The batch concerned (0 when none).
    pub batch: i64,
    /// The month partition concerned, if any.
    pub month: Option<String>,
    /// What is wrong.
    pub message: String,
}

/// The result of verifying the chain.
#[derive(Debug, Clone, Default, Serialize)]
pub struct VerifyReport {
    /// Batches checked.
    pub batches: usize,
    /// Events recomputed.
    pub events: usize,
    /// Prune records found in the chain, with the months each dropped.
    pub prunes: Vec<(i64, Vec<String>)>,
    /// The hash at the head of the chain (record it elsewhere to anchor the chain).
    pub head: String,
    /// Problems; empty when the chain holds.
    pub problems: Vec<VerifyProblem>,
}

/// What a prune removed.
#[derive(Debug, Clone, Default, Serialize)]
pub struct PruneOutcome {
    /// Months dropped.
    pub months: Vec<String>,
    /// Events removed.
    pub events: usize,
    /// The prune's batch sequence number (0 when nothing was pruned).
    pub batch: i64,
}

/// An alert as stored: one per incident.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct AlertRow {
    /// Incident key (detection id plus what makes the incident unique).
    pub key: String,
    /// Catalogue detection id.
    pub detection_id: String,
    /// Severity.
    pub severity: String,
    /// Actor.
    pub actor: String,
    /// Environment, if any.
    pub environment_id: Option<String>,
    /// First event time (ms).
    pub first_seen: i64,
    /// Last event time (ms).
    pub last_seen: i64,
    /// The record ids that make up the incident, sorted.
    pub event_ids: Vec<String>,
    /// Why it fired.
    pub reason: String,
}

/// Size figures of the event store.
#[derive(Debug, Clone, Copy, Default, Serialize)]
pub struct EventStats {
    /// Events stored.
    pub events: u64,
    /// Bytes of the store file (pages in use).
    pub bytes: u64,
}

/// The audit event store's interface; SQLite implements it on [`crate::Store`], PostgreSQL on
/// `ppgov_store_pg::PgEventStore` (both held to `contract_events`).
pub trait EventStore {
    /// Appends a batch (one transaction, one chain link); already stored `Id`s are skipped.
    fn append(&mut self, events: &mut [EventRow]) -> Result<AppendOutcome, StoreError>;
    /// Events matching `filter`, ordered by time then id (descending with `newest_first`).
    fn search(&self, filter: &EventFilter) -> Result<Vec<EventRow>, StoreError>;
    /// How many events match `filter` (its `limit` and order aside), counted by the store
    /// without reading them.
    fn count(&self, filter: &EventFilter) -> Result<u64, StoreError>;
    /// Calls `f` for every event with a sequence number above `after_seq`, month by month, in
    /// time order within a month, without its raw JSON (`raw` is empty); returns how many were
    /// visited.
    fn scan_after(
        &self,
        after_seq: i64,
        f: &mut dyn FnMut(EventRow) -> Result<(), StoreError>,
    ) -> Result<usize, StoreError>;
    /// Recomputes the chain.
    fn verify(&self) -> Result<VerifyReport, StoreError>;
    /// Drops every month partition that ends before `before_ms`, recording it in the chain.
    fn prune_before(&mut self, before_ms: i64) -> Result<PruneOutcome, StoreError>;
    /// A state value (cursors, detection state).
    fn state(&self, key: &str) -> Result<Option<String>, StoreError>;
    /// Marks resources for refresh at the next incremental crawl, whatever their facets' age
    /// (the inventory kept current from the audit log; see `marks.rs`).
    fn mark_for_refresh(
        &mut self,
        resources: &[ppgov_core::ResourceRef],
        reason: &str,
    ) -> Result<usize, StoreError>;
    /// Sets a state value.
    fn set_state(&mut self, key: &str, value: &str) -> Result<(), StoreError>;
    /// Inserts or extends alerts (event ids are merged) and sets state values, in one
    /// transaction, so detection state and its alerts never disagree.
    fn save_alerts(
        &mut self,
        alerts: &[AlertRow],
        state: &[(&str, &str)],
    ) -> Result<(), StoreError>;
    /// Alerts, newest first, optionally since a time (ms) and for one detection.
    fn alerts(
        &self,
        since_ms: Option<i64>,
        detection: Option<&str>,
    ) -> Result<Vec<AlertRow>, StoreError>;
    /// Event count and store size.
    fn event_stats(&self) -> Result<EventStats, StoreError>;
}
