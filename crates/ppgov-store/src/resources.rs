//! Writing resources in batches and rebuilding a snapshot from them.

use crate::time::{from_text, to_text};
use crate::{SnapshotId, Store, StoreError, StoreKind, StoredResource};
use chrono::{DateTime, Utc};
use ppgov_core::{
    App, CollectionEntry, CollectionScope, CollectionStatus, Connection, ConnectorMetadata,
    DlpPolicy, Environment, Flow, Principal, RoleAssignment, Snapshot, TenantIsolation,
    TenantSettings,
};
use rusqlite::params;
use serde::Serialize;
use std::collections::BTreeMap;

/// One resource row ready to write: its key and its domain type as JSON.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResourceRow {
    /// What it is.
    pub kind: StoreKind,
    /// Its id, unique within (snapshot, kind).
    pub id: String,
    /// The environment it lives in, where it lives in one.
    pub environment_id: Option<String>,
    /// Its `lastModifiedTime`, for incremental crawls.
    pub last_modified: Option<DateTime<Utc>>,
    /// The JSON of its `ppgov-core` type.
    pub json: String,
}

impl ResourceRow {
    /// Builds the row of a domain value.
    pub fn of<T: StoredResource>(value: &T) -> Result<ResourceRow, StoreError> {
        let id = value.store_id();
        Ok(ResourceRow {
            kind: T::KIND,
            json: encode(T::KIND, &id, value)?,
            environment_id: value.environment_id().map(str::to_string),
            last_modified: value.last_modified(),
            id,
        })
    }

    /// Builds a row from any serialisable value with an explicit key.
    pub fn generic<T: Serialize>(
        kind: StoreKind,
        environment_id: Option<&str>,
        id: &str,
        last_modified: Option<DateTime<Utc>>,
        value: &T,
    ) -> Result<ResourceRow, StoreError> {
        Ok(ResourceRow {
            kind,
            id: id.to_string(),
            environment_id: environment_id.map(str::to_string),
            last_modified,
            json: encode(kind, id, value)?,
        })
    }
}

fn encode<T: Serialize>(kind: StoreKind, id: &str, value: &T) -> Result<String, StoreError> {
    serde_json::to_string(value).map_err(|source| StoreError::Encode {
        what: format!("{kind} `{id}`"),
        source,
    })
}

/// The stored form of a collection scope: `tenant` or `env:<id>`.
fn scope_key(scope: &CollectionScope) -> String {
    match scope {
        CollectionScope::Tenant => "tenant".to_string(),
        CollectionScope::Environment(id) => format!("env:{id}"),
    }
}

/// A foreign-key failure on a write means the snapshot was never begun: say that.
pub(crate) fn unknown_snapshot_or(e: rusqlite::Error, snapshot: &SnapshotId) -> StoreError {
    match e.sqlite_error_code() {
        Some(rusqlite::ErrorCode::ConstraintViolation) if e.to_string().contains("FOREIGN KEY") => {
            StoreError::UnknownSnapshot(snapshot.0.clone())
        }
        _ => StoreError::Sqlite(e),
    }
}

const UPSERT: &str = "INSERT INTO resources (snapshot_id, kind, id, environment_id, last_modified, body) VALUES (?1, ?2, ?3, ?4, ?5, ?6)
     ON CONFLICT (snapshot_id, kind, id) DO UPDATE SET environment_id = excluded.environment_id, last_modified = excluded.last_modified, body = excluded.body";

/// A document is stored once however many snapshots hold it.
const PUT_BODY: &str =
    "INSERT INTO bodies (hash, json) VALUES (?1, ?2) ON CONFLICT (hash) DO NOTHING";

/// The key of a document: its SHA-256. A cryptographic digest, because the content comes from the
/// tenant: a maker must not be able to craft a flow whose document replaces another's.
fn digest(json: &str) -> [u8; 32] {
    use sha2::Digest;
    sha2::Sha256::digest(json.as_bytes()).into()
}

/// Upserts rows (inside the caller's transaction).
pub(crate) fn put_rows(
    conn: &rusqlite::Connection,
    snapshot: &SnapshotId,
    rows: &[ResourceRow],
) -> Result<(), StoreError> {
    let mut body = conn.prepare_cached(PUT_BODY)?;
    let mut stmt = conn.prepare_cached(UPSERT)?;
    for r in rows {
        let hash = digest(&r.json);
        body.execute(params![&hash[..], r.json])?;
        stmt.execute(params![
            snapshot.0,
            r.kind.as_str(),
            r.id,
            r.environment_id,
            r.last_modified.map(to_text),
            &hash[..]
        ])
        .map_err(|e| unknown_snapshot_or(e, snapshot))?;
    }
    Ok(())
}

/// Carries rows forward from `from` to `to` (inside the caller's transaction); returns how many.
pub(crate) fn copy_rows(
    conn: &rusqlite::Connection,
    from: &SnapshotId,
    to: &SnapshotId,
    kind: StoreKind,
    ids: &[String],
) -> Result<usize, StoreError> {
    let mut stmt = conn.prepare_cached(
        "INSERT INTO resources (snapshot_id, kind, id, environment_id, last_modified, body)
         SELECT ?2, kind, id, environment_id, last_modified, body FROM resources WHERE snapshot_id = ?1 AND kind = ?3 AND id = ?4
         ON CONFLICT (snapshot_id, kind, id) DO NOTHING",
    )?;
    let mut n = 0;
    for id in ids {
        n += stmt
            .execute(params![from.0, to.0, kind.as_str(), id])
            .map_err(|e| unknown_snapshot_or(e, to))?;
    }
    Ok(n)
}

/// Records one collection entry (replacing its scope and kind).
pub(crate) fn record(
    conn: &rusqlite::Connection,
    snapshot: &SnapshotId,
    entry: &CollectionEntry,
) -> Result<(), StoreError> {
    let scope = scope_key(&entry.scope);
    let kind = serde_json::to_value(entry.kind)
        .ok()
        .and_then(|v| v.as_str().map(str::to_string))
        .unwrap_or_default();
    let json = serde_json::to_string(entry).map_err(|source| StoreError::Encode {
        what: format!("collection entry {scope} {kind}"),
        source,
    })?;
    // REPLACE moves the entry to the end, like `CollectionStatus::record`.
    conn.execute(
        "INSERT OR REPLACE INTO collection (snapshot_id, scope, kind, json) VALUES (?1, ?2, ?3, ?4)",
        params![snapshot.0, scope, kind, json],
    )
    .map_err(|e| unknown_snapshot_or(e, snapshot))?;
    Ok(())
}

/// The rows of every part of an in-memory snapshot (its collection aside).
pub(crate) fn rows_of(s: &Snapshot) -> Result<Vec<ResourceRow>, StoreError> {
    let mut rows = Vec::with_capacity(
        s.environments.len()
            + s.apps.len()
            + s.flows.len()
            + s.connections.len()
            + s.role_assignments.len()
            + s.principals.len()
            + s.dlp_policies.len()
            + 3,
    );
    if let Some(t) = &s.tenant_settings {
        rows.push(ResourceRow::of(t)?);
    }
    if let Some(t) = &s.tenant_isolation {
        rows.push(ResourceRow::of(t)?);
    }
    rows.push(ResourceRow::of(&s.connector_metadata)?);
    for v in &s.dlp_policies {
        rows.push(ResourceRow::of(v)?);
    }
    for v in &s.environments {
        rows.push(ResourceRow::of(v)?);
    }
    for v in &s.apps {
        rows.push(ResourceRow::of(v)?);
    }
    for v in &s.flows {
        rows.push(ResourceRow::of(v)?);
    }
    for v in &s.connections {
        rows.push(ResourceRow::of(v)?);
    }
    for v in &s.role_assignments {
        rows.push(ResourceRow::of(v)?);
    }
    for v in &s.custom_connectors {
        rows.push(ResourceRow::of(v)?);
    }
    for v in &s.groups {
        rows.push(ResourceRow::of(v)?);
    }
    // The map key is what `Snapshot::principal` looks up, so it is the row id.
    for (key, v) in &s.principals {
        rows.push(ResourceRow::generic(
            StoreKind::Principal,
            None,
            key,
            None,
            v,
        )?);
    }
    Ok(rows)
}

impl Store {
    /// Writes a batch of rows in ONE transaction; a row already stored under the same
    /// (snapshot, kind, id) is replaced, so re-crawling a page never duplicates.
    pub fn put_resources(
        &mut self,
        snapshot: &SnapshotId,
        rows: &[ResourceRow],
    ) -> Result<(), StoreError> {
        let tx = self.conn.transaction()?;
        put_rows(&tx, snapshot, rows)?;
        tx.commit()?;
        Ok(())
    }

    /// Writes a batch of domain values of one type in one transaction.
    pub fn put_all<T: StoredResource>(
        &mut self,
        snapshot: &SnapshotId,
        values: &[T],
    ) -> Result<(), StoreError> {
        let rows = values
            .iter()
            .map(ResourceRow::of)
            .collect::<Result<Vec<_>, _>>()?;
        self.put_resources(snapshot, &rows)
    }

    /// Writes one value of any serialisable type under an explicit key.
    pub fn put<T: Serialize>(
        &mut self,
        snapshot: &SnapshotId,
        kind: StoreKind,
        environment_id: Option<&str>,
        id: &str,
        last_modified: Option<DateTime<Utc>>,
        value: &T,
    ) -> Result<(), StoreError> {
        let row = ResourceRow::generic(kind, environment_id, id, last_modified, value)?;
        self.put_resources(snapshot, std::slice::from_ref(&row))
    }

    /// Writes the tenant settings.
    pub fn put_tenant_settings(
        &mut self,
        snapshot: &SnapshotId,
        value: &TenantSettings,
    ) -> Result<(), StoreError> {
        self.put_all(snapshot, std::slice::from_ref(value))
    }

    /// Writes the tenant isolation policy.
    pub fn put_tenant_isolation(
        &mut self,
        snapshot: &SnapshotId,
        value: &TenantIsolation,
    ) -> Result<(), StoreError> {
        self.put_all(snapshot, std::slice::from_ref(value))
    }

    /// Writes the connector metadata.
    pub fn put_connector_metadata(
        &mut self,
        snapshot: &SnapshotId,
        value: &ConnectorMetadata,
    ) -> Result<(), StoreError> {
        self.put_all(snapshot, std::slice::from_ref(value))
    }

    /// Writes DLP policies.
    pub fn put_dlp_policies(
        &mut self,
        snapshot: &SnapshotId,
        values: &[DlpPolicy],
    ) -> Result<(), StoreError> {
        self.put_all(snapshot, values)
    }

    /// Writes environments.
    pub fn put_environments(
        &mut self,
        snapshot: &SnapshotId,
        values: &[Environment],
    ) -> Result<(), StoreError> {
        self.put_all(snapshot, values)
    }

    /// Writes apps.
    pub fn put_apps(&mut self, snapshot: &SnapshotId, values: &[App]) -> Result<(), StoreError> {
        self.put_all(snapshot, values)
    }

    /// Writes flows.
    pub fn put_flows(&mut self, snapshot: &SnapshotId, values: &[Flow]) -> Result<(), StoreError> {
        self.put_all(snapshot, values)
    }

    /// Writes connections.
    pub fn put_connections(
        &mut self,
        snapshot: &SnapshotId,
        values: &[Connection],
    ) -> Result<(), StoreError> {
        self.put_all(snapshot, values)
    }

    /// Writes role assignments.
    pub fn put_role_assignments(
        &mut self,
        snapshot: &SnapshotId,
        values: &[RoleAssignment],
    ) -> Result<(), StoreError> {
        self.put_all(snapshot, values)
    }

    /// Writes principals (keyed by their object id).
    pub fn put_principals(
        &mut self,
        snapshot: &SnapshotId,
        values: &[Principal],
    ) -> Result<(), StoreError> {
        self.put_all(snapshot, values)
    }

    /// Records (or replaces) one collection status entry for its scope and kind.
    pub fn record_collection(
        &mut self,
        snapshot: &SnapshotId,
        entry: &CollectionEntry,
    ) -> Result<(), StoreError> {
        record(&self.conn, snapshot, entry)?;
        Ok(())
    }

    /// Id -> `lastModifiedTime` of every stored resource of one kind (for incremental crawls).
    pub fn resource_versions(
        &self,
        snapshot: &SnapshotId,
        kind: StoreKind,
    ) -> Result<BTreeMap<String, Option<DateTime<Utc>>>, StoreError> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT id, last_modified FROM resources WHERE snapshot_id = ?1 AND kind = ?2",
        )?;
        let mut rows = stmt.query(params![snapshot.0, kind.as_str()])?;
        let mut out = BTreeMap::new();
        while let Some(r) = rows.next()? {
            let id: String = r.get(0)?;
            let lm: Option<String> = r.get(1)?;
            out.insert(
                id,
                lm.map(|t| from_text("resources.last_modified", &t))
                    .transpose()?,
            );
        }
        Ok(out)
    }

    /// Copies resources of one kind from `from` to `to` (carrying forward what did not change in an
    /// incremental crawl), in one transaction. Rows already in `to` are kept. Returns how many
    /// rows were copied.
    pub fn copy_unchanged(
        &mut self,
        from: &SnapshotId,
        to: &SnapshotId,
        kind: StoreKind,
        ids: &[String],
    ) -> Result<usize, StoreError> {
        let tx = self.conn.transaction()?;
        let n = copy_rows(&tx, from, to, kind, ids)?;
        tx.commit()?;
        Ok(n)
    }

    /// How many resources of a kind a snapshot holds.
    pub fn count_resources(
        &self,
        snapshot: &SnapshotId,
        kind: StoreKind,
    ) -> Result<usize, StoreError> {
        let n: i64 = self.conn.query_row(
            "SELECT count(*) FROM resources WHERE snapshot_id = ?1 AND kind = ?2",
            params![snapshot.0, kind.as_str()],
            |r| r.get(0),
        )?;
        Ok(usize::try_from(n).unwrap_or(0))
    }

    /// Rebuilds a stored snapshot (see [`crate::snapshot_store::build_snapshot`]).
    pub fn load_snapshot(&self, id: &SnapshotId) -> Result<Snapshot, StoreError> {
        crate::snapshot_store::build_snapshot(self, id)
    }

    /// The collection status of a snapshot, in recording order.
    pub fn load_collection(&self, id: &SnapshotId) -> Result<CollectionStatus, StoreError> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT scope, kind, json FROM collection WHERE snapshot_id = ?1 ORDER BY rowid",
        )?;
        let mut rows = stmt.query([&id.0])?;
        let mut entries = Vec::new();
        while let Some(r) = rows.next()? {
            let json: String = r.get(2)?;
            let entry: CollectionEntry =
                serde_json::from_str(&json).map_err(|source| StoreError::Decode {
                    snapshot: id.0.clone(),
                    kind: "collection entry".to_string(),
                    id: format!(
                        "{}/{}",
                        r.get::<_, String>(0).unwrap_or_default(),
                        r.get::<_, String>(1).unwrap_or_default()
                    ),
                    source,
                })?;
            entries.push(entry);
        }
        Ok(CollectionStatus { entries })
    }

    /// Calls `f` with the id and document of every row of `kind` in a snapshot, by id (the
    /// document borrowed from SQLite, never copied).
    pub fn each_document(
        &self,
        snapshot: &SnapshotId,
        kind: StoreKind,
        f: &mut dyn FnMut(&str, &str) -> Result<(), StoreError>,
    ) -> Result<(), StoreError> {
        // ORDER BY id walks the primary-key index: no sort step, deterministic order.
        let mut stmt = self.conn.prepare_cached(
            "SELECT r.id, b.json FROM resources r JOIN bodies b ON b.hash = r.body
             WHERE r.snapshot_id = ?1 AND r.kind = ?2 ORDER BY r.id",
        )?;
        let mut rows = stmt.query(params![snapshot.0, kind.as_str()])?;
        while let Some(r) = rows.next()? {
            let rid = r.get_ref(0)?.as_str().map_err(rusqlite::Error::from)?;
            let json = r.get_ref(1)?.as_str().map_err(rusqlite::Error::from)?;
            f(rid, json)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{SnapshotKind, SnapshotStatus};

    fn bodies(store: &Store) -> i64 {
        store
            .conn
            .query_row("SELECT count(*) FROM bodies", [], |r| r.get(0))
            .unwrap()
    }

    fn flow(id: &str, name: &str) -> Flow {
        Flow {
            id: id.into(),
            environment_id: "e".into(),
            display_name: name.into(),
            ..Default::default()
        }
    }

    #[test]
    fn a_document_is_stored_once_and_dropped_with_its_last_snapshot() {
        let mut store = Store::open_in_memory().unwrap();
        let a = store.begin_snapshot("t", SnapshotKind::Full, None).unwrap();
        store
            .put_flows(&a, &[flow("f1", "one"), flow("f2", "two")])
            .unwrap();
        store.finish_snapshot(&a, SnapshotStatus::Complete).unwrap();
        let b = store
            .begin_snapshot("t", SnapshotKind::Incremental, Some(&a))
            .unwrap();
        // f1 unchanged (same document), f2 renamed.
        store
            .put_flows(&b, &[flow("f1", "one"), flow("f2", "renamed")])
            .unwrap();
        assert_eq!(bodies(&store), 3);
        store.delete_snapshot(&a).unwrap();
        assert_eq!(bodies(&store), 2);
        let names: Vec<String> = store
            .load_snapshot(&b)
            .unwrap()
            .flows
            .into_iter()
            .map(|f| f.display_name)
            .collect();
        assert_eq!(names, ["one", "renamed"]);
        store.delete_snapshot(&b).unwrap();
        assert_eq!(bodies(&store), 0);
    }
}
