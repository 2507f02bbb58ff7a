//! PPG-APP-001: App shared with the whole tenant, more than 20 users, or any group.
//!
//! What it checks: a permission to principal type `Tenant` (Everyone), `sharedUsersCount` above
//! 20 (configurable), `sharedGroupsCount` above 0, or any permission to a `Group`.
//! Why it matters: broad sharing exposes the app's connections and data to people who may not
//! need them; the CoE process asks for a recorded justification.
//! Remediation: narrow the sharing, or record a justification as a suppression.
//! References: CATALOGUE.md PPG-APP-001; CoE compliance process.

use super::per_app;
use crate::rules::prelude::*;

/// Rule metadata.
pub const META: RuleMeta = RuleMeta {
    id: "PPG-APP-001",
    area: "app",
    title: "App shared with the whole tenant, more than 20 users, or a group",
    severity: Severity::High,
    resource_kind: ResourceKind::App,
    remediation: "Remove the Everyone share and narrow the app's sharing, or record a justification as a suppression.",
    action_id: None,
};

/// Evaluates the rule.
pub fn evaluate(ctx: &Context) -> RuleOutput {
    let max = ctx.config.thresholds.app_share_max_users;
    per_app(ctx, &[CollectionKind::AppPermissions], |a| {
        let perms = a.permissions.as_deref().unwrap_or_default();
        let everyone = perms
            .iter()
            .any(|p| p.principal.principal_type.eq_ignore_ascii_case("Tenant"));
        let groups: Vec<&str> = perms
            .iter()
            .filter(|p| {
                ctx.principal_kind(&p.principal.id, &p.principal.principal_type)
                    == ppgov_core::PrincipalKind::Group
            })
            .map(|p| p.principal.id.as_str())
            .collect();
        let users = a.shared_users_count.unwrap_or(0);
        let group_count = a.shared_groups_count.unwrap_or(0);
        let mut reasons = vec![];
        if everyone {
            reasons.push("shared with Everyone".to_string());
        }
        if users > max {
            reasons.push(format!("shared with {users} users"));
        }
        if group_count > 0 || !groups.is_empty() {
            reasons.push(format!(
                "shared with {} group(s)",
                group_count.max(groups.len() as u64)
            ));
        }
        (!reasons.is_empty()).then(|| {
            META.finding(
                app_ref(a),
                format!("App '{}' ({}) is {}.", a.display_name, a.id, reasons.join(", ")),
                json!({ "everyone": everyone, "shared_users_count": a.shared_users_count, "shared_groups_count": a.shared_groups_count, "group_principals": groups, "max_users": max }),
            )
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testkit::*;
    use ppgov_core::{Permission, PrincipalRef};

    #[test]
    fn fires_silent_and_errors() {
        let mut s = base();
        let mut everyone = app("a-everyone", PROD_ENV);
        if let Some(p) = everyone.permissions.as_mut() {
            p.push(Permission {
                principal: PrincipalRef {
                    id: TENANT.into(),
                    principal_type: "Tenant".into(),
                    ..Default::default()
                },
                role_name: "CanView".into(),
            });
        }
        let mut many = app("a-many", PROD_ENV);
        many.shared_users_count = Some(21);
        let mut edge = app("a-edge", PROD_ENV);
        edge.shared_users_count = Some(20);
        let mut group = app("a-group", PROD_ENV);
        group.shared_groups_count = Some(1);
        s.apps
            .extend([app("a-ok", PROD_ENV), everyone, many, edge, group]);
        assert_eq!(
            ids(&run(evaluate, &s)),
            vec!["a-everyone", "a-group", "a-many"]
        );
        fail(&mut s, Some(PROD_ENV), CollectionKind::AppPermissions);
        assert!(is_error(&run(evaluate, &s)));
    }
}
