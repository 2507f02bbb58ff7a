//! PPG-DEF-005: Production-like flow in the default environment.
//!
//! What it checks: a flow in the default environment with more than 1000 runs (configurable) in
//! the 30 days before the snapshot.
//! Why it matters: business-critical automation in the default environment has no ALM, no
//! backup owner and the weakest DLP; it belongs in a governed environment.
//! Remediation: move the flow to a managed prod environment (or disable it after talking to its owner).
//! References: CATALOGUE.md PPG-DEF-005; seed 002 (shadow IT).

use super::default_env;
use crate::rules::prelude::*;

/// Rule metadata.
pub const META: RuleMeta = RuleMeta {
    id: "PPG-DEF-005",
    area: "default_env",
    title: "Production-like flow in the default environment (more than 1000 runs in 30 days)",
    severity: Severity::Medium,
    resource_kind: ResourceKind::Flow,
    remediation: "Move the flow into a governed prod environment inside a solution, with a service account and co-owners.",
    action_id: None,
};

/// Evaluates the rule.
pub fn evaluate(ctx: &Context) -> RuleOutput {
    let e = match default_env(ctx, &[]) {
        Ok(e) => e,
        Err(out) => return out,
    };
    let kinds = [CollectionKind::Flows, CollectionKind::FlowRuns];
    let (_, missing) = ctx.split_envs(&kinds, |x| x.id == e.id);
    if !missing.is_empty() {
        return RuleOutput::partial(vec![], &missing);
    }
    let limit = ctx.config.thresholds.default_env_flow_runs_30d;
    let findings = ctx
        .snapshot
        .flows
        .iter()
        .filter(|f| f.environment_id.eq_ignore_ascii_case(&e.id))
        .filter_map(|f| {
            let runs = f.runs.as_ref()?;
            (runs.runs_30d > limit).then(|| {
                META.finding(
                    flow_ref(f),
                    format!(
                        "Flow '{}' ({}) in the default environment ran {} times in 30 days.",
                        f.display_name, f.id, runs.runs_30d
                    ),
                    json!({ "runs_30d": runs.runs_30d, "threshold": limit }),
                )
            })
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
        s.flows.push(flow("f-ok", DEFAULT_ENV));
        let mut busy = flow("f-busy", DEFAULT_ENV);
        if let Some(r) = busy.runs.as_mut() {
            r.runs_30d = 1001;
        }
        let mut edge = flow("f-edge", DEFAULT_ENV);
        if let Some(r) = edge.runs.as_mut() {
            r.runs_30d = 1000;
        }
        let mut prod = flow("f-prod", PROD_ENV);
        if let Some(r) = prod.runs.as_mut() {
            r.runs_30d = 5000;
        }
        s.flows.extend([busy, edge, prod]);
        assert_eq!(ids(&run(evaluate, &s)), vec!["f-busy"]);
        fail(&mut s, Some(DEFAULT_ENV), CollectionKind::FlowRuns);
        assert!(is_error(&run(evaluate, &s)));
    }
}
