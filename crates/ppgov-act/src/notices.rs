//! PPG-ACT-013 prepared: from a scan to one digest per recipient (maker, owners, IT and, when
//! asked, managers from Microsoft Graph). Sending is the notifier's (`ppgov-notify`); this module
//! decides who is told what.

use chrono::NaiveDate;
use ppgov_client::GraphClient;
use ppgov_config::NotifyConfig;
use ppgov_core::{Finding, ResourceRef, Snapshot};
use ppgov_notify::{Digest, LookupFailure, ManagerLookup, build_digests, escalate};
use serde_json::Value;

/// Managers read from Graph `GET /users/{id}/manager`: the manager's `mail`, else its user
/// principal name. A user without a manager (404) has none; any other failure is the lookup's
/// error (the maker is still told; the manager is not, and the run says why).
#[derive(Debug, Clone, Copy)]
pub struct GraphManagers<'a>(pub &'a GraphClient);

impl ManagerLookup for GraphManagers<'_> {
    async fn manager_of(&self, user: &str) -> Result<Option<String>, String> {
        let found: Option<Value> = self
            .0
            .manager(user, "id,mail,userPrincipalName,displayName")
            .await
            .map_err(|e| format!("reading the manager of {user}: {e}"))?;
        Ok(found.as_ref().and_then(address_of))
    }
}

/// The address to write to of a Graph user or contact: its `mail`, else its user principal name.
pub(crate) fn address_of(user: &Value) -> Option<String> {
    ["mail", "userPrincipalName"]
        .iter()
        .find_map(|k| user.get(*k).and_then(Value::as_str))
        .filter(|a| !a.trim().is_empty())
        .map(str::to_string)
}

/// Who is told what, before anything is sent.
#[derive(Debug, Default)]
pub struct Prepared {
    /// One digest per recipient.
    pub digests: Vec<Digest>,
    /// Resources with findings whose maker and owners have no known address (only IT hears).
    pub unaddressed: Vec<ResourceRef>,
    /// Manager lookups that failed.
    pub lookup_failures: Vec<LookupFailure>,
}

/// The digests for `findings` (only those of `rules` when given) on `snapshot`; with `managers`,
/// every maker's and owner's manager gets a copy. `due` is the date asked for.
pub async fn prepare(
    snapshot: &Snapshot,
    findings: &[Finding],
    rules: &[String],
    config: &NotifyConfig,
    managers: Option<GraphManagers<'_>>,
    due: Option<NaiveDate>,
) -> Prepared {
    let chosen: Vec<Finding> = findings
        .iter()
        .filter(|f| rules.is_empty() || rules.iter().any(|r| r.eq_ignore_ascii_case(&f.rule_id)))
        .cloned()
        .collect();
    let scan = ppgov_notify::notices_from_scan(snapshot, &chosen, &config.it_recipients, due);
    let mut notices = scan.notices;
    let mut lookup_failures = Vec::new();
    if let Some(lookup) = managers {
        let (extra, failures) = escalate(&notices, &lookup).await;
        notices.extend(extra);
        lookup_failures = failures;
    }
    Prepared {
        digests: build_digests(notices),
        unaddressed: scan.unaddressed,
        lookup_failures,
    }
}
