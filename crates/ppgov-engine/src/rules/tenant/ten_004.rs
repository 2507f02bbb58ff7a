//! PPG-TEN-004: Power Pages site creation is not restricted to admins.
//!
//! What it checks: disablePortalsCreationByNonAdminUsers is not true.
//! Why it matters: Makers can publish external-facing sites that expose data.
//! Remediation: Set disablePortalsCreationByNonAdminUsers to true.
//! References: CATALOGUE.md PPG-TEN-004; ScubaGear MS.POWERPLATFORM.5.1v1

use super::{not_true, setting_rule};
use crate::rules::prelude::*;

/// Rule metadata.
pub const META: RuleMeta = RuleMeta {
    id: "PPG-TEN-004",
    area: "tenant",
    title: "Power Pages site creation is not restricted to admins",
    severity: Severity::Low,
    resource_kind: ResourceKind::Tenant,
    remediation: "Set disablePortalsCreationByNonAdminUsers to true.",
    action_id: Some("PPG-ACT-006"),
};

/// Evaluates the rule.
pub fn evaluate(ctx: &Context) -> RuleOutput {
    setting_rule(
        ctx,
        &META,
        "disablePortalsCreationByNonAdminUsers",
        |t| t.disable_portals_creation_by_non_admin_users,
        not_true,
        "Power Pages site creation is open to non-admins",
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fires_silent_and_errors() {
        super::super::test_support::check(evaluate, |t| {
            t.disable_portals_creation_by_non_admin_users = Some(false)
        });
    }
}
