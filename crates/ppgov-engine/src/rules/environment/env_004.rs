//! PPG-ENV-004: Dataverse auditing is off in a prod environment.
//!
//! What it checks: a prod environment with Dataverse whose `organizations.isauditenabled` is false.
//! Why it matters: without auditing there is no trail of who changed or read business records.
//! Remediation: turn on Dataverse auditing (and the tables and retention you need).
//! References: CATALOGUE.md PPG-ENV-004; seed 002 (audit trail).

use crate::rules::prelude::*;

/// Rule metadata.
pub const META: RuleMeta = RuleMeta {
    id: "PPG-ENV-004",
    area: "environment",
    title: "Dataverse auditing is off in a prod environment",
    severity: Severity::High,
    resource_kind: ResourceKind::Environment,
    remediation: "Turn on Dataverse auditing in the prod environment (isauditenabled) and set a retention period.",
    action_id: None,
};

/// Evaluates the rule.
pub fn evaluate(ctx: &Context) -> RuleOutput {
    let missing = ctx.missing_tenant(&[CollectionKind::Environments]);
    if !missing.is_empty() {
        return RuleOutput::partial(vec![], &missing);
    }
    let in_scope = |e: &ppgov_core::Environment| ctx.is_prod(&e.id) && e.has_dataverse;
    let (ok, mut missing) = ctx.split_envs(&[CollectionKind::DataverseSettings], in_scope);
    let mut findings = vec![];
    for e in ctx
        .snapshot
        .environments
        .iter()
        .filter(|e| in_scope(e) && ok.contains(&e.id.to_ascii_lowercase()))
    {
        let Some(settings) = &e.dataverse_settings else {
            missing.push(format!("dataverse_settings in environment {}", e.id));
            continue;
        };
        if settings.is_audit_enabled == Some(false) {
            findings.push(META.finding(
                env_ref(e),
                format!(
                    "Dataverse auditing is off in prod environment '{}' ({}).",
                    e.display_name, e.id
                ),
                json!({ "isauditenabled": false, "organization_id": settings.organization_id }),
            ));
        }
    }
    RuleOutput::partial(findings, &missing)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testkit::*;

    #[test]
    fn fires_silent_and_errors() {
        let mut s = base();
        assert!(run(evaluate, &s).findings.is_empty());
        if let Some(d) = s.environments[1].dataverse_settings.as_mut() {
            d.is_audit_enabled = Some(false);
        }
        assert_eq!(ids(&run(evaluate, &s)), vec![PROD_ENV]);
        fail(&mut s, Some(PROD_ENV), CollectionKind::DataverseSettings);
        let out = run(evaluate, &s);
        assert!(is_error(&out) && out.findings.is_empty());
    }
}
