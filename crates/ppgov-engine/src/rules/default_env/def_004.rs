//! PPG-DEF-004: The default environment's DLP lets through blockable connectors beyond the core allow-list.
//!
//! What it checks: every connector explicitly listed in any policy that applies to the default
//! environment, plus "any unlisted connector", must be blocked there unless it is unblockable or
//! on the configured core allow-list. An unlisted connector is blocked only when some applicable
//! policy's default group is Blocked. With no applicable policy the rule fires too.
//! Why it matters: the default environment is open to everyone; anything beyond the core
//! Microsoft 365 connectors is a shadow-IT and exfiltration path.
//! Remediation: block every blockable connector outside the core allow-list in the default
//! environment's policy, and make Blocked its default group.
//! References: CATALOGUE.md PPG-DEF-004; seed 000; ScubaGear legacy 2.3.

use super::default_env;
use crate::rules::prelude::*;
use std::collections::BTreeSet;

/// Rule metadata.
pub const META: RuleMeta = RuleMeta {
    id: "PPG-DEF-004",
    area: "default_env",
    title: "The default environment's DLP lets through blockable connectors beyond the core allow-list",
    severity: Severity::High,
    resource_kind: ResourceKind::Environment,
    remediation: "Block every blockable connector outside the core allow-list in the default environment, and make Blocked the default group.",
    action_id: Some("PPG-ACT-005"),
};

/// Evaluates the rule.
pub fn evaluate(ctx: &Context) -> RuleOutput {
    let e = match default_env(ctx, &[CollectionKind::DlpPolicies]) {
        Ok(e) => e,
        Err(out) => return out,
    };
    let eff = ctx.effective(&e.id);
    let core: BTreeSet<String> = ctx
        .config
        .connectors
        .default_env_core
        .iter()
        .map(|c| c.to_ascii_lowercase())
        .collect();
    let listed: BTreeSet<&str> = eff
        .policies
        .iter()
        .flat_map(|p| p.connectors.keys().map(String::as_str))
        .collect();
    let allowed: Vec<&str> = listed
        .into_iter()
        .filter(|c| !core.contains(*c) && !eff.is_unblockable(c) && !eff.is_blocked(c))
        .collect();
    let unlisted_allowed = !eff.unlisted_blocked();
    if eff.any() && allowed.is_empty() && !unlisted_allowed {
        return RuleOutput::ok(vec![]);
    }
    let evidence = json!({
        "applicable_policies": eff.policies.iter().map(|p| p.id.as_str()).collect::<Vec<_>>(),
        "allowed_connectors": allowed,
        "unlisted_connectors_allowed": unlisted_allowed,
    });
    let what = if !eff.any() {
        "no DLP policy applies, so every connector is allowed".to_string()
    } else if allowed.is_empty() {
        "connectors not listed in any policy are allowed".to_string()
    } else {
        format!(
            "{} blockable connector(s) beyond the core allow-list are allowed",
            allowed.len()
        )
    };
    RuleOutput::ok(vec![META.finding(
        env_ref(e),
        format!(
            "Default environment '{}' ({}): {what}.",
            e.display_name, e.id
        ),
        evidence,
    )])
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testkit::*;
    use ppgov_core::DlpGroup;

    #[test]
    fn fires_silent_and_errors() {
        let mut s = base();
        assert!(run(evaluate, &s).findings.is_empty());
        // An unblockable connector outside the allow-list in Non-Business does not count.
        s.dlp_policies[0]
            .connectors
            .insert("shared_yammer".into(), DlpGroup::NonBusiness);
        assert!(run(evaluate, &s).findings.is_empty());
        s.dlp_policies[0]
            .connectors
            .insert("shared_gmail".into(), DlpGroup::NonBusiness);
        let out = run(evaluate, &s);
        assert_eq!(ids(&out), vec![DEFAULT_ENV]);
        assert_eq!(
            out.findings[0].evidence["allowed_connectors"],
            json!(["shared_gmail"])
        );
        s.dlp_policies[0].connectors.remove("shared_gmail");
        s.dlp_policies[0].default_group = DlpGroup::NonBusiness;
        assert_eq!(run(evaluate, &s).findings.len(), 1);
        s.dlp_policies.clear();
        assert_eq!(run(evaluate, &s).findings.len(), 1);
        fail(&mut s, None, CollectionKind::DlpPolicies);
        assert!(is_error(&run(evaluate, &s)));
    }
}
