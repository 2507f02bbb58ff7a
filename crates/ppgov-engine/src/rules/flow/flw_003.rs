//! PPG-FLW-003: Prod flow with a single owner.
//!
//! What it checks: a flow in a prod environment whose permissions hold exactly one owner: one
//! principal (user or group) with the `Owner` role or the co-owner role `CanEdit` (what the Flow
//! API gives a co-owner, REFERENCE F5).
//! Why it matters: a single owner is a single point of failure: when they leave, the flow is orphaned.
//! Remediation: add a co-owner (a person or, better, a group).
//! References: CATALOGUE.md PPG-FLW-003; seed 002.

use super::per_flow;
use crate::rules::prelude::*;

/// Rule metadata.
pub const META: RuleMeta = RuleMeta {
    id: "PPG-FLW-003",
    area: "flow",
    title: "Prod flow with a single owner",
    severity: Severity::Medium,
    resource_kind: ResourceKind::Flow,
    remediation: "Add a co-owner (preferably a group) to the prod flow.",
    action_id: Some("PPG-ACT-008"),
};

/// Evaluates the rule.
pub fn evaluate(ctx: &Context) -> RuleOutput {
    per_flow(
        ctx,
        &[CollectionKind::FlowPermissions],
        |e| ctx.is_prod(&e.id),
        |_, f| {
            if !ctx.is_prod(&f.environment_id) {
                return None;
            }
            let owners: Vec<&str> = f
                .permissions
                .iter()
                .flatten()
                .filter(|p| {
                    p.role_name.eq_ignore_ascii_case("Owner")
                        || p.role_name.eq_ignore_ascii_case("CanEdit")
                })
                .map(|p| p.principal.id.as_str())
                .collect::<std::collections::BTreeSet<_>>()
                .into_iter()
                .collect();
            (owners.len() == 1).then(|| {
                META.finding(
                    flow_ref(f),
                    format!(
                        "Prod flow '{}' ({}) has a single owner.",
                        f.display_name, f.id
                    ),
                    json!({ "owners": owners, "owner_count": 1 }),
                )
            })
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testkit::*;

    #[test]
    fn fires_silent_and_errors() {
        let mut s = base();
        let mut single = flow("f-single", PROD_ENV);
        single.permissions = Some(vec![owner(USER_1)]);
        let mut dflt = flow("f-default", DEFAULT_ENV);
        dflt.permissions = Some(vec![owner(USER_1)]);
        // A group co-owner (CanEdit) makes two owners.
        let mut co = flow("f-co-owned", PROD_ENV);
        let mut g = owner(SP_1);
        g.role_name = "CanEdit".into();
        g.principal.principal_type = "Group".into();
        co.permissions = Some(vec![owner(USER_1), g]);
        // A viewer is no owner.
        let mut viewer = flow("f-viewer", PROD_ENV);
        let mut v = owner(USER_2);
        v.role_name = "CanView".into();
        viewer.permissions = Some(vec![owner(USER_1), v]);
        s.flows
            .extend([flow("f-ok", PROD_ENV), single, dflt, co, viewer]);
        assert_eq!(ids(&run(evaluate, &s)), vec!["f-single", "f-viewer"]);
        fail(&mut s, Some(PROD_ENV), CollectionKind::FlowPermissions);
        assert!(is_error(&run(evaluate, &s)));
    }
}
