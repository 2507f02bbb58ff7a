//! The governance records on PostgreSQL: [`PgRecords`] implements [`ppgov_store::Records`] for
//! one tenant with the SQLite store's semantics, checked by the same contract
//! (`ppgov_store::contract_records`). The journal is in `records_journal.rs` (its chain logic is
//! `ppgov_store::journal_chain`, so both backends hash and verify alike), suppressions and
//! connector requests in `records_console.rs`; actions due later and scan history are here.
//!
//! Every table (`journal`, `journal_head`, `due_actions`, `scans`, `suppressions`,
//! `connector_requests`, migration 4) holds every tenant's rows under the tenant policy, and the
//! connection is scoped to the store's tenant. A tenant named in a call that is not the store's:
//! reads find nothing (the query names it, the policy hides its rows), and every write is refused
//! with [`StoreError::PgRefused`] before anything is sent (`append_journal`, `add_due_action`,
//! `save_scan`, `add_suppression`, `revoke_suppression`, `create_request`, `advance_request`),
//! where the SQLite store, one file per tenant, would write or find nothing. `finish_due_action`
//! names no tenant: it finishes the store's tenant's action of that id, if there is one.

use std::cell::RefMut;

use chrono::{DateTime, Utc};
use postgres::Client;
use ppgov_core::{ResourceRef, ScanReport};
use ppgov_store::stored_time::{from_text, to_text};
use ppgov_store::{
    ChainReport, ConnectorRequest, DueAction, JournalEntry, NewJournalEntry, NewRequest,
    NewSuppression, Records, RequestEvent, RequestState, RequestUpdate, ScanId, ScanInfo,
    SnapshotId, StoreError, StoredSuppression, SuppressionError,
};

use crate::events::{insert_marks, off_runtime};
use crate::pg;
use crate::tenant_conn::TenantConn;

/// The governance records of one tenant on PostgreSQL: journal, actions due later, scan history,
/// suppressions and connector requests.
///
/// [`Records`] reads through `&self` while the client needs `&mut`, so the client sits in a
/// `RefCell`, as in [`crate::PgEventStore`]: the store is `Send`, not `Sync`, and a call made
/// while another holds the client is refused with an error, never a panic.
pub struct PgRecords {
    pub(crate) conn: TenantConn,
}

impl std::fmt::Debug for PgRecords {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PgRecords")
            .field("tenant", &self.conn.tenant)
            .finish_non_exhaustive()
    }
}

impl PgRecords {
    /// Connects to `url` (as [`crate::PgStore::connect`] does: migrations first, no TLS) and
    /// scopes the session to `tenant` through `app.tenant`; the role must be subject to
    /// row-level security.
    pub fn connect(url: &str, tenant: &str) -> Result<PgRecords, StoreError> {
        Ok(PgRecords {
            conn: TenantConn::connect(url, tenant, "records store")?,
        })
    }

    /// Puts the refresh marks that applies make into `store` instead of PostgreSQL: the tenant's
    /// embedded store, where the crawler that honours them keeps its snapshots.
    pub fn with_marks_in(mut self, store: ppgov_store::Store) -> PgRecords {
        self.conn.marks = Some(store);
        self
    }

    /// The tenant this store holds the records of.
    pub fn tenant(&self) -> &str {
        &self.conn.tenant
    }

    /// True once the client has seen the connection close; every call then fails.
    pub fn is_closed(&self) -> bool {
        self.conn.is_closed()
    }

    /// The client for a read through `&self`.
    pub(crate) fn client(&self) -> Result<RefMut<'_, Client>, StoreError> {
        self.conn.client()
    }

    /// The client and the tenant for a write through `&mut self`, once the tenant the write
    /// names (`what`: its rows, for the message) is checked to be the store's.
    pub(crate) fn writer(
        &mut self,
        tenant_id: &str,
        what: &str,
    ) -> Result<(&mut Client, &str), StoreError> {
        if tenant_id != self.conn.tenant {
            return Err(StoreError::PgRefused(format!(
                "this postgresql records store is scoped to tenant `{}` and writes no {what} of \
                 tenant `{tenant_id}`; connect one scoped to that tenant",
                self.conn.tenant
            )));
        }
        self.conn.live()
    }
}

const DUE_COLS: &str = "id, tenant_id, due_at, reason, plan, created_at, done_at, apply_id";

fn due_action_of(r: &postgres::Row) -> Result<DueAction, StoreError> {
    let failed = pg("reading due actions");
    let due: String = r.try_get(2).map_err(&failed)?;
    let created: String = r.try_get(5).map_err(&failed)?;
    let done: Option<String> = r.try_get(6).map_err(&failed)?;
    Ok(DueAction {
        id: r.try_get(0).map_err(&failed)?,
        tenant_id: r.try_get(1).map_err(&failed)?,
        due_at: from_text("due_actions.due_at", &due)?,
        reason: r.try_get(3).map_err(&failed)?,
        plan: r.try_get(4).map_err(&failed)?,
        created_at: from_text("due_actions.created_at", &created)?,
        done_at: done
            .map(|d| from_text("due_actions.done_at", &d))
            .transpose()?,
        apply_id: r.try_get(7).map_err(&failed)?,
    })
}

fn decode_scan(id: i64, json: &str) -> Result<ScanReport, StoreError> {
    serde_json::from_str(json).map_err(|source| StoreError::Decode {
        snapshot: String::new(),
        kind: "scan".to_string(),
        id: id.to_string(),
        source,
    })
}

impl PgRecords {
    fn add_due(
        &mut self,
        tenant_id: &str,
        due_at: DateTime<Utc>,
        reason: &str,
        plan_json: &str,
    ) -> Result<i64, StoreError> {
        let (client, tenant) = self.writer(tenant_id, "due actions")?;
        let failed = pg("recording a due action");
        client
            .query_one(
                "INSERT INTO due_actions (tenant_id, due_at, reason, plan, created_at)
                 VALUES ($1, $2, $3, $4, $5) RETURNING id",
                &[
                    &tenant,
                    &to_text(due_at),
                    &reason,
                    &plan_json,
                    &to_text(Utc::now()),
                ],
            )
            .and_then(|r| r.try_get(0))
            .map_err(&failed)
    }

    fn due(
        &self,
        tenant_id: &str,
        now: Option<DateTime<Utc>>,
    ) -> Result<Vec<DueAction>, StoreError> {
        // As SQLite does: the stored text compared with `now`'s ("9999" is after every time);
        // due_at is in byte order (COLLATE "C"), as SQLite compares text.
        let limit = now.map_or_else(|| "9999".to_string(), to_text);
        let rows = self
            .client()?
            .query(
                &format!(
                    "SELECT {DUE_COLS} FROM due_actions
                     WHERE tenant_id = $1 AND done_at IS NULL AND due_at <= $2
                     ORDER BY due_at, id"
                ),
                &[&tenant_id, &limit],
            )
            .map_err(pg("reading due actions"))?;
        rows.iter().map(due_action_of).collect()
    }

    fn finish_due(&mut self, id: i64, apply_id: &str) -> Result<(), StoreError> {
        let (client, tenant) = self.conn.live()?;
        client
            .execute(
                "UPDATE due_actions SET done_at = $1, apply_id = $2 WHERE tenant_id = $3 AND id = $4",
                &[&to_text(Utc::now()), &apply_id, &tenant, &id],
            )
            .map_err(pg("finishing a due action"))?;
        Ok(())
    }

    fn save(&mut self, snapshot: &SnapshotId, report: &ScanReport) -> Result<ScanId, StoreError> {
        let json = serde_json::to_string(report).map_err(|source| StoreError::Encode {
            what: "scan report".to_string(),
            source,
        })?;
        let (client, tenant) = self.writer(&report.tenant_id, "scans")?;
        client
            .query_one(
                "INSERT INTO scans (tenant_id, snapshot_id, created_at, report)
                 VALUES ($1, $2, $3, $4) RETURNING id",
                &[&tenant, &snapshot.0, &to_text(Utc::now()), &json],
            )
            .and_then(|r| r.try_get(0))
            .map(ScanId)
            .map_err(pg("saving a scan"))
    }

    fn previous(
        &self,
        tenant_id: &str,
        before_scan: Option<ScanId>,
    ) -> Result<Option<ScanReport>, StoreError> {
        let before = before_scan.map_or(i64::MAX, |s| s.0);
        let failed = pg("reading the previous scan");
        let row = self
            .client()?
            .query_opt(
                "SELECT id, report FROM scans WHERE tenant_id = $1 AND id < $2
                 ORDER BY id DESC LIMIT 1",
                &[&tenant_id, &before],
            )
            .map_err(&failed)?;
        let Some(r) = row else {
            return Ok(None);
        };
        let id: i64 = r.try_get(0).map_err(&failed)?;
        let json: String = r.try_get(1).map_err(&failed)?;
        decode_scan(id, &json).map(Some)
    }

    fn scans(&self, tenant_id: &str) -> Result<Vec<ScanInfo>, StoreError> {
        let failed = pg("listing scans");
        let rows = self
            .client()?
            .query(
                "SELECT id, snapshot_id, tenant_id, created_at FROM scans WHERE tenant_id = $1
                 ORDER BY id DESC",
                &[&tenant_id],
            )
            .map_err(&failed)?;
        let mut out = Vec::with_capacity(rows.len());
        for r in &rows {
            let created: String = r.try_get(3).map_err(&failed)?;
            out.push(ScanInfo {
                id: ScanId(r.try_get(0).map_err(&failed)?),
                snapshot_id: SnapshotId(r.try_get(1).map_err(&failed)?),
                tenant_id: r.try_get(2).map_err(&failed)?,
                created_at: from_text("scans.created_at", &created)?,
            });
        }
        Ok(out)
    }
}

impl Records for PgRecords {
    fn append_journal(&mut self, e: &NewJournalEntry) -> Result<JournalEntry, StoreError> {
        off_runtime(|| self.append(e))
    }

    fn journal(&self, apply_id: Option<&str>) -> Result<Vec<JournalEntry>, StoreError> {
        off_runtime(|| self.entries(apply_id))
    }

    fn journal_for_plan(&self, plan_digest: &str) -> Result<Vec<JournalEntry>, StoreError> {
        off_runtime(|| self.entries_for_plan(plan_digest))
    }

    fn verify_journal(&self) -> Result<ChainReport, StoreError> {
        off_runtime(|| self.verify())
    }

    fn add_due_action(
        &mut self,
        tenant_id: &str,
        due_at: DateTime<Utc>,
        reason: &str,
        plan_json: &str,
    ) -> Result<i64, StoreError> {
        off_runtime(|| self.add_due(tenant_id, due_at, reason, plan_json))
    }

    fn due_actions(
        &self,
        tenant_id: &str,
        now: Option<DateTime<Utc>>,
    ) -> Result<Vec<DueAction>, StoreError> {
        off_runtime(|| self.due(tenant_id, now))
    }

    fn finish_due_action(&mut self, id: i64, apply_id: &str) -> Result<(), StoreError> {
        off_runtime(|| self.finish_due(id, apply_id))
    }

    fn save_scan(
        &mut self,
        snapshot: &SnapshotId,
        report: &ScanReport,
    ) -> Result<ScanId, StoreError> {
        off_runtime(|| self.save(snapshot, report))
    }

    fn previous_scan(
        &self,
        tenant_id: &str,
        before_scan: Option<ScanId>,
    ) -> Result<Option<ScanReport>, StoreError> {
        off_runtime(|| self.previous(tenant_id, before_scan))
    }

    fn list_scans(&self, tenant_id: &str) -> Result<Vec<ScanInfo>, StoreError> {
        off_runtime(|| self.scans(tenant_id))
    }

    fn add_suppression(
        &mut self,
        s: &NewSuppression,
        now: DateTime<Utc>,
    ) -> Result<StoredSuppression, SuppressionError> {
        off_runtime(|| self.suppress(s, now))
    }

    fn suppression(
        &self,
        tenant_id: &str,
        id: i64,
    ) -> Result<Option<StoredSuppression>, StoreError> {
        off_runtime(|| self.one_suppression(tenant_id, id))
    }

    fn suppressions(&self, tenant_id: &str) -> Result<Vec<StoredSuppression>, StoreError> {
        off_runtime(|| self.all_suppressions(tenant_id))
    }

    fn revoke_suppression(
        &mut self,
        tenant_id: &str,
        id: i64,
        by: &str,
        reason: &str,
        now: DateTime<Utc>,
    ) -> Result<StoredSuppression, SuppressionError> {
        off_runtime(|| self.revoke(tenant_id, id, by, reason, now))
    }

    fn create_request(&mut self, r: &NewRequest, at_ms: i64) -> Result<i64, StoreError> {
        off_runtime(|| self.new_request(r, at_ms))
    }

    fn request(&self, tenant_id: &str, id: i64) -> Result<Option<ConnectorRequest>, StoreError> {
        off_runtime(|| self.one_request(tenant_id, id))
    }

    fn requests(&self, tenant_id: &str) -> Result<Vec<ConnectorRequest>, StoreError> {
        off_runtime(|| self.all_requests(tenant_id))
    }

    fn advance_request(
        &mut self,
        tenant_id: &str,
        id: i64,
        from: RequestState,
        to: RequestState,
        event: &RequestEvent,
        update: &RequestUpdate,
    ) -> Result<bool, StoreError> {
        off_runtime(|| self.advance(tenant_id, id, from, to, event, update))
    }

    /// Into the store given to [`PgRecords::with_marks_in`], else into PostgreSQL's
    /// `refresh_marks` for the tenant, as [`crate::PgEventStore`] does.
    fn mark_for_refresh(
        &mut self,
        resources: &[ResourceRef],
        reason: &str,
    ) -> Result<usize, StoreError> {
        if let Some(store) = self.conn.marks.as_mut() {
            return store.mark_for_refresh(resources, reason);
        }
        off_runtime(|| {
            let (client, tenant) = self.conn.live()?;
            insert_marks(client, tenant, resources, reason)
        })
    }
}
