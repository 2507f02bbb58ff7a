//! Runs every built-in rule over the flow corpus in `fixtures/flows` (definitions in the shapes
//! real exports take) and checks each flow against `fixtures/flows/expectations.json`: the
//! connectors and HTTP hosts read, every planted credential found where it is (with no
//! character of it in the evidence), and exactly the rules that must fire.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use ppgov_config::PostureConfig;
use ppgov_core::*;
use ppgov_engine::context::Context;
use ppgov_engine::flowdef::flow_facts;
use ppgov_engine::registry::RULES;
use ppgov_engine::secrets::{fingerprint, scan_definition};
use ppgov_engine::testkit::{PROD_ENV, base, flow};
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

fn corpus_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/flows")
}

/// A flow as the crawler would see it: the exported document as its definition, and one
/// connector reference per `connectionReferences` entry (solution `api.name`, package `id`).
fn corpus_flow(rel: &str, doc: Value) -> Flow {
    let mut f = flow(rel, PROD_ENV);
    f.display_name = rel.to_string();
    f.connectors = doc
        .pointer("/properties/connectionReferences")
        .and_then(Value::as_object)
        .map(|refs| {
            refs.values()
                .map(|r| {
                    let api = r
                        .pointer("/api/name")
                        .or_else(|| r.get("id"))
                        .and_then(Value::as_str)
                        .unwrap();
                    ConnectorRef {
                        key: connector_key(api),
                        api_id: api.to_string(),
                        ..ConnectorRef::default()
                    }
                })
                .collect()
        })
        .unwrap_or_default();
    f.trigger_type = None;
    f.definition = Some(doc);
    f
}

/// One tenant-wide policy: Microsoft 365, SQL and HTTP are Business, the rest Non-Business by
/// default (so the HTTP Request trigger is Non-Business); HTTP may reach contoso and Graph only.
fn corpus_policy() -> DlpPolicy {
    let business = [
        "shared_sharepointonline",
        "shared_sql",
        "shared_approvals",
        "shared_office365",
        "http",
    ];
    let rule = |order, behavior, endpoint: &str| EndpointRule {
        order,
        behavior,
        endpoint: endpoint.into(),
    };
    DlpPolicy {
        id: "corpus".into(),
        display_name: "Corpus policy".into(),
        scope: DlpScope::AllEnvironments,
        default_group: DlpGroup::NonBusiness,
        connectors: business
            .iter()
            .map(|k| (k.to_string(), DlpGroup::Business))
            .collect(),
        endpoint_rules: [(
            "http".to_string(),
            vec![
                rule(1, RuleBehavior::Allow, "https://*.contoso.com"),
                rule(2, RuleBehavior::Allow, "https://graph.microsoft.com"),
                rule(3, RuleBehavior::Block, "*"),
            ],
        )]
        .into_iter()
        .collect(),
        ..DlpPolicy::default()
    }
}

#[test]
fn every_rule_over_the_corpus_gives_the_expected_verdicts() {
    let text = std::fs::read_to_string(corpus_dir().join("expectations.json")).unwrap();
    let expectations: BTreeMap<String, Value> = serde_json::from_str(&text).unwrap();
    let expectations: BTreeMap<String, Value> = expectations
        .into_iter()
        .filter(|(k, _)| !k.starts_with('_'))
        .collect();
    assert!(expectations.len() >= 7, "the corpus lost files");

    let mut s = base();
    s.dlp_policies = vec![corpus_policy()];
    for rel in expectations.keys() {
        let doc: Value =
            serde_json::from_str(&std::fs::read_to_string(corpus_dir().join(rel)).unwrap())
                .unwrap_or_else(|e| panic!("{rel}: {e}"));
        s.flows.push(corpus_flow(rel, doc));
    }
    let config = PostureConfig {
        allowed_http_hosts: vec!["*.contoso.com".into(), "graph.microsoft.com".into()],
        ..PostureConfig::default()
    };
    let ctx = Context::new(&s, &config);
    let mut fired: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    let mut evidence: BTreeMap<String, String> = BTreeMap::new();
    for rule in RULES {
        let out = (rule.evaluate)(&ctx);
        for f in out.findings {
            if expectations.contains_key(&f.resource.id) {
                fired
                    .entry(f.resource.id.clone())
                    .or_default()
                    .insert(f.rule_id.clone());
                let e = evidence.entry(f.resource.id.clone()).or_default();
                e.push_str(&f.message);
                e.push_str(&f.evidence.to_string());
            }
        }
    }

    let mut planted = 0;
    for (rel, exp) in &expectations {
        let f = s.flows.iter().find(|f| &f.id == rel).unwrap();
        let facts = flow_facts(f);
        let strings = |v: &Value| -> Vec<String> {
            v.as_array()
                .unwrap()
                .iter()
                .map(|x| x.as_str().unwrap().to_string())
                .collect()
        };
        assert_eq!(
            facts.connectors,
            strings(&exp["connectors"]),
            "{rel}: connectors"
        );
        assert_eq!(
            facts.request_trigger,
            exp["http_request_trigger"].as_bool().unwrap(),
            "{rel}: HTTP request trigger"
        );
        let hosts: BTreeSet<String> = facts.http_actions.iter().map(|h| h.host.clone()).collect();
        let want_hosts: BTreeSet<String> = strings(&exp["http_hosts"]).into_iter().collect();
        assert_eq!(hosts, want_hosts, "{rel}: HTTP hosts");

        let hits = scan_definition(f.definition.as_ref().unwrap());
        let want = exp["secrets"].as_array().unwrap();
        assert_eq!(
            hits.len(),
            want.len(),
            "{rel}: expected {} secret(s), found {hits:?}",
            want.len()
        );
        for w in want {
            planted += 1;
            let value = w["value"].as_str().unwrap();
            let hit = hits
                .iter()
                .find(|h| h.path == w["path"].as_str().unwrap())
                .unwrap_or_else(|| panic!("{rel}: no hit at {}: {hits:?}", w["path"]));
            assert_eq!(hit.kind, w["kind"].as_str().unwrap(), "{rel}: {}", hit.path);
            assert_eq!(hit.length, value.chars().count(), "{rel}: {}", hit.path);
            assert_eq!(hit.fingerprint, fingerprint(value), "{rel}: {}", hit.path);
            let shown = evidence.get(rel).cloned().unwrap_or_default();
            let head: String = value.chars().take(4).collect();
            assert!(
                !shown.contains(value) && !shown.contains(&head),
                "{rel}: the finding reveals part of a secret: {shown}"
            );
        }

        let want_rules: BTreeSet<String> = strings(&exp["rules"]).into_iter().collect();
        assert_eq!(
            fired.get(rel).cloned().unwrap_or_default(),
            want_rules,
            "{rel}: rules that fired"
        );
    }
    assert_eq!(planted, 8, "the corpus plants 8 credentials");
}
