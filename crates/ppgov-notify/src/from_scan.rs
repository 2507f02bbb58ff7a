//! From a scan to notices: each finding's resource is looked up in the snapshot for its maker (a
//! flow's creator, an app's owner, a connection's creator) and co-owners, and every IT recipient
//! hears about everything. Suppressed findings are left out.

use crate::model::{Notice, NoticeFinding, NoticeResource, Role, normalise_address};
use chrono::NaiveDate;
use ppgov_core::{Finding, PrincipalRef, ResourceKind, ResourceRef, Snapshot};
use std::collections::BTreeMap;

/// The notices for a scan, and the resources nobody but IT could be told about.
#[derive(Debug, Default)]
pub struct ScanNotices {
    /// Every notice (maker, owner and IT), not yet grouped into digests.
    pub notices: Vec<Notice>,
    /// Resources with findings whose maker and owners have no known address.
    pub unaddressed: Vec<ResourceRef>,
}

/// Builds the notices for `findings` on `snapshot`. `due` is the date asked for on every notice.
pub fn notices_from_scan(
    snapshot: &Snapshot,
    findings: &[Finding],
    it_recipients: &[String],
    due: Option<NaiveDate>,
) -> ScanNotices {
    let mut by_resource: BTreeMap<&ResourceRef, Vec<&Finding>> = BTreeMap::new();
    for f in findings.iter().filter(|f| f.suppressed.is_none()) {
        by_resource.entry(&f.resource).or_default().push(f);
    }
    let mut out = ScanNotices::default();
    for (resource, found) in by_resource {
        let subject = NoticeResource {
            kind: resource.kind.as_str().to_string(),
            id: resource.id.clone(),
            name: resource.name.clone(),
            environment: resource.environment_id.as_ref().map(|id| {
                snapshot
                    .environment(id)
                    .map(|e| e.display_name.clone())
                    .unwrap_or_else(|| id.clone())
            }),
        };
        let items: Vec<NoticeFinding> = found
            .iter()
            .map(|f| NoticeFinding {
                rule_id: f.rule_id.clone(),
                title: f.message.clone(),
                severity: f.severity,
            })
            .collect();
        let mut actions: Vec<&str> = Vec::new();
        for f in &found {
            let t = f.remediation.text.trim();
            if !t.is_empty() && !actions.contains(&t) {
                actions.push(t);
            }
        }
        let action = if actions.is_empty() {
            "review the findings with your IT team".to_string()
        } else {
            actions.join(" ")
        };
        let notice = |role: Role, to: &str| Notice {
            role,
            recipient: to.to_string(),
            resource: subject.clone(),
            findings: items.clone(),
            action: action.clone(),
            due,
        };
        let (maker, owners) = people(snapshot, resource);
        if maker.is_none() && owners.is_empty() {
            out.unaddressed.push(resource.clone());
        }
        if let Some(m) = &maker {
            out.notices.push(notice(Role::Maker, m));
        }
        for o in owners.iter().filter(|o| Some(*o) != maker.as_ref()) {
            out.notices.push(notice(Role::Owner, o));
        }
        for it in it_recipients {
            out.notices.push(notice(Role::It, it));
        }
    }
    out
}

/// The maker's address and the other owners' addresses of a resource (users only), normalised.
fn people(snapshot: &Snapshot, r: &ResourceRef) -> (Option<String>, Vec<String>) {
    let same = |env: &str, id: &str| {
        id.eq_ignore_ascii_case(&r.id)
            && r.environment_id
                .as_deref()
                .is_none_or(|e| e.eq_ignore_ascii_case(env))
    };
    let (maker, permissions) = match r.kind {
        ResourceKind::Flow => match snapshot
            .flows
            .iter()
            .find(|f| same(&f.environment_id, &f.id))
        {
            Some(f) => (
                f.creator
                    .as_deref()
                    .and_then(|id| address_of(snapshot, id, None)),
                f.permissions.as_deref(),
            ),
            None => (None, None),
        },
        ResourceKind::App => match snapshot
            .apps
            .iter()
            .find(|a| same(&a.environment_id, &a.id))
        {
            Some(a) => (
                a.owner
                    .as_ref()
                    .or(a.created_by.as_ref())
                    .and_then(|p| ref_address(snapshot, p)),
                a.permissions.as_deref(),
            ),
            None => (None, None),
        },
        ResourceKind::Connection => {
            match snapshot
                .connections
                .iter()
                .find(|c| same(&c.environment_id, &c.id))
            {
                Some(c) => (
                    c.created_by.as_ref().and_then(|p| ref_address(snapshot, p)),
                    c.permissions.as_deref(),
                ),
                None => (None, None),
            }
        }
        _ => (None, None),
    };
    let mut owners: Vec<String> = permissions
        .unwrap_or_default()
        .iter()
        .filter(|p| p.role_name.eq_ignore_ascii_case("owner"))
        .filter(|p| p.principal.principal_type.eq_ignore_ascii_case("user"))
        .filter_map(|p| ref_address(snapshot, &p.principal))
        .collect();
    owners.sort();
    owners.dedup();
    (maker, owners)
}

fn ref_address(snapshot: &Snapshot, p: &PrincipalRef) -> Option<String> {
    if !p.principal_type.is_empty() && !p.principal_type.eq_ignore_ascii_case("user") {
        return None;
    }
    address_of(snapshot, &p.id, p.email.as_deref())
}

/// A user's mail (else UPN) from the resolved principals, else what the resource recorded. Gone
/// users (deleted, disabled) have no address: their managers and IT carry the notice.
fn address_of(snapshot: &Snapshot, id: &str, recorded: Option<&str>) -> Option<String> {
    let resolved = snapshot.principal(id);
    if resolved.is_some_and(|p| p.is_gone()) {
        return None;
    }
    resolved
        .and_then(|p| p.mail.as_deref().or(p.upn.as_deref()))
        .or(recorded)
        .map(normalise_address)
        .filter(|a| a.contains('@'))
}

#[cfg(test)]
mod tests {
    use super::*;
    use ppgov_core::{
        App, Environment, Flow, Permission, Principal, PrincipalStatus, Remediation, Severity,
        Suppressed,
    };

    fn finding(kind: ResourceKind, id: &str, rule: &str, severity: Severity) -> Finding {
        Finding {
            rule_id: rule.into(),
            severity,
            resource: ResourceRef {
                kind,
                id: id.into(),
                name: format!("name of {id}"),
                environment_id: Some("env-1".into()),
            },
            message: format!("{rule} on {id}"),
            evidence: serde_json::json!({}),
            remediation: Remediation {
                text: format!("fix {rule}."),
                action_id: None,
            },
            frameworks: Vec::new(),
            suppressed: None,
        }
    }

    fn user(id: &str, mail: &str, status: PrincipalStatus) -> (String, Principal) {
        (
            id.to_string(),
            Principal {
                id: id.into(),
                status,
                mail: Some(mail.into()),
                ..Default::default()
            },
        )
    }

    fn owner(id: &str) -> Permission {
        Permission {
            principal: PrincipalRef {
                id: id.into(),
                principal_type: "User".into(),
                display_name: None,
                email: None,
            },
            role_name: "Owner".into(),
        }
    }

    fn snapshot() -> Snapshot {
        Snapshot {
            environments: vec![Environment {
                id: "env-1".into(),
                display_name: "Contoso (default)".into(),
                ..Default::default()
            }],
            flows: vec![Flow {
                id: "flow-1".into(),
                environment_id: "env-1".into(),
                creator: Some("u-ada".into()),
                permissions: Some(vec![owner("u-ada"), owner("u-bob"), owner("u-gone")]),
                ..Default::default()
            }],
            apps: vec![App {
                id: "app-1".into(),
                environment_id: "env-1".into(),
                owner: Some(PrincipalRef {
                    id: "u-gone".into(),
                    principal_type: "User".into(),
                    display_name: None,
                    email: Some("gone@contoso.test".into()),
                }),
                ..Default::default()
            }],
            principals: [
                user("u-ada", "Ada@Contoso.test", PrincipalStatus::Active),
                user("u-bob", "bob@contoso.test", PrincipalStatus::Active),
                user("u-gone", "gone@contoso.test", PrincipalStatus::Deleted),
            ]
            .into(),
            ..Default::default()
        }
    }

    #[test]
    fn makers_owners_and_it_are_told_gone_users_are_not() {
        let mut suppressed = finding(ResourceKind::Flow, "flow-1", "PPG-FLW-009", Severity::Low);
        suppressed.suppressed = Some(Suppressed {
            justification: "accepted".into(),
            expires: None,
        });
        let findings = vec![
            finding(ResourceKind::Flow, "flow-1", "PPG-FLW-001", Severity::High),
            finding(ResourceKind::Flow, "flow-1", "PPG-FLW-002", Severity::Low),
            suppressed,
            finding(ResourceKind::App, "app-1", "PPG-APP-001", Severity::Medium),
            finding(
                ResourceKind::Environment,
                "env-1",
                "PPG-ENV-001",
                Severity::High,
            ),
        ];
        let due = NaiveDate::from_ymd_opt(2026, 12, 24);
        let out = notices_from_scan(&snapshot(), &findings, &["it@contoso.test".into()], due);
        let who: Vec<(Role, &str, &str)> = out
            .notices
            .iter()
            .map(|n| (n.role, n.recipient.as_str(), n.resource.id.as_str()))
            .collect();
        assert_eq!(
            who,
            [
                (Role::It, "it@contoso.test", "env-1"),
                (Role::It, "it@contoso.test", "app-1"),
                (Role::Maker, "ada@contoso.test", "flow-1"),
                (Role::Owner, "bob@contoso.test", "flow-1"),
                (Role::It, "it@contoso.test", "flow-1"),
            ]
        );
        let flow = &out.notices[2];
        assert_eq!(flow.findings.len(), 2, "the suppressed finding is left out");
        assert_eq!(flow.action, "fix PPG-FLW-001. fix PPG-FLW-002.");
        assert_eq!(
            flow.resource.environment.as_deref(),
            Some("Contoso (default)")
        );
        assert_eq!(flow.due, due);
        let unaddressed: Vec<&str> = out.unaddressed.iter().map(|r| r.id.as_str()).collect();
        assert_eq!(unaddressed, ["env-1", "app-1"]);
        let digests = crate::build_digests(out.notices);
        assert_eq!(digests.len(), 3);
    }
}
