//! Entra groups whose membership a rule judges against (the approved-makers group of PPG-DEF-006),
//! read transitively (nested groups expanded) at crawl time.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// One group's transitive membership, as Graph `transitiveMembers` gave it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct GroupMembers {
    /// The group's object id, lower case.
    pub group_id: String,
    /// False when Graph answered 404: the group does not exist (a configuration error, never an
    /// empty group).
    pub exists: bool,
    /// Object ids (lower case, sorted, unique) of its users and service principals, however
    /// deeply nested. Nested groups themselves, devices and contacts are left out.
    pub members: Vec<String>,
    /// When the membership was read (the crawl's start time).
    pub observed_at: Option<DateTime<Utc>>,
}

impl GroupMembers {
    /// A group read at `at` with these member ids (normalised here).
    pub fn new(
        group_id: &str,
        members: impl IntoIterator<Item = String>,
        at: DateTime<Utc>,
    ) -> Self {
        let mut members: Vec<String> = members
            .into_iter()
            .map(|m| m.trim().to_ascii_lowercase())
            .filter(|m| !m.is_empty())
            .collect();
        members.sort();
        members.dedup();
        GroupMembers {
            group_id: group_id.trim().to_ascii_lowercase(),
            exists: true,
            members,
            observed_at: Some(at),
        }
    }

    /// A group Graph does not know.
    pub fn missing(group_id: &str, at: DateTime<Utc>) -> Self {
        GroupMembers {
            group_id: group_id.trim().to_ascii_lowercase(),
            exists: false,
            members: Vec::new(),
            observed_at: Some(at),
        }
    }

    /// True when the object id is a (transitive) member; ids compare case-insensitively.
    pub fn contains(&self, object_id: &str) -> bool {
        let id = object_id.trim().to_ascii_lowercase();
        self.members.binary_search(&id).is_ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn membership_is_normalised_and_case_insensitive() {
        let g = GroupMembers::new(
            " ABC ",
            ["B".to_string(), "a".into(), "b".into(), "".into()],
            Utc::now(),
        );
        assert_eq!(g.group_id, "abc");
        assert_eq!(g.members, vec!["a", "b"]);
        assert!(g.contains("A") && g.contains(" b") && !g.contains("c"));
        assert!(!GroupMembers::missing("x", Utc::now()).exists);
    }
}
