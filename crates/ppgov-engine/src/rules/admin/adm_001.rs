//! PPG-ADM-001: Standing System Administrator for a user not on the break-glass allow-list.
//!
//! What it checks: a user (not an application user or service principal) holds the Dataverse
//! System Administrator role (template 627090ff-40a3-4053-8790-584edc5be201, any business unit)
//! and is not on the break-glass list (empty by default).
//! Why it matters: standing admin rights should be just-in-time (self-elevation with a record),
//! not permanent.
//! Remediation: remove the role and use just-in-time elevation.
//! References: CATALOGUE.md PPG-ADM-001; seed 003.

use super::{Roles, holder_findings, holders, is_user};
use crate::rules::prelude::*;
use ppgov_core::RoleAssignment;

/// Rule metadata.
pub const META: RuleMeta = RuleMeta {
    id: "PPG-ADM-001",
    area: "admin",
    title: "Standing System Administrator assignment for a user not on the break-glass list",
    severity: Severity::High,
    resource_kind: ResourceKind::RoleHolder,
    remediation: "Remove the standing System Administrator role and use just-in-time self-elevation instead.",
    action_id: Some("PPG-ACT-011"),
};

/// True when the holder is on the break-glass list (object id or UPN).
fn break_glass(ctx: &Context, r: &RoleAssignment) -> bool {
    let upn = r.principal_upn.clone().or_else(|| {
        ctx.snapshot
            .principal(&r.principal_id)
            .and_then(|p| p.upn.clone())
    });
    ctx.config.break_glass_admins.iter().any(|b| {
        b.eq_ignore_ascii_case(&r.principal_id)
            || upn.as_deref().is_some_and(|u| u.eq_ignore_ascii_case(b))
    })
}

/// Evaluates the rule.
pub fn evaluate(ctx: &Context) -> RuleOutput {
    let (h, missing) = holders(ctx, Roles::SysAdmin, |r| {
        is_user(ctx, r) && !break_glass(ctx, r)
    });
    RuleOutput::partial(
        holder_findings(ctx, &META, h, "holds standing", |_| json!({})),
        &missing,
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testkit::*;
    use ppgov_config::PostureConfig;

    #[test]
    fn fires_silent_and_errors() {
        let mut s = base();
        s.role_assignments
            .push(sysadmin(PROD_ENV, SP_1, "ServicePrincipal"));
        s.role_assignments.push(sysadmin(PROD_ENV, USER_1, "User"));
        let mut other_bu = sysadmin(PROD_ENV, USER_1, "User");
        other_bu.role_id = Some("bu2-role".into());
        s.role_assignments.push(other_bu);
        let out = run(evaluate, &s);
        assert_eq!(ids(&out), vec![format!("{PROD_ENV}/{USER_1}")]);
        let cfg = PostureConfig {
            break_glass_admins: vec![format!("{USER_1}@CONTOSO.com")],
            ..PostureConfig::default()
        };
        assert!(run_with(evaluate, &s, &cfg).findings.is_empty());
        fail(&mut s, Some(PROD_ENV), CollectionKind::DataverseAdmins);
        assert!(is_error(&run(evaluate, &s)));
    }

    /// Seed 003: role assignments through groups cannot be elevated just in time, so a member of
    /// a group team holding System Administrator is a standing admin; the group is no person.
    #[test]
    fn group_team_members_are_standing_admins_and_the_group_is_not_a_person() {
        use ppgov_core::{PrincipalKind, PrincipalStatus};
        let mut s = base();
        let group = "00000000-0000-0000-0000-00000000a001";
        s.principals.insert(
            group.into(),
            principal(group, PrincipalKind::Group, PrincipalStatus::Active, false),
        );
        // Recorded without a type, as BAP and some payloads do: Graph's kind decides.
        s.role_assignments.push(sysadmin(PROD_ENV, group, ""));
        let mut member = sysadmin(PROD_ENV, USER_2, "User");
        member.via_group = Some(group.into());
        s.role_assignments.push(member);
        let out = run(evaluate, &s);
        assert_eq!(ids(&out), vec![format!("{PROD_ENV}/{USER_2}")]);
        assert_eq!(out.findings[0].evidence["via_group"], group);
    }

    /// An environment still provisioning Dataverse is neither passed nor failed: the error says
    /// its admins are not yet available.
    #[test]
    fn provisioning_environment_says_not_yet_available() {
        let mut s = base();
        s.collection.record(
            ppgov_core::CollectionScope::Environment(PROD_ENV.into()),
            CollectionKind::DataverseAdmins,
            ppgov_core::CollectionState::Skipped {
                reason: "not yet available: Dataverse is still being provisioned".into(),
            },
        );
        let out = run(evaluate, &s);
        let message = match &out.status {
            ppgov_core::RuleStatus::Error { message } => message.clone(),
            _ => String::new(),
        };
        assert!(message.contains("not yet available"), "{:?}", out.status);
    }
}
