//! PPG-TEN-005: Sharing canvas apps with Everyone is allowed.
//!
//! What it checks: powerPlatform.powerApps.disableShareWithEveryone is not true.
//! Why it matters: An app shared with Everyone exposes its data connections to the whole tenant.
//! Remediation: Set powerPlatform.powerApps.disableShareWithEveryone to true.
//! References: CATALOGUE.md PPG-TEN-005; ScubaGear MS.POWERPLATFORM.6.1 (catalogue)

use super::{not_true, setting_rule};
use crate::rules::prelude::*;

/// Rule metadata.
pub const META: RuleMeta = RuleMeta {
    id: "PPG-TEN-005",
    area: "tenant",
    title: "Sharing canvas apps with Everyone is allowed",
    severity: Severity::High,
    resource_kind: ResourceKind::Tenant,
    remediation: "Set powerPlatform.powerApps.disableShareWithEveryone to true.",
    action_id: Some("PPG-ACT-006"),
};

/// Evaluates the rule.
pub fn evaluate(ctx: &Context) -> RuleOutput {
    setting_rule(
        ctx,
        &META,
        "powerPlatform.powerApps.disableShareWithEveryone",
        |t| t.disable_share_with_everyone,
        not_true,
        "makers may share canvas apps with Everyone",
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fires_silent_and_errors() {
        super::super::test_support::check(evaluate, |t| {
            t.disable_share_with_everyone = Some(false)
        });
    }
}
