//! Several writes committed as one transaction.
//!
//! A crawl's rows, carried-forward rows, collection outcomes and shard checkpoints land together or
//! not at all, so a checkpoint can never name rows that were not committed; and a busy crawl
//! commits a few times a second instead of once per shard.

use crate::checkpoints::{ShardState, mark};
use crate::resources::{ResourceRow, copy_rows, put_rows, record};
use crate::snapshot_store::{ParentRow, SnapshotBatch};
use crate::{SnapshotId, Store, StoreError, StoreKind};
use ppgov_core::CollectionEntry;

/// Open writes to one snapshot; nothing is visible (or durable) until
/// [`SnapshotBatch::commit`]. Dropping it without committing rolls every write back.
pub struct WriteBatch<'a> {
    tx: rusqlite::Transaction<'a>,
    snapshot: SnapshotId,
}

impl Store {
    /// Starts a batch of writes to `snapshot`.
    pub fn batch(&mut self, snapshot: &SnapshotId) -> Result<WriteBatch<'_>, StoreError> {
        Ok(WriteBatch {
            tx: self.conn.transaction()?,
            snapshot: snapshot.clone(),
        })
    }
}

impl SnapshotBatch for WriteBatch<'_> {
    fn put_resources(&mut self, rows: &[ResourceRow]) -> Result<(), StoreError> {
        put_rows(&self.tx, &self.snapshot, rows)
    }

    fn copy_unchanged(
        &mut self,
        from: &SnapshotId,
        kind: StoreKind,
        ids: &[String],
    ) -> Result<usize, StoreError> {
        copy_rows(&self.tx, from, &self.snapshot, kind, ids)
    }

    fn parent_row(
        &mut self,
        from: &SnapshotId,
        kind: StoreKind,
        id: &str,
    ) -> Result<Option<ParentRow>, StoreError> {
        crate::carry::parent_row(&self.tx, from, kind, id)
    }

    fn record_collection(&mut self, entry: &CollectionEntry) -> Result<(), StoreError> {
        record(&self.tx, &self.snapshot, entry)
    }

    fn mark_shard(
        &mut self,
        key: &str,
        state: ShardState,
        cursor: Option<&str>,
    ) -> Result<(), StoreError> {
        mark(&self.tx, &self.snapshot, key, state, cursor)
    }

    fn commit(self: Box<Self>) -> Result<(), StoreError> {
        self.tx.commit()?;
        Ok(())
    }
}
