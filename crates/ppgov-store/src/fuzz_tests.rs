//! Fuzzing the snapshot file reader on stable Rust: proptest hands [`crate::read_snapshot_file`]
//! mutated copies of a real snapshot file (lines dropped, duplicated, swapped, cut, bytes
//! changed, hostile records added). It may refuse any of them, with the line at fault, but never
//! panics. Case counts are bounded (`PROPTEST_CASES` overrides them). A crash found becomes a
//! case in `regressions` below.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use crate::{StoreError, read_snapshot_file, write_snapshot_file};
use ppgov_core::*;
use proptest::prelude::*;

fn seed_file() -> Vec<u8> {
    let mut collection = CollectionStatus::default();
    collection.record(
        CollectionScope::Environment("env'/#1 %41".into()),
        CollectionKind::Flows,
        CollectionState::Failed {
            http_status: Some(403),
            code: Some("Forbidden".into()),
            message: "denied".into(),
        },
    );
    let s = Snapshot {
        id: "snap-1".into(),
        tenant_id: "t".into(),
        environments: vec![Environment {
            id: "env'/#1 %41".into(),
            display_name: "Prod".into(),
            sku: "Production".into(),
            ..Default::default()
        }],
        flows: vec![Flow {
            id: "f1".into(),
            environment_id: "env'/#1 %41".into(),
            definition: Some(serde_json::json!({"actions": {"a": {"type": "Http"}}})),
            ..Default::default()
        }],
        collection,
        ..Default::default()
    };
    let d = tempfile::tempdir().unwrap();
    let p = d.path().join("s.jsonl");
    write_snapshot_file(&s, &p).unwrap();
    std::fs::read(p).unwrap()
}

fn read(bytes: &[u8]) {
    let d = tempfile::tempdir().unwrap();
    let p = d.path().join("in.jsonl");
    std::fs::write(&p, bytes).unwrap();
    match read_snapshot_file(&p) {
        Ok(_) => {}
        Err(StoreError::BadSnapshotFile { line, message, .. }) => {
            assert!(line >= 1 && !message.is_empty());
        }
        Err(StoreError::Io { .. }) => {}
        Err(other) => panic!("unexpected error kind: {other}"),
    }
}

fn record() -> impl Strategy<Value = String> {
    let kind = prop_oneof![
        Just("flow"),
        Just("environment"),
        Just("principal"),
        Just("collection"),
        Just("dlp_policy"),
        Just("tenant_settings"),
        Just("nonsense"),
    ];
    let data = prop_oneof![
        Just("null".to_string()),
        Just("{}".to_string()),
        Just("[]".to_string()),
        Just("{\"id\":1}".to_string()),
        Just("{\"id\":\"x\",\"last_modified_time\":\"+999999-01-01T00:00:00Z\"}".to_string()),
        Just(format!("{}{}", "[".repeat(500), "]".repeat(500))),
        "\"[a-z]{0,10}\"",
    ];
    (kind, data).prop_map(|(k, d)| format!("{{\"kind\":\"{k}\",\"data\":{d}}}"))
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
    fn mutated_snapshot_files_never_panic(
        line_ops in proptest::collection::vec((any::<usize>(), 0u8..4), 0..5),
        byte_ops in proptest::collection::vec((any::<usize>(), any::<u8>()), 0..4),
        extra in proptest::collection::vec(record(), 0..3),
    ) {
        let text = String::from_utf8(seed_file()).unwrap();
        let mut lines: Vec<String> = text.lines().map(str::to_owned).collect();
        for (i, op) in line_ops {
            let n = lines.len().max(1);
            let i = i % n;
            match op {
                0 if !lines.is_empty() => { lines.remove(i.min(lines.len() - 1)); }
                1 if !lines.is_empty() => { let l = lines[i.min(lines.len() - 1)].clone(); lines.push(l); }
                2 if lines.len() > 1 => { let (k, j) = (i % lines.len(), (i + 1) % lines.len()); lines.swap(k, j); }
                _ => if let Some(l) = lines.get_mut(i) { let cut = l.len() / 2; l.truncate(cut); },
            }
        }
        lines.extend(extra);
        let mut bytes = lines.join("\n").into_bytes();
        for (i, b) in byte_ops {
            if !bytes.is_empty() {
                let i = i % bytes.len();
                bytes[i] = b;
            }
        }
        read(&bytes);
    }
}

mod regressions {
    use super::*;

    #[test]
    fn seed_file_reads_back_and_odd_files_are_refused() {
        let good = seed_file();
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("ok.jsonl");
        std::fs::write(&p, &good).unwrap();
        let s = read_snapshot_file(&p).unwrap();
        assert_eq!(s.environments[0].id, "env'/#1 %41");
        for bad in [&b""[..], b"\n", b"{}", b"null", &[0xff, 0xfe][..]] {
            read(bad);
        }
    }
}
