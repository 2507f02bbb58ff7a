//! PPG-FLW-007: HTTP action to a host outside the configured allow-list.
//!
//! What it checks: every `Http` action's URI host against the allowed HTTP hosts (`*` wildcards;
//! empty by default, so every HTTP action fires). The host is read the way the runtime reads a
//! URL, with a WHATWG URL parser: user-info is dropped (`https://allowed.com@evil.net` calls
//! `evil.net`), a backslash is a path separator, percent-encoded hosts are decoded, IDN hosts are
//! compared in punycode and ports are ignored. When only the path or query is an expression
//! (`https://graph.microsoft.com/v1.0/groups/@{...}`) the literal host is used; a URI whose
//! host is an expression has host `<dynamic>` and one that is not a URL has host `<invalid>`:
//! both fire, as unverifiable.
//! Why it matters: the HTTP action sends data anywhere, bypassing connector-level DLP.
//! Remediation: restrict the flow to approved hosts (and add them to the allow-list and to the
//! DLP endpoint rules), or replace HTTP with a governed connector.
//! References: WHATWG URL Standard, host parsing (url.spec.whatwg.org); Workflow Definition
//! Language expressions (`@`, `@{...}`), learn.microsoft.com/azure/logic-apps/
//! logic-apps-workflow-definition-language; catalogue PPG-FLW-007; seed 002.

use super::per_flow;
use crate::flowdef::{DYNAMIC_HOST, INVALID_HOST};
use crate::rules::prelude::*;

/// Rule metadata.
pub const META: RuleMeta = RuleMeta {
    id: "PPG-FLW-007",
    area: "flow",
    title: "HTTP action to a host outside the configured allow-list",
    severity: Severity::Medium,
    resource_kind: ResourceKind::Flow,
    remediation: "Call only approved hosts (add them to allowed_http_hosts and the DLP endpoint rules), or use a governed connector instead of HTTP.",
    action_id: None,
};

/// Evaluates the rule.
pub fn evaluate(ctx: &Context) -> RuleOutput {
    per_flow(
        ctx,
        &[CollectionKind::FlowDefinitions],
        |_| true,
        |i, f| {
            let mut hosts: Vec<&str> = ctx.flow_facts[i]
                .http_actions
                .iter()
                .map(|h| h.host.as_str())
                .filter(|h| *h == DYNAMIC_HOST || *h == INVALID_HOST || !ctx.host_allowed(h))
                .collect();
            hosts.sort();
            hosts.dedup();
            (!hosts.is_empty()).then(|| {
            let actions: Vec<&str> = ctx.flow_facts[i].http_actions.iter().filter(|h| hosts.contains(&h.host.as_str())).map(|h| h.name.as_str()).collect();
            META.finding(
                flow_ref(f),
                format!("Flow '{}' ({}) calls HTTP hosts outside the allow-list: {}.", f.display_name, f.id, hosts.join(", ")),
                json!({ "hosts": hosts, "actions": actions, "allowed_hosts": ctx.config.allowed_http_hosts, "unverifiable": hosts.iter().any(|h| *h == DYNAMIC_HOST || *h == INVALID_HOST) }),
            )
        })
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testkit::*;
    use ppgov_config::PostureConfig;

    #[test]
    fn fires_silent_and_errors() {
        let mut s = base();
        let mut a = flow("f-api", PROD_ENV);
        if let Some(d) = a.definition.as_mut() {
            d["actions"]["Call"] =
                json!({"type": "Http", "inputs": {"uri": "https://api.contoso.com/x"}});
        }
        let mut b = flow("f-dyn", PROD_ENV);
        if let Some(d) = b.definition.as_mut() {
            d["actions"]["Call"] =
                json!({"type": "Http", "inputs": {"uri": "@variables('target')"}});
        }
        s.flows.extend([flow("f-ok", PROD_ENV), a, b]);
        assert_eq!(ids(&run(evaluate, &s)), vec!["f-api", "f-dyn"]);
        let cfg = PostureConfig {
            allowed_http_hosts: vec!["*.contoso.com".into()],
            ..PostureConfig::default()
        };
        assert_eq!(ids(&run_with(evaluate, &s, &cfg)), vec!["f-dyn"]);
        fail(&mut s, Some(PROD_ENV), CollectionKind::FlowDefinitions);
        assert!(is_error(&run(evaluate, &s)));
    }
}
