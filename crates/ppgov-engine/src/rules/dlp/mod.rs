//! DLP verdict rules: blocked usage, mixed groups, open HTTP and custom connector endpoints.

pub mod dlp_001;
pub mod dlp_002;
pub mod dlp_003;

use crate::dlp::{Verdict, Violation, app_connectors, verdict_with};
use crate::rules::prelude::*;
use ppgov_core::Finding;

/// Which half of a verdict a rule reports.
#[derive(Clone, Copy)]
pub(crate) enum Half {
    /// Connector, action and endpoint blocks.
    Blocked,
    /// Business/Non-Business mixes.
    Mixed,
}

/// Judges every app and flow of the environments whose inputs were collected and reports one
/// finding per resource with violations of the chosen half.
pub(crate) fn verdict_rule(ctx: &Context, meta: &RuleMeta, half: Half, what: &str) -> RuleOutput {
    let missing = ctx.missing_tenant(&[CollectionKind::DlpPolicies]);
    if !missing.is_empty() {
        return RuleOutput::partial(vec![], &missing);
    }
    let (apps_ok, mut missing) = ctx.split_envs(&[CollectionKind::Apps], |_| true);
    let (flows_ok, flows_missing) = ctx.split_envs(
        &[CollectionKind::Flows, CollectionKind::FlowDefinitions],
        |_| true,
    );
    missing.extend(flows_missing);
    // Unverifiable items are reported with the blocks (PPG-DLP-001), so nothing ppgov could not
    // judge passes unseen.
    let pick = |v: Verdict| match half {
        Half::Blocked => v.blocked.into_iter().chain(v.unverified).collect(),
        Half::Mixed => v.mixed,
    };
    let judge = |env: &str,
                 connectors: &[String],
                 custom: &[String],
                 f: Option<&crate::flowdef::FlowFacts>|
     -> Vec<Violation> {
        let (actions, http) = match f {
            Some(f) => (&f.api_actions[..], &f.http_actions[..]),
            None => (&[][..], &[][..]),
        };
        match ctx.dlp.effective_ref(env) {
            Some(eff) => pick(verdict_with(eff, connectors, custom, actions, http)),
            None => pick(verdict_with(
                &ctx.effective(env),
                connectors,
                custom,
                actions,
                http,
            )),
        }
    };
    let mut findings: Vec<Finding> = vec![];
    for app in &ctx.snapshot.apps {
        if !apps_ok.contains(crate::context::lc(&app.environment_id).as_ref()) {
            continue;
        }
        let (keys, custom) = app_connectors(app);
        let v = judge(&app.environment_id, &keys, &custom, None);
        if !v.is_empty() {
            findings.push(finding(
                meta,
                app_ref(app),
                "App",
                &app.display_name,
                &app.id,
                what,
                v,
            ));
        }
    }
    for (flow, facts) in ctx.snapshot.flows.iter().zip(&ctx.flow_facts) {
        if !flows_ok.contains(crate::context::lc(&flow.environment_id).as_ref()) {
            continue;
        }
        let v = judge(&flow.environment_id, &facts.connectors, &[], Some(facts));
        if !v.is_empty() {
            findings.push(finding(
                meta,
                flow_ref(flow),
                "Flow",
                &flow.display_name,
                &flow.id,
                what,
                v,
            ));
        }
    }
    RuleOutput::partial(findings, &missing)
}

fn finding(
    meta: &RuleMeta,
    r: ResourceRef,
    kind: &str,
    name: &str,
    id: &str,
    what: &str,
    v: Vec<Violation>,
) -> Finding {
    let explanations: Vec<String> = v.iter().map(Violation::explain).collect();
    let env = r.environment_id.clone().unwrap_or_default();
    let message = format!(
        "{kind} '{name}' ({id}) {what}: {}.",
        explanations.join("; ")
    );
    meta.finding(
        r,
        message,
        json!({ "environment_id": env, "violations": v }),
    )
}
