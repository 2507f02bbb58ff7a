//! Fuzzing the wire decoders on stable Rust: proptest feeds every decoder mutated copies of the
//! golden fixtures (`fixtures/api/`: byte flips, cuts, splices, hostile scalars, deep nesting)
//! and arbitrary JSON trees. A decoder may refuse any input; it must never panic. Case counts
//! are bounded (`PROPTEST_CASES` overrides them) so CI spends seconds here; this is not
//! coverage-guided fuzzing (cargo-fuzz needs a nightly toolchain). A crash found becomes a case
//! in `regressions` below.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use crate::{bap, common, dataverse, dlp, entra, flow, graph, management, powerapps, ppapi};
use proptest::prelude::*;
use serde::de::DeserializeOwned;
use serde_json::Value;
use std::path::{Path, PathBuf};

/// Runs the bytes through one decoder; only a panic fails.
fn try_decode<T: DeserializeOwned>(bytes: &[u8]) {
    let _ = serde_json::from_slice::<T>(bytes);
}

/// Every top-level wire type ppgov decodes.
const DECODERS: &[fn(&[u8])] = &[
    try_decode::<bap::Environment>,
    try_decode::<common::ListPage<bap::Environment>>,
    try_decode::<bap::TenantSettings>,
    try_decode::<bap::TenantIsolationPolicy>,
    try_decode::<bap::LifecycleOperation>,
    try_decode::<common::ListPage<bap::RoleAssignment>>,
    try_decode::<common::AnyError>,
    try_decode::<common::ErrorEnvelope>,
    try_decode::<common::ListPage<dataverse::SystemUser>>,
    try_decode::<common::ListPage<dataverse::Organization>>,
    try_decode::<common::ListPage<dataverse::Role>>,
    try_decode::<dlp::PolicyV2>,
    try_decode::<common::ListPage<dlp::PolicyV1>>,
    try_decode::<dlp::ApiPolicy>,
    try_decode::<entra::TokenResponse>,
    try_decode::<entra::DeviceCodeResponse>,
    try_decode::<entra::TokenError>,
    try_decode::<flow::Flow>,
    try_decode::<common::ListPage<flow::Flow>>,
    try_decode::<common::ListPage<flow::FlowRun>>,
    try_decode::<common::ListPage<flow::FlowPermission>>,
    try_decode::<graph::User>,
    try_decode::<graph::BatchResponse>,
    try_decode::<graph::DirectoryObject>,
    try_decode::<management::AuditRecord>,
    try_decode::<Vec<management::AuditRecord>>,
    try_decode::<Vec<management::ContentBlob>>,
    try_decode::<management::Subscription>,
    try_decode::<common::ListPage<powerapps::App>>,
    try_decode::<common::ListPage<powerapps::AppPermission>>,
    try_decode::<common::ListPage<powerapps::Connection>>,
    try_decode::<powerapps::Connector>,
    try_decode::<ppapi::QueryResult>,
    try_decode::<ppapi::ApplyAdminRoleResponse>,
];

fn fixtures_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/api")
}

fn fixtures() -> Vec<Vec<u8>> {
    fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
        for e in std::fs::read_dir(dir).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                walk(&p, out);
            } else if p.extension().is_some_and(|x| x == "json") {
                out.push(p);
            }
        }
    }
    let mut paths = Vec::new();
    walk(&fixtures_dir(), &mut paths);
    paths.sort();
    assert!(paths.len() > 20, "golden fixtures found: {}", paths.len());
    paths.iter().map(|p| std::fs::read(p).unwrap()).collect()
}

/// One edit of a byte string.
#[derive(Debug, Clone)]
enum Mutation {
    Flip(usize, u8),
    Cut(usize),
    Insert(usize, Vec<u8>),
    Splice(usize, usize, usize),
}

/// Tokens that stress tolerant decoders: numbers past every integer type, odd timestamps,
/// nulls where objects go, invalid UTF-8, deep nesting.
fn hostile_token() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        Just(b"1e999".to_vec()),
        Just(b"-99999999999999999999999".to_vec()),
        Just(b"18446744073709551616".to_vec()),
        Just(b"null".to_vec()),
        Just(b"\"9999-99-99T99:99:99Z\"".to_vec()),
        Just(b"\"+275760-09-13T00:00:00Z\"".to_vec()),
        Just(b"\"\\ud800\"".to_vec()),
        Just(vec![0xff, 0xfe, b'"']),
        Just(b"{}".to_vec()),
        Just(b"[]".to_vec()),
        Just(b"\"\"".to_vec()),
        (1usize..300).prop_map(|n| "[".repeat(n).into_bytes()),
        proptest::collection::vec(any::<u8>(), 1..8),
    ]
}

fn mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        (any::<usize>(), any::<u8>()).prop_map(|(i, b)| Mutation::Flip(i, b)),
        any::<usize>().prop_map(Mutation::Cut),
        (any::<usize>(), hostile_token()).prop_map(|(i, t)| Mutation::Insert(i, t)),
        (any::<usize>(), any::<usize>(), any::<usize>())
            .prop_map(|(a, b, c)| Mutation::Splice(a, b, c)),
    ]
}

fn apply(mut bytes: Vec<u8>, muts: &[Mutation]) -> Vec<u8> {
    for m in muts {
        let n = bytes.len().max(1);
        match m {
            Mutation::Flip(i, b) => {
                if !bytes.is_empty() {
                    let i = i % bytes.len();
                    bytes[i] = *b;
                }
            }
            Mutation::Cut(i) => bytes.truncate(i % n),
            Mutation::Insert(i, t) => {
                let i = i % n;
                let i = i.min(bytes.len());
                bytes.splice(i..i, t.iter().copied());
            }
            Mutation::Splice(a, b, c) => {
                // Copy a slice of the document over another place (duplicated keys, objects
                // where strings were, ...).
                let (a, b) = (a % n, b % n);
                let (lo, hi) = (a.min(b), a.max(b).min(bytes.len()));
                let piece = bytes.get(lo..hi).unwrap_or_default().to_vec();
                let at = (c % n).min(bytes.len());
                bytes.splice(at..at, piece);
            }
        }
    }
    bytes
}

/// Arbitrary JSON trees with the keys the wire types read, so decoders go past the first field.
fn json_value() -> impl Strategy<Value = Value> {
    let key = prop_oneof![
        Just("value".to_string()),
        Just("name".to_string()),
        Just("id".to_string()),
        Just("properties".to_string()),
        Just("createdTime".to_string()),
        Just("lastModifiedTime".to_string()),
        Just("environments".to_string()),
        Just("nextLink".to_string()),
        Just("@odata.nextLink".to_string()),
        Just("responses".to_string()),
        Just("status".to_string()),
        Just("error".to_string()),
        Just("CreationTime".to_string()),
        Just("RecordType".to_string()),
        "[a-zA-Z@.]{1,12}",
    ];
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<f64>().prop_map(Value::from),
        ".{0,20}".prop_map(Value::String),
        Just(Value::String("2026-13-45T25:61:61Z".into())),
    ];
    leaf.prop_recursive(6, 64, 8, move |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            proptest::collection::vec((key.clone(), inner), 0..6)
                .prop_map(|kv| Value::Object(kv.into_iter().collect())),
        ]
    })
}

fn config() -> ProptestConfig {
    // Bounded for CI; `PROPTEST_CASES=100000` runs longer locally.
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
    fn mutated_fixtures_never_panic_a_decoder(
        pick in any::<usize>(),
        muts in proptest::collection::vec(mutation(), 1..6),
    ) {
        thread_local!(static FIXTURES: Vec<Vec<u8>> = fixtures());
        let input = FIXTURES.with(|f| apply(f[pick % f.len()].clone(), &muts));
        for d in DECODERS {
            d(&input);
        }
    }

    #[test]
    fn arbitrary_json_never_panics_a_decoder(v in json_value()) {
        let bytes = serde_json::to_vec(&v).unwrap();
        for d in DECODERS {
            d(&bytes);
        }
    }
}

/// Inputs a fuzzer once found or that guard a known limit; each must be refused or read, never
/// panic.
mod regressions {
    use super::*;

    #[test]
    fn nesting_deeper_than_serde_json_allows_is_refused_not_a_stack_overflow() {
        // serde_json limits recursion to 128 levels (the `unbounded_depth` feature is off in
        // this workspace), for every type read with `from_slice` / `from_reader` / a
        // `Deserializer`, which is how the client decodes.
        let deep = format!("{}{}", "[".repeat(100_000), "]".repeat(100_000));
        let err = serde_json::from_str::<Value>(&deep).unwrap_err();
        assert!(err.to_string().contains("recursion limit"), "{err}");
        let obj = format!(
            "{{\"value\":{}{}}}",
            "{\"properties\":".repeat(50_000),
            "}".repeat(50_000)
        );
        for d in DECODERS {
            d(obj.as_bytes());
            d(deep.as_bytes());
        }
        let ok = format!("{}{}", "[".repeat(100), "]".repeat(100));
        assert!(serde_json::from_str::<Value>(&ok).is_ok());
    }

    #[test]
    fn fixtures_cut_at_every_byte_never_panic() {
        for f in fixtures().iter().take(12) {
            for i in 0..f.len().min(400) {
                for d in DECODERS {
                    d(&f[..i]);
                }
            }
        }
    }
}
