//! Fuzzing the configuration loader on stable Rust: proptest hands [`crate::validate`] mutated
//! copies of `ppgov.example.toml` and documents assembled from known keys with hostile values.
//! The loader may refuse anything, but never panics, and every refusal says where and what.
//! Case counts are bounded (`PROPTEST_CASES` overrides them). A crash found becomes a case in
//! `regressions` below.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use crate::{ConfigSources, Flags, validate};
use proptest::prelude::*;
use std::collections::BTreeMap;
use std::io::Write;

fn example() -> Vec<u8> {
    std::fs::read(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../ppgov.example.toml"
    ))
    .unwrap()
}

/// Loads `bytes` as the configuration file (with a fixed, small environment).
fn load(bytes: &[u8]) {
    let mut f = tempfile::NamedTempFile::new().unwrap();
    f.write_all(bytes).unwrap();
    let sources = ConfigSources {
        file: Some(f.path().to_path_buf()),
        env: BTreeMap::from([("HOME".to_string(), "/home/fuzz".to_string())]),
        flags: Flags::default(),
    };
    if let Err(errs) = validate(&sources) {
        assert!(!errs.0.is_empty());
        for e in &errs.0 {
            assert!(!e.to_string().trim().is_empty(), "an error says something");
        }
    }
}

fn value() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("\"\"".to_string()),
        Just("\"http://evil.example\"".to_string()),
        Just("\"https://user:pw@x.example/\"".to_string()),
        Just("\"dod\"".to_string()),
        Just("9223372036854775807".to_string()),
        Just("-1".to_string()),
        Just("1e400".to_string()),
        Just("[]".to_string()),
        Just("[1, \"a\", {}]".to_string()),
        Just("{ a = 1 }".to_string()),
        Just("2026-02-30".to_string()),
        Just("\"2026-13-01\"".to_string()),
        Just("\"\\u0000\"".to_string()),
        Just("\"../../../etc/passwd\"".to_string()),
        Just("\"a, ,b..c,.\"".to_string()),
        "\"[^\"\\\\]{0,30}\"",
    ]
}

fn key() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("[tenant]\nid".to_string()),
        Just("[auth]\nmethod".to_string()),
        Just("[auth]\nclient_id".to_string()),
        Just("[auth]\ntoken_cache".to_string()),
        Just("[endpoints]\ncloud".to_string()),
        Just("[endpoints]\nbap".to_string()),
        Just("[endpoints]\ndataverse_domains".to_string()),
        Just("[store]\npath".to_string()),
        Just("[posture.thresholds]\nflow_inactive_days".to_string()),
        Just("[posture]\nallowed_http_hosts".to_string()),
        Just("[[posture.suppressions]]\nexpires".to_string()),
        Just("[[posture.suppressions]]\nrule_id".to_string()),
        "\\[[a-z.]{1,12}\\]\n[a-z_]{1,10}",
    ]
}

fn config() -> ProptestConfig {
    ProptestConfig::with_cases(
        std::env::var("PROPTEST_CASES")
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(96),
    )
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn mutated_example_never_panics(
        edits in proptest::collection::vec((any::<usize>(), any::<u8>(), 0u8..3), 1..8),
    ) {
        let mut b = example();
        for (i, byte, op) in edits {
            let n = b.len().max(1);
            match op {
                0 if !b.is_empty() => { let i = i % b.len(); b[i] = byte; }
                1 => b.truncate(i % n),
                _ => { let i = (i % n).min(b.len()); b.insert(i, byte); }
            }
        }
        load(&b);
    }

    #[test]
    fn hostile_values_never_panic(pairs in proptest::collection::vec((key(), value()), 1..8)) {
        let doc: String = pairs.iter().map(|(k, v)| format!("{k} = {v}\n")).collect();
        load(doc.as_bytes());
    }
}

mod regressions {
    use super::*;

    #[test]
    fn example_cut_at_every_line_never_panics() {
        let b = example();
        for (i, _) in b.iter().enumerate().filter(|(_, c)| **c == b'\n') {
            load(&b[..i]);
        }
        load(&[0xff, 0xfe, 0x00]);
        load(b"[tenant]\nid = \"t\"\n[tenant]\nid = \"u\"\n");
    }
}
