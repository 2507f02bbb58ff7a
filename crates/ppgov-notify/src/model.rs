//! What a notification says: a [`Notice`] (one resource, its findings, for one recipient) and a
//! [`Digest`] (everything one recipient gets in one message).

use chrono::NaiveDate;
use ppgov_core::Severity;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fmt;

/// Why a recipient hears about a resource.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// Created the resource (a flow's creator, an app's author).
    Maker,
    /// Owns it (co-owner, environment admin named as owner).
    Owner,
    /// Manager of a maker or owner who did not act (escalation, as the CoE Starter Kit does).
    Manager,
    /// The IT / platform team.
    It,
}

impl Role {
    /// The lower-case name used in templates and payloads.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Maker => "maker",
            Role::Owner => "owner",
            Role::Manager => "manager",
            Role::It => "it",
        }
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One finding as a notice names it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NoticeFinding {
    /// Stable rule id, e.g. `PPG-FLW-001`.
    pub rule_id: String,
    /// What is wrong, in one sentence (the finding's message). Untrusted: resource names in it
    /// come from makers, so HTML templates escape it.
    pub title: String,
    /// How bad.
    pub severity: Severity,
}

/// The resource a notice is about.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NoticeResource {
    /// Kind as the catalogue spells it (`flow`, `app`, ...).
    pub kind: String,
    /// Its id.
    pub id: String,
    /// Its display name (untrusted, maker-chosen).
    pub name: String,
    /// The environment it lives in, where it lives in one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub environment: Option<String>,
}

/// One recipient, one resource, its findings, and what is asked of the recipient.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Notice {
    /// Why this recipient is told.
    pub role: Role,
    /// E-mail address (or any address the sinks understand) of the recipient.
    pub recipient: String,
    /// The resource at fault.
    pub resource: NoticeResource,
    /// Its findings, highest severity first once in a digest.
    pub findings: Vec<NoticeFinding>,
    /// What the recipient should do (or what ppgov will do), in words.
    pub action: String,
    /// When it has to be done by, if there is a deadline.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub due: Option<NaiveDate>,
}

impl Notice {
    /// The highest severity among the findings (`Info` when there are none).
    pub fn max_severity(&self) -> Severity {
        self.findings
            .iter()
            .map(|f| f.severity)
            .max()
            .unwrap_or(Severity::Info)
    }
}

/// Everything one recipient is told in one message: never one message per finding.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Digest {
    /// The address, lower-cased and trimmed (how recipients are told apart).
    pub recipient: String,
    /// Every role the recipient holds across the notices, in role order.
    pub roles: Vec<Role>,
    /// The notices, most severe first, then by resource name and id.
    pub notices: Vec<Notice>,
    /// The earliest due date among the notices.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub due: Option<NaiveDate>,
}

impl Digest {
    /// How many findings the digest names in all.
    pub fn finding_count(&self) -> usize {
        self.notices.iter().map(|n| n.findings.len()).sum()
    }

    /// The highest severity in the digest.
    pub fn max_severity(&self) -> Severity {
        self.notices
            .iter()
            .map(Notice::max_severity)
            .max()
            .unwrap_or(Severity::Info)
    }
}

/// The form addresses are compared in: trimmed and lower-cased (mailboxes are case-insensitive
/// in practice, and Entra stores the same user as `Ada@` and `ada@`).
pub fn normalise_address(address: &str) -> String {
    address.trim().to_lowercase()
}

/// Groups notices into one digest per recipient (by normalised address), deterministic order:
/// digests by address; inside, notices most severe first, then resource name and id; findings
/// most severe first, then rule id. Notices with an empty address are dropped (nobody to tell):
/// the caller reports those from the inputs it has.
pub fn build_digests(notices: impl IntoIterator<Item = Notice>) -> Vec<Digest> {
    let mut by_recipient: BTreeMap<String, Vec<Notice>> = BTreeMap::new();
    for mut notice in notices {
        let key = normalise_address(&notice.recipient);
        if key.is_empty() {
            continue;
        }
        notice.recipient = key.clone();
        notice
            .findings
            .sort_by(|a, b| b.severity.cmp(&a.severity).then(a.rule_id.cmp(&b.rule_id)));
        by_recipient.entry(key).or_default().push(notice);
    }
    by_recipient
        .into_iter()
        .map(|(recipient, mut notices)| {
            notices.sort_by(|a, b| {
                b.max_severity()
                    .cmp(&a.max_severity())
                    .then_with(|| a.resource.name.cmp(&b.resource.name))
                    .then_with(|| a.resource.id.cmp(&b.resource.id))
                    .then_with(|| a.role.cmp(&b.role))
            });
            let mut roles: Vec<Role> = notices.iter().map(|n| n.role).collect();
            roles.sort();
            roles.dedup();
            let due = notices.iter().filter_map(|n| n.due).min();
            Digest {
                recipient,
                roles,
                notices,
                due,
            }
        })
        .collect()
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    pub(crate) fn notice(
        role: Role,
        to: &str,
        name: &str,
        findings: &[(&str, &str, Severity)],
    ) -> Notice {
        Notice {
            role,
            recipient: to.to_string(),
            resource: NoticeResource {
                kind: "flow".into(),
                id: format!("id-{name}"),
                name: name.into(),
                environment: Some("Default-1".into()),
            },
            findings: findings
                .iter()
                .map(|(id, t, s)| NoticeFinding {
                    rule_id: (*id).into(),
                    title: (*t).into(),
                    severity: *s,
                })
                .collect(),
            action: "turn the flow off or share it with a group".into(),
            due: None,
        }
    }

    #[test]
    fn one_digest_per_recipient_whatever_the_case_of_the_address() {
        let digests = build_digests(vec![
            notice(
                Role::Maker,
                "Ada@Contoso.com",
                "a",
                &[("PPG-FLW-001", "x", Severity::Low)],
            ),
            notice(
                Role::Owner,
                " ada@contoso.com ",
                "b",
                &[("PPG-APP-001", "y", Severity::High)],
            ),
            notice(
                Role::It,
                "it@contoso.com",
                "a",
                &[("PPG-FLW-001", "x", Severity::Low)],
            ),
        ]);
        assert_eq!(digests.len(), 2);
        assert_eq!(digests[0].recipient, "ada@contoso.com");
        assert_eq!(digests[0].roles, vec![Role::Maker, Role::Owner]);
        assert_eq!(digests[0].notices.len(), 2);
        assert_eq!(digests[0].finding_count(), 2);
        // Most severe resource first.
        assert_eq!(digests[0].notices[0].resource.name, "b");
        assert_eq!(digests[0].max_severity(), Severity::High);
        assert_eq!(digests[1].recipient, "it@contoso.com");
        assert_eq!(digests[1].roles, vec![Role::It]);
    }

    #[test]
    fn findings_inside_a_notice_are_most_severe_first_and_empty_addresses_dropped() {
        let digests = build_digests(vec![
            notice(
                Role::Maker,
                "m@x.com",
                "a",
                &[
                    ("PPG-FLW-002", "low", Severity::Low),
                    ("PPG-FLW-009", "crit", Severity::Critical),
                    ("PPG-FLW-001", "low2", Severity::Low),
                ],
            ),
            notice(
                Role::Maker,
                "  ",
                "b",
                &[("PPG-FLW-001", "x", Severity::Low)],
            ),
        ]);
        assert_eq!(digests.len(), 1);
        let ids: Vec<&str> = digests[0].notices[0]
            .findings
            .iter()
            .map(|f| f.rule_id.as_str())
            .collect();
        assert_eq!(ids, ["PPG-FLW-009", "PPG-FLW-001", "PPG-FLW-002"]);
    }

    #[test]
    fn the_digest_due_date_is_the_earliest() {
        let mut a = notice(Role::Maker, "m@x.com", "a", &[]);
        a.due = NaiveDate::from_ymd_opt(2026, 12, 20);
        let mut b = notice(Role::Maker, "m@x.com", "b", &[]);
        b.due = NaiveDate::from_ymd_opt(2026, 12, 10);
        let c = notice(Role::Maker, "m@x.com", "c", &[]);
        let d = build_digests(vec![a, b, c]);
        assert_eq!(d[0].due, NaiveDate::from_ymd_opt(2026, 12, 10));
    }

    #[test]
    fn no_notices_no_digests() {
        assert!(build_digests(Vec::new()).is_empty());
    }
}
