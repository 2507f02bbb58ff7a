//! PPG-TEN-002: Trial environment creation is not restricted to admins.
//!
//! What it checks: disableTrialEnvironmentCreationByNonAdminUsers is not true.
//! Why it matters: Trial environments escape the governance applied to managed environments.
//! Remediation: Set disableTrialEnvironmentCreationByNonAdminUsers to true.
//! References: CATALOGUE.md PPG-TEN-002; ScubaGear MS.POWERPLATFORM.1.2v1

use super::{not_true, setting_rule};
use crate::rules::prelude::*;

/// Rule metadata.
pub const META: RuleMeta = RuleMeta {
    id: "PPG-TEN-002",
    area: "tenant",
    title: "Trial environment creation is not restricted to admins",
    severity: Severity::Low,
    resource_kind: ResourceKind::Tenant,
    remediation: "Set disableTrialEnvironmentCreationByNonAdminUsers to true.",
    action_id: Some("PPG-ACT-006"),
};

/// Evaluates the rule.
pub fn evaluate(ctx: &Context) -> RuleOutput {
    setting_rule(
        ctx,
        &META,
        "disableTrialEnvironmentCreationByNonAdminUsers",
        |t| t.disable_trial_environment_creation_by_non_admin_users,
        not_true,
        "trial environment creation is open to non-admins",
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fires_silent_and_errors() {
        super::super::test_support::check(evaluate, |t| {
            t.disable_trial_environment_creation_by_non_admin_users = None
        });
    }
}
