//! Scan history, so `scan --diff` can compare with the previous scan.

use crate::time::{from_text, to_text};
use crate::{SnapshotId, Store, StoreError};
use chrono::{DateTime, Utc};
use ppgov_core::ScanReport;
use rusqlite::{OptionalExtension, params};
use serde::{Deserialize, Serialize};

/// The id of a saved scan (increases with every save).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct ScanId(pub i64);

/// A saved scan's row without its report.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ScanInfo {
    /// Its id.
    pub id: ScanId,
    /// The snapshot it evaluated.
    pub snapshot_id: SnapshotId,
    /// The tenant.
    pub tenant_id: String,
    /// When it was saved.
    pub created_at: DateTime<Utc>,
}

impl Store {
    /// Saves a scan report of a snapshot and returns its id.
    pub fn save_scan(
        &mut self,
        snapshot: &SnapshotId,
        report: &ScanReport,
    ) -> Result<ScanId, StoreError> {
        let json = serde_json::to_string(report).map_err(|source| StoreError::Encode {
            what: "scan report".to_string(),
            source,
        })?;
        self.conn.execute(
            "INSERT INTO scans (snapshot_id, tenant_id, created_at, report) VALUES (?1, ?2, ?3, ?4)",
            params![snapshot.0, report.tenant_id, to_text(Utc::now()), json],
        )?;
        Ok(ScanId(self.conn.last_insert_rowid()))
    }

    /// The newest scan of a tenant saved before `before_scan` (or the newest of all with `None`).
    pub fn previous_scan(
        &self,
        tenant_id: &str,
        before_scan: Option<ScanId>,
    ) -> Result<Option<ScanReport>, StoreError> {
        let before = before_scan.map_or(i64::MAX, |s| s.0);
        let row: Option<(i64, String)> = self
            .conn
            .query_row(
                "SELECT id, report FROM scans WHERE tenant_id = ?1 AND id < ?2 ORDER BY id DESC LIMIT 1",
                params![tenant_id, before],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()?;
        row.map(|(id, json)| {
            serde_json::from_str(&json).map_err(|source| StoreError::Decode {
                snapshot: String::new(),
                kind: "scan".to_string(),
                id: id.to_string(),
                source,
            })
        })
        .transpose()
    }

    /// Saved scans of a tenant, newest first.
    pub fn list_scans(&self, tenant_id: &str) -> Result<Vec<ScanInfo>, StoreError> {
        let mut stmt = self.conn.prepare_cached("SELECT id, snapshot_id, tenant_id, created_at FROM scans WHERE tenant_id = ?1 ORDER BY id DESC")?;
        let mut rows = stmt.query([tenant_id])?;
        let mut out = Vec::new();
        while let Some(r) = rows.next()? {
            let created: String = r.get(3)?;
            out.push(ScanInfo {
                id: ScanId(r.get(0)?),
                snapshot_id: SnapshotId(r.get(1)?),
                tenant_id: r.get(2)?,
                created_at: from_text("scans.created_at", &created)?,
            });
        }
        Ok(out)
    }
}
