//! PPG-DLP-001: An app or flow uses a connector, action or HTTP endpoint that its environment's DLP blocks.
//!
//! What it checks: against the effective policy of the resource's environment (every applicable
//! policy at once; the most restrictive wins), a used connector in some policy's Blocked group,
//! an `OpenApiConnection` action blocked by action rules, or an `Http` action whose URL the
//! `http` endpoint rules deny (first matching rule in `order`, the URL read as a WHATWG URL). It
//! also reports, as unverifiable, what it could not judge: an HTTP endpoint whose host (or the
//! part of the path a rule depends on) is an expression, under a policy with Deny endpoint
//! rules; and a custom connector whose host was not collected, under a policy whose URL
//! patterns would decide its group.
//!
//! Semantics, each from the platform's documentation:
//! - Unblockable connectors (the collected `unblockable` list, else Microsoft's documented
//!   list) are never blocked; a policy that puts one in Blocked (explicitly, or by a Blocked
//!   default group) gives it Non-Business, as the platform does for new unblockable connectors
//!   under a Blocked default group. The documentation is silent on how a legacy policy that
//!   still lists one as Blocked is enforced; ppgov applies the same rule.
//! - Action rules are not applied to unblockable or custom connectors: the platform offers
//!   action control only for blockable connectors.
//! - Content Conversion is not available for classification and is never blocked.
//! - Custom connectors: a policy's explicit group for the connector (environment-level
//!   policies), else its host URL through the policy's custom connector URL patterns in
//!   `order` (first match decides; `Blocked` blocks; `Ignore` fits both groups); with no
//!   pattern or no match, the policy's default group.
//! - A flow uses the HTTP Request connector only through a `Request` trigger of kind `Http`;
//!   manual, Power Apps and Copilot triggers are not classified as HTTP.
//! - Endpoint rules are not enforced by the platform on dynamic endpoints; ppgov reports them
//!   as unverifiable instead of passing them.
//!
//! Why it matters: such apps and flows are suspended or fail at run time; they also show makers
//! working around policy.
//! Remediation: remove the blocked connector, action or endpoint, or change the policy deliberately.
//! References: learn.microsoft.com/power-platform/admin/dlp-connector-classification (data
//! groups, list of connectors that can't be blocked, Content Conversion, custom connector
//! classification, default group); learn.microsoft.com/power-platform/admin/
//! connector-action-control; learn.microsoft.com/power-platform/admin/
//! connector-endpoint-filtering (ordered rules, known limitations); catalogue PPG-DLP-001;
//! seed 002 troubleshooting.

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
        if let Some(d) = f.definition.as_mut() {
            d["actions"]["Run"] = json!({"type": "OpenApiConnection", "inputs": {"host": {"connectionName": "shared_sql", "operationId": "ExecuteProcedure_V2", "apiId": "/providers/Microsoft.PowerApps/apis/shared_sql"}}});
        }
        f.connectors.push(connector("shared_sql"));
        s.dlp_policies[0].action_rules.insert(
            "shared_sql".into(),
            ActionRules {
                default_behavior: RuleBehavior::Allow,
                rules: [("ExecuteProcedure_V2".to_string(), RuleBehavior::Block)]
                    .into_iter()
                    .collect(),
            },
        );
        // Action rules on an unblockable connector are not applied (the platform offers no
        // action control for them), so every flow's SharePoint PatchItem stays allowed.
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
        assert_eq!(ids(&out), vec!["a-gmail", "f-action", "f-http"]);
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
