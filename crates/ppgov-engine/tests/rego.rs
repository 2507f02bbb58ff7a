//! Custom Rego policies: the shipped examples' tests pass, and their findings come out of a scan
//! as ordinary findings; contract breaks become error results.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use ppgov_config::PostureConfig;
use ppgov_core::{PrincipalKind, PrincipalStatus, RuleStatus};
use ppgov_engine::rego::{CustomPolicy, load_policies, run_policy_tests, run_policy_tests_sources};
use ppgov_engine::testkit::*;
use ppgov_engine::{ScanOptions, scan};
use std::path::PathBuf;

fn examples() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../policies/examples")
}

#[test]
fn shipped_example_tests_pass() {
    let summary = run_policy_tests(&examples()).unwrap();
    assert!(summary.failed == 0 && summary.passed >= 5, "{summary:#?}");
}

#[test]
fn failing_test_is_reported() {
    let sources = vec![
        ("p.rego".to_string(), "package ppgov.custom.p\nimport rego.v1\nx := 1\n".to_string()),
        ("p_test.rego".to_string(), "package ppgov.custom.p_test\nimport rego.v1\nimport data.ppgov.custom.p\ntest_ok if { p.x == 1 }\ntest_bad if { p.x == 2 }\n".to_string()),
    ];
    let s = run_policy_tests_sources(&sources).unwrap();
    assert_eq!((s.passed, s.failed), (1, 1));
    assert_eq!(
        s.results
            .iter()
            .map(|r| (r.name.as_str(), r.passed))
            .collect::<Vec<_>>(),
        vec![("test_bad", false), ("test_ok", true)]
    );
}

#[test]
fn example_policies_produce_findings_in_a_scan() {
    let mut s = base();
    let guest = "00000000-0000-0000-0000-0000000000e9";
    s.principals.insert(
        guest.into(),
        principal(guest, PrincipalKind::User, PrincipalStatus::Active, true),
    );
    let mut f = flow("f-guest", PROD_ENV);
    f.creator = Some(guest.to_uppercase());
    let mut a = app("a-wide", PROD_ENV);
    a.shared_users_count = Some(25);
    s.flows.extend([flow("f-ok", PROD_ENV), f]);
    s.apps.extend([app("a-ok", PROD_ENV), a]);
    let policies = load_policies(&examples()).unwrap();
    assert_eq!(policies.len(), 2);
    let report = scan(
        &s,
        &PostureConfig::default(),
        &ScanOptions {
            custom_policies: policies,
            rules: vec!["CUSTOM".into()],
            ..ScanOptions::default()
        },
    );
    let got: Vec<(&str, &str)> = report
        .findings
        .iter()
        .map(|f| (f.rule_id.as_str(), f.resource.id.as_str()))
        .collect();
    assert_eq!(
        got,
        vec![
            ("CUSTOM-GUEST-FLOW", "f-guest"),
            ("CUSTOM-APP-OVERSHARED", "a-wide")
        ]
    );
    assert!(
        report
            .rules
            .iter()
            .all(|r| r.status == RuleStatus::Evaluated)
    );
}

#[test]
fn contract_breaks_are_errors() {
    let s = base();
    let bad = vec![
        CustomPolicy {
            path: "broken.rego".into(),
            source: "package ppgov.custom.broken\nthis is not rego".into(),
        },
        CustomPolicy {
            path: "nometa.rego".into(),
            source:
                "package ppgov.custom.nometa\nimport rego.v1\nfindings contains 1 if { true }\n"
                    .into(),
        },
    ];
    let report = scan(
        &s,
        &PostureConfig::default(),
        &ScanOptions {
            custom_policies: bad,
            rules: vec!["custom".into(), "broken".into(), "nometa".into()],
            ..ScanOptions::default()
        },
    );
    assert_eq!(report.rules.len(), 2, "{:?}", report.rules);
    assert!(
        report
            .rules
            .iter()
            .all(|r| matches!(r.status, RuleStatus::Error { .. })),
        "{:?}",
        report.rules
    );
}
