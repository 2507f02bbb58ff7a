//! The governance records on PostgreSQL: the contract both backends run, then what only a
//! shared database has: tenants side by side in one set of tables, row-level security,
//! tampering by the database owner, concurrent writers of one tenant.

use std::sync::{Arc, Barrier};

use chrono::NaiveDate;
use ppgov_core::{ResourceKind, ResourceRef};
use ppgov_store::contract_records::{
    RECORD_CHECKS, TENANT, entry, now, report, request, suppression,
};
use ppgov_store::{
    GENESIS, JournalPhase, NewJournalEntry, Records, RequestEvent, RequestState, RequestUpdate,
    SnapshotId, Store, StoreError, SuppressionError,
};
use ppgov_store_pg::PgRecords;
use ppgov_store_pg::testing::{APP_ROLE, TestDb};

fn of(tenant: &str, step: u32) -> NewJournalEntry {
    NewJournalEntry {
        tenant_id: tenant.into(),
        ..entry(step, JournalPhase::Done)
    }
}

fn breaks(s: &dyn Records) -> Vec<String> {
    s.verify_journal()
        .unwrap()
        .breaks
        .into_iter()
        .map(|b| format!("{}: {}", b.seq, b.problem))
        .collect()
}

fn refused(e: StoreError) -> String {
    match e {
        StoreError::PgRefused(why) => why,
        other => panic!("expected PgRefused, got {other:?}"),
    }
}

fn expires() -> NaiveDate {
    NaiveDate::from_ymd_opt(2027, 1, 31).unwrap()
}

fn step(at: i64) -> RequestEvent {
    RequestEvent {
        at_ms: at,
        actor: "sam@contoso.example".into(),
        action: "evaluated".into(),
        detail: String::new(),
    }
}

#[test]
fn the_records_contract() {
    // The same checks the SQLite store runs (ppgov_store::contract_records), each on a fresh
    // database, through a connection scoped to its tenant as the application role.
    for (name, check) in RECORD_CHECKS {
        let db = TestDb::new();
        let mut s = db.records(TENANT);
        eprintln!("check {name}");
        check(&mut s);
    }
}

#[test]
fn the_store_is_send_names_its_tenant_and_refuses_a_role_that_bypasses_rls() {
    fn send<T: Send>(_: &T) {}
    let db = TestDb::new();
    let s = db.records("A");
    send(&s);
    assert_eq!(s.tenant(), "A");
    assert!(!s.is_closed());
    match PgRecords::connect(&db.admin_url(), "A") {
        Err(StoreError::PgRefused(why)) => assert!(why.contains("bypasses row-level security")),
        other => panic!("expected PgRefused, got {other:?}"),
    }
    assert!(matches!(
        PgRecords::connect(&db.url(), ""),
        Err(StoreError::PgRefused(_))
    ));
    let version: i64 = db
        .admin()
        .query_one("SELECT max(version) FROM ppgov_migrations", &[])
        .unwrap()
        .get(0);
    assert_eq!(version, ppgov_store_pg::SCHEMA_VERSION);
}

#[test]
fn tenants_side_by_side_keep_a_journal_chain_each() {
    let db = TestDb::new();
    let mut a = db.records("A");
    let mut b = db.records("B");
    // Interleaved: each tenant numbers from 1 and chains from genesis on its own.
    let a1 = a.append_journal(&of("A", 1)).unwrap();
    let b1 = b.append_journal(&of("B", 1)).unwrap();
    let b2 = b.append_journal(&of("B", 2)).unwrap();
    let a2 = a.append_journal(&of("A", 2)).unwrap();
    let b3 = b.append_journal(&of("B", 3)).unwrap();
    assert_eq!((a1.seq, a2.seq), (1, 2));
    assert_eq!((b1.seq, b2.seq, b3.seq), (1, 2, 3));
    assert_eq!(
        (a1.prev_hash.as_str(), b1.prev_hash.as_str()),
        (GENESIS, GENESIS)
    );
    assert_eq!(a2.prev_hash, a1.hash);
    assert_eq!(b3.prev_hash, b2.hash);
    assert_eq!(a.journal(None).unwrap(), [a1, a2.clone()]);
    assert_eq!(b.journal(None).unwrap(), [b1, b2, b3.clone()]);
    assert_eq!(a.journal_for_plan("d1").unwrap().len(), 2);
    assert_eq!(b.journal(Some("a1")).unwrap().len(), 3);
    let (va, vb) = (a.verify_journal().unwrap(), b.verify_journal().unwrap());
    assert!(
        va.breaks.is_empty() && vb.breaks.is_empty(),
        "{va:?} {vb:?}"
    );
    assert_eq!((va.entries, va.head), (2, a2.hash));
    assert_eq!((vb.entries, vb.head), (3, b3.hash));
    // A third tenant's journal is empty, its head genesis.
    let c = db.records("C");
    let vc = c.verify_journal().unwrap();
    assert_eq!((vc.entries, vc.head.as_str()), (0, GENESIS));

    // Tampering with B's rows shows in B's chain only.
    db.admin()
        .execute(
            "UPDATE journal SET result = 'forged' WHERE tenant_id = 'B' AND seq = 2",
            &[],
        )
        .unwrap();
    assert!(breaks(&a).is_empty());
    assert_eq!(breaks(&b).len(), 1, "{:?}", breaks(&b));
}

#[test]
fn a_store_scoped_to_one_tenant_reads_nothing_of_another_and_writes_nothing_for_it() {
    let db = TestDb::new();
    let mut b = db.records("B");
    b.append_journal(&of("B", 1)).unwrap();
    let b_due = b
        .add_due_action("B", now(), "end of elevation", "{}")
        .unwrap();
    let mut b_report = report("snap-b", 1);
    b_report.tenant_id = "B".into();
    b.save_scan(&SnapshotId::from("snap-b"), &b_report).unwrap();
    let mut sb = suppression("app-b", expires());
    sb.tenant_id = "B".into();
    let b_sup = b.add_suppression(&sb, now()).unwrap().id;
    let mut rb = request("shared_twitter");
    rb.tenant_id = "B".into();
    let b_req = b.create_request(&rb, 10).unwrap();

    let mut a = db.records("A");
    a.append_journal(&of("A", 1)).unwrap();
    // Reads: nothing of B, whether asked for B or for A.
    assert_eq!(a.journal(None).unwrap().len(), 1);
    assert!(
        a.journal(None)
            .unwrap()
            .iter()
            .all(|e| e.entry.tenant_id == "A")
    );
    assert_eq!(a.verify_journal().unwrap().entries, 1);
    assert!(a.due_actions("B", None).unwrap().is_empty());
    assert!(a.due_actions("A", None).unwrap().is_empty());
    assert_eq!(a.previous_scan("B", None).unwrap(), None);
    assert!(a.list_scans("B").unwrap().is_empty());
    assert_eq!(a.suppression("B", b_sup).unwrap(), None);
    assert_eq!(a.suppression("A", b_sup).unwrap(), None);
    assert!(a.suppressions("B").unwrap().is_empty());
    assert!(a.live_suppressions("B").unwrap().is_empty());
    assert_eq!(a.request("B", b_req).unwrap(), None);
    assert_eq!(a.request("A", b_req).unwrap(), None);
    assert!(a.requests("B").unwrap().is_empty());

    // Writes naming B are refused before anything is sent.
    let why = refused(a.append_journal(&of("B", 2)).unwrap_err());
    assert!(
        why.contains("scoped to tenant `A`") && why.contains("`B`"),
        "{why}"
    );
    refused(a.add_due_action("B", now(), "x", "{}").unwrap_err());
    refused(
        a.save_scan(&SnapshotId::from("snap-b"), &b_report)
            .unwrap_err(),
    );
    match a.add_suppression(&sb, now()) {
        Err(SuppressionError::Store(StoreError::PgRefused(_))) => {}
        other => panic!("expected a refusal, got {other:?}"),
    }
    match a.revoke_suppression("B", b_sup, "mallory", "mine now", now()) {
        Err(SuppressionError::Store(StoreError::PgRefused(_))) => {}
        other => panic!("expected a refusal, got {other:?}"),
    }
    refused(a.create_request(&rb, 10).unwrap_err());
    refused(
        a.advance_request(
            "B",
            b_req,
            RequestState::Submitted,
            RequestState::Evaluated,
            &step(20),
            &RequestUpdate::default(),
        )
        .unwrap_err(),
    );
    // Naming A but B's ids: not found, nothing changed.
    a.finish_due_action(b_due, "apply-a").unwrap();
    assert!(matches!(
        a.revoke_suppression("A", b_sup, "mallory", "mine now", now()),
        Err(SuppressionError::NotFound(id)) if id == b_sup
    ));
    assert!(
        !a.advance_request(
            "A",
            b_req,
            RequestState::Submitted,
            RequestState::Evaluated,
            &step(20),
            &RequestUpdate::default(),
        )
        .unwrap()
    );
    // B's rows are as B left them.
    assert_eq!(b.journal(None).unwrap().len(), 1);
    assert!(b.verify_journal().unwrap().breaks.is_empty());
    assert_eq!(b.due_actions("B", None).unwrap().len(), 1);
    assert_eq!(b.list_scans("B").unwrap().len(), 1);
    assert_eq!(b.suppression("B", b_sup).unwrap().unwrap().revoked_by, None);
    let r = b.request("B", b_req).unwrap().unwrap();
    assert_eq!((r.state, r.history.len()), (RequestState::Submitted, 1));

    // Below the store: a session scoped to A as the application role sees only A's rows in
    // every records table and cannot write B's, though its role owns them (FORCE).
    let mut raw = db.raw_scoped("A");
    for table in [
        "journal",
        "journal_head",
        "due_actions",
        "scans",
        "suppressions",
        "connector_requests",
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
        let changed = raw
            .execute(&format!("DELETE FROM {table} WHERE tenant_id = 'B'"), &[])
            .unwrap();
        assert_eq!(changed, 0, "{table}");
    }
    for insert in [
        "INSERT INTO journal_head (tenant_id, seq, hash) VALUES ('B', 9, 'x')",
        "INSERT INTO scans (tenant_id, snapshot_id, created_at, report) VALUES ('B', 's', 't', '{}')",
        "INSERT INTO due_actions (tenant_id, due_at, reason, plan, created_at)
         VALUES ('B', 't', 'r', '{}', 't')",
    ] {
        let err = raw.execute(insert, &[]).unwrap_err();
        assert!(
            format!("{err:?}").contains("row-level security"),
            "{insert}: {err:?}"
        );
    }
    // Moving one of A's rows to B is refused too.
    let err = raw
        .execute(
            "UPDATE journal SET tenant_id = 'B' WHERE tenant_id = 'A'",
            &[],
        )
        .unwrap_err();
    assert!(format!("{err:?}").contains("row-level security"), "{err:?}");
    assert_eq!(b.journal(None).unwrap().len(), 1);
    assert_eq!(b.suppressions("B").unwrap().len(), 1);
}

#[test]
fn journal_rows_changed_by_the_database_owner_are_found_by_verify() {
    let db = TestDb::new();
    let mut s = db.records("A");
    for i in 1..=5 {
        s.append_journal(&of("A", i)).unwrap();
    }
    assert!(breaks(&s).is_empty());
    let mut admin = db.admin();
    let mut tamper = |sql: &str| {
        admin.batch_execute(sql).unwrap();
    };
    let snapshot = "CREATE TABLE saved AS SELECT * FROM journal;
                    CREATE TABLE saved_head AS SELECT * FROM journal_head;";
    let restore = "DELETE FROM journal; INSERT INTO journal SELECT * FROM saved;
                   DELETE FROM journal_head; INSERT INTO journal_head SELECT * FROM saved_head;";
    tamper(snapshot);

    // A modified entry.
    tamper(
        "UPDATE journal SET after = '{\"state\":\"Started\"}' WHERE tenant_id = 'A' AND seq = 3",
    );
    let b = breaks(&s);
    assert_eq!(b.len(), 1, "{b:?}");
    assert!(b[0].starts_with("3: its content does not match"), "{b:?}");
    tamper(restore);
    assert!(breaks(&s).is_empty(), "restored");

    // A deleted entry.
    tamper("DELETE FROM journal WHERE tenant_id = 'A' AND seq = 2");
    let b = breaks(&s);
    assert!(
        b.iter()
            .any(|x| x.starts_with("3: entry 3 found where entry 2")),
        "{b:?}"
    );
    assert!(b.iter().any(|x| x.starts_with("3: does not link")), "{b:?}");
    tamper(restore);

    // The last entry deleted: the head shows it.
    tamper("DELETE FROM journal WHERE tenant_id = 'A' AND seq = 5");
    let b = breaks(&s);
    assert_eq!(b.len(), 1, "{b:?}");
    assert!(b[0].contains("head records entry 5"), "{b:?}");
    tamper(restore);

    // The last entry and the head rolled back together: a truncated tail that only an anchored
    // head (recorded elsewhere) shows; the chain itself holds.
    let full_head = s.verify_journal().unwrap().head;
    tamper(
        "DELETE FROM journal WHERE tenant_id = 'A' AND seq = 5;
         UPDATE journal_head SET seq = 4, hash = (SELECT hash FROM journal WHERE tenant_id = 'A' AND seq = 4)
         WHERE tenant_id = 'A'",
    );
    let r = s.verify_journal().unwrap();
    assert!(r.breaks.is_empty(), "{:?}", r.breaks);
    assert_ne!(
        r.head, full_head,
        "the head moved: compare with the anchored one"
    );
    tamper(restore);

    // The head deleted.
    tamper("DELETE FROM journal_head WHERE tenant_id = 'A'");
    let b = breaks(&s);
    assert_eq!(b.len(), 1, "{b:?}");
    assert!(b[0].contains("no head"), "{b:?}");
    tamper(restore);

    // Two entries swapped (renumbered): read in seq order, found by their hashes and links.
    tamper(
        "UPDATE journal SET seq = 100 WHERE tenant_id = 'A' AND seq = 2;
         UPDATE journal SET seq = 2 WHERE tenant_id = 'A' AND seq = 3;
         UPDATE journal SET seq = 3 WHERE tenant_id = 'A' AND seq = 100;",
    );
    let b = breaks(&s);
    assert!(b.iter().any(|x| x.starts_with("2: ")), "{b:?}");
    assert!(b.iter().any(|x| x.starts_with("3: ")), "{b:?}");
    tamper(restore);

    // A copy of entry 2 slipped in after it, the rest renumbered.
    tamper(
        "UPDATE journal SET seq = seq + 100 WHERE tenant_id = 'A' AND seq > 2;
         UPDATE journal SET seq = seq - 99 WHERE tenant_id = 'A' AND seq > 100;
         INSERT INTO journal SELECT tenant_id, 3, at, actor, apply_id, plan_id, plan_digest, step,
             action, target, phase, request_id, before, after, result, prev_hash, hash
         FROM journal WHERE tenant_id = 'A' AND seq = 2;",
    );
    let b = breaks(&s);
    assert!(b.iter().any(|x| x.starts_with("3: ")), "{b:?}");
    tamper(restore);
    assert!(breaks(&s).is_empty(), "restored");
    // Appends go on from the restored head.
    assert_eq!(s.append_journal(&of("A", 6)).unwrap().seq, 6);
    assert!(breaks(&s).is_empty());
}

#[test]
fn concurrent_appends_of_one_tenant_make_one_gapless_chain() {
    const WORKERS: usize = 3;
    const APPENDS: u32 = 20;
    let db = TestDb::new();
    drop(db.records("A"));
    let url = db.url();
    let start = Arc::new(Barrier::new(WORKERS));
    let handles: Vec<_> = (0..WORKERS)
        .map(|w| {
            let (url, start) = (url.clone(), Arc::clone(&start));
            std::thread::spawn(move || {
                // Two connections of A, one of B alongside.
                let tenant = if w < 2 { "A" } else { "B" };
                let mut s = PgRecords::connect(&url, tenant).unwrap();
                start.wait();
                let mut seqs = Vec::new();
                for i in 0..APPENDS {
                    let mut e = of(tenant, i + 1);
                    e.apply_id = format!("w{w}");
                    seqs.push(s.append_journal(&e).unwrap().seq);
                }
                seqs
            })
        })
        .collect();
    let seqs: Vec<Vec<i64>> = handles.into_iter().map(|h| h.join().unwrap()).collect();
    for got in &seqs {
        assert!(got.windows(2).all(|w| w[0] < w[1]), "{got:?}");
    }
    let mut a_seqs: Vec<i64> = seqs[0].iter().chain(&seqs[1]).copied().collect();
    a_seqs.sort_unstable();
    assert_eq!(a_seqs, (1..=2 * i64::from(APPENDS)).collect::<Vec<_>>());
    assert_eq!(seqs[2], (1..=i64::from(APPENDS)).collect::<Vec<_>>());
    for (tenant, n) in [("A", 2 * APPENDS), ("B", APPENDS)] {
        let s = db.records(tenant);
        let r = s.verify_journal().unwrap();
        assert!(r.breaks.is_empty(), "{tenant}: {:?}", r.breaks);
        assert_eq!(r.entries, i64::from(n), "{tenant}");
        let all = s.journal(None).unwrap();
        assert_eq!(r.head, all.last().unwrap().hash);
        let first_worker = if tenant == "A" { "w0" } else { "w2" };
        assert_eq!(
            s.journal(Some(first_worker)).unwrap().len(),
            APPENDS as usize
        );
    }
}

#[test]
fn a_revoke_and_a_step_sent_twice_at_once_change_the_row_once() {
    const TRIES: usize = 5;
    let db = TestDb::new();
    let mut s = db.records(TENANT);
    let mut sups = Vec::new();
    let mut reqs = Vec::new();
    for i in 0..TRIES {
        sups.push(
            s.add_suppression(&suppression(&format!("app-{i}"), expires()), now())
                .unwrap()
                .id,
        );
        reqs.push(s.create_request(&request("shared_twitter"), 10).unwrap());
    }
    let url = db.url();
    let start = Arc::new(Barrier::new(2));
    let handles: Vec<_> = (0..2)
        .map(|w| {
            let (url, start) = (url.clone(), Arc::clone(&start));
            let (sups, reqs) = (sups.clone(), reqs.clone());
            std::thread::spawn(move || {
                let mut s = PgRecords::connect(&url, TENANT).unwrap();
                let mut revoked = 0;
                let mut moved = 0;
                for (sup, req) in sups.iter().zip(&reqs) {
                    start.wait();
                    match s.revoke_suppression(TENANT, *sup, &format!("w{w}"), "retired", now()) {
                        Ok(_) => revoked += 1,
                        Err(SuppressionError::AlreadyRevoked { .. }) => {}
                        Err(e) => panic!("{e:?}"),
                    }
                    let update = RequestUpdate {
                        evaluation: Some(serde_json::json!({ "by": w })),
                        ..RequestUpdate::default()
                    };
                    moved += usize::from(
                        s.advance_request(
                            TENANT,
                            *req,
                            RequestState::Submitted,
                            RequestState::Evaluated,
                            &step(20),
                            &update,
                        )
                        .unwrap(),
                    );
                }
                (revoked, moved)
            })
        })
        .collect();
    let (mut revoked, mut moved) = (0, 0);
    for h in handles {
        let (r, m) = h.join().unwrap();
        revoked += r;
        moved += m;
    }
    assert_eq!((revoked, moved), (TRIES, TRIES), "each row changed once");
    for (sup, req) in sups.iter().zip(&reqs) {
        let x = s.suppression(TENANT, *sup).unwrap().unwrap();
        assert!(x.revoked_by.is_some());
        let r = s.request(TENANT, *req).unwrap().unwrap();
        assert_eq!((r.state, r.history.len()), (RequestState::Evaluated, 2));
    }
    assert!(s.live_suppressions(TENANT).unwrap().is_empty());
}

#[test]
fn refresh_marks_go_to_the_given_store_else_to_postgresql() {
    let flow = ResourceRef {
        kind: ResourceKind::Flow,
        id: "flow-1".into(),
        name: "Flow 1".into(),
        environment_id: Some("env-a".into()),
    };
    let db = TestDb::new();
    let mut s = db.records("A");
    assert_eq!(
        s.mark_for_refresh(std::slice::from_ref(&flow), "apply a1")
            .unwrap(),
        1
    );
    let r = db
        .admin()
        .query_one(
            "SELECT tenant_id, kind, id, environment_id, reason FROM refresh_marks",
            &[],
        )
        .unwrap();
    let got: (String, String, String, Option<String>, String) =
        (r.get(0), r.get(1), r.get(2), r.get(3), r.get(4));
    assert_eq!(
        got,
        (
            "A".into(),
            "flow".into(),
            "flow-1".into(),
            Some("env-a".into()),
            "apply a1".into()
        )
    );

    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("a.db");
    let mut s = db.records("A").with_marks_in(Store::open(&path).unwrap());
    assert_eq!(s.mark_for_refresh(&[flow], "apply a2").unwrap(), 1);
    drop(s);
    let marks = Store::open(&path).unwrap().pending_refresh_marks().unwrap();
    assert_eq!(marks.len(), 1);
    assert_eq!(
        (marks[0].id.as_str(), marks[0].reason.as_str()),
        ("flow-1", "apply a2")
    );
    let in_pg: i64 = db
        .admin()
        .query_one("SELECT count(*) FROM refresh_marks", &[])
        .unwrap()
        .get(0);
    assert_eq!(in_pg, 1, "the second mark went to the embedded store only");
}

#[test]
fn a_dropped_stores_connection_serves_the_next_store_of_its_tenant_and_a_dead_one_is_not_reused() {
    use ppgov_store_pg::testing::backend_pid;
    let db = TestDb::new();
    let a = db.records(TENANT);
    let first = backend_pid(&a);
    drop(a);
    assert_eq!(db.idle(), 1, "kept for the next store");
    let b = db.records(TENANT);
    assert_eq!(backend_pid(&b), first, "the same connection, reused");
    assert_eq!(db.idle(), 0);
    drop(b);
    // Another tenant's store never gets it: its session is scoped to the first tenant.
    let other = db.records("t2");
    let second = backend_pid(&other);
    assert_ne!(second, first);
    drop(other);
    assert_eq!(db.idle(), 2);
    // A connection the server ended while it was idle is closed, not handed out.
    let mut admin = db.admin();
    admin
        .query_one("SELECT pg_terminate_backend($1)", &[&second])
        .unwrap();
    // Gone once the server lists it no more (each check a round trip, no timer).
    while admin
        .query_one(
            "SELECT count(*) FROM pg_stat_activity WHERE pid = $1",
            &[&second],
        )
        .unwrap()
        .get::<_, i64>(0)
        > 0
    {}
    let again = db.records("t2");
    assert_ne!(backend_pid(&again), second);
    assert!(again.list_scans("t2").unwrap().is_empty(), "and it works");
    assert_eq!(db.idle(), 1, "the first tenant's is still kept");
}
