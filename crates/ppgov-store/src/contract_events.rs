//! The audit event store's contract as checks any backend runs (feature `testing`): the SQLite
//! store's unit tests and the PostgreSQL store's tests call the same functions, so both backends
//! de-duplicate, number, search, chain, verify, prune and keep alerts alike. Each check gets an
//! empty store; times are fixed; nothing waits.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use crate::events::{AlertRow, EventFilter, EventRow, EventStore};
use ppgov_core::{ResourceKind, ResourceRef};

/// 2026-01-15T00:00:00Z in ms.
pub const JAN: i64 = 1_768_435_200_000;
/// 2026-02-01T00:00:00Z: the first ms of February.
pub const FEB_START: i64 = 1_769_904_000_000;
/// 2026-02-10T00:00:00Z.
pub const FEB: i64 = 1_770_681_600_000;
/// 2026-03-10T00:00:00Z.
pub const MAR: i64 = 1_773_100_800_000;

/// An event with an id, a time and plain fields.
pub fn ev(id: &str, time_ms: i64) -> EventRow {
    EventRow {
        id: id.into(),
        time_ms,
        record_type: 45,
        operation: "CreateFlow".into(),
        workload: "PowerAutomate".into(),
        actor: "alice@contoso.com".into(),
        environment_id: "env-a".into(),
        resource_kind: "flow".into(),
        resource_id: format!("flow-{id}"),
        client_ip: "10.0.0.1".into(),
        risk: "low".into(),
        attrs: "{}".into(),
        raw: format!("{{\"Id\":\"{id}\"}}"),
        ..EventRow::default()
    }
}

fn ids(rows: &[EventRow]) -> Vec<&str> {
    rows.iter().map(|e| e.id.as_str()).collect()
}

fn all(s: &dyn EventStore) -> Vec<EventRow> {
    s.search(&EventFilter::default()).unwrap()
}

fn alert(key: &str, detection: &str, first: i64, last: i64, events: &[&str]) -> AlertRow {
    AlertRow {
        key: key.into(),
        detection_id: detection.into(),
        severity: "high".into(),
        actor: "alice@contoso.com".into(),
        environment_id: None,
        first_seen: first,
        last_seen: last,
        event_ids: events.iter().map(|e| e.to_string()).collect(),
        reason: format!("{detection} fired"),
    }
}

/// One check: it gets an empty event store.
pub type EventCheck = fn(&mut dyn EventStore);

/// Every check, by name, each to run on an empty event store.
pub const EVENT_CHECKS: &[(&str, EventCheck)] = &[
    (
        "append_skips_stored_ids_across_batches_and_within_one_and_numbers_in_time_order",
        append_skips_stored_ids_across_batches_and_within_one_and_numbers_in_time_order,
    ),
    (
        "search_filters_by_every_field_and_limits",
        search_filters_by_every_field_and_limits,
    ),
    (
        "search_newest_first_and_count_agree_with_the_filter",
        search_newest_first_and_count_agree_with_the_filter,
    ),
    (
        "scan_after_visits_later_events_in_time_order_without_raw",
        scan_after_visits_later_events_in_time_order_without_raw,
    ),
    (
        "verify_of_an_untouched_chain_finds_nothing",
        verify_of_an_untouched_chain_finds_nothing,
    ),
    (
        "prune_drops_whole_months_records_them_and_refuses_their_events_again",
        prune_drops_whole_months_records_them_and_refuses_their_events_again,
    ),
    (
        "state_is_set_read_and_overwritten",
        state_is_set_read_and_overwritten,
    ),
    (
        "save_alerts_merges_event_ids_and_times_and_sets_state_with_them",
        save_alerts_merges_event_ids_and_times_and_sets_state_with_them,
    ),
    (
        "alerts_come_newest_first_filtered_by_since_and_detection",
        alerts_come_newest_first_filtered_by_since_and_detection,
    ),
    (
        "mark_for_refresh_counts_the_marks_made",
        mark_for_refresh_counts_the_marks_made,
    ),
    (
        "event_stats_count_stored_events",
        event_stats_count_stored_events,
    ),
];

pub fn append_skips_stored_ids_across_batches_and_within_one_and_numbers_in_time_order(
    s: &mut dyn EventStore,
) {
    let mut first = vec![
        ev("b", JAN + 2000),
        ev("a", JAN + 1000),
        ev("c", FEB),
        ev("a", JAN + 1000),
    ];
    let out = s.append(&mut first).unwrap();
    assert_eq!((out.stored, out.duplicates, out.batch), (3, 1, 1));
    let rows = all(s);
    assert_eq!(ids(&rows), ["a", "b", "c"]);
    assert_eq!(rows.iter().map(|e| e.seq).collect::<Vec<_>>(), [1, 2, 3]);
    assert_eq!(
        rows[0],
        EventRow {
            seq: 1,
            ..ev("a", JAN + 1000)
        }
    );
    // Sequence numbers go on across batches, in each batch's time order.
    let out = s
        .append(&mut [ev("a", JAN + 1000), ev("e", JAN + 600), ev("d", JAN + 500)])
        .unwrap();
    assert_eq!((out.stored, out.duplicates, out.batch), (2, 1, 2));
    let rows = all(s);
    assert_eq!(ids(&rows), ["d", "e", "a", "b", "c"]);
    assert_eq!(
        rows.iter().map(|e| e.seq).collect::<Vec<_>>(),
        [4, 5, 1, 2, 3]
    );
    // Nothing new: no batch.
    let out = s.append(&mut [ev("c", FEB), ev("d", JAN + 500)]).unwrap();
    assert_eq!((out.stored, out.duplicates, out.batch), (0, 2, 0));
    assert_eq!(s.append(&mut []).unwrap().batch, 0);
    assert_eq!(s.event_stats().unwrap().events, 5);
    assert_eq!(s.verify().unwrap().batches, 2);
}

pub fn search_filters_by_every_field_and_limits(s: &mut dyn EventStore) {
    let e1 = EventRow {
        environment_id: "Env-A".into(),
        resource_id: "Flow-1".into(),
        risk: "high".into(),
        ..ev("e1", JAN)
    };
    let e2 = EventRow {
        actor: "bob@contoso.com".into(),
        operation: "DeleteFlow".into(),
        environment_id: "env-b".into(),
        resource_id: "flow-2".into(),
        ..ev("e2", JAN + 1000)
    };
    let e3 = EventRow {
        operation: "DeleteFlow".into(),
        risk: "medium".into(),
        ..ev("e3", FEB)
    };
    s.append(&mut [e2.clone(), e1.clone(), e3.clone()]).unwrap();
    let find = |f: EventFilter| ids(&s.search(&f).unwrap()).join(",");
    let d = EventFilter::default;
    assert_eq!(find(d()), "e1,e2,e3");
    // Stored rows come back whole, raw included.
    assert_eq!(s.search(&d()).unwrap()[0].raw, e1.raw);
    assert_eq!(
        find(EventFilter {
            actor: Some("ALICE@contoso.com".into()),
            ..d()
        }),
        "e1,e3"
    );
    assert_eq!(
        find(EventFilter {
            operation: Some("deleteflow".into()),
            ..d()
        }),
        "e2,e3"
    );
    assert_eq!(
        find(EventFilter {
            environment_id: Some("ENV-A".into()),
            ..d()
        }),
        "e1,e3"
    );
    assert_eq!(
        find(EventFilter {
            resource_id: Some("FLOW-2".into()),
            ..d()
        }),
        "e2"
    );
    assert_eq!(
        find(EventFilter {
            resource_id: Some("flow-1".into()),
            ..d()
        }),
        "e1"
    );
    assert_eq!(
        find(EventFilter {
            risk: Some("HIGH".into()),
            ..d()
        }),
        "e1"
    );
    assert_eq!(
        find(EventFilter {
            since_ms: Some(FEB),
            ..d()
        }),
        "e3"
    );
    assert_eq!(
        find(EventFilter {
            until_ms: Some(JAN + 1000),
            ..d()
        }),
        "e1"
    );
    assert_eq!(
        find(EventFilter {
            since_ms: Some(JAN + 1000),
            until_ms: Some(FEB),
            ..d()
        }),
        "e2"
    );
    assert_eq!(
        find(EventFilter {
            since_ms: Some(MAR),
            ..d()
        }),
        ""
    );
    assert_eq!(
        find(EventFilter {
            after_seq: Some(1),
            ..d()
        }),
        "e2,e3"
    );
    assert_eq!(
        find(EventFilter {
            limit: Some(2),
            ..d()
        }),
        "e1,e2"
    );
    assert_eq!(
        find(EventFilter {
            limit: Some(0),
            ..d()
        }),
        ""
    );
    assert_eq!(
        find(EventFilter {
            actor: Some("alice@contoso.com".into()),
            operation: Some("DeleteFlow".into()),
            ..d()
        }),
        "e3"
    );
    assert_eq!(
        find(EventFilter {
            actor: Some("carol@contoso.com".into()),
            ..d()
        }),
        ""
    );
}

pub fn search_newest_first_and_count_agree_with_the_filter(s: &mut dyn EventStore) {
    let e2 = EventRow {
        actor: "bob@contoso.com".into(),
        ..ev("e2", JAN + 1000)
    };
    // Three months, so the newest-first order crosses partitions too.
    s.append(&mut [ev("e1", JAN), e2, ev("e3", FEB), ev("e4", MAR)])
        .unwrap();
    let d = EventFilter::default;
    let newest = |f: EventFilter| {
        ids(&s
            .search(&EventFilter {
                newest_first: true,
                ..f
            })
            .unwrap())
        .join(",")
    };
    assert_eq!(newest(d()), "e4,e3,e2,e1");
    // With a limit: the newest that match, not the oldest.
    assert_eq!(
        newest(EventFilter {
            limit: Some(2),
            ..d()
        }),
        "e4,e3"
    );
    assert_eq!(
        newest(EventFilter {
            actor: Some("alice@contoso.com".into()),
            limit: Some(2),
            ..d()
        }),
        "e4,e3"
    );
    assert_eq!(
        newest(EventFilter {
            until_ms: Some(FEB),
            ..d()
        }),
        "e2,e1"
    );
    // Counted by the store, the limit aside.
    assert_eq!(s.count(&d()).unwrap(), 4);
    assert_eq!(
        s.count(&EventFilter {
            limit: Some(1),
            ..d()
        })
        .unwrap(),
        4
    );
    assert_eq!(
        s.count(&EventFilter {
            actor: Some("BOB@contoso.com".into()),
            ..d()
        })
        .unwrap(),
        1
    );
    assert_eq!(
        s.count(&EventFilter {
            since_ms: Some(FEB),
            ..d()
        })
        .unwrap(),
        2
    );
    assert_eq!(
        s.count(&EventFilter {
            since_ms: Some(MAR + 1),
            ..d()
        })
        .unwrap(),
        0
    );
}

pub fn scan_after_visits_later_events_in_time_order_without_raw(s: &mut dyn EventStore) {
    s.append(&mut [ev("m1", MAR), ev("j1", JAN)]).unwrap();
    s.append(&mut [ev("f1", FEB), ev("j0", JAN - 1000)])
        .unwrap();
    let mut seen = Vec::new();
    let n = s
        .scan_after(0, &mut |e| {
            assert!(e.raw.is_empty(), "scan_after leaves raw out");
            seen.push((e.id, e.seq));
            Ok(())
        })
        .unwrap();
    assert_eq!(n, 4);
    let want = [("j0", 3), ("j1", 1), ("f1", 4), ("m1", 2)];
    assert_eq!(seen, want.map(|(i, q)| (i.to_string(), q)));
    let mut later = Vec::new();
    let n = s
        .scan_after(2, &mut |e| {
            later.push(e.id);
            Ok(())
        })
        .unwrap();
    assert_eq!((n, later), (2, vec!["j0".to_string(), "f1".to_string()]));
    assert_eq!(s.scan_after(4, &mut |_| Ok(())).unwrap(), 0);
    // The callback's error stops the scan and comes back.
    let err = s
        .scan_after(0, &mut |_| Err(crate::StoreError::PgRefused("stop".into())))
        .unwrap_err();
    assert!(err.to_string().contains("stop"), "{err}");
}

pub fn verify_of_an_untouched_chain_finds_nothing(s: &mut dyn EventStore) {
    let empty = s.verify().unwrap();
    assert_eq!(
        (empty.batches, empty.events, empty.head.as_str()),
        (0, 0, "")
    );
    assert!(empty.problems.is_empty());
    s.append(&mut [ev("a", JAN), ev("b", FEB), ev("c", FEB + 1)])
        .unwrap();
    s.append(&mut [ev("a", JAN), ev("d", MAR)]).unwrap();
    let v = s.verify().unwrap();
    assert!(v.problems.is_empty(), "{:?}", v.problems);
    assert_eq!((v.batches, v.events), (2, 4));
    assert!(v.prunes.is_empty());
    assert_eq!(v.head.len(), 64, "a sha-256 in hex");
    s.append(&mut [ev("e", MAR)]).unwrap();
    let w = s.verify().unwrap();
    assert!(w.problems.is_empty(), "{:?}", w.problems);
    assert_ne!(w.head, v.head, "the head moves with every batch");
}

pub fn prune_drops_whole_months_records_them_and_refuses_their_events_again(
    s: &mut dyn EventStore,
) {
    s.append(&mut [ev("j1", JAN), ev("j2", JAN + 1), ev("f1", FEB)])
        .unwrap();
    s.append(&mut [ev("m1", MAR)]).unwrap();
    // A month that is not over by `before_ms` stays.
    let p = s.prune_before(FEB_START - 1).unwrap();
    assert_eq!((p.months.len(), p.events, p.batch), (0, 0, 0));
    let p = s.prune_before(FEB_START).unwrap();
    assert_eq!(p.months, ["202601"]);
    assert_eq!((p.events, p.batch), (2, 3));
    assert_eq!(ids(&all(s)), ["f1", "m1"]);
    assert_eq!(s.event_stats().unwrap().events, 2);
    let v = s.verify().unwrap();
    assert!(v.problems.is_empty(), "{:?}", v.problems);
    assert_eq!(v.prunes, [(3, vec!["202601".to_string()])]);
    assert_eq!((v.batches, v.events), (3, 2));
    // Events of a pruned month, old or new ids, are past retention: duplicates.
    let out = s.append(&mut [ev("j1", JAN), ev("j9", JAN + 5)]).unwrap();
    assert_eq!((out.stored, out.duplicates, out.batch), (0, 2, 0));
    let out = s.append(&mut [ev("j3", JAN), ev("f2", FEB)]).unwrap();
    assert_eq!((out.stored, out.duplicates, out.batch), (1, 1, 4));
    assert_eq!(
        s.prune_before(FEB_START).unwrap().batch,
        0,
        "nothing left to prune"
    );
    let v = s.verify().unwrap();
    assert!(v.problems.is_empty(), "{:?}", v.problems);
    assert_eq!((v.batches, v.events), (4, 3));
    let mut scanned = Vec::new();
    s.scan_after(0, &mut |e| {
        scanned.push(e.id);
        Ok(())
    })
    .unwrap();
    assert_eq!(scanned, ["f1", "f2", "m1"]);
}

pub fn state_is_set_read_and_overwritten(s: &mut dyn EventStore) {
    assert_eq!(s.state("cursor").unwrap(), None);
    s.set_state("cursor", "v1").unwrap();
    s.set_state("other", "x").unwrap();
    assert_eq!(s.state("cursor").unwrap().as_deref(), Some("v1"));
    s.set_state("cursor", "v2").unwrap();
    assert_eq!(s.state("cursor").unwrap().as_deref(), Some("v2"));
    assert_eq!(s.state("other").unwrap().as_deref(), Some("x"));
    assert_eq!(s.state("missing").unwrap(), None);
}

pub fn save_alerts_merges_event_ids_and_times_and_sets_state_with_them(s: &mut dyn EventStore) {
    let first = alert("DET-1|alice", "DET-1", 10, 20, &["e2", "e1"]);
    s.save_alerts(&[first], &[("det", "s1"), ("cursor", "c1")])
        .unwrap();
    let got = s.alerts(None, None).unwrap();
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].event_ids, ["e1", "e2"]);
    assert_eq!(s.state("det").unwrap().as_deref(), Some("s1"));
    assert_eq!(s.state("cursor").unwrap().as_deref(), Some("c1"));
    // The same incident again: one alert, ids merged, the widest time span, the new reason.
    let mut again = alert("DET-1|alice", "DET-1", 15, 30, &["e3", "e1"]);
    again.reason = "three events".into();
    s.save_alerts(&[again], &[("det", "s2")]).unwrap();
    let got = s.alerts(None, None).unwrap();
    assert_eq!(got.len(), 1);
    let a = &got[0];
    assert_eq!(a.event_ids, ["e1", "e2", "e3"]);
    assert_eq!((a.first_seen, a.last_seen), (10, 30));
    assert_eq!(a.reason, "three events");
    assert_eq!(
        (a.detection_id.as_str(), a.severity.as_str()),
        ("DET-1", "high")
    );
    assert_eq!(s.state("det").unwrap().as_deref(), Some("s2"));
    // State alone, no alerts.
    s.save_alerts(&[], &[("det", "s3")]).unwrap();
    assert_eq!(s.state("det").unwrap().as_deref(), Some("s3"));
    assert_eq!(s.alerts(None, None).unwrap().len(), 1);
}

pub fn alerts_come_newest_first_filtered_by_since_and_detection(s: &mut dyn EventStore) {
    let mut with_env = alert("k2", "D2", 250, 300, &["x"]);
    with_env.environment_id = Some("env-a".into());
    s.save_alerts(
        &[
            alert("k1", "D1", 50, 100, &["a"]),
            with_env.clone(),
            alert("k3", "D1", 150, 200, &["b"]),
            alert("k0", "D1", 150, 200, &["c"]),
        ],
        &[],
    )
    .unwrap();
    let keys = |since: Option<i64>, det: Option<&str>| -> Vec<String> {
        s.alerts(since, det)
            .unwrap()
            .into_iter()
            .map(|a| a.key)
            .collect()
    };
    assert_eq!(keys(None, None), ["k2", "k0", "k3", "k1"]);
    assert_eq!(keys(Some(200), None), ["k2", "k0", "k3"]);
    assert_eq!(keys(None, Some("D1")), ["k0", "k3", "k1"]);
    assert_eq!(keys(Some(150), Some("D1")), ["k0", "k3"]);
    assert_eq!(keys(None, Some("D9")), Vec::<String>::new());
    assert_eq!(s.alerts(None, Some("D2")).unwrap(), [with_env]);
}

pub fn mark_for_refresh_counts_the_marks_made(s: &mut dyn EventStore) {
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
        s.mark_for_refresh(&[flow.clone(), app], "audit: Edit")
            .unwrap(),
        2
    );
    assert_eq!(s.mark_for_refresh(&[flow], "audit: Share").unwrap(), 1);
    assert_eq!(s.mark_for_refresh(&[], "nothing").unwrap(), 0);
}

pub fn event_stats_count_stored_events(s: &mut dyn EventStore) {
    assert_eq!(s.event_stats().unwrap().events, 0);
    s.append(&mut [ev("a", JAN), ev("b", FEB), ev("a", JAN)])
        .unwrap();
    let st = s.event_stats().unwrap();
    assert_eq!(st.events, 2);
    assert!(st.bytes > 0);
    s.append(&mut [ev("c", MAR)]).unwrap();
    assert_eq!(s.event_stats().unwrap().events, 3);
}
