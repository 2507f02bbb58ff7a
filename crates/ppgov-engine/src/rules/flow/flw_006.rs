//! PPG-FLW-006: Hard-coded secret in the flow definition.
//!
//! What it checks: the workflow definition holds a literal credential: an API key, client
//! secret, password, bearer or basic token, JWT, AWS key, storage account key or SAS, SQL
//! password or private key (see [`crate::secrets`]), in actions, triggers or in a parameter's
//! `defaultValue`, where solution exports write environment-variable values. A parameter's
//! default is judged by the parameter's name, its `metadata.schemaName` (publisher prefix
//! dropped) and its type (`SecureString`, `SecureObject`). Expressions (`@...`, `@{...}`),
//! secure inputs, Key Vault references, placeholders (`<ENTER SECRET>`), GUIDs and ids are not
//! secrets. The evidence names each secret's kind, length, JSON path and an 8-hex-digit SHA-256
//! fingerprint (to correlate repeats); it never shows a character of the secret.
//! Why it matters: anyone who can read the flow (co-owners, exports, solution packages) gets the
//! credential; it cannot be rotated without editing every copy.
//! Remediation: move the secret to Azure Key Vault or an environment variable of type secret,
//! rotate it, and mark the inputs secure.
//! References: Workflow Definition Language, `parameters` (`type`, `defaultValue`, `metadata`),
//! learn.microsoft.com/azure/logic-apps/logic-apps-workflow-definition-language; solution
//! exports (`Workflows/*.json`) carry environment-variable values as parameter defaults (seen in
//! exported solutions; the documentation is silent on it); catalogue PPG-FLW-006; seed 002.

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
            let shown: Vec<String> = hits
                .iter()
                .map(|h| format!("{} at {}", h.excerpt, h.path))
                .collect();
            Some(META.finding(
                flow_ref(f),
                format!(
                    "Flow '{}' ({}) has {} hard-coded secret(s) in its definition: {}.",
                    f.display_name,
                    f.id,
                    hits.len(),
                    shown.join("; ")
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
            !ev.contains("Zk3p") && ev.contains("32 chars") && ev.contains("\"fingerprint\""),
            "{ev}"
        );
        assert_eq!(
            out.findings[0].evidence["secrets"][0]["path"],
            json!("$.actions.Call.inputs.headers.x-api-key")
        );
        fail(&mut s, Some(PROD_ENV), CollectionKind::FlowDefinitions);
        assert!(is_error(&run(evaluate, &s)));
    }
}
