//! The console's sessions on PostgreSQL (`PgSessions`): expiry, single use of pending sign-ins
//! and form tokens across connections, the caps, digests only, no tenant scope.

use std::sync::{Arc, Barrier};

use ppgov_store_pg::PgSessions;
use ppgov_store_pg::testing::{APP_ROLE, TestDb};

fn sessions(db: &TestDb) -> PgSessions {
    PgSessions::connect(&db.url()).unwrap()
}

fn count(db: &TestDb, table: &str) -> i64 {
    db.admin()
        .query_one(&format!("SELECT count(*) FROM {table}"), &[])
        .unwrap()
        .get(0)
}

#[test]
fn a_session_is_returned_until_its_expiry_then_deleted() {
    let db = TestDb::new();
    let s = sessions(&db);
    s.put_session("id-1", r#"{"who":"a"}"#, 1_000).unwrap();
    s.put_session("id-2", r#"{"who":"b"}"#, 5_000).unwrap();
    assert_eq!(
        s.session("id-1", 999).unwrap().as_deref(),
        Some(r#"{"who":"a"}"#)
    );
    assert_eq!(s.session("id-1", 1_000).unwrap(), None, "expired");
    assert_eq!(
        s.session("id-1", 10).unwrap(),
        None,
        "an expired session is deleted when asked for"
    );
    assert_eq!(count(&db, "console_sessions"), 1);
    assert_eq!(s.session("no-such-id", 0).unwrap(), None);
    // Another connection (another instance) sees the same sessions.
    let other = sessions(&db);
    assert!(other.session("id-2", 10).unwrap().is_some());
    assert!(other.delete_session("id-2").unwrap());
    assert!(!other.delete_session("id-2").unwrap());
    assert_eq!(s.session("id-2", 10).unwrap(), None, "ended on the other");
    // Pruning deletes every expired session.
    s.put_session("id-3", "{}", 100).unwrap();
    s.put_session("id-4", "{}", 200).unwrap();
    s.put_session("id-5", "{}", 300).unwrap();
    assert_eq!(s.prune_sessions(200).unwrap(), 2);
    assert!(s.session("id-5", 200).unwrap().is_some());
}

#[test]
fn one_form_token_spent_from_two_connections_at_once_succeeds_exactly_once() {
    let db = TestDb::new();
    let setup = sessions(&db);
    setup.put_session("sess", "{}", i64::MAX).unwrap();
    const TOKENS: usize = 40;
    for i in 0..TOKENS {
        assert!(
            setup
                .add_form_token("sess", &format!("tok-{i}"), 256)
                .unwrap()
        );
    }
    let start = Arc::new(Barrier::new(2));
    let url = db.url();
    let handles: Vec<_> = (0..2)
        .map(|_| {
            let (url, start) = (url.clone(), Arc::clone(&start));
            std::thread::spawn(move || {
                let s = PgSessions::connect(&url).unwrap();
                (0..TOKENS)
                    .map(|i| {
                        start.wait();
                        s.spend_form_token("sess", &format!("tok-{i}")).unwrap()
                    })
                    .collect::<Vec<bool>>()
            })
        })
        .collect();
    let got: Vec<Vec<bool>> = handles.into_iter().map(|h| h.join().unwrap()).collect();
    assert_eq!((got[0].len(), got[1].len()), (TOKENS, TOKENS));
    for (i, (x, y)) in got[0].iter().zip(&got[1]).enumerate() {
        assert!(x ^ y, "token {i}: {x} {y}");
    }
    assert_eq!(count(&db, "console_form_tokens"), 0);
}

#[test]
fn form_tokens_belong_to_their_session_are_capped_and_go_with_it() {
    let db = TestDb::new();
    let s = sessions(&db);
    assert!(
        !s.add_form_token("nobody", "t", 8).unwrap(),
        "no token for a session that does not exist"
    );
    s.put_session("a", "{}", i64::MAX).unwrap();
    s.put_session("b", "{}", i64::MAX).unwrap();
    for i in 0..5 {
        assert!(s.add_form_token("a", &format!("t{i}"), 3).unwrap());
    }
    assert!(!s.spend_form_token("b", "t4").unwrap(), "another session's");
    assert!(
        !s.spend_form_token("a", "t0").unwrap(),
        "the oldest went first"
    );
    assert!(
        !s.spend_form_token("a", "t1").unwrap(),
        "the oldest went first"
    );
    for t in ["t2", "t3", "t4"] {
        assert!(s.spend_form_token("a", t).unwrap(), "{t}");
        assert!(!s.spend_form_token("a", t).unwrap(), "{t} replayed");
    }
    assert!(s.add_form_token("a", "later", 3).unwrap());
    assert!(s.delete_session("a").unwrap());
    assert_eq!(count(&db, "console_form_tokens"), 0, "tokens end with it");
    assert!(!s.spend_form_token("a", "later").unwrap());
}

#[test]
fn a_pending_sign_in_is_taken_once_pruned_when_stale_and_capped() {
    let db = TestDb::new();
    let a = sessions(&db);
    let b = sessions(&db);
    a.begin_pending("st-1", r#"{"n":1}"#, 1_000, 600, 10)
        .unwrap();
    assert_eq!(
        b.take_pending("st-1").unwrap(),
        Some((r#"{"n":1}"#.to_string(), 1_000)),
        "taken on another connection"
    );
    assert_eq!(a.take_pending("st-1").unwrap(), None, "single use");
    // Starting a sign-in deletes the stale ones (started ttl or longer ago).
    a.begin_pending("old", "{}", 1_000, 600, 10).unwrap();
    a.begin_pending("young", "{}", 1_500, 600, 10).unwrap();
    a.begin_pending("new", "{}", 1_600, 600, 10).unwrap();
    assert_eq!(a.take_pending("old").unwrap(), None, "pruned");
    assert!(a.take_pending("young").unwrap().is_some());
    // At most `max` are kept, the oldest dropped.
    for i in 0..5 {
        a.begin_pending(&format!("c{i}"), "{}", 2_000, 600, 3)
            .unwrap();
    }
    assert_eq!(count(&db, "console_pending"), 3);
    for i in 0..2 {
        assert_eq!(a.take_pending(&format!("c{i}")).unwrap(), None, "c{i}");
    }
    for i in 2..5 {
        assert!(a.take_pending(&format!("c{i}")).unwrap().is_some(), "c{i}");
    }
}

#[test]
fn only_digests_of_ids_states_and_tokens_are_stored() {
    let db = TestDb::new();
    let s = sessions(&db);
    let id = "raw-session-id-Zk3q9PdW";
    let state = "raw-state-Vb72LmQx";
    let token = "raw-form-token-Hq81NcRt";
    s.put_session(id, r#"{"who":"someone"}"#, i64::MAX).unwrap();
    s.begin_pending(state, r#"{"nonce":"n"}"#, 0, 600_000, 10)
        .unwrap();
    assert!(s.add_form_token(id, token, 8).unwrap());
    let mut admin = db.admin();
    for (table, key) in [
        ("console_sessions", "id_digest"),
        ("console_pending", "state_digest"),
        ("console_form_tokens", "session_digest"),
        ("console_form_tokens", "token_digest"),
    ] {
        let rows = admin
            .query(&format!("SELECT t::text FROM {table} t"), &[])
            .unwrap();
        assert!(!rows.is_empty(), "{table}");
        for r in rows {
            let text: String = r.get(0);
            for raw in [id, state, token] {
                assert!(!text.contains(raw), "{table} holds {raw}: {text}");
                let hex: String = raw.bytes().map(|b| format!("{b:02x}")).collect();
                assert!(!text.contains(&hex), "{table} holds {raw} as bytes: {text}");
            }
        }
        let digests: Vec<Vec<u8>> = admin
            .query(&format!("SELECT {key} FROM {table}"), &[])
            .unwrap()
            .iter()
            .map(|r| r.get(0))
            .collect();
        assert!(digests.iter().all(|d| d.len() == 32), "{table}.{key}");
    }
    let found: i64 = admin
        .query_one(
            "SELECT count(*) FROM console_sessions WHERE id_digest = sha256($1::text::bytea)",
            &[&id],
        )
        .unwrap()
        .get(0);
    assert_eq!(found, 1, "the key is the id's SHA-256");
}

#[test]
fn a_tenant_scoped_connection_sees_and_writes_none_of_the_console_tables() {
    let db = TestDb::new();
    let s = sessions(&db);
    s.put_session("id", "{}", i64::MAX).unwrap();
    s.begin_pending("st", "{}", 0, 600_000, 10).unwrap();
    assert!(s.add_form_token("id", "tok", 8).unwrap());
    let mut raw = db.raw_scoped("A");
    for table in ["console_sessions", "console_pending", "console_form_tokens"] {
        let seen: i64 = raw
            .query_one(&format!("SELECT count(*) FROM {table}"), &[])
            .unwrap()
            .get(0);
        assert_eq!(seen, 0, "{table}");
        let changed = raw.execute(&format!("DELETE FROM {table}"), &[]).unwrap();
        assert_eq!(changed, 0, "{table}");
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
            "INSERT INTO console_sessions (id_digest, value, expires_ms) VALUES ('\\x00', '{}', 1)",
            &[],
        )
        .unwrap_err();
    assert!(format!("{err:?}").contains("row-level security"), "{err:?}");
    assert!(s.session("id", 0).unwrap().is_some(), "untouched");
}

#[test]
fn a_lost_connection_is_replaced_on_the_next_call() {
    let db = TestDb::new();
    let s = sessions(&db);
    s.put_session("id", "{}", i64::MAX).unwrap();
    db.admin()
        .execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity
             WHERE datname = current_database() AND usename = $1",
            &[&APP_ROLE],
        )
        .unwrap();
    assert!(s.session("id", 0).unwrap().is_some());
    assert!(s.add_form_token("id", "tok", 8).unwrap());
    assert!(s.spend_form_token("id", "tok").unwrap());
}

#[test]
fn an_unreachable_server_is_a_connect_error_that_names_it_without_the_password() {
    let err = PgSessions::connect("postgres://u:s3cret@127.0.0.1:1/db").unwrap_err();
    let text = err.to_string();
    assert!(text.contains("127.0.0.1:1/db"), "{text}");
    assert!(!text.contains("s3cret"), "{text}");
}
