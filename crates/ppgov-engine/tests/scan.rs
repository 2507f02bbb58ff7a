//! The scan end to end: a clean background produces nothing, planted problems produce exactly
//! their findings, suppressions and expiry, frameworks, inventory, and speed on a large tenant.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use chrono::NaiveDate;
use ppgov_config::{PostureConfig, Suppression};
use ppgov_core::*;
use ppgov_engine::testkit::*;
use ppgov_engine::{ScanOptions, framework_view, rule_catalog, scan};
use serde_json::json;
use std::collections::BTreeSet;

fn background() -> Snapshot {
    let mut s = base();
    for env in [DEFAULT_ENV, PROD_ENV] {
        for i in 0..5 {
            s.apps.push(app(&format!("app-{env}-{i}"), env));
            let mut f = flow(&format!("flow-{env}-{i}"), env);
            f.connectors[0].connection_name = Some(format!("conn-{env}-{i}"));
            s.flows.push(f);
            s.connections.push(connection(
                &format!("conn-{env}-{i}"),
                env,
                "shared_sharepointonline",
            ));
        }
    }
    s.role_assignments
        .push(sysadmin(PROD_ENV, SP_1, "ServicePrincipal"));
    s
}

fn pairs(r: &ScanReport) -> BTreeSet<(String, String)> {
    r.findings
        .iter()
        .map(|f| (f.rule_id.clone(), f.resource.id.clone()))
        .collect()
}

#[test]
fn clean_background_has_no_findings_and_no_errors() {
    let r = scan(
        &background(),
        &PostureConfig::default(),
        &ScanOptions::default(),
    );
    assert!(r.findings.is_empty(), "{:#?}", r.findings);
    assert_eq!(r.rules.len(), rule_catalog().len());
    for rule in &r.rules {
        match rule.rule_id.as_str() {
            "PPG-DEF-006" => assert!(matches!(rule.status, RuleStatus::NotApplicable { .. })),
            _ => assert_eq!(rule.status, RuleStatus::Evaluated, "{}", rule.rule_id),
        }
    }
    assert_eq!(r.summary.rules_passed, 42);
    assert_eq!(r.inventory["flow"], 10);
    assert_eq!(r.inventory["role_holder"], 1);
}

#[test]
fn planted_problems_are_found_exactly() {
    let mut s = background();
    let gone = "00000000-0000-0000-0000-0000000000d9";
    s.principals.insert(
        gone.into(),
        principal(gone, PrincipalKind::User, PrincipalStatus::Deleted, false),
    );
    if let Some(ts) = s.tenant_settings.as_mut() {
        ts.enable_guests_to_make = Some(true);
    }
    // An orphaned, single-owner prod flow: FLW-002 and FLW-003.
    let mut f = flow("f-orphan", PROD_ENV);
    f.creator = Some(gone.into());
    f.permissions = Some(vec![owner(gone)]);
    f.connectors[0].connection_name = Some(format!("conn-{PROD_ENV}-0"));
    s.flows.push(f);
    // A gone System Administrator: ADM-001 and ADM-003 (both recorded), and ADM-002 (owns f-orphan).
    s.role_assignments.push(sysadmin(PROD_ENV, gone, "User"));
    // An app with bypassConsent.
    let mut a = app("a-bypass", DEFAULT_ENV);
    a.bypass_consent = true;
    s.apps.push(a);
    let r = scan(&s, &PostureConfig::default(), &ScanOptions::default());
    let expected: BTreeSet<(String, String)> = [
        ("PPG-TEN-006", TENANT.to_string()),
        ("PPG-FLW-002", "f-orphan".into()),
        ("PPG-FLW-003", "f-orphan".into()),
        ("PPG-ADM-001", format!("{PROD_ENV}/{gone}")),
        ("PPG-ADM-003", format!("{PROD_ENV}/{gone}")),
        // The gone admin created a flow: segregation of duties fires too.
        ("PPG-ADM-002", format!("{PROD_ENV}/{gone}")),
        ("PPG-APP-004", "a-bypass".into()),
    ]
    .into_iter()
    .map(|(a, b)| (a.to_string(), b))
    .collect();
    assert_eq!(pairs(&r), expected);
    // Sorted: critical first.
    assert_eq!(r.findings[0].rule_id, "PPG-ADM-003");
    let adm = r
        .findings
        .iter()
        .find(|f| f.rule_id == "PPG-ADM-001")
        .unwrap();
    assert_eq!(adm.resource.kind, ResourceKind::RoleHolder);
    assert_eq!(adm.remediation.action_id.as_deref(), Some("PPG-ACT-011"));
    assert!(
        adm.frameworks
            .iter()
            .any(|f| f.framework == "nist-800-53" && f.control == "AC-6")
    );
    assert!(
        r.findings
            .iter()
            .all(|f| f.evidence.is_object() && !f.message.is_empty())
    );
}

#[test]
fn suppressions_and_expiry() {
    let mut s = background();
    let mut a = app("a-bypass", DEFAULT_ENV);
    a.bypass_consent = true;
    s.apps.push(a);
    let mut b = app("a-bypass-2", DEFAULT_ENV);
    b.bypass_consent = true;
    s.apps.push(b);
    let day = |d| NaiveDate::from_ymd_opt(2026, 5, d);
    let config = PostureConfig {
        suppressions: vec![
            Suppression {
                rule_id: "PPG-APP-004".into(),
                resource: "a-bypass".into(),
                justification: "vetted LOB app".into(),
                expires: day(31),
            },
            Suppression {
                rule_id: "ppg-app-004".into(),
                resource: "a-bypass-2".into(),
                justification: "old".into(),
                expires: day(1),
            },
        ],
        ..PostureConfig::default()
    };
    let opts = ScanOptions {
        today: NaiveDate::from_ymd_opt(2026, 5, 31),
        ..ScanOptions::default()
    };
    let r = scan(&s, &config, &opts);
    let live = r
        .findings
        .iter()
        .find(|f| f.resource.id == "a-bypass")
        .unwrap();
    assert_eq!(
        live.suppressed.as_ref().unwrap().justification,
        "vetted LOB app"
    );
    let expired = r
        .findings
        .iter()
        .find(|f| f.resource.id == "a-bypass-2")
        .unwrap();
    assert!(expired.suppressed.is_none());
    assert!(
        expired
            .message
            .contains("suppression expired on 2026-05-01"),
        "{}",
        expired.message
    );
    assert_eq!(
        expired.evidence["suppression_expired"],
        json!("suppression expired on 2026-05-01")
    );
    assert_eq!((r.summary.total, r.summary.suppressed), (1, 1));

    // A wildcard suppression covers every resource of the rule.
    let config = PostureConfig {
        suppressions: vec![Suppression {
            rule_id: "PPG-APP-004".into(),
            resource: "*".into(),
            justification: "all".into(),
            expires: None,
        }],
        ..PostureConfig::default()
    };
    let r = scan(&s, &config, &ScanOptions::default());
    assert_eq!((r.summary.total, r.summary.suppressed), (0, 2));
}

#[test]
fn rule_selection_and_uncollected_inputs() {
    let mut s = background();
    fail(&mut s, Some(PROD_ENV), CollectionKind::FlowRuns);
    let r = scan(
        &s,
        &PostureConfig::default(),
        &ScanOptions {
            rules: vec!["flow".into(), "PPG-TEN-001".into()],
            ..ScanOptions::default()
        },
    );
    let ids: Vec<&str> = r.rules.iter().map(|r| r.rule_id.as_str()).collect();
    assert_eq!(
        ids,
        vec![
            "PPG-FLW-001",
            "PPG-FLW-002",
            "PPG-FLW-003",
            "PPG-FLW-004",
            "PPG-FLW-005",
            "PPG-FLW-006",
            "PPG-FLW-007",
            "PPG-FLW-008",
            "PPG-TEN-001"
        ]
    );
    for id in ["PPG-FLW-004", "PPG-FLW-005"] {
        let rr = r.rules.iter().find(|r| r.rule_id == id).unwrap();
        match &rr.status {
            RuleStatus::Error { message } => assert!(
                message.contains("flow_runs in environment env-prod"),
                "{message}"
            ),
            other => panic!("{id}: {other:?}"),
        }
    }
    assert_eq!(r.summary.rules_errored, 2);
}

#[test]
fn scuba_view_groups_by_requirement() {
    let mut s = background();
    s.tenant_isolation = Some(TenantIsolation {
        configured: false,
        ..TenantIsolation::default()
    });
    let r = scan(&s, &PostureConfig::default(), &ScanOptions::default());
    let v = framework_view(&r, "scuba");
    assert!(v.found);
    let status = |id: &str| {
        serde_json::to_value(v.requirements.iter().find(|q| q.id == id).unwrap().status).unwrap()
    };
    assert_eq!(status("MS.POWERPLATFORM.3.1v1"), json!("fail"));
    assert_eq!(status("MS.POWERPLATFORM.1.1v1"), json!("pass"));
    assert_eq!(status("MS.POWERPLATFORM.4.1v1"), json!("manual"));
    assert!(!framework_view(&r, "no-such").found);
    assert!(framework_view(&r, "nist").found);
}

/// A large tenant: 30k flows, 11k apps, 100k connections. Debug builds are far slower than
/// release, so the bound here is generous; release runs take well under a second.
#[test]
fn large_snapshot_scans_quickly() {
    let mut s = base();
    let n_envs = 50;
    for e in 0..n_envs {
        s.environments.push(env(
            &format!("env-{e}"),
            if e % 2 == 0 { "Production" } else { "Sandbox" },
        ));
    }
    s.dlp_policies[1].scope = DlpScope::OnlyEnvironments(
        (0..n_envs)
            .filter(|e| e % 2 == 0)
            .map(|e| format!("env-{e}"))
            .chain([PROD_ENV.to_string()])
            .collect(),
    );
    collect_all(&mut s);
    let template_flow = flow("f", PROD_ENV);
    let template_app = app("a", PROD_ENV);
    for i in 0..30_000 {
        let mut f = template_flow.clone();
        f.id = format!("flow-{i}");
        f.environment_id = format!("env-{}", i % n_envs);
        f.connectors[0].connection_name = Some(format!("conn-{i}"));
        s.flows.push(f);
    }
    for i in 0..11_000 {
        let mut a = template_app.clone();
        a.id = format!("app-{i}");
        a.environment_id = format!("env-{}", i % n_envs);
        s.apps.push(a);
    }
    for i in 0..100_000 {
        s.connections.push(connection(
            &format!("conn-{i}"),
            &format!("env-{}", i % n_envs),
            "shared_sharepointonline",
        ));
    }
    // How long it takes is `ppgov bench scan`'s business, not a test's.
    let r = scan(&s, &PostureConfig::default(), &ScanOptions::default());
    assert!(r.findings.is_empty(), "{:?}", r.findings.first());
}

#[test]
fn stored_suppressions_count_as_posture_ones() {
    let mut s = background();
    for id in ["a-1", "a-2", "a-3"] {
        let mut a = app(id, DEFAULT_ENV);
        a.bypass_consent = true;
        s.apps.push(a);
    }
    let day = |d| NaiveDate::from_ymd_opt(2026, 5, d).unwrap();
    let posture = PostureConfig {
        suppressions: vec![Suppression {
            rule_id: "PPG-APP-004".into(),
            resource: "a-1".into(),
            justification: "from ppgov.toml".into(),
            expires: None,
        }],
        ..PostureConfig::default()
    };
    let stored = [
        ("PPG-APP-004", "a-2", "from the console", day(31)),
        ("PPG-APP-004", "a-3", "lapsed", day(30)),
    ];
    let merged = ppgov_engine::with_stored_suppressions(&posture, stored);
    assert_eq!(merged.suppressions.len(), 3);
    assert_eq!(merged.suppressions[0], posture.suppressions[0]);
    assert_eq!(
        PostureConfig {
            suppressions: posture.suppressions.clone(),
            ..merged.clone()
        },
        posture,
        "nothing else changes"
    );
    let opts = ScanOptions {
        today: Some(day(31)),
        ..ScanOptions::default()
    };
    let r = scan(&s, &merged, &opts);
    let on = |id: &str| r.findings.iter().find(|f| f.resource.id == id).unwrap();
    assert_eq!(
        on("a-1").suppressed.as_ref().unwrap().justification,
        "from ppgov.toml"
    );
    let console = on("a-2").suppressed.as_ref().unwrap();
    assert_eq!(
        (console.justification.as_str(), console.expires),
        ("from the console", Some(day(31)))
    );
    assert!(on("a-3").suppressed.is_none());
    assert!(
        on("a-3")
            .message
            .contains("suppression expired on 2026-05-30")
    );
    let plain = scan(&s, &posture, &opts);
    assert_eq!(r.summary.suppressed, plain.summary.suppressed + 1);
    assert_eq!(r.summary.total, plain.summary.total - 1);
}
