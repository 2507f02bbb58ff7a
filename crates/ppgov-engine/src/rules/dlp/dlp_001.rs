//! PPG-DLP-001: An app or flow uses a connector, action or HTTP endpoint that its environment's DLP blocks.
//!
//! What it checks: against the effective policy of the resource's environment (every applicable
//! policy), a used connector in some policy's Blocked group (unblockable connectors never are), an
//! `OpenApiConnection` action blocked by action rules, or an `Http` action whose literal URI the
//! `http` endpoint rules deny (first matching rule in `order`).
//! Why it matters: such apps and flows are suspended or fail at run time; they also show makers
//! working around policy.
//! Remediation: remove the blocked connector, action or endpoint, or change the policy deliberately.
//! References: CATALOGUE.md PPG-DLP-001; seed 002 troubleshooting.

use super::{Half, verdict_rule};
use crate::rules::prelude::*;

/// Rule metadata.
pub const META: RuleMeta = RuleMeta {
    id: "PPG-DLP-001",
    area: "dlp",
    title: "An app or flow uses a connector, action or endpoint its environment's DLP blocks",
    severity: Severity::High,
    resource_kind: ResourceKind::Flow,
    remediation: "Remove the blocked connector, action or endpoint from the app or flow, or change the DLP policy deliberately.",
    action_id: Some("PPG-ACT-005"),
};

/// Evaluates the rule.
pub fn evaluate(ctx: &Context) -> RuleOutput {
    verdict_rule(ctx, &META, Half::Blocked, "violates DLP")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testkit::*;
    use ppgov_core::{ActionRules, DlpGroup, RuleBehavior};

    #[test]
    fn fires_silent_and_errors() {
        let mut s = base();
        s.apps.push(app("a-ok", PROD_ENV));
        s.flows.push(flow("f-ok", PROD_ENV));
        let mut a = app("a-gmail", PROD_ENV);
        a.connectors.push(connector("shared_gmail"));
        s.apps.push(a);
        let mut f = flow("f-http", PROD_ENV);
        if let Some(d) = f.definition.as_mut() {
            d["actions"]["Call"] = json!({"type": "Http", "inputs": {"method": "POST", "uri": "https://example.org/hook"}});
        }
        s.flows.push(f);
        let mut f = flow("f-action", DEFAULT_ENV);
        s.dlp_policies[0].action_rules.insert(
            "shared_sharepointonline".into(),
            ActionRules {
                default_behavior: RuleBehavior::Allow,
                rules: [("PatchItem".to_string(), RuleBehavior::Block)]
                    .into_iter()
                    .collect(),
            },
        );
        f.display_name = "patcher".into();
        s.flows.push(f);
        // Unblockable in Blocked still is not blocked.
        s.dlp_policies[1]
            .connectors
            .insert("shared_teams".into(), DlpGroup::Blocked);
        let mut a = app("a-teams", PROD_ENV);
        a.connectors = vec![connector("shared_teams")];
        s.apps.push(a);
        let out = run(evaluate, &s);
        // The action rule is in the all-environments policy, so f-ok and f-http are hit too.
        assert_eq!(ids(&out), vec!["a-gmail", "f-action", "f-http", "f-ok"]);
        let http = out
            .findings
            .iter()
            .find(|f| f.resource.id == "f-http")
            .unwrap();
        assert!(
            http.message
                .contains("denies endpoint https://example.org/hook"),
            "{}",
            http.message
        );
        fail(&mut s, Some(PROD_ENV), CollectionKind::FlowDefinitions);
        let out = run(evaluate, &s);
        assert!(is_error(&out));
        assert_eq!(ids(&out), vec!["a-gmail", "f-action"]);
    }
}
