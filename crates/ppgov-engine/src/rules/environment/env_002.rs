//! PPG-ENV-002: A prod environment with Dataverse has no security group.
//!
//! What it checks: a prod environment (configuration; default: SKU Production) with Dataverse
//! whose security group is absent, empty or the all-zero GUID.
//! Why it matters: without a security group every licensed user can be added to the
//! environment's data; prod needs a bounded audience.
//! Remediation: assign the environment a security group.
//! References: CATALOGUE.md PPG-ENV-002; seed 002 (segmentation).

use crate::rules::prelude::*;

/// Rule metadata.
pub const META: RuleMeta = RuleMeta {
    id: "PPG-ENV-002",
    area: "environment",
    title: "A prod environment with Dataverse has no security group",
    severity: Severity::High,
    resource_kind: ResourceKind::Environment,
    remediation: "Assign a security group to the prod environment.",
    action_id: Some("PPG-ACT-001"),
};

/// Evaluates the rule.
pub fn evaluate(ctx: &Context) -> RuleOutput {
    let missing = ctx.missing_tenant(&[CollectionKind::Environments]);
    if !missing.is_empty() {
        return RuleOutput::partial(vec![], &missing);
    }
    let findings = ctx
        .snapshot
        .environments
        .iter()
        .filter(|e| ctx.is_prod(&e.id) && e.has_dataverse && !e.has_security_group())
        .map(|e| {
            META.finding(
                env_ref(e),
                format!("Prod environment '{}' ({}) has Dataverse but no security group.", e.display_name, e.id),
                json!({ "sku": e.sku, "has_dataverse": true, "security_group_id": e.security_group_id }),
            )
        })
        .collect();
    RuleOutput::ok(findings)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testkit::*;

    #[test]
    fn fires_silent_and_errors() {
        let mut s = base();
        assert!(run(evaluate, &s).findings.is_empty());
        s.environments[1].security_group_id = None;
        let mut sandbox = env("sbx", "Sandbox");
        sandbox.security_group_id = None;
        s.environments.push(sandbox);
        assert_eq!(ids(&run(evaluate, &s)), vec![PROD_ENV]);
        fail(&mut s, None, CollectionKind::Environments);
        assert!(is_error(&run(evaluate, &s)));
    }
}
