//! PPG-CON-003: Connection to an external connector in a prod environment.
//!
//! What it checks: a connection in a prod environment whose connector is on the external list
//! (Gmail, Dropbox, Twitter/X by default; `http` has no connections).
//! Why it matters: a prod environment holding personal-service connections can move business
//! data out of the tenant.
//! Remediation: remove the connection and block the connector in the environment's DLP.
//! References: CATALOGUE.md PPG-CON-003; seed 002.

use super::per_connection;
use crate::rules::prelude::*;

/// Rule metadata.
pub const META: RuleMeta = RuleMeta {
    id: "PPG-CON-003",
    area: "connection",
    title: "Connection to an external connector in a prod environment",
    severity: Severity::Medium,
    resource_kind: ResourceKind::Connection,
    remediation: "Remove the connection and block the external connector in the prod environment's DLP policy.",
    action_id: None,
};

/// Evaluates the rule.
pub fn evaluate(ctx: &Context) -> RuleOutput {
    let external: Vec<String> = ctx
        .config
        .connectors
        .external
        .iter()
        .map(|c| c.to_ascii_lowercase())
        .collect();
    per_connection(
        ctx,
        |e| ctx.is_prod(&e.id),
        |c| {
            let key = c.connector.to_ascii_lowercase();
            (ctx.is_prod(&c.environment_id) && external.contains(&key)).then(|| {
                META.finding(
                    connection_ref(c),
                    format!(
                        "Connection '{}' ({}) in a prod environment uses external connector {key}.",
                        c.display_name, c.id
                    ),
                    json!({ "connector": key, "environment_id": c.environment_id }),
                )
            })
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
        s.connections.extend([
            connection("c-ok", PROD_ENV, "shared_sql"),
            connection("c-gmail", PROD_ENV, "shared_gmail"),
            connection("c-dflt", DEFAULT_ENV, "shared_dropbox"),
        ]);
        assert_eq!(ids(&run(evaluate, &s)), vec!["c-gmail"]);
        fail(&mut s, Some(PROD_ENV), CollectionKind::Connections);
        assert!(is_error(&run(evaluate, &s)));
    }
}
