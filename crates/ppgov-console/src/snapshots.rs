//! The latest complete snapshot of each tenant, kept once read. The inventory, resource and
//! "my resources" pages each need it, and loading it is the slow part of their answer (about a
//! second on a `large` tenant); asking the store which snapshot is the latest is one small query.
//! A complete snapshot never changes, so a kept one is right for as long as it is the latest.
//! At most [`KEPT`] tenants' snapshots are kept; the one used least recently goes first.

use ppgov_core::Snapshot;
use std::sync::{Arc, Mutex};

/// Tenants whose latest snapshot is kept at once.
const KEPT: usize = 4;

/// Latest snapshots by tenant, most recently used first.
#[derive(Default)]
pub(crate) struct Snapshots {
    kept: Mutex<Vec<(String, String, Arc<Snapshot>)>>,
}

impl Snapshots {
    /// The tenant's latest complete snapshot (`None` before its first complete crawl), read
    /// from the store only when it is not the one kept (blocking: call it off the async threads).
    pub(crate) fn latest(&self, t: &ppgov_serve::Tenant) -> Result<Option<Arc<Snapshot>>, String> {
        let store = t.snapshots()?;
        let Some(info) = store
            .latest_snapshot(t.id(), true)
            .map_err(|e| e.to_string())?
        else {
            return Ok(None);
        };
        if let Some(hit) = self.take(t.id(), info.id.as_str()) {
            return Ok(Some(hit));
        }
        let snap = Arc::new(store.load_snapshot(&info.id).map_err(|e| e.to_string())?);
        self.keep(t.id(), info.id.as_str(), snap.clone());
        Ok(Some(snap))
    }

    /// The kept snapshot `id` of `tenant`, moved to the front.
    fn take(&self, tenant: &str, id: &str) -> Option<Arc<Snapshot>> {
        let mut kept = self.kept.lock().unwrap_or_else(|e| e.into_inner());
        let at = kept.iter().position(|(t, s, _)| t == tenant && s == id)?;
        let entry = kept.remove(at);
        let snap = entry.2.clone();
        kept.insert(0, entry);
        Some(snap)
    }

    fn keep(&self, tenant: &str, id: &str, snap: Arc<Snapshot>) {
        let mut kept = self.kept.lock().unwrap_or_else(|e| e.into_inner());
        kept.retain(|(t, _, _)| t != tenant);
        kept.insert(0, (tenant.to_string(), id.to_string(), snap));
        kept.truncate(KEPT);
    }

    /// Tenants and snapshot ids kept, most recently used first (for tests).
    #[cfg(test)]
    fn ids(&self) -> Vec<(String, String)> {
        let kept = self.kept.lock().unwrap_or_else(|e| e.into_inner());
        kept.iter()
            .map(|(t, s, _)| (t.clone(), s.clone()))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn snap(id: &str) -> Arc<Snapshot> {
        Arc::new(Snapshot {
            id: id.into(),
            ..Snapshot::default()
        })
    }

    #[test]
    fn the_least_recently_used_tenant_goes_first_and_a_new_snapshot_replaces_the_old() {
        let s = Snapshots::default();
        for t in ["a", "b", "c", "d"] {
            s.keep(t, &format!("{t}1"), snap(&format!("{t}1")));
        }
        // `a` used again: `b` is now the least recently used.
        assert_eq!(s.take("a", "a1").unwrap().id, "a1");
        s.keep("e", "e1", snap("e1"));
        let ids: Vec<String> = s.ids().into_iter().map(|(t, _)| t).collect();
        assert_eq!(ids, ["e", "a", "d", "c"]);
        // Another snapshot of `a` replaces its old one; asking for the old id misses.
        s.keep("a", "a2", snap("a2"));
        assert!(s.take("a", "a1").is_none());
        assert_eq!(s.take("a", "a2").unwrap().id, "a2");
        assert_eq!(s.ids().iter().filter(|(t, _)| t == "a").count(), 1);
    }
}
