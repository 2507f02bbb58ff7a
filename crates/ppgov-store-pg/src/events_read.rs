//! The reads of [`PgEventStore`]: search, the time-ordered scan, verification (rows fetched
//! here, checked by `ppgov_store::event_chain`), state, alerts and figures.

use std::collections::BTreeMap;

use postgres::{IsolationLevel, Row};
use ppgov_store::event_chain::{BatchRecord, ChainVerifier, Part, month_of};
use ppgov_store::{AlertRow, EventFilter, EventRow, EventStats, StoreError, VerifyReport};

use crate::events::{PgEventStore, months};
use crate::pg;

/// Events read per query by `scan_after` and `verify`, so neither holds a month in memory.
const CHUNK: i64 = 10_000;

const COLS: &str = "seq, id, time_ms, record_type, operation, workload, actor, environment_id, \
                    resource_kind, resource_id, client_ip, risk, attrs, raw";

/// The columns without the raw record (detection never reads it; it is most of the bytes).
const LIGHT_COLS: &str = "seq, id, time_ms, record_type, operation, workload, actor, \
                          environment_id, resource_kind, resource_id, client_ip, risk, attrs, \
                          ''::text";

/// The filter of a search or count (parameters 1 to 9 as `filter_params` binds them).
const FILTER: &str = "WHERE tenant_id = $1
       AND ($2::bigint IS NULL OR time_ms >= $2) AND ($3::bigint IS NULL OR time_ms < $3)
       AND ($4::text IS NULL OR actor = lower($4))
       AND ($5::text IS NULL OR lower(operation) = lower($5))
       AND ($6::text IS NULL OR lower(environment_id) = lower($6))
       AND ($7::text IS NULL OR lower(resource_id) = lower($7))
       AND ($8::text IS NULL OR risk = lower($8)) AND ($9::bigint IS NULL OR seq > $9)";

fn filter_params<'a>(
    tenant: &'a String,
    f: &'a EventFilter,
) -> Vec<&'a (dyn postgres::types::ToSql + Sync)> {
    vec![
        tenant,
        &f.since_ms,
        &f.until_ms,
        &f.actor,
        &f.operation,
        &f.environment_id,
        &f.resource_id,
        &f.risk,
        &f.after_seq,
    ]
}

fn event_of(r: &Row) -> Result<EventRow, postgres::Error> {
    Ok(EventRow {
        seq: r.try_get(0)?,
        id: r.try_get(1)?,
        time_ms: r.try_get(2)?,
        record_type: r.try_get(3)?,
        operation: r.try_get(4)?,
        workload: r.try_get(5)?,
        actor: r.try_get(6)?,
        environment_id: r.try_get(7)?,
        resource_kind: r.try_get(8)?,
        resource_id: r.try_get(9)?,
        client_ip: r.try_get(10)?,
        risk: r.try_get(11)?,
        attrs: r.try_get(12)?,
        raw: r.try_get(13)?,
    })
}

/// The event ids of a stored alert (a JSON array of strings).
pub(crate) fn alert_ids(key: &str, json: &str) -> Result<Vec<String>, StoreError> {
    serde_json::from_str(json).map_err(|source| StoreError::Decode {
        snapshot: "-".into(),
        kind: "audit alert".into(),
        id: key.to_string(),
        source,
    })
}

impl PgEventStore {
    pub(crate) fn search_events(&self, f: &EventFilter) -> Result<Vec<EventRow>, StoreError> {
        let limit = f.limit.map(|l| i64::try_from(l).unwrap_or(i64::MAX));
        let order = if f.newest_first {
            "time_ms DESC, id DESC"
        } else {
            "time_ms, id"
        };
        let failed = pg("searching audit events");
        let mut params = filter_params(&self.conn.tenant, f);
        params.push(&limit);
        let rows = self
            .client()?
            .query(
                &format!("SELECT {COLS} FROM audit_events {FILTER} ORDER BY {order} LIMIT $10"),
                &params,
            )
            .map_err(&failed)?;
        rows.iter().map(|r| event_of(r).map_err(&failed)).collect()
    }

    pub(crate) fn count_events(&self, f: &EventFilter) -> Result<u64, StoreError> {
        let failed = pg("counting audit events");
        let n: i64 = self
            .client()?
            .query_one(
                &format!("SELECT count(*) FROM audit_events {FILTER}"),
                &filter_params(&self.conn.tenant, f),
            )
            .and_then(|r| r.try_get(0))
            .map_err(&failed)?;
        Ok(u64::try_from(n).unwrap_or(0))
    }

    pub(crate) fn scan_events(
        &self,
        after_seq: i64,
        f: &mut dyn FnMut(EventRow) -> Result<(), StoreError>,
    ) -> Result<usize, StoreError> {
        let failed = pg("scanning audit events");
        let sql = format!(
            "SELECT {LIGHT_COLS} FROM audit_events
             WHERE tenant_id = $1 AND seq > $2
               AND ($3::bigint IS NULL OR (time_ms, id) > ($3, $4::text))
             ORDER BY time_ms, id LIMIT $5"
        );
        let mut n = 0;
        let mut from: (Option<i64>, String) = (None, String::new());
        loop {
            // The client is let go before the callback runs; each chunk starts after the last
            // event seen, in (time, id) order.
            let rows = self
                .client()?
                .query(
                    &sql,
                    &[&self.conn.tenant, &after_seq, &from.0, &from.1, &CHUNK],
                )
                .map_err(&failed)?;
            let full = rows.len() as i64 == CHUNK;
            for r in &rows {
                let e = event_of(r).map_err(&failed)?;
                from = (Some(e.time_ms), e.id.clone());
                f(e)?;
                n += 1;
            }
            if !full {
                return Ok(n);
            }
        }
    }

    pub(crate) fn verify_chain(&self) -> Result<VerifyReport, StoreError> {
        let mut client = self.client()?;
        // One snapshot for every read, so an append committing meanwhile is all in or all out.
        let mut tx = client
            .build_transaction()
            .isolation_level(IsolationLevel::RepeatableRead)
            .read_only(true)
            .start()
            .map_err(pg("starting the audit verification"))?;
        let tenant = self.conn.tenant.as_str();
        let months = months(&mut tx, tenant)?;
        let mut v = ChainVerifier::new(months.clone());
        let part_failed = pg("looking up an audit month partition");
        for (m, pruned) in &months {
            if *pruned {
                continue;
            }
            let exists: bool = tx
                .query_one(
                    "SELECT to_regclass('audit_events_' || $1) IS NOT NULL",
                    &[m],
                )
                .and_then(|r| r.try_get(0))
                .map_err(&part_failed)?;
            if !exists {
                v.missing_month(m);
            }
        }
        let failed = pg("reading audit events to verify");
        let sql = format!(
            "SELECT {COLS}, batch FROM audit_events WHERE tenant_id = $1 AND seq > $2
             ORDER BY seq LIMIT $3"
        );
        let mut after = i64::MIN;
        loop {
            let rows = tx
                .query(&sql, &[&tenant, &after, &CHUNK])
                .map_err(&failed)?;
            for r in &rows {
                let e = event_of(r).map_err(&failed)?;
                let batch: i64 = r.try_get(14).map_err(&failed)?;
                after = e.seq;
                v.event(batch, &month_of(e.time_ms), &e);
            }
            if (rows.len() as i64) < CHUNK {
                break;
            }
        }
        let failed = pg("reading the audit chain");
        let mut parts: BTreeMap<i64, Vec<Part>> = BTreeMap::new();
        for r in tx
            .query(
                "SELECT batch, month, count, digest FROM audit_batch_parts WHERE tenant_id = $1
                 ORDER BY batch, month",
                &[&tenant],
            )
            .map_err(&failed)?
        {
            let b: i64 = r.try_get(0).map_err(&failed)?;
            parts.entry(b).or_default().push((
                r.try_get(1).map_err(&failed)?,
                r.try_get(2).map_err(&failed)?,
                r.try_get(3).map_err(&failed)?,
            ));
        }
        let mut batches = Vec::new();
        for r in tx
            .query(
                "SELECT seq, kind, at, count, detail, prev_hash, hash FROM audit_batches
                 WHERE tenant_id = $1 ORDER BY seq",
                &[&tenant],
            )
            .map_err(&failed)?
        {
            let seq: i64 = r.try_get(0).map_err(&failed)?;
            batches.push(BatchRecord {
                seq,
                kind: r.try_get(1).map_err(&failed)?,
                at: r.try_get(2).map_err(&failed)?,
                count: r.try_get(3).map_err(&failed)?,
                detail: r.try_get(4).map_err(&failed)?,
                prev_hash: r.try_get(5).map_err(&failed)?,
                hash: r.try_get(6).map_err(&failed)?,
                parts: parts.remove(&seq).unwrap_or_default(),
            });
        }
        tx.commit().map_err(pg("ending the audit verification"))?;
        Ok(v.finish(&batches))
    }

    pub(crate) fn state_value(&self, key: &str) -> Result<Option<String>, StoreError> {
        let failed = pg("reading an audit state value");
        self.client()?
            .query_opt(
                "SELECT value FROM audit_state WHERE tenant_id = $1 AND key = $2",
                &[&self.conn.tenant, &key],
            )
            .map_err(&failed)?
            .map(|r| r.try_get(0))
            .transpose()
            .map_err(&failed)
    }

    pub(crate) fn alert_rows(
        &self,
        since_ms: Option<i64>,
        detection: Option<&str>,
    ) -> Result<Vec<AlertRow>, StoreError> {
        let failed = pg("reading audit alerts");
        let rows = self
            .client()?
            .query(
                "SELECT key, detection_id, severity, actor, environment_id, first_seen,
                        last_seen, event_ids, reason
                 FROM audit_alerts WHERE tenant_id = $1
                   AND ($2::bigint IS NULL OR last_seen >= $2)
                   AND ($3::text IS NULL OR detection_id = $3)
                 ORDER BY last_seen DESC, key",
                &[&self.conn.tenant, &since_ms, &detection],
            )
            .map_err(&failed)?;
        let mut out = Vec::with_capacity(rows.len());
        for r in &rows {
            let key: String = r.try_get(0).map_err(&failed)?;
            let ids: String = r.try_get(7).map_err(&failed)?;
            out.push(AlertRow {
                event_ids: alert_ids(&key, &ids)?,
                key,
                detection_id: r.try_get(1).map_err(&failed)?,
                severity: r.try_get(2).map_err(&failed)?,
                actor: r.try_get(3).map_err(&failed)?,
                environment_id: r.try_get(4).map_err(&failed)?,
                first_seen: r.try_get(5).map_err(&failed)?,
                last_seen: r.try_get(6).map_err(&failed)?,
                reason: r.try_get(8).map_err(&failed)?,
            });
        }
        Ok(out)
    }

    /// The tenant's event count and the bytes of its event rows (column sizes, without
    /// indexes: partitions are shared, so their file sizes are no one tenant's).
    pub(crate) fn stats(&self) -> Result<EventStats, StoreError> {
        let failed = pg("counting audit events");
        let r = self
            .client()?
            .query_one(
                "SELECT count(*), COALESCE(sum(pg_column_size(e.*)), 0)::bigint
                 FROM audit_events e WHERE tenant_id = $1",
                &[&self.conn.tenant],
            )
            .map_err(&failed)?;
        let events: i64 = r.try_get(0).map_err(&failed)?;
        let bytes: i64 = r.try_get(1).map_err(&failed)?;
        Ok(EventStats {
            events: u64::try_from(events).unwrap_or(0),
            bytes: u64::try_from(bytes).unwrap_or(0),
        })
    }
}
