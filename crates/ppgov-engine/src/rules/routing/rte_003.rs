//! PPG-RTE-003: A developer environment is not a Managed Environment.
//!
//! What it checks: `environmentSku == "Developer"` and `governanceConfiguration.protectionLevel`
//! is not `Standard`.
//! Why it matters: unmanaged developer environments get none of the sharing limits, solution
//! checker or usage insights the routing preset relies on.
//! Remediation: make the environment managed with the routing preset's settings.
//! References: CATALOGUE.md PPG-RTE-003; seed 001.

use super::{is_developer, is_managed, needs_environments};
use crate::rules::prelude::*;

/// Rule metadata.
pub const META: RuleMeta = RuleMeta {
    id: "PPG-RTE-003",
    area: "routing",
    title: "A developer environment is not a Managed Environment",
    severity: Severity::Medium,
    resource_kind: ResourceKind::Environment,
    remediation: "Make the developer environment a Managed Environment with limited sharing, solution checker on and usage insights included.",
    action_id: Some("PPG-ACT-004"),
};

/// Evaluates the rule.
pub fn evaluate(ctx: &Context) -> RuleOutput {
    if let Some(err) = needs_environments(ctx) {
        return err;
    }
    let findings = ctx
        .snapshot
        .environments
        .iter()
        .filter(|e| is_developer(e) && !is_managed(e))
        .map(|e| {
            let evidence = json!({ "sku": e.sku, "protection_level": e.protection_level });
            META.finding(
                env_ref(e),
                format!(
                    "Developer environment '{}' ({}) is not a Managed Environment.",
                    e.display_name, e.id
                ),
                evidence,
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
        s.environments.push(env("dev-ok", "Developer"));
        let mut bad = env("dev-bad", "Developer");
        bad.managed = false;
        bad.protection_level = Some("Basic".into());
        s.environments.push(bad);
        collect_all(&mut s);
        assert_eq!(ids(&run(evaluate, &s)), vec!["dev-bad"]);
        fail(&mut s, None, CollectionKind::Environments);
        assert!(is_error(&run(evaluate, &s)));
    }
}
