//! PPG-FLW-006: Hard-coded secret in the flow definition.
//!
//! What it checks: the workflow definition holds a literal credential: an API key, password,
//! bearer or basic token, JWT, AWS key, storage account key or SAS, SQL password or private key
//! (see [`crate::secrets`]). Expressions, secure inputs and Key Vault references are not secrets.
//! Why it matters: anyone who can read the flow (co-owners, exports, solution packages) gets the
//! credential; it cannot be rotated without editing every copy.
//! Remediation: move the secret to Azure Key Vault or an environment variable of type secret,
//! rotate it, and mark the inputs secure.
//! References: CATALOGUE.md PPG-FLW-006; seed 002.

use super::per_flow;
use crate::rules::prelude::*;
use crate::secrets::scan_definition;

/// Rule metadata.
pub const META: RuleMeta = RuleMeta {
    id: "PPG-FLW-006",
    area: "flow",
    title: "Hard-coded secret in the flow definition",
    severity: Severity::Critical,
    resource_kind: ResourceKind::Flow,
    remediation: "Rotate the credential, move it to Azure Key Vault or a secret environment variable, and mark the inputs secure.",
    action_id: None,
};

/// Evaluates the rule.
pub fn evaluate(ctx: &Context) -> RuleOutput {
    per_flow(
        ctx,
        &[CollectionKind::FlowDefinitions],
        |_| true,
        |_, f| {
            let hits = scan_definition(f.definition.as_ref()?);
            if hits.is_empty() {
                return None;
            }
            let kinds: Vec<&str> = hits.iter().map(|h| h.kind).collect();
            Some(META.finding(
                flow_ref(f),
                format!(
                    "Flow '{}' ({}) has {} hard-coded secret(s) in its definition ({}).",
                    f.display_name,
                    f.id,
                    hits.len(),
                    kinds.join(", ")
                ),
                json!({ "secrets": hits }),
            ))
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testkit::*;

    #[test]
    fn fires_silent_and_errors() {
        let mut s = base();
        let mut leaky = flow("f-leaky", PROD_ENV);
        if let Some(d) = leaky.definition.as_mut() {
            d["actions"]["Call"] = json!({"type": "Http", "inputs": {"uri": "https://api.example.com", "headers": {"x-api-key": "Zk3p9QmX2vL8rT4wB7nY1cF6hJ0sD5gA"}}});
        }
        s.flows.extend([flow("f-ok", PROD_ENV), leaky]);
        let out = run(evaluate, &s);
        assert_eq!(ids(&out), vec!["f-leaky"]);
        let ev = out.findings[0].evidence.to_string();
        assert!(
            !ev.contains("Zk3p9QmX2vL8rT4wB7nY1cF6hJ0sD5gA") && ev.contains("Zk3p…32"),
            "{ev}"
        );
        fail(&mut s, Some(PROD_ENV), CollectionKind::FlowDefinitions);
        assert!(is_error(&run(evaluate, &s)));
    }
}
