//! Snapshots on PostgreSQL: [`PgSnapshots`] implements [`ppgov_store::Snapshots`] for one tenant
//! with the SQLite store's semantics, checked by the same contract
//! (`ppgov_store::contract_snapshots`), so instances on several machines crawl into and read
//! from one database. Batches of writes are in `snapshots_batch.rs`.
//!
//! The tables (`snapshots`, `resources`, `bodies`, `collection`, `checkpoints`, migration 6) hold
//! every tenant's rows under the tenant policy, and the connection is scoped to the store's
//! tenant: a snapshot of another tenant is not found (the policy hides it), rows can only be
//! written into a snapshot of the store's tenant (they reference the snapshot with its tenant),
//! and [`Snapshots::begin_snapshot_with`] for another tenant is refused with
//! [`StoreError::PgRefused`] before anything is sent. Documents are stored once per tenant and
//! content; deleting a snapshot drops the tenant's documents no row references any more.
//! Refresh marks are the tenant's rows of `refresh_marks` (migration 3), where
//! [`crate::PgEventStore`] and [`crate::PgRecords`] put them unless given an embedded store.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use postgres::error::SqlState;
use postgres::fallible_iterator::FallibleIterator;
use postgres::types::ToSql;
use ppgov_core::{CollectionEntry, CollectionStatus, ResourceKind};
use ppgov_store::stored_time::{from_text, to_text};
use ppgov_store::{
    RefreshMark, Shard, ShardState, SnapshotBatch, SnapshotId, SnapshotInfo, SnapshotKind,
    SnapshotStatus, Snapshots, StoreError, StoreKind,
};
use serde_json::Value;

use crate::events::off_runtime;
use crate::pg;
use crate::snapshots_batch::PgSnapshotBatch;
use crate::tenant_conn::TenantConn;

/// The snapshots of one tenant on PostgreSQL.
///
/// [`Snapshots`] reads through `&self` while the client needs `&mut`, so the client sits in a
/// `RefCell`, as in [`crate::PgRecords`]: the store is `Send`, not `Sync`, and a call made while
/// another holds the client (from inside an [`Snapshots::each_document`] callback) is refused with
/// an error, never a panic.
pub struct PgSnapshots {
    conn: TenantConn,
}

impl std::fmt::Debug for PgSnapshots {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PgSnapshots")
            .field("tenant", &self.conn.tenant)
            .finish_non_exhaustive()
    }
}

impl PgSnapshots {
    /// Connects to `url` (as [`crate::PgStore::connect`] does: migrations first, no TLS) and
    /// scopes the session to `tenant` through `app.tenant`; the role must be subject to
    /// row-level security.
    pub fn connect(url: &str, tenant: &str) -> Result<PgSnapshots, StoreError> {
        Ok(PgSnapshots {
            conn: TenantConn::connect(url, tenant, "snapshot store")?,
        })
    }

    /// The tenant this store holds the snapshots of.
    pub fn tenant(&self) -> &str {
        &self.conn.tenant
    }

    /// True once the client has seen the connection close; every call then fails.
    pub fn is_closed(&self) -> bool {
        self.conn.is_closed()
    }
}

const INFO_COLUMNS: &str = "id, tenant_id, started_at, finished_at, status, kind, parent_id";

fn info_of(r: &postgres::Row) -> Result<SnapshotInfo, StoreError> {
    let failed = pg("reading a snapshot");
    let started: String = r.try_get(2).map_err(&failed)?;
    let finished: Option<String> = r.try_get(3).map_err(&failed)?;
    let status: String = r.try_get(4).map_err(&failed)?;
    let kind: String = r.try_get(5).map_err(&failed)?;
    let parent: Option<String> = r.try_get(6).map_err(&failed)?;
    Ok(SnapshotInfo {
        id: SnapshotId(r.try_get(0).map_err(&failed)?),
        tenant_id: r.try_get(1).map_err(&failed)?,
        started_at: from_text("snapshots.started_at", &started)?,
        finished_at: finished
            .map(|f| from_text("snapshots.finished_at", &f))
            .transpose()?,
        status: status_of(&status)?,
        kind: kind_of(&kind)?,
        parent: parent.map(SnapshotId),
    })
}

fn status_of(s: &str) -> Result<SnapshotStatus, StoreError> {
    match s {
        "running" => Ok(SnapshotStatus::Running),
        "complete" => Ok(SnapshotStatus::Complete),
        "failed" => Ok(SnapshotStatus::Failed),
        _ => Err(StoreError::BadValue {
            column: "snapshots.status",
            value: s.to_string(),
        }),
    }
}

fn kind_of(s: &str) -> Result<SnapshotKind, StoreError> {
    match s {
        "full" => Ok(SnapshotKind::Full),
        "incremental" => Ok(SnapshotKind::Incremental),
        _ => Err(StoreError::BadValue {
            column: "snapshots.kind",
            value: s.to_string(),
        }),
    }
}

fn resource_kind_of(s: &str) -> Result<ResourceKind, StoreError> {
    serde_json::from_value(Value::String(s.to_string())).map_err(|_| StoreError::BadValue {
        column: "refresh_marks.kind",
        value: s.to_string(),
    })
}

/// The server's error code of `e`, and the constraint it names.
pub(crate) fn violation(e: &postgres::Error) -> Option<(&SqlState, Option<&str>)> {
    e.code()
        .map(|c| (c, e.as_db_error().and_then(|d| d.constraint())))
}

impl PgSnapshots {
    fn one_info(
        &self,
        sql: &str,
        params: &[&(dyn ToSql + Sync)],
    ) -> Result<Option<SnapshotInfo>, StoreError> {
        off_runtime(|| {
            let row = self
                .conn
                .client()?
                .query_opt(sql, params)
                .map_err(pg("reading a snapshot"))?;
            row.as_ref().map(info_of).transpose()
        })
    }
}

impl Snapshots for PgSnapshots {
    fn begin_snapshot_with(
        &mut self,
        id: &SnapshotId,
        tenant_id: &str,
        started_at: DateTime<Utc>,
        kind: SnapshotKind,
        parent: Option<&SnapshotId>,
    ) -> Result<(), StoreError> {
        if tenant_id != self.conn.tenant {
            return Err(StoreError::PgRefused(format!(
                "this postgresql snapshot store is scoped to tenant `{}` and begins no snapshot \
                 of tenant `{tenant_id}`; connect one scoped to that tenant",
                self.conn.tenant
            )));
        }
        off_runtime(|| {
            let (client, tenant) = self.conn.live()?;
            let failed = pg("beginning a snapshot");
            if client
                .query_opt("SELECT 1 FROM snapshots WHERE id = $1", &[&id.0])
                .map_err(&failed)?
                .is_some()
            {
                return Err(StoreError::SnapshotExists(id.0.clone()));
            }
            if let Some(p) = parent
                && client
                    .query_opt("SELECT 1 FROM snapshots WHERE id = $1", &[&p.0])
                    .map_err(&failed)?
                    .is_none()
            {
                return Err(StoreError::UnknownSnapshot(p.0.clone()));
            }
            client
                .execute(
                    "INSERT INTO snapshots (id, tenant_id, started_at, finished_at, status, kind, parent_id)
                     VALUES ($1, $2, $3, NULL, 'running', $4, $5)",
                    &[
                        &id.0,
                        &tenant,
                        &to_text(started_at),
                        &kind.as_str(),
                        &parent.map(|p| p.0.as_str()),
                    ],
                )
                .map_err(|e| match violation(&e) {
                    // Taken meanwhile, or by a snapshot of another tenant (ids are global).
                    Some((&SqlState::UNIQUE_VIOLATION, _)) => {
                        StoreError::SnapshotExists(id.0.clone())
                    }
                    // The parent was deleted meanwhile.
                    Some((&SqlState::FOREIGN_KEY_VIOLATION, _)) => StoreError::UnknownSnapshot(
                        parent.map_or_else(String::new, |p| p.0.clone()),
                    ),
                    _ => failed(e),
                })?;
            Ok(())
        })
    }

    fn finish_snapshot(
        &mut self,
        id: &SnapshotId,
        status: SnapshotStatus,
    ) -> Result<(), StoreError> {
        off_runtime(|| {
            let (client, _) = self.conn.live()?;
            let n = client
                .execute(
                    "UPDATE snapshots SET status = $2, finished_at = $3 WHERE id = $1",
                    &[&id.0, &status.as_str(), &to_text(Utc::now())],
                )
                .map_err(pg("finishing a snapshot"))?;
            if n == 0 {
                return Err(StoreError::UnknownSnapshot(id.0.clone()));
            }
            Ok(())
        })
    }

    fn snapshot_info(&self, id: &SnapshotId) -> Result<Option<SnapshotInfo>, StoreError> {
        self.one_info(
            &format!("SELECT {INFO_COLUMNS} FROM snapshots WHERE id = $1"),
            &[&id.0],
        )
    }

    fn latest_snapshot(
        &self,
        tenant_id: &str,
        complete_only: bool,
    ) -> Result<Option<SnapshotInfo>, StoreError> {
        let filter = if complete_only {
            "AND status = 'complete'"
        } else {
            ""
        };
        self.one_info(
            &format!(
                "SELECT {INFO_COLUMNS} FROM snapshots WHERE tenant_id = $1 {filter}
                 ORDER BY started_at DESC, seq DESC LIMIT 1"
            ),
            &[&tenant_id],
        )
    }

    fn unfinished_snapshot(&self, tenant_id: &str) -> Result<Option<SnapshotInfo>, StoreError> {
        self.one_info(
            &format!(
                "SELECT {INFO_COLUMNS} FROM snapshots WHERE tenant_id = $1 AND status = 'running'
                 ORDER BY started_at DESC, seq DESC LIMIT 1"
            ),
            &[&tenant_id],
        )
    }

    fn list_snapshots(&self, tenant_id: Option<&str>) -> Result<Vec<SnapshotInfo>, StoreError> {
        off_runtime(|| {
            let rows = self
                .conn
                .client()?
                .query(
                    &format!(
                        "SELECT {INFO_COLUMNS} FROM snapshots
                         WHERE $1::text IS NULL OR tenant_id = $1
                         ORDER BY started_at DESC, seq DESC"
                    ),
                    &[&tenant_id],
                )
                .map_err(pg("listing snapshots"))?;
            rows.iter().map(info_of).collect()
        })
    }

    fn delete_snapshot(&mut self, id: &SnapshotId) -> Result<(), StoreError> {
        off_runtime(|| {
            let (client, tenant) = self.conn.live()?;
            let failed = pg("deleting a snapshot");
            let mut tx = client.transaction().map_err(&failed)?;
            let mut held: Vec<Vec<u8>> = tx
                .query(
                    "DELETE FROM resources WHERE snapshot_id = $1 RETURNING body",
                    &[&id.0],
                )
                .map_err(&failed)?
                .iter()
                .map(|r| r.try_get(0))
                .collect::<Result<_, _>>()
                .map_err(&failed)?;
            let n = tx
                .execute("DELETE FROM snapshots WHERE id = $1", &[&id.0])
                .map_err(&failed)?;
            if n == 0 {
                return Err(StoreError::UnknownSnapshot(id.0.clone()));
            }
            held.sort_unstable();
            held.dedup();
            // Documents no row references any more. A batch committing a row that references
            // one of them at this moment makes the delete fail on the foreign key: the document
            // stays (it is held again) and the snapshot still goes.
            let mut sp = tx.savepoint("bodies").map_err(&failed)?;
            match sp.execute(
                "DELETE FROM bodies b WHERE b.tenant_id = $1 AND b.hash = ANY($2)
                   AND NOT EXISTS (SELECT 1 FROM resources r
                                   WHERE r.tenant_id = b.tenant_id AND r.body = b.hash)",
                &[&tenant, &held],
            ) {
                Ok(_) => sp.commit().map_err(&failed)?,
                Err(e) if e.code() == Some(&SqlState::FOREIGN_KEY_VIOLATION) => {
                    sp.rollback().map_err(&failed)?;
                }
                Err(e) => return Err(failed(e)),
            }
            tx.commit().map_err(&failed)
        })
    }

    fn each_document(
        &self,
        snapshot: &SnapshotId,
        kind: StoreKind,
        f: &mut dyn FnMut(&str, &str) -> Result<(), StoreError>,
    ) -> Result<(), StoreError> {
        off_runtime(|| {
            let failed = pg("reading documents");
            let mut client = self.conn.client()?;
            let params: [&(dyn ToSql + Sync); 2] = [&snapshot.0, &kind.as_str()];
            // Streamed: a kind's documents are never all in memory at once.
            let mut rows = client
                .query_raw(
                    "SELECT r.id, b.json FROM resources r
                     JOIN bodies b ON b.tenant_id = r.tenant_id AND b.hash = r.body
                     WHERE r.snapshot_id = $1 AND r.kind = $2 ORDER BY r.id",
                    params,
                )
                .map_err(&failed)?;
            while let Some(r) = rows.next().map_err(&failed)? {
                let rid: &str = r.try_get(0).map_err(&failed)?;
                let json: &str = r.try_get(1).map_err(&failed)?;
                f(rid, json)?;
            }
            Ok(())
        })
    }

    fn load_collection(&self, id: &SnapshotId) -> Result<CollectionStatus, StoreError> {
        off_runtime(|| {
            let failed = pg("reading the collection status");
            let rows = self
                .conn
                .client()?
                .query(
                    "SELECT scope, kind, json FROM collection WHERE snapshot_id = $1 ORDER BY seq",
                    &[&id.0],
                )
                .map_err(&failed)?;
            let mut entries = Vec::with_capacity(rows.len());
            for r in &rows {
                let json: &str = r.try_get(2).map_err(&failed)?;
                let entry: CollectionEntry =
                    serde_json::from_str(json).map_err(|source| StoreError::Decode {
                        snapshot: id.0.clone(),
                        kind: "collection entry".to_string(),
                        id: format!(
                            "{}/{}",
                            r.try_get::<_, &str>(0).unwrap_or_default(),
                            r.try_get::<_, &str>(1).unwrap_or_default()
                        ),
                        source,
                    })?;
                entries.push(entry);
            }
            Ok(CollectionStatus { entries })
        })
    }

    fn resource_versions(
        &self,
        snapshot: &SnapshotId,
        kind: StoreKind,
    ) -> Result<BTreeMap<String, Option<DateTime<Utc>>>, StoreError> {
        off_runtime(|| {
            let failed = pg("reading resource versions");
            let rows = self
                .conn
                .client()?
                .query(
                    "SELECT id, last_modified FROM resources WHERE snapshot_id = $1 AND kind = $2",
                    &[&snapshot.0, &kind.as_str()],
                )
                .map_err(&failed)?;
            let mut out = BTreeMap::new();
            for r in &rows {
                let lm: Option<&str> = r.try_get(1).map_err(&failed)?;
                out.insert(
                    r.try_get(0).map_err(&failed)?,
                    lm.map(|t| from_text("resources.last_modified", t))
                        .transpose()?,
                );
            }
            Ok(out)
        })
    }

    fn resource_field(
        &self,
        snapshot: &SnapshotId,
        kind: StoreKind,
        field: &str,
    ) -> Result<BTreeMap<String, Value>, StoreError> {
        off_runtime(|| {
            let failed = pg("reading a resource field");
            // `json`, not `jsonb`: it takes every document JSON allows (`\u0000` included).
            let rows = self
                .conn
                .client()?
                .query(
                    "SELECT r.id, (b.json::json -> $3::text)::text FROM resources r
                     JOIN bodies b ON b.tenant_id = r.tenant_id AND b.hash = r.body
                     WHERE r.snapshot_id = $1 AND r.kind = $2",
                    &[&snapshot.0, &kind.as_str(), &field],
                )
                .map_err(&failed)?;
            let mut out = BTreeMap::new();
            for r in &rows {
                let id: String = r.try_get(0).map_err(&failed)?;
                let v: Option<&str> = r.try_get(1).map_err(&failed)?;
                let v = match v {
                    None => Value::Null,
                    Some(text) => {
                        serde_json::from_str(text).map_err(|source| StoreError::Decode {
                            snapshot: snapshot.0.clone(),
                            kind: kind.as_str().to_string(),
                            id: id.clone(),
                            source,
                        })?
                    }
                };
                out.insert(id, v);
            }
            Ok(out)
        })
    }

    fn stamp_unset_times(
        &mut self,
        snapshot: &SnapshotId,
        kind: StoreKind,
        at: DateTime<Utc>,
    ) -> Result<usize, StoreError> {
        off_runtime(|| {
            let (client, _) = self.conn.live()?;
            let n = client
                .execute(
                    "UPDATE resources SET last_modified = $3
                     WHERE snapshot_id = $1 AND kind = $2 AND last_modified IS NULL",
                    &[&snapshot.0, &kind.as_str(), &to_text(at)],
                )
                .map_err(pg("stamping resource times"))?;
            Ok(usize::try_from(n).unwrap_or(usize::MAX))
        })
    }

    fn done_shards(&self, snapshot: &SnapshotId) -> Result<Vec<Shard>, StoreError> {
        off_runtime(|| {
            let failed = pg("reading checkpoints");
            let rows = self
                .conn
                .client()?
                .query(
                    "SELECT shard, cursor, updated_at FROM checkpoints
                     WHERE snapshot_id = $1 AND state = 'done' ORDER BY shard",
                    &[&snapshot.0],
                )
                .map_err(&failed)?;
            rows.iter()
                .map(|r| {
                    let updated: &str = r.try_get(2).map_err(&failed)?;
                    Ok(Shard {
                        key: r.try_get(0).map_err(&failed)?,
                        state: ShardState::Done,
                        cursor: r.try_get(1).map_err(&failed)?,
                        updated_at: from_text("checkpoints.updated_at", updated)?,
                    })
                })
                .collect()
        })
    }

    fn pending_refresh_marks(&self) -> Result<Vec<RefreshMark>, StoreError> {
        off_runtime(|| {
            let failed = pg("reading refresh marks");
            let rows = self
                .conn
                .client()?
                .query(
                    "SELECT mark_id, kind, id, environment_id, reason, marked_at
                     FROM refresh_marks WHERE tenant_id = $1 ORDER BY mark_id",
                    &[&self.conn.tenant],
                )
                .map_err(&failed)?;
            rows.iter()
                .map(|r| {
                    let kind: &str = r.try_get(1).map_err(&failed)?;
                    let at: &str = r.try_get(5).map_err(&failed)?;
                    Ok(RefreshMark {
                        mark_id: r.try_get(0).map_err(&failed)?,
                        kind: resource_kind_of(kind)?,
                        id: r.try_get(2).map_err(&failed)?,
                        environment_id: r.try_get(3).map_err(&failed)?,
                        reason: r.try_get(4).map_err(&failed)?,
                        marked_at: from_text("refresh_marks.marked_at", at)?,
                    })
                })
                .collect()
        })
    }

    fn clear_refresh_marks(&mut self, mark_ids: &[i64]) -> Result<usize, StoreError> {
        if mark_ids.is_empty() {
            return Ok(0);
        }
        off_runtime(|| {
            let (client, tenant) = self.conn.live()?;
            let n = client
                .execute(
                    "DELETE FROM refresh_marks WHERE tenant_id = $1 AND mark_id = ANY($2)",
                    &[&tenant, &mark_ids],
                )
                .map_err(pg("clearing refresh marks"))?;
            Ok(usize::try_from(n).unwrap_or(usize::MAX))
        })
    }

    fn batch<'a>(
        &'a mut self,
        snapshot: &SnapshotId,
    ) -> Result<Box<dyn SnapshotBatch + 'a>, StoreError> {
        let (client, tenant) = self.conn.live()?;
        Ok(Box::new(PgSnapshotBatch::begin(client, tenant, snapshot)?))
    }
}
