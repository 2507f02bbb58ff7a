//! Crawls over real HTTP against the emulator: the snapshot holds exactly the emulator's
//! resources, principals are resolved correctly, faults and throttling lose nothing, and an
//! interrupted crawl resumes to the same snapshot.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use ppgov_auth::{Credential, EntraTokenSource, SourceOptions};
use ppgov_client::{LimiterConfig, Transport, TransportConfig};
use ppgov_config::Endpoints;
use ppgov_core::{PrincipalStatus, Snapshot};
use ppgov_crawl::{Clients, CrawlOptions, crawl};
use ppgov_emulator::server::{Emulator, ServeOptions};
use ppgov_emulator::tenant::Size;
use ppgov_store::Store;
use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;

async fn emulator(opts: ServeOptions) -> Emulator {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    Emulator::start(listener, opts).await.unwrap()
}

fn clients(emu: &Emulator) -> Clients {
    clients_as(emu, false)
}

/// Signed in as the admin service principal, or with `delegated` as the admin user.
fn clients_as(emu: &Emulator, delegated: bool) -> Clients {
    let ready = emu.ready();
    let base = url::Url::parse(&ready.url).unwrap();
    let endpoints = Endpoints::all_at(&base);
    let credential = if delegated {
        Credential::Password {
            client_id: ppgov_emulator::scenario::wellknown::PUBLIC_CLIENT_ID.into(),
            username: ready.username.clone(),
            password: ready.password.clone().into(),
        }
    } else {
        Credential::ClientSecret {
            client_id: ready.client_id.clone(),
            secret: ready.client_secret.clone().into(),
        }
    };
    let tokens = EntraTokenSource::new(
        credential,
        &ready.tenant_id,
        &endpoints.login,
        SourceOptions::default(),
    );
    let transport = Transport::with_config(Arc::new(tokens), fast()).unwrap();
    Clients::new(transport, &endpoints)
}

struct Expected {
    environments: BTreeSet<String>,
    apps: BTreeSet<String>,
    flows: BTreeSet<String>,
    connections: BTreeSet<String>,
}

fn expected(emu: &Emulator) -> Expected {
    let t = emu.tenant();
    let mut e = Expected {
        environments: BTreeSet::new(),
        apps: BTreeSet::new(),
        flows: BTreeSet::new(),
        connections: BTreeSet::new(),
    };
    for env in &t.environments {
        e.environments.insert(env.name.clone());
        let content = t.env_content(env.index);
        let name = |v: &serde_json::Value| v["name"].as_str().unwrap().to_string();
        e.apps.extend(content.apps.iter().map(|a| name(&a.doc)));
        e.flows.extend(content.flows.iter().map(|f| name(&f.doc)));
        e.connections
            .extend(content.connections.iter().map(|c| name(&c.doc)));
    }
    e
}

fn ids<T>(items: &[T], f: impl Fn(&T) -> &str) -> BTreeSet<String> {
    items.iter().map(|i| f(i).to_string()).collect()
}

fn assert_complete(s: &Snapshot, e: &Expected) {
    assert_eq!(ids(&s.environments, |x| &x.id), e.environments);
    assert_eq!(ids(&s.apps, |x| &x.id), e.apps);
    assert_eq!(ids(&s.flows, |x| &x.id), e.flows);
    assert_eq!(ids(&s.connections, |x| &x.id), e.connections);
    // No duplicates: as many resources as distinct ids.
    assert_eq!(s.apps.len(), e.apps.len());
    assert_eq!(s.flows.len(), e.flows.len());
    assert_eq!(s.connections.len(), e.connections.len());
    assert!(
        s.flows
            .iter()
            .all(|f| f.definition.is_some() && f.permissions.is_some() && f.runs.is_some()),
        "every flow has its details"
    );
    assert!(s.tenant_settings.is_some() && s.tenant_isolation.is_some());
    assert!(!s.dlp_policies.is_empty());
}

async fn crawl_into(
    emu: &Emulator,
    store: Store,
    opts: CrawlOptions,
) -> (Snapshot, Box<dyn ppgov_store::Snapshots>) {
    let tenant = emu.ready().tenant_id.clone();
    let (summary, store) = crawl(clients(emu), Box::new(store), &tenant, opts)
        .await
        .unwrap();
    assert!(
        summary.failures.is_empty(),
        "collection failures: {:?}",
        summary.failures
    );
    let snap = store.load_snapshot(&summary.snapshot_id).unwrap();
    (snap, store)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn small_tenant_is_collected_exactly_and_principals_resolve() {
    for seed in [1, 2] {
        let emu = emulator(ServeOptions {
            size: Size::Small,
            seed,
            ..Default::default()
        })
        .await;
        let (snap, _) = crawl_into(
            &emu,
            Store::open_in_memory().unwrap(),
            CrawlOptions::default(),
        )
        .await;
        let e = expected(&emu);
        assert_complete(&snap, &e);

        // Every planted orphan, guest and deleted principal is resolved as the directory says.
        let users = emu.tenant().directory.users.clone();
        let mut checked = 0;
        for u in &users {
            let Some(p) = snap.principal(&u.id) else {
                continue;
            };
            checked += 1;
            let want = if u.deleted {
                PrincipalStatus::Deleted
            } else if !u.enabled {
                PrincipalStatus::Disabled
            } else {
                PrincipalStatus::Active
            };
            assert_eq!(p.status, want, "user {} ({})", u.upn, u.id);
            if !u.deleted {
                assert_eq!(p.guest, u.guest, "guest flag of {}", u.upn);
            }
        }
        assert!(checked > 10, "principals were resolved ({checked})");
        assert!(
            snap.principals
                .values()
                .any(|p| p.status == PrincipalStatus::Deleted),
            "a deleted principal is referenced"
        );
        emu.shutdown().await.unwrap();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn faults_and_throttling_lose_nothing() {
    let emu = emulator(ServeOptions {
        size: Size::Small,
        seed: 3,
        fault_rate: 0.05,
        rate_limit: Some(400.0),
        ..Default::default()
    })
    .await;
    let (snap, _) = crawl_into(
        &emu,
        Store::open_in_memory().unwrap(),
        CrawlOptions::default(),
    )
    .await;
    assert_complete(&snap, &expected(&emu));
    emu.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn interrupted_crawl_resumes_to_the_same_snapshot() {
    let emu = emulator(ServeOptions {
        size: Size::Small,
        seed: 4,
        latency: Duration::from_millis(5),
        ..Default::default()
    })
    .await;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("store.db");
    let tenant = emu.ready().tenant_id.clone();

    // Stop the first crawl part-way, as a kill would: the future is dropped mid-flight.
    let first = crawl(
        clients(&emu),
        Box::new(Store::open(&path).unwrap()),
        &tenant,
        CrawlOptions {
            concurrency: 2,
            ..Default::default()
        },
    );
    // The cut is an event, not a duration: once the emulator has served a tenth of what a
    // whole crawl asks (about 1,200 requests for this tenant), the crawl is dropped at its next
    // wake-up, however fast or slow the machine.
    let mut first = Box::pin(first);
    let cut_midway = std::future::poll_fn(|cx| match first.as_mut().poll(cx) {
        std::task::Poll::Ready(_) => std::task::Poll::Ready(false),
        std::task::Poll::Pending if emu.request_count() >= 120 => std::task::Poll::Ready(true),
        std::task::Poll::Pending => std::task::Poll::Pending,
    })
    .await;
    drop(first);
    assert!(cut_midway, "the crawl should still be running");
    // Give the writer thread a moment to notice its senders are gone and release the database.
    let mut store = None;
    for _ in 0..100 {
        if let Ok(s) = Store::open(&path)
            && s.unfinished_snapshot(&tenant).unwrap().is_some()
        {
            store = Some(s);
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let store = store.expect("an unfinished snapshot to resume");
    let (resumed, _) = crawl_into(
        &emu,
        store,
        CrawlOptions {
            resume: true,
            ..Default::default()
        },
    )
    .await;
    let (fresh, _) = crawl_into(
        &emu,
        Store::open_in_memory().unwrap(),
        CrawlOptions::default(),
    )
    .await;
    assert_complete(&resumed, &expected(&emu));
    assert_eq!(ids(&resumed.flows, |f| &f.id), ids(&fresh.flows, |f| &f.id));
    assert_eq!(
        resumed.principals.keys().collect::<Vec<_>>(),
        fresh.principals.keys().collect::<Vec<_>>()
    );
    assert_eq!(resumed.role_assignments.len(), fresh.role_assignments.len());
    emu.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn incremental_crawl_refetches_only_changes_and_sees_deletions() {
    let emu = emulator(ServeOptions {
        size: Size::Small,
        seed: 5,
        ..Default::default()
    })
    .await;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("store.db");
    let c = clients(&emu);
    let tenant = emu.ready().tenant_id.clone();
    let (full, store) = crawl(
        c.clone(),
        Box::new(Store::open(&path).unwrap()),
        &tenant,
        CrawlOptions::default(),
    )
    .await
    .unwrap();
    assert_eq!(full.kind, ppgov_store::SnapshotKind::Full);

    // Delete one flow through the API, then crawl again.
    let victim = {
        let s = store.load_snapshot(&full.snapshot_id).unwrap();
        s.flows[0].clone()
    };
    c.flow
        .delete_flow(&victim.environment_id, &victim.id)
        .await
        .unwrap();
    let (inc, store) = crawl(c, store, &tenant, CrawlOptions::default())
        .await
        .unwrap();
    assert_eq!(inc.kind, ppgov_store::SnapshotKind::Incremental);
    assert!(
        inc.requests * 2 < full.requests,
        "incremental {} vs full {} requests",
        inc.requests,
        full.requests
    );
    let s = store.load_snapshot(&inc.snapshot_id).unwrap();
    assert!(
        s.flows.iter().all(|f| f.id != victim.id),
        "the deleted flow is gone"
    );
    let before = store.load_snapshot(&full.snapshot_id).unwrap();
    assert_eq!(s.flows.len() + 1, before.flows.len());
    assert!(
        s.flows.iter().all(|f| f.definition.is_some()),
        "carried-forward flows keep their definitions"
    );
    emu.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn delegated_sign_in_lists_flows_through_the_inventory() {
    let emu = emulator(ServeOptions {
        size: Size::Small,
        seed: 4,
        ..Default::default()
    })
    .await;
    let tenant = emu.ready().tenant_id.clone();
    let envs = emu.tenant().environments.len() as u64;
    let crawl_as = |delegated: bool, inventory: bool| {
        let c = clients_as(&emu, delegated);
        let tenant = tenant.clone();
        let emu = &emu;
        async move {
            let graph_before = emu.graph_request_count();
            let (summary, store) = crawl(
                c,
                Box::new(Store::open_in_memory().unwrap()),
                &tenant,
                CrawlOptions {
                    inventory,
                    ..CrawlOptions::default()
                },
            )
            .await
            .unwrap();
            assert!(summary.failures.is_empty(), "{:?}", summary.failures);
            // Graph requests left out: how the principal resolver batches ids depends on when
            // they arrive, which is not what this test is about.
            let graph = emu.graph_request_count() - graph_before;
            (
                store.load_snapshot(&summary.snapshot_id).unwrap(),
                summary.requests - graph,
            )
        }
    };
    let (app_only, app_only_requests) = crawl_as(false, true).await;
    let (delegated, delegated_requests) = crawl_as(true, true).await;
    let (listed, listed_requests) = crawl_as(true, false).await;
    assert_complete(&delegated, &expected(&emu));
    // The same flows with the same details, whichever way they were listed.
    let key = |s: &Snapshot| -> Vec<_> {
        s.flows
            .iter()
            .map(|f| {
                (
                    f.id.clone(),
                    f.display_name.clone(),
                    f.last_modified_time,
                    f.runs.clone(),
                )
            })
            .collect()
    };
    assert_eq!(key(&delegated), key(&app_only));
    assert_eq!(key(&listed), key(&app_only));
    // One inventory page instead of a flow list per environment.
    assert!(
        delegated_requests + envs - 1 <= app_only_requests,
        "delegated {delegated_requests} vs app-only {app_only_requests} requests"
    );
    // Without the inventory, a delegated crawl lists per environment like an app-only one.
    assert!(
        delegated_requests + envs - 1 <= listed_requests,
        "delegated {delegated_requests} vs listed per environment {listed_requests} requests"
    );
    emu.shutdown().await.unwrap();
}

/// A transport that starts fast and lets the emulator's 429s, not a cautious default, set the pace.
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

/// Issue 9 item 2: ids are resolved by what Graph says they are, whatever type (if any) the
/// payload recorded; nothing is deleted that Graph still has; empty strings are absent values.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn principals_resolve_by_what_graph_says_they_are() {
    let emu = emulator(ServeOptions {
        size: Size::Small,
        seed: 1,
        ..Default::default()
    })
    .await;
    let (snap, _) = crawl_into(
        &emu,
        Store::open_in_memory().unwrap(),
        CrawlOptions::default(),
    )
    .await;
    let dir = emu.tenant().directory.clone();
    // The emulator serves BAP role assignments without a type, a group among them.
    let typeless: Vec<_> = snap
        .role_assignments
        .iter()
        .filter(|r| r.principal_type.is_empty())
        .collect();
    assert!(!typeless.is_empty(), "typeless role holders are served");
    let group_admins: Vec<_> = typeless
        .iter()
        .filter(|r| dir.groups.iter().any(|g| g.id == r.principal_id))
        .collect();
    assert!(
        !group_admins.is_empty(),
        "a typeless group holds a BAP role"
    );
    for r in &group_admins {
        let p = snap.principal(&r.principal_id).unwrap();
        assert_eq!(
            p.kind,
            ppgov_core::PrincipalKind::Group,
            "{}",
            r.principal_id
        );
        assert_eq!(p.status, PrincipalStatus::Active, "{}", r.principal_id);
        assert_eq!(r.principal_name, None, "an empty displayName is no name");
        assert_eq!(r.principal_upn, None, "an empty email is no e-mail");
    }
    // Every principal Graph has is resolved as what it is; only ids Graph lacks are deleted.
    for (id, p) in &snap.principals {
        let user = dir.users.iter().find(|u| &u.id == id);
        let group = dir.groups.iter().any(|g| &g.id == id);
        let app = dir.apps.iter().any(|a| &a.object_id == id);
        let want = match (user, group, app) {
            (Some(u), _, _) if !u.deleted => ppgov_core::PrincipalKind::User,
            (_, true, _) => ppgov_core::PrincipalKind::Group,
            (_, _, true) => ppgov_core::PrincipalKind::ServicePrincipal,
            _ => {
                assert_eq!(
                    p.status,
                    PrincipalStatus::Deleted,
                    "{id} is not in the directory"
                );
                continue;
            }
        };
        assert_eq!(p.kind, want, "{id}");
        assert_ne!(p.status, PrincipalStatus::Deleted, "{id} exists");
        assert_ne!(p.display_name.as_deref(), Some(""), "{id}");
    }
    // Typeless owners of flows are users Graph knows.
    assert!(snap.flows.iter().any(|f| {
        f.permissions
            .iter()
            .flatten()
            .any(|p| p.principal.principal_type.is_empty())
    }));
    emu.shutdown().await.unwrap();
}

/// Issue 9 item 3: System Administrators through Microsoft Entra group teams are collected,
/// the group and each transitive member (nested groups included) with `via_group`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn group_team_admins_are_collected_with_their_transitive_members() {
    let emu = emulator(ServeOptions {
        size: Size::Small,
        seed: 2,
        ..Default::default()
    })
    .await;
    let (snap, _) = crawl_into(
        &emu,
        Store::open_in_memory().unwrap(),
        CrawlOptions::default(),
    )
    .await;
    let t = emu.tenant().clone();
    let planted: Vec<_> = t
        .environments
        .iter()
        .filter_map(|e| {
            e.plan
                .group_team
                .as_ref()
                .map(|g| (e.name.clone(), g.clone()))
        })
        .collect();
    assert!(!planted.is_empty(), "the scenario plants a group team");
    for (env, team) in &planted {
        let via: BTreeSet<String> = snap
            .role_assignments
            .iter()
            .filter(|r| {
                r.environment_id == *env
                    && r.via_group.as_deref() == Some(team.group_id.as_str())
                    && r.role == "SystemAdministrator"
            })
            .map(|r| r.principal_id.clone())
            .collect();
        let want: BTreeSet<String> = team
            .holders
            .iter()
            .map(|&u| t.directory.users[u].id.clone())
            .collect();
        assert_eq!(via, want, "holders through {} in {env}", team.group_id);
        assert!(
            snap.role_assignments
                .iter()
                .any(|r| r.environment_id == *env
                    && r.principal_id == team.group_id
                    && r.principal_type == "Group"
                    && r.via_group.is_none()),
            "the group itself holds the role"
        );
        let g = snap.principal(&team.group_id).unwrap();
        assert_eq!(g.kind, ppgov_core::PrincipalKind::Group);
    }
    // Owner teams (type 0) carry no group: nothing else holds the role through a group.
    let groups: BTreeSet<&str> = planted.iter().map(|(_, g)| g.group_id.as_str()).collect();
    assert!(
        snap.role_assignments
            .iter()
            .filter_map(|r| r.via_group.as_deref())
            .all(|g| groups.contains(g))
    );
    emu.shutdown().await.unwrap();
}

/// Issue 9 item 5: an environment still provisioning Dataverse (`linkedEnvironmentMetadata:
/// null`) has its BAP role assignments collected and its Dataverse facets recorded as not yet
/// available, never failed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn provisioning_environment_keeps_bap_roles_and_marks_dataverse_not_yet_available() {
    use ppgov_core::{CollectionKind, CollectionScope, CollectionState};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    // The first small seed with a Dataverse environment whose plants do not need Dataverse.
    let (tenant, index) = (1..40)
        .find_map(|seed| {
            let cfg = ppgov_emulator::tenant::ScenarioConfig {
                seed,
                size: Size::Small,
                base_url: format!("http://{}", listener.local_addr().unwrap()),
                now: chrono::Utc::now(),
            };
            let mut tenant = ppgov_emulator::scenario::generate(&cfg);
            (1..tenant.environments.len())
                .find(|&i| ppgov_emulator::scenario::identity::make_provisioning(&mut tenant, i))
                .map(|i| (tenant, i))
        })
        .expect("a Dataverse environment without planted admins");
    let env = tenant.environments[index].name.clone();
    let content: ppgov_emulator::server::ContentFn =
        Arc::new(|t: &ppgov_emulator::tenant::Tenant, i: usize| t.env_content(i));
    let emu = Emulator::start_with_tenant(listener, tenant, content, ServeOptions::default())
        .await
        .unwrap();
    let (snap, _) = crawl_into(
        &emu,
        Store::open_in_memory().unwrap(),
        CrawlOptions::default(),
    )
    .await;
    let e = snap.environment(&env).unwrap();
    assert!(e.has_dataverse && e.dataverse_provisioning());
    let scope = CollectionScope::Environment(env.clone());
    for kind in [
        CollectionKind::DataverseAdmins,
        CollectionKind::DataverseSettings,
    ] {
        assert_eq!(
            snap.collection.get(&scope, kind),
            Some(&CollectionState::Skipped {
                reason: ppgov_crawl::PROVISIONING_REASON.into()
            }),
            "{kind:?}"
        );
    }
    assert!(
        snap.collection
            .collected(&scope, CollectionKind::RoleAssignments)
    );
    let bap: Vec<_> = snap
        .role_assignments
        .iter()
        .filter(|r| r.environment_id == env)
        .collect();
    assert!(bap.iter().any(|r| r.role == "EnvironmentAdmin"), "{bap:?}");
    emu.shutdown().await.unwrap();
}
