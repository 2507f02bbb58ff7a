//! Crawl checkpoints: which shards of a snapshot are done, and where a pending one stopped.

use crate::time::{from_text, to_text};
use crate::{SnapshotId, Store, StoreError};
use chrono::{DateTime, Utc};
use rusqlite::params;
use serde::{Deserialize, Serialize};

/// Whether a shard is finished.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ShardState {
    /// Every page read and written.
    Done,
    /// Started or queued; `cursor` says where to continue.
    Pending,
}

impl ShardState {
    fn as_str(self) -> &'static str {
        match self {
            ShardState::Done => "done",
            ShardState::Pending => "pending",
        }
    }
}

/// One unit of crawl work, e.g. `env:<id>:flows`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Shard {
    /// The shard key.
    pub key: String,
    /// Done or pending.
    pub state: ShardState,
    /// The next link or continuation token to resume from, if any.
    pub cursor: Option<String>,
    /// When it was last marked.
    pub updated_at: DateTime<Utc>,
}

impl Store {
    /// Marks a shard done or pending with the cursor to resume from. Write the page's resources
    /// first, then mark, so a crash in between only re-reads a page (upserts make that harmless).
    pub fn mark_shard(
        &mut self,
        snapshot: &SnapshotId,
        key: &str,
        state: ShardState,
        cursor: Option<&str>,
    ) -> Result<(), StoreError> {
        mark(&self.conn, snapshot, key, state, cursor)
    }

    /// Shards not finished, sorted by key.
    pub fn pending_shards(&self, snapshot: &SnapshotId) -> Result<Vec<Shard>, StoreError> {
        self.shards(snapshot, ShardState::Pending)
    }

    /// Shards finished, sorted by key.
    pub fn done_shards(&self, snapshot: &SnapshotId) -> Result<Vec<Shard>, StoreError> {
        self.shards(snapshot, ShardState::Done)
    }

    fn shards(&self, snapshot: &SnapshotId, state: ShardState) -> Result<Vec<Shard>, StoreError> {
        let mut stmt = self.conn.prepare_cached("SELECT shard, cursor, updated_at FROM checkpoints WHERE snapshot_id = ?1 AND state = ?2 ORDER BY shard")?;
        let mut rows = stmt.query(params![snapshot.0, state.as_str()])?;
        let mut out = Vec::new();
        while let Some(r) = rows.next()? {
            let updated: String = r.get(2)?;
            out.push(Shard {
                key: r.get(0)?,
                state,
                cursor: r.get(1)?,
                updated_at: from_text("checkpoints.updated_at", &updated)?,
            });
        }
        Ok(out)
    }
}

/// Marks a shard (inside the caller's transaction).
pub(crate) fn mark(
    conn: &rusqlite::Connection,
    snapshot: &SnapshotId,
    key: &str,
    state: ShardState,
    cursor: Option<&str>,
) -> Result<(), StoreError> {
    conn.prepare_cached(
        "INSERT INTO checkpoints (snapshot_id, shard, state, cursor, updated_at) VALUES (?1, ?2, ?3, ?4, ?5)
         ON CONFLICT (snapshot_id, shard) DO UPDATE SET state = excluded.state, cursor = excluded.cursor, updated_at = excluded.updated_at",
    )?
    .execute(params![snapshot.0, key, state.as_str(), cursor, to_text(Utc::now())])
    .map_err(|e| crate::resources::unknown_snapshot_or(e, snapshot))?;
    Ok(())
}
