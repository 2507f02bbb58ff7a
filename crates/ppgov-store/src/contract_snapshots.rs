//! The snapshot store's contract as checks any backend runs (feature `testing`): the SQLite
//! store's tests and the PostgreSQL store's tests call the same functions, so both backends begin,
//! find, write in batches, carry forward, checkpoint and delete snapshots alike. Each check gets an
//! empty store of tenant [`TENANT`]; times are fixed; nothing waits.
//!
//! The checks write as [`TENANT`] only: a backend may refuse snapshots of another tenant (the
//! PostgreSQL store, scoped to one, does), so reads naming another tenant are checked to find
//! nothing. Refresh marks cannot be made through [`Snapshots`], so their check
//! ([`refresh_marks_made_through_records_are_pending_then_cleared_by_id`]) takes the tenant's
//! [`Records`] as well, which makes them; it is not in [`SNAPSHOT_CHECKS`].
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::BTreeMap;

use chrono::{DateTime, TimeZone, Utc};
use ppgov_core::{
    App, CollectionEntry, CollectionKind, CollectionScope, CollectionState, CollectionStatus,
    Connection, ConnectorMetadata, ConnectorRef, CustomConnector, DlpPolicy, Environment, Flow,
    GroupMembers, Principal, PrincipalKind, PrincipalStatus, ResourceKind, ResourceRef,
    RoleAssignment, Snapshot, TenantIsolation, TenantSettings,
};
use serde_json::{Map, Value, json};

use crate::{
    Carry, Records, ResourceRow, ShardState, SnapshotId, SnapshotKind, SnapshotStatus, Snapshots,
    StoreError, StoreKind,
};

/// The tenant every check writes as (a PostgreSQL store is scoped to it).
pub const TENANT: &str = "t1";

/// Another tenant, which the checks only read: it has nothing.
pub const OTHER: &str = "t2";

/// A check: given an empty store of [`TENANT`], asserts one behaviour.
pub type Check = fn(&mut dyn Snapshots);

/// Every check, by name.
pub const SNAPSHOT_CHECKS: &[(&str, Check)] = &[
    (
        "a_snapshot_runs_until_finished_and_keeps_its_row",
        a_snapshot_runs_until_finished_and_keeps_its_row,
    ),
    (
        "latest_unfinished_and_list_find_the_newest_first",
        latest_unfinished_and_list_find_the_newest_first,
    ),
    (
        "taken_ids_unknown_parents_and_unknown_snapshots_are_refused",
        taken_ids_unknown_parents_and_unknown_snapshots_are_refused,
    ),
    (
        "put_resources_upserts_and_the_latest_write_wins",
        put_resources_upserts_and_the_latest_write_wins,
    ),
    (
        "a_snapshot_of_every_kind_round_trips",
        a_snapshot_of_every_kind_round_trips,
    ),
    (
        "each_document_walks_a_kind_by_id",
        each_document_walks_a_kind_by_id,
    ),
    (
        "a_batch_dropped_without_commit_leaves_nothing",
        a_batch_dropped_without_commit_leaves_nothing,
    ),
    (
        "a_committed_batch_lands_whole",
        a_committed_batch_lands_whole,
    ),
    (
        "copy_unchanged_carries_only_parent_rows_and_keeps_existing_ones",
        copy_unchanged_carries_only_parent_rows_and_keeps_existing_ones,
    ),
    (
        "carry_patches_the_parent_and_keeps_from_it",
        carry_patches_the_parent_and_keeps_from_it,
    ),
    (
        "record_collection_replaces_per_scope_and_kind_moving_it_last",
        record_collection_replaces_per_scope_and_kind_moving_it_last,
    ),
    (
        "mark_shard_moves_a_shard_to_done_with_its_cursor",
        mark_shard_moves_a_shard_to_done_with_its_cursor,
    ),
    (
        "resource_versions_map_ids_to_their_last_modified",
        resource_versions_map_ids_to_their_last_modified,
    ),
    (
        "resource_field_reads_one_top_level_field_per_row",
        resource_field_reads_one_top_level_field_per_row,
    ),
    (
        "stamp_unset_times_only_touches_rows_without_a_time",
        stamp_unset_times_only_touches_rows_without_a_time,
    ),
    (
        "shared_documents_survive_until_their_last_snapshot_goes",
        shared_documents_survive_until_their_last_snapshot_goes,
    ),
];

// ---- fixtures ----

/// 10:00 UTC on day `day` of March 2026.
pub fn t(day: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 3, day, 10, 0, 0).unwrap()
}

/// A flow of environment `env` last modified on `day`.
pub fn flow(env: &str, id: &str, day: u32) -> Flow {
    Flow {
        id: id.to_string(),
        environment_id: env.to_string(),
        display_name: format!("Flow {id} \"quoted\" <b> Ä"),
        state: "Started".into(),
        last_modified_time: Some(t(day)),
        connectors: vec![ConnectorRef {
            key: "shared_http".into(),
            api_id: "/providers/x/apis/shared_http".into(),
            ..Default::default()
        }],
        definition: Some(json!({"triggers": {"manual": {"type": "Request"}}})),
        ..Default::default()
    }
}

/// The rows of `flows`.
pub fn rows(flows: &[Flow]) -> Vec<ResourceRow> {
    flows.iter().map(|f| ResourceRow::of(f).unwrap()).collect()
}

/// A snapshot of [`TENANT`] with every part filled and every list sorted by id, as
/// `load_snapshot` returns it.
pub fn sample_snapshot(id: &str) -> Snapshot {
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
        id: id.into(),
        tenant_id: TENANT.into(),
        taken_at: t(1),
        tenant_settings: Some(TenantSettings {
            disable_share_with_everyone: Some(false),
            raw: json!({"a": 1}),
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
            raw: json!({}),
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
        // Byte order: upper case before lower case.
        flows: vec![
            flow("env-a", "F0", 4),
            flow("env-a", "f1", 2),
            flow("env-b", "f2", 3),
        ],
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
        groups: vec![GroupMembers::new(
            "G-APPROVED",
            ["u1".to_string(), "U2".to_string()],
            t(1),
        )],
    }
}

fn begin(s: &mut dyn Snapshots, id: &str, day: u32, parent: Option<&str>) -> SnapshotId {
    let id = SnapshotId::from(id);
    let kind = if parent.is_some() {
        SnapshotKind::Incremental
    } else {
        SnapshotKind::Full
    };
    s.begin_snapshot_with(
        &id,
        TENANT,
        t(day),
        kind,
        parent.map(SnapshotId::from).as_ref(),
    )
    .unwrap();
    id
}

fn flows_of(s: &dyn Snapshots, id: &SnapshotId) -> Vec<Flow> {
    s.load_snapshot(id).unwrap().flows
}

fn ids(s: &dyn Snapshots, id: &SnapshotId, kind: StoreKind) -> Vec<String> {
    let mut out = Vec::new();
    s.each_document(id, kind, &mut |rid, _| {
        out.push(rid.to_string());
        Ok(())
    })
    .unwrap();
    out
}

fn entry(scope: CollectionScope, kind: CollectionKind, count: u64) -> CollectionEntry {
    CollectionEntry {
        scope,
        kind,
        state: CollectionState::Collected { count },
    }
}

// ---- lifecycle ----

pub fn a_snapshot_runs_until_finished_and_keeps_its_row(s: &mut dyn Snapshots) {
    let a = begin(s, "snap-a", 1, None);
    let info = s.snapshot_info(&a).unwrap().unwrap();
    assert_eq!(info.id, a);
    assert_eq!(info.tenant_id, TENANT);
    assert_eq!(info.started_at, t(1));
    assert_eq!(info.finished_at, None);
    assert_eq!(info.status, SnapshotStatus::Running);
    assert_eq!(info.kind, SnapshotKind::Full);
    assert_eq!(info.parent, None);
    let before = Utc::now() - chrono::Duration::seconds(1);
    s.finish_snapshot(&a, SnapshotStatus::Complete).unwrap();
    let info = s.snapshot_info(&a).unwrap().unwrap();
    assert_eq!(info.status, SnapshotStatus::Complete);
    assert!(info.finished_at.unwrap() >= before);

    let b = begin(s, "snap-b", 2, Some("snap-a"));
    let info = s.snapshot_info(&b).unwrap().unwrap();
    assert_eq!(info.kind, SnapshotKind::Incremental);
    assert_eq!(info.parent, Some(a.clone()));
    s.finish_snapshot(&b, SnapshotStatus::Failed).unwrap();
    assert_eq!(
        s.snapshot_info(&b).unwrap().unwrap().status,
        SnapshotStatus::Failed
    );
    assert_eq!(s.snapshot_info(&SnapshotId::from("nope")).unwrap(), None);

    // A new id of its own, now.
    let c = s.begin_snapshot(TENANT, SnapshotKind::Full, None).unwrap();
    assert_ne!(c, a);
    let info = s.snapshot_info(&c).unwrap().unwrap();
    assert_eq!(info.status, SnapshotStatus::Running);
    assert!(info.started_at >= before);
}

pub fn latest_unfinished_and_list_find_the_newest_first(s: &mut dyn Snapshots) {
    assert_eq!(s.latest_snapshot(TENANT, false).unwrap(), None);
    assert_eq!(s.unfinished_snapshot(TENANT).unwrap(), None);
    assert!(s.list_snapshots(None).unwrap().is_empty());
    let a = begin(s, "a", 1, None);
    s.finish_snapshot(&a, SnapshotStatus::Complete).unwrap();
    let b = begin(s, "b", 3, None);
    s.finish_snapshot(&b, SnapshotStatus::Failed).unwrap();
    // Begun last, started before b: order is by start time.
    let c = begin(s, "c", 2, None);

    let latest = |s: &dyn Snapshots, complete| s.latest_snapshot(TENANT, complete).unwrap();
    assert_eq!(latest(s, false).unwrap().id, b);
    assert_eq!(latest(s, true).unwrap().id, a);
    assert_eq!(s.unfinished_snapshot(TENANT).unwrap().unwrap().id, c);
    let listed: Vec<SnapshotId> = s
        .list_snapshots(None)
        .unwrap()
        .into_iter()
        .map(|i| i.id)
        .collect();
    assert_eq!(listed, [b.clone(), c.clone(), a.clone()]);
    assert_eq!(s.list_snapshots(Some(TENANT)).unwrap().len(), 3);

    s.finish_snapshot(&c, SnapshotStatus::Complete).unwrap();
    assert_eq!(s.unfinished_snapshot(TENANT).unwrap(), None);
    assert_eq!(latest(s, true).unwrap().id, c);
    s.delete_snapshot(&b).unwrap();
    assert_eq!(latest(s, false).unwrap().id, c);

    // Another tenant has nothing.
    assert_eq!(s.latest_snapshot(OTHER, false).unwrap(), None);
    assert_eq!(s.unfinished_snapshot(OTHER).unwrap(), None);
    assert!(s.list_snapshots(Some(OTHER)).unwrap().is_empty());
}

pub fn taken_ids_unknown_parents_and_unknown_snapshots_are_refused(s: &mut dyn Snapshots) {
    let a = begin(s, "a", 1, None);
    assert!(matches!(
        s.begin_snapshot_with(&a, TENANT, t(2), SnapshotKind::Full, None),
        Err(StoreError::SnapshotExists(id)) if id == "a"
    ));
    assert_eq!(s.snapshot_info(&a).unwrap().unwrap().started_at, t(1));
    let ghost = SnapshotId::from("ghost");
    assert!(matches!(
        s.begin_snapshot_with(
            &SnapshotId::from("b"),
            TENANT,
            t(2),
            SnapshotKind::Incremental,
            Some(&ghost)
        ),
        Err(StoreError::UnknownSnapshot(id)) if id == "ghost"
    ));
    assert_eq!(s.snapshot_info(&SnapshotId::from("b")).unwrap(), None);
    assert!(matches!(
        s.delete_snapshot(&ghost),
        Err(StoreError::UnknownSnapshot(_))
    ));
    assert!(matches!(
        s.finish_snapshot(&ghost, SnapshotStatus::Complete),
        Err(StoreError::UnknownSnapshot(_))
    ));
    assert!(matches!(
        s.load_snapshot(&ghost),
        Err(StoreError::UnknownSnapshot(_))
    ));
    assert!(matches!(
        s.put_resources(&ghost, &rows(&[flow("e", "f1", 1)])),
        Err(StoreError::UnknownSnapshot(_))
    ));
    assert!(matches!(
        s.mark_shard(&ghost, "k", ShardState::Pending, None),
        Err(StoreError::UnknownSnapshot(_))
    ));
    assert!(matches!(
        s.record_collection(
            &ghost,
            &entry(CollectionScope::Tenant, CollectionKind::Environments, 1)
        ),
        Err(StoreError::UnknownSnapshot(_))
    ));
    // Deleting a snapshot makes its id free again.
    s.delete_snapshot(&a).unwrap();
    assert_eq!(s.snapshot_info(&a).unwrap(), None);
    begin(s, "a", 3, None);
}

// ---- writing ----

pub fn put_resources_upserts_and_the_latest_write_wins(s: &mut dyn Snapshots) {
    let id = begin(s, "a", 1, None);
    s.put_resources(&id, &rows(&[flow("e", "f1", 1), flow("e", "f2", 1)]))
        .unwrap();
    let mut changed = flow("e", "f1", 5);
    changed.display_name = "renamed".into();
    s.put_resources(&id, &rows(&[changed.clone(), flow("e", "f2", 1)]))
        .unwrap();
    assert_eq!(flows_of(s, &id), [changed.clone(), flow("e", "f2", 1)]);
    // The same id twice in one call: one row, the later one.
    let mut last = flow("other-env", "f1", 6);
    last.display_name = "last".into();
    s.put_resources(&id, &rows(&[flow("e", "f1", 1), last.clone()]))
        .unwrap();
    assert_eq!(flows_of(s, &id), [last.clone(), flow("e", "f2", 1)]);
    assert_eq!(
        s.resource_versions(&id, StoreKind::Flow).unwrap()["f1"],
        Some(t(6))
    );
    // The same document under two ids, and an empty call.
    let mut twin = last.clone();
    twin.id = "f3".into();
    let mut same_json = ResourceRow::of(&twin).unwrap();
    same_json.json = ResourceRow::of(&last).unwrap().json;
    s.put_resources(&id, &[same_json]).unwrap();
    s.put_resources(&id, &[]).unwrap();
    assert_eq!(ids(s, &id, StoreKind::Flow), ["f1", "f2", "f3"]);
    assert_eq!(flows_of(s, &id)[2], last);
    // Kinds are apart: an app with a flow's id is another row.
    let app = App {
        id: "f1".into(),
        environment_id: "e".into(),
        ..Default::default()
    };
    s.put_resources(&id, &[ResourceRow::of(&app).unwrap()])
        .unwrap();
    assert_eq!(s.load_snapshot(&id).unwrap().apps, [app]);
    assert_eq!(flows_of(s, &id).len(), 3);
}

pub fn a_snapshot_of_every_kind_round_trips(s: &mut dyn Snapshots) {
    let sample = sample_snapshot("snap-1");
    let id = s.insert_snapshot(&sample).unwrap();
    assert_eq!(id.as_str(), "snap-1");
    assert_eq!(s.load_snapshot(&id).unwrap(), sample);
    let info = s.latest_snapshot(TENANT, true).unwrap().unwrap();
    assert_eq!(info.id, id);
    assert_eq!(info.status, SnapshotStatus::Complete);
    assert_eq!(info.kind, SnapshotKind::Full);
    assert!(info.finished_at.is_some());
    assert!(matches!(
        s.insert_snapshot(&sample),
        Err(StoreError::SnapshotExists(_))
    ));
    assert_eq!(s.load_snapshot(&id).unwrap(), sample);
    // A second copy under another id loads alike, documents shared.
    let again = Snapshot {
        id: "snap-2".into(),
        ..sample.clone()
    };
    let id2 = s.insert_snapshot(&again).unwrap();
    assert_eq!(s.load_snapshot(&id2).unwrap(), again);
    // An empty snapshot loads with nothing but its defaults.
    let e = begin(s, "empty", 5, None);
    let empty = s.load_snapshot(&e).unwrap();
    assert_eq!(empty.id, "empty");
    assert_eq!(empty.taken_at, t(5));
    assert!(empty.flows.is_empty() && empty.principals.is_empty());
    assert_eq!(empty.tenant_settings, None);
    assert!(empty.collection.entries.is_empty());
}

pub fn each_document_walks_a_kind_by_id(s: &mut dyn Snapshots) {
    let id = begin(s, "a", 1, None);
    let flows = [
        flow("e", "f10", 1),
        flow("e", "B", 1),
        flow("e", "f2", 1),
        flow("e", "a", 1),
        flow("e", "f1", 1),
    ];
    s.put_resources(&id, &rows(&flows)).unwrap();
    // Byte order, whatever the order written.
    assert_eq!(ids(s, &id, StoreKind::Flow), ["B", "a", "f1", "f10", "f2"]);
    assert!(ids(s, &id, StoreKind::App).is_empty());
    let mut docs = Vec::new();
    s.each_document(&id, StoreKind::Flow, &mut |rid, json| {
        docs.push((rid.to_string(), serde_json::from_str::<Flow>(json).unwrap()));
        Ok(())
    })
    .unwrap();
    assert_eq!(docs[1], ("a".to_string(), flow("e", "a", 1)));
    // An error from the callback stops the walk and comes back.
    let mut seen = 0;
    let err = s
        .each_document(&id, StoreKind::Flow, &mut |_, _| {
            seen += 1;
            Err(StoreError::BadValue {
                column: "test",
                value: "stop".into(),
            })
        })
        .unwrap_err();
    assert!(matches!(err, StoreError::BadValue { column: "test", .. }));
    assert_eq!(seen, 1);
    assert!(ids(s, &SnapshotId::from("ghost"), StoreKind::Flow).is_empty());
}

pub fn a_batch_dropped_without_commit_leaves_nothing(s: &mut dyn Snapshots) {
    let parent = begin(s, "p", 1, None);
    s.put_resources(&parent, &rows(&[flow("e", "f1", 1)]))
        .unwrap();
    let id = begin(s, "a", 2, Some("p"));
    {
        let mut b = s.batch(&id).unwrap();
        b.put_resources(&rows(&[flow("e", "f2", 2), flow("e", "f3", 2)]))
            .unwrap();
        assert_eq!(
            b.copy_unchanged(&parent, StoreKind::Flow, &["f1".into()])
                .unwrap(),
            1
        );
        b.record_collection(&entry(CollectionScope::Tenant, CollectionKind::Flows, 3))
            .unwrap();
        b.mark_shard("env:e:flows", ShardState::Done, None).unwrap();
        // Dropped without commit: a crash before the commit.
    }
    let loaded = s.load_snapshot(&id).unwrap();
    assert!(loaded.flows.is_empty());
    assert!(loaded.collection.entries.is_empty());
    assert!(s.done_shards(&id).unwrap().is_empty());
    assert!(
        s.resource_versions(&id, StoreKind::Flow)
            .unwrap()
            .is_empty()
    );
    // The parent is untouched and the store takes writes again.
    assert_eq!(flows_of(s, &parent), [flow("e", "f1", 1)]);
    s.put_resources(&id, &rows(&[flow("e", "f2", 2)])).unwrap();
    assert_eq!(flows_of(s, &id), [flow("e", "f2", 2)]);
}

pub fn a_committed_batch_lands_whole(s: &mut dyn Snapshots) {
    let id = begin(s, "a", 1, None);
    let mut b = s.batch(&id).unwrap();
    b.put_resources(&rows(&[flow("e", "f1", 1)])).unwrap();
    b.put_resources(&rows(&[flow("e", "f2", 2)])).unwrap();
    b.record_collection(&entry(CollectionScope::Tenant, CollectionKind::Flows, 2))
        .unwrap();
    b.mark_shard("env:e:flows", ShardState::Done, None).unwrap();
    b.commit().unwrap();
    assert_eq!(flows_of(s, &id), [flow("e", "f1", 1), flow("e", "f2", 2)]);
    assert_eq!(s.load_collection(&id).unwrap().entries.len(), 1);
    assert_eq!(s.done_shards(&id).unwrap().len(), 1);
    // A batch that only reads commits too.
    let b = s.batch(&id).unwrap();
    b.commit().unwrap();
}

pub fn copy_unchanged_carries_only_parent_rows_and_keeps_existing_ones(s: &mut dyn Snapshots) {
    let old = begin(s, "old", 1, None);
    s.put_resources(
        &old,
        &rows(&[flow("e", "f1", 1), flow("e", "f2", 2), flow("e", "f3", 3)]),
    )
    .unwrap();
    s.finish_snapshot(&old, SnapshotStatus::Complete).unwrap();
    let new = begin(s, "new", 2, Some("old"));
    // f2 changed (read again), f1 and f3 carried, `gone` is not in the parent.
    s.put_resources(&new, &rows(&[flow("e", "f2", 9)])).unwrap();
    let copied = s
        .copy_unchanged(
            &old,
            &new,
            StoreKind::Flow,
            &["f1".into(), "f3".into(), "f2".into(), "gone".into()],
        )
        .unwrap();
    assert_eq!(copied, 2);
    assert_eq!(
        flows_of(s, &new),
        [flow("e", "f1", 1), flow("e", "f2", 9), flow("e", "f3", 3)]
    );
    // Carried again: nothing new; another kind: nothing; none asked: nothing.
    assert_eq!(
        s.copy_unchanged(&old, &new, StoreKind::Flow, &["f1".into()])
            .unwrap(),
        0
    );
    assert_eq!(
        s.copy_unchanged(&old, &new, StoreKind::App, &["f1".into()])
            .unwrap(),
        0
    );
    assert_eq!(
        s.copy_unchanged(&old, &new, StoreKind::Flow, &[]).unwrap(),
        0
    );
    // The parent keeps its rows; deleting it keeps the carried ones.
    assert_eq!(flows_of(s, &old).len(), 3);
    s.delete_snapshot(&old).unwrap();
    assert_eq!(flows_of(s, &new).len(), 3);
    assert_eq!(s.snapshot_info(&new).unwrap().unwrap().parent, None);
    let versions = s.resource_versions(&new, StoreKind::Flow).unwrap();
    assert_eq!(versions["f3"], Some(t(3)));
}

pub fn carry_patches_the_parent_and_keeps_from_it(s: &mut dyn Snapshots) {
    let a = begin(s, "a", 1, None);
    let f = Flow {
        id: "f1".into(),
        environment_id: "e".into(),
        display_name: "one".into(),
        last_modified_time: Some(t(1)),
        definition: Some(json!({"actions": {}})),
        permissions: Some(vec![]),
        ..Default::default()
    };
    let f2 = Flow {
        id: "f2".into(),
        ..f.clone()
    };
    s.put_resources(&a, &rows(&[f.clone(), f2.clone()]))
        .unwrap();
    let b = begin(s, "b", 2, Some("a"));
    let mut set = Map::new();
    set.insert("display_name".into(), json!("patched"));
    let fresh_row = ResourceRow::of(&Flow {
        definition: None,
        display_name: "fresh".into(),
        ..f2
    })
    .unwrap();
    let carries = [
        Carry::Patch {
            kind: StoreKind::Flow,
            id: "f1".into(),
            set,
        },
        Carry::Keep {
            row: fresh_row,
            fields: vec!["definition"],
        },
        Carry::Patch {
            kind: StoreKind::Flow,
            id: "gone".into(),
            set: Map::new(),
        },
    ];
    let mut batch = s.batch(&b).unwrap();
    assert_eq!(batch.carry(&a, &carries).unwrap(), (2, 1));
    let parent = batch
        .parent_row(&a, StoreKind::Flow, "f1")
        .unwrap()
        .unwrap();
    assert_eq!(parent.0.as_deref(), Some("e"));
    assert_eq!(parent.1, Some(t(1)));
    assert_eq!(parent.2["display_name"], json!("one"));
    assert_eq!(batch.parent_row(&a, StoreKind::Flow, "gone").unwrap(), None);
    assert_eq!(batch.parent_row(&a, StoreKind::App, "f1").unwrap(), None);
    batch.commit().unwrap();
    let flows = flows_of(s, &b);
    assert_eq!(flows.len(), 2);
    assert_eq!(flows[0].display_name, "patched");
    assert_eq!(flows[0].definition, f.definition);
    assert_eq!(flows[0].last_modified_time, Some(t(1)));
    assert_eq!(flows[1].display_name, "fresh");
    assert_eq!(flows[1].definition, f.definition);
    assert_eq!(
        s.resource_versions(&b, StoreKind::Flow).unwrap()["f1"],
        Some(t(1))
    );
    // The parent is untouched.
    assert_eq!(
        flows_of(s, &a),
        [
            f.clone(),
            Flow {
                id: "f2".into(),
                ..f
            }
        ]
    );
}

pub fn record_collection_replaces_per_scope_and_kind_moving_it_last(s: &mut dyn Snapshots) {
    let id = begin(s, "a", 1, None);
    let env = CollectionScope::Environment("e".into());
    let failed = CollectionEntry {
        scope: env.clone(),
        kind: CollectionKind::Apps,
        state: CollectionState::Failed {
            http_status: Some(429),
            code: None,
            message: "throttled".into(),
        },
    };
    let tenant_envs = entry(CollectionScope::Tenant, CollectionKind::Environments, 1);
    let env_flows = entry(env.clone(), CollectionKind::Flows, 4);
    let ok = entry(env.clone(), CollectionKind::Apps, 1);
    s.record_collection(&id, &failed).unwrap();
    s.record_collection(&id, &tenant_envs).unwrap();
    s.record_collection(&id, &env_flows).unwrap();
    assert_eq!(
        s.load_collection(&id).unwrap().entries,
        [failed.clone(), tenant_envs.clone(), env_flows.clone()]
    );
    s.record_collection(&id, &ok).unwrap();
    assert_eq!(
        s.load_collection(&id).unwrap().entries,
        [tenant_envs.clone(), env_flows.clone(), ok.clone()]
    );
    // The same entries through CollectionStatus::record, as a crawl keeps them in memory.
    let mut mem = CollectionStatus::default();
    for e in [&failed, &tenant_envs, &env_flows, &ok] {
        mem.record(e.scope.clone(), e.kind, e.state.clone());
    }
    assert_eq!(s.load_collection(&id).unwrap(), mem);
    // Another environment's apps are another entry; the snapshot loads them in order.
    let other = entry(
        CollectionScope::Environment("e2".into()),
        CollectionKind::Apps,
        2,
    );
    s.record_collection(&id, &other).unwrap();
    assert_eq!(
        s.load_snapshot(&id).unwrap().collection.entries,
        [tenant_envs, env_flows, ok, other]
    );
    let b = begin(s, "b", 2, None);
    assert!(s.load_collection(&b).unwrap().entries.is_empty());
}

pub fn mark_shard_moves_a_shard_to_done_with_its_cursor(s: &mut dyn Snapshots) {
    let id = begin(s, "a", 1, None);
    let before = Utc::now() - chrono::Duration::seconds(1);
    s.mark_shard(&id, "env:b:flows", ShardState::Done, None)
        .unwrap();
    s.mark_shard(
        &id,
        "env:a:flows",
        ShardState::Pending,
        Some("https://next?page=2"),
    )
    .unwrap();
    s.mark_shard(&id, "env:c:apps", ShardState::Done, Some("last"))
        .unwrap();
    let done = s.done_shards(&id).unwrap();
    assert_eq!(
        done.iter().map(|d| d.key.as_str()).collect::<Vec<_>>(),
        ["env:b:flows", "env:c:apps"]
    );
    assert!(done.iter().all(|d| d.state == ShardState::Done));
    assert_eq!(done[1].cursor.as_deref(), Some("last"));
    assert!(done[0].updated_at >= before);
    s.mark_shard(&id, "env:a:flows", ShardState::Done, None)
        .unwrap();
    let done = s.done_shards(&id).unwrap();
    assert_eq!(done.len(), 3);
    assert_eq!(done[0].key, "env:a:flows");
    assert_eq!(done[0].cursor, None);
    // Back to pending: no longer done.
    s.mark_shard(&id, "env:b:flows", ShardState::Pending, Some("p"))
        .unwrap();
    assert_eq!(s.done_shards(&id).unwrap().len(), 2);
    let other = begin(s, "b", 2, None);
    assert!(s.done_shards(&other).unwrap().is_empty());
}

// ---- reading ----

pub fn resource_versions_map_ids_to_their_last_modified(s: &mut dyn Snapshots) {
    let id = begin(s, "a", 1, None);
    let mut undated = flow("e", "f3", 1);
    undated.last_modified_time = None;
    let mut precise = flow("e", "f4", 1);
    let at = t(4) + chrono::Duration::microseconds(123_456);
    precise.last_modified_time = Some(at);
    s.put_resources(
        &id,
        &rows(&[flow("e", "f1", 1), flow("e", "f2", 2), undated, precise]),
    )
    .unwrap();
    let v = s.resource_versions(&id, StoreKind::Flow).unwrap();
    assert_eq!(
        v,
        BTreeMap::from([
            ("f1".to_string(), Some(t(1))),
            ("f2".to_string(), Some(t(2))),
            ("f3".to_string(), None),
            ("f4".to_string(), Some(at)),
        ])
    );
    assert!(s.resource_versions(&id, StoreKind::App).unwrap().is_empty());
}

pub fn resource_field_reads_one_top_level_field_per_row(s: &mut dyn Snapshots) {
    let id = begin(s, "a", 1, None);
    let doc = |id: &str, v: Value| {
        ResourceRow::generic(StoreKind::Flow, Some("e"), id, None, &v).unwrap()
    };
    s.put_resources(
        &id,
        &[
            doc("s", json!({"f": "text with \"quotes\" and Ä", "g": 1})),
            doc("n", json!({"f": 42})),
            doc("x", json!({"f": -2.5})),
            doc("o", json!({"f": {"b": [1, "two", null], "a": {"c": "d"}}})),
            doc("l", json!({"f": ["x", 2]})),
            doc("null", json!({"f": null})),
            doc("missing", json!({"g": "other"})),
        ],
    )
    .unwrap();
    let got = s.resource_field(&id, StoreKind::Flow, "f").unwrap();
    assert_eq!(
        got,
        BTreeMap::from([
            ("s".to_string(), json!("text with \"quotes\" and Ä")),
            ("n".to_string(), json!(42)),
            ("x".to_string(), json!(-2.5)),
            (
                "o".to_string(),
                json!({"a": {"c": "d"}, "b": [1, "two", null]})
            ),
            ("l".to_string(), json!(["x", 2])),
            ("null".to_string(), Value::Null),
            ("missing".to_string(), Value::Null),
        ])
    );
    let g = s.resource_field(&id, StoreKind::Flow, "g").unwrap();
    assert_eq!(g["s"], json!(1));
    assert_eq!(g["missing"], json!("other"));
    assert_eq!(g["n"], Value::Null);
    assert!(
        s.resource_field(&id, StoreKind::App, "f")
            .unwrap()
            .is_empty()
    );
}

pub fn stamp_unset_times_only_touches_rows_without_a_time(s: &mut dyn Snapshots) {
    let id = begin(s, "a", 1, None);
    let principal = |pid: &str, at: Option<DateTime<Utc>>| {
        ResourceRow::generic(
            StoreKind::Principal,
            None,
            pid,
            at,
            &Principal {
                id: pid.into(),
                kind: PrincipalKind::User,
                status: PrincipalStatus::Active,
                guest: false,
                upn: None,
                mail: None,
                display_name: None,
            },
        )
        .unwrap()
    };
    s.put_resources(
        &id,
        &[
            principal("u1", None),
            principal("u2", Some(t(2))),
            principal("u3", None),
        ],
    )
    .unwrap();
    let mut undated = flow("e", "f1", 1);
    undated.last_modified_time = None;
    s.put_resources(&id, &rows(&[undated])).unwrap();
    let other = begin(s, "b", 2, None);
    s.put_resources(&other, &[principal("u1", None)]).unwrap();
    assert_eq!(
        s.stamp_unset_times(&id, StoreKind::Principal, t(9))
            .unwrap(),
        2
    );
    let v = s.resource_versions(&id, StoreKind::Principal).unwrap();
    assert_eq!(v["u1"], Some(t(9)));
    assert_eq!(v["u2"], Some(t(2)));
    assert_eq!(v["u3"], Some(t(9)));
    // Other kinds untouched; stamping again changes nothing.
    assert_eq!(
        s.resource_versions(&id, StoreKind::Flow).unwrap()["f1"],
        None
    );
    assert_eq!(
        s.stamp_unset_times(&id, StoreKind::Principal, t(10))
            .unwrap(),
        0
    );
    assert_eq!(
        s.resource_versions(&id, StoreKind::Principal).unwrap()["u1"],
        Some(t(9))
    );
    // Only this snapshot's rows.
    assert_eq!(s.stamp_unset_times(&id, StoreKind::Flow, t(11)).unwrap(), 1);
    assert_eq!(
        s.resource_versions(&other, StoreKind::Principal).unwrap()["u1"],
        None
    );
}

pub fn shared_documents_survive_until_their_last_snapshot_goes(s: &mut dyn Snapshots) {
    let a = begin(s, "a", 1, None);
    s.put_resources(&a, &rows(&[flow("e", "f1", 1), flow("e", "f2", 1)]))
        .unwrap();
    s.finish_snapshot(&a, SnapshotStatus::Complete).unwrap();
    let b = begin(s, "b", 2, Some("a"));
    // f1 the same document (written again), f2 carried, f3 new.
    let mut renamed = flow("e", "f3", 2);
    renamed.display_name = "renamed".into();
    s.put_resources(&b, &rows(&[flow("e", "f1", 1), renamed.clone()]))
        .unwrap();
    assert_eq!(
        s.copy_unchanged(&a, &b, StoreKind::Flow, &["f2".into()])
            .unwrap(),
        1
    );
    let c = begin(s, "c", 3, None);
    s.put_resources(&c, &rows(&[flow("e", "f2", 1)])).unwrap();

    s.delete_snapshot(&a).unwrap();
    assert_eq!(s.snapshot_info(&a).unwrap(), None);
    assert!(matches!(
        s.load_snapshot(&a),
        Err(StoreError::UnknownSnapshot(_))
    ));
    let want_b = [flow("e", "f1", 1), flow("e", "f2", 1), renamed.clone()];
    assert_eq!(flows_of(s, &b), want_b);
    s.delete_snapshot(&b).unwrap();
    assert_eq!(flows_of(s, &c), [flow("e", "f2", 1)]);
    // The documents went with their last snapshot: writing them again stores them again.
    let d = begin(s, "d", 4, None);
    s.put_resources(&d, &rows(&want_b)).unwrap();
    assert_eq!(flows_of(s, &d), want_b);
    s.delete_snapshot(&c).unwrap();
    s.delete_snapshot(&d).unwrap();
    assert!(s.list_snapshots(None).unwrap().is_empty());
}

// ---- refresh marks (made through the tenant's records) ----

/// Marks made through `marker` (the same tenant's records, on the same store) are pending for `s`
/// oldest first, and cleared by id; a mark made after the list was read survives the clear.
pub fn refresh_marks_made_through_records_are_pending_then_cleared_by_id(
    s: &mut dyn Snapshots,
    marker: &mut dyn Records,
) {
    let flow_ref = |id: &str| ResourceRef {
        kind: ResourceKind::Flow,
        id: id.into(),
        name: String::new(),
        environment_id: Some("env-1".into()),
    };
    assert!(s.pending_refresh_marks().unwrap().is_empty());
    assert_eq!(s.clear_refresh_marks(&[]).unwrap(), 0);
    let app = ResourceRef {
        kind: ResourceKind::App,
        id: "app-1".into(),
        name: String::new(),
        environment_id: None,
    };
    let before = Utc::now() - chrono::Duration::seconds(1);
    marker
        .mark_for_refresh(&[flow_ref("f1"), app], "audit: SharePermission")
        .unwrap();
    let marks = s.pending_refresh_marks().unwrap();
    assert_eq!(marks.len(), 2);
    assert_eq!(marks[0].kind, ResourceKind::Flow);
    assert_eq!(marks[0].id, "f1");
    assert_eq!(marks[0].environment_id.as_deref(), Some("env-1"));
    assert_eq!(marks[0].reason, "audit: SharePermission");
    assert!(marks[0].marked_at >= before);
    assert_eq!(marks[1].kind, ResourceKind::App);
    assert_eq!(marks[1].environment_id, None);
    assert!(marks[0].mark_id < marks[1].mark_id);
    marker.mark_for_refresh(&[flow_ref("f3")], "later").unwrap();
    let honoured: Vec<i64> = marks.iter().map(|m| m.mark_id).collect();
    assert_eq!(s.clear_refresh_marks(&honoured).unwrap(), 2);
    assert_eq!(s.clear_refresh_marks(&honoured).unwrap(), 0);
    let left = s.pending_refresh_marks().unwrap();
    assert_eq!(left.len(), 1);
    assert_eq!(left[0].id, "f3");
    assert_eq!(left[0].reason, "later");
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Store;

    #[test]
    fn the_snapshot_contract_on_sqlite() {
        for (name, check) in SNAPSHOT_CHECKS {
            eprintln!("check {name}");
            let mut s = Store::open_in_memory().unwrap();
            check(&mut s);
        }
    }

    #[test]
    fn refresh_marks_on_sqlite() {
        // Two stores on one file: the crawler's and the one marks are made through.
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s.db");
        let mut s = Store::open(&path).unwrap();
        let mut marker = Store::open(&path).unwrap();
        refresh_marks_made_through_records_are_pending_then_cleared_by_id(&mut s, &mut marker);
    }

    #[test]
    fn every_check_is_listed_once() {
        let mut names: Vec<&str> = SNAPSHOT_CHECKS.iter().map(|(n, _)| *n).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), SNAPSHOT_CHECKS.len());
    }
}
