//! PPG-DEF-003: No DLP policy covers the default environment.
//!
//! What it checks: no DLP policy applies to the default environment (`AllEnvironments`,
//! `OnlyEnvironments` listing it, or `ExceptEnvironments` not listing it).
//! Why it matters: every user can build in the default environment; without DLP any connector
//! can move data anywhere.
//! Remediation: create a strict DLP policy covering the default environment.
//! References: CATALOGUE.md PPG-DEF-003; ScubaGear MS.POWERPLATFORM.2.1v1.

use super::default_env;
use crate::rules::prelude::*;

/// Rule metadata.
pub const META: RuleMeta = RuleMeta {
    id: "PPG-DEF-003",
    area: "default_env",
    title: "No DLP policy covers the default environment",
    severity: Severity::High,
    resource_kind: ResourceKind::Environment,
    remediation: "Create a strict DLP policy that covers the default environment.",
    action_id: Some("PPG-ACT-005"),
};

/// Evaluates the rule.
pub fn evaluate(ctx: &Context) -> RuleOutput {
    let e = match default_env(ctx, &[CollectionKind::DlpPolicies]) {
        Ok(e) => e,
        Err(out) => return out,
    };
    if ctx.effective(&e.id).any() {
        return RuleOutput::ok(vec![]);
    }
    let evidence =
        json!({ "policy_count": ctx.snapshot.dlp_policies.len(), "applicable_policies": [] });
    RuleOutput::ok(vec![META.finding(
        env_ref(e),
        format!(
            "Default environment '{}' ({}) is covered by no DLP policy.",
            e.display_name, e.id
        ),
        evidence,
    )])
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
        s.dlp_policies[0].scope =
            DlpScope::ExceptEnvironments(vec![DEFAULT_ENV.to_ascii_uppercase()]);
        assert_eq!(ids(&run(evaluate, &s)), vec![DEFAULT_ENV]);
        fail(&mut s, None, CollectionKind::DlpPolicies);
        assert!(is_error(&run(evaluate, &s)));
    }
}
