//! When each facet of a resource was observed, and whether that observation succeeded.
//!
//! A resource's facets (its definition, its access list, its run history) change independently:
//! sharing and runs move without `lastModifiedTime` moving. An incremental crawl carries a facet
//! forward only while it is younger than its maximum age and was collected successfully, so every
//! facet says when it was last seen and whether that worked.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// One independently refreshed part of a resource.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Facet {
    /// The document itself (a flow's definition, an app's or connection's properties); its
    /// `lastModifiedTime` says when it changed.
    Definition,
    /// The access list: permissions and owners.
    Permissions,
    /// A flow's run history.
    Runs,
    /// A principal's state in Entra (exists, enabled, guest).
    PrincipalState,
    /// An environment's admin role holders.
    RoleHolders,
}

impl Facet {
    /// The snake_case name used in configuration, evidence and logs.
    pub fn as_str(self) -> &'static str {
        match self {
            Facet::Definition => "definition",
            Facet::Permissions => "permissions",
            Facet::Runs => "runs",
            Facet::PrincipalState => "principal_state",
            Facet::RoleHolders => "role_holders",
        }
    }
}

/// One observation of a facet.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Observation {
    /// When it was read (the crawl's start time).
    pub at: DateTime<Utc>,
    /// False when reading it failed; such a facet is never carried forward as collected.
    pub ok: bool,
}

/// A resource's facets and when each was observed.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Observations(pub BTreeMap<Facet, Observation>);

impl Observations {
    /// True when nothing was recorded (resources built outside a crawl).
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Records an observation, replacing the facet's earlier one.
    pub fn record(&mut self, facet: Facet, at: DateTime<Utc>, ok: bool) {
        self.0.insert(facet, Observation { at, ok });
    }

    /// The facet's observation, if any.
    pub fn get(&self, facet: Facet) -> Option<Observation> {
        self.0.get(&facet).copied()
    }

    /// When each facet was observed, as evidence (`{"permissions": {"at": ..., "ok": true}}`).
    pub fn evidence(&self) -> serde_json::Value {
        serde_json::to_value(self).unwrap_or(serde_json::Value::Null)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn serialises_as_a_map_of_facet_names() {
        let at = DateTime::parse_from_rfc3339("2026-01-02T03:04:05Z")
            .unwrap()
            .with_timezone(&Utc);
        let mut o = Observations::default();
        o.record(Facet::Permissions, at, true);
        o.record(Facet::Runs, at, false);
        let v = serde_json::to_value(&o).unwrap();
        assert_eq!(v["permissions"]["ok"], true);
        assert_eq!(v["runs"]["ok"], false);
        let back: Observations = serde_json::from_value(v).unwrap();
        assert_eq!(back, o);
    }
}
