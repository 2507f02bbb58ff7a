//! The audit event store on PostgreSQL: the contract both backends run, then what only a
//! shared database has: tampering by its owner, tenants side by side in one set of tables and
//! partitions, prunes of one tenant among others, concurrent appends.

use std::sync::{Arc, Barrier};

use ppgov_store::contract_events::{EVENT_CHECKS, FEB, FEB_START, JAN, MAR, ev};
use ppgov_store::{AlertRow, EventFilter, EventRow, EventStore, StoreError, VerifyProblem};
use ppgov_store_pg::PgEventStore;
use ppgov_store_pg::testing::{APP_ROLE, TestDb};

fn ids(s: &dyn EventStore) -> Vec<String> {
    s.search(&EventFilter::default())
        .unwrap()
        .into_iter()
        .map(|e| e.id)
        .collect()
}

fn problems(s: &dyn EventStore) -> Vec<VerifyProblem> {
    s.verify().unwrap().problems
}

fn alert(key: &str, events: &[&str]) -> AlertRow {
    AlertRow {
        key: key.into(),
        detection_id: "PPG-DET-001".into(),
        severity: "high".into(),
        actor: "alice@contoso.com".into(),
        environment_id: None,
        first_seen: JAN,
        last_seen: JAN + 10,
        event_ids: events.iter().map(|e| e.to_string()).collect(),
        reason: "test".into(),
    }
}

fn partition_exists(db: &TestDb, month: &str) -> bool {
    let name: Option<String> = db
        .admin()
        .query_one("SELECT to_regclass('audit_events_' || $1)::text", &[&month])
        .unwrap()
        .get(0);
    name.is_some()
}

#[test]
fn the_event_store_contract() {
    // The same checks the SQLite store runs (ppgov_store::contract_events), each on a fresh
    // database, through a connection scoped to its tenant as the application role.
    for (name, check) in EVENT_CHECKS {
        let db = TestDb::new();
        let mut s = db.events("A");
        eprintln!("check {name}");
        check(&mut s);
    }
}

#[test]
fn the_store_is_send_lets_scan_callbacks_read_and_refuses_a_role_that_bypasses_rls() {
    fn send<T: Send>(_: &T) {}
    let db = TestDb::new();
    let s = db.events("A");
    send(&s);
    assert_eq!(s.tenant(), "A");
    assert!(!s.is_closed());
    match PgEventStore::connect(&db.admin_url(), "A") {
        Err(StoreError::PgRefused(why)) => assert!(why.contains("bypasses row-level security")),
        other => panic!("expected PgRefused, got {other:?}"),
    }
    assert!(matches!(
        PgEventStore::connect(&db.url(), ""),
        Err(StoreError::PgRefused(_))
    ));
    // A scan callback may read the store: the client is let go before the callback runs.
    let mut s = s;
    s.append(&mut [ev("a", JAN)]).unwrap();
    s.set_state("k", "v").unwrap();
    let mut inner = Vec::new();
    s.scan_after(0, &mut |e| {
        inner.push((e.id, s.state("k").unwrap()));
        Ok(())
    })
    .unwrap();
    assert_eq!(inner, [("a".to_string(), Some("v".to_string()))]);
}

#[test]
fn modified_deleted_and_inserted_events_and_changed_batches_are_detected() {
    let db = TestDb::new();
    let mut s = db.events("A");
    s.append(&mut [ev("a", JAN), ev("b", JAN + 1), ev("c", FEB)])
        .unwrap();
    s.append(&mut [ev("d", FEB + 1), ev("e", FEB + 2)]).unwrap();
    assert!(problems(&s).is_empty());
    let mut admin = db.admin();
    let at = |p: &[VerifyProblem]| -> Vec<(i64, Option<String>)> {
        p.iter().map(|p| (p.batch, p.month.clone())).collect()
    };

    // The database owner changes one event's operation: its batch and month are named.
    admin
        .execute(
            "UPDATE audit_events SET operation = 'DeleteFlow' WHERE tenant_id = 'A' AND id = 'b'",
            &[],
        )
        .unwrap();
    let p = problems(&s);
    assert_eq!(at(&p), [(1, Some("202601".to_string()))]);
    assert!(p[0].message.contains("modified or reordered"), "{p:?}");
    admin
        .execute(
            "UPDATE audit_events SET operation = 'CreateFlow' WHERE tenant_id = 'A' AND id = 'b'",
            &[],
        )
        .unwrap();
    assert!(problems(&s).is_empty(), "restored");

    // Two events swap their sequence numbers: reordered.
    admin
        .execute(
            "UPDATE audit_events SET seq = CASE id WHEN 'd' THEN 5 ELSE 4 END
             WHERE tenant_id = 'A' AND id IN ('d', 'e')",
            &[],
        )
        .unwrap();
    let p = problems(&s);
    assert_eq!(at(&p), [(2, Some("202602".to_string()))], "{p:?}");
    admin
        .execute(
            "UPDATE audit_events SET seq = CASE id WHEN 'd' THEN 4 ELSE 5 END
             WHERE tenant_id = 'A' AND id IN ('d', 'e')",
            &[],
        )
        .unwrap();
    assert!(problems(&s).is_empty(), "restored");

    // A batch row's hash changed: it no longer matches, and the next one no longer links.
    let hash: String = admin
        .query_one(
            "SELECT hash FROM audit_batches WHERE tenant_id = 'A' AND seq = 1",
            &[],
        )
        .unwrap()
        .get(0);
    admin
        .execute(
            "UPDATE audit_batches SET hash = repeat('0', 64) WHERE tenant_id = 'A' AND seq = 1",
            &[],
        )
        .unwrap();
    let p = problems(&s);
    assert_eq!(at(&p), [(1, None), (2, None)]);
    assert!(p[0].message.contains("does not match"), "{p:?}");
    assert!(p[1].message.contains("does not link"), "{p:?}");
    admin
        .execute(
            "UPDATE audit_batches SET hash = $1 WHERE tenant_id = 'A' AND seq = 1",
            &[&hash],
        )
        .unwrap();
    assert!(problems(&s).is_empty(), "restored");

    // One event deleted.
    admin
        .execute(
            "DELETE FROM audit_events WHERE tenant_id = 'A' AND id = 'd'",
            &[],
        )
        .unwrap();
    let p = problems(&s);
    assert_eq!(at(&p), [(2, Some("202602".to_string()))]);
    assert!(p[0].message.contains("2 events were stored"), "{p:?}");

    // One event inserted into a batch that never held its month.
    admin
        .execute(
            "INSERT INTO audit_events SELECT tenant_id, 99, 'x', $1, record_type, operation,
               workload, actor, environment_id, resource_kind, resource_id, client_ip, risk,
               attrs, raw, 2
             FROM audit_events WHERE tenant_id = 'A' AND id = 'a'",
            &[&(JAN + 5)],
        )
        .unwrap();
    let p = problems(&s);
    assert!(
        p.iter().any(|p| p.batch == 2
            && p.month.as_deref() == Some("202601")
            && p.message.contains("inserted")),
        "{p:?}"
    );

    // A whole batch row removed: the gap shows.
    admin
        .execute(
            "DELETE FROM audit_batches WHERE tenant_id = 'A' AND seq = 1",
            &[],
        )
        .unwrap();
    let p = problems(&s);
    assert!(
        p.iter().any(|p| p.message.contains("batch 1 is missing")),
        "{p:?}"
    );

    // A stored value this build cannot read is an error, not a panic.
    s.save_alerts(&[alert("k", &["a"])], &[]).unwrap();
    admin
        .execute("UPDATE audit_alerts SET event_ids = 'not json'", &[])
        .unwrap();
    assert!(matches!(
        s.alerts(None, None),
        Err(StoreError::Decode { .. })
    ));
}

#[test]
fn a_store_scoped_to_one_tenant_sees_and_changes_nothing_of_another() {
    let db = TestDb::new();
    let mut a = db.events("A");
    let mut b = db.events("B");
    // Both tenants store the same record id; each has its own sequence and chain.
    let out = a.append(&mut [ev("x", JAN), ev("shared", FEB)]).unwrap();
    assert_eq!((out.stored, out.batch), (2, 1));
    let out = b
        .append(&mut [ev("shared", FEB), ev("y", JAN), ev("z", MAR)])
        .unwrap();
    assert_eq!((out.stored, out.duplicates, out.batch), (3, 0, 1));
    let b_rows = b.search(&EventFilter::default()).unwrap();
    assert_eq!(b_rows.iter().map(|e| e.seq).collect::<Vec<_>>(), [1, 2, 3]);
    a.set_state("cursor", "a").unwrap();
    b.set_state("cursor", "b").unwrap();
    b.set_state("only-b", "1").unwrap();
    a.save_alerts(&[alert("k-a", &["x"])], &[]).unwrap();
    b.save_alerts(&[alert("k-b", &["y"]), alert("k-a", &["z"])], &[])
        .unwrap();

    assert_eq!(ids(&a), ["x", "shared"]);
    assert_eq!(ids(&b), ["y", "shared", "z"]);
    let by_id = EventFilter {
        resource_id: Some("flow-y".into()),
        ..EventFilter::default()
    };
    assert!(a.search(&by_id).unwrap().is_empty());
    let mut scanned = 0;
    a.scan_after(0, &mut |e: EventRow| {
        assert_ne!(e.id, "y");
        scanned += 1;
        Ok(())
    })
    .unwrap();
    assert_eq!(scanned, 2);
    assert_eq!(a.state("cursor").unwrap().as_deref(), Some("a"));
    assert_eq!(a.state("only-b").unwrap(), None);
    let a_alerts = a.alerts(None, None).unwrap();
    assert_eq!(a_alerts.len(), 1);
    assert_eq!(
        a_alerts[0].event_ids,
        ["x"],
        "B's alert of the same key is B's"
    );
    assert_eq!(b.alerts(None, None).unwrap().len(), 2);
    assert_eq!(a.event_stats().unwrap().events, 2);
    assert_eq!(b.event_stats().unwrap().events, 3);
    let (va, vb) = (a.verify().unwrap(), b.verify().unwrap());
    assert_eq!((va.batches, va.events), (1, 2));
    assert_eq!((vb.batches, vb.events), (1, 3));
    assert!(va.problems.is_empty() && vb.problems.is_empty());

    // Tampering with B's rows shows in B's chain only.
    db.admin()
        .execute(
            "UPDATE audit_events SET actor = 'mallory' WHERE tenant_id = 'B' AND id = 'shared'",
            &[],
        )
        .unwrap();
    assert!(problems(&a).is_empty());
    assert_eq!(problems(&b).len(), 1);

    // Below the store: a session scoped to A as the application role sees only A's rows in
    // every table, the partitions read by name included, and cannot write B's.
    let mut raw = db.raw_scoped("A");
    for table in [
        "audit_events",
        "audit_events_202601",
        "audit_events_202602",
        "audit_batches",
        "audit_batch_parts",
        "audit_months",
        "audit_state",
        "audit_alerts",
        "refresh_marks",
    ] {
        let others: i64 = raw
            .query_one(
                &format!("SELECT count(*) FROM {table} WHERE tenant_id <> 'A'"),
                &[],
            )
            .unwrap()
            .get(0);
        assert_eq!(others, 0, "{table}");
        let r = raw
            .query_one(
                "SELECT pg_get_userbyid(relowner)::text, relrowsecurity, relforcerowsecurity
                 FROM pg_class WHERE oid = $1::text::regclass",
                &[&table],
            )
            .unwrap();
        let got: (String, bool, bool) = (r.get(0), r.get(1), r.get(2));
        assert_eq!(got, (APP_ROLE.to_owned(), true, true), "{table}");
    }
    let err = raw
        .execute(
            "INSERT INTO audit_state (tenant_id, key, value) VALUES ('B', 'k', 'v')",
            &[],
        )
        .unwrap_err();
    assert!(
        err.to_string().contains("row-level security")
            || format!("{err:?}").contains("row-level security"),
        "{err:?}"
    );
    let changed = raw
        .execute("DELETE FROM audit_events WHERE tenant_id = 'B'", &[])
        .unwrap();
    assert_eq!(changed, 0);
    assert_eq!(ids(&b), ["y", "shared", "z"]);
}

#[test]
fn a_prune_of_one_tenant_leaves_the_others_events_of_its_months() {
    let db = TestDb::new();
    let mut a = db.events("A");
    let mut b = db.events("B");
    a.append(&mut [ev("a1", JAN), ev("a2", FEB)]).unwrap();
    b.append(&mut [ev("b1", JAN), ev("b2", FEB)]).unwrap();
    let p = a.prune_before(FEB_START).unwrap();
    assert_eq!(
        (p.months, p.events, p.batch),
        (vec!["202601".to_string()], 1, 2)
    );
    assert_eq!(ids(&a), ["a2"]);
    assert_eq!(ids(&b), ["b1", "b2"]);
    assert!(partition_exists(&db, "202601"), "B still has rows in it");
    let va = a.verify().unwrap();
    assert!(va.problems.is_empty(), "{:?}", va.problems);
    assert_eq!(va.prunes, [(2, vec!["202601".to_string()])]);
    let vb = b.verify().unwrap();
    assert!(vb.problems.is_empty() && vb.prunes.is_empty());
    // January is past retention for A only.
    let out = a.append(&mut [ev("a1", JAN), ev("a3", JAN)]).unwrap();
    assert_eq!((out.stored, out.duplicates), (0, 2));
    assert_eq!(b.append(&mut [ev("b3", JAN)]).unwrap().stored, 1);

    // The last tenant with rows in the month prunes it: the partition goes.
    let p = b.prune_before(FEB_START).unwrap();
    assert_eq!((p.events, p.batch), (2, 3));
    assert!(!partition_exists(&db, "202601"));
    assert!(partition_exists(&db, "202602"));
    assert!(problems(&a).is_empty());
    assert!(problems(&b).is_empty());
    assert_eq!(ids(&b), ["b2"]);
    // A tenant that never had January stores its events there: the partition comes back.
    let mut c = db.events("C");
    assert_eq!(c.append(&mut [ev("c1", JAN)]).unwrap().stored, 1);
    assert!(partition_exists(&db, "202601"));
    assert_eq!(a.append(&mut [ev("a4", JAN)]).unwrap().duplicates, 1);
    for s in [&a, &b, &c] {
        assert!(problems(s).is_empty());
    }
}

#[test]
fn concurrent_appends_of_one_tenant_serialise_and_tenants_side_by_side_all_land() {
    const WORKERS: usize = 4;
    const BATCHES: usize = 15;
    let db = TestDb::new();
    drop(db.events("A"));
    let url = db.url();
    let start = Arc::new(Barrier::new(WORKERS));
    let handles: Vec<_> = (0..WORKERS)
        .map(|w| {
            let (url, start) = (url.clone(), Arc::clone(&start));
            std::thread::spawn(move || {
                // Two workers per tenant, each batch with a record every worker delivers.
                let tenant = if w % 2 == 0 { "A" } else { "B" };
                let mut s = PgEventStore::connect(&url, tenant).unwrap();
                start.wait();
                let mut stored = 0;
                for i in 0..BATCHES {
                    let t = JAN + (i as i64) * 1000;
                    let mut batch = vec![
                        ev(&format!("w{w}-{i}-0"), t),
                        ev(&format!("w{w}-{i}-1"), FEB + t - JAN),
                        ev("everyone", MAR),
                    ];
                    stored += s.append(&mut batch).unwrap().stored;
                }
                stored
            })
        })
        .collect();
    let stored: usize = handles.into_iter().map(|h| h.join().unwrap()).sum();
    let per_tenant = 2 * BATCHES * 2 + 1;
    assert_eq!(stored, 2 * per_tenant);
    for tenant in ["A", "B"] {
        let s = db.events(tenant);
        let v = s.verify().unwrap();
        assert!(v.problems.is_empty(), "{tenant}: {:?}", v.problems);
        assert_eq!((v.batches, v.events), (2 * BATCHES, per_tenant));
        let mut seqs: Vec<i64> = s
            .search(&EventFilter::default())
            .unwrap()
            .iter()
            .map(|e| e.seq)
            .collect();
        seqs.sort_unstable();
        assert_eq!(
            seqs,
            (1..=per_tenant as i64).collect::<Vec<_>>(),
            "{tenant}"
        );
    }
}

#[test]
fn prunes_of_two_tenants_and_appends_of_a_third_to_the_same_month_all_land() {
    let db = TestDb::new();
    for t in ["A", "C"] {
        db.events(t).append(&mut [ev("old", JAN)]).unwrap();
    }
    let url = db.url();
    let start = Arc::new(Barrier::new(3));
    let pruners: Vec<_> = ["A", "C"]
        .into_iter()
        .map(|t| {
            let (url, start) = (url.clone(), Arc::clone(&start));
            std::thread::spawn(move || {
                let mut s = PgEventStore::connect(&url, t).unwrap();
                start.wait();
                s.prune_before(FEB_START).unwrap().events
            })
        })
        .collect();
    let mut b = db.events("B");
    start.wait();
    let mut stored = 0;
    for i in 0..20 {
        let mut batch = [ev(&format!("b{i}"), JAN + i), ev(&format!("f{i}"), FEB)];
        stored += b.append(&mut batch).unwrap().stored;
    }
    for p in pruners {
        assert_eq!(p.join().unwrap(), 1);
    }
    assert_eq!(stored, 40);
    assert_eq!(b.event_stats().unwrap().events, 40);
    assert!(partition_exists(&db, "202601"), "B's January rows keep it");
    for t in ["A", "B", "C"] {
        let v = db.events(t).verify().unwrap();
        assert!(v.problems.is_empty(), "{t}: {:?}", v.problems);
    }
}
