#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! Integration tests of the store: migrations, upserts, round trips, resume, crash safety.

use chrono::{TimeZone, Utc};
use ppgov_core::*;
use ppgov_store::*;
use std::collections::BTreeMap;

fn t(day: u32) -> chrono::DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 3, day, 10, 0, 0).unwrap()
}

fn flow(env: &str, id: &str, day: u32) -> Flow {
    Flow {
        id: id.to_string(),
        environment_id: env.to_string(),
        display_name: format!("Flow {id} \"quoted\" <b>"),
        state: "Started".into(),
        last_modified_time: Some(t(day)),
        connectors: vec![ConnectorRef {
            key: "shared_http".into(),
            api_id: "/providers/x/apis/shared_http".into(),
            ..Default::default()
        }],
        definition: Some(serde_json::json!({"triggers": {"manual": {"type": "Request"}}})),
        ..Default::default()
    }
}

/// A small snapshot with every part filled and every list sorted by id, as `load_snapshot` returns.
fn sample_snapshot() -> Snapshot {
    let mut principals = BTreeMap::new();
    principals.insert(
        "u1".to_string(),
        Principal {
            id: "u1".into(),
            kind: PrincipalKind::User,
            status: PrincipalStatus::Deleted,
            guest: false,
            upn: Some("a@x.com".into()),
            mail: None,
            display_name: Some("Ä user".into()),
        },
    );
    let mut collection = CollectionStatus::default();
    collection.record(
        CollectionScope::Tenant,
        CollectionKind::Environments,
        CollectionState::Collected { count: 2 },
    );
    collection.record(
        CollectionScope::Environment("env-b".into()),
        CollectionKind::Flows,
        CollectionState::Failed {
            http_status: Some(403),
            code: Some("Forbidden".into()),
            message: "denied".into(),
        },
    );
    Snapshot {
        id: "snap-1".into(),
        tenant_id: "tenant-1".into(),
        taken_at: t(1),
        tenant_settings: Some(TenantSettings {
            disable_share_with_everyone: Some(false),
            raw: serde_json::json!({"a": 1}),
            ..Default::default()
        }),
        tenant_isolation: Some(TenantIsolation {
            configured: false,
            is_disabled: false,
            allowed_tenants: vec![],
        }),
        dlp_policies: vec![DlpPolicy {
            id: "p1".into(),
            display_name: "Base".into(),
            raw: serde_json::json!({}),
            ..Default::default()
        }],
        connector_metadata: ConnectorMetadata {
            collected: true,
            unblockable: vec!["shared_office365".into()],
            virtual_connectors: vec!["http".into()],
        },
        environments: vec![
            Environment {
                id: "env-a".into(),
                display_name: "A".into(),
                sku: "Default".into(),
                is_default: true,
                ..Default::default()
            },
            Environment {
                id: "env-b".into(),
                display_name: "B".into(),
                sku: "Production".into(),
                ..Default::default()
            },
        ],
        apps: vec![App {
            id: "app1".into(),
            environment_id: "env-a".into(),
            display_name: "App".into(),
            ..Default::default()
        }],
        flows: vec![flow("env-a", "f1", 2), flow("env-b", "f2", 3)],
        connections: vec![Connection {
            id: "c1".into(),
            environment_id: "env-a".into(),
            connector: "shared_sql".into(),
            ..Default::default()
        }],
        role_assignments: vec![RoleAssignment {
            environment_id: "env-b".into(),
            principal_id: "u1".into(),
            role: "SystemAdministrator".into(),
            ..Default::default()
        }],
        principals,
        collection,
        custom_connectors: vec![CustomConnector {
            environment_id: "env-a".into(),
            key: "shared_erp-5f0027f520b23e81c1-5f9888a90360086012".into(),
            display_name: "ERP".into(),
            host_url: Some("https://erp.contoso.com/api".into()),
        }],
        groups: vec![ppgov_core::GroupMembers::new(
            "G-APPROVED",
            ["u1".to_string(), "U2".to_string()],
            chrono::Utc::now(),
        )],
    }
}

#[test]
fn migrates_from_empty_and_reopens() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("nested/dir/ppgov.db");
    let store = Store::open(&path).unwrap();
    assert_eq!(
        store.schema_version().unwrap(),
        Store::latest_schema_version()
    );
    drop(store);
    let store = Store::open(&path).unwrap();
    assert_eq!(
        store.schema_version().unwrap(),
        Store::latest_schema_version()
    );
    let mem = Store::open_in_memory().unwrap();
    assert_eq!(
        mem.schema_version().unwrap(),
        Store::latest_schema_version()
    );
}

#[test]
fn refuses_a_newer_schema() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("ppgov.db");
    drop(Store::open(&path).unwrap());
    let conn = rusqlite::Connection::open(&path).unwrap();
    conn.pragma_update(None, "user_version", 99).unwrap();
    drop(conn);
    let err = Store::open(&path).unwrap_err();
    assert!(
        matches!(err, StoreError::NewerSchema { found: 99, .. }),
        "{err}"
    );
}

#[test]
fn upserts_never_duplicate() {
    let mut store = Store::open_in_memory().unwrap();
    let id = store
        .begin_snapshot("tenant-1", SnapshotKind::Full, None)
        .unwrap();
    store
        .put_flows(&id, &[flow("e", "f1", 1), flow("e", "f2", 1)])
        .unwrap();
    let mut changed = flow("e", "f1", 5);
    changed.display_name = "renamed".into();
    store
        .put_flows(&id, &[changed.clone(), flow("e", "f2", 1)])
        .unwrap();
    assert_eq!(store.count_resources(&id, StoreKind::Flow).unwrap(), 2);
    let loaded = store.load_snapshot(&id).unwrap();
    assert_eq!(loaded.flows[0], changed);
    assert_eq!(loaded.tenant_id, "tenant-1");
}

#[test]
fn snapshot_round_trips_through_the_store() {
    let mut store = Store::open_in_memory().unwrap();
    let s = sample_snapshot();
    let id = store.insert_snapshot(&s).unwrap();
    assert_eq!(store.load_snapshot(&id).unwrap(), s);
    let info = store.latest_snapshot("tenant-1", true).unwrap().unwrap();
    assert_eq!(info.status, SnapshotStatus::Complete);
    assert!(info.finished_at.is_some());
    assert!(matches!(
        store.insert_snapshot(&s),
        Err(StoreError::SnapshotExists(_))
    ));
    assert!(matches!(
        store.load_snapshot(&SnapshotId::from("nope")),
        Err(StoreError::UnknownSnapshot(_))
    ));
}

#[test]
fn export_import_round_trip() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("out/snap.jsonl");
    let mut a = Store::open(dir.path().join("a.db")).unwrap();
    let s = sample_snapshot();
    let id = a.insert_snapshot(&s).unwrap();
    a.export_snapshot(&id, &file).unwrap();
    assert_eq!(read_snapshot_file(&file).unwrap(), s);
    let mut b = Store::open(dir.path().join("b.db")).unwrap();
    assert_eq!(b.import_snapshot(&file).unwrap(), s);
    assert_eq!(b.load_snapshot(&id).unwrap(), s);
    // Snapshot -> file -> Snapshot without a store.
    let direct = dir.path().join("direct.jsonl");
    write_snapshot_file(&s, &direct).unwrap();
    assert_eq!(read_snapshot_file(&direct).unwrap(), s);
}

#[test]
fn bad_snapshot_file_names_line_and_field() {
    let dir = tempfile::tempdir().unwrap();
    let good = dir.path().join("good.jsonl");
    write_snapshot_file(&sample_snapshot(), &good).unwrap();
    let text = std::fs::read_to_string(&good).unwrap();
    let mut lines: Vec<String> = text.lines().map(str::to_string).collect();
    // Break the first flow record: its `state` must be a string.
    let i = lines
        .iter()
        .position(|l| l.starts_with(r#"{"kind":"flow""#))
        .unwrap();
    lines[i] = lines[i].replace(r#""state":"Started""#, r#""state":42"#);
    let bad = dir.path().join("bad.jsonl");
    std::fs::write(&bad, lines.join("\n")).unwrap();
    let err = read_snapshot_file(&bad).unwrap_err();
    match &err {
        StoreError::BadSnapshotFile { line, message, .. } => {
            assert_eq!(*line, i + 1);
            assert!(message.contains("flow `f1`"), "{message}");
            assert!(message.contains("invalid type"), "{message}");
        }
        other => panic!("unexpected {other}"),
    }
    assert!(err.to_string().contains(&format!("line {}", i + 1)));

    let not_json = dir.path().join("x.jsonl");
    std::fs::write(&not_json, "hello\n").unwrap();
    assert!(matches!(
        read_snapshot_file(&not_json),
        Err(StoreError::BadSnapshotFile { line: 1, .. })
    ));
    std::fs::write(&not_json, "").unwrap();
    assert!(matches!(
        read_snapshot_file(&not_json),
        Err(StoreError::BadSnapshotFile { line: 1, .. })
    ));
    let unknown = format!(
        "{}\n{{\"kind\":\"spaceship\",\"data\":{{}}}}\n",
        text.lines().next().unwrap()
    );
    std::fs::write(&not_json, unknown).unwrap();
    let err = read_snapshot_file(&not_json).unwrap_err().to_string();
    assert!(err.contains("line 2") && err.contains("spaceship"), "{err}");
    assert!(matches!(
        read_snapshot_file(dir.path().join("missing")),
        Err(StoreError::Io { .. })
    ));
}

#[test]
fn checkpoints_survive_reopen_and_resume() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("ppgov.db");
    let id = {
        let mut store = Store::open(&path).unwrap();
        let id = store
            .begin_snapshot("tenant-1", SnapshotKind::Full, None)
            .unwrap();
        store
            .mark_shard(&id, "env:a:flows", ShardState::Done, None)
            .unwrap();
        store
            .mark_shard(
                &id,
                "env:b:flows",
                ShardState::Pending,
                Some("https://next?page=2"),
            )
            .unwrap();
        store
            .mark_shard(&id, "env:c:apps", ShardState::Pending, None)
            .unwrap();
        id
    };
    let mut store = Store::open(&path).unwrap();
    let info = store.unfinished_snapshot("tenant-1").unwrap().unwrap();
    assert_eq!(info.id, id);
    assert_eq!(info.status, SnapshotStatus::Running);
    let pending = store.pending_shards(&id).unwrap();
    assert_eq!(
        pending.iter().map(|s| s.key.as_str()).collect::<Vec<_>>(),
        ["env:b:flows", "env:c:apps"]
    );
    assert_eq!(pending[0].cursor.as_deref(), Some("https://next?page=2"));
    store
        .mark_shard(&id, "env:b:flows", ShardState::Done, None)
        .unwrap();
    assert_eq!(store.done_shards(&id).unwrap().len(), 2);
    store
        .finish_snapshot(&id, SnapshotStatus::Complete)
        .unwrap();
    assert!(store.unfinished_snapshot("tenant-1").unwrap().is_none());
    assert_eq!(
        store.latest_snapshot("tenant-1", true).unwrap().unwrap().id,
        id
    );
}

#[test]
fn store_opens_after_a_crash_mid_batch() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("ppgov.db");
    let mut store = Store::open(&path).unwrap();
    let id = store
        .begin_snapshot("tenant-1", SnapshotKind::Full, None)
        .unwrap();
    store.put_flows(&id, &[flow("e", "committed", 1)]).unwrap();

    // A second connection writes a big batch without committing, with a tiny page cache so SQLite
    // spills uncommitted pages into the WAL; copying the files now is what a kill -9 leaves behind.
    let conn = rusqlite::Connection::open(&path).unwrap();
    conn.pragma_update(None, "cache_size", 2).unwrap();
    conn.execute_batch("BEGIN").unwrap();
    let big = "x".repeat(4000);
    for i in 0..2000 {
        let key = format!("uncommitted-{i}");
        conn.execute(
            "INSERT INTO bodies (hash, json) VALUES (?1, ?2)",
            rusqlite::params![key.as_bytes(), format!("{{\"junk\":\"{big}\"}}")],
        )
        .unwrap();
        conn.execute(
            "INSERT INTO resources (snapshot_id, kind, id, environment_id, last_modified, body) VALUES (?1, 'flow', ?2, 'e', NULL, ?3)",
            rusqlite::params![id.as_str(), key, key.as_bytes()],
        )
        .unwrap();
    }
    let crashed = dir.path().join("crashed.db");
    std::fs::copy(&path, &crashed).unwrap();
    let wal_len = std::fs::copy(
        dir.path().join("ppgov.db-wal"),
        dir.path().join("crashed.db-wal"),
    )
    .unwrap();
    assert!(
        wal_len > 0,
        "the WAL should hold the spilled, uncommitted batch"
    );
    drop(conn);
    drop(store);

    let mut store = Store::open(&crashed).unwrap();
    assert_eq!(store.count_resources(&id, StoreKind::Flow).unwrap(), 1);
    assert_eq!(
        store.unfinished_snapshot("tenant-1").unwrap().unwrap().id,
        id
    );
    let loaded = store.load_snapshot(&id).unwrap();
    assert_eq!(loaded.flows.len(), 1);
    store.put_flows(&id, &[flow("e", "after", 1)]).unwrap();
    store
        .finish_snapshot(&id, SnapshotStatus::Complete)
        .unwrap();
}

#[test]
fn incremental_crawl_carries_unchanged_resources() {
    let mut store = Store::open_in_memory().unwrap();
    let old = store
        .begin_snapshot("tenant-1", SnapshotKind::Full, None)
        .unwrap();
    store
        .put_flows(
            &old,
            &[flow("e", "f1", 1), flow("e", "f2", 2), flow("e", "f3", 3)],
        )
        .unwrap();
    store
        .finish_snapshot(&old, SnapshotStatus::Complete)
        .unwrap();
    let versions = store.resource_versions(&old, StoreKind::Flow).unwrap();
    assert_eq!(versions.get("f2"), Some(&Some(t(2))));

    let new = store
        .begin_snapshot("tenant-1", SnapshotKind::Incremental, Some(&old))
        .unwrap();
    assert_eq!(
        store.snapshot_info(&new).unwrap().unwrap().parent,
        Some(old.clone())
    );
    // f2 changed (re-read), f1 and f3 carried forward.
    store.put_flows(&new, &[flow("e", "f2", 9)]).unwrap();
    let copied = store
        .copy_unchanged(
            &old,
            &new,
            StoreKind::Flow,
            &["f1".into(), "f3".into(), "f2".into(), "gone".into()],
        )
        .unwrap();
    assert_eq!(copied, 2);
    let loaded = store.load_snapshot(&new).unwrap();
    let lm: Vec<_> = loaded
        .flows
        .iter()
        .map(|f| (f.id.as_str(), f.last_modified_time))
        .collect();
    assert_eq!(
        lm,
        [("f1", Some(t(1))), ("f2", Some(t(9))), ("f3", Some(t(3)))]
    );
}

#[test]
fn ten_thousand_rows_in_batches() {
    let mut store = Store::open_in_memory().unwrap();
    let id = store
        .begin_snapshot("tenant-1", SnapshotKind::Full, None)
        .unwrap();
    let flows: Vec<Flow> = (0..10_000)
        .map(|i| {
            flow(
                &format!("env-{}", i % 7),
                &format!("f{i:05}"),
                1 + (i % 20) as u32,
            )
        })
        .collect();
    for chunk in flows.chunks(1000) {
        store.put_flows(&id, chunk).unwrap();
    }
    store.put_flows(&id, &flows[..1000]).unwrap();
    assert_eq!(store.count_resources(&id, StoreKind::Flow).unwrap(), 10_000);
    let loaded = store.load_snapshot(&id).unwrap();
    assert_eq!(loaded.flows, flows);
}

#[test]
fn generic_put_and_collection_replace() {
    let mut store = Store::open_in_memory().unwrap();
    let id = store
        .begin_snapshot("tenant-1", SnapshotKind::Full, None)
        .unwrap();
    let app = App {
        id: "a1".into(),
        environment_id: "e".into(),
        ..Default::default()
    };
    store
        .put(&id, StoreKind::App, Some("e"), "a1", None, &app)
        .unwrap();
    let scope = CollectionScope::Environment("e".into());
    let failed = CollectionEntry {
        scope: scope.clone(),
        kind: CollectionKind::Apps,
        state: CollectionState::Failed {
            http_status: Some(429),
            code: None,
            message: "throttled".into(),
        },
    };
    let ok = CollectionEntry {
        scope,
        kind: CollectionKind::Apps,
        state: CollectionState::Collected { count: 1 },
    };
    store.record_collection(&id, &failed).unwrap();
    store.record_collection(&id, &ok).unwrap();
    let s = store.load_snapshot(&id).unwrap();
    assert_eq!(s.apps, vec![app]);
    assert_eq!(s.collection.entries, vec![ok]);
}

#[test]
fn scans_history_finds_the_previous_scan() {
    let mut store = Store::open_in_memory().unwrap();
    let s = store.insert_snapshot(&sample_snapshot()).unwrap();
    let report = |n: usize| {
        let mut r = ScanReport {
            schema_version: ScanReport::SCHEMA_VERSION.into(),
            tenant_id: "tenant-1".into(),
            snapshot_id: s.to_string(),
            snapshot_time: t(1),
            summary: ScanSummary::default(),
            rules: vec![],
            findings: vec![],
            inventory: BTreeMap::from([("flow".to_string(), n)]),
            environment_names: BTreeMap::new(),
        };
        r.finalize();
        r
    };
    assert!(store.previous_scan("tenant-1", None).unwrap().is_none());
    let first = store.save_scan(&s, &report(1)).unwrap();
    let second = store.save_scan(&s, &report(2)).unwrap();
    assert!(second > first);
    assert_eq!(
        store.previous_scan("tenant-1", None).unwrap(),
        Some(report(2))
    );
    assert_eq!(
        store.previous_scan("tenant-1", Some(second)).unwrap(),
        Some(report(1))
    );
    assert_eq!(store.previous_scan("tenant-1", Some(first)).unwrap(), None);
    assert_eq!(store.previous_scan("other", None).unwrap(), None);
    assert_eq!(store.list_scans("tenant-1").unwrap().len(), 2);
}

#[test]
fn clear_errors_for_bad_inputs() {
    let dir = tempfile::tempdir().unwrap();
    let junk = dir.path().join("junk.db");
    std::fs::write(
        &junk,
        b"this is not a sqlite database, not even close; just some bytes to fill a header page",
    )
    .unwrap();
    let err = Store::open(&junk).unwrap_err();
    assert!(matches!(err, StoreError::Open { .. }), "{err}");
    assert!(err.to_string().contains("junk.db"));

    let mut store = Store::open_in_memory().unwrap();
    let ghost = SnapshotId::from("never-begun");
    assert!(matches!(
        store.put_flows(&ghost, &[flow("e", "f", 1)]),
        Err(StoreError::UnknownSnapshot(_))
    ));
    assert!(matches!(
        store.mark_shard(&ghost, "k", ShardState::Pending, None),
        Err(StoreError::UnknownSnapshot(_))
    ));
    assert!(matches!(
        store.finish_snapshot(&ghost, SnapshotStatus::Complete),
        Err(StoreError::UnknownSnapshot(_))
    ));
}

#[test]
fn a_write_batch_lands_whole_or_not_at_all() {
    let mut store = Store::open_in_memory().unwrap();
    let id = store
        .begin_snapshot("tenant-1", SnapshotKind::Full, None)
        .unwrap();
    let rows: Vec<ResourceRow> = [flow("e", "f1", 1), flow("e", "f2", 2)]
        .iter()
        .map(|f| ResourceRow::of(f).unwrap())
        .collect();
    {
        let mut b = ppgov_store::Snapshots::batch(&mut store, &id).unwrap();
        b.put_resources(&rows).unwrap();
        b.mark_shard("env:e:flows", ShardState::Done, None).unwrap();
        // Dropped without commit: a crash before the commit.
    }
    assert_eq!(store.count_resources(&id, StoreKind::Flow).unwrap(), 0);
    assert!(store.done_shards(&id).unwrap().is_empty());

    let mut b = ppgov_store::Snapshots::batch(&mut store, &id).unwrap();
    b.put_resources(&rows).unwrap();
    b.mark_shard("env:e:flows", ShardState::Done, None).unwrap();
    b.commit().unwrap();
    assert_eq!(store.count_resources(&id, StoreKind::Flow).unwrap(), 2);
    assert_eq!(store.done_shards(&id).unwrap().len(), 1);
}

mod journal {
    use ppgov_store::{JournalPhase, NewJournalEntry, Store};

    fn entry(step: u32, phase: JournalPhase) -> NewJournalEntry {
        NewJournalEntry {
            tenant_id: "t".into(),
            actor: "user:admin@contoso".into(),
            apply_id: "a1".into(),
            plan_id: "p1".into(),
            plan_digest: "d1".into(),
            step,
            action: "PPG-ACT-007".into(),
            target: format!("flow f{step}"),
            phase,
            request_id: Some(format!("r{step}")),
            before: Some(serde_json::json!({"state": "Started"})),
            after: Some(serde_json::json!({"state": "Stopped"})),
            result: "ok".into(),
        }
    }

    /// A store file with five chained entries, and its path.
    fn journaled() -> (tempfile::TempDir, std::path::PathBuf) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s.db");
        let mut s = Store::open(&path).unwrap();
        for i in 1..=5 {
            s.append_journal(&entry(i, JournalPhase::Done)).unwrap();
        }
        assert!(s.verify_journal().unwrap().breaks.is_empty());
        (dir, path)
    }

    fn tamper(path: &std::path::Path, sql: &str) -> Vec<String> {
        let c = rusqlite::Connection::open(path).unwrap();
        c.execute_batch(sql).unwrap();
        drop(c);
        let s = Store::open(path).unwrap();
        s.verify_journal()
            .unwrap()
            .breaks
            .into_iter()
            .map(|b| format!("{}: {}", b.seq, b.problem))
            .collect()
    }

    #[test]
    fn an_intact_journal_verifies_and_lists_in_order() {
        let (_d, path) = journaled();
        let s = Store::open(&path).unwrap();
        let r = s.verify_journal().unwrap();
        assert_eq!(r.entries, 5);
        let all = s.journal(None).unwrap();
        assert_eq!(
            all.iter().map(|e| e.seq).collect::<Vec<_>>(),
            [1, 2, 3, 4, 5]
        );
        assert_eq!(r.head, all[4].hash);
        assert_eq!(all[1].prev_hash, all[0].hash);
        assert_eq!(s.journal_for_plan("d1").unwrap().len(), 5);
        assert_eq!(s.journal(Some("other")).unwrap().len(), 0);
    }

    #[test]
    fn a_modified_entry_is_detected() {
        let (_d, path) = journaled();
        let b = tamper(
            &path,
            "UPDATE journal SET after = '{\"state\":\"Started\"}' WHERE seq = 3;",
        );
        assert_eq!(b.len(), 1, "{b:?}");
        assert!(b[0].starts_with("3: its content does not match"), "{b:?}");
    }

    #[test]
    fn a_deleted_entry_is_detected() {
        let (_d, path) = journaled();
        let b = tamper(&path, "DELETE FROM journal WHERE seq = 2;");
        assert!(
            b.iter()
                .any(|x| x.starts_with("3: entry 3 found where entry 2")),
            "{b:?}"
        );
        assert!(b.iter().any(|x| x.starts_with("3: does not link")), "{b:?}");
    }

    #[test]
    fn a_deleted_last_entry_is_detected_by_the_head() {
        let (_d, path) = journaled();
        let b = tamper(&path, "DELETE FROM journal WHERE seq = 5;");
        assert_eq!(b.len(), 1, "{b:?}");
        assert!(b[0].contains("head records entry 5"), "{b:?}");
    }

    #[test]
    fn an_inserted_entry_is_detected() {
        let (_d, path) = journaled();
        // A copy of entry 2 slipped in after it, renumbering the rest.
        let b = tamper(
            &path,
            "UPDATE journal SET seq = seq + 100 WHERE seq > 2;
             UPDATE journal SET seq = seq - 99 WHERE seq > 100;
             INSERT INTO journal (seq, at, tenant_id, actor, apply_id, plan_id, plan_digest, step, action, target, phase, request_id, before, after, result, prev_hash, hash)
               SELECT 3, at, tenant_id, actor, apply_id, plan_id, plan_digest, step, action, target, phase, request_id, before, after, result, prev_hash, hash FROM journal WHERE seq = 2;",
        );
        assert!(!b.is_empty());
        assert!(b.iter().any(|x| x.starts_with("3: ")), "{b:?}");
    }

    #[test]
    fn reordered_entries_are_detected() {
        let (_d, path) = journaled();
        let b = tamper(
            &path,
            "UPDATE journal SET seq = 100 WHERE seq = 2;
             UPDATE journal SET seq = 2 WHERE seq = 3;
             UPDATE journal SET seq = 3 WHERE seq = 100;",
        );
        assert!(b.iter().any(|x| x.starts_with("2: ")), "{b:?}");
        assert!(b.iter().any(|x| x.starts_with("3: ")), "{b:?}");
    }

    #[test]
    fn due_actions_come_due_and_are_finished_once() {
        let mut s = Store::open_in_memory().unwrap();
        let now = chrono::Utc::now();
        let later = now + chrono::Duration::hours(2);
        let id = s
            .add_due_action("t", later, "end of elevation", "{}")
            .unwrap();
        assert!(s.due_actions("t", Some(now)).unwrap().is_empty());
        let due = s.due_actions("t", Some(later)).unwrap();
        assert_eq!(due.len(), 1);
        assert_eq!(due[0].id, id);
        assert!(s.due_actions("other", Some(later)).unwrap().is_empty());
        s.finish_due_action(id, "apply-1").unwrap();
        assert!(s.due_actions("t", None).unwrap().is_empty());
    }
}
