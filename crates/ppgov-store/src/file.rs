//! The portable snapshot file: JSON Lines, one header line then one line per record.
//!
//! ```text
//! {"format":"ppgov-snapshot","version":1,"id":"…","tenant_id":"…","taken_at":"…"}
//! {"kind":"environment","data":{…}}
//! {"kind":"principal","key":"<object id>","data":{…}}
//! {"kind":"collection","data":{…}}
//! ```
//!
//! Line-oriented so a damaged file fails with the line that is wrong, and so big tenants stream.

use crate::{SnapshotId, Store, StoreError, StoreKind};
use chrono::{DateTime, Utc};
use ppgov_core::{CollectionEntry, Snapshot};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use std::io::{BufRead, BufReader, BufWriter, Write};
use std::path::Path;

/// The `format` value of a snapshot file's header.
pub const SNAPSHOT_FILE_FORMAT: &str = "ppgov-snapshot";
/// The version of the snapshot file layout this build writes and reads.
pub const SNAPSHOT_FILE_VERSION: u32 = 1;

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Header {
    format: String,
    version: u32,
    id: String,
    tenant_id: String,
    taken_at: DateTime<Utc>,
}

#[derive(Serialize)]
struct OutRecord<'a, T: Serialize> {
    kind: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    key: Option<&'a str>,
    data: &'a T,
}

#[derive(Deserialize)]
struct InRecord {
    kind: String,
    #[serde(default)]
    key: Option<String>,
    data: serde_json::Value,
}

const COLLECTION: &str = "collection";

/// Writes a snapshot to `path` as a portable JSON Lines file.
pub fn write_snapshot_file(snapshot: &Snapshot, path: impl AsRef<Path>) -> Result<(), StoreError> {
    let path = path.as_ref();
    let io = |source| StoreError::Io {
        path: path.to_path_buf(),
        source,
    };
    // Owner-only (0600, folder 0700): a snapshot names the tenant's admins and weaknesses.
    let file = crate::private::create_private_file(path).map_err(io)?;
    let mut w = BufWriter::new(file);
    let header = Header {
        format: SNAPSHOT_FILE_FORMAT.to_string(),
        version: SNAPSHOT_FILE_VERSION,
        id: snapshot.id.clone(),
        tenant_id: snapshot.tenant_id.clone(),
        taken_at: snapshot.taken_at,
    };
    write_line(&mut w, path, &header)?;
    if let Some(v) = &snapshot.tenant_settings {
        rec(&mut w, path, StoreKind::TenantSettings, None, v)?;
    }
    if let Some(v) = &snapshot.tenant_isolation {
        rec(&mut w, path, StoreKind::TenantIsolation, None, v)?;
    }
    rec(
        &mut w,
        path,
        StoreKind::ConnectorMetadata,
        None,
        &snapshot.connector_metadata,
    )?;
    for v in &snapshot.dlp_policies {
        rec(&mut w, path, StoreKind::DlpPolicy, None, v)?;
    }
    for v in &snapshot.environments {
        rec(&mut w, path, StoreKind::Environment, None, v)?;
    }
    for v in &snapshot.apps {
        rec(&mut w, path, StoreKind::App, None, v)?;
    }
    for v in &snapshot.flows {
        rec(&mut w, path, StoreKind::Flow, None, v)?;
    }
    for v in &snapshot.connections {
        rec(&mut w, path, StoreKind::Connection, None, v)?;
    }
    for v in &snapshot.role_assignments {
        rec(&mut w, path, StoreKind::RoleAssignment, None, v)?;
    }
    for v in &snapshot.custom_connectors {
        rec(&mut w, path, StoreKind::CustomConnector, None, v)?;
    }
    for v in &snapshot.groups {
        rec(&mut w, path, StoreKind::GroupMembers, None, v)?;
    }
    for (k, v) in &snapshot.principals {
        rec(&mut w, path, StoreKind::Principal, Some(k), v)?;
    }
    for e in &snapshot.collection.entries {
        write_line(
            &mut w,
            path,
            &OutRecord {
                kind: COLLECTION,
                key: None,
                data: e,
            },
        )?;
    }
    w.flush().map_err(io)?;
    Ok(())
}

fn rec<T: Serialize>(
    w: &mut impl Write,
    path: &Path,
    kind: StoreKind,
    key: Option<&str>,
    data: &T,
) -> Result<(), StoreError> {
    write_line(
        w,
        path,
        &OutRecord {
            kind: kind.as_str(),
            key,
            data,
        },
    )
}

fn write_line<T: Serialize>(w: &mut impl Write, path: &Path, value: &T) -> Result<(), StoreError> {
    serde_json::to_writer(&mut *w, value).map_err(|source| StoreError::Encode {
        what: format!("a record of {}", path.display()),
        source,
    })?;
    w.write_all(b"\n").map_err(|source| StoreError::Io {
        path: path.to_path_buf(),
        source,
    })
}

/// Reads a snapshot file written by [`write_snapshot_file`]. A bad file fails with its line
/// number and the field serde could not read.
pub fn read_snapshot_file(path: impl AsRef<Path>) -> Result<Snapshot, StoreError> {
    let path = path.as_ref();
    let file = std::fs::File::open(path).map_err(|source| StoreError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    let bad = |line: usize, message: String| StoreError::BadSnapshotFile {
        path: path.to_path_buf(),
        line,
        message,
    };
    let mut lines = BufReader::new(file).lines();
    let first = match lines.next() {
        Some(l) => l.map_err(|e| bad(1, e.to_string()))?,
        None => {
            return Err(bad(
                1,
                "the file is empty, expected a ppgov-snapshot header".to_string(),
            ));
        }
    };
    let header: Header =
        serde_json::from_str(&first).map_err(|e| bad(1, format!("bad header: {e}")))?;
    if header.format != SNAPSHOT_FILE_FORMAT {
        return Err(bad(
            1,
            format!(
                "format is `{}`, expected `{SNAPSHOT_FILE_FORMAT}`",
                header.format
            ),
        ));
    }
    if header.version != SNAPSHOT_FILE_VERSION {
        return Err(bad(
            1,
            format!(
                "file version {} is not supported (this ppgov reads version {SNAPSHOT_FILE_VERSION})",
                header.version
            ),
        ));
    }
    let mut s = Snapshot {
        id: header.id,
        tenant_id: header.tenant_id,
        taken_at: header.taken_at,
        ..Snapshot::default()
    };
    for (i, line) in lines.enumerate() {
        let n = i + 2;
        let line = line.map_err(|e| bad(n, e.to_string()))?;
        if line.trim().is_empty() {
            continue;
        }
        let rec: InRecord =
            serde_json::from_str(&line).map_err(|e| bad(n, format!("not a record: {e}")))?;
        if rec.kind == COLLECTION {
            let e: CollectionEntry = decode(rec.data, COLLECTION).map_err(|m| bad(n, m))?;
            s.collection.entries.push(e);
            continue;
        }
        let kind = StoreKind::parse(&rec.kind)
            .map_err(|_| bad(n, format!("unknown record kind `{}`", rec.kind)))?;
        let k = kind.as_str();
        let r: Result<(), String> = (|| {
            match kind {
                StoreKind::TenantSettings => s.tenant_settings = Some(decode(rec.data, k)?),
                StoreKind::TenantIsolation => s.tenant_isolation = Some(decode(rec.data, k)?),
                StoreKind::ConnectorMetadata => s.connector_metadata = decode(rec.data, k)?,
                StoreKind::DlpPolicy => s.dlp_policies.push(decode(rec.data, k)?),
                StoreKind::Environment => s.environments.push(decode(rec.data, k)?),
                StoreKind::App => s.apps.push(decode(rec.data, k)?),
                StoreKind::Flow => s.flows.push(decode(rec.data, k)?),
                StoreKind::Connection => s.connections.push(decode(rec.data, k)?),
                StoreKind::RoleAssignment => s.role_assignments.push(decode(rec.data, k)?),
                StoreKind::CustomConnector => s.custom_connectors.push(decode(rec.data, k)?),
                StoreKind::GroupMembers => s.groups.push(decode(rec.data, k)?),
                StoreKind::Principal => {
                    let p: ppgov_core::Principal = decode(rec.data, k)?;
                    s.principals
                        .insert(rec.key.clone().unwrap_or_else(|| p.id.clone()), p);
                }
            }
            Ok(())
        })();
        r.map_err(|m| bad(n, m))?;
    }
    Ok(s)
}

/// Decodes one record's data, naming the record (and its id when there is one) on error.
fn decode<T: DeserializeOwned>(data: serde_json::Value, kind: &str) -> Result<T, String> {
    let id = data
        .get("id")
        .and_then(|v| v.as_str())
        .map(|s| format!(" `{s}`"))
        .unwrap_or_default();
    serde_json::from_value(data).map_err(|e| format!("{kind}{id}: {e}"))
}

impl Store {
    /// Writes a stored snapshot to a portable file (`ppgov snapshot export FILE`).
    pub fn export_snapshot(
        &self,
        id: &SnapshotId,
        path: impl AsRef<Path>,
    ) -> Result<(), StoreError> {
        let snapshot = self.load_snapshot(id)?;
        write_snapshot_file(&snapshot, path)
    }

    /// Reads a snapshot file and stores it as a complete snapshot under its own id.
    pub fn import_snapshot(&mut self, path: impl AsRef<Path>) -> Result<Snapshot, StoreError> {
        let snapshot = read_snapshot_file(path)?;
        self.insert_snapshot(&snapshot)?;
        Ok(snapshot)
    }

    /// Stores a whole in-memory snapshot as a complete full snapshot under its own id (see
    /// [`crate::Snapshots::insert_snapshot`]).
    pub fn insert_snapshot(&mut self, snapshot: &Snapshot) -> Result<SnapshotId, StoreError> {
        crate::Snapshots::insert_snapshot(self, snapshot)
    }
}
