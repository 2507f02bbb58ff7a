//! PPG-DEF-006: App or flow created in the default environment by a maker outside the approved-makers group.
//!
//! What it checks: only when an approved-makers group is configured, makers of default
//! environment apps and flows must be members of it.
//! Why it matters: seed 000's alternative to a security group: let only approved makers build in
//! the default environment and clean up the rest after notice.
//! Remediation: quarantine or delete the resource after notice and a grace period, or add the
//! maker to the group.
//! References: CATALOGUE.md PPG-DEF-006; seed 000 alternatives.

use crate::rules::prelude::*;

/// Rule metadata.
pub const META: RuleMeta = RuleMeta {
    id: "PPG-DEF-006",
    area: "default_env",
    title: "App or flow in the default environment made by a maker outside the approved-makers group",
    severity: Severity::Medium,
    resource_kind: ResourceKind::Flow,
    remediation: "Quarantine or delete the resource after notice and a grace period, or add its maker to the approved-makers group.",
    action_id: Some("PPG-ACT-009"),
};

/// Evaluates the rule. Group membership is not part of the snapshot, so with a group configured
/// the rule reports an error rather than guessing.
pub fn evaluate(ctx: &Context) -> RuleOutput {
    match ctx.config.approved_makers_group.as_deref().map(str::trim) {
        None | Some("") => RuleOutput::not_applicable("no approved-makers group is configured"),
        Some(g) => RuleOutput::error(format!(
            "membership of the approved-makers group {g} not collected"
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testkit::*;
    use ppgov_config::PostureConfig;
    use ppgov_core::RuleStatus;

    #[test]
    fn not_applicable_then_error() {
        let s = base();
        assert!(matches!(
            run(evaluate, &s).status,
            RuleStatus::NotApplicable { .. }
        ));
        let cfg = PostureConfig {
            approved_makers_group: Some("g1".into()),
            ..PostureConfig::default()
        };
        let out = run_with(evaluate, &s, &cfg);
        assert!(is_error(&out) && out.findings.is_empty());
    }
}
