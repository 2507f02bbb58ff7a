//! A batch of writes to one snapshot on PostgreSQL: one transaction on the store's connection,
//! committed by [`SnapshotBatch::commit`] and rolled back when dropped without it (a crawl that
//! dies or panics mid-batch leaves nothing of it). Each call is one statement, or two when it
//! stores documents: rows go in as arrays (`unnest`), not one statement per row.
//!
//! A failed statement aborts the transaction, so after an error every later call of the batch
//! fails too: drop it and start another (the SQLite batch would take more writes).
//!
//! Documents are stored within the batch, so a dropped batch leaves none behind; the price is
//! that two open batches of one tenant storing the same new document wait for one another: the
//! second waits at that document until the first commits or rolls back.

use std::collections::{HashMap, HashSet};

use postgres::error::SqlState;
use postgres::types::ToSql;
use postgres::{Client, Statement, Transaction};
use ppgov_core::{CollectionEntry, CollectionScope};
use ppgov_store::stored_time::{from_text, to_text};
use ppgov_store::{
    ParentRow, ResourceRow, ShardState, SnapshotBatch, SnapshotId, StoreError, StoreKind,
};

use crate::events::off_runtime;
use crate::pg;
use crate::snapshots::violation;

/// Documents of a tenant, stored once per content.
const PUT_BODIES: &str = "INSERT INTO bodies (tenant_id, hash, json)
     SELECT $1, h, j FROM unnest($2::bytea[], $3::text[]) AS u (h, j)
     ON CONFLICT (tenant_id, hash) DO NOTHING";

const PUT_ROWS: &str = "INSERT INTO resources
         (tenant_id, snapshot_id, kind, id, environment_id, last_modified, body)
     SELECT $1, $2, k, i, e, m, h
       FROM unnest($3::text[], $4::text[], $5::text[], $6::text[], $7::bytea[]) AS u (k, i, e, m, h)
     ON CONFLICT (snapshot_id, kind, id) DO UPDATE SET environment_id = excluded.environment_id,
         last_modified = excluded.last_modified, body = excluded.body";

const COPY_ROWS: &str = "INSERT INTO resources
         (tenant_id, snapshot_id, kind, id, environment_id, last_modified, body)
     SELECT $1, $2, kind, id, environment_id, last_modified, body FROM resources
      WHERE snapshot_id = $3 AND kind = $4 AND id = ANY($5::text[])
     ON CONFLICT (snapshot_id, kind, id) DO NOTHING";

const PARENT_ROW: &str = "SELECT r.environment_id, r.last_modified, b.json FROM resources r
       JOIN bodies b ON b.tenant_id = r.tenant_id AND b.hash = r.body
      WHERE r.snapshot_id = $1 AND r.kind = $2 AND r.id = $3";

/// A later entry for the same scope and kind replaces it with a new `seq`: it moves to the end.
const RECORD: &str = "INSERT INTO collection (tenant_id, snapshot_id, scope, kind, json)
     VALUES ($1, $2, $3, $4, $5)
     ON CONFLICT (snapshot_id, scope, kind) DO UPDATE SET json = excluded.json, seq = excluded.seq";

const MARK: &str =
    "INSERT INTO checkpoints (tenant_id, snapshot_id, shard, state, cursor, updated_at)
     VALUES ($1, $2, $3, $4, $5, $6)
     ON CONFLICT (snapshot_id, shard) DO UPDATE SET state = excluded.state,
         cursor = excluded.cursor, updated_at = excluded.updated_at";

/// Open writes to one snapshot of the store's tenant (see the module documentation).
pub(crate) struct PgSnapshotBatch<'a> {
    /// `None` once committed or dropped.
    tx: Option<Transaction<'a>>,
    tenant: &'a str,
    snapshot: SnapshotId,
    statements: HashMap<&'static str, Statement>,
}

/// The stored form of a collection scope: `tenant` or `env:<id>`, as in the SQLite store.
fn scope_key(scope: &CollectionScope) -> String {
    match scope {
        CollectionScope::Tenant => "tenant".to_string(),
        CollectionScope::Environment(id) => format!("env:{id}"),
    }
}

/// The key of a document: its SHA-256, as in the SQLite store.
fn digest(json: &str) -> Vec<u8> {
    use sha2::Digest;
    sha2::Sha256::digest(json.as_bytes()).to_vec()
}

fn shard_state(s: ShardState) -> &'static str {
    match s {
        ShardState::Done => "done",
        ShardState::Pending => "pending",
    }
}

impl<'a> PgSnapshotBatch<'a> {
    pub(crate) fn begin(
        client: &'a mut Client,
        tenant: &'a str,
        snapshot: &SnapshotId,
    ) -> Result<PgSnapshotBatch<'a>, StoreError> {
        let tx = off_runtime(|| client.transaction()).map_err(pg("starting a snapshot batch"))?;
        Ok(PgSnapshotBatch {
            tx: Some(tx),
            tenant,
            snapshot: snapshot.clone(),
            statements: HashMap::new(),
        })
    }

    /// Runs `sql` (prepared once per batch) in the batch's transaction; a foreign-key failure
    /// on the snapshot means it was never begun (or is another tenant's): says that.
    fn run<T>(
        &mut self,
        sql: &'static str,
        context: &'static str,
        params: &[&(dyn ToSql + Sync)],
        f: impl FnOnce(
            &mut Transaction<'a>,
            &Statement,
            &[&(dyn ToSql + Sync)],
        ) -> Result<T, postgres::Error>,
    ) -> Result<T, StoreError> {
        let snapshot = &self.snapshot;
        let tx = self
            .tx
            .as_mut()
            .ok_or_else(|| StoreError::PgRefused("the snapshot batch is finished".into()))?;
        off_runtime(|| {
            let statement = match self.statements.get(sql) {
                Some(s) => s.clone(),
                None => {
                    let s = tx.prepare(sql).map_err(pg(context))?;
                    self.statements.insert(sql, s.clone());
                    s
                }
            };
            f(tx, &statement, params).map_err(|e| match violation(&e) {
                Some((&SqlState::FOREIGN_KEY_VIOLATION, Some(c))) if c.ends_with("_snapshot") => {
                    StoreError::UnknownSnapshot(snapshot.0.clone())
                }
                _ => pg(context)(e),
            })
        })
    }
}

impl SnapshotBatch for PgSnapshotBatch<'_> {
    fn put_resources(&mut self, rows: &[ResourceRow]) -> Result<(), StoreError> {
        if rows.is_empty() {
            return Ok(());
        }
        // One statement cannot update a row twice: of rows with the same key, the last wins, as
        // it does when they are written one after another.
        let mut seen = HashSet::new();
        let mut last: Vec<&ResourceRow> = rows
            .iter()
            .rev()
            .filter(|r| seen.insert((r.kind, r.id.as_str())))
            .collect();
        last.reverse();
        let hashes: Vec<Vec<u8>> = last.iter().map(|r| digest(&r.json)).collect();
        // In hash order: two batches storing the same documents wait for one another (a body
        // being inserted by an open transaction holds back the other until it ends), always in
        // the same order, so they queue instead of deadlocking.
        let mut bodies: Vec<(&[u8], &str)> = hashes
            .iter()
            .zip(&last)
            .map(|(h, r)| (h.as_slice(), r.json.as_str()))
            .collect();
        bodies.sort_unstable_by(|a, b| a.0.cmp(b.0));
        bodies.dedup_by(|a, b| a.0 == b.0);
        let (body_hashes, body_json): (Vec<&[u8]>, Vec<&str>) = bodies.into_iter().unzip();
        let tenant = self.tenant;
        self.run(
            PUT_BODIES,
            "storing documents",
            &[&tenant, &body_hashes, &body_json],
            |tx, s, p| tx.execute(s, p),
        )?;
        let kinds: Vec<&str> = last.iter().map(|r| r.kind.as_str()).collect();
        let ids: Vec<&str> = last.iter().map(|r| r.id.as_str()).collect();
        let envs: Vec<Option<&str>> = last.iter().map(|r| r.environment_id.as_deref()).collect();
        let times: Vec<Option<String>> =
            last.iter().map(|r| r.last_modified.map(to_text)).collect();
        let snapshot = self.snapshot.0.clone();
        self.run(
            PUT_ROWS,
            "writing resources",
            &[&tenant, &snapshot, &kinds, &ids, &envs, &times, &hashes],
            |tx, s, p| tx.execute(s, p),
        )?;
        Ok(())
    }

    fn copy_unchanged(
        &mut self,
        from: &SnapshotId,
        kind: StoreKind,
        ids: &[String],
    ) -> Result<usize, StoreError> {
        if ids.is_empty() {
            return Ok(0);
        }
        let (tenant, snapshot) = (self.tenant, self.snapshot.0.clone());
        let n = self.run(
            COPY_ROWS,
            "carrying resources forward",
            &[&tenant, &snapshot, &from.0, &kind.as_str(), &ids],
            |tx, s, p| tx.execute(s, p),
        )?;
        Ok(usize::try_from(n).unwrap_or(usize::MAX))
    }

    fn parent_row(
        &mut self,
        from: &SnapshotId,
        kind: StoreKind,
        id: &str,
    ) -> Result<Option<ParentRow>, StoreError> {
        let row = self.run(
            PARENT_ROW,
            "reading a parent row",
            &[&from.0, &kind.as_str(), &id],
            |tx, s, p| tx.query_opt(s, p),
        )?;
        let Some(row) = row else {
            return Ok(None);
        };
        let failed = pg("reading a parent row");
        let env: Option<String> = row.try_get(0).map_err(&failed)?;
        let lm: Option<&str> = row.try_get(1).map_err(&failed)?;
        let json: &str = row.try_get(2).map_err(&failed)?;
        let doc = serde_json::from_str(json).map_err(|source| StoreError::Decode {
            snapshot: from.0.clone(),
            kind: kind.as_str().to_string(),
            id: id.to_string(),
            source,
        })?;
        let lm = lm
            .map(|t| from_text("resources.last_modified", t))
            .transpose()?;
        Ok(Some((env, lm, doc)))
    }

    fn record_collection(&mut self, entry: &CollectionEntry) -> Result<(), StoreError> {
        let scope = scope_key(&entry.scope);
        let kind = serde_json::to_value(entry.kind)
            .ok()
            .and_then(|v| v.as_str().map(str::to_string))
            .unwrap_or_default();
        let json = serde_json::to_string(entry).map_err(|source| StoreError::Encode {
            what: format!("collection entry {scope} {kind}"),
            source,
        })?;
        let (tenant, snapshot) = (self.tenant, self.snapshot.0.clone());
        self.run(
            RECORD,
            "recording a collection outcome",
            &[&tenant, &snapshot, &scope, &kind, &json],
            |tx, s, p| tx.execute(s, p),
        )?;
        Ok(())
    }

    fn mark_shard(
        &mut self,
        key: &str,
        state: ShardState,
        cursor: Option<&str>,
    ) -> Result<(), StoreError> {
        let (tenant, snapshot) = (self.tenant, self.snapshot.0.clone());
        self.run(
            MARK,
            "marking a shard",
            &[
                &tenant,
                &snapshot,
                &key,
                &shard_state(state),
                &cursor,
                &to_text(chrono::Utc::now()),
            ],
            |tx, s, p| tx.execute(s, p),
        )?;
        Ok(())
    }

    fn commit(mut self: Box<Self>) -> Result<(), StoreError> {
        let tx = self
            .tx
            .take()
            .ok_or_else(|| StoreError::PgRefused("the snapshot batch is finished".into()))?;
        // Statements go before the transaction's borrow of the client ends.
        let statements = std::mem::take(&mut self.statements);
        off_runtime(|| {
            drop(statements);
            tx.commit()
        })
        .map_err(pg("committing a snapshot batch"))
    }
}

/// Rolls back what was not committed; the client blocks on its runtime, so off the async
/// runtime's worker, as every call.
impl Drop for PgSnapshotBatch<'_> {
    fn drop(&mut self) {
        let statements = std::mem::take(&mut self.statements);
        let tx = self.tx.take();
        off_runtime(|| {
            drop(statements);
            drop(tx);
        });
    }
}
