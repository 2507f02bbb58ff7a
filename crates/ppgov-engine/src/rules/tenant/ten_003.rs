//! PPG-TEN-003: Tenant isolation is off or never configured.
//!
//! What it checks: the tenant isolation policy answered 404 (never configured) or has
//! `properties.isDisabled == true`.
//! Why it matters: without isolation, connectors using Entra authentication can reach other
//! tenants, an easy exfiltration path.
//! Remediation: turn tenant isolation on and keep an explicit allow-list of partner tenants.
//! References: CATALOGUE.md PPG-TEN-003; ScubaGear MS.POWERPLATFORM.3.1v1.

use crate::rules::prelude::*;

/// Rule metadata.
pub const META: RuleMeta = RuleMeta {
    id: "PPG-TEN-003",
    area: "tenant",
    title: "Tenant isolation is off or never configured",
    severity: Severity::High,
    resource_kind: ResourceKind::Tenant,
    remediation: "Turn on Power Platform tenant isolation and allow-list only the partner tenants you need.",
    action_id: Some("PPG-ACT-006"),
};

/// Evaluates the rule.
pub fn evaluate(ctx: &Context) -> RuleOutput {
    let Some(iso) = &ctx.snapshot.tenant_isolation else {
        return RuleOutput::error("tenant isolation policy not collected");
    };
    if iso.configured && !iso.is_disabled {
        return RuleOutput::ok(vec![]);
    }
    let state = if iso.configured {
        "turned off"
    } else {
        "never configured"
    };
    let evidence = json!({ "configured": iso.configured, "is_disabled": iso.is_disabled });
    RuleOutput::ok(vec![META.finding(
        ctx.tenant_ref(),
        format!(
            "Tenant {}: tenant isolation is {state}.",
            ctx.snapshot.tenant_id
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
        s.tenant_isolation = Some(ppgov_core::TenantIsolation {
            configured: false,
            ..Default::default()
        });
        assert_eq!(ids(&run(evaluate, &s)), vec![TENANT]);
        s.tenant_isolation = Some(ppgov_core::TenantIsolation {
            configured: true,
            is_disabled: true,
            ..Default::default()
        });
        assert_eq!(run(evaluate, &s).findings.len(), 1);
        s.tenant_isolation = None;
        assert!(is_error(&run(evaluate, &s)));
    }
}
