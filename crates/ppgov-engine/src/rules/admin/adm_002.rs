//! PPG-ADM-002: The same person owns flows or apps and is System Administrator in a prod environment.
//!
//! What it checks: a user holding System Administrator in a prod environment who also owns at
//! least one app (owner) or flow (creator or Owner permission) anywhere in the tenant.
//! Why it matters: segregation of duties (SOX): the person who builds automation should not also
//! administer the production data it touches.
//! Remediation: remove one of the two roles: transfer the resources or remove the admin role.
//! References: CATALOGUE.md PPG-ADM-002; seed 003; SOX segregation of duties.

use super::{Roles, holder_findings, holders, is_user};
use crate::rules::prelude::*;

/// Rule metadata.
pub const META: RuleMeta = RuleMeta {
    id: "PPG-ADM-002",
    area: "admin",
    title: "The same person owns flows or apps and is System Administrator in a prod environment",
    severity: Severity::High,
    resource_kind: ResourceKind::RoleHolder,
    remediation: "Separate duties: transfer the person's apps and flows, or remove their System Administrator role in prod.",
    action_id: None,
};

/// Evaluates the rule.
pub fn evaluate(ctx: &Context) -> RuleOutput {
    let (h, mut missing) = holders(ctx, Roles::SysAdmin, |r| {
        ctx.is_prod(&r.environment_id) && is_user(ctx, r) && ctx.owns_something(&r.principal_id)
    });
    let (_, inputs) = ctx.split_envs(
        &[
            CollectionKind::Apps,
            CollectionKind::Flows,
            CollectionKind::FlowPermissions,
        ],
        |_| true,
    );
    missing.extend(inputs);
    RuleOutput::partial(
        holder_findings(
            ctx,
            &META,
            h,
            "owns apps or flows and holds",
            |_| json!({ "owns_apps_or_flows": true }),
        ),
        &missing,
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testkit::*;

    #[test]
    fn fires_silent_and_errors() {
        let mut s = base();
        s.role_assignments.push(sysadmin(PROD_ENV, USER_1, "User"));
        s.role_assignments
            .push(sysadmin(DEFAULT_ENV, USER_1, "User"));
        s.role_assignments.push(sysadmin(PROD_ENV, USER_2, "User"));
        s.apps.push(app("a1", DEFAULT_ENV));
        assert_eq!(
            ids(&run(evaluate, &s)),
            vec![format!("{PROD_ENV}/{USER_1}")]
        );
        fail(&mut s, Some(DEFAULT_ENV), CollectionKind::Apps);
        let out = run(evaluate, &s);
        assert!(is_error(&out) && out.findings.len() == 1);
    }
}
