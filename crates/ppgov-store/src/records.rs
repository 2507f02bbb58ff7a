//! The governance records of one tenant behind one interface: the remediation journal and the
//! actions due later, scan history, the console's suppressions and connector requests. The
//! SQLite [`Store`] implements it (one store file per tenant); `ppgov-store-pg` implements it on
//! PostgreSQL, every row under the tenant policy, so instances on several machines share them.
//! Both run the same checks (`contract_records`, feature `testing`).
//!
//! Refresh marks (what an apply changed, for the next crawl to read again) are here too, since an
//! apply makes them beside its journal; they go where the crawler reads them.

use chrono::{DateTime, Utc};
use ppgov_core::{ResourceRef, ScanReport};

use crate::{
    ChainReport, ConnectorRequest, DueAction, JournalEntry, NewJournalEntry, NewRequest,
    NewSuppression, RequestEvent, RequestState, RequestUpdate, ScanId, ScanInfo, SnapshotId, Store,
    StoreError, StoredSuppression, SuppressionError,
};

/// A tenant's governance records. Reads take `&self`, writes `&mut self`.
pub trait Records: Send {
    // ---- the journal (hash-chained, see `journal.rs`) ----

    /// Appends an entry (entry and chain head in one transaction) and returns it as stored.
    fn append_journal(&mut self, e: &NewJournalEntry) -> Result<JournalEntry, StoreError>;
    /// Every entry in chain order, optionally only one apply's.
    fn journal(&self, apply_id: Option<&str>) -> Result<Vec<JournalEntry>, StoreError>;
    /// The entries journaled for one plan (by digest), in chain order.
    fn journal_for_plan(&self, plan_digest: &str) -> Result<Vec<JournalEntry>, StoreError>;
    /// Checks the whole chain: hashes, links, a gapless sequence and the head.
    fn verify_journal(&self) -> Result<ChainReport, StoreError>;

    // ---- actions due later (`ppgov apply --due`) ----

    /// Records a plan to apply once `due_at` has passed; returns its id.
    fn add_due_action(
        &mut self,
        tenant_id: &str,
        due_at: DateTime<Utc>,
        reason: &str,
        plan_json: &str,
    ) -> Result<i64, StoreError>;
    /// The tenant's actions not yet carried out, due at or before `now` (all with `None`),
    /// earliest first.
    fn due_actions(
        &self,
        tenant_id: &str,
        now: Option<DateTime<Utc>>,
    ) -> Result<Vec<DueAction>, StoreError>;
    /// Marks a due action as carried out by an apply.
    fn finish_due_action(&mut self, id: i64, apply_id: &str) -> Result<(), StoreError>;

    // ---- scan history ----

    /// Saves a scan report of a snapshot; ids increase with every save.
    fn save_scan(
        &mut self,
        snapshot: &SnapshotId,
        report: &ScanReport,
    ) -> Result<ScanId, StoreError>;
    /// The newest scan of a tenant saved before `before_scan` (the newest of all with `None`).
    fn previous_scan(
        &self,
        tenant_id: &str,
        before_scan: Option<ScanId>,
    ) -> Result<Option<ScanReport>, StoreError>;
    /// Saved scans of a tenant, newest first.
    fn list_scans(&self, tenant_id: &str) -> Result<Vec<ScanInfo>, StoreError>;

    // ---- suppressions recorded in the console ----

    /// Records a suppression at `now` once [`NewSuppression::checked`] accepts it.
    fn add_suppression(
        &mut self,
        s: &NewSuppression,
        now: DateTime<Utc>,
    ) -> Result<StoredSuppression, SuppressionError>;
    /// One suppression of a tenant.
    fn suppression(
        &self,
        tenant_id: &str,
        id: i64,
    ) -> Result<Option<StoredSuppression>, StoreError>;
    /// Every suppression of a tenant (active, expired and revoked), newest first.
    fn suppressions(&self, tenant_id: &str) -> Result<Vec<StoredSuppression>, StoreError>;
    /// The suppressions a scan honours: every one not revoked, oldest first.
    fn live_suppressions(&self, tenant_id: &str) -> Result<Vec<StoredSuppression>, StoreError> {
        let mut all = self.suppressions(tenant_id)?;
        all.retain(StoredSuppression::is_live);
        all.reverse();
        Ok(all)
    }
    /// Revokes a suppression at `now`, keeping the row with who, when and why.
    fn revoke_suppression(
        &mut self,
        tenant_id: &str,
        id: i64,
        by: &str,
        reason: &str,
        now: DateTime<Utc>,
    ) -> Result<StoredSuppression, SuppressionError>;

    // ---- connector requests ----

    /// Records a new request (state `submitted`, its history the submission); returns its id.
    fn create_request(&mut self, r: &NewRequest, at_ms: i64) -> Result<i64, StoreError>;
    /// One request of a tenant.
    fn request(&self, tenant_id: &str, id: i64) -> Result<Option<ConnectorRequest>, StoreError>;
    /// A tenant's requests, newest first.
    fn requests(&self, tenant_id: &str) -> Result<Vec<ConnectorRequest>, StoreError>;
    /// Moves a request from `from` to `to`, appending `event` and setting what `update` holds,
    /// in one transaction; false (nothing changed) when it is not in `from` any more.
    fn advance_request(
        &mut self,
        tenant_id: &str,
        id: i64,
        from: RequestState,
        to: RequestState,
        event: &RequestEvent,
        update: &RequestUpdate,
    ) -> Result<bool, StoreError>;

    // ---- refresh marks ----

    /// Asks the next crawl to read these resources again in full; returns how many were marked.
    fn mark_for_refresh(
        &mut self,
        resources: &[ResourceRef],
        reason: &str,
    ) -> Result<usize, StoreError>;
}

/// The SQLite store: its own methods, one store file per tenant.
impl Records for Store {
    fn append_journal(&mut self, e: &NewJournalEntry) -> Result<JournalEntry, StoreError> {
        Store::append_journal(self, e)
    }
    fn journal(&self, apply_id: Option<&str>) -> Result<Vec<JournalEntry>, StoreError> {
        Store::journal(self, apply_id)
    }
    fn journal_for_plan(&self, plan_digest: &str) -> Result<Vec<JournalEntry>, StoreError> {
        Store::journal_for_plan(self, plan_digest)
    }
    fn verify_journal(&self) -> Result<ChainReport, StoreError> {
        Store::verify_journal(self)
    }
    fn add_due_action(
        &mut self,
        tenant_id: &str,
        due_at: DateTime<Utc>,
        reason: &str,
        plan_json: &str,
    ) -> Result<i64, StoreError> {
        Store::add_due_action(self, tenant_id, due_at, reason, plan_json)
    }
    fn due_actions(
        &self,
        tenant_id: &str,
        now: Option<DateTime<Utc>>,
    ) -> Result<Vec<DueAction>, StoreError> {
        Store::due_actions(self, tenant_id, now)
    }
    fn finish_due_action(&mut self, id: i64, apply_id: &str) -> Result<(), StoreError> {
        Store::finish_due_action(self, id, apply_id)
    }
    fn save_scan(
        &mut self,
        snapshot: &SnapshotId,
        report: &ScanReport,
    ) -> Result<ScanId, StoreError> {
        Store::save_scan(self, snapshot, report)
    }
    fn previous_scan(
        &self,
        tenant_id: &str,
        before_scan: Option<ScanId>,
    ) -> Result<Option<ScanReport>, StoreError> {
        Store::previous_scan(self, tenant_id, before_scan)
    }
    fn list_scans(&self, tenant_id: &str) -> Result<Vec<ScanInfo>, StoreError> {
        Store::list_scans(self, tenant_id)
    }
    fn add_suppression(
        &mut self,
        s: &NewSuppression,
        now: DateTime<Utc>,
    ) -> Result<StoredSuppression, SuppressionError> {
        Store::add_suppression(self, s, now)
    }
    fn suppression(
        &self,
        tenant_id: &str,
        id: i64,
    ) -> Result<Option<StoredSuppression>, StoreError> {
        Store::suppression(self, tenant_id, id)
    }
    fn suppressions(&self, tenant_id: &str) -> Result<Vec<StoredSuppression>, StoreError> {
        Store::suppressions(self, tenant_id)
    }
    fn revoke_suppression(
        &mut self,
        tenant_id: &str,
        id: i64,
        by: &str,
        reason: &str,
        now: DateTime<Utc>,
    ) -> Result<StoredSuppression, SuppressionError> {
        Store::revoke_suppression(self, tenant_id, id, by, reason, now)
    }
    fn create_request(&mut self, r: &NewRequest, at_ms: i64) -> Result<i64, StoreError> {
        Store::create_request(self, r, at_ms)
    }
    fn request(&self, tenant_id: &str, id: i64) -> Result<Option<ConnectorRequest>, StoreError> {
        Store::request(self, tenant_id, id)
    }
    fn requests(&self, tenant_id: &str) -> Result<Vec<ConnectorRequest>, StoreError> {
        Store::requests(self, tenant_id)
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
        Store::advance_request(self, tenant_id, id, from, to, event, update)
    }
    fn mark_for_refresh(
        &mut self,
        resources: &[ResourceRef],
        reason: &str,
    ) -> Result<usize, StoreError> {
        Store::mark_for_refresh(self, resources, reason)
    }
}
