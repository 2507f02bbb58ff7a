//! The audit event store on PostgreSQL: [`PgEventStore`] implements
//! [`ppgov_store::EventStore`] for one tenant with the SQLite store's semantics, the chain logic
//! shared through `ppgov_store::event_chain`.
//!
//! Events live in `audit_events`, one partition per UTC month shared by every tenant (made on
//! demand by `ppgov_audit_partition`), an event unique per (tenant, id) within its month.
//! Sequence numbers, batches and their month parts, months, state, alerts and refresh marks
//! are per tenant, every table under the tenant policy. Writes of one tenant (append, prune,
//! save_alerts) serialise on a transaction-scoped advisory lock in `LOCK_SPACE` keyed by a hash
//! of the tenant, so other tenants never wait on them. A prune deletes the tenant's rows of
//! the months it drops, marks them pruned for the tenant, records itself in the tenant's chain,
//! and drops a partition only once no tenant has a row left in it (when the table is busy at
//! that moment, the next prune drops it).

use std::cell::RefMut;
use std::collections::{BTreeMap, BTreeSet, HashSet};

use postgres::{Client, Transaction};
use ppgov_core::ResourceRef;
use ppgov_store::event_chain::{PartDigests, batch_hash, month_end_ms, month_of, now_text};
use ppgov_store::{
    AlertRow, AppendOutcome, EventFilter, EventRow, EventStats, EventStore, PruneOutcome,
    StoreError, VerifyReport,
};

use crate::migrations::LOCK_SPACE;
use crate::pg;
use crate::tenant_conn::TenantConn;

/// Serialises the chain writes of one tenant: the second key is a hash of the tenant's id with
/// bit 30 set, so it never meets this store's fixed keys in `LOCK_SPACE` (1 migrations, 2
/// partition creation, 3 partition drops). Two tenants whose hashes agree only wait on each other.
const TENANT_LOCK: &str = "SELECT pg_advisory_xact_lock($1, hashtext('audit:' || $2) | 1073741824)";

const INSERT_EVENTS: &str = "INSERT INTO audit_events (tenant_id, batch, seq, id, time_ms,
        record_type, operation, workload, actor, environment_id, resource_kind, resource_id,
        client_ip, risk, attrs, raw)
     SELECT $1, $2, * FROM unnest($3::bigint[], $4::text[], $5::bigint[], $6::bigint[],
        $7::text[], $8::text[], $9::text[], $10::text[], $11::text[], $12::text[], $13::text[],
        $14::text[], $15::text[], $16::text[])";

const INSERT_BATCH: &str = "INSERT INTO audit_batches
        (tenant_id, seq, kind, at, count, detail, prev_hash, hash)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8)";

/// The month partitions of `audit_events` (the catalog is not under row-level security).
const PARTITION_NAMES: &str = "SELECT c.relname::text FROM pg_inherits i
     JOIN pg_class c ON c.oid = i.inhrelid
     WHERE i.inhparent = 'audit_events'::regclass
     ORDER BY c.relname";

const SET_STATE: &str = "INSERT INTO audit_state (tenant_id, key, value) VALUES ($1, $2, $3)
     ON CONFLICT (tenant_id, key) DO UPDATE SET value = excluded.value";

/// The audit event store of one tenant on PostgreSQL.
///
/// [`ppgov_store::EventStore`] reads through `&self` while the client needs `&mut`, so the
/// client sits in a `RefCell`: the store is `Send`, not `Sync`. `scan_after` lets the client go
/// before each callback, so a callback may read the store; a call made while another holds the
/// client is refused with an error, never a panic.
pub struct PgEventStore {
    pub(crate) conn: TenantConn,
}

impl std::fmt::Debug for PgEventStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PgEventStore")
            .field("tenant", &self.conn.tenant)
            .finish_non_exhaustive()
    }
}

impl PgEventStore {
    /// Connects to `url` (as [`crate::PgStore::connect`] does: migrations first, no TLS) and
    /// scopes the session to `tenant` through `app.tenant`; the role must be subject to
    /// row-level security.
    pub fn connect(url: &str, tenant: &str) -> Result<PgEventStore, StoreError> {
        Ok(PgEventStore {
            conn: TenantConn::connect(url, tenant, "event store")?,
        })
    }

    /// Puts the refresh marks that audit events make into `store` instead of PostgreSQL: the
    /// tenant's embedded store, where the crawler that honours them keeps its snapshots.
    pub fn with_marks_in(mut self, store: ppgov_store::Store) -> PgEventStore {
        self.conn.marks = Some(store);
        self
    }

    /// The tenant this store holds the events of.
    pub fn tenant(&self) -> &str {
        &self.conn.tenant
    }

    /// True once the client has seen the connection close; every call then fails.
    pub fn is_closed(&self) -> bool {
        self.conn.is_closed()
    }

    /// The client for a read through `&self`.
    pub(crate) fn client(&self) -> Result<RefMut<'_, Client>, StoreError> {
        self.conn.client()
    }
}

/// Runs a call of the blocking client where it may block. The client blocks on a runtime of its
/// own, which tokio refuses inside one of its workers: on the multi-thread runtime the call runs
/// in `block_in_place`, so async code (ingestion, `ppgov serve`'s jobs) can use the store
/// directly. Off any runtime, or on a blocking thread, it just runs. (Tokio's current-thread
/// runtime cannot host the client at all; ppgov's binary runs the multi-thread one.)
pub fn off_runtime<T>(f: impl FnOnce() -> T) -> T {
    match tokio::runtime::Handle::try_current().map(|h| h.runtime_flavor()) {
        Ok(tokio::runtime::RuntimeFlavor::MultiThread) => tokio::task::block_in_place(f),
        _ => f(),
    }
}

/// Records refresh marks of `tenant` in PostgreSQL's `refresh_marks`, in one transaction; returns
/// how many. Where [`PgEventStore`] and [`crate::PgRecords`] put their marks when they were given
/// no embedded store for them (`with_marks_in`).
pub(crate) fn insert_marks(
    client: &mut Client,
    tenant: &str,
    resources: &[ResourceRef],
    reason: &str,
) -> Result<usize, StoreError> {
    let failed = pg("marking resources for refresh");
    let mut tx = client.transaction().map_err(&failed)?;
    let now = now_text();
    for r in resources {
        tx.execute(
            "INSERT INTO refresh_marks (tenant_id, kind, id, environment_id, reason, marked_at)
             VALUES ($1, $2, $3, $4, $5, $6)",
            &[
                &tenant,
                &r.kind.as_str(),
                &r.id,
                &r.environment_id,
                &reason,
                &now,
            ],
        )
        .map_err(&failed)?;
    }
    tx.commit().map_err(&failed)?;
    Ok(resources.len())
}

/// Starts a write transaction holding the tenant's chain lock.
fn locked<'a>(client: &'a mut Client, tenant: &str) -> Result<Transaction<'a>, StoreError> {
    let mut tx = client
        .transaction()
        .map_err(pg("starting an audit store transaction"))?;
    tx.execute(TENANT_LOCK, &[&LOCK_SPACE, &tenant])
        .map_err(pg("waiting for the tenant's audit chain lock"))?;
    Ok(tx)
}

/// The last batch's sequence number and hash (0 and empty before the first).
fn head(tx: &mut Transaction<'_>, tenant: &str) -> Result<(i64, String), StoreError> {
    let failed = pg("reading the head of the audit chain");
    let row = tx
        .query_opt(
            "SELECT seq, hash FROM audit_batches WHERE tenant_id = $1 ORDER BY seq DESC LIMIT 1",
            &[&tenant],
        )
        .map_err(&failed)?;
    match row {
        Some(r) => Ok((
            r.try_get(0).map_err(&failed)?,
            r.try_get(1).map_err(&failed)?,
        )),
        None => Ok((0, String::new())),
    }
}

/// The tenant's months, each with whether it was pruned.
pub(crate) fn months(
    client: &mut impl postgres::GenericClient,
    tenant: &str,
) -> Result<BTreeMap<String, bool>, StoreError> {
    let failed = pg("reading the audit months");
    let rows = client
        .query(
            "SELECT month, pruned FROM audit_months WHERE tenant_id = $1",
            &[&tenant],
        )
        .map_err(&failed)?;
    let mut out = BTreeMap::new();
    for r in rows {
        out.insert(
            r.try_get(0).map_err(&failed)?,
            r.try_get(1).map_err(&failed)?,
        );
    }
    Ok(out)
}

/// The first millisecond of `month` (`YYYYMM`).
fn month_start_ms(month: &str) -> Option<i64> {
    let y: i32 = month.get(0..4)?.parse().ok()?;
    let m: u32 = month.get(4..6)?.parse().ok()?;
    let before = if m == 1 {
        format!("{:04}12", y - 1)
    } else {
        format!("{y:04}{:02}", m - 1)
    };
    month_end_ms(&before)
}

fn bad_month(month: &str) -> StoreError {
    StoreError::BadValue {
        column: "audit_months.month",
        value: month.to_string(),
    }
}

impl EventStore for PgEventStore {
    fn append(&mut self, events: &mut [EventRow]) -> Result<AppendOutcome, StoreError> {
        off_runtime(|| {
            let (client, tenant) = self.conn.live()?;
            let mut tx = locked(client, tenant)?;
            let (prev_seq, prev_hash) = head(&mut tx, tenant)?;
            let next_failed = pg("reading the next audit sequence number");
            let mut next: i64 = tx
                .query_opt(
                    "SELECT value FROM audit_state WHERE tenant_id = $1 AND key = 'store.next_seq'",
                    &[&tenant],
                )
                .map_err(&next_failed)?
                .map(|r| r.try_get::<_, String>(0))
                .transpose()
                .map_err(&next_failed)?
                .and_then(|v| v.parse().ok())
                .unwrap_or(1);
            let known = months(&mut tx, tenant)?;
            // Time order inside a batch; sequence numbers follow it.
            events.sort_by(|a, b| a.time_ms.cmp(&b.time_ms).then_with(|| a.id.cmp(&b.id)));
            // Partitions first, before anything reads audit_events: making one takes the creation
            // lock, then the parent exclusively; a session waiting for the creation lock while it
            // holds a lock on the parent (from an earlier read) would deadlock with the maker.
            let mut month_times: BTreeMap<String, i64> = BTreeMap::new();
            for e in events.iter() {
                let month = month_of(e.time_ms);
                if !known.get(&month).copied().unwrap_or(false) {
                    month_times.entry(month).or_insert(e.time_ms);
                }
            }
            let times: Vec<i64> = month_times.values().copied().collect();
            tx.query_one(
                "SELECT count(DISTINCT ppgov_audit_partition(t)) FROM unnest($1::bigint[]) AS t",
                &[&times],
            )
            .map_err(pg("creating audit month partitions"))?;
            let ids: Vec<&str> = events.iter().map(|e| e.id.as_str()).collect();
            let stored_failed = pg("looking up stored audit events");
            let mut stored: HashSet<(String, String)> = HashSet::new();
            for r in tx
                .query(
                    "SELECT id, time_ms FROM audit_events WHERE tenant_id = $1 AND id = ANY($2)",
                    &[&tenant, &ids],
                )
                .map_err(&stored_failed)?
            {
                let id: String = r.try_get(0).map_err(&stored_failed)?;
                let t: i64 = r.try_get(1).map_err(&stored_failed)?;
                stored.insert((month_of(t), id));
            }
            let batch = prev_seq + 1;
            let mut out = AppendOutcome::default();
            let mut parts = PartDigests::new();
            let mut seen = HashSet::new();
            let mut new_months: BTreeSet<String> = BTreeSet::new();
            let mut chosen: Vec<usize> = Vec::new();
            for (i, e) in events.iter_mut().enumerate() {
                let month = month_of(e.time_ms);
                // A pruned month is past retention: its events are not stored again.
                if known.get(&month).copied().unwrap_or(false)
                    || !seen.insert(e.id.clone())
                    || stored.contains(&(month.clone(), e.id.clone()))
                {
                    out.duplicates += 1;
                    continue;
                }
                e.seq = next;
                next += 1;
                parts.add(&month, e);
                if !known.contains_key(&month) {
                    new_months.insert(month);
                }
                chosen.push(i);
                out.stored += 1;
            }
            if out.stored == 0 {
                tx.commit().map_err(pg("committing an audit append"))?;
                return Ok(out);
            }
            let new: Vec<&EventRow> = chosen.iter().map(|&i| &events[i]).collect();
            let new_months: Vec<&str> = new_months.iter().map(String::as_str).collect();
            tx.execute(
                "INSERT INTO audit_months (tenant_id, month) SELECT $1, unnest($2::text[])
                 ON CONFLICT DO NOTHING",
                &[&tenant, &new_months],
            )
            .map_err(pg("recording audit months"))?;
            let col =
                |f: fn(&EventRow) -> &str| -> Vec<&str> { new.iter().map(|e| f(e)).collect() };
            let seqs: Vec<i64> = new.iter().map(|e| e.seq).collect();
            let times: Vec<i64> = new.iter().map(|e| e.time_ms).collect();
            let types: Vec<i64> = new.iter().map(|e| e.record_type).collect();
            tx.execute(
                INSERT_EVENTS,
                &[
                    &tenant,
                    &batch,
                    &seqs,
                    &col(|e| &e.id),
                    &times,
                    &types,
                    &col(|e| &e.operation),
                    &col(|e| &e.workload),
                    &col(|e| &e.actor),
                    &col(|e| &e.environment_id),
                    &col(|e| &e.resource_kind),
                    &col(|e| &e.resource_id),
                    &col(|e| &e.client_ip),
                    &col(|e| &e.risk),
                    &col(|e| &e.attrs),
                    &col(|e| &e.raw),
                ],
            )
            .map_err(pg("inserting audit events"))?;
            let parts = parts.finish();
            let at = now_text();
            let count = out.stored as i64;
            let detail = "{}";
            let hash = batch_hash(&prev_hash, batch, "append", &at, count, detail, &parts);
            let batch_failed = pg("recording an audit batch");
            tx.execute(
                INSERT_BATCH,
                &[
                    &tenant, &batch, &"append", &at, &count, &detail, &prev_hash, &hash,
                ],
            )
            .map_err(&batch_failed)?;
            for (m, c, d) in &parts {
                tx.execute(
                    "INSERT INTO audit_batch_parts (tenant_id, batch, month, count, digest)
                     VALUES ($1, $2, $3, $4, $5)",
                    &[&tenant, &batch, m, c, d],
                )
                .map_err(&batch_failed)?;
            }
            tx.execute(SET_STATE, &[&tenant, &"store.next_seq", &next.to_string()])
                .map_err(&batch_failed)?;
            tx.commit().map_err(pg("committing an audit append"))?;
            out.batch = batch;
            Ok(out)
        })
    }

    fn search(&self, filter: &EventFilter) -> Result<Vec<EventRow>, StoreError> {
        off_runtime(|| self.search_events(filter))
    }

    fn count(&self, filter: &EventFilter) -> Result<u64, StoreError> {
        off_runtime(|| self.count_events(filter))
    }

    fn scan_after(
        &self,
        after_seq: i64,
        f: &mut dyn FnMut(EventRow) -> Result<(), StoreError>,
    ) -> Result<usize, StoreError> {
        off_runtime(|| self.scan_events(after_seq, f))
    }

    fn verify(&self) -> Result<VerifyReport, StoreError> {
        off_runtime(|| self.verify_chain())
    }

    fn prune_before(&mut self, before_ms: i64) -> Result<PruneOutcome, StoreError> {
        off_runtime(|| {
            let (client, tenant) = self.conn.live()?;
            let mut tx = locked(client, tenant)?;
            // Prunes of several tenants run one at a time, before any row lock: two prunes each
            // holding row locks on a month's partition could never drop it.
            tx.execute("SELECT pg_advisory_xact_lock($1, 3)", &[&LOCK_SPACE])
                .map_err(pg("waiting for the audit prune lock"))?;
            let mut out = PruneOutcome::default();
            for (m, pruned) in months(&mut tx, tenant)? {
                if !pruned && month_end_ms(&m).is_some_and(|e| e <= before_ms) {
                    out.months.push(m);
                }
            }
            if out.months.is_empty() {
                tx.commit().map_err(pg("committing an audit prune"))?;
                return Ok(out);
            }
            let (prev_seq, prev_hash) = head(&mut tx, tenant)?;
            let failed = pg("pruning audit months");
            for m in &out.months {
                let (Some(lo), Some(hi)) = (month_start_ms(m), month_end_ms(m)) else {
                    return Err(bad_month(m));
                };
                let n = tx
                    .execute(
                        "DELETE FROM audit_events WHERE tenant_id = $1 AND time_ms >= $2 AND time_ms < $3",
                        &[&tenant, &lo, &hi],
                    )
                    .map_err(&failed)?;
                out.events += n as usize;
            }
            tx.execute(
                "UPDATE audit_months SET pruned = true WHERE tenant_id = $1 AND month = ANY($2)",
                &[&tenant, &out.months],
            )
            .map_err(&failed)?;
            let seq = prev_seq + 1;
            let at = now_text();
            let detail = serde_json::json!({
                "months": out.months, "events": out.events, "before_ms": before_ms
            })
            .to_string();
            let count = out.events as i64;
            let hash = batch_hash(&prev_hash, seq, "prune", &at, count, &detail, &[]);
            tx.execute(
                INSERT_BATCH,
                &[
                    &tenant, &seq, &"prune", &at, &count, &detail, &prev_hash, &hash,
                ],
            )
            .map_err(pg("recording an audit prune"))?;
            // Every partition of a month over by before_ms that no tenant has rows in any more goes,
            // this prune's months and those an earlier prune found busy alike.
            let failed = pg("dropping empty audit month partitions");
            let mut dropped = 0;
            for r in tx.query(PARTITION_NAMES, &[]).map_err(&failed)? {
                let name: String = r.try_get(0).map_err(&failed)?;
                let Some(month) = name.strip_prefix("audit_events_") else {
                    continue;
                };
                let (Some(lo), Some(hi)) = (month_start_ms(month), month_end_ms(month)) else {
                    continue;
                };
                if hi > before_ms {
                    continue;
                }
                let gone: bool = tx
                    .query_one("SELECT ppgov_audit_drop_month_if_empty($1)", &[&lo])
                    .and_then(|r| r.try_get(0))
                    .map_err(&failed)?;
                dropped += usize::from(gone);
            }
            tx.commit().map_err(pg("committing an audit prune"))?;
            tracing::info!(
                tenant_id = tenant,
                months = out.months.len(),
                events = out.events,
                partitions_dropped = dropped,
                "pruned audit months"
            );
            out.batch = seq;
            Ok(out)
        })
    }

    fn state(&self, key: &str) -> Result<Option<String>, StoreError> {
        off_runtime(|| self.state_value(key))
    }

    fn mark_for_refresh(
        &mut self,
        resources: &[ResourceRef],
        reason: &str,
    ) -> Result<usize, StoreError> {
        if let Some(store) = self.conn.marks.as_mut() {
            return EventStore::mark_for_refresh(store, resources, reason);
        }
        off_runtime(|| {
            let (client, tenant) = self.conn.live()?;
            insert_marks(client, tenant, resources, reason)
        })
    }

    fn set_state(&mut self, key: &str, value: &str) -> Result<(), StoreError> {
        off_runtime(|| {
            let (client, tenant) = self.conn.live()?;
            client
                .execute(SET_STATE, &[&tenant, &key, &value])
                .map_err(pg("setting an audit state value"))?;
            Ok(())
        })
    }

    fn save_alerts(
        &mut self,
        alerts: &[AlertRow],
        state: &[(&str, &str)],
    ) -> Result<(), StoreError> {
        off_runtime(|| {
            let (client, tenant) = self.conn.live()?;
            let mut tx = locked(client, tenant)?;
            let failed = pg("saving audit alerts");
            let at = now_text();
            for a in alerts {
                let old = tx
                    .query_opt(
                        "SELECT event_ids, first_seen, last_seen FROM audit_alerts
                         WHERE tenant_id = $1 AND key = $2",
                        &[&tenant, &a.key],
                    )
                    .map_err(&failed)?;
                let mut ids: BTreeSet<String> = a.event_ids.iter().cloned().collect();
                let (mut first, mut last) = (a.first_seen, a.last_seen);
                if let Some(r) = old {
                    let o: String = r.try_get(0).map_err(&failed)?;
                    let f: i64 = r.try_get(1).map_err(&failed)?;
                    let l: i64 = r.try_get(2).map_err(&failed)?;
                    ids.extend(crate::events_read::alert_ids(&a.key, &o)?);
                    first = first.min(f);
                    last = last.max(l);
                }
                let ids: Vec<String> = ids.into_iter().collect();
                let json = serde_json::to_string(&ids).map_err(|source| StoreError::Encode {
                    what: "alert event ids".into(),
                    source,
                })?;
                tx.execute(
                    "INSERT INTO audit_alerts (tenant_id, key, detection_id, severity, actor,
                        environment_id, first_seen, last_seen, event_ids, reason, updated_at)
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)
                     ON CONFLICT (tenant_id, key) DO UPDATE SET first_seen = excluded.first_seen,
                       last_seen = excluded.last_seen, event_ids = excluded.event_ids,
                       reason = excluded.reason, updated_at = excluded.updated_at",
                    &[
                        &tenant,
                        &a.key,
                        &a.detection_id,
                        &a.severity,
                        &a.actor,
                        &a.environment_id,
                        &first,
                        &last,
                        &json,
                        &a.reason,
                        &at,
                    ],
                )
                .map_err(&failed)?;
            }
            for (k, v) in state {
                tx.execute(SET_STATE, &[&tenant, k, v]).map_err(&failed)?;
            }
            tx.commit().map_err(pg("committing audit alerts"))
        })
    }

    fn alerts(
        &self,
        since_ms: Option<i64>,
        detection: Option<&str>,
    ) -> Result<Vec<AlertRow>, StoreError> {
        off_runtime(|| self.alert_rows(since_ms, detection))
    }

    fn event_stats(&self) -> Result<EventStats, StoreError> {
        off_runtime(|| self.stats())
    }
}
