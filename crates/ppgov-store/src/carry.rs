//! Carrying part of a resource forward: an incremental crawl that read some facets of a resource
//! again (its permissions, its runs) keeps the rest from the parent snapshot. The merge is on the
//! stored JSON's top-level fields, so the store stays ignorant of the domain types.

use crate::resources::ResourceRow;
use crate::snapshot_store::ParentRow;
use crate::time::from_text;
use crate::{SnapshotId, Store, StoreError, StoreKind};
use rusqlite::{OptionalExtension, params};
use serde_json::{Map, Value};
use std::collections::BTreeMap;

/// What to write for one resource whose parent row is the base or a donor.
#[derive(Debug, Clone, PartialEq)]
pub enum Carry {
    /// The parent's document with these top-level fields replaced (a flow whose definition did not
    /// change, with fresh permissions and runs).
    Patch {
        /// Kind.
        kind: StoreKind,
        /// Id.
        id: String,
        /// Fields to set.
        set: Map<String, Value>,
    },
    /// A freshly read document that takes these top-level fields from the parent (an app listed
    /// again whose access list is still young enough to keep).
    Keep {
        /// The fresh row.
        row: ResourceRow,
        /// Fields to take from the parent.
        fields: Vec<&'static str>,
    },
}

/// A parent row: environment id, `last_modified` as stored, and the parsed document.
impl Carry {
    /// The resource it writes: kind and id.
    pub fn target(&self) -> (StoreKind, &str) {
        match self {
            Carry::Patch { kind, id, .. } => (*kind, id),
            Carry::Keep { row, .. } => (row.kind, &row.id),
        }
    }
}

/// The parent row of `(kind, id)` in snapshot `from`, read in the caller's transaction.
pub(crate) fn parent_row(
    conn: &rusqlite::Connection,
    from: &SnapshotId,
    kind: StoreKind,
    id: &str,
) -> Result<Option<ParentRow>, StoreError> {
    let mut stmt = conn.prepare_cached(
        "SELECT r.environment_id, r.last_modified, b.json FROM resources r JOIN bodies b ON b.hash = r.body
         WHERE r.snapshot_id = ?1 AND r.kind = ?2 AND r.id = ?3",
    )?;
    let row = stmt
        .query_row(params![from.0, kind.as_str(), id], |r| {
            Ok((
                r.get::<_, Option<String>>(0)?,
                r.get::<_, Option<String>>(1)?,
                r.get::<_, String>(2)?,
            ))
        })
        .optional()?;
    let Some((env, lm, json)) = row else {
        return Ok(None);
    };
    let doc = serde_json::from_str(&json).map_err(|source| StoreError::Decode {
        snapshot: from.0.clone(),
        kind: kind.as_str().to_string(),
        id: id.to_string(),
        source,
    })?;
    let lm = lm
        .map(|t| from_text("resources.last_modified", &t))
        .transpose()?;
    Ok(Some((env, lm, doc)))
}

fn encoded(kind: StoreKind, id: &str, v: &Value) -> Result<String, StoreError> {
    serde_json::to_string(v).map_err(|source| StoreError::Encode {
        what: format!("{kind} `{id}`"),
        source,
    })
}

/// The row a carry writes, merged with its parent row (`None`: the parent has no such row, and
/// nothing is written). What every backend's batch shares.
pub(crate) fn merged(
    c: &Carry,
    parent: Option<ParentRow>,
) -> Result<Option<ResourceRow>, StoreError> {
    let Some((env, lm, mut doc)) = parent else {
        return Ok(None);
    };
    Ok(Some(match c {
        Carry::Patch { kind, id, set } => {
            if let Some(obj) = doc.as_object_mut() {
                for (k, v) in set {
                    obj.insert(k.clone(), v.clone());
                }
            }
            ResourceRow {
                kind: *kind,
                id: id.clone(),
                environment_id: env,
                last_modified: lm,
                json: encoded(*kind, id, &doc)?,
            }
        }
        Carry::Keep { row, fields } => {
            let mut fresh: Value =
                serde_json::from_str(&row.json).map_err(|source| StoreError::Decode {
                    snapshot: String::new(),
                    kind: row.kind.as_str().to_string(),
                    id: row.id.clone(),
                    source,
                })?;
            if let (Some(obj), Some(p)) = (fresh.as_object_mut(), doc.as_object()) {
                for f in fields {
                    match p.get(*f) {
                        Some(v) => obj.insert((*f).to_string(), v.clone()),
                        None => obj.remove(*f),
                    };
                }
            }
            ResourceRow {
                json: encoded(row.kind, &row.id, &fresh)?,
                ..row.clone()
            }
        }
    }))
}

impl Store {
    /// Sets the `last_modified` column of a kind's rows that have none to `at` (principals keep
    /// there when Graph was asked); returns how many rows changed.
    pub fn stamp_unset_times(
        &mut self,
        snapshot: &SnapshotId,
        kind: StoreKind,
        at: chrono::DateTime<chrono::Utc>,
    ) -> Result<usize, StoreError> {
        Ok(self.conn.execute(
            "UPDATE resources SET last_modified = ?3 WHERE snapshot_id = ?1 AND kind = ?2 AND last_modified IS NULL",
            params![snapshot.0, kind.as_str(), crate::time::to_text(at)],
        )?)
    }

    /// One top-level field of every resource of a kind, parsed (e.g. each flow's `observed`), for
    /// deciding what an incremental crawl reads again without loading whole documents.
    pub fn resource_field(
        &self,
        snapshot: &SnapshotId,
        kind: StoreKind,
        field: &str,
    ) -> Result<BTreeMap<String, Value>, StoreError> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT r.id, json_extract(b.json, '$.' || ?3) FROM resources r JOIN bodies b ON b.hash = r.body
             WHERE r.snapshot_id = ?1 AND r.kind = ?2",
        )?;
        let mut rows = stmt.query(params![snapshot.0, kind.as_str(), field])?;
        let mut out = BTreeMap::new();
        while let Some(r) = rows.next()? {
            let id: String = r.get(0)?;
            let v: Value = match r.get_ref(1)? {
                rusqlite::types::ValueRef::Null => Value::Null,
                rusqlite::types::ValueRef::Text(t) => serde_json::from_slice(t)
                    .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(t).into_owned())),
                rusqlite::types::ValueRef::Integer(i) => Value::from(i),
                rusqlite::types::ValueRef::Real(f) => Value::from(f),
                rusqlite::types::ValueRef::Blob(_) => Value::Null,
            };
            out.insert(id, v);
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ppgov_core::Flow;
    use serde_json::json;

    #[test]
    fn patch_keeps_the_parent_and_keep_takes_from_it() {
        let mut store = Store::open_in_memory().unwrap();
        let a = store
            .begin_snapshot("t", crate::SnapshotKind::Full, None)
            .unwrap();
        let f = Flow {
            id: "f1".into(),
            environment_id: "e".into(),
            display_name: "one".into(),
            definition: Some(json!({"actions": {}})),
            permissions: Some(vec![]),
            ..Default::default()
        };
        store.put_flows(&a, std::slice::from_ref(&f)).unwrap();
        let b = store
            .begin_snapshot("t", crate::SnapshotKind::Incremental, Some(&a))
            .unwrap();
        let mut set = Map::new();
        set.insert("display_name".into(), json!("patched"));
        let fresh = Flow {
            id: "f2".into(),
            ..f.clone()
        };
        store.put_flows(&a, std::slice::from_ref(&fresh)).unwrap();
        let mut fresh_row = ResourceRow::of(&Flow {
            definition: None,
            display_name: "fresh".into(),
            ..fresh
        })
        .unwrap();
        fresh_row.id = "f2".into();
        let carries = [
            Carry::Patch {
                kind: StoreKind::Flow,
                id: "f1".into(),
                set,
            },
            Carry::Keep {
                row: fresh_row,
                fields: vec!["definition"],
            },
            Carry::Patch {
                kind: StoreKind::Flow,
                id: "gone".into(),
                set: Map::new(),
            },
        ];
        let mut batch = crate::Snapshots::batch(&mut store, &b).unwrap();
        assert_eq!(batch.carry(&a, &carries).unwrap(), (2, 1));
        batch.commit().unwrap();
        let s = store.load_snapshot(&b).unwrap();
        assert_eq!(s.flows.len(), 2);
        assert_eq!(s.flows[0].display_name, "patched");
        assert_eq!(s.flows[0].definition, f.definition);
        assert_eq!(s.flows[1].display_name, "fresh");
        assert_eq!(s.flows[1].definition, f.definition);
        let observed = store
            .resource_field(&b, StoreKind::Flow, "display_name")
            .unwrap();
        assert_eq!(observed["f1"], json!("patched"));
    }
}
