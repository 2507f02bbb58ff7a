//! Roles and what each may do, granted per tenant from the ID token's app roles (every tenant)
//! or from configured group ids (the tenants a grant names).

use crate::oidc::Identity;
use ppgov_config::ConsoleGrant;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};

/// A console role.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Reads posture, findings, inventory and alerts.
    Viewer,
    /// Reads everything and downloads evidence.
    Auditor,
    /// Sees their own resources and requests.
    Maker,
    /// Evaluates requests; reads everything.
    SecurityReviewer,
    /// Approves or rejects requests; reads everything.
    ComplianceApprover,
    /// Everything, including running jobs and applying plans.
    Admin,
}

impl Role {
    /// Every role, in order.
    pub const ALL: [Role; 6] = [
        Role::Viewer,
        Role::Auditor,
        Role::Maker,
        Role::SecurityReviewer,
        Role::ComplianceApprover,
        Role::Admin,
    ];

    /// The configuration name (`security_reviewer`).
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Viewer => "viewer",
            Role::Auditor => "auditor",
            Role::Maker => "maker",
            Role::SecurityReviewer => "security_reviewer",
            Role::ComplianceApprover => "compliance_approver",
            Role::Admin => "admin",
        }
    }

    /// The app role value in Entra (`ppgov.SecurityReviewer`).
    pub fn app_role(self) -> &'static str {
        match self {
            Role::Viewer => "ppgov.Viewer",
            Role::Auditor => "ppgov.Auditor",
            Role::Maker => "ppgov.Maker",
            Role::SecurityReviewer => "ppgov.SecurityReviewer",
            Role::ComplianceApprover => "ppgov.ComplianceApprover",
            Role::Admin => "ppgov.Admin",
        }
    }

    fn parse(s: &str) -> Option<Role> {
        Role::ALL.into_iter().find(|r| r.as_str() == s)
    }
}

/// What a route needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Permission {
    /// Tenant-wide posture: overview, findings, inventory, alerts.
    ReadPosture,
    /// Run a job (crawl, audit ingestion, ...).
    RunJobs,
    /// See connector requests (a maker sees only their own).
    SeeRequests,
    /// Ask for a connector.
    RequestConnector,
    /// Record a request's security evaluation.
    EvaluateRequest,
    /// Approve or reject a request.
    DecideRequest,
    /// Approve (four eyes) and apply a request's DLP plan.
    ApplyPlan,
    /// Read the remediation journal and the submitted remediation plans.
    ReadJournal,
    /// Submit, approve (four eyes) and apply remediation plans.
    ManagePlans,
    /// See the apps and flows one owns (`/mine`, and the pages of one's own flows and apps).
    SeeOwnResources,
    /// Search the tenant's audit events and download them (NDJSON, CSV).
    SearchAudit,
    /// Download the compliance evidence package.
    DownloadEvidence,
    /// Suppress a finding (justification, expiry) or revoke a console suppression.
    SuppressFindings,
}

impl Permission {
    /// The roles that hold it.
    pub fn roles(self) -> &'static [Role] {
        match self {
            Permission::ReadPosture => &[
                Role::Viewer,
                Role::Auditor,
                Role::SecurityReviewer,
                Role::ComplianceApprover,
                Role::Admin,
            ],
            Permission::RunJobs | Permission::ApplyPlan => &[Role::Admin],
            Permission::SeeRequests => &Role::ALL,
            Permission::RequestConnector => &[Role::Maker, Role::Admin],
            Permission::EvaluateRequest => &[Role::SecurityReviewer],
            Permission::DecideRequest => &[Role::ComplianceApprover],
            Permission::ReadJournal => &[
                Role::Auditor,
                Role::SecurityReviewer,
                Role::ComplianceApprover,
                Role::Admin,
            ],
            Permission::ManagePlans => &[Role::Admin],
            Permission::SeeOwnResources => &Role::ALL,
            // Who did what, from where (UPNs, client IPs): not for viewers or makers.
            Permission::SearchAudit => &[
                Role::Auditor,
                Role::SecurityReviewer,
                Role::ComplianceApprover,
                Role::Admin,
            ],
            Permission::DownloadEvidence => &[Role::Auditor, Role::Admin],
            // Accepting a risk: never viewers or makers (a maker would accept their own).
            Permission::SuppressFindings => &[
                Role::SecurityReviewer,
                Role::ComplianceApprover,
                Role::Admin,
            ],
        }
    }

    /// In words, for a refusal.
    pub fn describe(self) -> &'static str {
        match self {
            Permission::ReadPosture => "read this tenant's posture",
            Permission::RunJobs => "run jobs",
            Permission::SeeRequests => "see connector requests",
            Permission::RequestConnector => "request a connector",
            Permission::EvaluateRequest => "evaluate connector requests",
            Permission::DecideRequest => "approve or reject connector requests",
            Permission::ApplyPlan => "approve or apply DLP plans",
            Permission::ReadJournal => "read the remediation journal and plans",
            Permission::ManagePlans => "submit, approve or apply remediation plans",
            Permission::SeeOwnResources => "see your own apps and flows",
            Permission::SearchAudit => "search the audit events",
            Permission::DownloadEvidence => "download the evidence package",
            Permission::SuppressFindings => "suppress findings or revoke suppressions",
        }
    }
}

/// Roles per tenant.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Grants(pub BTreeMap<String, BTreeSet<Role>>);

impl Grants {
    /// The roles `who` holds in each of `tenants`.
    pub fn of(who: &Identity, grants: &[ConsoleGrant], tenants: &[String]) -> Grants {
        let from_token: BTreeSet<Role> = Role::ALL
            .into_iter()
            .filter(|r| who.roles.iter().any(|x| x == r.app_role()))
            .collect();
        let mut out = BTreeMap::new();
        for t in tenants {
            let mut roles = from_token.clone();
            for g in grants {
                let here =
                    g.tenants.is_empty() || g.tenants.iter().any(|x| x.eq_ignore_ascii_case(t));
                let member = g
                    .groups
                    .iter()
                    .any(|id| who.groups.iter().any(|m| m.eq_ignore_ascii_case(id)));
                if here
                    && member
                    && let Some(r) = Role::parse(&g.role)
                {
                    roles.insert(r);
                }
            }
            if !roles.is_empty() {
                out.insert(t.clone(), roles);
            }
        }
        Grants(out)
    }

    /// Whether `permission` is held in `tenant`.
    pub fn allows(&self, tenant: &str, permission: Permission) -> bool {
        self.0
            .get(tenant)
            .is_some_and(|roles| permission.roles().iter().any(|r| roles.contains(r)))
    }

    /// The roles held in `tenant`.
    pub fn in_tenant(&self, tenant: &str) -> Vec<Role> {
        self.0
            .get(tenant)
            .map(|r| r.iter().copied().collect())
            .unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn who(roles: &[&str], groups: &[&str]) -> Identity {
        Identity {
            oid: "u1".into(),
            username: "u@contoso.example".into(),
            name: "U".into(),
            roles: roles.iter().map(|s| s.to_string()).collect(),
            groups: groups.iter().map(|s| s.to_string()).collect(),
        }
    }

    #[test]
    fn app_roles_hold_in_every_tenant_and_group_grants_where_they_say() {
        let tenants = vec!["t1".to_string(), "t2".to_string()];
        let grants = vec![ConsoleGrant {
            role: "admin".into(),
            groups: vec!["G-Admins".into()],
            tenants: vec!["t2".into()],
        }];
        let g = Grants::of(&who(&["ppgov.Viewer"], &["g-admins"]), &grants, &tenants);
        assert!(g.allows("t1", Permission::ReadPosture));
        assert!(!g.allows("t1", Permission::RunJobs));
        assert!(g.allows("t2", Permission::RunJobs));
        assert!(!g.allows("t3", Permission::ReadPosture));
    }

    #[test]
    fn a_maker_or_an_unknown_role_reads_no_tenant_posture() {
        let tenants = vec!["t1".to_string()];
        let g = Grants::of(&who(&["ppgov.Maker", "Other.Role"], &[]), &[], &tenants);
        assert!(!g.allows("t1", Permission::ReadPosture));
        assert!(g.allows("t1", Permission::SeeOwnResources));
        assert_eq!(g.in_tenant("t1"), vec![Role::Maker]);
        let none = Grants::of(&who(&["Other.Role"], &[]), &[], &tenants);
        assert!(none.0.is_empty());
    }
}
