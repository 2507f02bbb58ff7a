//! Snapshot lifecycle: begin, finish, find.

use crate::time::{from_text, to_text};
use crate::{Store, StoreError};
use chrono::{DateTime, Utc};
use rusqlite::{OptionalExtension, Row, params};
use serde::{Deserialize, Serialize};
use std::fmt;

/// The id of a stored snapshot (equals [`ppgov_core::Snapshot::id`]).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct SnapshotId(pub String);

impl SnapshotId {
    /// The id as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for SnapshotId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl From<String> for SnapshotId {
    fn from(s: String) -> Self {
        SnapshotId(s)
    }
}

impl From<&str> for SnapshotId {
    fn from(s: &str) -> Self {
        SnapshotId(s.to_string())
    }
}

/// Where a snapshot is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SnapshotStatus {
    /// Being crawled (or the crawl died: resume it).
    Running,
    /// Crawl finished; safe to evaluate.
    Complete,
    /// Crawl gave up.
    Failed,
}

impl SnapshotStatus {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            SnapshotStatus::Running => "running",
            SnapshotStatus::Complete => "complete",
            SnapshotStatus::Failed => "failed",
        }
    }

    fn parse(s: &str) -> Result<Self, StoreError> {
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
}

/// Whether a crawl read everything or only what changed since its parent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SnapshotKind {
    /// Everything was read.
    Full,
    /// Unchanged resources were carried forward from the parent.
    Incremental,
}

impl SnapshotKind {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            SnapshotKind::Full => "full",
            SnapshotKind::Incremental => "incremental",
        }
    }

    fn parse(s: &str) -> Result<Self, StoreError> {
        match s {
            "full" => Ok(SnapshotKind::Full),
            "incremental" => Ok(SnapshotKind::Incremental),
            _ => Err(StoreError::BadValue {
                column: "snapshots.kind",
                value: s.to_string(),
            }),
        }
    }
}

/// A snapshot's row: who, when, how it went.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SnapshotInfo {
    /// Its id.
    pub id: SnapshotId,
    /// The tenant crawled.
    pub tenant_id: String,
    /// When the crawl started (the snapshot's time).
    pub started_at: DateTime<Utc>,
    /// When it finished, `None` while running.
    pub finished_at: Option<DateTime<Utc>>,
    /// Running, complete or failed.
    pub status: SnapshotStatus,
    /// Full or incremental.
    pub kind: SnapshotKind,
    /// The snapshot an incremental crawl started from.
    pub parent: Option<SnapshotId>,
}

const INFO_COLUMNS: &str = "id, tenant_id, started_at, finished_at, status, kind, parent_id";

fn info_from_row(r: &Row<'_>) -> Result<Result<SnapshotInfo, StoreError>, rusqlite::Error> {
    let id: String = r.get(0)?;
    let tenant_id: String = r.get(1)?;
    let started: String = r.get(2)?;
    let finished: Option<String> = r.get(3)?;
    let status: String = r.get(4)?;
    let kind: String = r.get(5)?;
    let parent: Option<String> = r.get(6)?;
    Ok((|| {
        Ok(SnapshotInfo {
            id: SnapshotId(id),
            tenant_id,
            started_at: from_text("snapshots.started_at", &started)?,
            finished_at: finished
                .map(|f| from_text("snapshots.finished_at", &f))
                .transpose()?,
            status: SnapshotStatus::parse(&status)?,
            kind: SnapshotKind::parse(&kind)?,
            parent: parent.map(SnapshotId),
        })
    })())
}

/// A new snapshot id: the start time plus a per-process counter, readable and sortable.
pub(crate) fn new_snapshot_id(started_at: DateTime<Utc>) -> String {
    use std::sync::atomic::{AtomicU64, Ordering};
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    format!(
        "{}-{:x}{n}",
        started_at.format("%Y%m%dT%H%M%S%6fZ"),
        std::process::id()
    )
}

impl Store {
    /// Starts a snapshot now; it stays `running` until [`Store::finish_snapshot`].
    pub fn begin_snapshot(
        &mut self,
        tenant_id: &str,
        kind: SnapshotKind,
        parent: Option<&SnapshotId>,
    ) -> Result<SnapshotId, StoreError> {
        let started_at = Utc::now();
        let id = SnapshotId(new_snapshot_id(started_at));
        self.begin_snapshot_with(&id, tenant_id, started_at, kind, parent)?;
        Ok(id)
    }

    /// Starts a snapshot with a chosen id and start time (imports, tests).
    pub fn begin_snapshot_with(
        &mut self,
        id: &SnapshotId,
        tenant_id: &str,
        started_at: DateTime<Utc>,
        kind: SnapshotKind,
        parent: Option<&SnapshotId>,
    ) -> Result<(), StoreError> {
        if self.snapshot_info(id)?.is_some() {
            return Err(StoreError::SnapshotExists(id.0.clone()));
        }
        if let Some(p) = parent {
            self.require_snapshot(p)?;
        }
        self.conn.execute(
            "INSERT INTO snapshots (id, tenant_id, started_at, finished_at, status, kind, parent_id) VALUES (?1, ?2, ?3, NULL, 'running', ?4, ?5)",
            params![id.0, tenant_id, to_text(started_at), kind.as_str(), parent.map(|p| p.0.as_str())],
        )?;
        Ok(())
    }

    /// Marks a snapshot complete or failed and stamps its finish time.
    pub fn finish_snapshot(
        &mut self,
        id: &SnapshotId,
        status: SnapshotStatus,
    ) -> Result<(), StoreError> {
        let n = self.conn.execute(
            "UPDATE snapshots SET status = ?2, finished_at = ?3 WHERE id = ?1",
            params![id.0, status.as_str(), to_text(Utc::now())],
        )?;
        if n == 0 {
            return Err(StoreError::UnknownSnapshot(id.0.clone()));
        }
        Ok(())
    }

    /// The row of one snapshot, `None` when unknown.
    pub fn snapshot_info(&self, id: &SnapshotId) -> Result<Option<SnapshotInfo>, StoreError> {
        let sql = format!("SELECT {INFO_COLUMNS} FROM snapshots WHERE id = ?1");
        self.conn
            .query_row(&sql, [&id.0], info_from_row)
            .optional()?
            .transpose()
    }

    pub(crate) fn require_snapshot(&self, id: &SnapshotId) -> Result<SnapshotInfo, StoreError> {
        self.snapshot_info(id)?
            .ok_or_else(|| StoreError::UnknownSnapshot(id.0.clone()))
    }

    /// The newest snapshot of a tenant; with `complete_only`, the newest complete one.
    pub fn latest_snapshot(
        &self,
        tenant_id: &str,
        complete_only: bool,
    ) -> Result<Option<SnapshotInfo>, StoreError> {
        let filter = if complete_only {
            "AND status = 'complete'"
        } else {
            ""
        };
        let sql = format!(
            "SELECT {INFO_COLUMNS} FROM snapshots WHERE tenant_id = ?1 {filter} ORDER BY started_at DESC, rowid DESC LIMIT 1"
        );
        self.conn
            .query_row(&sql, [tenant_id], info_from_row)
            .optional()?
            .transpose()
    }

    /// The newest snapshot of a tenant that is still `running` (a crawl to `--resume`).
    pub fn unfinished_snapshot(&self, tenant_id: &str) -> Result<Option<SnapshotInfo>, StoreError> {
        let sql = format!(
            "SELECT {INFO_COLUMNS} FROM snapshots WHERE tenant_id = ?1 AND status = 'running' ORDER BY started_at DESC, rowid DESC LIMIT 1"
        );
        self.conn
            .query_row(&sql, [tenant_id], info_from_row)
            .optional()?
            .transpose()
    }

    /// Every snapshot, newest first; `tenant_id` narrows to one tenant.
    pub fn list_snapshots(&self, tenant_id: Option<&str>) -> Result<Vec<SnapshotInfo>, StoreError> {
        let sql = format!(
            "SELECT {INFO_COLUMNS} FROM snapshots WHERE ?1 IS NULL OR tenant_id = ?1 ORDER BY started_at DESC, rowid DESC"
        );
        let mut stmt = self.conn.prepare(&sql)?;
        let rows = stmt.query_map([tenant_id], info_from_row)?;
        let mut out = Vec::new();
        for r in rows {
            out.push(r??);
        }
        Ok(out)
    }

    /// Deletes a snapshot and everything stored under it (resources, status, checkpoints).
    pub fn delete_snapshot(&mut self, id: &SnapshotId) -> Result<(), StoreError> {
        let n = self
            .conn
            .execute("DELETE FROM snapshots WHERE id = ?1", [&id.0])?;
        if n == 0 {
            return Err(StoreError::UnknownSnapshot(id.0.clone()));
        }
        // Documents no snapshot holds any more.
        self.conn.execute(
            "DELETE FROM bodies WHERE hash NOT IN (SELECT body FROM resources)",
            [],
        )?;
        Ok(())
    }
}
