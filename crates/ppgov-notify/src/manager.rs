//! Escalation to managers: a maker or owner who did not act has their manager told too, the way
//! the CoE Starter Kit escalates. Who the manager is comes from a [`ManagerLookup`].

use crate::model::{Notice, Role, normalise_address};
use std::collections::BTreeMap;
use std::future::Future;

/// Finds a user's manager. The production implementation asks Microsoft Graph
/// `GET /users/{id | userPrincipalName}/manager` (delegated or application `User.Read.All`; a 404
/// means "no manager set", which is `Ok(None)`, not an error); tests use a map. The crate only
/// calls it, it never knows Graph, so the coordinator wires the client in the binary.
pub trait ManagerLookup {
    /// The manager's mail address for `user` (an address or user principal name), `Ok(None)` when
    /// the user has none, `Err(reason)` when the lookup failed (the reason never holds a token).
    fn manager_of(&self, user: &str)
    -> impl Future<Output = Result<Option<String>, String>> + Send;
}

/// A fixed map from user to manager, for tests and for a manager list kept in a file.
impl ManagerLookup for BTreeMap<String, String> {
    async fn manager_of(&self, user: &str) -> Result<Option<String>, String> {
        Ok(self.get(&normalise_address(user)).cloned())
    }
}

/// A lookup that failed for one user: the maker still gets their notice; the manager does not.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LookupFailure {
    /// The user whose manager was asked for.
    pub user: String,
    /// What went wrong.
    pub reason: String,
}

/// For every maker and owner notice, a copy addressed to the recipient's manager with role
/// [`Role::Manager`] (each user looked up once). Returns the manager notices and the lookups that
/// failed; notices for IT and existing manager notices are not escalated again.
pub async fn escalate<L: ManagerLookup>(
    notices: &[Notice],
    lookup: &L,
) -> (Vec<Notice>, Vec<LookupFailure>) {
    let mut managers: BTreeMap<String, Option<String>> = BTreeMap::new();
    let mut failures = Vec::new();
    let mut out = Vec::new();
    for n in notices {
        if !matches!(n.role, Role::Maker | Role::Owner) {
            continue;
        }
        let user = normalise_address(&n.recipient);
        if user.is_empty() {
            continue;
        }
        if !managers.contains_key(&user) {
            let found = match lookup.manager_of(&user).await {
                Ok(m) => m,
                Err(reason) => {
                    failures.push(LookupFailure {
                        user: user.clone(),
                        reason,
                    });
                    None
                }
            };
            managers.insert(user.clone(), found);
        }
        if let Some(Some(manager)) = managers.get(&user) {
            let mut m = n.clone();
            m.role = Role::Manager;
            m.recipient = manager.clone();
            m.action = format!("{} ({} has not acted yet)", n.action, user);
            out.push(m);
        }
    }
    (out, failures)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::tests::notice;
    use ppgov_core::Severity;

    struct Failing;
    impl ManagerLookup for Failing {
        async fn manager_of(&self, user: &str) -> Result<Option<String>, String> {
            Err(format!("graph said 403 for {user}"))
        }
    }

    #[tokio::test]
    async fn makers_and_owners_escalate_once_per_user_it_never() {
        let map: BTreeMap<String, String> =
            [("ada@x.com".to_string(), "boss@x.com".to_string())].into();
        let f = [("PPG-FLW-001", "t", Severity::High)];
        let notices = vec![
            notice(Role::Maker, "Ada@x.com", "a", &f),
            notice(Role::Owner, "ada@x.com", "b", &f),
            notice(Role::It, "ada@x.com", "c", &f),
            notice(Role::Maker, "nomanager@x.com", "d", &f),
        ];
        let (out, failures) = escalate(&notices, &map).await;
        assert!(failures.is_empty());
        assert_eq!(out.len(), 2);
        assert!(
            out.iter()
                .all(|n| n.role == Role::Manager && n.recipient == "boss@x.com")
        );
        assert!(out[0].action.contains("ada@x.com has not acted"));
    }

    #[tokio::test]
    async fn a_failed_lookup_is_reported_not_fatal() {
        let notices = vec![notice(Role::Maker, "ada@x.com", "a", &[])];
        let (out, failures) = escalate(&notices, &Failing).await;
        assert!(out.is_empty());
        assert_eq!(failures.len(), 1);
        assert_eq!(failures[0].user, "ada@x.com");
    }
}
