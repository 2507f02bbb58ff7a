//! DLP engine suite: hand-built policies covering overlapping Only/Except/All scopes, action
//! rules, endpoint rules, custom-connector URL patterns, unblockable and virtual connectors, and
//! the what-if simulation. Every verdict is checked.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use ppgov_core::*;
use ppgov_engine::dlp::{DlpEngine, Effective, ViolationKind, app_verdict, flow_verdict, simulate};
use ppgov_engine::testkit::{app, connector, flow};
use serde_json::json;

fn pol(
    id: &str,
    scope: DlpScope,
    default_group: DlpGroup,
    groups: &[(&str, DlpGroup)],
) -> DlpPolicy {
    DlpPolicy {
        id: id.into(),
        display_name: format!("{id} name"),
        scope,
        default_group,
        connectors: groups.iter().map(|(k, g)| (k.to_string(), *g)).collect(),
        ..DlpPolicy::default()
    }
}

fn envs(ids: &[&str]) -> Vec<Environment> {
    ids.iter()
        .map(|i| Environment {
            id: i.to_string(),
            sku: "Production".into(),
            ..Environment::default()
        })
        .collect()
}

fn meta() -> ConnectorMetadata {
    ConnectorMetadata {
        collected: true,
        unblockable: vec![
            "/providers/Microsoft.PowerApps/apis/shared_office365".into(),
            "shared_teams".into(),
        ],
        virtual_connectors: vec!["Http".into(), "HttpRequestReceived".into()],
    }
}

use DlpGroup::*;

fn scopes() -> Vec<DlpPolicy> {
    vec![
        pol(
            "all",
            DlpScope::AllEnvironments,
            NonBusiness,
            &[("shared_sql", Business), ("shared_twitter", Blocked)],
        ),
        pol(
            "only-a",
            DlpScope::OnlyEnvironments(vec!["ENV-A".into()]),
            NonBusiness,
            &[("shared_dropbox", Blocked), ("shared_sql", Business)],
        ),
        pol(
            "except-a",
            DlpScope::ExceptEnvironments(vec!["env-a".into()]),
            Blocked,
            &[
                ("shared_sql", Business),
                ("shared_office365", Business),
                ("shared_teams", Blocked),
            ],
        ),
    ]
}

#[test]
fn overlapping_scopes_apply_together() {
    let ps = scopes();
    let e = envs(&["env-a", "env-b"]);
    let engine = DlpEngine::new(ps.iter(), &e, &meta());
    let ids = |eff: &Effective| {
        eff.policies
            .iter()
            .map(|p| p.id.clone())
            .collect::<Vec<_>>()
    };
    assert_eq!(ids(&engine.effective("env-a")), vec!["all", "only-a"]);
    assert_eq!(ids(&engine.effective("ENV-B")), vec!["all", "except-a"]);
    // An environment not in the snapshot is computed on the fly.
    assert_eq!(ids(&engine.effective("env-z")), vec!["all", "except-a"]);

    let a = engine.effective("env-a");
    assert!(a.is_blocked("shared_twitter") && a.is_blocked("shared_dropbox"));
    assert!(
        !a.is_blocked("shared_gmail"),
        "no applicable policy blocks unlisted connectors in env-a"
    );
    let b = engine.effective("env-b");
    assert!(
        b.is_blocked("shared_dropbox"),
        "only-a does not apply to env-b, but except-a blocks by default"
    );
    assert!(
        b.is_blocked("shared_gmail"),
        "except-a's default group is Blocked"
    );
    assert!(
        !b.is_blocked("shared_office365"),
        "unblockable connectors are never blocked"
    );
    assert!(
        !b.is_blocked("shared_teams"),
        "unblockable even when listed Blocked"
    );
    assert!(b.unlisted_blocked() && !a.unlisted_blocked());
}

#[test]
fn app_verdicts_blocked_and_mixed() {
    let ps = scopes();
    let e = envs(&["env-a", "env-b"]);
    let engine = DlpEngine::new(ps.iter(), &e, &meta());

    // env-a: sql Business in both; gmail Non-Business (default) in both -> mixed twice.
    let mut x = app("x", "env-a");
    x.connectors = vec![connector("shared_sql"), connector("shared_gmail")];
    let v = app_verdict(&engine.effective("env-a"), &x);
    assert!(v.blocked.is_empty());
    assert_eq!(
        v.mixed
            .iter()
            .map(|m| m.policy_id.as_str())
            .collect::<Vec<_>>(),
        vec!["all", "only-a"]
    );
    assert_eq!(v.mixed[0].business, vec!["shared_sql"]);
    assert_eq!(v.mixed[0].non_business, vec!["shared_gmail"]);

    // env-b: gmail blocked by except-a's default; blocked connectors do not count for mixing.
    let v = app_verdict(&engine.effective("env-b"), &x);
    assert_eq!(v.blocked.len(), 1);
    assert_eq!(
        (
            v.blocked[0].kind,
            v.blocked[0].policy_id.as_str(),
            v.blocked[0].connector.as_deref()
        ),
        (
            ViolationKind::ConnectorBlocked,
            "except-a",
            Some("shared_gmail")
        )
    );
    assert!(v.mixed.is_empty());
    assert!(
        v.blocked[0].explain().contains("except-a name")
            && v.blocked[0].explain().contains("shared_gmail")
    );

    // Twitter is blocked by the all-environments policy everywhere.
    let mut t = app("t", "env-a");
    t.connectors = vec![connector("shared_twitter")];
    let v = app_verdict(&engine.effective("env-a"), &t);
    assert_eq!(
        v.blocked
            .iter()
            .map(|b| b.policy_id.as_str())
            .collect::<Vec<_>>(),
        vec!["all"]
    );

    // Unblockable connector alone: clean; with sql in env-b: office365 is Business in except-a but
    // Non-Business (default) in all -> mixed under "all" only.
    let mut o = app("o", "env-b");
    o.connectors = vec![connector("shared_office365"), connector("shared_sql")];
    let v = app_verdict(&engine.effective("env-b"), &o);
    assert!(v.blocked.is_empty());
    assert_eq!(
        v.mixed
            .iter()
            .map(|m| m.policy_id.as_str())
            .collect::<Vec<_>>(),
        vec!["all"]
    );
}

fn http_flow(env: &str, uri: &str) -> Flow {
    let mut f = flow("h", env);
    f.definition = Some(json!({
        "triggers": {"manual": {"type": "Request", "kind": "Http", "inputs": {}}},
        "actions": {"Call": {"type": "Http", "inputs": {"method": "GET", "uri": uri}}}
    }));
    f.connectors = vec![];
    f
}

#[test]
fn virtual_connectors_and_endpoint_rules() {
    let mut p = pol(
        "p",
        DlpScope::AllEnvironments,
        NonBusiness,
        &[("http", Business), ("httprequestreceived", Business)],
    );
    p.endpoint_rules.insert(
        "http".into(),
        vec![
            EndpointRule {
                order: 3,
                behavior: RuleBehavior::Block,
                endpoint: "*".into(),
            },
            EndpointRule {
                order: 1,
                behavior: RuleBehavior::Allow,
                endpoint: "https://*.contoso.com".into(),
            },
            EndpointRule {
                order: 2,
                behavior: RuleBehavior::Block,
                endpoint: "https://evil.contoso.com".into(),
            },
        ],
    );
    let e = envs(&["env-a"]);
    let engine = DlpEngine::new(std::iter::once(&p), &e, &meta());
    let eff = engine.effective("env-a");

    let v = flow_verdict(&eff, &http_flow("env-a", "https://api.contoso.com/orders"));
    assert!(v.is_clean(), "first match (order 1 Allow) wins: {v:?}");
    // order 1 also matches evil.contoso.com, so the later Deny never applies.
    assert!(flow_verdict(&eff, &http_flow("env-a", "https://evil.contoso.com/x")).is_clean());
    let v = flow_verdict(&eff, &http_flow("env-a", "https://pastebin.example/raw"));
    assert_eq!(v.blocked.len(), 1);
    assert_eq!(v.blocked[0].kind, ViolationKind::EndpointDenied);
    assert_eq!(v.blocked[0].rule.as_deref(), Some("order 3: *"));
    // An expression host cannot be judged by endpoint rules: not blocked, reported unverifiable.
    let v = flow_verdict(&eff, &http_flow("env-a", "@parameters('target')"));
    assert!(v.blocked.is_empty() && v.mixed.is_empty(), "{v:?}");
    assert_eq!(v.unverified.len(), 1);
    assert_eq!(v.unverified[0].kind, ViolationKind::EndpointUnverifiable);

    // Blocking the virtual connectors themselves.
    let q = pol(
        "q",
        DlpScope::AllEnvironments,
        NonBusiness,
        &[("httprequestreceived", Blocked)],
    );
    let engine = DlpEngine::new(std::iter::once(&q), &e, &meta());
    let v = flow_verdict(
        &engine.effective("env-a"),
        &http_flow("env-a", "https://a.example"),
    );
    assert_eq!(
        v.blocked
            .iter()
            .map(|b| b.connector.as_deref().unwrap())
            .collect::<Vec<_>>(),
        vec!["httprequestreceived"]
    );
}

#[test]
fn action_rules() {
    let mut p = pol("p", DlpScope::AllEnvironments, Business, &[]);
    p.action_rules.insert(
        "shared_sharepointonline".into(),
        ActionRules {
            default_behavior: RuleBehavior::Allow,
            rules: [("DeleteItem".to_string(), RuleBehavior::Block)]
                .into_iter()
                .collect(),
        },
    );
    p.action_rules.insert(
        "shared_azureblob".into(),
        ActionRules {
            default_behavior: RuleBehavior::Block,
            rules: [("GetFileContent".to_string(), RuleBehavior::Allow)]
                .into_iter()
                .collect(),
        },
    );
    let e = envs(&["env-a"]);
    let engine = DlpEngine::new(std::iter::once(&p), &e, &meta());
    let eff = engine.effective("env-a");
    let op = |connector: &str, op: &str| json!({"type": "OpenApiConnection", "inputs": {"host": {"apiId": format!("/providers/Microsoft.PowerApps/apis/{connector}"), "connectionName": connector, "operationId": op}}});
    let mut f = flow("f", "env-a");
    f.definition = Some(
        json!({"triggers": {}, "actions": {"a": op("shared_sharepointonline", "PatchItem"), "b": op("shared_azureblob", "GetFileContent")}}),
    );
    assert!(flow_verdict(&eff, &f).is_clean());
    f.definition = Some(
        json!({"triggers": {}, "actions": {"a": op("shared_sharepointonline", "DeleteItem"), "b": op("shared_azureblob", "CreateFile_V2")}}),
    );
    let v = flow_verdict(&eff, &f);
    let got: Vec<(ViolationKind, Option<&str>, Option<&str>)> = v
        .blocked
        .iter()
        .map(|b| (b.kind, b.connector.as_deref(), b.detail.as_deref()))
        .collect();
    assert_eq!(
        got,
        vec![
            (
                ViolationKind::ActionBlocked,
                Some("shared_azureblob"),
                Some("CreateFile_V2")
            ),
            (
                ViolationKind::ActionBlocked,
                Some("shared_sharepointonline"),
                Some("DeleteItem")
            )
        ]
    );
}

#[test]
fn custom_connector_url_patterns_first_match_decides() {
    let mut p = pol("p", DlpScope::AllEnvironments, NonBusiness, &[]);
    p.custom_connector_patterns = vec![
        UrlPatternRule {
            order: 3,
            classification: PatternClassification::Blocked,
            pattern: "*".into(),
        },
        UrlPatternRule {
            order: 1,
            classification: PatternClassification::Ignore,
            pattern: "https://*.contoso.com".into(),
        },
        UrlPatternRule {
            order: 2,
            classification: PatternClassification::Business,
            pattern: "https://api.contoso.com".into(),
        },
    ];
    assert_eq!(
        Effective::custom_connector_group(&p, "https://api.contoso.com/v1"),
        None,
        "order 1 (Ignore) matches first: fits both groups"
    );
    assert_eq!(
        Effective::custom_connector_group(&p, "https://other.example.com"),
        Some(Blocked),
        "`*` Blocked catches what no earlier rule matched"
    );
    p.custom_connector_patterns
        .retain(|r| r.classification == PatternClassification::Ignore);
    assert_eq!(
        Effective::custom_connector_group(&p, "https://x.contoso.com"),
        None
    );
}

#[test]
fn connector_metadata_not_collected_falls_back_to_documented_list() {
    let p = pol("p", DlpScope::AllEnvironments, Blocked, &[]);
    let e = envs(&["env-a"]);
    let engine = DlpEngine::new(std::iter::once(&p), &e, &ConnectorMetadata::default());
    let eff = engine.effective("env-a");
    assert!(!eff.is_blocked("shared_sharepointonline"));
    assert!(eff.is_blocked("shared_gmail"));
}

#[test]
fn simulate_lists_breaks_and_fixes() {
    let mut s = Snapshot {
        tenant_id: "t".into(),
        environments: envs(&["env-a", "env-b"]),
        connector_metadata: meta(),
        ..Snapshot::default()
    };
    s.environments[0].display_name = "Alpha".into();
    s.dlp_policies = vec![pol(
        "base",
        DlpScope::AllEnvironments,
        NonBusiness,
        &[("shared_sql", Business), ("shared_rss", Blocked)],
    )];
    let mut a1 = app("a1", "env-a");
    a1.connectors = vec![connector("shared_gmail")];
    a1.owner = Some(PrincipalRef {
        id: "u1".into(),
        principal_type: "User".into(),
        display_name: None,
        email: Some("u1@contoso.com".into()),
    });
    let mut a2 = app("a2", "env-b");
    a2.connectors = vec![connector("shared_rss")];
    let mut f1 = flow("f1", "env-a");
    f1.connectors = vec![connector("shared_sql")];
    f1.creator = Some("u2".into());
    s.apps = vec![a1, a2];
    s.flows = vec![f1];

    // Draft: env-a only, gmail blocked; replaces nothing.
    let draft = pol(
        "draft",
        DlpScope::OnlyEnvironments(vec!["env-a".into()]),
        NonBusiness,
        &[("shared_gmail", Blocked)],
    );
    let r = simulate(&s, &draft, None);
    assert_eq!(
        r.would_break
            .iter()
            .map(|c| (c.kind, c.id.as_str()))
            .collect::<Vec<_>>(),
        vec![(ResourceKind::App, "a1")]
    );
    assert_eq!(r.would_break[0].owner.as_deref(), Some("u1@contoso.com"));
    assert_eq!(r.would_break[0].environment_name, "Alpha");
    assert!(r.would_fix.is_empty());
    // f1 (sql only) is Non-Business under the draft and Business under "base": no new mix.

    // Replacing "base" with a permissive draft fixes a2 (rss no longer blocked).
    let permissive = pol("base2", DlpScope::AllEnvironments, NonBusiness, &[]);
    let r = simulate(&s, &permissive, Some("base"));
    assert!(r.replaced_found);
    assert_eq!(
        r.would_fix
            .iter()
            .map(|c| c.id.as_str())
            .collect::<Vec<_>>(),
        vec!["a2"]
    );
    assert!(r.would_break.is_empty());
}

#[test]
fn parse_then_judge() {
    let doc = json!({"policyDefinition": {"name": "p", "displayName": "P", "defaultConnectorsClassification": "Blocked", "environmentType": "OnlyEnvironments",
        "environments": [{"name": "env-a"}],
        "connectorGroups": [{"classification": "Confidential", "connectors": [{"id": "/providers/Microsoft.PowerApps/apis/shared_sql"}]}]}});
    // Wire to domain goes through the one mapping ppgov has: the model type, then the crawler's map.
    let wire: ppgov_model::dlp::PolicyV2 = serde_json::from_value(doc).unwrap();
    let p = ppgov_crawl::map::dlp_policy_v2(&wire);
    let e = envs(&["env-a", "env-b"]);
    let engine = DlpEngine::new(std::iter::once(&p), &e, &meta());
    assert!(engine.effective("env-a").is_blocked("shared_gmail"));
    assert!(!engine.effective("env-a").is_blocked("shared_sql"));
    assert!(!engine.effective("env-b").any());
}
