//! PPG-APP-002: Orphaned app: owner deleted or disabled.
//!
//! What it checks: the app's owner (`properties.owner.id`) is deleted (Graph 404) or disabled.
//! Why it matters: nobody maintains the app; its connections and shares live on unattended.
//! Remediation: reassign the app to an active owner, or retire it.
//! References: CATALOGUE.md PPG-APP-002; seed 002.

use super::per_app;
use crate::rules::prelude::*;

/// Rule metadata.
pub const META: RuleMeta = RuleMeta {
    id: "PPG-APP-002",
    area: "app",
    title: "Orphaned app: owner deleted or disabled",
    severity: Severity::High,
    resource_kind: ResourceKind::App,
    remediation: "Reassign the app to an active owner, or retire it.",
    action_id: Some("PPG-ACT-008"),
};

/// Evaluates the rule.
pub fn evaluate(ctx: &Context) -> RuleOutput {
    let missing = ctx.missing_tenant(&[CollectionKind::Principals]);
    if !missing.is_empty() {
        return RuleOutput::partial(vec![], &missing);
    }
    per_app(ctx, &[], |a| {
        let owner = a.owner.as_ref()?;
        ctx.is_gone(&owner.id).then(|| {
            let status = ctx.snapshot.principal(&owner.id).map(|p| p.status);
            META.finding(
                app_ref(a),
                format!(
                    "App '{}' ({}) is orphaned: its owner {} is deleted or disabled.",
                    a.display_name, a.id, owner.id
                ),
                json!({ "owner": owner.id, "owner_status": status }),
            )
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testkit::*;
    use ppgov_core::{PrincipalKind, PrincipalStatus};

    #[test]
    fn fires_silent_and_errors() {
        let mut s = base();
        let gone = "00000000-0000-0000-0000-0000000000d2";
        s.principals.insert(
            gone.into(),
            principal(gone, PrincipalKind::User, PrincipalStatus::Disabled, false),
        );
        let mut orphan = app("a-orphan", PROD_ENV);
        orphan.owner = Some(user_ref(gone));
        s.apps.extend([app("a-ok", PROD_ENV), orphan]);
        assert_eq!(ids(&run(evaluate, &s)), vec!["a-orphan"]);
        fail(&mut s, Some(PROD_ENV), CollectionKind::Apps);
        assert!(is_error(&run(evaluate, &s)));
    }
}
