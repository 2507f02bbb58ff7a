//! Audit events in monthly partitions of `audit_events`, under the same row-level security as
//! the jobs.
//!
//! A month's partition (`audit_events_YYYYMM`, UTC) is created on first use by the SQL function
//! `ppgov_audit_partition`, with a unique index on (tenant_id, id): an event delivered twice in
//! its month is stored once. Retention drops whole partitions, which is instant and leaves no
//! dead rows behind.

use ppgov_store::StoreError;

use crate::{PgStore, pg};

/// Makes sure the partitions for every time in $1 exist.
const PARTITIONS: &str =
    "SELECT count(DISTINCT ppgov_audit_partition(t)) FROM unnest($1::bigint[]) AS t";

const INSERT: &str = "INSERT INTO audit_events (tenant_id, id, time_ms, raw)
     SELECT $1, e.id, e.time_ms, e.raw
     FROM unnest($2::text[], $3::bigint[], $4::text[]) AS e(id, time_ms, raw)
     ON CONFLICT DO NOTHING";

const COUNT: &str = "SELECT count(*) FROM audit_events WHERE tenant_id = $1";

const PARTITION_NAMES: &str = "SELECT c.relname::text FROM pg_inherits i
     JOIN pg_class c ON c.oid = i.inhrelid
     WHERE i.inhparent = 'audit_events'::regclass
     ORDER BY c.relname";

/// The month (`YYYYMM`) of a partition's name, when it is one of ours.
fn month_of_partition(name: &str) -> Option<&str> {
    let month = name.strip_prefix("audit_events_")?;
    (month.len() == 6 && month.bytes().all(|b| b.is_ascii_digit())).then_some(month)
}

impl PgStore {
    /// Appends `events` (id, time in ms, raw JSON) of `tenant`, creating their months'
    /// partitions as needed. An event whose id is already stored for the tenant in the same
    /// month is skipped. Returns how many were new.
    pub fn append_events(
        &mut self,
        tenant: &str,
        events: &[(&str, i64, &str)],
    ) -> Result<u64, StoreError> {
        if events.is_empty() {
            return Ok(0);
        }
        let ids: Vec<&str> = events.iter().map(|e| e.0).collect();
        let times: Vec<i64> = events.iter().map(|e| e.1).collect();
        let raws: Vec<&str> = events.iter().map(|e| e.2).collect();
        let partitions = self.statement(PARTITIONS)?;
        let insert = self.statement(INSERT)?;
        let failed = pg("appending audit events");
        let mut tx = self.client.transaction().map_err(&failed)?;
        tx.query_one(&partitions, &[&times])
            .map_err(pg("creating audit month partitions"))?;
        let n = tx
            .execute(&insert, &[&tenant, &ids, &times, &raws])
            .map_err(&failed)?;
        tx.commit().map_err(&failed)?;
        Ok(n)
    }

    /// How many events of `tenant` are stored (what this connection may see of them).
    pub fn count_events(&mut self, tenant: &str) -> Result<i64, StoreError> {
        let stmt = self.statement(COUNT)?;
        let failed = pg("counting audit events");
        self.client
            .query_one(&stmt, &[&tenant])
            .map_err(&failed)?
            .try_get(0)
            .map_err(&failed)
    }

    /// The months (`YYYYMM`) that have a partition, oldest first.
    pub fn event_months(&mut self) -> Result<Vec<String>, StoreError> {
        let failed = pg("listing audit month partitions");
        let rows = self.client.query(PARTITION_NAMES, &[]).map_err(&failed)?;
        let mut months = Vec::new();
        for r in rows {
            let name: String = r.try_get(0).map_err(&failed)?;
            if let Some(m) = month_of_partition(&name) {
                months.push(m.to_owned());
            }
        }
        Ok(months)
    }

    /// Drops the partitions of every month before `month` (`YYYYMM`), for every tenant at once,
    /// and returns the months dropped. Only an unscoped connection may do this: a partition
    /// holds every tenant's events.
    pub fn drop_months_before(&mut self, month: &str) -> Result<Vec<String>, StoreError> {
        if !(month.len() == 6 && month.bytes().all(|b| b.is_ascii_digit())) {
            return Err(StoreError::PgRefused(format!(
                "`{}` is not an audit month; give it as YYYYMM, e.g. 202601",
                month.chars().take(20).collect::<String>()
            )));
        }
        if let Some(tenant) = &self.tenant_scope {
            return Err(StoreError::PgRefused(format!(
                "dropping audit months removes every tenant's events, and this connection is \
                 scoped to tenant `{tenant}`; drop months from the unscoped scheduler connection"
            )));
        }
        let failed = pg("dropping audit month partitions");
        let mut tx = self.client.transaction().map_err(&failed)?;
        let rows = tx.query(PARTITION_NAMES, &[]).map_err(&failed)?;
        let mut dropped = Vec::new();
        for r in rows {
            let name: String = r.try_get(0).map_err(&failed)?;
            let Some(m) = month_of_partition(&name) else {
                continue;
            };
            // YYYYMM strings order as their months do.
            if m < month {
                // The name is `audit_events_` and six digits, checked above: safe to splice.
                tx.batch_execute(&format!("DROP TABLE {name}"))
                    .map_err(&failed)?;
                dropped.push(m.to_owned());
            }
        }
        tx.commit().map_err(&failed)?;
        tracing::info!(
            before = month,
            dropped = dropped.len(),
            "dropped audit months"
        );
        Ok(dropped)
    }
}
