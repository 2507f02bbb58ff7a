//! PPG-DEF-002: The default environment does not add new canvas apps and cloud flows to solutions.
//!
//! What it checks: the default environment's Dataverse `organizations` row has
//! `enablecanvasappsinsolutionsbydefault == false` or `enableflowsinsolutionbydefault == false`.
//! Why it matters: apps and flows outside solutions cannot be moved, versioned or governed with ALM.
//! Remediation: turn on "add canvas apps and cloud flows to solutions by default".
//! References: CATALOGUE.md PPG-DEF-002; seed 000.

use super::default_env;
use crate::rules::prelude::*;

/// Rule metadata.
pub const META: RuleMeta = RuleMeta {
    id: "PPG-DEF-002",
    area: "default_env",
    title: "The default environment does not add new canvas apps and cloud flows to solutions",
    severity: Severity::Medium,
    resource_kind: ResourceKind::Environment,
    remediation: "Turn on enablecanvasappsinsolutionsbydefault and enableflowsinsolutionbydefault in the default environment.",
    action_id: Some("PPG-ACT-002"),
};

/// Evaluates the rule.
pub fn evaluate(ctx: &Context) -> RuleOutput {
    let e = match default_env(ctx, &[]) {
        Ok(e) => e,
        Err(out) => return out,
    };
    if !e.has_dataverse {
        return RuleOutput::not_applicable("the default environment has no Dataverse");
    }
    let settings = match &e.dataverse_settings {
        Some(s) if ctx.env_collected(&e.id, CollectionKind::DataverseSettings) => s,
        _ => {
            return RuleOutput::error(format!(
                "dataverse_settings in environment {} not collected",
                e.id
            ));
        }
    };
    let canvas = settings.canvas_apps_in_solutions_by_default;
    let flows = settings.flows_in_solutions_by_default;
    if canvas != Some(false) && flows != Some(false) {
        return RuleOutput::ok(vec![]);
    }
    let evidence = json!({ "enablecanvasappsinsolutionsbydefault": canvas, "enableflowsinsolutionbydefault": flows });
    RuleOutput::ok(vec![META.finding(
        env_ref(e),
        format!("Default environment '{}' ({}) does not add new canvas apps and cloud flows to solutions by default.", e.display_name, e.id),
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
        if let Some(d) = s.environments[0].dataverse_settings.as_mut() {
            d.flows_in_solutions_by_default = Some(false);
        }
        assert_eq!(ids(&run(evaluate, &s)), vec![DEFAULT_ENV]);
        fail(&mut s, Some(DEFAULT_ENV), CollectionKind::DataverseSettings);
        assert!(is_error(&run(evaluate, &s)));
    }
}
