//! Snapshots behind one interface: what the crawler writes (in batches, a shard's checkpoint
//! with its rows) and what every reader loads. The SQLite [`Store`] implements it;
//! `ppgov-store-pg` implements it on PostgreSQL, so instances on several machines crawl into and
//! read from one database. Both run the same checks (`contract_snapshots`, feature `testing`).
//!
//! A backend provides the primitives (rows, documents, checkpoints, marks); what is built on them
//! is here once: a snapshot rebuilt from its documents ([`build_snapshot`]), carried facets
//! merged into their parent rows ([`SnapshotBatch::carry`], see `carry.rs`), imports.

use chrono::{DateTime, Utc};
use ppgov_core::{CollectionEntry, CollectionStatus, Principal, Snapshot};
use serde::de::DeserializeOwned;
use serde_json::Value;
use std::collections::BTreeMap;

use crate::kinds::TENANT_ROW_ID;
use crate::{
    Carry, RefreshMark, ResourceRow, Shard, ShardState, SnapshotId, SnapshotInfo, SnapshotKind,
    SnapshotStatus, Store, StoreError, StoreKind,
};

/// A parent row as a carry reads it: environment, last modified (as stored), document.
pub type ParentRow = (Option<String>, Option<DateTime<Utc>>, Value);

/// Open writes to one snapshot: nothing is visible until [`SnapshotBatch::commit`]; dropping
/// the batch without committing rolls every write back.
pub trait SnapshotBatch {
    /// Upserts rows (a document stored once however many snapshots hold it).
    fn put_resources(&mut self, rows: &[ResourceRow]) -> Result<(), StoreError>;
    /// Carries rows of `ids` forward from `from` unchanged (rows already there are kept);
    /// returns how many were carried.
    fn copy_unchanged(
        &mut self,
        from: &SnapshotId,
        kind: StoreKind,
        ids: &[String],
    ) -> Result<usize, StoreError>;
    /// The row of `(kind, id)` in snapshot `from`, for a carry.
    fn parent_row(
        &mut self,
        from: &SnapshotId,
        kind: StoreKind,
        id: &str,
    ) -> Result<Option<ParentRow>, StoreError>;
    /// Records a collection outcome (a later one for the same scope and kind replaces it and
    /// moves to the end).
    fn record_collection(&mut self, entry: &CollectionEntry) -> Result<(), StoreError>;
    /// Marks a shard of the crawl.
    fn mark_shard(
        &mut self,
        key: &str,
        state: ShardState,
        cursor: Option<&str>,
    ) -> Result<(), StoreError>;
    /// Makes every write of the batch durable at once.
    fn commit(self: Box<Self>) -> Result<(), StoreError>;

    /// Writes resources that keep part of their parent row (see [`Carry`]); returns (written,
    /// parent rows missing).
    fn carry(
        &mut self,
        from: &SnapshotId,
        carries: &[Carry],
    ) -> Result<(usize, usize), StoreError> {
        let (mut written, mut missing) = (0, 0);
        for c in carries {
            let (kind, id) = c.target();
            let parent = self.parent_row(from, kind, id)?;
            match crate::carry::merged(c, parent)? {
                Some(row) => {
                    self.put_resources(std::slice::from_ref(&row))?;
                    written += 1;
                }
                None => missing += 1,
            }
        }
        Ok((written, missing))
    }
}

/// Where snapshots live. Reads take `&self`, writes `&mut self`.
pub trait Snapshots: Send {
    /// Starts a snapshot with a chosen id and start time; it stays `running` until
    /// [`Snapshots::finish_snapshot`]. Refused when the id is taken or the parent unknown.
    fn begin_snapshot_with(
        &mut self,
        id: &SnapshotId,
        tenant_id: &str,
        started_at: DateTime<Utc>,
        kind: SnapshotKind,
        parent: Option<&SnapshotId>,
    ) -> Result<(), StoreError>;
    /// Marks a snapshot complete or failed and stamps its finish time.
    fn finish_snapshot(
        &mut self,
        id: &SnapshotId,
        status: SnapshotStatus,
    ) -> Result<(), StoreError>;
    /// The row of one snapshot, `None` when unknown.
    fn snapshot_info(&self, id: &SnapshotId) -> Result<Option<SnapshotInfo>, StoreError>;
    /// The newest snapshot of a tenant; with `complete_only`, the newest complete one.
    fn latest_snapshot(
        &self,
        tenant_id: &str,
        complete_only: bool,
    ) -> Result<Option<SnapshotInfo>, StoreError>;
    /// The newest snapshot of a tenant that is still `running` (a crawl to resume).
    fn unfinished_snapshot(&self, tenant_id: &str) -> Result<Option<SnapshotInfo>, StoreError>;
    /// Every snapshot, newest first; `tenant_id` narrows to one tenant.
    fn list_snapshots(&self, tenant_id: Option<&str>) -> Result<Vec<SnapshotInfo>, StoreError>;
    /// Deletes a snapshot and everything stored under it; documents no snapshot holds any more
    /// go too.
    fn delete_snapshot(&mut self, id: &SnapshotId) -> Result<(), StoreError>;
    /// Calls `f` with the id and document of every row of `kind` in a snapshot, by id.
    fn each_document(
        &self,
        snapshot: &SnapshotId,
        kind: StoreKind,
        f: &mut dyn FnMut(&str, &str) -> Result<(), StoreError>,
    ) -> Result<(), StoreError>;
    /// The collection outcomes of a snapshot, in the order recorded.
    fn load_collection(&self, id: &SnapshotId) -> Result<CollectionStatus, StoreError>;
    /// `lastModifiedTime` of every row of `kind`, by id (what an incremental crawl compares).
    fn resource_versions(
        &self,
        snapshot: &SnapshotId,
        kind: StoreKind,
    ) -> Result<BTreeMap<String, Option<DateTime<Utc>>>, StoreError>;
    /// One top-level field of every row of `kind`, by id (`Null` where it is missing).
    fn resource_field(
        &self,
        snapshot: &SnapshotId,
        kind: StoreKind,
        field: &str,
    ) -> Result<BTreeMap<String, Value>, StoreError>;
    /// Sets the time of the rows of `kind` that have none (when they were first seen).
    fn stamp_unset_times(
        &mut self,
        snapshot: &SnapshotId,
        kind: StoreKind,
        at: DateTime<Utc>,
    ) -> Result<usize, StoreError>;
    /// The shards of a snapshot marked done.
    fn done_shards(&self, snapshot: &SnapshotId) -> Result<Vec<Shard>, StoreError>;
    /// Every pending refresh mark, oldest first.
    fn pending_refresh_marks(&self) -> Result<Vec<RefreshMark>, StoreError>;
    /// Clears the marks a crawl honoured; returns how many were cleared.
    fn clear_refresh_marks(&mut self, mark_ids: &[i64]) -> Result<usize, StoreError>;
    /// Starts a batch of writes to `snapshot`.
    fn batch<'a>(
        &'a mut self,
        snapshot: &SnapshotId,
    ) -> Result<Box<dyn SnapshotBatch + 'a>, StoreError>;

    /// Starts a snapshot now, with a new id.
    fn begin_snapshot(
        &mut self,
        tenant_id: &str,
        kind: SnapshotKind,
        parent: Option<&SnapshotId>,
    ) -> Result<SnapshotId, StoreError> {
        let started_at = Utc::now();
        let id = SnapshotId(crate::snapshots::new_snapshot_id(started_at));
        self.begin_snapshot_with(&id, tenant_id, started_at, kind, parent)?;
        Ok(id)
    }

    /// Rebuilds a stored snapshot.
    fn load_snapshot(&self, id: &SnapshotId) -> Result<Snapshot, StoreError> {
        build_snapshot(self, id)
    }

    /// Upserts rows in one transaction.
    fn put_resources(
        &mut self,
        snapshot: &SnapshotId,
        rows: &[ResourceRow],
    ) -> Result<(), StoreError> {
        let mut b = self.batch(snapshot)?;
        b.put_resources(rows)?;
        b.commit()
    }

    /// Carries rows forward unchanged in one transaction; returns how many.
    fn copy_unchanged(
        &mut self,
        from: &SnapshotId,
        to: &SnapshotId,
        kind: StoreKind,
        ids: &[String],
    ) -> Result<usize, StoreError> {
        let mut b = self.batch(to)?;
        let n = b.copy_unchanged(from, kind, ids)?;
        b.commit()?;
        Ok(n)
    }

    /// Records a collection outcome.
    fn record_collection(
        &mut self,
        snapshot: &SnapshotId,
        entry: &CollectionEntry,
    ) -> Result<(), StoreError> {
        let mut b = self.batch(snapshot)?;
        b.record_collection(entry)?;
        b.commit()
    }

    /// Marks a shard.
    fn mark_shard(
        &mut self,
        snapshot: &SnapshotId,
        key: &str,
        state: ShardState,
        cursor: Option<&str>,
    ) -> Result<(), StoreError> {
        let mut b = self.batch(snapshot)?;
        b.mark_shard(key, state, cursor)?;
        b.commit()
    }

    /// Stores a whole in-memory snapshot as a complete full snapshot under its own id (an
    /// import), in one transaction besides its start and finish.
    fn insert_snapshot(&mut self, snapshot: &Snapshot) -> Result<SnapshotId, StoreError> {
        let id = SnapshotId(snapshot.id.clone());
        self.begin_snapshot_with(
            &id,
            &snapshot.tenant_id,
            snapshot.taken_at,
            SnapshotKind::Full,
            None,
        )?;
        let rows = crate::resources::rows_of(snapshot)?;
        let mut b = self.batch(&id)?;
        b.put_resources(&rows)?;
        for e in &snapshot.collection.entries {
            b.record_collection(e)?;
        }
        b.commit()?;
        self.finish_snapshot(&id, SnapshotStatus::Complete)?;
        Ok(id)
    }
}

/// Rebuilds snapshot `id` from its documents, one pass per kind.
pub fn build_snapshot(
    store: &(impl Snapshots + ?Sized),
    id: &SnapshotId,
) -> Result<Snapshot, StoreError> {
    let info = store
        .snapshot_info(id)?
        .ok_or_else(|| StoreError::UnknownSnapshot(id.0.clone()))?;
    let principals: Vec<(String, Principal)> = load_kind(store, id, StoreKind::Principal)?;
    Ok(Snapshot {
        id: info.id.0.clone(),
        tenant_id: info.tenant_id.clone(),
        taken_at: info.started_at,
        tenant_settings: load_single(store, id, StoreKind::TenantSettings)?,
        tenant_isolation: load_single(store, id, StoreKind::TenantIsolation)?,
        dlp_policies: load_values(store, id, StoreKind::DlpPolicy)?,
        connector_metadata: load_single(store, id, StoreKind::ConnectorMetadata)?
            .unwrap_or_default(),
        environments: load_values(store, id, StoreKind::Environment)?,
        apps: load_values(store, id, StoreKind::App)?,
        flows: load_values(store, id, StoreKind::Flow)?,
        connections: load_values(store, id, StoreKind::Connection)?,
        role_assignments: load_values(store, id, StoreKind::RoleAssignment)?,
        principals: principals.into_iter().collect(),
        collection: store.load_collection(id)?,
        custom_connectors: load_values(store, id, StoreKind::CustomConnector)?,
        groups: load_values(store, id, StoreKind::GroupMembers)?,
    })
}

fn load_kind<T: DeserializeOwned>(
    store: &(impl Snapshots + ?Sized),
    snapshot: &SnapshotId,
    kind: StoreKind,
) -> Result<Vec<(String, T)>, StoreError> {
    let mut out = Vec::new();
    store.each_document(snapshot, kind, &mut |rid, json| {
        let v = serde_json::from_str(json).map_err(|source| StoreError::Decode {
            snapshot: snapshot.0.clone(),
            kind: kind.as_str().to_string(),
            id: rid.to_string(),
            source,
        })?;
        out.push((rid.to_string(), v));
        Ok(())
    })?;
    Ok(out)
}

fn load_values<T: DeserializeOwned>(
    store: &(impl Snapshots + ?Sized),
    snapshot: &SnapshotId,
    kind: StoreKind,
) -> Result<Vec<T>, StoreError> {
    Ok(load_kind(store, snapshot, kind)?
        .into_iter()
        .map(|(_, v)| v)
        .collect())
}

fn load_single<T: DeserializeOwned>(
    store: &(impl Snapshots + ?Sized),
    snapshot: &SnapshotId,
    kind: StoreKind,
) -> Result<Option<T>, StoreError> {
    Ok(load_kind::<T>(store, snapshot, kind)?
        .into_iter()
        .find(|(id, _)| id == TENANT_ROW_ID)
        .map(|(_, v)| v))
}

/// The SQLite store: its own methods, one store file per tenant.
impl Snapshots for Store {
    fn begin_snapshot_with(
        &mut self,
        id: &SnapshotId,
        tenant_id: &str,
        started_at: DateTime<Utc>,
        kind: SnapshotKind,
        parent: Option<&SnapshotId>,
    ) -> Result<(), StoreError> {
        Store::begin_snapshot_with(self, id, tenant_id, started_at, kind, parent)
    }
    fn finish_snapshot(
        &mut self,
        id: &SnapshotId,
        status: SnapshotStatus,
    ) -> Result<(), StoreError> {
        Store::finish_snapshot(self, id, status)
    }
    fn snapshot_info(&self, id: &SnapshotId) -> Result<Option<SnapshotInfo>, StoreError> {
        Store::snapshot_info(self, id)
    }
    fn latest_snapshot(
        &self,
        tenant_id: &str,
        complete_only: bool,
    ) -> Result<Option<SnapshotInfo>, StoreError> {
        Store::latest_snapshot(self, tenant_id, complete_only)
    }
    fn unfinished_snapshot(&self, tenant_id: &str) -> Result<Option<SnapshotInfo>, StoreError> {
        Store::unfinished_snapshot(self, tenant_id)
    }
    fn list_snapshots(&self, tenant_id: Option<&str>) -> Result<Vec<SnapshotInfo>, StoreError> {
        Store::list_snapshots(self, tenant_id)
    }
    fn delete_snapshot(&mut self, id: &SnapshotId) -> Result<(), StoreError> {
        Store::delete_snapshot(self, id)
    }
    fn each_document(
        &self,
        snapshot: &SnapshotId,
        kind: StoreKind,
        f: &mut dyn FnMut(&str, &str) -> Result<(), StoreError>,
    ) -> Result<(), StoreError> {
        Store::each_document(self, snapshot, kind, f)
    }
    fn load_collection(&self, id: &SnapshotId) -> Result<CollectionStatus, StoreError> {
        Store::load_collection(self, id)
    }
    fn resource_versions(
        &self,
        snapshot: &SnapshotId,
        kind: StoreKind,
    ) -> Result<BTreeMap<String, Option<DateTime<Utc>>>, StoreError> {
        Store::resource_versions(self, snapshot, kind)
    }
    fn resource_field(
        &self,
        snapshot: &SnapshotId,
        kind: StoreKind,
        field: &str,
    ) -> Result<BTreeMap<String, Value>, StoreError> {
        Store::resource_field(self, snapshot, kind, field)
    }
    fn stamp_unset_times(
        &mut self,
        snapshot: &SnapshotId,
        kind: StoreKind,
        at: DateTime<Utc>,
    ) -> Result<usize, StoreError> {
        Store::stamp_unset_times(self, snapshot, kind, at)
    }
    fn done_shards(&self, snapshot: &SnapshotId) -> Result<Vec<Shard>, StoreError> {
        Store::done_shards(self, snapshot)
    }
    fn pending_refresh_marks(&self) -> Result<Vec<RefreshMark>, StoreError> {
        Store::pending_refresh_marks(self)
    }
    fn clear_refresh_marks(&mut self, mark_ids: &[i64]) -> Result<usize, StoreError> {
        Store::clear_refresh_marks(self, mark_ids)
    }
    fn batch<'a>(
        &'a mut self,
        snapshot: &SnapshotId,
    ) -> Result<Box<dyn SnapshotBatch + 'a>, StoreError> {
        Ok(Box::new(Store::batch(self, snapshot)?))
    }
}
