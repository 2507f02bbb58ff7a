//! The governance records' contract as checks any backend runs (feature `testing`): the SQLite
//! store's tests and the PostgreSQL store's tests call the same functions, so both backends
//! journal, chain, schedule, save scans, suppress and move requests alike. Each check gets an
//! empty store of tenant [`TENANT`]; times are fixed; nothing waits.
//!
//! The checks write as [`TENANT`] only: a backend may refuse writes for another tenant (the
//! PostgreSQL store, scoped to one, does), so reads naming another tenant are checked to find
//! nothing, and writes for one are each backend's own tests'.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::BTreeMap;

use chrono::{DateTime, Duration, NaiveDate, TimeZone, Utc};
use ppgov_core::{ResourceKind, ResourceRef, ScanReport, ScanSummary};

use crate::{
    GENESIS, JournalEntry, JournalPhase, MAX_JUSTIFICATION_CHARS, NewJournalEntry, NewRequest,
    NewSuppression, Records, RequestEvent, RequestState, RequestUpdate, SnapshotId,
    SuppressionError, SuppressionStatus,
};

/// The tenant every check writes as (a PostgreSQL store is scoped to it).
pub const TENANT: &str = "t1";

/// Another tenant, which the checks only read: it has nothing.
pub const OTHER: &str = "t2";

/// A check: given an empty store of [`TENANT`], asserts one behaviour.
pub type Check = fn(&mut dyn Records);

/// Every check, by name.
pub const RECORD_CHECKS: &[(&str, Check)] = &[
    (
        "journal_appends_number_from_one_and_link_each_entry_to_the_one_before",
        journal_appends_number_from_one_and_link_each_entry_to_the_one_before,
    ),
    (
        "journal_lists_one_apply_or_one_plan_in_chain_order",
        journal_lists_one_apply_or_one_plan_in_chain_order,
    ),
    (
        "journal_keeps_before_and_after_states_and_their_absence",
        journal_keeps_before_and_after_states_and_their_absence,
    ),
    (
        "verify_journal_of_an_intact_chain_finds_no_break",
        verify_journal_of_an_intact_chain_finds_no_break,
    ),
    (
        "verify_journal_of_an_empty_journal_reports_genesis",
        verify_journal_of_an_empty_journal_reports_genesis,
    ),
    (
        "due_actions_come_due_in_order_and_leave_once_finished",
        due_actions_come_due_in_order_and_leave_once_finished,
    ),
    (
        "scans_get_increasing_ids_and_previous_scan_steps_back",
        scans_get_increasing_ids_and_previous_scan_steps_back,
    ),
    (
        "suppressions_are_recorded_listed_and_revoked_keeping_history",
        suppressions_are_recorded_listed_and_revoked_keeping_history,
    ),
    (
        "suppressions_refuse_invalid_input_and_store_nothing",
        suppressions_refuse_invalid_input_and_store_nothing,
    ),
    (
        "live_suppressions_leave_out_revoked_ones_oldest_first",
        live_suppressions_leave_out_revoked_ones_oldest_first,
    ),
    (
        "a_request_moves_once_per_step_and_keeps_its_history",
        a_request_moves_once_per_step_and_keeps_its_history,
    ),
    (
        "a_later_step_keeps_what_an_earlier_step_set",
        a_later_step_keeps_what_an_earlier_step_set,
    ),
    ("requests_come_newest_first", requests_come_newest_first),
    (
        "mark_for_refresh_counts_the_marks_made",
        mark_for_refresh_counts_the_marks_made,
    ),
];

// ---- fixtures ----

/// A journal entry of [`TENANT`]: apply `a1`, plan `p1` (digest `d1`), a flow stopped.
pub fn entry(step: u32, phase: JournalPhase) -> NewJournalEntry {
    NewJournalEntry {
        tenant_id: TENANT.into(),
        actor: "user:admin@contoso.example (oid 42)".into(),
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

/// A scan report of [`TENANT`] whose inventory counts `n` flows.
pub fn report(snapshot: &str, n: usize) -> ScanReport {
    let mut r = ScanReport {
        schema_version: ScanReport::SCHEMA_VERSION.into(),
        tenant_id: TENANT.into(),
        snapshot_id: snapshot.into(),
        snapshot_time: Utc.with_ymd_and_hms(2026, 3, 1, 10, 0, 0).unwrap(),
        summary: ScanSummary::default(),
        rules: vec![],
        findings: vec![],
        inventory: BTreeMap::from([("flow".to_string(), n)]),
        environment_names: BTreeMap::from([("env-1".to_string(), "Sales (prod)".to_string())]),
    };
    r.finalize();
    r
}

/// The time suppression checks record at: 2026-12-04T10:00:00Z.
pub fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 12, 4, 10, 0, 0).unwrap()
}

fn day(y: i32, m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, d).unwrap()
}

/// A suppression of [`TENANT`] (its justification padded, to see it trimmed).
pub fn suppression(resource: &str, expires: NaiveDate) -> NewSuppression {
    NewSuppression {
        tenant_id: TENANT.into(),
        rule_id: "PPG-APP-001".into(),
        resource_id: resource.into(),
        justification: "  shared with everyone on purpose: the canteen menu  ".into(),
        expires,
        created_by: "reviewer@contoso.example".into(),
    }
}

/// A connector request of [`TENANT`].
pub fn request(connector: &str) -> NewRequest {
    NewRequest {
        tenant_id: TENANT.into(),
        environment_id: "env-1".into(),
        connector: connector.into(),
        justification: "campaign".into(),
        classification: "Internal".into(),
        requester: "max@contoso.example".into(),
        requester_name: "Max".into(),
    }
}

fn ev(at: i64, action: &str) -> RequestEvent {
    RequestEvent {
        at_ms: at,
        actor: "sam@contoso.example".into(),
        action: action.into(),
        detail: format!("{action} at {at}"),
    }
}

/// Whether `at` was written by this run (within the last hour, not in the future).
fn recent(at: DateTime<Utc>) -> bool {
    let now = Utc::now();
    at <= now + Duration::seconds(5) && at > now - Duration::hours(1)
}

// ---- the journal ----

pub fn journal_appends_number_from_one_and_link_each_entry_to_the_one_before(s: &mut dyn Records) {
    let mut stored: Vec<JournalEntry> = Vec::new();
    for (i, phase) in [
        JournalPhase::Started,
        JournalPhase::Done,
        JournalPhase::Skipped,
    ]
    .into_iter()
    .enumerate()
    {
        let e = entry(i as u32 + 1, phase);
        let got = s.append_journal(&e).unwrap();
        assert_eq!(got.seq, i as i64 + 1, "gapless from 1");
        assert_eq!(got.entry, e, "the entry as given");
        assert!(recent(got.at), "{}", got.at);
        let prev = stored.last().map_or(GENESIS, |p| p.hash.as_str());
        assert_eq!(got.prev_hash, prev, "links to the entry before");
        assert_eq!(got.hash.len(), 64, "a SHA-256 in hex: {}", got.hash);
        assert_ne!(got.hash, got.prev_hash);
        stored.push(got);
    }
    assert_eq!(s.journal(None).unwrap(), stored, "stored as returned");
    let mut failed = entry(4, JournalPhase::Failed);
    failed.result = "the write failed: 503".into();
    let got = s.append_journal(&failed).unwrap();
    assert_eq!((got.seq, got.entry.phase), (4, JournalPhase::Failed));
    assert_eq!(got.prev_hash, stored[2].hash);
}

pub fn journal_lists_one_apply_or_one_plan_in_chain_order(s: &mut dyn Records) {
    // Two applies of two plans, interleaved.
    let mut made = Vec::new();
    for (step, apply, digest) in [
        (1, "a1", "d1"),
        (1, "a2", "d2"),
        (2, "a1", "d1"),
        (2, "a2", "d2"),
        (1, "a3", "d1"),
    ] {
        let mut e = entry(step, JournalPhase::Done);
        e.apply_id = apply.into();
        e.plan_digest = digest.into();
        made.push(s.append_journal(&e).unwrap());
    }
    let seqs = |v: Vec<JournalEntry>| v.into_iter().map(|e| e.seq).collect::<Vec<_>>();
    assert_eq!(seqs(s.journal(None).unwrap()), [1, 2, 3, 4, 5]);
    assert_eq!(seqs(s.journal(Some("a1")).unwrap()), [1, 3]);
    assert_eq!(seqs(s.journal(Some("a2")).unwrap()), [2, 4]);
    assert_eq!(seqs(s.journal(Some("a3")).unwrap()), [5]);
    assert!(s.journal(Some("none")).unwrap().is_empty());
    assert_eq!(seqs(s.journal_for_plan("d1").unwrap()), [1, 3, 5]);
    assert_eq!(seqs(s.journal_for_plan("d2").unwrap()), [2, 4]);
    assert!(s.journal_for_plan("none").unwrap().is_empty());
    assert_eq!(
        s.journal_for_plan("d2").unwrap(),
        [made[1].clone(), made[3].clone()]
    );
}

pub fn journal_keeps_before_and_after_states_and_their_absence(s: &mut dyn Records) {
    let mut none = entry(1, JournalPhase::Skipped);
    none.request_id = None;
    none.before = None;
    none.after = None;
    none.result = "already in the desired state".into();
    let mut nested = entry(2, JournalPhase::Done);
    nested.before = Some(serde_json::json!({
        "state": "Started", "owners": ["a", "b"], "n": 3, "ratio": 0.5, "x": null,
        "text": "quote \" backslash \\ unicode é ✓ newline \n"
    }));
    nested.after = Some(serde_json::Value::Null);
    let mut only_after = entry(3, JournalPhase::Done);
    only_after.before = None;
    only_after.after = Some(serde_json::json!([1, {"k": "v"}]));
    for e in [&none, &nested, &only_after] {
        s.append_journal(e).unwrap();
    }
    let all: Vec<NewJournalEntry> = s
        .journal(None)
        .unwrap()
        .into_iter()
        .map(|e| e.entry)
        .collect();
    assert_eq!(all, [none, nested, only_after]);
    assert!(s.verify_journal().unwrap().breaks.is_empty());
}

pub fn verify_journal_of_an_intact_chain_finds_no_break(s: &mut dyn Records) {
    for i in 1..=5 {
        s.append_journal(&entry(i, JournalPhase::Done)).unwrap();
    }
    let r = s.verify_journal().unwrap();
    assert!(r.breaks.is_empty(), "{:?}", r.breaks);
    assert_eq!(r.entries, 5);
    let all = s.journal(None).unwrap();
    assert_eq!(r.head, all[4].hash, "the head is the last entry's hash");
    s.append_journal(&entry(6, JournalPhase::Done)).unwrap();
    let again = s.verify_journal().unwrap();
    assert_eq!(again.entries, 6);
    assert!(again.breaks.is_empty());
    assert_ne!(again.head, r.head);
}

pub fn verify_journal_of_an_empty_journal_reports_genesis(s: &mut dyn Records) {
    let r = s.verify_journal().unwrap();
    assert_eq!(r.entries, 0);
    assert_eq!(r.head, GENESIS);
    assert!(r.breaks.is_empty());
    assert!(s.journal(None).unwrap().is_empty());
}

// ---- actions due later ----

pub fn due_actions_come_due_in_order_and_leave_once_finished(s: &mut dyn Records) {
    let t = |h: u32| Utc.with_ymd_and_hms(2026, 3, 1, h, 0, 0).unwrap();
    // Recorded out of order; two fall due at the same time (then by id).
    let late = s
        .add_due_action(TENANT, t(14), "grace period ends", "{\"plan\":3}")
        .unwrap();
    let early = s
        .add_due_action(TENANT, t(10), "end of elevation", "{\"plan\":1}")
        .unwrap();
    let same = s
        .add_due_action(TENANT, t(10), "second at ten", "{\"plan\":2}")
        .unwrap();
    assert!(early < same, "ids increase");
    let ids = |v: Vec<crate::DueAction>| v.into_iter().map(|d| d.id).collect::<Vec<_>>();
    assert!(s.due_actions(TENANT, Some(t(9))).unwrap().is_empty());
    assert_eq!(
        ids(s.due_actions(TENANT, Some(t(10))).unwrap()),
        [early, same],
        "due at `now` is due"
    );
    assert_eq!(
        ids(s.due_actions(TENANT, Some(t(13))).unwrap()),
        [early, same]
    );
    assert_eq!(
        ids(s.due_actions(TENANT, Some(t(14))).unwrap()),
        [early, same, late]
    );
    let all = s.due_actions(TENANT, None).unwrap();
    assert_eq!(ids(all.clone()), [early, same, late]);
    let d = &all[0];
    assert_eq!(
        (
            d.tenant_id.as_str(),
            d.due_at,
            d.reason.as_str(),
            d.plan.as_str()
        ),
        (TENANT, t(10), "end of elevation", "{\"plan\":1}")
    );
    assert!(recent(d.created_at), "{}", d.created_at);
    assert_eq!((d.done_at, d.apply_id.as_deref()), (None, None));
    assert!(
        s.due_actions(OTHER, None).unwrap().is_empty(),
        "another tenant has none"
    );

    s.finish_due_action(early, "apply-1").unwrap();
    assert_eq!(
        ids(s.due_actions(TENANT, Some(t(23))).unwrap()),
        [same, late]
    );
    assert_eq!(ids(s.due_actions(TENANT, None).unwrap()), [same, late]);
    s.finish_due_action(late, "apply-2").unwrap();
    s.finish_due_action(same, "apply-2").unwrap();
    assert!(s.due_actions(TENANT, None).unwrap().is_empty());
    // Finishing an unknown action changes nothing and is no error.
    s.finish_due_action(late + 1000, "apply-3").unwrap();
}

// ---- scan history ----

pub fn scans_get_increasing_ids_and_previous_scan_steps_back(s: &mut dyn Records) {
    assert!(s.previous_scan(TENANT, None).unwrap().is_none());
    assert!(s.list_scans(TENANT).unwrap().is_empty());
    let first = s
        .save_scan(&SnapshotId::from("snap-1"), &report("snap-1", 1))
        .unwrap();
    let second = s
        .save_scan(&SnapshotId::from("snap-2"), &report("snap-2", 2))
        .unwrap();
    let third = s
        .save_scan(&SnapshotId::from("snap-2"), &report("snap-2", 3))
        .unwrap();
    assert!(
        first < second && second < third,
        "{first:?} {second:?} {third:?}"
    );
    assert_eq!(
        s.previous_scan(TENANT, None).unwrap(),
        Some(report("snap-2", 3))
    );
    assert_eq!(
        s.previous_scan(TENANT, Some(third)).unwrap(),
        Some(report("snap-2", 2))
    );
    assert_eq!(
        s.previous_scan(TENANT, Some(second)).unwrap(),
        Some(report("snap-1", 1))
    );
    assert_eq!(s.previous_scan(TENANT, Some(first)).unwrap(), None);
    assert_eq!(s.previous_scan(OTHER, None).unwrap(), None);
    let listed = s.list_scans(TENANT).unwrap();
    assert_eq!(
        listed.iter().map(|i| i.id).collect::<Vec<_>>(),
        [third, second, first]
    );
    assert_eq!(
        listed
            .iter()
            .map(|i| i.snapshot_id.0.as_str())
            .collect::<Vec<_>>(),
        ["snap-2", "snap-2", "snap-1"]
    );
    assert!(
        listed
            .iter()
            .all(|i| i.tenant_id == TENANT && recent(i.created_at))
    );
    assert!(s.list_scans(OTHER).unwrap().is_empty());
}

// ---- suppressions ----

pub fn suppressions_are_recorded_listed_and_revoked_keeping_history(s: &mut dyn Records) {
    let a = s
        .add_suppression(&suppression("app-1", day(2027, 1, 31)), now())
        .unwrap();
    assert_eq!(a.tenant_id, TENANT);
    assert_eq!(
        (a.rule_id.as_str(), a.resource_id.as_str()),
        ("PPG-APP-001", "app-1")
    );
    assert_eq!(
        a.justification,
        "shared with everyone on purpose: the canteen menu"
    );
    assert_eq!(a.created_by, "reviewer@contoso.example");
    assert_eq!((a.created_at, a.expires), (now(), day(2027, 1, 31)));
    assert_eq!(
        (&a.revoked_by, a.revoked_at, &a.revoke_reason),
        (&None, None, &None)
    );
    assert_eq!(a.status(now().date_naive()), SuppressionStatus::Active);
    assert_eq!(a.status(day(2027, 2, 1)), SuppressionStatus::Expired);
    assert_eq!(s.suppression(TENANT, a.id).unwrap(), Some(a.clone()));
    let b = s
        .add_suppression(&suppression("app-2", day(2026, 12, 4)), now())
        .unwrap();
    assert!(b.id > a.id);
    let listed = s.suppressions(TENANT).unwrap();
    assert_eq!(listed, [b.clone(), a.clone()], "newest first");

    let later = now() + Duration::hours(2);
    let revoked = s
        .revoke_suppression(
            TENANT,
            a.id,
            "  admin@contoso.example ",
            " app retired ",
            later,
        )
        .unwrap();
    assert_eq!(revoked.revoked_by.as_deref(), Some("admin@contoso.example"));
    assert_eq!(revoked.revoked_at, Some(later));
    assert_eq!(revoked.revoke_reason.as_deref(), Some("app retired"));
    assert_eq!(
        revoked.status(now().date_naive()),
        SuppressionStatus::Revoked
    );
    assert_eq!(
        (revoked.id, &revoked.justification, revoked.created_at),
        (a.id, &a.justification, a.created_at),
        "the rest of the row is kept"
    );
    assert_eq!(s.suppression(TENANT, a.id).unwrap(), Some(revoked.clone()));
    // History kept: the revoked row is still listed.
    assert_eq!(s.suppressions(TENANT).unwrap(), [b.clone(), revoked]);
    match s.revoke_suppression(TENANT, a.id, "x", "again", later) {
        Err(SuppressionError::AlreadyRevoked { id, by }) => {
            assert_eq!((id, by.as_str()), (a.id, "admin@contoso.example"));
        }
        other => panic!("expected AlreadyRevoked, got {other:?}"),
    }
    let unknown = b.id + 1000;
    assert!(matches!(
        s.revoke_suppression(TENANT, unknown, "x", "y", later),
        Err(SuppressionError::NotFound(id)) if id == unknown
    ));
    assert_eq!(s.suppression(TENANT, unknown).unwrap(), None);
    assert!(matches!(
        s.revoke_suppression(TENANT, b.id, "x", "  ", later),
        Err(SuppressionError::Invalid(m)) if m.contains("reason")
    ));
    assert!(matches!(
        s.revoke_suppression(TENANT, b.id, " ", "why", later),
        Err(SuppressionError::Invalid(m)) if m.contains("who revokes")
    ));
    assert_eq!(
        s.suppression(TENANT, b.id).unwrap(),
        Some(b),
        "a refused revoke changes nothing"
    );
    assert!(s.suppressions(OTHER).unwrap().is_empty());
    assert_eq!(s.suppression(OTHER, a.id).unwrap(), None);
}

pub fn suppressions_refuse_invalid_input_and_store_nothing(s: &mut dyn Records) {
    let mut msg = |x: NewSuppression| match s.add_suppression(&x, now()) {
        Err(SuppressionError::Invalid(m)) => m,
        other => panic!("expected a refusal, got {other:?}"),
    };
    let base = || suppression("app-1", day(2027, 1, 1));
    let mut x = base();
    x.justification = " \n ".into();
    assert!(msg(x).contains("justification is required"));
    let mut x = base();
    x.justification = "x".repeat(MAX_JUSTIFICATION_CHARS + 1);
    assert!(msg(x).contains("too long"));
    assert!(msg(suppression("app-1", day(2026, 12, 3))).contains("in the past"));
    assert!(msg(suppression("app-1", day(2027, 12, 6))).contains("too far ahead"));
    let mut x = base();
    x.rule_id = String::new();
    assert!(msg(x).contains("rule id"));
    let mut x = base();
    x.resource_id = "*".into();
    assert!(msg(x).contains("one resource"));
    let mut x = base();
    x.resource_id = "  ".into();
    assert!(msg(x).contains("resource id"));
    let mut x = base();
    x.created_by = " ".into();
    assert!(msg(x).contains("who records"));
    let mut x = base();
    x.tenant_id = " ".into();
    assert!(msg(x).contains("tenant"));
    assert!(s.suppressions(TENANT).unwrap().is_empty(), "nothing stored");
    // The bounds themselves are accepted: today, and 366 days ahead.
    s.add_suppression(&suppression("app-1", day(2026, 12, 4)), now())
        .unwrap();
    s.add_suppression(&suppression("app-2", day(2027, 12, 5)), now())
        .unwrap();
    let mut x = base();
    x.justification = "y".repeat(MAX_JUSTIFICATION_CHARS);
    s.add_suppression(&x, now()).unwrap();
    assert_eq!(s.suppressions(TENANT).unwrap().len(), 3);
}

pub fn live_suppressions_leave_out_revoked_ones_oldest_first(s: &mut dyn Records) {
    let mut ids = Vec::new();
    for r in ["app-1", "app-2", "app-3", "app-4"] {
        ids.push(
            s.add_suppression(&suppression(r, day(2027, 1, 1)), now())
                .unwrap()
                .id,
        );
    }
    s.revoke_suppression(TENANT, ids[1], "admin", "retired", now())
        .unwrap();
    // Expired ones stay live (the engine judges expiry on the scan's day).
    let expired = s
        .add_suppression(&suppression("app-5", day(2026, 12, 4)), now())
        .unwrap();
    let live = s.live_suppressions(TENANT).unwrap();
    assert_eq!(
        live.iter().map(|x| x.id).collect::<Vec<_>>(),
        [ids[0], ids[2], ids[3], expired.id]
    );
    assert!(live.iter().all(|x| x.is_live()));
    assert_eq!(live[3].status(day(2026, 12, 5)), SuppressionStatus::Expired);
    assert_eq!(s.suppressions(TENANT).unwrap().len(), 5);
    assert!(s.live_suppressions(OTHER).unwrap().is_empty());
}

// ---- connector requests ----

pub fn a_request_moves_once_per_step_and_keeps_its_history(s: &mut dyn Records) {
    let id = s.create_request(&request("shared_twitter"), 10).unwrap();
    let r = s.request(TENANT, id).unwrap().unwrap();
    assert_eq!(r.id, id);
    assert_eq!(
        (
            r.tenant_id.as_str(),
            r.environment_id.as_str(),
            r.connector.as_str()
        ),
        (TENANT, "env-1", "shared_twitter")
    );
    assert_eq!(
        (r.justification.as_str(), r.classification.as_str()),
        ("campaign", "Internal")
    );
    assert_eq!(
        (r.requester.as_str(), r.requester_name.as_str()),
        ("max@contoso.example", "Max")
    );
    assert_eq!(
        (r.state, r.created_ms, r.updated_ms),
        (RequestState::Submitted, 10, 10)
    );
    assert_eq!((&r.evaluation, &r.decision, &r.plan), (&None, &None, &None));
    assert_eq!(r.history, [request("shared_twitter").submitted(10)]);

    let update = RequestUpdate {
        evaluation: Some(serde_json::json!({"soc2": true})),
        ..RequestUpdate::default()
    };
    let step = |s: &mut dyn Records| {
        s.advance_request(
            TENANT,
            id,
            RequestState::Submitted,
            RequestState::Evaluated,
            &ev(20, "evaluated"),
            &update,
        )
        .unwrap()
    };
    assert!(step(s));
    assert!(!step(s), "the same step twice changes nothing");
    assert!(
        !s.advance_request(
            TENANT,
            id,
            RequestState::Approved,
            RequestState::Applied,
            &ev(25, "applied"),
            &RequestUpdate::default()
        )
        .unwrap(),
        "a step from a state it is not in changes nothing"
    );
    assert!(
        !s.advance_request(
            TENANT,
            id + 1000,
            RequestState::Submitted,
            RequestState::Evaluated,
            &ev(30, "x"),
            &RequestUpdate::default()
        )
        .unwrap(),
        "an unknown request is not found"
    );
    let r = s.request(TENANT, id).unwrap().unwrap();
    assert_eq!(r.state, RequestState::Evaluated);
    assert_eq!((r.created_ms, r.updated_ms), (10, 20));
    assert_eq!(r.evaluation, Some(serde_json::json!({"soc2": true})));
    let actions: Vec<&str> = r.history.iter().map(|e| e.action.as_str()).collect();
    assert_eq!(actions, ["submitted", "evaluated"]);
    assert_eq!(r.history[1], ev(20, "evaluated"));
    assert_eq!(s.requests(TENANT).unwrap(), [r]);
    assert!(s.request(TENANT, id + 1000).unwrap().is_none());
    assert!(s.request(OTHER, id).unwrap().is_none());
    assert!(s.requests(OTHER).unwrap().is_empty());
}

pub fn a_later_step_keeps_what_an_earlier_step_set(s: &mut dyn Records) {
    let id = s.create_request(&request("shared_twitter"), 10).unwrap();
    let evaluation = serde_json::json!({"soc2": true, "notes": "fine"});
    let decision = serde_json::json!({"approved": true, "by": "compliance"});
    let mut go = |from, to, at, action: &str, update: RequestUpdate| {
        assert!(
            s.advance_request(TENANT, id, from, to, &ev(at, action), &update)
                .unwrap()
        );
    };
    go(
        RequestState::Submitted,
        RequestState::Evaluated,
        20,
        "evaluated",
        RequestUpdate {
            evaluation: Some(evaluation.clone()),
            ..RequestUpdate::default()
        },
    );
    // The decision step sets none of the evaluation: the evaluation stays.
    go(
        RequestState::Evaluated,
        RequestState::Approved,
        30,
        "approved",
        RequestUpdate {
            decision: Some(decision.clone()),
            plan: Some("{\"plan\":1}".into()),
            ..RequestUpdate::default()
        },
    );
    let r = s.request(TENANT, id).unwrap().unwrap();
    assert_eq!(r.evaluation.as_ref(), Some(&evaluation));
    assert_eq!(r.decision.as_ref(), Some(&decision));
    assert_eq!(r.plan.as_deref(), Some("{\"plan\":1}"));
    // A step that sets a field again replaces it; the others stay.
    let mut go = |from, to, at, action: &str, update: RequestUpdate| {
        assert!(
            s.advance_request(TENANT, id, from, to, &ev(at, action), &update)
                .unwrap()
        );
    };
    go(
        RequestState::Approved,
        RequestState::Approved,
        40,
        "plan approved",
        RequestUpdate {
            plan: Some("{\"plan\":2}".into()),
            ..RequestUpdate::default()
        },
    );
    go(
        RequestState::Approved,
        RequestState::Applied,
        50,
        "applied",
        RequestUpdate::default(),
    );
    let r = s.request(TENANT, id).unwrap().unwrap();
    assert_eq!((r.state, r.updated_ms), (RequestState::Applied, 50));
    assert_eq!(r.evaluation, Some(evaluation));
    assert_eq!(r.decision, Some(decision));
    assert_eq!(r.plan.as_deref(), Some("{\"plan\":2}"));
    let actions: Vec<&str> = r.history.iter().map(|e| e.action.as_str()).collect();
    assert_eq!(
        actions,
        [
            "submitted",
            "evaluated",
            "approved",
            "plan approved",
            "applied"
        ]
    );
}

pub fn requests_come_newest_first(s: &mut dyn Records) {
    assert!(s.requests(TENANT).unwrap().is_empty());
    let a = s.create_request(&request("shared_twitter"), 10).unwrap();
    let b = s.create_request(&request("shared_dropbox"), 5).unwrap();
    let c = s.create_request(&request("shared_slack"), 20).unwrap();
    assert!(a < b && b < c, "ids increase");
    let listed = s.requests(TENANT).unwrap();
    assert_eq!(listed.iter().map(|r| r.id).collect::<Vec<_>>(), [c, b, a]);
    assert_eq!(
        listed
            .iter()
            .map(|r| r.connector.as_str())
            .collect::<Vec<_>>(),
        ["shared_slack", "shared_dropbox", "shared_twitter"]
    );
    // Moving one does not reorder them.
    assert!(
        s.advance_request(
            TENANT,
            a,
            RequestState::Submitted,
            RequestState::Rejected,
            &ev(30, "rejected"),
            &RequestUpdate::default()
        )
        .unwrap()
    );
    let listed = s.requests(TENANT).unwrap();
    assert_eq!(listed.iter().map(|r| r.id).collect::<Vec<_>>(), [c, b, a]);
    assert_eq!(listed[2].state, RequestState::Rejected);
}

// ---- refresh marks ----

pub fn mark_for_refresh_counts_the_marks_made(s: &mut dyn Records) {
    let flow = ResourceRef {
        kind: ResourceKind::Flow,
        id: "flow-1".into(),
        name: "Flow 1".into(),
        environment_id: Some("env-a".into()),
    };
    let app = ResourceRef {
        kind: ResourceKind::App,
        id: "app-1".into(),
        name: "App 1".into(),
        environment_id: None,
    };
    assert_eq!(
        s.mark_for_refresh(&[flow.clone(), app], "apply a1")
            .unwrap(),
        2
    );
    assert_eq!(s.mark_for_refresh(&[flow], "apply a2").unwrap(), 1);
    assert_eq!(s.mark_for_refresh(&[], "nothing").unwrap(), 0);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Store;

    #[test]
    fn the_records_contract_on_sqlite() {
        for (name, check) in RECORD_CHECKS {
            eprintln!("check {name}");
            let mut s = Store::open_in_memory().unwrap();
            check(&mut s);
        }
    }

    #[test]
    fn every_check_is_listed_once() {
        let mut names: Vec<&str> = RECORD_CHECKS.iter().map(|(n, _)| *n).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), RECORD_CHECKS.len());
    }
}
