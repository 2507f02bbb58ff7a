//! PPG-FLW-005: Failing flow: more than 50% of runs failed over the last 30 days (minimum 10 runs).
//!
//! What it checks: at least 10 runs (configurable) in the 30 days before the snapshot and failed
//! runs strictly above 50% (configurable) of them.
//! Why it matters: failing flows lose data silently, retry into throttling, and signal broken
//! connections or owners who left.
//! Remediation: fix the flow with its owner, or disable it.
//! References: CATALOGUE.md PPG-FLW-005; seed 002.

use super::per_flow;
use crate::rules::prelude::*;

/// Rule metadata.
pub const META: RuleMeta = RuleMeta {
    id: "PPG-FLW-005",
    area: "flow",
    title: "Failing flow: more than 50% of runs failed in 30 days",
    severity: Severity::Medium,
    resource_kind: ResourceKind::Flow,
    remediation: "Fix the failing flow with its owner, or disable it.",
    action_id: Some("PPG-ACT-007"),
};

/// Evaluates the rule.
pub fn evaluate(ctx: &Context) -> RuleOutput {
    let t = &ctx.config.thresholds;
    per_flow(
        ctx,
        &[CollectionKind::FlowRuns],
        |_| true,
        |_, f| {
            let r = f.runs.as_ref()?;
            let failing = r.runs_30d >= t.flow_failure_min_runs
                && r.failed_30d.saturating_mul(100)
                    > r.runs_30d.saturating_mul(t.flow_failure_percent);
            failing.then(|| {
            META.finding(
                flow_ref(f),
                format!("Flow '{}' ({}) failed {} of {} runs in 30 days.", f.display_name, f.id, r.failed_30d, r.runs_30d),
                json!({ "runs_30d": r.runs_30d, "failed_30d": r.failed_30d, "threshold_percent": t.flow_failure_percent, "min_runs": t.flow_failure_min_runs }),
            )
        })
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testkit::*;
    use ppgov_core::RunStats;

    #[test]
    fn fires_silent_and_errors() {
        let mut s = base();
        let mk = |id: &str, runs, failed| {
            let mut f = flow(id, PROD_ENV);
            f.runs = Some(RunStats {
                runs_30d: runs,
                failed_30d: failed,
                runs_90d: runs,
                failed_90d: failed,
                last_run: Some(ago(1)),
            });
            f
        };
        s.flows.extend([
            mk("f-half", 10, 5),
            mk("f-bad", 10, 6),
            mk("f-few", 9, 9),
            mk("f-ok", 100, 3),
        ]);
        assert_eq!(ids(&run(evaluate, &s)), vec!["f-bad"]);
        fail(&mut s, Some(PROD_ENV), CollectionKind::FlowRuns);
        assert!(is_error(&run(evaluate, &s)));
    }
}
