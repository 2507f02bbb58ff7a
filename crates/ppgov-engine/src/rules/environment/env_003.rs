//! PPG-ENV-003: A prod environment is not a Managed Environment.
//!
//! What it checks: a prod environment whose `governanceConfiguration.protectionLevel` is not `Standard`.
//! Why it matters: Managed Environments bring sharing limits, usage insights, solution checker
//! enforcement and IP firewall; prod should have them.
//! Remediation: make the environment managed.
//! References: CATALOGUE.md PPG-ENV-003; seed 002.

use crate::rules::prelude::*;
use crate::rules::routing::is_managed;

/// Rule metadata.
pub const META: RuleMeta = RuleMeta {
    id: "PPG-ENV-003",
    area: "environment",
    title: "A prod environment is not a Managed Environment",
    severity: Severity::Medium,
    resource_kind: ResourceKind::Environment,
    remediation: "Make the prod environment a Managed Environment.",
    action_id: Some("PPG-ACT-004"),
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
        .filter(|e| ctx.is_prod(&e.id) && !is_managed(e))
        .map(|e| {
            META.finding(
                env_ref(e),
                format!(
                    "Prod environment '{}' ({}) is not a Managed Environment.",
                    e.display_name, e.id
                ),
                json!({ "sku": e.sku, "protection_level": e.protection_level }),
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
        s.environments[1].managed = false;
        s.environments[1].protection_level = Some("Basic".into());
        assert_eq!(ids(&run(evaluate, &s)), vec![PROD_ENV]);
        fail(&mut s, None, CollectionKind::Environments);
        assert!(is_error(&run(evaluate, &s)));
    }
}
