//! The audit event store: append-only, de-duplicated on the record `Id`, partitioned by month,
//! hash-chained per batch.
//!
//! Every month of event time has its own table `audit_events_YYYYMM`, so retention drops whole
//! tables. Each [`EventStore::append`] is one batch: one transaction that inserts the events not
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

use crate::{Store, StoreError};
use rusqlite::{OptionalExtension, params};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;

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

/// The audit event store's interface; SQLite implements it on [`Store`].
pub trait EventStore {
    /// Appends a batch (one transaction, one chain link); already stored `Id`s are skipped.
    fn append(&mut self, events: &mut [EventRow]) -> Result<AppendOutcome, StoreError>;
    /// Events matching `filter`, ordered by time then id.
    fn search(&self, filter: &EventFilter) -> Result<Vec<EventRow>, StoreError>;
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

/// `YYYYMM` of a time in ms.
pub fn month_of(time_ms: i64) -> String {
    chrono::DateTime::from_timestamp_millis(time_ms)
        .unwrap_or_default()
        .format("%Y%m")
        .to_string()
}

/// The first millisecond of the month after `month` (`YYYYMM`).
fn month_end_ms(month: &str) -> Option<i64> {
    let y: i32 = month.get(0..4)?.parse().ok()?;
    let m: u32 = month.get(4..6)?.parse().ok()?;
    let (y, m) = if m == 12 { (y + 1, 1) } else { (y, m + 1) };
    chrono::NaiveDate::from_ymd_opt(y, m, 1)?
        .and_hms_opt(0, 0, 0)
        .map(|d| d.and_utc().timestamp_millis())
}

/// The partition table of a month; the month is checked to be six digits, so the name is safe.
fn table(month: &str) -> Result<String, StoreError> {
    if month.len() == 6 && month.bytes().all(|b| b.is_ascii_digit()) {
        Ok(format!("audit_events_{month}"))
    } else {
        Err(StoreError::BadValue {
            column: "audit month",
            value: month.to_string(),
        })
    }
}

use ppgov_core::hex;

/// Feeds one event into a part digest: every stored column, length-prefixed.
fn feed(h: &mut Sha256, e: &EventRow) {
    let seq = e.seq.to_le_bytes();
    let time = e.time_ms.to_le_bytes();
    let rt = e.record_type.to_le_bytes();
    let fields: [&[u8]; 14] = [
        &seq,
        e.id.as_bytes(),
        &time,
        &rt,
        e.operation.as_bytes(),
        e.workload.as_bytes(),
        e.actor.as_bytes(),
        e.environment_id.as_bytes(),
        e.resource_kind.as_bytes(),
        e.resource_id.as_bytes(),
        e.client_ip.as_bytes(),
        e.risk.as_bytes(),
        e.attrs.as_bytes(),
        e.raw.as_bytes(),
    ];
    for f in fields {
        h.update((f.len() as u64).to_le_bytes());
        h.update(f);
    }
}

/// The batch hash: previous hash, metadata and the part digests in month order.
fn batch_hash(
    prev: &str,
    seq: i64,
    kind: &str,
    at: &str,
    count: i64,
    detail: &str,
    parts: &[(String, i64, String)],
) -> String {
    let mut h = Sha256::new();
    for f in [prev, &seq.to_string(), kind, at, &count.to_string(), detail] {
        h.update((f.len() as u64).to_le_bytes());
        h.update(f.as_bytes());
    }
    for (m, c, d) in parts {
        h.update(m.as_bytes());
        h.update(c.to_le_bytes());
        h.update(d.as_bytes());
    }
    hex(&h.finalize())
}

const COLS: &str = "seq, id, time_ms, record_type, operation, workload, actor, environment_id, \
                    resource_kind, resource_id, client_ip, risk, attrs, raw";

/// The columns without the raw record (detection never reads it; it is most of the bytes).
const LIGHT_COLS: &str = "seq, id, time_ms, record_type, operation, workload, actor, \
                          environment_id, resource_kind, resource_id, client_ip, risk, attrs, ''";

/// The columns of each month's scan index: time order first, then every column detection reads,
/// so the time-ordered scan of detection reads the index alone (sequential pages) instead of one
/// table row per event in time order (a random read each; three times slower on 2 million
/// events). It costs about a quarter more bytes per event, and serves time-range searches too.
const SCAN_INDEX_COLS: &str = "time_ms, id, seq, record_type, operation, workload, actor, \
                               environment_id, resource_kind, resource_id, client_ip, risk, attrs";

fn row_of(r: &rusqlite::Row<'_>) -> rusqlite::Result<EventRow> {
    Ok(EventRow {
        seq: r.get(0)?,
        id: r.get(1)?,
        time_ms: r.get(2)?,
        record_type: r.get(3)?,
        operation: r.get(4)?,
        workload: r.get(5)?,
        actor: r.get(6)?,
        environment_id: r.get(7)?,
        resource_kind: r.get(8)?,
        resource_id: r.get(9)?,
        client_ip: r.get(10)?,
        risk: r.get(11)?,
        attrs: r.get(12)?,
        raw: r.get(13)?,
    })
}

impl Store {
    fn live_months(&self) -> Result<Vec<String>, StoreError> {
        let mut st = self
            .conn
            .prepare("SELECT month FROM audit_months WHERE pruned = 0 ORDER BY month")?;
        let rows = st.query_map([], |r| r.get(0))?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    fn head(&self) -> Result<(i64, String), StoreError> {
        Ok(self
            .conn
            .query_row(
                "SELECT seq, hash FROM audit_batches ORDER BY seq DESC LIMIT 1",
                [],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()?
            .unwrap_or((0, String::new())))
    }

    fn next_event_seq(&self) -> Result<i64, StoreError> {
        let n: Option<i64> = self
            .conn
            .query_row(
                "SELECT value FROM audit_state WHERE key = 'store.next_seq'",
                [],
                |r| r.get::<_, String>(0).map(|s| s.parse().ok()),
            )
            .optional()?
            .flatten();
        Ok(n.unwrap_or(1))
    }
}

fn now_text() -> String {
    chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

impl EventStore for Store {
    fn mark_for_refresh(
        &mut self,
        resources: &[ppgov_core::ResourceRef],
        reason: &str,
    ) -> Result<usize, StoreError> {
        Store::mark_for_refresh(self, resources, reason)
    }

    fn append(&mut self, events: &mut [EventRow]) -> Result<AppendOutcome, StoreError> {
        let (prev_seq, prev_hash) = self.head()?;
        let mut next = self.next_event_seq()?;
        let known: Vec<String> = {
            let mut st = self
                .conn
                .prepare("SELECT month FROM audit_months WHERE pruned = 0")?;
            st.query_map([], |r| r.get(0))?.collect::<Result<_, _>>()?
        };
        // Time order inside a batch; sequence numbers follow it.
        events.sort_by(|a, b| a.time_ms.cmp(&b.time_ms).then_with(|| a.id.cmp(&b.id)));
        let tx = self.conn.transaction()?;
        let mut out = AppendOutcome::default();
        let batch = prev_seq + 1;
        let mut parts: BTreeMap<String, (i64, Sha256)> = BTreeMap::new();
        let mut seen = std::collections::HashSet::new();
        for e in events.iter_mut() {
            let month = month_of(e.time_ms);
            let t = table(&month)?;
            if !known.contains(&month) && !parts.contains_key(&month) {
                let pruned: Option<i64> = tx
                    .query_row(
                        "SELECT pruned FROM audit_months WHERE month = ?1",
                        [&month],
                        |r| r.get(0),
                    )
                    .optional()?;
                if pruned.is_none() {
                    tx.execute_batch(&format!(
                        "CREATE TABLE IF NOT EXISTS {t} (
                            seq INTEGER PRIMARY KEY, id TEXT NOT NULL UNIQUE, time_ms INTEGER NOT NULL,
                            record_type INTEGER NOT NULL, operation TEXT NOT NULL, workload TEXT NOT NULL,
                            actor TEXT NOT NULL, environment_id TEXT NOT NULL, resource_kind TEXT NOT NULL,
                            resource_id TEXT NOT NULL, client_ip TEXT NOT NULL, risk TEXT NOT NULL,
                            attrs TEXT NOT NULL, raw TEXT NOT NULL, batch INTEGER NOT NULL
                         );
                         CREATE INDEX IF NOT EXISTS {t}_scan ON {t} ({SCAN_INDEX_COLS});
                         INSERT OR IGNORE INTO audit_months (month) VALUES ('{month}');"
                    ))?;
                } else {
                    // A pruned month is past retention: its events are not stored again.
                    out.duplicates += 1;
                    continue;
                }
            }
            if !seen.insert(e.id.clone()) {
                out.duplicates += 1;
                continue;
            }
            let exists: bool = tx
                .prepare_cached(&format!("SELECT 1 FROM {t} WHERE id = ?1"))?
                .exists([&e.id])?;
            if exists {
                out.duplicates += 1;
                continue;
            }
            e.seq = next;
            next += 1;
            tx.prepare_cached(&format!(
                "INSERT INTO {t} ({COLS}, batch) VALUES (?1,?2,?3,?4,?5,?6,?7,?8,?9,?10,?11,?12,?13,?14,?15)"
            ))?
            .execute(params![
                e.seq,
                e.id,
                e.time_ms,
                e.record_type,
                e.operation,
                e.workload,
                e.actor,
                e.environment_id,
                e.resource_kind,
                e.resource_id,
                e.client_ip,
                e.risk,
                e.attrs,
                e.raw,
                batch
            ])?;
            let p = parts.entry(month).or_insert_with(|| (0, Sha256::new()));
            p.0 += 1;
            feed(&mut p.1, e);
            out.stored += 1;
        }
        if out.stored > 0 {
            let parts: Vec<(String, i64, String)> = parts
                .into_iter()
                .map(|(m, (c, h))| (m, c, hex(&h.finalize())))
                .collect();
            let at = now_text();
            let count = out.stored as i64;
            let detail = "{}";
            let hash = batch_hash(&prev_hash, batch, "append", &at, count, detail, &parts);
            tx.execute(
                "INSERT INTO audit_batches (seq, kind, at, count, detail, prev_hash, hash)
                 VALUES (?1, 'append', ?2, ?3, ?4, ?5, ?6)",
                params![batch, at, count, detail, prev_hash, hash],
            )?;
            for (m, c, d) in &parts {
                tx.execute(
                    "INSERT INTO audit_batch_parts (batch, month, count, digest) VALUES (?1, ?2, ?3, ?4)",
                    params![batch, m, c, d],
                )?;
            }
            tx.execute(
                "INSERT INTO audit_state (key, value) VALUES ('store.next_seq', ?1)
                 ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                [next.to_string()],
            )?;
            out.batch = batch;
        }
        tx.commit()?;
        Ok(out)
    }

    fn search(&self, f: &EventFilter) -> Result<Vec<EventRow>, StoreError> {
        let mut out = Vec::new();
        let limit = f.limit.unwrap_or(usize::MAX);
        for month in self.live_months()? {
            if let Some(s) = f.since_ms
                && month_end_ms(&month).is_some_and(|e| e <= s)
            {
                continue;
            }
            if let Some(u) = f.until_ms
                && month_of(u) < month
            {
                continue;
            }
            let t = table(&month)?;
            let mut st = self.conn.prepare_cached(&format!(
                "SELECT {COLS} FROM {t}
                 WHERE (?1 IS NULL OR time_ms >= ?1) AND (?2 IS NULL OR time_ms < ?2)
                   AND (?3 IS NULL OR actor = lower(?3)) AND (?4 IS NULL OR lower(operation) = lower(?4))
                   AND (?5 IS NULL OR lower(environment_id) = lower(?5))
                   AND (?6 IS NULL OR lower(resource_id) = lower(?6))
                   AND (?7 IS NULL OR risk = lower(?7)) AND (?8 IS NULL OR seq > ?8)
                 ORDER BY time_ms, id"
            ))?;
            let rows = st.query_map(
                params![
                    f.since_ms,
                    f.until_ms,
                    f.actor,
                    f.operation,
                    f.environment_id,
                    f.resource_id,
                    f.risk,
                    f.after_seq
                ],
                row_of,
            )?;
            for r in rows {
                if out.len() >= limit {
                    return Ok(out);
                }
                out.push(r?);
            }
        }
        Ok(out)
    }

    fn scan_after(
        &self,
        after_seq: i64,
        f: &mut dyn FnMut(EventRow) -> Result<(), StoreError>,
    ) -> Result<usize, StoreError> {
        let mut n = 0;
        for month in self.live_months()? {
            let t = table(&month)?;
            // Months written before the scan index existed get it here, once (and lose the
            // time index it replaces).
            self.conn.execute_batch(&format!(
                "CREATE INDEX IF NOT EXISTS {t}_scan ON {t} ({SCAN_INDEX_COLS});
                 DROP INDEX IF EXISTS {t}_time;"
            ))?;
            let mut st = self.conn.prepare(&format!(
                "SELECT {LIGHT_COLS} FROM {t} WHERE seq > ?1 ORDER BY time_ms, id"
            ))?;
            let mut rows = st.query([after_seq])?;
            while let Some(r) = rows.next()? {
                f(row_of(r)?)?;
                n += 1;
            }
        }
        Ok(n)
    }

    fn verify(&self) -> Result<VerifyReport, StoreError> {
        let mut rep = VerifyReport::default();
        let mut pruned_months: Vec<String> = Vec::new();
        let months: BTreeMap<String, bool> = {
            let mut st = self
                .conn
                .prepare("SELECT month, pruned FROM audit_months")?;
            st.query_map([], |r| Ok((r.get(0)?, r.get::<_, i64>(1)? != 0)))?
                .collect::<Result<_, _>>()?
        };
        // Recompute every live month's digests per batch, in sequence order.
        let mut computed: BTreeMap<(i64, String), (i64, Sha256)> = BTreeMap::new();
        let mut last_seq: BTreeMap<(i64, String), i64> = BTreeMap::new();
        for (month, pruned) in &months {
            if *pruned {
                continue;
            }
            let t = table(month)?;
            let exists: bool = self
                .conn
                .prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?1")?
                .exists([&t])?;
            if !exists {
                rep.problems.push(VerifyProblem {
                    batch: 0,
                    month: Some(month.clone()),
                    message: format!(
                        "the partition of month {month} is gone and no prune removed it"
                    ),
                });
                continue;
            }
            let mut st = self
                .conn
                .prepare(&format!("SELECT {COLS}, batch FROM {t} ORDER BY seq"))?;
            let mut rows = st.query([])?;
            while let Some(r) = rows.next()? {
                let e = row_of(r)?;
                let b: i64 = r.get(14)?;
                let key = (b, month.clone());
                let p = computed
                    .entry(key.clone())
                    .or_insert_with(|| (0, Sha256::new()));
                p.0 += 1;
                feed(&mut p.1, &e);
                last_seq.insert(key, e.seq);
                rep.events += 1;
            }
        }
        let mut computed: BTreeMap<(i64, String), (i64, String)> = computed
            .into_iter()
            .map(|(k, (c, h))| (k, (c, hex(&h.finalize()))))
            .collect();
        let mut st = self.conn.prepare(
            "SELECT seq, kind, at, count, detail, prev_hash, hash FROM audit_batches ORDER BY seq",
        )?;
        let batches: Vec<(i64, String, String, i64, String, String, String)> = st
            .query_map([], |r| {
                Ok((
                    r.get(0)?,
                    r.get(1)?,
                    r.get(2)?,
                    r.get(3)?,
                    r.get(4)?,
                    r.get(5)?,
                    r.get(6)?,
                ))
            })?
            .collect::<Result<_, _>>()?;
        let mut parts_st = self.conn.prepare(
            "SELECT month, count, digest FROM audit_batch_parts WHERE batch = ?1 ORDER BY month",
        )?;
        // Months a prune recorded in the chain (the prune comes after the batches it covers).
        for (_, kind, _, _, detail, _, _) in &batches {
            if kind == "prune" {
                let months: Vec<String> = serde_json::from_str::<serde_json::Value>(detail)
                    .ok()
                    .and_then(|v| {
                        v.get("months").and_then(|m| m.as_array()).map(|a| {
                            a.iter()
                                .filter_map(|x| x.as_str().map(String::from))
                                .collect()
                        })
                    })
                    .unwrap_or_default();
                pruned_months.extend(months);
            }
        }
        let mut prev = String::new();
        let mut expect_seq = 1;
        for (seq, kind, at, count, detail, prev_hash, hash) in batches {
            rep.batches += 1;
            let problem = |m: Option<String>, msg: String| VerifyProblem {
                batch: seq,
                month: m,
                message: msg,
            };
            if seq != expect_seq {
                rep.problems.push(problem(
                    None,
                    format!("batch {expect_seq} is missing from the chain (next found: {seq})"),
                ));
            }
            expect_seq = seq + 1;
            if prev_hash != prev {
                rep.problems.push(problem(
                    None,
                    "the batch does not link to the previous batch's hash".into(),
                ));
            }
            let parts: Vec<(String, i64, String)> = parts_st
                .query_map([seq], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?
                .collect::<Result<_, _>>()?;
            let want = batch_hash(&prev_hash, seq, &kind, &at, count, &detail, &parts);
            if want != hash {
                rep.problems.push(problem(
                    None,
                    "the batch's hash does not match its contents (batch row or parts changed)"
                        .into(),
                ));
            }
            if kind == "prune" {
                let months: Vec<String> = serde_json::from_str::<serde_json::Value>(&detail)
                    .ok()
                    .and_then(|v| {
                        v.get("months").and_then(|m| m.as_array()).map(|a| {
                            a.iter()
                                .filter_map(|x| x.as_str().map(String::from))
                                .collect()
                        })
                    })
                    .unwrap_or_default();
                rep.prunes.push((seq, months));
            }
            let mut total = 0;
            for (m, c, d) in &parts {
                total += c;
                let key = (seq, m.clone());
                match computed.remove(&key) {
                    Some((cc, dd)) => {
                        if cc != *c {
                            rep.problems.push(problem(
                                Some(m.clone()),
                                format!("{c} events were stored in this part, {cc} are there now (events deleted or inserted)"),
                            ));
                        } else if dd != *d {
                            rep.problems.push(problem(
                                Some(m.clone()),
                                "the events of this part were modified or reordered".into(),
                            ));
                        }
                    }
                    None => {
                        let dropped =
                            months.get(m).copied().unwrap_or(false) && pruned_months.contains(m);
                        if !dropped {
                            rep.problems.push(problem(
                                Some(m.clone()),
                                format!("{c} events of this part are gone and no prune in the chain removed month {m}"),
                            ));
                        }
                    }
                }
            }
            if kind == "append" && total != count {
                rep.problems.push(problem(
                    None,
                    format!("the batch says {count} events but its parts hold {total}"),
                ));
            }
            prev = hash;
        }
        for ((b, m), (c, _)) in computed {
            rep.problems.push(VerifyProblem {
                batch: b,
                month: Some(m.clone()),
                message: format!(
                    "{c} events (last seq {}) belong to no recorded batch part (inserted)",
                    last_seq.get(&(b, m)).copied().unwrap_or_default()
                ),
            });
        }
        rep.head = prev;
        Ok(rep)
    }

    fn prune_before(&mut self, before_ms: i64) -> Result<PruneOutcome, StoreError> {
        let mut out = PruneOutcome::default();
        for m in self.live_months()? {
            if month_end_ms(&m).is_some_and(|e| e <= before_ms) {
                out.months.push(m);
            }
        }
        if out.months.is_empty() {
            return Ok(out);
        }
        let (prev_seq, prev_hash) = self.head()?;
        let tx = self.conn.transaction()?;
        for m in &out.months {
            let t = table(m)?;
            let n: i64 = tx.query_row(&format!("SELECT count(*) FROM {t}"), [], |r| r.get(0))?;
            out.events += n as usize;
            tx.execute_batch(&format!(
                "DROP TABLE {t}; UPDATE audit_months SET pruned = 1 WHERE month = '{m}';"
            ))?;
        }
        let seq = prev_seq + 1;
        let at = now_text();
        let detail = serde_json::json!({
            "months": out.months, "events": out.events, "before_ms": before_ms
        })
        .to_string();
        let hash = batch_hash(
            &prev_hash,
            seq,
            "prune",
            &at,
            out.events as i64,
            &detail,
            &[],
        );
        tx.execute(
            "INSERT INTO audit_batches (seq, kind, at, count, detail, prev_hash, hash)
             VALUES (?1, 'prune', ?2, ?3, ?4, ?5, ?6)",
            params![seq, at, out.events as i64, detail, prev_hash, hash],
        )?;
        tx.commit()?;
        out.batch = seq;
        Ok(out)
    }

    fn state(&self, key: &str) -> Result<Option<String>, StoreError> {
        Ok(self
            .conn
            .query_row("SELECT value FROM audit_state WHERE key = ?1", [key], |r| {
                r.get(0)
            })
            .optional()?)
    }

    fn set_state(&mut self, key: &str, value: &str) -> Result<(), StoreError> {
        self.conn.execute(
            "INSERT INTO audit_state (key, value) VALUES (?1, ?2)
             ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            [key, value],
        )?;
        Ok(())
    }

    fn save_alerts(
        &mut self,
        alerts: &[AlertRow],
        state: &[(&str, &str)],
    ) -> Result<(), StoreError> {
        let tx = self.conn.transaction()?;
        let at = now_text();
        for a in alerts {
            let old: Option<(String, i64, i64)> = tx
                .query_row(
                    "SELECT event_ids, first_seen, last_seen FROM audit_alerts WHERE key = ?1",
                    [&a.key],
                    |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
                )
                .optional()?;
            let mut ids: std::collections::BTreeSet<String> = a.event_ids.iter().cloned().collect();
            let (mut first, mut last) = (a.first_seen, a.last_seen);
            if let Some((o, f, l)) = old {
                let prev: Vec<String> =
                    serde_json::from_str(&o).map_err(|source| StoreError::Decode {
                        snapshot: "-".into(),
                        kind: "audit alert".into(),
                        id: a.key.clone(),
                        source,
                    })?;
                ids.extend(prev);
                first = first.min(f);
                last = last.max(l);
            }
            let ids: Vec<String> = ids.into_iter().collect();
            let json = serde_json::to_string(&ids).map_err(|source| StoreError::Encode {
                what: "alert event ids".into(),
                source,
            })?;
            tx.execute(
                "INSERT INTO audit_alerts (key, detection_id, severity, actor, environment_id, first_seen, last_seen, event_ids, reason, updated_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)
                 ON CONFLICT (key) DO UPDATE SET first_seen = excluded.first_seen, last_seen = excluded.last_seen,
                   event_ids = excluded.event_ids, reason = excluded.reason, updated_at = excluded.updated_at",
                params![a.key, a.detection_id, a.severity, a.actor, a.environment_id, first, last, json, a.reason, at],
            )?;
        }
        for (k, v) in state {
            tx.execute(
                "INSERT INTO audit_state (key, value) VALUES (?1, ?2)
                 ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                [k, v],
            )?;
        }
        tx.commit()?;
        Ok(())
    }

    fn alerts(
        &self,
        since_ms: Option<i64>,
        detection: Option<&str>,
    ) -> Result<Vec<AlertRow>, StoreError> {
        let mut st = self.conn.prepare(
            "SELECT key, detection_id, severity, actor, environment_id, first_seen, last_seen, event_ids, reason
             FROM audit_alerts WHERE (?1 IS NULL OR last_seen >= ?1) AND (?2 IS NULL OR detection_id = ?2)
             ORDER BY last_seen DESC, key",
        )?;
        let rows = st.query_map(params![since_ms, detection], |r| {
            Ok((
                AlertRow {
                    key: r.get(0)?,
                    detection_id: r.get(1)?,
                    severity: r.get(2)?,
                    actor: r.get(3)?,
                    environment_id: r.get(4)?,
                    first_seen: r.get(5)?,
                    last_seen: r.get(6)?,
                    event_ids: Vec::new(),
                    reason: r.get(8)?,
                },
                r.get::<_, String>(7)?,
            ))
        })?;
        let mut out = Vec::new();
        for r in rows {
            let (mut a, ids) = r?;
            a.event_ids = serde_json::from_str(&ids).map_err(|source| StoreError::Decode {
                snapshot: "-".into(),
                kind: "audit alert".into(),
                id: a.key.clone(),
                source,
            })?;
            out.push(a);
        }
        Ok(out)
    }

    fn event_stats(&self) -> Result<EventStats, StoreError> {
        let mut events = 0u64;
        for m in self.live_months()? {
            let t = table(&m)?;
            let n: i64 = self
                .conn
                .query_row(&format!("SELECT count(*) FROM {t}"), [], |r| r.get(0))?;
            events += n as u64;
        }
        let pages: i64 = self.conn.query_row("PRAGMA page_count", [], |r| r.get(0))?;
        let free: i64 = self
            .conn
            .query_row("PRAGMA freelist_count", [], |r| r.get(0))?;
        let size: i64 = self.conn.query_row("PRAGMA page_size", [], |r| r.get(0))?;
        Ok(EventStats {
            events,
            bytes: ((pages - free).max(0) * size) as u64,
        })
    }
}
