//! Incremental crawls as true as full ones: mutations that do not move `lastModifiedTime`
//! (sharing, co-owners, new failed runs, a user disabled in Entra) are seen by an incremental
//! crawl once their facets are due (maximum ages of zero: at once), so its scan equals a fresh
//! full crawl's, finding for finding; an unchanged tenant is crawled again without refetching a
//! single flow definition; resources marked for refresh are read again whatever their age.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use ppgov_auth::{Credential, EntraTokenSource, SourceOptions};
use ppgov_client::{LimiterConfig, Request, Transport, TransportConfig};
use ppgov_config::{Endpoints, MaxAges, PostureConfig};
use ppgov_core::{
    Facet, PrincipalKind, PrincipalStatus, ResourceKind, ResourceRef, RuleStatus, Snapshot,
};
use ppgov_crawl::{Clients, CrawlOptions, CrawlSummary, crawl};
use ppgov_emulator::server::Emulator;
use ppgov_engine::ScanOptions;
use ppgov_store::{SnapshotKind, Store};
use serde_json::json;
use std::collections::BTreeSet;
use std::path::Path;
use std::sync::Arc;

mod common;
use common::emulator;

fn fast() -> TransportConfig {
    TransportConfig {
        limiter: LimiterConfig {
            initial_rate: 5_000.0,
            max_rate: 5_000.0,
            concurrency_per_host: 16,
            ..LimiterConfig::default()
        },
        ..TransportConfig::default()
    }
}

fn clients(emu: &Emulator) -> (Clients, Transport, Endpoints) {
    let ready = emu.ready();
    let endpoints = Endpoints::all_at(&url::Url::parse(&ready.url).unwrap());
    let tokens = EntraTokenSource::new(
        Credential::ClientSecret {
            client_id: ready.client_id.clone(),
            secret: ready.client_secret.clone().into(),
        },
        &ready.tenant_id,
        &endpoints.login,
        SourceOptions::default(),
    );
    let transport = Transport::with_config(Arc::new(tokens), fast()).unwrap();
    (
        Clients::new(transport.clone(), &endpoints),
        transport,
        endpoints,
    )
}

async fn crawl_once(
    c: &Clients,
    path: &Path,
    tenant: &str,
    max_age: MaxAges,
    full: bool,
) -> (CrawlSummary, Snapshot) {
    let (summary, store) = crawl(
        c.clone(),
        Box::new(Store::open(path).unwrap()),
        tenant,
        CrawlOptions {
            max_age,
            full,
            ..Default::default()
        },
    )
    .await
    .unwrap();
    assert!(summary.failures.is_empty(), "{:?}", summary.failures);
    let s = store.load_snapshot(&summary.snapshot_id).unwrap();
    (summary, s)
}

/// (rule, resource, message) of each finding.
type Findings = BTreeSet<(String, String, String)>;

/// What a scan says, without observation times: rule statuses (errored or not) and findings.
fn verdict(s: &Snapshot) -> (Vec<(String, bool)>, Findings) {
    let r = ppgov_engine::scan(s, &PostureConfig::default(), &ScanOptions::default());
    let rules = r
        .rules
        .iter()
        .map(|x| {
            (
                x.rule_id.clone(),
                matches!(x.status, RuleStatus::Error { .. }),
            )
        })
        .collect();
    let findings = r
        .findings
        .iter()
        .map(|f| (f.rule_id.clone(), f.resource.id.clone(), f.message.clone()))
        .collect();
    (rules, findings)
}

fn has(f: &Findings, rule: &str, id: &str) -> bool {
    f.iter().any(|(r, i, _)| r == rule && i == id)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn incremental_crawl_with_zero_ages_equals_a_full_crawl_after_mutations() {
    let emu = emulator(3).await;
    let tenant = emu.ready().tenant_id.clone();
    let (c, transport, endpoints) = clients(&emu);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("store.db");

    let (first, before) = crawl_once(&c, &path, &tenant, MaxAges::default(), false).await;
    assert_eq!(first.kind, SnapshotKind::Full);
    assert!(
        before
            .flows
            .iter()
            .all(|f| f.observed.get(Facet::Runs).is_some())
    );

    // An unchanged tenant, default ages: no flow definition is fetched again (the list's
    // whole-second times match the GET's seven-digit ones at the precision they share).
    let reads = emu.flow_definition_reads();
    let (second, same) = crawl_once(&c, &path, &tenant, MaxAges::default(), false).await;
    assert_eq!(second.kind, SnapshotKind::Incremental);
    assert_eq!(
        emu.flow_definition_reads(),
        reads,
        "flow definitions refetched"
    );
    let defs = second.facets[&Facet::Definition];
    assert_eq!(defs.read, 0);
    assert!(defs.carried >= before.flows.len() as u64);
    assert_eq!(verdict(&same), verdict(&before));

    // Mutations through the emulator's real write APIs, none of which moves lastModifiedTime.
    let before_v = verdict(&before);
    let active = |id: &str| {
        before.principal(id).is_some_and(|p| {
            p.kind == PrincipalKind::User && p.status == PrincipalStatus::Active && !p.guest
        })
    };
    // 1. An app shared with everyone.
    let shared = before
        .apps
        .iter()
        .find(|a| !has(&before_v.1, "PPG-APP-001", &a.id))
        .unwrap()
        .clone();
    c.powerapps
        .modify_app_permissions(
            &shared.environment_id,
            &shared.id,
            &json!({"put": [{"properties": {"principal": {"id": tenant, "type": "Tenant"}, "roleName": "CanView"}}]}),
        )
        .await
        .unwrap();
    // 2. An active co-owner added to an orphaned flow (PPG-FLW-002 goes away).
    let single = before
        .flows
        .iter()
        .find(|f| has(&before_v.1, "PPG-FLW-002", &f.id))
        .unwrap()
        .clone();
    let co_owner = before
        .principals
        .values()
        .find(|p| active(&p.id) && Some(&p.id) != single.creator.as_ref())
        .unwrap()
        .id
        .clone();
    c.flow
        .modify_flow_permissions(
            &single.environment_id,
            &single.id,
            &json!({"put": [{"properties": {"principal": {"id": co_owner, "type": "User"}, "roleName": "Owner"}}]}),
        )
        .await
        .unwrap();
    // 3. New failed runs (no API makes runs: the emulator's control hook).
    let failing = before
        .flows
        .iter()
        .find(|f| f.id != single.id && !has(&before_v.1, "PPG-FLW-005", &f.id))
        .unwrap()
        .clone();
    assert!(emu.add_failed_runs(&failing.environment_id, &failing.id, 400));
    // 4. An app owner disabled in Entra (Graph PATCH).
    let orphaned = before
        .apps
        .iter()
        .find(|a| {
            a.id != shared.id
                && a.owner.as_ref().is_some_and(|o| active(&o.id))
                && !has(&before_v.1, "PPG-APP-002", &a.id)
        })
        .unwrap()
        .clone();
    let owner = orphaned.owner.clone().unwrap().id;
    // ppgov's app registration only reads the directory: an admin signs in to disable the user.
    let ready = emu.ready();
    let admin = Transport::with_config(
        Arc::new(EntraTokenSource::new(
            Credential::Password {
                client_id: ppgov_emulator::scenario::wellknown::PUBLIC_CLIENT_ID.into(),
                username: ready.username.clone(),
                password: ready.password.clone().into(),
            },
            &ready.tenant_id,
            &endpoints.login,
            SourceOptions::default(),
        )),
        fast(),
    )
    .unwrap();
    drop(transport);
    let url = endpoints
        .graph
        .join(&format!("v1.0/users/{owner}"))
        .unwrap();
    admin
        .send(
            Request::patch(url, endpoints.scopes.graph.clone())
                .json(&json!({"accountEnabled": false}))
                .unwrap(),
        )
        .await
        .unwrap();
    // 5. A user added (Graph POST members/$ref) to the Entra group of a group team holding
    //    System Administrator: a new standing admin, no lastModifiedTime moves.
    let admin_group = before
        .role_assignments
        .iter()
        .find_map(|r| r.via_group.clone())
        .unwrap();
    let newcomer = before
        .principals
        .values()
        .find(|p| {
            active(&p.id)
                && p.id != owner
                && !before
                    .role_assignments
                    .iter()
                    .any(|r| r.principal_id == p.id && r.via_group.as_deref() == Some(&admin_group))
        })
        .unwrap()
        .id
        .clone();
    let url = endpoints
        .graph
        .join(&format!("v1.0/groups/{admin_group}/members/$ref"))
        .unwrap();
    admin
        .send(
            Request::post(url, endpoints.scopes.graph.clone())
                .json(&json!({"@odata.id": format!("https://graph.microsoft.com/v1.0/directoryObjects/{newcomer}")}))
                .unwrap(),
        )
        .await
        .unwrap();

    // Zero maximum ages: the incremental crawl reads every facet again.
    let (inc, after) = crawl_once(&c, &path, &tenant, MaxAges::zero(), false).await;
    assert_eq!(inc.kind, SnapshotKind::Incremental);
    let fresh = dir.path().join("fresh.db");
    let (_, full) = crawl_once(&c, &fresh, &tenant, MaxAges::default(), true).await;
    // lastModifiedTime did not move on any mutated resource.
    let lm_app = |s: &Snapshot, id: &str| {
        s.apps
            .iter()
            .find(|a| a.id == id)
            .unwrap()
            .last_modified_time
    };
    let lm_flow = |s: &Snapshot, id: &str| {
        s.flows
            .iter()
            .find(|f| f.id == id)
            .unwrap()
            .last_modified_time
    };
    assert_eq!(lm_app(&full, &shared.id), lm_app(&before, &shared.id));
    assert_eq!(lm_app(&full, &orphaned.id), lm_app(&before, &orphaned.id));
    assert_eq!(lm_flow(&full, &single.id), lm_flow(&before, &single.id));
    assert_eq!(lm_flow(&full, &failing.id), lm_flow(&before, &failing.id));

    let (inc_v, full_v) = (verdict(&after), verdict(&full));
    assert_eq!(inc_v.0, full_v.0, "rule statuses differ");
    let only_inc: Vec<_> = inc_v.1.difference(&full_v.1).collect();
    let only_full: Vec<_> = full_v.1.difference(&inc_v.1).collect();
    assert!(
        only_inc.is_empty() && only_full.is_empty(),
        "incremental only {only_inc:#?}\nfull only {only_full:#?}"
    );
    // And the mutations are in it (the comparison is not between two stale scans).
    assert!(has(&inc_v.1, "PPG-APP-001", &shared.id));
    assert!(!has(&inc_v.1, "PPG-FLW-002", &single.id));
    assert!(has(&inc_v.1, "PPG-FLW-005", &failing.id));
    assert!(has(&inc_v.1, "PPG-APP-002", &orphaned.id));
    assert!(
        after.role_assignments.iter().any(|r| {
            r.principal_id == newcomer && r.via_group.as_deref() == Some(&admin_group)
        })
    );
    // Findings on carried resources say when their facets were observed.
    let report = ppgov_engine::scan(&after, &PostureConfig::default(), &ScanOptions::default());
    let f = report
        .findings
        .iter()
        .find(|f| f.rule_id == "PPG-FLW-005" && f.resource.id == failing.id)
        .unwrap();
    assert_eq!(f.evidence["observed"]["runs"]["ok"], true);
    emu.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn marked_resources_are_read_again_whatever_their_age() {
    let emu = emulator(4).await;
    let tenant = emu.ready().tenant_id.clone();
    let (c, _, _) = clients(&emu);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("store.db");
    let (_, before) = crawl_once(&c, &path, &tenant, MaxAges::default(), false).await;
    let app = before
        .apps
        .iter()
        .find(|a| {
            a.permissions
                .as_ref()
                .is_some_and(|p| p.iter().all(|x| x.principal.principal_type != "Tenant"))
        })
        .unwrap()
        .clone();
    c.powerapps
        .modify_app_permissions(
            &app.environment_id,
            &app.id,
            &json!({"put": [{"properties": {"principal": {"id": tenant, "type": "Tenant"}, "roleName": "CanView"}}]}),
        )
        .await
        .unwrap();
    let everyone = |s: &Snapshot| {
        s.apps
            .iter()
            .find(|a| a.id == app.id)
            .and_then(|a| a.permissions.as_ref())
            .is_some_and(|p| p.iter().any(|x| x.principal.principal_type == "Tenant"))
    };
    // Default ages: the young access list is carried forward, the change not yet seen.
    let (_, stale) = crawl_once(&c, &path, &tenant, MaxAges::default(), false).await;
    assert!(!everyone(&stale));
    // Marked (as audit ingestion does on a SharePermission event): read at once.
    {
        let mut store = Store::open(&path).unwrap();
        let r = ResourceRef {
            kind: ResourceKind::App,
            id: app.id.clone(),
            name: app.display_name.clone(),
            environment_id: Some(app.environment_id.clone()),
        };
        store
            .mark_for_refresh(&[r], "audit: SharePermission")
            .unwrap();
    }
    let (summary, fresh) = crawl_once(&c, &path, &tenant, MaxAges::default(), false).await;
    assert!(everyone(&fresh));
    assert_eq!(summary.marks_cleared, 1);
    assert!(
        Store::open(&path)
            .unwrap()
            .pending_refresh_marks()
            .unwrap()
            .is_empty()
    );
    emu.shutdown().await.unwrap();
}

/// Issue 13 item 5: a flow shared after a crawl shows its new access list after `audit ingest`
/// and the next incremental crawl, with default (24 h) maximum ages that would otherwise carry
/// the old list forward.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_flow_shared_after_a_crawl_is_seen_after_audit_ingest_and_the_next_crawl() {
    let emu = emulator(5).await;
    let tenant = emu.ready().tenant_id.clone();
    let (c, _, _) = clients(&emu);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("store.db");
    let (_, before) = crawl_once(&c, &path, &tenant, MaxAges::default(), false).await;
    let flow = before
        .flows
        .iter()
        .find(|f| f.permissions.as_ref().is_some_and(|p| !p.is_empty()))
        .unwrap()
        .clone();
    let holders = |s: &Snapshot| -> BTreeSet<String> {
        s.flows
            .iter()
            .find(|f| f.id == flow.id)
            .and_then(|f| f.permissions.as_ref())
            .map(|p| p.iter().map(|x| x.principal.id.to_lowercase()).collect())
            .unwrap_or_default()
    };
    let newcomer = before
        .principals
        .values()
        .find(|p| p.kind == PrincipalKind::User && !holders(&before).contains(&p.id.to_lowercase()))
        .unwrap()
        .id
        .clone();
    c.flow
        .modify_flow_permissions(
            &flow.environment_id,
            &flow.id,
            &json!({"put": [{"properties": {"principal": {"id": newcomer, "type": "User"}, "roleName": "CanEdit"}}]}),
        )
        .await
        .unwrap();
    // Default ages: the young access list is carried forward; the share is not seen yet.
    let (_, stale) = crawl_once(&c, &path, &tenant, MaxAges::default(), false).await;
    assert!(!holders(&stale).contains(&newcomer.to_lowercase()));

    // The audit record of the share (Power Automate, RecordType 30), ingested from a file.
    let record = json!({
        "Id": "7f1e2d3c-0000-4000-8000-000000000001",
        "RecordType": 30,
        "CreationTime": "2026-11-30T10:00:00",
        "Operation": "PutPermissions",
        "UserId": "admin@contoso.example",
        "UserType": 0,
        "Workload": "PowerAutomate",
        "ObjectId": flow.id,
        "FlowDetailsUrl": format!(
            "https://make.powerautomate.com/manage/environments/{}/flows/{}/details",
            flow.environment_id, flow.id
        ),
        "FlowConnectorNames": "SharePoint",
        "RecipientUPN": "someone@contoso.example"
    });
    let file = dir.path().join("audit.jsonl");
    std::fs::write(&file, format!("{record}\n")).unwrap();
    {
        let mut store = Store::open(&path).unwrap();
        let mut ing = ppgov_audit::Ingestor::new(&mut store);
        ppgov_audit::files::read_path(
            &file,
            Some(ppgov_audit::files::Format::JsonLines),
            &mut |(pos, raw)| ing.push(pos, raw),
        )
        .unwrap();
        let outcome = ing.finish().unwrap();
        assert_eq!(outcome.stored, 1);
        assert_eq!(outcome.marked_for_refresh, 1);
    }
    let (summary, fresh) = crawl_once(&c, &path, &tenant, MaxAges::default(), false).await;
    assert!(holders(&fresh).contains(&newcomer.to_lowercase()));
    assert_eq!(summary.marks_cleared, 1);
    emu.shutdown().await.unwrap();
}

/// Issue 9 item 1, role holders as a facet: an incremental crawl carries each environment's
/// admin role holders while they are younger than `[crawl.max_age] role_holders`, reads them
/// again at age zero, and never carries holders whose read failed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn role_holders_are_carried_while_young_and_read_again_when_due_or_failed() {
    let emu = emulator(3).await;
    let tenant = emu.ready().tenant_id.clone();
    let (c, _, _) = clients(&emu);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("store.db");
    let holders = |s: &Snapshot| -> BTreeSet<String> {
        s.role_assignments
            .iter()
            .map(|r| {
                format!(
                    "{}/{}/{}/{:?}",
                    r.environment_id, r.principal_id, r.role, r.via_group
                )
            })
            .collect()
    };

    let (first, full) = crawl_once(&c, &path, &tenant, MaxAges::default(), false).await;
    let n = full.role_assignments.len() as u64;
    assert!(n > 0);
    assert_eq!(first.facets[&Facet::RoleHolders].read, n);
    assert_eq!(first.facets[&Facet::RoleHolders].carried, 0);

    // Young: carried, not read; the snapshot and its verdict are the same.
    let (second, carried) = crawl_once(&c, &path, &tenant, MaxAges::default(), false).await;
    assert_eq!(second.facets[&Facet::RoleHolders].read, 0);
    assert_eq!(second.facets[&Facet::RoleHolders].carried, n);
    assert_eq!(holders(&carried), holders(&full));
    assert_eq!(verdict(&carried), verdict(&full));

    // Age zero: every environment's holders are read again.
    let zero = MaxAges {
        role_holders: Some(chrono::Duration::zero()),
        ..MaxAges::default()
    };
    let (third, read) = crawl_once(&c, &path, &tenant, zero, false).await;
    assert_eq!(third.facets[&Facet::RoleHolders].read, n);
    assert_eq!(third.facets[&Facet::RoleHolders].carried, 0);
    assert_eq!(holders(&read), holders(&full));

    // A failed read is never carried forward as collected.
    let path = dir.path().join("failed.db");
    emu.forbid_all_but_environment_list(true);
    let (failed, _) = crawl(
        c.clone(),
        Box::new(Store::open(&path).unwrap()),
        &tenant,
        CrawlOptions::default(),
    )
    .await
    .unwrap();
    assert!(!failed.failures.is_empty());
    emu.forbid_all_but_environment_list(false);
    let (after, healed) = crawl_once(&c, &path, &tenant, MaxAges::default(), false).await;
    assert_eq!(after.kind, SnapshotKind::Incremental);
    assert_eq!(after.facets[&Facet::RoleHolders].carried, 0);
    assert_eq!(after.facets[&Facet::RoleHolders].read, n);
    assert_eq!(holders(&healed), holders(&full));
    emu.shutdown().await.unwrap();
}
