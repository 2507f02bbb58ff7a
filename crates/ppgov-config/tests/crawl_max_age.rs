#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! `[crawl.max_age]`: defaults, file values, flags, and bad durations reported with positions.

use chrono::Duration;
use ppgov_config::{ConfigSources, Flags, Location, MaxAges, validate};
use std::collections::BTreeMap;

const HEAD: &str = "[tenant]\nid = \"72f988bf-86f1-41af-91ab-2d7cd011db47\"\n[auth]\nclient_id = \"11111111-2222-3333-4444-555555555555\"\nclient_secret = \"s\"\n";

fn sources(dir: &tempfile::TempDir, text: &str, flags: Flags) -> ConfigSources {
    let p = dir.path().join("ppgov.toml");
    std::fs::write(&p, format!("{HEAD}{text}")).unwrap();
    ConfigSources {
        file: Some(p),
        env: BTreeMap::from([("HOME".to_string(), "/home/u".to_string())]),
        flags,
    }
}

#[test]
fn defaults_file_and_flags() {
    let dir = tempfile::tempdir().unwrap();
    let c = validate(&sources(&dir, "", Flags::default())).unwrap();
    assert_eq!(c.crawl.max_age, MaxAges::default());
    assert_eq!(c.crawl.max_age.definition, None);
    assert_eq!(c.crawl.max_age.runs, Some(Duration::hours(24)));

    let text = "[crawl.max_age]\nruns = \"2h\"\npermissions = \"0\"\ndefinition = \"7d\"\n";
    let c = validate(&sources(&dir, text, Flags::default())).unwrap();
    assert_eq!(c.crawl.max_age.runs, Some(Duration::hours(2)));
    assert_eq!(c.crawl.max_age.permissions, Some(Duration::zero()));
    assert_eq!(c.crawl.max_age.definition, Some(Duration::days(7)));
    assert_eq!(c.crawl.max_age.principal_state, Some(Duration::hours(24)));

    let flags = Flags::default().set("crawl.max_age.runs", "unlimited");
    let c = validate(&sources(&dir, text, flags)).unwrap();
    assert_eq!(c.crawl.max_age.runs, None);
}

#[test]
fn bad_durations_and_unknown_facets_are_located() {
    let dir = tempfile::tempdir().unwrap();
    let text = "[crawl.max_age]\nruns = \"24 hours\"\nowners = \"1h\"\n";
    let errs = validate(&sources(&dir, text, Flags::default())).unwrap_err();
    let all = errs.to_string();
    let runs = errs
        .0
        .iter()
        .find(|e| e.key == "crawl.max_age.runs")
        .unwrap_or_else(|| panic!("{all}"));
    assert!(
        matches!(runs.location, Location::File { line: 7, .. }),
        "{all}"
    );
    assert!(
        errs.0.iter().any(|e| e.key == "crawl.max_age.owners"),
        "{all}"
    );
}
