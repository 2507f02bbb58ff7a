//! PPG-TEN-007: Only tenant-wide DLP policies exist (no environment-specific policy).
//!
//! What it checks: at least one DLP policy exists and every policy is `AllEnvironments`.
//! Why it matters: one-size-fits-all DLP is either too loose for sensitive environments or too
//! strict for makers; segmentation needs environment-specific policies.
//! Remediation: add environment-specific policies (strict for the default environment, tailored
//! for prod and team environments).
//! References: CATALOGUE.md PPG-TEN-007; seed 002 "one-size-fits-all".

use crate::rules::prelude::*;
use ppgov_core::DlpScope;

/// Rule metadata.
pub const META: RuleMeta = RuleMeta {
    id: "PPG-TEN-007",
    area: "tenant",
    title: "Only tenant-wide DLP policies exist (no environment-specific policies)",
    severity: Severity::Medium,
    resource_kind: ResourceKind::Tenant,
    remediation: "Add environment-specific DLP policies: a strict one for the default environment and tailored ones for prod environments.",
    action_id: Some("PPG-ACT-005"),
};

/// Evaluates the rule.
pub fn evaluate(ctx: &Context) -> RuleOutput {
    let missing = ctx.missing_tenant(&[CollectionKind::DlpPolicies]);
    if !missing.is_empty() {
        return RuleOutput::partial(vec![], &missing);
    }
    let policies = &ctx.snapshot.dlp_policies;
    if policies.is_empty()
        || policies
            .iter()
            .any(|p| p.scope != DlpScope::AllEnvironments)
    {
        return RuleOutput::ok(vec![]);
    }
    let names: Vec<&str> = policies.iter().map(|p| p.display_name.as_str()).collect();
    let evidence = json!({ "policy_count": policies.len(), "tenant_wide_policies": names });
    RuleOutput::ok(vec![META.finding(
        ctx.tenant_ref(),
        format!("Tenant {}: all {} DLP policies apply to all environments; none is environment-specific.", ctx.snapshot.tenant_id, policies.len()),
        evidence,
    )])
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testkit::*;

    #[test]
    fn fires_silent_and_errors() {
        let mut s = base();
        assert!(run(evaluate, &s).findings.is_empty());
        s.dlp_policies
            .retain(|p| p.scope == DlpScope::AllEnvironments);
        assert_eq!(ids(&run(evaluate, &s)), vec![TENANT]);
        s.dlp_policies.clear();
        assert!(run(evaluate, &s).findings.is_empty());
        fail(&mut s, None, CollectionKind::DlpPolicies);
        assert!(is_error(&run(evaluate, &s)));
    }
}
