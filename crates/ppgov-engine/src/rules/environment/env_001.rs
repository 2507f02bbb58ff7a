//! PPG-ENV-001: A non-default environment is covered by no DLP policy.
//!
//! What it checks: a non-default environment to which no DLP policy applies.
//! Why it matters: without DLP, apps and flows there can combine any connectors.
//! Remediation: scope a DLP policy to the environment (or use an all-environments baseline).
//! References: CATALOGUE.md PPG-ENV-001; ScubaGear MS.POWERPLATFORM.2.2v1.

use crate::rules::prelude::*;

/// Rule metadata.
pub const META: RuleMeta = RuleMeta {
    id: "PPG-ENV-001",
    area: "environment",
    title: "A non-default environment is covered by no DLP policy",
    severity: Severity::High,
    resource_kind: ResourceKind::Environment,
    remediation: "Scope a DLP policy to the environment, or add a baseline policy for all environments.",
    action_id: Some("PPG-ACT-005"),
};

/// Evaluates the rule.
pub fn evaluate(ctx: &Context) -> RuleOutput {
    let missing = ctx.missing_tenant(&[CollectionKind::Environments, CollectionKind::DlpPolicies]);
    if !missing.is_empty() {
        return RuleOutput::partial(vec![], &missing);
    }
    let findings = ctx
        .snapshot
        .environments
        .iter()
        .filter(|e| !e.is_default && !ctx.effective(&e.id).any())
        .map(|e| {
            META.finding(
                env_ref(e),
                format!("Environment '{}' ({}) is covered by no DLP policy.", e.display_name, e.id),
                json!({ "sku": e.sku, "policy_count": ctx.snapshot.dlp_policies.len(), "applicable_policies": [] }),
            )
        })
        .collect();
    RuleOutput::ok(findings)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testkit::*;
    use ppgov_core::DlpScope;

    #[test]
    fn fires_silent_and_errors() {
        let mut s = base();
        assert!(run(evaluate, &s).findings.is_empty());
        s.dlp_policies[0].scope = DlpScope::OnlyEnvironments(vec![DEFAULT_ENV.into()]);
        s.dlp_policies[1].scope = DlpScope::ExceptEnvironments(vec![PROD_ENV.into()]);
        assert_eq!(ids(&run(evaluate, &s)), vec![PROD_ENV]);
        fail(&mut s, None, CollectionKind::DlpPolicies);
        assert!(is_error(&run(evaluate, &s)));
    }
}
