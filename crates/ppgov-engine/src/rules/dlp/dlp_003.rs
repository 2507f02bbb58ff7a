//! PPG-DLP-003: A prod environment's DLP lets HTTP or custom connectors reach any endpoint.
//!
//! What it checks: a prod environment where (a) the `http` connector is not blocked and no
//! applicable policy has a Deny endpoint rule for `http`, or (b) no applicable policy has a
//! custom-connector URL pattern classified Blocked. With no applicable policy it fires.
//! Why it matters: HTTP and custom connectors to arbitrary hosts bypass connector-level DLP
//! ("HTTP to approved domains" is the usual bypass).
//! Remediation: add `http` endpoint rules ending in `*` Deny and a custom-connector `*` Blocked pattern.
//! References: learn.microsoft.com/power-platform/admin/connector-endpoint-filtering (ordered
//! rules ending in `*`); learn.microsoft.com/power-platform/admin/dlp-connector-classification
//! (custom connector URL patterns, `*` last, `Ignore` by default); catalogue PPG-DLP-003; seed 002.

use crate::flowdef::HTTP;
use crate::rules::prelude::*;

/// Rule metadata.
pub const META: RuleMeta = RuleMeta {
    id: "PPG-DLP-003",
    area: "dlp",
    title: "A prod environment's DLP lets HTTP or custom connectors reach any endpoint",
    severity: Severity::High,
    resource_kind: ResourceKind::Environment,
    remediation: "In the policies covering prod, add http endpoint rules that allow approved hosts and end with `*` Deny, and a custom-connector `*` Blocked pattern.",
    action_id: Some("PPG-ACT-005"),
};

/// Evaluates the rule.
pub fn evaluate(ctx: &Context) -> RuleOutput {
    let missing = ctx.missing_tenant(&[CollectionKind::Environments, CollectionKind::DlpPolicies]);
    if !missing.is_empty() {
        return RuleOutput::partial(vec![], &missing);
    }
    let mut findings = vec![];
    for e in ctx
        .snapshot
        .environments
        .iter()
        .filter(|e| ctx.is_prod(&e.id))
    {
        let eff = ctx.effective(&e.id);
        let http_open = !eff.is_blocked(HTTP) && !eff.has_deny_endpoint_rule(HTTP);
        let custom_open = !eff.has_blocked_custom_pattern();
        if !http_open && !custom_open {
            continue;
        }
        let mut gaps = vec![];
        if http_open {
            gaps.push("HTTP is allowed to any endpoint");
        }
        if custom_open {
            gaps.push("custom connectors are allowed to any endpoint");
        }
        findings.push(META.finding(
            env_ref(e),
            format!("Prod environment '{}' ({}): {}.", e.display_name, e.id, gaps.join(" and ")),
            json!({
                "applicable_policies": eff.policies.iter().map(|p| p.id.as_str()).collect::<Vec<_>>(),
                "http_unrestricted": http_open,
                "custom_connectors_unrestricted": custom_open,
            }),
        ));
    }
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
        for p in &mut s.dlp_policies {
            p.endpoint_rules.clear();
            p.default_group = ppgov_core::DlpGroup::NonBusiness;
        }
        let out = run(evaluate, &s);
        assert_eq!(ids(&out), vec![PROD_ENV]);
        assert_eq!(
            out.findings[0].evidence["custom_connectors_unrestricted"],
            json!(false)
        );
        s.dlp_policies.clear();
        assert_eq!(run(evaluate, &s).findings.len(), 1);
        fail(&mut s, None, CollectionKind::DlpPolicies);
        assert!(is_error(&run(evaluate, &s)));
    }
}
