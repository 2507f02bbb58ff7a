//! PPG-DEF-001: The default environment has no security group.
//!
//! What it checks: the default environment's `linkedEnvironmentMetadata.securityGroupId` is
//! absent, empty or the all-zero GUID.
//! Why it matters: without a security group every licensed user of the tenant is a maker there.
//! Remediation: assign a security group (an explicit opt-in, since the admin UI does not offer it
//! for the default environment).
//! References: CATALOGUE.md PPG-DEF-001; seed 000.

use super::default_env;
use crate::rules::prelude::*;

/// Rule metadata.
pub const META: RuleMeta = RuleMeta {
    id: "PPG-DEF-001",
    area: "default_env",
    title: "The default environment has no security group",
    severity: Severity::High,
    resource_kind: ResourceKind::Environment,
    remediation: "Assign a security group to the default environment so only its members can use it.",
    action_id: Some("PPG-ACT-001"),
};

/// Evaluates the rule.
pub fn evaluate(ctx: &Context) -> RuleOutput {
    let e = match default_env(ctx, &[]) {
        Ok(e) => e,
        Err(out) => return out,
    };
    if e.has_security_group() {
        return RuleOutput::ok(vec![]);
    }
    let evidence = json!({ "security_group_id": e.security_group_id });
    RuleOutput::ok(vec![META.finding(
        env_ref(e),
        format!(
            "Default environment '{}' ({}) has no security group.",
            e.display_name, e.id
        ),
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
        s.environments[0].security_group_id = Some("00000000-0000-0000-0000-000000000000".into());
        assert_eq!(ids(&run(evaluate, &s)), vec![DEFAULT_ENV]);
        fail(&mut s, None, CollectionKind::Environments);
        assert!(is_error(&run(evaluate, &s)));
    }
}
