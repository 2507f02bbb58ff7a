//! PPG-FLW-008: Prod flow runs on a personal user connection instead of a service principal connection.
//!
//! What it checks: a prod flow with a connection reference whose connection (same environment,
//! by `connectionName`) is not a service-principal connection (`connectionParametersSet.name`
//! servicePrincipal, `token:grantType` client_credentials, or created by a service principal).
//! Unknown connections are skipped.
//! Why it matters: a personal connection breaks when its owner leaves and acts with that
//! person's rights.
//! Remediation: rebind the flow to a service principal connection.
//! References: CATALOGUE.md PPG-FLW-008; seed 002.

use super::per_flow;
use crate::rules::prelude::*;

/// Rule metadata.
pub const META: RuleMeta = RuleMeta {
    id: "PPG-FLW-008",
    area: "flow",
    title: "Prod flow runs on a personal user connection instead of a service principal connection",
    severity: Severity::Medium,
    resource_kind: ResourceKind::Flow,
    remediation: "Rebind the prod flow's connection references to service principal connections.",
    action_id: None,
};

/// Evaluates the rule.
pub fn evaluate(ctx: &Context) -> RuleOutput {
    per_flow(
        ctx,
        &[CollectionKind::Connections],
        |e| ctx.is_prod(&e.id),
        |_, f| {
            if !ctx.is_prod(&f.environment_id) {
                return None;
            }
            let mut personal: Vec<&str> = f
                .connectors
                .iter()
                .filter_map(|c| c.connection_name.as_deref())
                .filter_map(|n| ctx.connection(&f.environment_id, n))
                .filter(|c| {
                    !c.service_principal
                        && !c.created_by.as_ref().is_some_and(|p| {
                            p.principal_type.eq_ignore_ascii_case("ServicePrincipal")
                        })
                })
                .map(|c| c.id.as_str())
                .collect();
            personal.sort();
            personal.dedup();
            (!personal.is_empty()).then(|| {
                META.finding(
                    flow_ref(f),
                    format!(
                        "Prod flow '{}' ({}) uses personal connection(s) {}.",
                        f.display_name,
                        f.id,
                        personal.join(", ")
                    ),
                    json!({ "personal_connections": personal }),
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
        s.connections.push(connection(
            "conn-shared_sharepointonline",
            PROD_ENV,
            "shared_sharepointonline",
        ));
        let mut personal = connection("conn-personal", PROD_ENV, "shared_sharepointonline");
        personal.service_principal = false;
        s.connections.push(personal);
        let mut bad = flow("f-personal", PROD_ENV);
        bad.connectors[0].connection_name = Some("conn-personal".into());
        let mut unknown = flow("f-unknown", PROD_ENV);
        unknown.connectors[0].connection_name = Some("nowhere".into());
        s.flows.extend([flow("f-ok", PROD_ENV), bad, unknown]);
        assert_eq!(ids(&run(evaluate, &s)), vec!["f-personal"]);
        fail(&mut s, Some(PROD_ENV), CollectionKind::Connections);
        assert!(is_error(&run(evaluate, &s)));
    }
}
