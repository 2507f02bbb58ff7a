//! PPG-FLW-001: Business-data connector and external connector in one flow.
//!
//! What it checks: the flow's connectors (connection references plus virtual `http` /
//! `httprequestreceived` from the definition) include a business-data connector (SharePoint,
//! Dataverse, SQL by default) and an external one (Gmail, Dropbox, Twitter/X, HTTP by default).
//! Why it matters: this is the shape of an exfiltration path: read business data, send it out.
//! Remediation: review the flow with its owner; block the external connector in the environment's DLP.
//! References: CATALOGUE.md PPG-FLW-001; seed 002.

use super::per_flow;
use crate::rules::prelude::*;

/// Rule metadata.
pub const META: RuleMeta = RuleMeta {
    id: "PPG-FLW-001",
    area: "flow",
    title: "Business-data and external connectors in one flow (exfiltration path)",
    severity: Severity::High,
    resource_kind: ResourceKind::Flow,
    remediation: "Review the flow with its owner, remove the external connector, and separate the connectors in the environment's DLP policy.",
    action_id: None,
};

/// Evaluates the rule.
pub fn evaluate(ctx: &Context) -> RuleOutput {
    let lower = |v: &[String]| v.iter().map(|c| c.to_ascii_lowercase()).collect::<Vec<_>>();
    let business = lower(&ctx.config.connectors.business_data);
    let external = lower(&ctx.config.connectors.external);
    per_flow(
        ctx,
        &[CollectionKind::FlowDefinitions],
        |_| true,
        |i, f| {
            let used = &ctx.flow_facts[i].connectors;
            let b: Vec<&String> = used.iter().filter(|c| business.contains(c)).collect();
            let x: Vec<&String> = used.iter().filter(|c| external.contains(c)).collect();
            (!b.is_empty() && !x.is_empty()).then(|| {
            META.finding(
                flow_ref(f),
                format!("Flow '{}' ({}) combines business-data connectors ({}) with external connectors ({}).", f.display_name, f.id, join(&b), join(&x)),
                json!({ "business_data_connectors": b, "external_connectors": x }),
            )
        })
        },
    )
}

fn join(v: &[&String]) -> String {
    v.iter().map(|s| s.as_str()).collect::<Vec<_>>().join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testkit::*;

    #[test]
    fn fires_silent_and_errors() {
        let mut s = base();
        s.flows.push(flow("f-ok", PROD_ENV));
        let mut gm = flow("f-gmail", PROD_ENV);
        gm.connectors.push(connector("shared_gmail"));
        s.flows.push(gm);
        let mut http = flow("f-http", PROD_ENV);
        if let Some(d) = http.definition.as_mut() {
            d["actions"]["Post"] = json!({"type": "Http", "inputs": {"uri": "@parameters('u')"}});
        }
        s.flows.push(http);
        let mut ext_only = flow("f-ext", PROD_ENV);
        ext_only.connectors = vec![connector("shared_dropbox")];
        ext_only.definition = None;
        s.flows.push(ext_only);
        assert_eq!(ids(&run(evaluate, &s)), vec!["f-gmail", "f-http"]);
        fail(&mut s, Some(PROD_ENV), CollectionKind::FlowDefinitions);
        assert!(is_error(&run(evaluate, &s)));
    }
}
