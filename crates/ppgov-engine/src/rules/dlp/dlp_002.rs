//! PPG-DLP-002: A flow or app mixes Business and Non-Business connectors.
//!
//! What it checks: for some applicable policy, the resource uses at least one connector in that
//! policy's Business group and one in its Non-Business group. Each connector is counted once
//! (three connection references to SharePoint are one SharePoint). Connectors blocked in the
//! environment do not count (PPG-DLP-001 reports them); unblockable connectors a policy puts in
//! Blocked count as Non-Business; Content Conversion fits both groups and never counts; a custom
//! connector counts in the group its URL pattern gives, not at all under `Ignore`; a flow's
//! manual, Power Apps or Copilot trigger is not the HTTP Request connector (only a `Request`
//! trigger of kind `Http` is). See PPG-DLP-001 for the sources of each point.
//! Why it matters: the platform refuses to run such resources; they also reveal data moving
//! between business and personal services.
//! Remediation: split the resource, or reclassify connectors deliberately.
//! References: learn.microsoft.com/power-platform/admin/dlp-connector-classification (how data
//! is shared among data groups; custom connector classification); catalogue PPG-DLP-002; seed
//! 002 troubleshooting.

use super::{Half, verdict_rule};
use crate::rules::prelude::*;

/// Rule metadata.
pub const META: RuleMeta = RuleMeta {
    id: "PPG-DLP-002",
    area: "dlp",
    title: "A flow or app mixes Business and Non-Business connectors",
    severity: Severity::Medium,
    resource_kind: ResourceKind::Flow,
    remediation: "Split the app or flow so Business and Non-Business connectors are not used together, or reclassify connectors deliberately.",
    action_id: Some("PPG-ACT-005"),
};

/// Evaluates the rule.
pub fn evaluate(ctx: &Context) -> RuleOutput {
    verdict_rule(
        ctx,
        &META,
        Half::Mixed,
        "mixes Business and Non-Business connectors",
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testkit::*;
    use ppgov_core::DlpGroup;

    #[test]
    fn fires_silent_and_errors() {
        let mut s = base();
        s.dlp_policies[0]
            .connectors
            .insert("shared_rss".into(), DlpGroup::NonBusiness);
        s.dlp_policies[1]
            .connectors
            .insert("shared_rss".into(), DlpGroup::Blocked);
        s.apps.push(app("a-ok", DEFAULT_ENV));
        let mut mixed = app("a-mixed", DEFAULT_ENV);
        mixed.connectors.push(connector("shared_rss"));
        s.apps.push(mixed);
        // In prod, shared_rss is blocked by pol-prod, so it does not count as Non-Business.
        let mut blocked = app("a-blocked", PROD_ENV);
        blocked.connectors.push(connector("shared_rss"));
        s.apps.push(blocked);
        assert_eq!(ids(&run(evaluate, &s)), vec!["a-mixed"]);
        fail(&mut s, None, CollectionKind::DlpPolicies);
        assert!(is_error(&run(evaluate, &s)));
    }
}
