//! PPG-TEN-006: Guests may make apps.
//!
//! What it checks: powerPlatform.powerApps.enableGuestsToMake is true.
//! Why it matters: Guest makers build on tenant data from outside the organisation's lifecycle controls.
//! Remediation: Set powerPlatform.powerApps.enableGuestsToMake to false.
//! References: CATALOGUE.md PPG-TEN-006; tenant settings

use super::setting_rule;
use crate::rules::prelude::*;

/// Rule metadata.
pub const META: RuleMeta = RuleMeta {
    id: "PPG-TEN-006",
    area: "tenant",
    title: "Guests may make apps",
    severity: Severity::Medium,
    resource_kind: ResourceKind::Tenant,
    remediation: "Set powerPlatform.powerApps.enableGuestsToMake to false.",
    action_id: Some("PPG-ACT-006"),
};

/// Evaluates the rule.
pub fn evaluate(ctx: &Context) -> RuleOutput {
    setting_rule(
        ctx,
        &META,
        "powerPlatform.powerApps.enableGuestsToMake",
        |t| t.enable_guests_to_make,
        |v| v == Some(true),
        "guest users may make apps",
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fires_silent_and_errors() {
        super::super::test_support::check(evaluate, |t| t.enable_guests_to_make = Some(true));
    }
}
