//! PPG-RTE-001: Default environment routing is off.
//!
//! What it checks: `powerPlatform.governance.enableDefaultEnvironmentRouting` is not true.
//! Why it matters: without routing, new makers land in the shared default environment instead
//! of their own managed developer environment.
//! Remediation: turn on default environment routing (and its prerequisite, developer
//! environment creation open to everyone).
//! References: CATALOGUE.md PPG-RTE-001; seed 001.

use crate::rules::prelude::*;
use crate::rules::tenant::{not_true, setting_rule};

/// Rule metadata.
pub const META: RuleMeta = RuleMeta {
    id: "PPG-RTE-001",
    area: "routing",
    title: "Default environment routing is off",
    severity: Severity::Low,
    resource_kind: ResourceKind::Tenant,
    remediation: "Turn on default environment routing so new makers get their own managed developer environment.",
    action_id: Some("PPG-ACT-003"),
};

/// Evaluates the rule.
pub fn evaluate(ctx: &Context) -> RuleOutput {
    setting_rule(
        ctx,
        &META,
        "powerPlatform.governance.enableDefaultEnvironmentRouting",
        |t| t.enable_default_environment_routing,
        not_true,
        "default environment routing is off",
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fires_silent_and_errors() {
        crate::rules::tenant::test_support::check(evaluate, |t| {
            t.enable_default_environment_routing = Some(false)
        });
    }
}
