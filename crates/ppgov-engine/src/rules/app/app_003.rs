//! PPG-APP-003: Inactive app: not modified or launched in 180 days.
//!
//! What it checks: `lastModifiedTime` older than 180 days (configurable) and no known launch, or
//! a last launch older than 180 days.
//! Why it matters: unused apps keep shares and connections open for nothing.
//! Remediation: confirm with the owner, then quarantine or delete the app.
//! References: CATALOGUE.md PPG-APP-003; CoE inactivity process.

use super::per_app;
use crate::rules::prelude::*;

/// Rule metadata.
pub const META: RuleMeta = RuleMeta {
    id: "PPG-APP-003",
    area: "app",
    title: "Inactive app: not modified or launched in 180 days",
    severity: Severity::Low,
    resource_kind: ResourceKind::App,
    remediation: "Confirm with the owner, then quarantine or delete the inactive app.",
    action_id: None,
};

/// Evaluates the rule.
pub fn evaluate(ctx: &Context) -> RuleOutput {
    let days = ctx.config.thresholds.app_inactive_days;
    let cutoff = ctx.days_ago(days);
    per_app(ctx, &[], |a| {
        let modified = a.last_modified_time?;
        let inactive = modified < cutoff && a.last_launched_time.is_none_or(|l| l < cutoff);
        inactive.then(|| {
            META.finding(
                app_ref(a),
                format!("App '{}' ({}) has not been modified or launched in {days} days.", a.display_name, a.id),
                json!({ "last_modified_time": modified, "last_launched_time": a.last_launched_time, "inactive_days": days }),
            )
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testkit::*;

    #[test]
    fn fires_silent_and_errors() {
        let mut s = base();
        let mut old = app("a-old", PROD_ENV);
        old.last_modified_time = Some(ago(200));
        let mut launched = app("a-launched", PROD_ENV);
        launched.last_modified_time = Some(ago(200));
        launched.last_launched_time = Some(ago(3));
        let mut stale = app("a-stale", PROD_ENV);
        stale.last_modified_time = Some(ago(300));
        stale.last_launched_time = Some(ago(181));
        s.apps.extend([app("a-ok", PROD_ENV), old, launched, stale]);
        assert_eq!(ids(&run(evaluate, &s)), vec!["a-old", "a-stale"]);
        fail(&mut s, Some(PROD_ENV), CollectionKind::Apps);
        assert!(is_error(&run(evaluate, &s)));
    }
}
