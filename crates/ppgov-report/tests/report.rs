#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! Every renderer against one canonical findings fixture: insta snapshots plus structural checks.

use chrono::{NaiveDate, TimeZone, Utc};
use ppgov_core::*;
use ppgov_report::*;
use serde_json::json;
use std::collections::BTreeMap;

/// A finding with a default remediation; the arguments mirror the fields, in order.
#[allow(clippy::too_many_arguments)]
fn finding(
    rule: &str,
    sev: Severity,
    kind: ResourceKind,
    id: &str,
    name: &str,
    env: Option<&str>,
    message: &str,
    evidence: serde_json::Value,
) -> Finding {
    Finding {
        rule_id: rule.into(),
        severity: sev,
        resource: ResourceRef {
            kind,
            id: id.into(),
            name: name.into(),
            environment_id: env.map(String::from),
        },
        message: message.into(),
        evidence,
        remediation: Remediation {
            text: format!("Fix {rule}."),
            action_id: None,
        },
        frameworks: vec![],
        suppressed: None,
    }
}

fn rule(id: &str, title: &str, sev: Severity, status: RuleStatus, n: usize) -> RuleResult {
    RuleResult {
        rule_id: id.into(),
        title: title.into(),
        severity: sev,
        status,
        finding_count: n,
    }
}

/// The canonical fixture: every severity, several kinds and environments, evidence with special
/// characters, one suppressed finding, one rule in error, one passing, one not applicable.
fn fixture() -> ScanReport {
    let mut flow = finding(
        "PPG-FLW-001",
        Severity::High,
        ResourceKind::Flow,
        "f-0001",
        r#"<script>alert("pwned")</script> Invoice, "Q1" flow"#,
        Some("env-prod"),
        "Flow <script>alert(1)</script> sends data to an external HTTP host",
        json!({"hosts": ["evil.example.com", "ünïcødé, \"quoted\"\nsecond line"], "trigger": "Request", "note": "a,b;c|d"}),
    );
    flow.remediation = Remediation {
        text: "Block HTTP in the prod DLP policy, or allow-list the host.".into(),
        action_id: Some("PPG-ACT-004".into()),
    };
    flow.frameworks = vec![
        FrameworkRef {
            framework: "nist-800-53".into(),
            control: "SC-7".into(),
        },
        FrameworkRef {
            framework: "bait".into(),
            control: "4.3".into(),
        },
    ];
    let mut app = finding(
        "PPG-APP-003",
        Severity::Low,
        ResourceKind::App,
        "a-0001",
        "Holiday planner",
        Some("env-dev"),
        "App is shared with Everyone",
        json!({"sharedWithEveryone": true}),
    );
    app.suppressed = Some(Suppressed {
        justification: "Accepted by CISO, ticket SEC-12".into(),
        expires: NaiveDate::from_ymd_opt(2026, 12, 31),
    });
    let mut report = ScanReport {
        schema_version: ScanReport::SCHEMA_VERSION.into(),
        tenant_id: "11111111-2222-3333-4444-555555555555".into(),
        snapshot_id: "snap-20260301T100000Z".into(),
        snapshot_time: Utc.with_ymd_and_hms(2026, 3, 1, 10, 0, 0).unwrap(),
        summary: ScanSummary::default(),
        rules: vec![
            rule(
                "PPG-DEF-001",
                "Default environment has no security group",
                Severity::Critical,
                RuleStatus::Evaluated,
                1,
            ),
            rule(
                "PPG-FLW-001",
                "Flow calls an external HTTP host",
                Severity::High,
                RuleStatus::Evaluated,
                1,
            ),
            rule(
                "PPG-CON-002",
                "Connection in error state",
                Severity::Medium,
                RuleStatus::Evaluated,
                1,
            ),
            rule(
                "PPG-APP-003",
                "App shared with Everyone",
                Severity::Low,
                RuleStatus::Evaluated,
                1,
            ),
            rule(
                "PPG-TEN-006",
                "Guests may make apps",
                Severity::Info,
                RuleStatus::Evaluated,
                1,
            ),
            rule(
                "PPG-ADM-001",
                "Too many environment admins",
                Severity::High,
                RuleStatus::Evaluated,
                1,
            ),
            rule(
                "PPG-DLP-001",
                "Blocked connector in use",
                Severity::High,
                RuleStatus::Error {
                    message: "dlp policies not collected: http 403 (Forbidden)".into(),
                },
                0,
            ),
            rule(
                "PPG-RTE-001",
                "Default environment routing is off",
                Severity::Medium,
                RuleStatus::Evaluated,
                0,
            ),
            rule(
                "PPG-ENV-003",
                "Prod environment is not managed",
                Severity::Medium,
                RuleStatus::NotApplicable {
                    reason: "no prod environment configured".into(),
                },
                0,
            ),
        ],
        findings: vec![
            finding(
                "PPG-TEN-006",
                Severity::Info,
                ResourceKind::Tenant,
                "11111111-2222-3333-4444-555555555555",
                "Contoso",
                None,
                "Guests may make apps",
                json!({"enableGuestsToMake": true}),
            ),
            app,
            flow,
            finding(
                "PPG-CON-002",
                Severity::Medium,
                ResourceKind::Connection,
                "shared-sql-0001",
                "=HYPERLINK(\"http://x\",\"click\")",
                Some("env-dev"),
                "Connection | is in error: Unauthorized",
                json!({"statuses": ["Error"], "errors": ["Unauthorized"]}),
            ),
            finding(
                "PPG-DEF-001",
                Severity::Critical,
                ResourceKind::Environment,
                "Default-11111111-2222-3333-4444-555555555555",
                "Contoso (default)",
                Some("Default-11111111-2222-3333-4444-555555555555"),
                "The default environment has no security group",
                json!({"securityGroupId": null}),
            ),
            finding(
                "PPG-ADM-001",
                Severity::High,
                ResourceKind::RoleHolder,
                "env-prod/0000aaaa-0000-0000-0000-000000000001",
                "Zoë Müller",
                Some("env-prod"),
                "12 System Administrators in *Production*, limit is 5\u{1b}[31m",
                json!({"count": 12, "limit": 5}),
            ),
        ],
        inventory: BTreeMap::from([
            ("environment".into(), 3),
            ("flow".into(), 2),
            ("app".into(), 1),
            ("connection".into(), 1),
        ]),
        environment_names: BTreeMap::from([
            ("env-prod".into(), "Contoso <Production>".into()),
            ("env-dev".into(), "Dev".into()),
        ]),
    };
    report.finalize();
    report
}

#[test]
fn snapshot_table() {
    let out = table(&fixture());
    assert!(
        !out.contains('\u{1b}'),
        "control characters from data must not reach the terminal"
    );
    insta::assert_snapshot!("table", out);
}

#[test]
fn snapshot_json() {
    insta::assert_snapshot!("json", json(&fixture()).unwrap());
}

#[test]
fn snapshot_csv() {
    insta::assert_snapshot!("csv", String::from_utf8(csv(&fixture()).unwrap()).unwrap());
}

#[test]
fn snapshot_csv_excel() {
    insta::assert_snapshot!(
        "csv_excel",
        String::from_utf8(csv_excel(&fixture()).unwrap()).unwrap()
    );
}

#[test]
fn snapshot_markdown() {
    insta::assert_snapshot!("markdown", markdown(&fixture()));
}

#[test]
fn snapshot_html() {
    insta::assert_snapshot!("html", html(&fixture()));
}

#[test]
fn snapshot_ocsf() {
    insta::assert_snapshot!("ocsf", ocsf(&fixture()).unwrap());
}

#[test]
fn snapshot_sarif() {
    insta::assert_snapshot!("sarif", sarif(&fixture()).unwrap());
}

fn previous() -> ScanReport {
    let mut prev = fixture();
    prev.snapshot_id = "snap-20260201T100000Z".into();
    // The flow finding is new in the current scan; a stale connection finding was resolved.
    prev.findings.retain(|f| f.rule_id != "PPG-FLW-001");
    let mut gone = prev.findings[0].clone();
    gone.rule_id = "PPG-CON-001".into();
    gone.resource = ResourceRef {
        kind: ResourceKind::Connection,
        id: "old-conn".into(),
        name: "Old connection".into(),
        environment_id: Some("env-dev".into()),
    };
    prev.findings.push(gone);
    prev.finalize();
    prev
}

#[test]
fn snapshot_diff() {
    let d = diff(&previous(), &fixture());
    insta::assert_snapshot!("diff_table", diff_table(&d));
    insta::assert_snapshot!("diff_json", diff_json(&d).unwrap());
}

#[test]
fn diff_keys_by_rule_kind_and_id() {
    let d = diff(&previous(), &fixture());
    assert_eq!(
        d.new.iter().map(|f| f.rule_id.as_str()).collect::<Vec<_>>(),
        ["PPG-FLW-001"]
    );
    assert_eq!(
        d.resolved
            .iter()
            .map(|f| f.resource.id.as_str())
            .collect::<Vec<_>>(),
        ["old-conn"]
    );
    assert_eq!(d.unchanged.len(), 5);
    let same = diff(&fixture(), &fixture());
    assert!(same.new.is_empty() && same.resolved.is_empty());
}

#[test]
fn json_follows_the_contract() {
    let r = fixture();
    let v: serde_json::Value = serde_json::from_str(&json(&r).unwrap()).unwrap();
    assert_eq!(v["schema_version"], JSON_SCHEMA_VERSION);
    assert_eq!(v["tenant_id"], r.tenant_id);
    assert_eq!(v["snapshot"]["id"], r.snapshot_id);
    assert_eq!(v["snapshot"]["time"], "2026-03-01T10:00:00Z");
    assert_eq!(v["summary"]["total"], 5);
    assert_eq!(v["summary"]["suppressed"], 1);
    let findings = v["findings"].as_array().unwrap();
    assert_eq!(findings.len(), 6);
    for f in findings {
        for key in [
            "rule_id",
            "severity",
            "resource",
            "message",
            "evidence",
            "remediation",
            "frameworks",
            "suppressed",
        ] {
            assert!(f.get(key).is_some(), "finding lacks {key}: {f}");
        }
        for key in ["kind", "id", "name", "environment_id"] {
            assert!(f["resource"].get(key).is_some(), "resource lacks {key}");
        }
    }
    assert_eq!(findings[0]["severity"], "critical");
    let rules = v["rules"].as_array().unwrap();
    let dlp = rules
        .iter()
        .find(|r| r["rule_id"] == "PPG-DLP-001")
        .unwrap();
    assert_eq!(dlp["status"], "error");
    assert!(dlp["detail"].as_str().unwrap().contains("403"));
    assert_eq!(v["posture"].as_array().unwrap().len(), AREAS.len());
    assert_eq!(json_value(&r).unwrap(), v);
}

#[test]
fn csv_parses_back_to_the_same_cells() {
    let r = fixture();
    let bytes = csv(&r).unwrap();
    assert!(!bytes.starts_with(b"\xEF\xBB\xBF"));
    let mut rd = csv::Reader::from_reader(bytes.as_slice());
    let header: Vec<String> = rd.headers().unwrap().iter().map(String::from).collect();
    assert_eq!(header[0], "rule_id");
    let rows: Vec<csv::StringRecord> = rd.records().map(Result::unwrap).collect();
    assert_eq!(rows.len(), r.findings.len());
    for (row, f) in rows.iter().zip(&r.findings) {
        assert_eq!(&row[0], f.rule_id);
        assert_eq!(&row[1], f.severity.as_str());
        assert_eq!(&row[4], f.resource.name);
        assert_eq!(&row[6], f.message);
        let evidence: serde_json::Value = serde_json::from_str(&row[11]).unwrap();
        assert_eq!(evidence, f.evidence);
    }
    let flow = rows.iter().find(|r| &r[0] == "PPG-FLW-001").unwrap();
    assert!(flow[11].contains("ünïcødé"));
    assert_eq!(&flow[9], "nist-800-53:SC-7; bait:4.3");
}

#[test]
fn csv_excel_has_bom_and_defuses_formulas() {
    let bytes = csv_excel(&fixture()).unwrap();
    assert!(bytes.starts_with(b"\xEF\xBB\xBF"));
    let mut rd = csv::Reader::from_reader(&bytes[3..]);
    let rows: Vec<csv::StringRecord> = rd.records().map(Result::unwrap).collect();
    let con = rows.iter().find(|r| &r[0] == "PPG-CON-002").unwrap();
    assert_eq!(&con[4], "'=HYPERLINK(\"http://x\",\"click\")");
}

#[test]
fn html_escapes_everything_and_is_self_contained() {
    let page = html(&fixture());
    assert_eq!(
        page.matches("<script").count(),
        1,
        "only our own script element"
    );
    assert!(page.contains("&lt;script&gt;alert(&quot;pwned&quot;)&lt;/script&gt;"));
    assert!(!page.contains("alert(\"pwned\")"));
    for external in ["src=", "href=", "@import", "url(", "http://", "https://"] {
        let outside_data = page.replace("http://x", "");
        assert!(
            !outside_data.contains(external),
            "html must not reference {external}"
        );
    }
    assert!(page.contains("Content-Security-Policy"));
    // Every finding row carries the attributes the filters read, and each filter offers the values.
    assert_eq!(page.matches("<tr data-sev=").count(), 6);
    for v in ["env-prod", "env-dev", "PPG-FLW-001", "PPG-ADM-001"] {
        assert!(
            page.contains(&format!("<option value=\"{v}\">")),
            "missing filter option {v}"
        );
    }
    assert!(page.contains("data-supp=\"1\""));
    assert!(page.contains("<details><summary>"));
    assert_eq!(page, html(&fixture()), "deterministic");
}

#[test]
fn sarif_has_the_key_fields() {
    let v: serde_json::Value = serde_json::from_str(&sarif(&fixture()).unwrap()).unwrap();
    assert_eq!(v["version"], "2.1.0");
    let runs = v["runs"].as_array().unwrap();
    assert_eq!(runs.len(), 1);
    let driver = &runs[0]["tool"]["driver"];
    assert_eq!(driver["name"], "ppgov");
    let rules = driver["rules"].as_array().unwrap();
    assert!(
        rules
            .iter()
            .all(|r| r["id"].is_string() && r["shortDescription"]["text"].is_string())
    );
    let results = runs[0]["results"].as_array().unwrap();
    assert_eq!(results.len(), 6);
    for r in results {
        let idx = r["ruleIndex"].as_u64().unwrap() as usize;
        assert_eq!(rules[idx]["id"], r["ruleId"]);
        assert!(["error", "warning", "note"].contains(&r["level"].as_str().unwrap()));
        let loc = &r["locations"][0]["logicalLocations"][0];
        assert!(loc["fullyQualifiedName"].as_str().unwrap().contains('/'));
    }
    let flow = results
        .iter()
        .find(|r| r["ruleId"] == "PPG-FLW-001")
        .unwrap();
    assert_eq!(flow["level"], "error");
    assert_eq!(
        flow["locations"][0]["logicalLocations"][0]["fullyQualifiedName"],
        "flow/f-0001"
    );
    let con = results
        .iter()
        .find(|r| r["ruleId"] == "PPG-CON-002")
        .unwrap();
    assert_eq!(con["level"], "warning");
    let app = results
        .iter()
        .find(|r| r["ruleId"] == "PPG-APP-003")
        .unwrap();
    assert_eq!(app["level"], "note");
    assert_eq!(app["suppressions"][0]["kind"], "external");
}

#[test]
fn ocsf_records_are_detection_findings() {
    let out = ocsf(&fixture()).unwrap();
    let recs: Vec<serde_json::Value> = out
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(recs.len(), 6);
    let expected = BTreeMap::from([
        ("critical", 5),
        ("high", 4),
        ("medium", 3),
        ("low", 2),
        ("info", 1),
    ]);
    for (rec, f) in recs.iter().zip(&fixture().findings) {
        assert_eq!(rec["class_uid"], 2004);
        assert_eq!(rec["metadata"]["product"]["name"], "ppgov");
        assert!(rec["metadata"]["product"]["vendor_name"].is_string());
        assert_eq!(rec["severity_id"], expected[f.severity.as_str()]);
        assert_eq!(rec["time"], 1_772_359_200_000i64);
        assert_eq!(rec["resources"][0]["uid"], f.resource.id);
        assert_eq!(rec["resources"][0]["type"], f.resource.kind.as_str());
        assert_eq!(rec["unmapped"]["evidence"], f.evidence);
        assert!(rec["finding_info"]["uid"].is_string() && rec["finding_info"]["types"].is_array());
        assert_eq!(
            rec["status"],
            if f.suppressed.is_some() {
                "Suppressed"
            } else {
                "New"
            }
        );
    }
}

#[test]
fn posture_weights_severity_and_counts_errors_as_failing() {
    let scores = posture_scores(&fixture());
    let get = |a: &str| scores.iter().find(|s| s.area == a).unwrap().clone();
    assert_eq!(get("RTE").score, Some(100));
    assert_eq!(get("DEF").score, Some(0));
    let dlp = get("DLP");
    assert_eq!((dlp.score, dlp.errored), (Some(0), 1));
    // Suppressed findings do not fail their rule.
    assert_eq!(get("APP").score, Some(100));
    assert_eq!(get("TEN").score, Some(0));
    // No rule evaluated in the area: no score rather than a perfect one.
    assert_eq!(get("ENV").score, None);
}

fn items() -> Vec<EvidenceItem> {
    vec![
        EvidenceItem::new("findings.json", json(&fixture()).unwrap()),
        EvidenceItem::new("dlp/policies.json", b"[{\"id\":\"p1\"}]\n".to_vec()),
        EvidenceItem::new("inventory/flows.csv", csv(&fixture()).unwrap()),
    ]
}

#[test]
fn evidence_package_is_verifiable_and_deterministic() {
    use sha2::Digest;
    use std::io::Read;
    let bytes = evidence_package(&items()).unwrap();
    assert_eq!(bytes, evidence_package(&items()).unwrap());
    let mut zip = zip::ZipArchive::new(std::io::Cursor::new(bytes)).unwrap();
    let names: Vec<String> = zip.file_names().map(|n| n.unwrap().into_owned()).collect();
    let mut sorted = names.clone();
    sorted.sort();
    assert_eq!(
        sorted,
        [
            "MANIFEST.sha256",
            "dlp/policies.json",
            "findings.json",
            "inventory/flows.csv",
            "manifest.json"
        ]
    );
    let mut read = |name: &str| {
        let mut f = zip.by_name(name).unwrap();
        let mut v = Vec::new();
        f.read_to_end(&mut v).unwrap();
        v
    };
    let manifest: serde_json::Value = serde_json::from_slice(&read("manifest.json")).unwrap();
    let sums = String::from_utf8(read("MANIFEST.sha256")).unwrap();
    insta::assert_snapshot!("evidence_manifest_sha256", sums);
    for item in items() {
        let hex: String = sha2::Sha256::digest(&item.bytes)
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        let entry = manifest["files"]
            .as_array()
            .unwrap()
            .iter()
            .find(|e| e["name"] == item.name.as_str())
            .unwrap();
        assert_eq!(entry["sha256"], hex.as_str());
        assert_eq!(entry["size"], item.bytes.len());
        assert!(sums.contains(&format!("{hex}  {}\n", item.name)));
        assert_eq!(read(&item.name), item.bytes);
    }
    let mut dup = items();
    dup.push(EvidenceItem::new("findings.json", b"x".to_vec()));
    assert!(matches!(
        evidence_package(&dup),
        Err(ReportError::DuplicateEvidence(_))
    ));
    for bad in ["../etc/passwd", "/abs", "manifest.json", "a//b", ""] {
        assert!(
            matches!(
                evidence_package(&[EvidenceItem::new(bad, b"x".to_vec())]),
                Err(ReportError::BadEvidenceName(_))
            ),
            "{bad}"
        );
    }
}

#[test]
fn formats_parse_and_render() {
    for f in Format::ALL {
        assert_eq!(f.as_str().parse::<Format>().unwrap(), f);
        assert!(!render(f, &fixture()).unwrap().is_empty());
    }
    assert_eq!("markdown".parse::<Format>().unwrap(), Format::Markdown);
    assert!("pdf".parse::<Format>().is_err());
}

#[test]
fn empty_report_renders_everywhere() {
    let mut r = fixture();
    r.findings.clear();
    r.rules.clear();
    r.finalize();
    assert!(table(&r).contains("No findings."));
    assert!(markdown(&r).contains("No findings."));
    assert_eq!(ocsf(&r).unwrap(), "");
    let v: serde_json::Value = serde_json::from_str(&sarif(&r).unwrap()).unwrap();
    assert_eq!(v["runs"][0]["results"].as_array().unwrap().len(), 0);
    assert!(html(&r).contains("0 of 0 findings shown"));
}

#[test]
fn standard_evidence_builds_inventories() {
    let mut snap = Snapshot {
        id: "snap".into(),
        tenant_id: "t".into(),
        ..Default::default()
    };
    snap.flows.push(Flow {
        id: "f1".into(),
        environment_id: "env-prod".into(),
        display_name: "Payroll, \"v2\"\nexport".into(),
        state: "Started".into(),
        connectors: vec![
            ConnectorRef {
                key: "http".into(),
                ..Default::default()
            },
            ConnectorRef {
                key: "shared_sql".into(),
                ..Default::default()
            },
        ],
        runs: Some(RunStats {
            runs_30d: 1200,
            ..Default::default()
        }),
        ..Default::default()
    });
    snap.role_assignments.push(RoleAssignment {
        environment_id: "env-prod".into(),
        principal_id: "u1".into(),
        role: "SystemAdministrator".into(),
        source: RoleSource::Dataverse,
        ..Default::default()
    });
    snap.principals.insert(
        "u1".into(),
        Principal {
            id: "u1".into(),
            status: PrincipalStatus::Deleted,
            ..Default::default()
        },
    );
    snap.dlp_policies.push(DlpPolicy {
        id: "p1".into(),
        display_name: "Base".into(),
        ..Default::default()
    });
    let items = standard_evidence(&snap, &fixture()).unwrap();
    let names: Vec<&str> = items.iter().map(|i| i.name.as_str()).collect();
    assert!(
        names.contains(&"inventory/flows.csv")
            && names.contains(&"dlp/policies.json")
            && names.contains(&"findings/findings.json")
            && names.contains(&"collection-status.json")
    );
    let flows = &items
        .iter()
        .find(|i| i.name == "inventory/flows.csv")
        .unwrap()
        .bytes;
    let rows: Vec<csv::StringRecord> = csv::Reader::from_reader(flows.as_slice())
        .records()
        .map(Result::unwrap)
        .collect();
    assert_eq!(&rows[0][2], "Payroll, \"v2\"\nexport");
    assert_eq!(&rows[0][9], "http;shared_sql");
    assert_eq!(&rows[0][11], "1200");
    let roles = &items
        .iter()
        .find(|i| i.name == "admins/role_assignments.csv")
        .unwrap()
        .bytes;
    let rows: Vec<csv::StringRecord> = csv::Reader::from_reader(roles.as_slice())
        .records()
        .map(Result::unwrap)
        .collect();
    assert_eq!((&rows[0][7], &rows[0][8]), ("dataverse", "deleted"));
    let policies: serde_json::Value = serde_json::from_slice(
        &items
            .iter()
            .find(|i| i.name == "dlp/policies.json")
            .unwrap()
            .bytes,
    )
    .unwrap();
    assert_eq!(policies[0]["id"], "p1");
    assert!(evidence_package(&items).is_ok());
}

#[test]
fn json_output_parses_back() {
    let r = fixture();
    assert_eq!(parse_json(&json(&r).unwrap()).unwrap(), r);
    let mut later = r.clone();
    later.snapshot_time =
        Utc.with_ymd_and_hms(2026, 3, 1, 10, 0, 0).unwrap() + chrono::Duration::milliseconds(1234);
    assert_eq!(
        parse_json(&json(&later).unwrap()).unwrap().snapshot_time,
        later.snapshot_time
    );
    assert!(matches!(parse_json("{}"), Err(ReportError::ParseJson(_))));
    let v2 = json(&r).unwrap().replacen(
        "\"schema_version\": \"1.1\"",
        "\"schema_version\": \"2.0\"",
        1,
    );
    assert!(matches!(
        parse_json(&v2),
        Err(ReportError::UnsupportedSchema(_))
    ));
}

#[test]
fn inventory_views_render_as_text_json_and_csv() {
    let mut snap = Snapshot::default();
    snap.environments.push(Environment {
        id: "env-prod".into(),
        display_name: "Production".into(),
        sku: "Production".into(),
        ..Default::default()
    });
    snap.flows.push(Flow {
        id: "f2".into(),
        environment_id: "env-prod".into(),
        display_name: "B flow\u{1b}[2J".into(),
        ..Default::default()
    });
    snap.flows.push(Flow {
        id: "f1".into(),
        environment_id: "env-prod".into(),
        display_name: "A, \"flow\"".into(),
        ..Default::default()
    });
    snap.flows.push(Flow {
        id: "f3".into(),
        environment_id: "env-dev".into(),
        display_name: "Other".into(),
        ..Default::default()
    });
    let t = views::flows(&snap, Some("production"));
    assert_eq!(t.rows.len(), 2);
    assert_eq!(t.rows[0][2], "A, \"flow\"");
    assert_eq!(t.rows[0][1], "Production");
    let text = t.to_text();
    assert!(text.starts_with("ENVIRONMENT_ID"));
    assert!(!text.contains('\u{1b}'));
    let j = t.to_json();
    assert_eq!(j[1]["flow_id"], "f2");
    // Typed values (docs/inventory-json.md): runs not collected are null, no connectors is [].
    assert!(j[0]["runs_30d"].is_null() && j[0]["last_run"].is_null());
    assert_eq!(j[0]["connectors"], serde_json::json!([]));
    let doc = t.to_json_document("flows");
    assert_eq!(doc["schema_version"], views::INVENTORY_JSON_VERSION);
    assert_eq!(doc["view"], "flows");
    assert_eq!(doc["rows"], j);
    let envs = views::environments(&snap, None).to_json();
    assert_eq!(envs[0]["managed"], false);
    assert_eq!(envs[0]["dataverse_provisioning"], false);
    assert!(envs[0]["security_group"].is_null());
    let csv_bytes = t.to_csv().unwrap();
    let rows: Vec<csv::StringRecord> = csv::Reader::from_reader(csv_bytes.as_slice())
        .records()
        .map(Result::unwrap)
        .collect();
    assert_eq!(&rows[0][2], "A, \"flow\"");
    assert_eq!(views::flows(&snap, None).rows.len(), 3);
    assert_eq!(views::environments(&snap, None).rows.len(), 1);
}
