//! PPG-ADM-004: A guest holds an admin role in an environment.
//!
//! What it checks: a guest (Entra `userType == "Guest"`) holds Dataverse System Administrator or
//! the BAP Environment Admin role.
//! Why it matters: guests sit outside the organisation's joiner-mover-leaver process and
//! conditional access; admin rights for them are rarely intended.
//! Remediation: remove the role, or give the person a member account under normal controls.
//! References: CATALOGUE.md PPG-ADM-004; seed 003.

use super::{Roles, holder_findings, holders};
use crate::rules::prelude::*;

/// Rule metadata.
pub const META: RuleMeta = RuleMeta {
    id: "PPG-ADM-004",
    area: "admin",
    title: "A guest holds an admin role in an environment",
    severity: Severity::Critical,
    resource_kind: ResourceKind::RoleHolder,
    remediation: "Remove the admin role from the guest.",
    action_id: Some("PPG-ACT-011"),
};

/// Evaluates the rule.
pub fn evaluate(ctx: &Context) -> RuleOutput {
    let mut missing = ctx.missing_tenant(&[CollectionKind::Principals]);
    if !missing.is_empty() {
        return RuleOutput::partial(vec![], &missing);
    }
    let (h, m) = holders(ctx, Roles::SysAdminOrEnvAdmin, |r| {
        ctx.is_guest(&r.principal_id)
    });
    missing.extend(m);
    RuleOutput::partial(
        holder_findings(
            ctx,
            &META,
            h,
            "is a guest and holds",
            |_| json!({ "guest": true }),
        ),
        &missing,
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testkit::*;
    use ppgov_core::{PrincipalKind, PrincipalStatus};

    #[test]
    fn fires_silent_and_errors() {
        let mut s = base();
        let guest = "00000000-0000-0000-0000-0000000000e1";
        s.principals.insert(
            guest.into(),
            principal(guest, PrincipalKind::User, PrincipalStatus::Active, true),
        );
        s.role_assignments.push(sysadmin(PROD_ENV, guest, "User"));
        s.role_assignments.push(sysadmin(PROD_ENV, USER_2, "User"));
        assert_eq!(ids(&run(evaluate, &s)), vec![format!("{PROD_ENV}/{guest}")]);
        fail(&mut s, None, CollectionKind::Principals);
        assert!(is_error(&run(evaluate, &s)));
    }
}
