//! PPG-RTE-002: Routing is on but developer environment creation is restricted to admins.
//!
//! What it checks: routing is true AND
//! `powerPlatform.governance.disableDeveloperEnvironmentCreationByNonAdminUsers` is true.
//! Why it matters: routing needs makers to be able to get developer environments; with creation
//! restricted, routing silently fails and makers fall back to the default environment.
//! Remediation: open developer environment creation to everyone (routing's prerequisite).
//! References: CATALOGUE.md PPG-RTE-002; seed 001.

use crate::rules::prelude::*;

/// Rule metadata.
pub const META: RuleMeta = RuleMeta {
    id: "PPG-RTE-002",
    area: "routing",
    title: "Routing is on but developer environment creation is restricted to admins",
    severity: Severity::Medium,
    resource_kind: ResourceKind::Tenant,
    remediation: "Allow everyone to create developer environments, which default environment routing requires.",
    action_id: Some("PPG-ACT-003"),
};

/// Evaluates the rule.
pub fn evaluate(ctx: &Context) -> RuleOutput {
    let Some(ts) = &ctx.snapshot.tenant_settings else {
        return RuleOutput::error("tenant settings not collected");
    };
    let routing = ts.enable_default_environment_routing;
    let restricted = ts.disable_developer_environment_creation_by_non_admin_users;
    if routing != Some(true) || restricted != Some(true) {
        return RuleOutput::ok(vec![]);
    }
    let evidence = json!({
        "enableDefaultEnvironmentRouting": routing,
        "disableDeveloperEnvironmentCreationByNonAdminUsers": restricted,
    });
    RuleOutput::ok(vec![META.finding(
        ctx.tenant_ref(),
        format!("Tenant {}: default environment routing is on but developer environment creation is restricted to admins.", ctx.snapshot.tenant_id),
        evidence,
    )])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fires_silent_and_errors() {
        crate::rules::tenant::test_support::check(evaluate, |t| {
            t.disable_developer_environment_creation_by_non_admin_users = Some(true)
        });
    }
}
