//! PPG-TEN-001: Production and sandbox environment creation is not restricted to admins.
//!
//! What it checks: disableEnvironmentCreationByNonAdminUsers is not true.
//! Why it matters: Anyone creating environments can bypass DLP scoping and misconfigure security settings.
//! Remediation: Set disableEnvironmentCreationByNonAdminUsers to true so only admins create production and sandbox environments.
//! References: CATALOGUE.md PPG-TEN-001; ScubaGear MS.POWERPLATFORM.1.1v1

use super::{not_true, setting_rule};
use crate::rules::prelude::*;

/// Rule metadata.
pub const META: RuleMeta = RuleMeta {
    id: "PPG-TEN-001",
    area: "tenant",
    title: "Production and sandbox environment creation is not restricted to admins",
    severity: Severity::Medium,
    resource_kind: ResourceKind::Tenant,
    remediation: "Set disableEnvironmentCreationByNonAdminUsers to true so only admins create production and sandbox environments.",
    action_id: Some("PPG-ACT-006"),
};

/// Evaluates the rule.
pub fn evaluate(ctx: &Context) -> RuleOutput {
    setting_rule(
        ctx,
        &META,
        "disableEnvironmentCreationByNonAdminUsers",
        |t| t.disable_environment_creation_by_non_admin_users,
        not_true,
        "production and sandbox environment creation is open to non-admins",
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fires_silent_and_errors() {
        super::super::test_support::check(evaluate, |t| {
            t.disable_environment_creation_by_non_admin_users = Some(false)
        });
    }
}
