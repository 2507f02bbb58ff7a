//! PPG-FLW-002: Orphaned flow: its creator is deleted or disabled and no active user owns it.
//!
//! What it checks: the creator is gone (Graph 404 or `accountEnabled` false) and no active user
//! owns the flow: no `Owner` and no co-owner (`CanEdit`, the role the Flow API gives co-owners)
//! in its permissions is an active user. A group co-owner does not end orphanhood: nobody is
//! accountable for the flow, and the group's members come and go.
//! Why it matters: nobody can maintain the flow, and its connections break or keep running
//! under a departed identity.
//! Remediation: assign a new owner (or co-owner), or retire the flow.
//! References: CATALOGUE.md PPG-FLW-002; seed 002.

use super::per_flow;
use crate::rules::prelude::*;

/// Rule metadata.
pub const META: RuleMeta = RuleMeta {
    id: "PPG-FLW-002",
    area: "flow",
    title: "Orphaned flow: its owner is deleted or disabled",
    severity: Severity::High,
    resource_kind: ResourceKind::Flow,
    remediation: "Reassign the flow to an active owner or add an active co-owner, or retire it.",
    action_id: Some("PPG-ACT-008"),
};

/// Evaluates the rule.
pub fn evaluate(ctx: &Context) -> RuleOutput {
    let missing = ctx.missing_tenant(&[CollectionKind::Principals]);
    if !missing.is_empty() {
        return RuleOutput::partial(vec![], &missing);
    }
    per_flow(
        ctx,
        &[CollectionKind::FlowPermissions],
        |_| true,
        |_, f| {
            let creator = f.creator.as_deref()?;
            if !ctx.is_gone(creator) {
                return None;
            }
            let active_owner = f.permissions.iter().flatten().any(|p| {
                (p.role_name.eq_ignore_ascii_case("Owner")
                    || p.role_name.eq_ignore_ascii_case("CanEdit"))
                    && ctx.principal_kind(&p.principal.id, &p.principal.principal_type)
                        == ppgov_core::PrincipalKind::User
                    && ctx.is_active(&p.principal.id)
            });
            if active_owner {
                return None;
            }
            let status = ctx.snapshot.principal(creator).map(|p| p.status);
            Some(META.finding(
            flow_ref(f),
            format!("Flow '{}' ({}) is orphaned: its creator {creator} is deleted or disabled and no active user owns it.", f.display_name, f.id),
            json!({ "creator": creator, "creator_status": status, "active_user_owners": 0 }),
        ))
        },
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
        let gone = "00000000-0000-0000-0000-0000000000d1";
        s.principals.insert(
            gone.into(),
            principal(gone, PrincipalKind::User, PrincipalStatus::Deleted, false),
        );
        let mut covered = flow("f-covered", PROD_ENV);
        covered.creator = Some(gone.into());
        let mut orphan = flow("f-orphan", PROD_ENV);
        orphan.creator = Some(gone.into());
        orphan.permissions = Some(vec![owner(gone)]);
        // An active co-owner (CanEdit) takes it over; a group co-owner does not.
        let mut co_owned = flow("f-co-owned", PROD_ENV);
        co_owned.creator = Some(gone.into());
        let mut co = owner(USER_2);
        co.role_name = "CanEdit".into();
        co_owned.permissions = Some(vec![owner(gone), co]);
        let mut group_owned = flow("f-group-owned", PROD_ENV);
        group_owned.creator = Some(gone.into());
        let mut g = owner(SP_1);
        g.role_name = "CanEdit".into();
        g.principal.principal_type = "Group".into();
        group_owned.permissions = Some(vec![owner(gone), g]);
        s.flows.extend([
            flow("f-ok", PROD_ENV),
            covered,
            orphan,
            co_owned,
            group_owned,
        ]);
        assert_eq!(ids(&run(evaluate, &s)), vec!["f-group-owned", "f-orphan"]);
        fail(&mut s, None, CollectionKind::Principals);
        assert!(is_error(&run(evaluate, &s)));
    }
}
