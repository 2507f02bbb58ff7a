//! The snapshot store on PostgreSQL: the shared contract (`ppgov_store::contract_snapshots`),
//! tenants side by side, row-level security below the store, batches that die mid-way, and
//! concurrent batches.

use std::sync::{Arc, Barrier};

use ppgov_core::{Flow, ResourceKind, ResourceRef};
use ppgov_store::contract_snapshots::{
    SNAPSHOT_CHECKS, TENANT, flow,
    refresh_marks_made_through_records_are_pending_then_cleared_by_id, rows, sample_snapshot, t,
};
use ppgov_store::{
    EventStore, ShardState, SnapshotId, SnapshotKind, SnapshotStatus, Snapshots, StoreError,
    StoreKind,
};
use ppgov_store_pg::PgSnapshots;
use ppgov_store_pg::testing::TestDb;

fn begin(s: &mut PgSnapshots, tenant: &str, id: &str, day: u32) -> SnapshotId {
    let id = SnapshotId::from(id);
    s.begin_snapshot_with(&id, tenant, t(day), SnapshotKind::Full, None)
        .unwrap();
    id
}

fn flows_of(s: &PgSnapshots, id: &SnapshotId) -> Vec<Flow> {
    s.load_snapshot(id).unwrap().flows
}

#[test]
fn the_snapshot_contract() {
    // The same checks the SQLite store runs, each on a fresh database, through a connection
    // scoped to its tenant as the application role.
    for (name, check) in SNAPSHOT_CHECKS {
        let db = TestDb::new();
        let mut s = db.snapshots(TENANT);
        eprintln!("check {name}");
        check(&mut s);
    }
}

#[test]
fn refresh_marks_made_by_the_records_and_the_event_store_are_what_a_crawl_reads() {
    let db = TestDb::new();
    let mut s = db.snapshots(TENANT);
    let mut records = db.records(TENANT);
    refresh_marks_made_through_records_are_pending_then_cleared_by_id(&mut s, &mut records);
    // The event store's marks land in the same table; another tenant's marks are not seen.
    let r = |id: &str| ResourceRef {
        kind: ResourceKind::Flow,
        id: id.into(),
        name: String::new(),
        environment_id: None,
    };
    db.events(TENANT)
        .mark_for_refresh(&[r("from-audit")], "audit: Edit")
        .unwrap();
    db.events("other")
        .mark_for_refresh(&[r("not-mine")], "audit: Edit")
        .unwrap();
    let marks = s.pending_refresh_marks().unwrap();
    let ids: Vec<&str> = marks.iter().map(|m| m.id.as_str()).collect();
    assert_eq!(ids, ["f3", "from-audit"]);
    let mut other = db.snapshots("other");
    let theirs = other.pending_refresh_marks().unwrap();
    assert_eq!(theirs.len(), 1);
    // Clearing another tenant's mark by its id clears nothing.
    assert_eq!(s.clear_refresh_marks(&[theirs[0].mark_id]).unwrap(), 0);
    assert_eq!(other.pending_refresh_marks().unwrap().len(), 1);
    assert_eq!(other.clear_refresh_marks(&[theirs[0].mark_id]).unwrap(), 1);
}

#[test]
fn two_tenants_side_by_side_see_only_their_own_snapshots() {
    let db = TestDb::new();
    let mut a = db.snapshots("A");
    let mut b = db.snapshots("B");
    let shared = [flow("e", "f1", 1), flow("e", "f2", 2)];
    let a1 = begin(&mut a, "A", "a1", 1);
    a.put_resources(&a1, &rows(&shared)).unwrap();
    a.finish_snapshot(&a1, SnapshotStatus::Complete).unwrap();
    // B's snapshot is newer and holds the very same documents.
    let b1 = begin(&mut b, "B", "b1", 5);
    b.put_resources(&b1, &rows(&shared)).unwrap();
    b.finish_snapshot(&b1, SnapshotStatus::Complete).unwrap();
    let b2 = begin(&mut b, "B", "b2", 6);

    assert_eq!(a.latest_snapshot("A", false).unwrap().unwrap().id, a1);
    assert_eq!(a.latest_snapshot("B", false).unwrap(), None);
    assert_eq!(a.unfinished_snapshot("B").unwrap(), None);
    assert_eq!(b.latest_snapshot("B", true).unwrap().unwrap().id, b1);
    assert_eq!(b.unfinished_snapshot("B").unwrap().unwrap().id, b2);
    let listed = |s: &PgSnapshots| -> Vec<SnapshotId> {
        s.list_snapshots(None)
            .unwrap()
            .into_iter()
            .map(|i| i.id)
            .collect()
    };
    assert_eq!(listed(&a), std::slice::from_ref(&a1));
    assert_eq!(listed(&b), [b2.clone(), b1.clone()]);
    assert!(a.list_snapshots(Some("B")).unwrap().is_empty());

    // Another tenant's snapshot is not there for A, whatever A asks.
    assert_eq!(a.snapshot_info(&b1).unwrap(), None);
    assert!(matches!(
        a.load_snapshot(&b1),
        Err(StoreError::UnknownSnapshot(_))
    ));
    assert!(matches!(
        a.finish_snapshot(&b2, SnapshotStatus::Failed),
        Err(StoreError::UnknownSnapshot(_))
    ));
    assert!(matches!(
        a.delete_snapshot(&b1),
        Err(StoreError::UnknownSnapshot(_))
    ));
    assert!(matches!(
        a.put_resources(&b1, &rows(&[flow("e", "evil", 1)])),
        Err(StoreError::UnknownSnapshot(_))
    ));
    assert!(matches!(
        a.mark_shard(&b2, "k", ShardState::Done, None),
        Err(StoreError::UnknownSnapshot(_))
    ));
    assert!(matches!(
        a.begin_snapshot_with(
            &SnapshotId::from("a2"),
            "A",
            t(7),
            SnapshotKind::Incremental,
            Some(&b1)
        ),
        Err(StoreError::UnknownSnapshot(_))
    ));
    // Ids are global: B's id is taken for A too.
    assert!(matches!(
        a.begin_snapshot_with(&b1, "A", t(7), SnapshotKind::Full, None),
        Err(StoreError::SnapshotExists(_))
    ));
    let a2 = begin(&mut a, "A", "a2", 7);
    assert_eq!(
        a.copy_unchanged(&b1, &a2, StoreKind::Flow, &["f1".into()])
            .unwrap(),
        0
    );
    assert!(
        a.resource_versions(&b1, StoreKind::Flow)
            .unwrap()
            .is_empty()
    );
    assert!(
        a.resource_field(&b1, StoreKind::Flow, "id")
            .unwrap()
            .is_empty()
    );
    assert!(a.done_shards(&b2).unwrap().is_empty());
    assert_eq!(a.stamp_unset_times(&b1, StoreKind::Flow, t(9)).unwrap(), 0);
    // Beginning a snapshot of another tenant is refused before anything is sent.
    match a.begin_snapshot_with(&SnapshotId::from("x"), "B", t(8), SnapshotKind::Full, None) {
        Err(StoreError::PgRefused(why)) => assert!(why.contains("scoped to tenant `A`"), "{why}"),
        other => panic!("expected PgRefused, got {other:?}"),
    }
    assert!(matches!(
        a.begin_snapshot("B", SnapshotKind::Full, None),
        Err(StoreError::PgRefused(_))
    ));

    // The shared document is stored once per tenant; deleting A's snapshot keeps B's whole.
    let hashes: i64 = db
        .admin()
        .query_one("SELECT count(DISTINCT hash) FROM bodies", &[])
        .unwrap()
        .get(0);
    let bodies: i64 = db
        .admin()
        .query_one("SELECT count(*) FROM bodies", &[])
        .unwrap()
        .get(0);
    assert_eq!((hashes, bodies), (2, 4));
    a.delete_snapshot(&a1).unwrap();
    a.delete_snapshot(&a2).unwrap();
    assert_eq!(flows_of(&b, &b1), shared);
    let left: Vec<String> = db
        .admin()
        .query("SELECT DISTINCT tenant_id FROM bodies", &[])
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    assert_eq!(left, ["B"]);
    // And the other way round.
    let a3 = begin(&mut a, "A", "a3", 8);
    a.put_resources(&a3, &rows(&shared)).unwrap();
    b.delete_snapshot(&b1).unwrap();
    assert_eq!(flows_of(&a, &a3), shared);
}

#[test]
fn row_level_security_hides_and_guards_every_snapshot_table() {
    let db = TestDb::new();
    for tenant in ["A", "B"] {
        let mut s = db.snapshots(tenant);
        let id = begin(&mut s, tenant, &format!("{tenant}-1"), 1);
        s.put_resources(&id, &rows(&[flow("e", &format!("{tenant}-f"), 1)]))
            .unwrap();
        s.record_collection(&id, &sample_snapshot("x").collection.entries[0])
            .unwrap();
        s.mark_shard(&id, "env:e:flows", ShardState::Done, None)
            .unwrap();
    }
    let mut raw = db.raw_scoped("A");
    for table in [
        "snapshots",
        "resources",
        "bodies",
        "collection",
        "checkpoints",
    ] {
        let seen: Vec<String> = raw
            .query(&format!("SELECT DISTINCT tenant_id FROM {table}"), &[])
            .unwrap()
            .iter()
            .map(|r| r.get(0))
            .collect();
        assert_eq!(seen, ["A"], "{table}");
        let changed = raw
            .execute(
                &format!("UPDATE {table} SET tenant_id = tenant_id WHERE tenant_id = 'B'"),
                &[],
            )
            .unwrap();
        assert_eq!(changed, 0, "{table}");
        let deleted = raw
            .execute(&format!("DELETE FROM {table} WHERE tenant_id = 'B'"), &[])
            .unwrap();
        assert_eq!(deleted, 0, "{table}");
        let forced: (bool, bool) = {
            let r = raw
                .query_one(
                    "SELECT relrowsecurity, relforcerowsecurity FROM pg_class WHERE oid = $1::text::regclass",
                    &[&table],
                )
                .unwrap();
            (r.get(0), r.get(1))
        };
        assert_eq!(forced, (true, true), "{table}");
    }
    // Writing a row of another tenant is refused by the policy, in every table.
    let refused = |raw: &mut postgres::Client, sql: &str| {
        let err = raw.batch_execute(sql).unwrap_err();
        assert!(
            err.as_db_error()
                .is_some_and(|d| d.message().contains("row-level security")),
            "{sql}: {err:?}"
        );
    };
    refused(
        &mut raw,
        "INSERT INTO snapshots (id, tenant_id, started_at, status, kind) VALUES ('B-2', 'B', 'x', 'running', 'full')",
    );
    refused(
        &mut raw,
        "INSERT INTO bodies (tenant_id, hash, json) VALUES ('B', '\\x00', '{}')",
    );
    refused(
        &mut raw,
        "INSERT INTO resources (tenant_id, snapshot_id, kind, id, body) VALUES ('B', 'B-1', 'flow', 'x', '\\x00')",
    );
    refused(
        &mut raw,
        "INSERT INTO collection (tenant_id, snapshot_id, scope, kind, json) VALUES ('B', 'B-1', 's', 'k', '{}')",
    );
    refused(
        &mut raw,
        "INSERT INTO checkpoints (tenant_id, snapshot_id, shard, state, updated_at) VALUES ('B', 'B-1', 's', 'done', 'x')",
    );
    // A row of A's own naming B's snapshot is refused by the foreign key: it holds the tenant.
    let err = raw
        .batch_execute(
            "INSERT INTO checkpoints (tenant_id, snapshot_id, shard, state, updated_at) VALUES ('A', 'B-1', 's', 'done', 'x')",
        )
        .unwrap_err();
    assert_eq!(
        err.code(),
        Some(&postgres::error::SqlState::FOREIGN_KEY_VIOLATION)
    );
    // B's rows are all there.
    let b = db.snapshots("B");
    let s = b.load_snapshot(&SnapshotId::from("B-1")).unwrap();
    assert_eq!(s.flows.len(), 1);
    assert_eq!(s.collection.entries.len(), 1);
    assert_eq!(b.done_shards(&SnapshotId::from("B-1")).unwrap().len(), 1);
}

#[test]
fn a_batch_whose_thread_panics_leaves_nothing() {
    let db = TestDb::new();
    let mut s = db.snapshots(TENANT);
    let id = begin(&mut s, TENANT, "a", 1);
    drop(s);
    let (url, snap) = (db.url(), id.clone());
    let died = std::thread::spawn(move || {
        let mut s = PgSnapshots::connect(&url, TENANT).unwrap();
        let mut b = s.batch(&snap).unwrap();
        b.put_resources(&rows(&[flow("e", "f1", 1), flow("e", "f2", 1)]))
            .unwrap();
        b.mark_shard("env:e:flows", ShardState::Done, None).unwrap();
        panic!("the crawl died holding its batch");
    })
    .join();
    assert!(died.is_err());
    let mut s = db.snapshots(TENANT);
    assert!(flows_of(&s, &id).is_empty());
    assert!(s.done_shards(&id).unwrap().is_empty());
    let bodies: i64 = db
        .admin()
        .query_one("SELECT count(*) FROM bodies", &[])
        .unwrap()
        .get(0);
    assert_eq!(bodies, 0);
    // The connection went back to the pool clean: the next store on it writes and reads.
    s.put_resources(&id, &rows(&[flow("e", "f3", 1)])).unwrap();
    assert_eq!(flows_of(&s, &id), [flow("e", "f3", 1)]);
    // A batch that failed mid-way (a write to an unknown snapshot) is dropped whole too.
    {
        let mut b = s.batch(&id).unwrap();
        b.put_resources(&rows(&[flow("e", "f4", 1)])).unwrap();
        assert!(
            b.copy_unchanged(&id, StoreKind::Flow, &["f3".into()])
                .is_ok()
        );
    }
    let mut b = s.batch(&SnapshotId::from("ghost")).unwrap();
    assert!(matches!(
        b.put_resources(&rows(&[flow("e", "f5", 1)])),
        Err(StoreError::UnknownSnapshot(_))
    ));
    drop(b);
    assert_eq!(flows_of(&s, &id), [flow("e", "f3", 1)]);
}

#[test]
fn concurrent_batches_of_one_tenant_into_two_snapshots_both_land() {
    let db = TestDb::new();
    let mut s = db.snapshots(TENANT);
    let ids = [begin(&mut s, TENANT, "a", 1), begin(&mut s, TENANT, "b", 2)];
    let url = db.url();
    let start = Arc::new(Barrier::new(2));
    let both_written = Arc::new(Barrier::new(2));
    let handles: Vec<_> = ids
        .iter()
        .cloned()
        .map(|id| {
            let (url, start, both_written) =
                (url.clone(), Arc::clone(&start), Arc::clone(&both_written));
            std::thread::spawn(move || {
                let mut s = PgSnapshots::connect(&url, TENANT).unwrap();
                start.wait();
                let mut b = s.batch(&id).unwrap();
                // Rows of each snapshot's own first, both transactions open at once.
                let mut own = flow("e", "own", 1);
                own.display_name = id.0.clone();
                b.put_resources(&rows(&[own])).unwrap();
                b.mark_shard("env:e:flows", ShardState::Done, None).unwrap();
                both_written.wait();
                // Then the same documents in both (shared bodies): one batch may wait at a
                // document the other is storing until that one commits.
                for chunk in 0..5 {
                    let flows: Vec<Flow> = (0..20)
                        .map(|i| flow("e", &format!("f{chunk}-{i:02}"), 1))
                        .collect();
                    b.put_resources(&rows(&flows)).unwrap();
                }
                b.commit().unwrap();
            })
        })
        .collect();
    for h in handles {
        h.join().unwrap();
    }
    for id in &ids {
        let flows = flows_of(&s, id);
        assert_eq!(flows.len(), 101, "{id}");
        assert_eq!(flows[100].id, "own");
        assert_eq!(flows[100].display_name, id.0);
        assert_eq!(s.done_shards(id).unwrap().len(), 1);
    }
    let bodies: i64 = db
        .admin()
        .query_one("SELECT count(*) FROM bodies", &[])
        .unwrap()
        .get(0);
    assert_eq!(bodies, 102);
    s.delete_snapshot(&ids[0]).unwrap();
    assert_eq!(flows_of(&s, &ids[1]).len(), 101);
}

#[test]
fn the_store_is_send_names_its_tenant_and_refuses_a_role_that_bypasses_rls() {
    fn send<T: Send>(_: &T) {}
    let db = TestDb::new();
    let s = db.snapshots("A");
    send(&s);
    assert_eq!(s.tenant(), "A");
    assert!(!s.is_closed());
    match PgSnapshots::connect(&db.admin_url(), "A") {
        Err(StoreError::PgRefused(why)) => assert!(why.contains("bypasses row-level security")),
        other => panic!("expected PgRefused, got {other:?}"),
    }
    assert!(matches!(
        PgSnapshots::connect(&db.url(), ""),
        Err(StoreError::PgRefused(_))
    ));
}

#[test]
fn a_call_from_inside_a_document_walk_is_refused_not_a_panic() {
    let db = TestDb::new();
    let mut s = db.snapshots(TENANT);
    let id = begin(&mut s, TENANT, "a", 1);
    s.put_resources(&id, &rows(&[flow("e", "f1", 1), flow("e", "f2", 1)]))
        .unwrap();
    let mut inner = Vec::new();
    s.each_document(&id, StoreKind::Flow, &mut |_, _| {
        inner.push(s.snapshot_info(&id).map(|_| ()));
        Ok(())
    })
    .unwrap();
    assert_eq!(inner.len(), 2);
    assert!(
        inner
            .iter()
            .all(|r| matches!(r, Err(StoreError::PgRefused(_))))
    );
    // The walk streams: a big kind is read whole and in order.
    let many: Vec<Flow> = (0..3000)
        .map(|i| flow("e", &format!("g{i:04}"), 1))
        .collect();
    s.put_resources(&id, &rows(&many)).unwrap();
    let loaded = flows_of(&s, &id);
    assert_eq!(loaded.len(), 3002);
    assert_eq!(loaded[2..], many[..]);
}
