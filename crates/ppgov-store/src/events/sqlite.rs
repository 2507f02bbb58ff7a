//! The SQLite backend of the event store: one table per month `audit_events_YYYYMM`.

use super::chain::{
    BatchRecord, ChainVerifier, PartDigests, batch_hash, month_end_ms, month_of, now_text,
};
use super::*;
use crate::Store;
use rusqlite::{OptionalExtension, params};
use std::collections::BTreeMap;

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

/// The filter of a search or count over one month's table (parameters `search_params` binds).
const SEARCH: &str = "WHERE (?1 IS NULL OR time_ms >= ?1) AND (?2 IS NULL OR time_ms < ?2)
       AND (?3 IS NULL OR actor = lower(?3)) AND (?4 IS NULL OR lower(operation) = lower(?4))
       AND (?5 IS NULL OR lower(environment_id) = lower(?5))
       AND (?6 IS NULL OR lower(resource_id) = lower(?6))
       AND (?7 IS NULL OR risk = lower(?7)) AND (?8 IS NULL OR seq > ?8)";

fn search_params(f: &EventFilter) -> [&dyn rusqlite::ToSql; 8] {
    [
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

impl Store {
    /// The month tables a filter's time range can touch, in the order its search reads them.
    fn searched_months(&self, f: &EventFilter) -> Result<Vec<String>, StoreError> {
        let mut out = Vec::new();
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
            out.push(table(&month)?);
        }
        if f.newest_first {
            out.reverse();
        }
        Ok(out)
    }
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
        let mut parts = PartDigests::new();
        let mut months_seen = std::collections::BTreeSet::new();
        let mut seen = std::collections::HashSet::new();
        for e in events.iter_mut() {
            let month = month_of(e.time_ms);
            let t = table(&month)?;
            if !known.contains(&month) && !months_seen.contains(&month) {
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
            parts.add(&month, e);
            months_seen.insert(month);
            out.stored += 1;
        }
        if out.stored > 0 {
            let parts = parts.finish();
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
        let order = if f.newest_first {
            "time_ms DESC, id DESC"
        } else {
            "time_ms, id"
        };
        for t in self.searched_months(f)? {
            let mut st = self
                .conn
                .prepare_cached(&format!("SELECT {COLS} FROM {t} {SEARCH} ORDER BY {order}"))?;
            let rows = st.query_map(search_params(f), row_of)?;
            for r in rows {
                if out.len() >= limit {
                    return Ok(out);
                }
                out.push(r?);
            }
        }
        Ok(out)
    }

    fn count(&self, f: &EventFilter) -> Result<u64, StoreError> {
        let mut n: i64 = 0;
        for t in self.searched_months(f)? {
            let mut st = self
                .conn
                .prepare_cached(&format!("SELECT count(*) FROM {t} {SEARCH}"))?;
            n += st.query_row(search_params(f), |r| r.get::<_, i64>(0))?;
        }
        Ok(u64::try_from(n).unwrap_or(0))
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
        let months: BTreeMap<String, bool> = {
            let mut st = self
                .conn
                .prepare("SELECT month, pruned FROM audit_months")?;
            st.query_map([], |r| Ok((r.get(0)?, r.get::<_, i64>(1)? != 0)))?
                .collect::<Result<_, _>>()?
        };
        let mut v = ChainVerifier::new(months.clone());
        // Recompute every live month's digests per batch, in sequence order.
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
                v.missing_month(month);
                continue;
            }
            let mut st = self
                .conn
                .prepare(&format!("SELECT {COLS}, batch FROM {t} ORDER BY seq"))?;
            let mut rows = st.query([])?;
            while let Some(r) = rows.next()? {
                let e = row_of(r)?;
                let b: i64 = r.get(14)?;
                v.event(b, month, &e);
            }
        }
        let mut st = self.conn.prepare(
            "SELECT seq, kind, at, count, detail, prev_hash, hash FROM audit_batches ORDER BY seq",
        )?;
        let mut batches: Vec<BatchRecord> = st
            .query_map([], |r| {
                Ok(BatchRecord {
                    seq: r.get(0)?,
                    kind: r.get(1)?,
                    at: r.get(2)?,
                    count: r.get(3)?,
                    detail: r.get(4)?,
                    prev_hash: r.get(5)?,
                    hash: r.get(6)?,
                    parts: Vec::new(),
                })
            })?
            .collect::<Result<_, _>>()?;
        let mut parts_st = self.conn.prepare(
            "SELECT month, count, digest FROM audit_batch_parts WHERE batch = ?1 ORDER BY month",
        )?;
        for b in &mut batches {
            b.parts = parts_st
                .query_map([b.seq], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?
                .collect::<Result<_, _>>()?;
        }
        Ok(v.finish(&batches))
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

#[cfg(test)]
mod tests {
    use crate::Store;

    #[test]
    fn the_event_store_contract() {
        // The same checks the PostgreSQL store runs, each on a fresh store.
        for (name, check) in crate::contract_events::EVENT_CHECKS {
            let mut s = Store::open_in_memory().unwrap();
            eprintln!("check {name}");
            check(&mut s);
        }
    }
}
