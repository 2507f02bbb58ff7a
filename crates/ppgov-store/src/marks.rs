//! Refresh marks: resources someone (audit ingestion, an operator) knows have changed. The next
//! incremental crawl reads each marked resource again in full, whatever its facets' age, and
//! clears the marks it honoured once its snapshot is complete; marks made while it ran stay for
//! the crawl after.

use crate::time::{from_text, to_text};
use crate::{Store, StoreError};
use chrono::{DateTime, Utc};
use ppgov_core::{ResourceKind, ResourceRef};
use rusqlite::params;

/// One pending mark.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RefreshMark {
    /// Its key, for [`Store::clear_refresh_marks`].
    pub mark_id: i64,
    /// What kind of resource.
    pub kind: ResourceKind,
    /// The resource's id (see [`ResourceRef`]).
    pub id: String,
    /// The environment it lives in, when the marker knew it.
    pub environment_id: Option<String>,
    /// Why it was marked (e.g. `audit: SharePermission`).
    pub reason: String,
    /// When.
    pub marked_at: DateTime<Utc>,
}

fn kind_of(s: &str) -> Result<ResourceKind, StoreError> {
    serde_json::from_value(serde_json::Value::String(s.to_string())).map_err(|_| {
        StoreError::BadValue {
            column: "refresh_marks.kind",
            value: s.to_string(),
        }
    })
}

impl Store {
    /// Marks resources for refresh at the next crawl, in one transaction. Returns how many marks
    /// were added.
    pub fn mark_for_refresh(
        &mut self,
        resources: &[ResourceRef],
        reason: &str,
    ) -> Result<usize, StoreError> {
        let now = to_text(Utc::now());
        let tx = self.conn.transaction()?;
        {
            let mut stmt = tx.prepare_cached(
                "INSERT INTO refresh_marks (kind, id, environment_id, reason, marked_at) VALUES (?1, ?2, ?3, ?4, ?5)",
            )?;
            for r in resources {
                stmt.execute(params![
                    r.kind.as_str(),
                    r.id,
                    r.environment_id,
                    reason,
                    now
                ])?;
            }
        }
        tx.commit()?;
        Ok(resources.len())
    }

    /// Every pending mark, oldest first.
    pub fn pending_refresh_marks(&self) -> Result<Vec<RefreshMark>, StoreError> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT mark_id, kind, id, environment_id, reason, marked_at FROM refresh_marks ORDER BY mark_id",
        )?;
        let mut rows = stmt.query([])?;
        let mut out = Vec::new();
        while let Some(r) = rows.next()? {
            let kind: String = r.get(1)?;
            let at: String = r.get(5)?;
            out.push(RefreshMark {
                mark_id: r.get(0)?,
                kind: kind_of(&kind)?,
                id: r.get(2)?,
                environment_id: r.get(3)?,
                reason: r.get(4)?,
                marked_at: from_text("refresh_marks.marked_at", &at)?,
            });
        }
        Ok(out)
    }

    /// Clears the marks a crawl honoured (by [`RefreshMark::mark_id`]); returns how many.
    pub fn clear_refresh_marks(&mut self, mark_ids: &[i64]) -> Result<usize, StoreError> {
        let tx = self.conn.transaction()?;
        let mut n = 0;
        {
            let mut stmt = tx.prepare_cached("DELETE FROM refresh_marks WHERE mark_id = ?1")?;
            for id in mark_ids {
                n += stmt.execute(params![id])?;
            }
        }
        tx.commit()?;
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn flow(id: &str) -> ResourceRef {
        ResourceRef {
            kind: ResourceKind::Flow,
            id: id.into(),
            name: String::new(),
            environment_id: Some("env-1".into()),
        }
    }

    #[test]
    fn marks_are_listed_then_cleared_by_id() {
        let mut s = Store::open_in_memory().unwrap();
        assert!(s.pending_refresh_marks().unwrap().is_empty());
        s.mark_for_refresh(&[flow("f1"), flow("f2")], "audit: SharePermission")
            .unwrap();
        let marks = s.pending_refresh_marks().unwrap();
        assert_eq!(marks.len(), 2);
        assert_eq!(marks[0].kind, ResourceKind::Flow);
        assert_eq!(marks[0].id, "f1");
        assert_eq!(marks[0].environment_id.as_deref(), Some("env-1"));
        assert_eq!(marks[0].reason, "audit: SharePermission");
        // A mark made after the crawl read the list survives the clear.
        s.mark_for_refresh(&[flow("f3")], "later").unwrap();
        let honoured: Vec<i64> = marks.iter().map(|m| m.mark_id).collect();
        assert_eq!(s.clear_refresh_marks(&honoured).unwrap(), 2);
        let left = s.pending_refresh_marks().unwrap();
        assert_eq!(left.len(), 1);
        assert_eq!(left[0].id, "f3");
    }
}
