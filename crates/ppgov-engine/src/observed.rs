//! Findings say when the facts they rest on were observed: a finding about an app, flow or
//! connection carries `evidence.observed` (each facet's observation time and outcome), so a
//! reader of an incremental crawl's report knows how fresh a carried-forward access list or run
//! history is. Resources built outside a crawl (no observations) get nothing.

use ppgov_core::{Finding, Observations, ResourceKind, Snapshot};
use std::collections::HashMap;

/// Adds `observed` to the evidence of every finding whose resource has observations.
pub fn attach(snapshot: &Snapshot, findings: &mut [Finding]) {
    let mut index: HashMap<(ResourceKind, &str), &Observations> = HashMap::new();
    for a in &snapshot.apps {
        index.insert((ResourceKind::App, a.id.as_str()), &a.observed);
    }
    for f in &snapshot.flows {
        index.insert((ResourceKind::Flow, f.id.as_str()), &f.observed);
    }
    for c in &snapshot.connections {
        index.insert((ResourceKind::Connection, c.id.as_str()), &c.observed);
    }
    if index.values().all(|o| o.is_empty()) {
        return;
    }
    for f in findings {
        let Some(obs) = index.get(&(f.resource.kind, f.resource.id.as_str())) else {
            continue;
        };
        if obs.is_empty() {
            continue;
        }
        if let Some(e) = f.evidence.as_object_mut() {
            e.insert("observed".into(), obs.evidence());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testkit::*;
    use ppgov_core::Facet;

    #[test]
    fn findings_on_observed_resources_say_when() {
        let mut s = base();
        let mut f = flow("f-obs", PROD_ENV);
        f.observed.record(Facet::Runs, now(), true);
        s.flows.push(f);
        let mut findings = vec![Finding {
            rule_id: "PPG-TEST".into(),
            severity: ppgov_core::Severity::Low,
            resource: ppgov_core::ResourceRef {
                kind: ResourceKind::Flow,
                id: "f-obs".into(),
                name: String::new(),
                environment_id: None,
            },
            message: String::new(),
            evidence: serde_json::json!({}),
            remediation: Default::default(),
            frameworks: vec![],
            suppressed: None,
        }];
        attach(&s, &mut findings);
        assert_eq!(findings[0].evidence["observed"]["runs"]["ok"], true);
    }
}
