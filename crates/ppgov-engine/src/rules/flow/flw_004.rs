//! PPG-FLW-004: Inactive flow: no run in 90 days.
//!
//! What it checks: no run in the 90 days (configurable) before the snapshot, and the flow was
//! created more than 90 days before it. A flow that is turned off (`Stopped`) is left out: turning
//! it off is this rule's remediation (PPG-ACT-007), so a stopped flow has been dealt with and a
//! plan built from the findings converges instead of proposing the same change forever. A flow the
//! platform `Suspended` still counts: nobody decided about it yet.
//! Why it matters: dead flows keep connections, permissions and secrets alive for nothing.
//! Remediation: disable the flow (and delete it after confirming with its owner).
//! References: CATALOGUE.md PPG-FLW-004; seed 002.

use super::per_flow;
use crate::rules::prelude::*;

/// Rule metadata.
pub const META: RuleMeta = RuleMeta {
    id: "PPG-FLW-004",
    area: "flow",
    title: "Inactive flow: no run in 90 days",
    severity: Severity::Low,
    resource_kind: ResourceKind::Flow,
    remediation: "Disable the inactive flow, and delete it after confirming with its owner.",
    action_id: Some("PPG-ACT-007"),
};

/// Evaluates the rule.
pub fn evaluate(ctx: &Context) -> RuleOutput {
    let days = ctx.config.thresholds.flow_inactive_days;
    let cutoff = ctx.days_ago(days);
    per_flow(
        ctx,
        &[CollectionKind::FlowRuns],
        |_| true,
        |_, f| {
            if f.state.eq_ignore_ascii_case("Stopped") {
                return None;
            }
            let runs = f.runs.as_ref()?;
            let created = f.created_time?;
            let ran_recently = runs.runs_90d > 0 || runs.last_run.is_some_and(|t| t >= cutoff);
            (!ran_recently && created < cutoff).then(|| {
            META.finding(
                flow_ref(f),
                format!("Flow '{}' ({}) has not run in {days} days.", f.display_name, f.id),
                json!({ "runs_90d": runs.runs_90d, "last_run": runs.last_run, "created_time": created, "inactive_days": days }),
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
        let mut idle = flow("f-idle", PROD_ENV);
        idle.runs = Some(RunStats {
            last_run: Some(ago(120)),
            ..RunStats::default()
        });
        let mut young = flow("f-young", PROD_ENV);
        young.runs = Some(RunStats::default());
        young.created_time = Some(ago(30));
        let mut stopped = idle.clone();
        stopped.id = "f-stopped".into();
        stopped.state = "Stopped".into();
        let mut suspended = idle.clone();
        suspended.id = "f-suspended".into();
        suspended.state = "Suspended".into();
        s.flows
            .extend([flow("f-ok", PROD_ENV), idle, young, stopped, suspended]);
        assert_eq!(ids(&run(evaluate, &s)), vec!["f-idle", "f-suspended"]);
        fail(&mut s, Some(PROD_ENV), CollectionKind::FlowRuns);
        assert!(is_error(&run(evaluate, &s)));
    }
}
