//! DLP judged the way the platform judges (issue 10): trigger kinds, connectors DLP cannot
//! classify, unblockable connectors treated one way everywhere, custom connectors classified by
//! URL pattern (with and without a collected host), overlapping scopes, connectors counted once,
//! literal hosts of dynamic-path URLs, WHATWG host tricks, and `dlp simulate` telling newly
//! broken resources from already violating ones. Every verdict is checked.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use ppgov_config::PostureConfig;
use ppgov_core::*;
use ppgov_engine::dlp::{
    DlpEngine, ViolationKind, app_verdict, flow_verdict, looks_custom, simulate,
};
use ppgov_engine::flowdef::{flow_facts, http_action};
use ppgov_engine::testkit::{DEFAULT_ENV, PROD_ENV, app, base, connector, flow, ids, run_with};
use serde_json::{Value, json};

use DlpGroup::*;

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

fn pattern(order: i64, classification: PatternClassification, pattern: &str) -> UrlPatternRule {
    UrlPatternRule {
        order,
        classification,
        pattern: pattern.into(),
    }
}

fn snapshot(envs: &[&str], policies: Vec<DlpPolicy>) -> Snapshot {
    Snapshot {
        tenant_id: "t".into(),
        environments: envs
            .iter()
            .map(|i| Environment {
                id: i.to_string(),
                display_name: format!("{i} name"),
                sku: "Production".into(),
                ..Environment::default()
            })
            .collect(),
        dlp_policies: policies,
        connector_metadata: ConnectorMetadata {
            collected: true,
            unblockable: vec!["shared_sharepointonline".into(), "shared_office365".into()],
            virtual_connectors: vec!["Http".into(), "HttpRequestReceived".into()],
        },
        ..Snapshot::default()
    }
}

fn custom_collected(s: &mut Snapshot, env: &str) {
    s.collection.record(
        CollectionScope::Environment(env.into()),
        CollectionKind::CustomConnectors,
        CollectionState::Collected { count: 1 },
    );
}

fn flow_with(env: &str, refs: &[&str], triggers: Value, actions: Value) -> Flow {
    Flow {
        id: format!("f-{}", refs.join("-")),
        environment_id: env.into(),
        display_name: "f".into(),
        connectors: refs.iter().map(|k| connector(k)).collect(),
        definition: Some(json!({"triggers": triggers, "actions": actions})),
        ..Flow::default()
    }
}

fn kinds(v: &[ppgov_engine::dlp::Violation]) -> Vec<ViolationKind> {
    v.iter().map(|x| x.kind).collect()
}

/// Item 1: only a Request trigger of kind Http is "When an HTTP request is received".
#[test]
fn only_http_request_triggers_are_the_http_request_connector() {
    let p = pol(
        "p",
        DlpScope::AllEnvironments,
        NonBusiness,
        &[
            ("shared_sql", Business),
            ("httprequestreceived", NonBusiness),
        ],
    );
    let s = snapshot(&["env-a"], vec![p]);
    let engine = DlpEngine::for_snapshot(&s);
    let eff = engine.effective("env-a");
    for (kind, http) in [
        (Some("Button"), false),
        (Some("PowerApp"), false),
        (Some("PowerAppV2"), false),
        (Some("Skills"), false),
        (Some("Http"), true),
        (None, true),
    ] {
        let mut t = json!({"type": "Request", "inputs": {"schema": {}}});
        if let Some(k) = kind {
            t["kind"] = json!(k);
        }
        // The crawler may have added the virtual connector from a summary: the definition wins.
        let f = flow_with(
            "env-a",
            &["shared_sql", "httprequestreceived"],
            json!({"t": t}),
            json!({}),
        );
        let facts = flow_facts(&f);
        assert_eq!(
            facts
                .connectors
                .contains(&"httprequestreceived".to_string()),
            http,
            "kind {kind:?}: {:?}",
            facts.connectors
        );
        let v = flow_verdict(&eff, &f);
        assert_eq!(!v.mixed.is_empty(), http, "kind {kind:?}: {v:?}");
    }
}

/// Item 2: Content Conversion is never Business, Non-Business or Blocked; unblockable
/// connectors listed as Blocked count as Non-Business in verdicts, DLP-001, DLP-002 and
/// simulate alike, and their action rules are not applied.
#[test]
fn unclassifiable_and_unblockable_connectors_one_way_everywhere() {
    let mut p = pol(
        "p",
        DlpScope::AllEnvironments,
        Blocked,
        &[
            ("shared_sql", Business),
            ("shared_sharepointonline", Blocked),
        ],
    );
    p.action_rules.insert(
        "shared_sharepointonline".into(),
        ActionRules {
            default_behavior: RuleBehavior::Block,
            rules: Default::default(),
        },
    );
    let s = snapshot(&["env-a"], vec![p]);
    let engine = DlpEngine::for_snapshot(&s);
    let eff = engine.effective("env-a");

    // Content Conversion alone with a Business connector: default group is Blocked, yet it is
    // neither blocked nor a group member.
    let mut a = app("a-conv", "env-a");
    a.connectors = vec![
        connector("shared_sql"),
        connector("shared_conversionservice"),
    ];
    assert!(
        app_verdict(&eff, &a).is_clean(),
        "{:?}",
        app_verdict(&eff, &a)
    );

    // SharePoint in Blocked is unblockable: not blocked, counted as Non-Business.
    let mut a = app("a-sp", "env-a");
    a.connectors = vec![
        connector("shared_sql"),
        connector("shared_sharepointonline"),
    ];
    let v = app_verdict(&eff, &a);
    assert!(v.blocked.is_empty(), "{v:?}");
    assert_eq!(kinds(&v.mixed), vec![ViolationKind::MixedGroups]);
    assert_eq!(v.mixed[0].non_business, vec!["shared_sharepointonline"]);

    // The action rule (default Block) on the unblockable connector is not applied.
    let f = flow_with(
        "env-a",
        &["shared_sharepointonline"],
        json!({"r": {"type": "Recurrence"}}),
        json!({"Get": {"type": "OpenApiConnection", "inputs": {"host": {"connectionName": "shared_sharepointonline", "operationId": "GetItems", "apiId": "/providers/Microsoft.PowerApps/apis/shared_sharepointonline"}}}}),
    );
    assert!(
        flow_verdict(&eff, &f).is_clean(),
        "{:?}",
        flow_verdict(&eff, &f)
    );

    // The rules agree with the verdicts.
    let mut t = base();
    t.dlp_policies[0].default_group = Blocked;
    t.dlp_policies[0]
        .connectors
        .insert("shared_sharepointonline".into(), Blocked);
    t.dlp_policies[0]
        .connectors
        .insert("shared_conversionservice".into(), Blocked);
    let mut a = app("a-rule", DEFAULT_ENV);
    a.connectors = vec![
        connector("shared_sharepointonline"),
        connector("shared_conversionservice"),
    ];
    t.apps.push(a);
    let cfg = PostureConfig::default();
    let blocked = run_with(ppgov_engine::rules::dlp::dlp_001::evaluate, &t, &cfg);
    assert!(
        !ids(&blocked).contains(&"a-rule".to_string()),
        "{:?}",
        ids(&blocked)
    );
}

/// Item 3: custom connectors by URL pattern, `Ignore` fits both groups, `Blocked *` blocks the
/// rest, explicit listing wins, an uncollected host is reported rather than guessed, and
/// overlapping scopes apply together.
#[test]
fn custom_connectors_by_url_pattern_across_overlapping_scopes() {
    let erp = "shared_erp-20api-5f0027f520b23e81c1-5f9888a90360086012";
    let rogue = "shared_rogue-5f1111f520b23e81c1-5f2222a90360086012";
    let ignored = "shared_lab-5f3333f520b23e81c1-5f4444a90360086012";
    let mut tenant = pol(
        "tenant",
        DlpScope::AllEnvironments,
        NonBusiness,
        &[("shared_sql", Business)],
    );
    tenant.custom_connector_patterns = vec![
        pattern(1, PatternClassification::Business, "https://*.contoso.com"),
        pattern(2, PatternClassification::Ignore, "https://lab.example.org"),
        pattern(3, PatternClassification::Blocked, "*"),
    ];
    // An environment-level policy that classifies one custom connector explicitly.
    let env_b = pol(
        "env-b",
        DlpScope::OnlyEnvironments(vec!["env-b".into()]),
        NonBusiness,
        &[(erp, NonBusiness), ("shared_sql", Business)],
    );
    let mut s = snapshot(&["env-a", "env-b", "env-c"], vec![tenant, env_b]);
    for env in ["env-a", "env-b"] {
        custom_collected(&mut s, env);
        for (key, host) in [
            (erp, Some("https://erp.contoso.com/api")),
            (rogue, Some("https://contoso.com.evil.net")),
            (ignored, Some("https://lab.example.org/v2")),
        ] {
            s.custom_connectors.push(CustomConnector {
                environment_id: env.into(),
                key: key.into(),
                display_name: key.into(),
                host_url: host.map(str::to_string),
            });
        }
    }
    // env-c: custom connectors were not collected.
    let engine = DlpEngine::for_snapshot(&s);
    let judge = |env: &str, keys: &[&str]| {
        let mut a = app("a", env);
        a.connectors = keys.iter().map(|k| connector(k)).collect();
        app_verdict(&engine.effective(env), &a)
    };

    // Business pattern: fits with SQL (Business).
    assert!(judge("env-a", &[erp, "shared_sql"]).is_clean());
    // Host look-alike falls to `*` Blocked.
    let v = judge("env-a", &[rogue]);
    assert_eq!(kinds(&v.blocked), vec![ViolationKind::ConnectorBlocked]);
    assert_eq!(
        v.blocked[0].rule.as_deref(),
        Some("custom connector pattern order 3: *")
    );
    // Ignore fits both groups: with SQL (Business) and Twitter (Non-Business by default) alike.
    assert!(judge("env-a", &[ignored, "shared_sql"]).is_clean());
    assert!(judge("env-a", &[ignored, "shared_twitter"]).is_clean());
    // Overlap in env-b: the tenant policy says Business, the environment policy lists the
    // connector as Non-Business: with SQL it mixes under env-b's policy.
    let v = judge("env-b", &[erp, "shared_sql"]);
    assert_eq!(v.mixed.len(), 1, "{v:?}");
    assert_eq!(v.mixed[0].policy_id, "env-b");
    // env-c: the host is unknown, the tenant policy's patterns cannot classify it.
    let v = judge("env-c", &[erp]);
    assert!(v.blocked.is_empty() && v.mixed.is_empty(), "{v:?}");
    assert_eq!(
        kinds(&v.unverified),
        vec![ViolationKind::CustomConnectorHostUnknown]
    );
    assert_eq!(v.unverified[0].policy_id, "tenant");
    // A connector key that does not look custom is judged as a standard connector there.
    assert!(!looks_custom("shared_sql"));
    assert!(looks_custom(erp));
}

/// Item 4: simulate lists resources: newly broken apart from already violating.
#[test]
fn simulate_separates_newly_broken_from_already_violating() {
    let current = pol(
        "current",
        DlpScope::AllEnvironments,
        NonBusiness,
        &[("shared_twitter", Blocked)],
    );
    let mut s = snapshot(&["env-a"], vec![current]);
    let mut clean = app("a-clean", "env-a");
    clean.connectors = vec![connector("shared_dropbox")];
    let mut violating = app("a-violating", "env-a");
    violating.connectors = vec![connector("shared_twitter"), connector("shared_dropbox")];
    let mut untouched = app("a-untouched", "env-a");
    untouched.connectors = vec![connector("shared_sql")];
    s.apps = vec![clean, violating, untouched];
    let draft = pol(
        "draft",
        DlpScope::AllEnvironments,
        NonBusiness,
        &[("shared_dropbox", Blocked)],
    );
    let r = simulate(&s, &draft, None);
    let ids = |v: &[ppgov_engine::dlp::SimulatedChange]| {
        v.iter().map(|c| c.id.clone()).collect::<Vec<_>>()
    };
    assert_eq!(ids(&r.would_break), vec!["a-clean"]);
    assert_eq!(ids(&r.already_violating), vec!["a-violating"]);
    assert_eq!(r.already_violating[0].violations.len(), 1);
    assert_eq!(
        r.already_violating[0].violations[0].connector.as_deref(),
        Some("shared_dropbox")
    );
    assert!(r.would_fix.is_empty());
}

/// Item 6 and issue 11 item 4: hosts of dynamic-path URLs are literal; hosts that are
/// expressions are unverifiable; user-info, backslash, percent-encoding, IDN and port tricks
/// resolve to the real host for FLW-007 and the endpoint rules.
#[test]
fn hosts_read_like_the_runtime() {
    for (uri, host, dynamic_path) in [
        (
            "https://graph.microsoft.com/v1.0/groups/@{triggerBody()?['id']}",
            "graph.microsoft.com",
            true,
        ),
        (
            "https://api.contoso.com/items?id=@{variables('id')}",
            "api.contoso.com",
            true,
        ),
        ("https://allowed.contoso.com@evil.net/x", "evil.net", false),
        (
            "https://allowed.contoso.com:443@evil.net/x",
            "evil.net",
            false,
        ),
        (
            "https://evil.net\\@allowed.contoso.com/x",
            "evil.net",
            false,
        ),
        ("https://evil%2Enet/x", "evil.net", false),
        ("https://EVIL.net:8443/x", "evil.net", false),
        ("https://аpi.contoso.com/x", "xn--pi-6kc.contoso.com", false),
        ("https://@{variables('host')}/x", "<dynamic>", false),
        (
            "https://api.@{variables('tenant')}.com/x",
            "<dynamic>",
            false,
        ),
        ("@{parameters('baseUrl')}/x", "<dynamic>", false),
        (
            "@concat('https://api.contoso.com/', variables('p'))",
            "<dynamic>",
            false,
        ),
        ("https://", "<invalid>", false),
    ] {
        let a = http_action("Call", Some(uri));
        assert_eq!(a.host, host, "{uri}");
        assert_eq!(a.dynamic_path, dynamic_path, "{uri}");
    }

    // FLW-007 with an allow-list: only the tricks fire.
    let mut s = base();
    for (id, uri) in [
        ("f-ok", "https://api.contoso.com/v1"),
        (
            "f-dynpath",
            "https://api.contoso.com/v1/items/@{triggerBody()?['id']}",
        ),
        ("f-userinfo", "https://api.contoso.com@evil.net/"),
        ("f-backslash", "https://evil.net\\@api.contoso.com/"),
        ("f-encoded", "https://evil%2Enet/"),
        ("f-idn", "https://аpi.contoso.com/"),
        ("f-dynhost", "https://@{variables('h')}/"),
    ] {
        let mut f = flow(id, PROD_ENV);
        f.definition.as_mut().unwrap()["actions"]["Call"] =
            json!({"type": "Http", "inputs": {"method": "POST", "uri": uri}});
        s.flows.push(f);
    }
    let cfg = PostureConfig {
        allowed_http_hosts: vec!["api.contoso.com".into()],
        ..PostureConfig::default()
    };
    let out = run_with(ppgov_engine::rules::flow::flw_007::evaluate, &s, &cfg);
    assert_eq!(
        ids(&out),
        vec![
            "f-backslash",
            "f-dynhost",
            "f-encoded",
            "f-idn",
            "f-userinfo"
        ]
    );

    // Endpoint rules: allow contoso, deny the rest.
    let mut p = pol("p", DlpScope::AllEnvironments, NonBusiness, &[]);
    p.endpoint_rules.insert(
        "http".into(),
        vec![
            EndpointRule {
                order: 1,
                behavior: RuleBehavior::Allow,
                endpoint: "https://api.contoso.com".into(),
            },
            EndpointRule {
                order: 2,
                behavior: RuleBehavior::Block,
                endpoint: "*".into(),
            },
        ],
    );
    let snap = snapshot(&["env-a"], vec![p]);
    let engine = DlpEngine::for_snapshot(&snap);
    let eff = engine.effective("env-a");
    let verdict_of = |uri: &str| {
        let f = flow_with(
            "env-a",
            &[],
            json!({"r": {"type": "Recurrence"}}),
            json!({"Call": {"type": "Http", "inputs": {"uri": uri}}}),
        );
        flow_verdict(&eff, &f)
    };
    assert!(verdict_of("https://api.contoso.com/v1/items/@{triggerBody()?['id']}").is_clean());
    assert_eq!(
        kinds(&verdict_of("https://api.contoso.com@evil.net/").blocked),
        vec![ViolationKind::EndpointDenied]
    );
    assert_eq!(
        kinds(&verdict_of("https://graph.microsoft.com/v1.0/groups/@{variables('g')}").blocked),
        vec![ViolationKind::EndpointDenied]
    );
    let v = verdict_of("https://@{variables('h')}/x");
    assert!(v.blocked.is_empty());
    assert_eq!(
        kinds(&v.unverified),
        vec![ViolationKind::EndpointUnverifiable]
    );
}

/// Item 7: three connection references to SharePoint are one SharePoint.
#[test]
fn connectors_once() {
    let p = pol(
        "p",
        DlpScope::AllEnvironments,
        NonBusiness,
        &[
            ("shared_sharepointonline", Business),
            ("shared_sql", Business),
        ],
    );
    let s = snapshot(&["env-a"], vec![p]);
    let engine = DlpEngine::for_snapshot(&s);
    let mut f = flow_with(
        "env-a",
        &[
            "shared_sharepointonline",
            "shared_sharepointonline",
            "shared_sharepointonline",
            "shared_gmail",
        ],
        json!({"r": {"type": "Recurrence"}}),
        json!({}),
    );
    f.connectors[1].connection_name = Some("shared-sharepointonl-2".into());
    f.connectors[2].connection_name = Some("shared-sharepointonl-3".into());
    let facts = flow_facts(&f);
    assert_eq!(
        facts.connectors,
        vec!["shared_gmail", "shared_sharepointonline"]
    );
    let v = flow_verdict(&engine.effective("env-a"), &f);
    assert_eq!(v.mixed.len(), 1);
    assert_eq!(v.mixed[0].business, vec!["shared_sharepointonline"]);
    assert_eq!(v.mixed[0].non_business, vec!["shared_gmail"]);
}
