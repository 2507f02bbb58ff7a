//! PPG-ADM-003: A deleted or disabled user still holds System Administrator or Environment Admin.
//!
//! What it checks: a user whom Graph reports deleted or disabled holds Dataverse System
//! Administrator or the BAP Environment Admin role.
//! Why it matters: dangling admin assignments are reactivated with the account, and hide who
//! really administers the environment.
//! Remediation: remove the role assignment.
//! References: CATALOGUE.md PPG-ADM-003; seed 003.

use super::{Roles, holder_findings, holders, is_user};
use crate::rules::prelude::*;

/// Rule metadata.
pub const META: RuleMeta = RuleMeta {
    id: "PPG-ADM-003",
    area: "admin",
    title: "A deleted or disabled user still holds System Administrator or Environment Admin",
    severity: Severity::Critical,
    resource_kind: ResourceKind::RoleHolder,
    remediation: "Remove the admin role from the deleted or disabled user.",
    action_id: Some("PPG-ACT-011"),
};

/// Evaluates the rule.
pub fn evaluate(ctx: &Context) -> RuleOutput {
    let mut missing = ctx.missing_tenant(&[CollectionKind::Principals]);
    if !missing.is_empty() {
        return RuleOutput::partial(vec![], &missing);
    }
    let (h, m) = holders(ctx, Roles::SysAdminOrEnvAdmin, |r| {
        is_user(ctx, r) && ctx.is_gone(&r.principal_id)
    });
    missing.extend(m);
    let findings = holder_findings(
        ctx,
        &META,
        h,
        "is deleted or disabled but still holds",
        |r| json!({ "principal_status": ctx.snapshot.principal(&r.principal_id).map(|p| p.status) }),
    );
    RuleOutput::partial(findings, &missing)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testkit::*;
    use ppgov_core::{PrincipalKind, PrincipalStatus, RoleAssignment, RoleSource};

    #[test]
    fn fires_silent_and_errors() {
        let mut s = base();
        let mut nodv = env("env-nodv", "Sandbox");
        nodv.has_dataverse = false;
        s.environments.push(nodv);
        collect_all(&mut s);
        let gone = "00000000-0000-0000-0000-0000000000d4";
        s.principals.insert(
            gone.into(),
            principal(gone, PrincipalKind::User, PrincipalStatus::Disabled, false),
        );
        s.role_assignments.push(sysadmin(PROD_ENV, gone, "User"));
        s.role_assignments.push(sysadmin(PROD_ENV, USER_1, "User"));
        s.role_assignments.push(RoleAssignment {
            environment_id: "env-nodv".into(),
            principal_id: gone.into(),
            principal_type: "User".into(),
            role: "EnvironmentAdmin".into(),
            source: RoleSource::Bap,
            ..Default::default()
        });
        assert_eq!(
            ids(&run(evaluate, &s)),
            vec![format!("env-nodv/{gone}"), format!("{PROD_ENV}/{gone}")]
        );
        fail(&mut s, Some("env-nodv"), CollectionKind::RoleAssignments);
        let out = run(evaluate, &s);
        assert!(is_error(&out));
        assert_eq!(ids(&out), vec![format!("{PROD_ENV}/{gone}")]);
    }
}
