//! Several writes committed as one transaction.
//!
//! A crawl's rows, carried-forward rows, collection outcomes and shard checkpoints land together or
//! not at all, so a checkpoint can never name rows that were not committed; and a busy crawl
//! commits a few times a second instead of once per shard.

use crate::checkpoints::{ShardState, mark};
use crate::resources::{ResourceRow, copy_rows, put_rows, record};
use crate::{SnapshotId, Store, StoreError, StoreKind};
use ppgov_core::CollectionEntry;

/// Open writes to one snapshot; nothing is visible (or durable) until [`WriteBatch::commit`].
/// Dropping it without committing rolls every write back.
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

impl WriteBatch<'_> {
    /// Upserts rows, as [`Store::put_resources`].
    pub fn put_resources(&mut self, rows: &[ResourceRow]) -> Result<(), StoreError> {
        put_rows(&self.tx, &self.snapshot, rows)
    }

    /// Carries rows forward from `from`, as [`Store::copy_unchanged`].
    pub fn copy_unchanged(
        &mut self,
        from: &SnapshotId,
        kind: StoreKind,
        ids: &[String],
    ) -> Result<usize, StoreError> {
        copy_rows(&self.tx, from, &self.snapshot, kind, ids)
    }

    /// Writes resources that keep part of their parent row (see [`crate::Carry`]); returns
    /// (written, parent rows missing).
    pub fn carry(
        &mut self,
        from: &SnapshotId,
        carries: &[crate::Carry],
    ) -> Result<(usize, usize), StoreError> {
        crate::carry::carry_rows(&self.tx, from, &self.snapshot, carries)
    }

    /// Records a collection outcome, as [`Store::record_collection`].
    pub fn record_collection(&mut self, entry: &CollectionEntry) -> Result<(), StoreError> {
        record(&self.tx, &self.snapshot, entry)
    }

    /// Marks a shard, as [`Store::mark_shard`].
    pub fn mark_shard(
        &mut self,
        key: &str,
        state: ShardState,
        cursor: Option<&str>,
    ) -> Result<(), StoreError> {
        mark(&self.tx, &self.snapshot, key, state, cursor)
    }

    /// Makes every write of the batch durable at once.
    pub fn commit(self) -> Result<(), StoreError> {
        self.tx.commit()?;
        Ok(())
    }
}
