//! The crawl: tenant-wide data, then per-environment shards (largest first, bounded concurrency),
//! then principal resolution through Graph. Every shard's outcome lands in the collection status.

use crate::error::CrawlError;
use crate::inventory::{self, FlowListing};
use crate::principals;
use crate::progress::{Progress, ProgressMode};
use crate::shards::{self, ShardKind};
use crate::writer::{WriteOp, Writer};
use crate::{apps, flows, freshness, roles, tenant};
use chrono::{DateTime, Utc};
use futures::{StreamExt, stream};
use ppgov_client::{ClientError, Clients};
use ppgov_config::MaxAges;
use ppgov_core::{
    CollectionEntry, CollectionKind, CollectionScope, CollectionState, Environment, Facet,
    Observation, Observations, ResourceKind,
};
use ppgov_store::{
    ResourceRow, SnapshotId, SnapshotKind, SnapshotStatus, Snapshots, StoreKind, StoredResource,
};
use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::mpsc;

/// Shards run at once per unit of `concurrency`.
const SHARDS_PER_REQUEST_SLOT: usize = 2;

/// How to crawl.
#[derive(Debug, Clone)]
pub struct CrawlOptions {
    /// Concurrent per-resource calls inside a shard; twice as many shards run at once (the
    /// transport's per-host limit bounds the requests in flight).
    pub concurrency: usize,
    /// Continue the interrupted crawl of this tenant.
    pub resume: bool,
    /// Full crawl even when a complete snapshot exists (otherwise incremental).
    pub full: bool,
    /// Progress display.
    pub progress: ProgressMode,
    /// Crawl only these environments (names); `None` crawls all. Tenant-wide data is always read.
    pub environments: Option<BTreeSet<String>>,
    /// How long an incremental crawl may carry each facet forward (`[crawl.max_age]`): past its
    /// age (or after a failed read) a facet is read again, see `freshness.rs`.
    pub max_age: MaxAges,
    /// List flows through the inventory API when the sign-in allows it (delegated users; an
    /// app-only sign-in is refused and falls back to listing per environment). The inventory
    /// trails changes by up to 15 minutes.
    pub inventory: bool,
    /// Entra groups whose transitive membership rules judge against (`[posture]`
    /// `approved_makers_group`), read with the tenant-wide data on every crawl.
    pub groups: Vec<String>,
}

impl Default for CrawlOptions {
    fn default() -> Self {
        CrawlOptions {
            concurrency: 16,
            resume: false,
            full: false,
            progress: ProgressMode::Quiet,
            environments: None,
            max_age: MaxAges::default(),
            inventory: true,
            groups: Vec::new(),
        }
    }
}

/// What a crawl did.
#[derive(Debug, Clone)]
pub struct CrawlSummary {
    /// The snapshot written.
    pub snapshot_id: SnapshotId,
    /// Full or incremental.
    pub kind: SnapshotKind,
    /// Resources per kind.
    pub counts: BTreeMap<&'static str, u64>,
    /// Collection failures, one line each.
    pub failures: Vec<String>,
    /// Requests sent (retries included).
    pub requests: u64,
    /// Responses that were throttled (429 or AF429).
    pub throttled: u64,
    /// Resources read but not stored (also a line in `failures`); 0 in a healthy crawl.
    pub dropped: u64,
    /// Wall time.
    pub elapsed: Duration,
    /// Per facet, how many resources had it read in this crawl and how many carried it forward
    /// from the parent snapshot (the incremental share).
    pub facets: BTreeMap<Facet, FacetCount>,
    /// Refresh marks this crawl honoured (and cleared).
    pub marks_cleared: usize,
}

/// Resources whose facet a crawl read, or carried forward.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct FacetCount {
    /// Read from the API in this crawl.
    pub read: u64,
    /// Carried forward from the parent snapshot.
    pub carried: u64,
}

/// Everything a shard task needs.
pub(crate) struct Ctx {
    pub(crate) clients: Clients,
    pub(crate) tx: mpsc::Sender<WriteOp>,
    pub(crate) now: DateTime<Utc>,
    pub(crate) concurrency: usize,
    /// The parent snapshot, for incremental crawls.
    pub(crate) parent: Option<Parent>,
    pub(crate) progress: Progress,
    /// Resolves principals as shards see them.
    pub(crate) resolver: principals::Resolver,
    /// Flows listed tenant-wide through the inventory API, when it answered.
    pub(crate) flow_listing: Option<FlowListing>,
    /// Maximum facet ages.
    pub(crate) max_age: MaxAges,
    /// Resources marked for refresh (kind, lower-case id): read again in full.
    pub(crate) marked: BTreeSet<(ResourceKind, String)>,
    /// Facets read and carried.
    pub(crate) facet_counts: freshness::Counts,
    /// Resources that could not be turned into store rows (counted, reported, never silent).
    pub(crate) dropped: std::sync::atomic::AtomicU64,
    /// Read the quarantine state of the default environment's apps (one call per app read):
    /// only with approved makers configured, whose rule (PPG-DEF-006) leaves quarantined apps
    /// out. The admin list does not carry the state.
    pub(crate) default_env_quarantine: bool,
}

/// `lastModifiedTime` per resource id.
pub(crate) type Versions = BTreeMap<String, Option<DateTime<Utc>>>;

/// Facet observations per resource id.
pub(crate) type Observed = BTreeMap<String, Observations>;

/// What an incremental crawl compares against: the parent snapshot, its apps', flows' and
/// connections' `lastModifiedTime`s and when each of their facets was observed.
pub(crate) struct Parent {
    pub(crate) id: SnapshotId,
    pub(crate) flows: Versions,
    pub(crate) apps: Versions,
    pub(crate) connections: Versions,
    pub(crate) flow_facets: Observed,
    pub(crate) app_facets: Observed,
    pub(crate) connection_facets: Observed,
    /// Each environment's admin role holders in the parent (see `roles::ParentRoles`).
    pub(crate) roles: roles::ParentRoles,
    /// Apps quarantined in the parent (read only while quarantine is read, see
    /// `default_env_quarantine`): quarantine does not move `lastModifiedTime`, so they are read
    /// again to see a release.
    pub(crate) quarantined_apps: BTreeSet<String>,
}

/// The `observed` field of every resource of a kind in a snapshot (missing or unreadable: none).
fn observed(
    store: &dyn Snapshots,
    snapshot: &SnapshotId,
    kind: StoreKind,
) -> Result<Observed, ppgov_store::StoreError> {
    Ok(store
        .resource_field(snapshot, kind, "observed")?
        .into_iter()
        .filter_map(|(id, v)| serde_json::from_value(v).ok().map(|o| (id, o)))
        .collect())
}

impl Ctx {
    /// True when this resource was marked for refresh.
    pub(crate) fn is_marked(&self, kind: ResourceKind, id: &str) -> bool {
        !self.marked.is_empty() && self.marked.contains(&(kind, id.to_ascii_lowercase()))
    }

    /// Whether an observed facet must be read again.
    pub(crate) fn due(&self, obs: Option<&Observations>, facet: Facet, id: &str) -> bool {
        freshness::due(
            obs.and_then(|o| o.get(facet)),
            facet,
            id,
            self.now,
            &self.max_age,
        )
    }

    pub(crate) async fn send(&self, op: WriteOp) {
        // The writer only stops when the crawl drops its sender; a closed channel means it died, and
        // `Writer::finish` reports why.
        let _ = self.tx.send(op).await;
    }

    pub(crate) async fn rows<T: StoredResource>(&self, items: &[T]) {
        let mut rows = Vec::with_capacity(items.len());
        for i in items {
            match ResourceRow::of(i) {
                Ok(r) => rows.push(r),
                Err(e) => {
                    self.dropped
                        .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    tracing::warn!(error = %e, "a resource could not be stored and was dropped");
                }
            }
        }
        if !rows.is_empty() {
            self.send(WriteOp::Rows(rows)).await;
        }
    }

    /// Hands the principals these resources reference to the resolver.
    pub(crate) fn note<T>(&self, items: &[T], add: fn(&mut principals::Refs, &T)) {
        let mut refs = principals::Refs::default();
        items.iter().for_each(|i| add(&mut refs, i));
        self.resolver.note(refs);
    }

    pub(crate) async fn status(
        &self,
        scope: CollectionScope,
        kind: CollectionKind,
        state: CollectionState,
    ) {
        self.send(WriteOp::Collection(CollectionEntry { scope, kind, state }))
            .await;
    }
}

pub(crate) fn failed(e: &ClientError) -> CollectionState {
    CollectionState::Failed {
        http_status: e.status(),
        code: e.code().map(str::to_string),
        message: e.to_string(),
    }
}

pub(crate) fn collected(n: usize) -> CollectionState {
    CollectionState::Collected { count: n as u64 }
}

/// Crawls the tenant into `store`. Returns the summary and the store.
pub async fn crawl(
    clients: Clients,
    mut store: Box<dyn Snapshots>,
    tenant_id: &str,
    opts: CrawlOptions,
) -> Result<(CrawlSummary, Box<dyn Snapshots>), CrawlError> {
    let started = Instant::now();
    let counters_before = clients.transport.counters();
    // The default environment's app quarantine state is read only for PPG-DEF-006, which needs
    // approved makers (the one group read).
    let read_quarantine = !opts.groups.is_empty();
    let (snapshot, kind, parent_id) = if opts.resume {
        let info = store
            .unfinished_snapshot(tenant_id)?
            .ok_or_else(|| CrawlError::NothingToResume(tenant_id.to_string()))?;
        (info.id.clone(), info.kind, info.parent.clone())
    } else {
        let previous = if opts.full {
            None
        } else {
            store.latest_snapshot(tenant_id, true)?
        };
        let kind = if previous.is_some() {
            SnapshotKind::Incremental
        } else {
            SnapshotKind::Full
        };
        let parent = previous.map(|p| p.id);
        (
            store.begin_snapshot(tenant_id, kind, parent.as_ref())?,
            kind,
            parent,
        )
    };
    let info = store
        .snapshot_info(&snapshot)?
        .ok_or_else(|| CrawlError::NothingToResume(tenant_id.to_string()))?;
    let now = info.started_at;
    let done: BTreeSet<String> = store
        .done_shards(&snapshot)?
        .into_iter()
        .map(|s| s.key)
        .collect();
    let parent = match &parent_id {
        Some(p) => Some(Parent {
            id: p.clone(),
            flows: store.resource_versions(p, StoreKind::Flow)?,
            apps: store.resource_versions(p, StoreKind::App)?,
            connections: store.resource_versions(p, StoreKind::Connection)?,
            flow_facets: observed(store.as_ref(), p, StoreKind::Flow)?,
            app_facets: observed(store.as_ref(), p, StoreKind::App)?,
            connection_facets: observed(store.as_ref(), p, StoreKind::Connection)?,
            roles: roles::ParentRoles::read(store.as_ref(), p)?,
            quarantined_apps: if !read_quarantine {
                BTreeSet::new()
            } else {
                store
                    .resource_field(p, StoreKind::App, "quarantined")?
                    .into_iter()
                    .filter(|(_, v)| *v == serde_json::Value::Bool(true) || *v == 1)
                    .map(|(id, _)| id)
                    .collect()
            },
        }),
        None => None,
    };
    // Resources marked for refresh (audit ingestion, operators): read again in full. The marks
    // honoured are cleared once the snapshot is complete; marks made meanwhile wait for the next.
    let marks = store.pending_refresh_marks()?;
    let marked: BTreeSet<(ResourceKind, String)> = marks
        .iter()
        .map(|m| (m.kind, m.id.to_ascii_lowercase()))
        .collect();

    // Principals the parent resolved are carried forward (their rows copied at the end) while
    // their state is younger than its maximum age, resolved, and not marked; the rest are asked
    // again, whether or not a resource read in this crawl references them.
    let mut carried = BTreeSet::new();
    let mut recheck = principals::Refs::default();
    if let Some(p) = &parent_id
        && let Some(pinfo) = store.snapshot_info(p)?
    {
        let times = store.resource_versions(p, StoreKind::Principal)?;
        let statuses = store.resource_field(p, StoreKind::Principal, "status")?;
        let kinds = store.resource_field(p, StoreKind::Principal, "kind")?;
        for (id, at) in times {
            let resolved = statuses
                .get(&id)
                .and_then(|v| v.as_str())
                .is_some_and(|s| s != "unresolved");
            let obs = Observation {
                at: at.unwrap_or(pinfo.started_at),
                ok: resolved,
            };
            let marked_here = marked.contains(&(ResourceKind::Principal, id.to_ascii_lowercase()));
            if !marked_here
                && !freshness::due(Some(obs), Facet::PrincipalState, &id, now, &opts.max_age)
            {
                carried.insert(id);
            } else {
                let t = match kinds.get(&id).and_then(|v| v.as_str()) {
                    Some("group") => "Group",
                    Some("service_principal") => "ServicePrincipal",
                    _ => "User",
                };
                recheck.id(&id, t);
            }
        }
    }
    // Shards checkpointed by an earlier, interrupted run saw principals this process never will.
    let resuming = done.iter().any(|k| k.starts_with("env:"));

    let writer = Writer::spawn(store, snapshot.clone());
    let resolver = principals::Resolver::spawn(
        clients.graph.clone(),
        writer.sender(),
        (opts.concurrency.max(1) / 4).max(1),
        carried.clone(),
    );
    resolver.note(recheck);
    let mut ctx = Ctx {
        clients: clients.clone(),
        tx: writer.sender(),
        now,
        concurrency: opts.concurrency.max(1),
        parent,
        progress: Progress::new(opts.progress),
        resolver,
        flow_listing: None,
        dropped: std::sync::atomic::AtomicU64::new(0),
        max_age: opts.max_age,
        marked,
        facet_counts: freshness::Counts::default(),
        default_env_quarantine: read_quarantine,
    };

    // Tenant-wide data and the environment list. The list is read again on resume (one call) so the
    // shards know what to crawl; it is written only when the tenant shard was not done. The
    // inventory listing, when wanted, runs alongside.
    let listing = async {
        if !opts.inventory {
            return None;
        }
        match inventory::list_flows(&clients).await {
            Ok(l) => Some(l),
            Err(e) if e.status() == Some(403) => {
                tracing::info!(
                    "inventory API refused this sign-in (app-only tokens are not allowed): listing flows per environment"
                );
                None
            }
            Err(e) => {
                tracing::warn!(error = %e, "inventory API failed: listing flows per environment");
                None
            }
        }
    };
    let (tenant, listing) = tokio::join!(
        tenant::crawl_tenant(
            &ctx,
            tenant_id,
            &opts.groups,
            !done.contains(shards::TENANT)
        ),
        listing
    );
    let envs = match tenant {
        Ok(envs) => envs,
        Err(e) => {
            drop(ctx);
            let _ = writer.finish().await;
            return Err(e);
        }
    };
    if let Some(l) = &listing {
        tracing::info!(
            covered = l.covers(&envs),
            environments = envs.len(),
            "crawl: flows listed through the inventory API (it trails changes by up to 15 minutes)"
        );
    }
    ctx.flow_listing = listing;
    let ctx = Arc::new(ctx);
    if !done.contains(shards::TENANT) {
        ctx.send(WriteOp::ShardDone(shards::TENANT.to_string()))
            .await;
    }
    let envs: Vec<Environment> = match &opts.environments {
        Some(only) => envs.into_iter().filter(|e| only.contains(&e.id)).collect(),
        None => envs,
    };
    tracing::info!(
        elapsed_ms = started.elapsed().as_millis() as u64,
        environments = envs.len(),
        "crawl: tenant-wide data read"
    );
    ctx.progress.set_environments(envs.len() as u64);
    ctx.progress.add("environments", envs.len() as u64);

    let order = shards::order(&envs, &|_, _| None);
    let envs = Arc::new(envs);
    let remaining: BTreeMap<usize, usize> = order.iter().fold(BTreeMap::new(), |mut m, (i, _)| {
        *m.entry(*i).or_default() += 1;
        m
    });
    let remaining = Arc::new(std::sync::Mutex::new(remaining));
    // Many shards spend most of their time on one sequential request (a list page, a Dataverse
    // query), so more shards than request slots run at once; the transport's per-host limit
    // bounds the requests actually in flight.
    stream::iter(order)
        .for_each_concurrent(ctx.concurrency * SHARDS_PER_REQUEST_SLOT, |(i, k)| {
            let ctx = ctx.clone();
            let envs = envs.clone();
            let remaining = remaining.clone();
            let done = &done;
            crate::sendable::sendable(async move {
                let Some(env) = envs.get(i) else { return };
                let key = shards::key(&env.id, k);
                if !done.contains(&key) {
                    crawl_shard(&ctx, env, k).await;
                    ctx.send(WriteOp::ShardDone(key)).await;
                }
                let last = remaining.lock().map(|mut m| {
                    let left = m.entry(i).or_default();
                    *left = left.saturating_sub(1);
                    *left == 0
                });
                if last.unwrap_or(false) {
                    let c = ctx.clients.transport.counters();
                    ctx.progress.environment_done(&format!(
                        "{} requests, {} throttled",
                        c.requests, c.throttled
                    ));
                }
            })
        })
        .await;

    tracing::info!(
        elapsed_ms = started.elapsed().as_millis() as u64,
        "crawl: environment shards done"
    );
    let (resolved_live, mut failure) = ctx.resolver.finish().await;
    tracing::info!(
        elapsed_ms = started.elapsed().as_millis() as u64,
        resolved = resolved_live,
        "crawl: principals seen by the shards resolved"
    );
    let mut counts = ctx.progress.counts();
    ctx.progress.finish();
    let concurrency = ctx.concurrency;
    let dropped = ctx.dropped.load(std::sync::atomic::Ordering::Relaxed);
    let mut facets = ctx.facet_counts.summary();
    drop(ctx);
    let (store, written) = writer.finish().await;
    written?;
    let mut store = store.ok_or_else(|| CrawlError::NothingToResume(tenant_id.to_string()))?;

    if !done.contains(shards::PRINCIPALS) {
        let mut total = resolved_live;
        if let Some(parent) = &parent_id
            && !carried.is_empty()
        {
            let ids: Vec<String> = carried.iter().cloned().collect();
            let n = store.copy_unchanged(parent, &snapshot, StoreKind::Principal, &ids)?;
            total += n as u64;
            facets.entry(Facet::PrincipalState).or_default().carried += n as u64;
        }
        facets.entry(Facet::PrincipalState).or_default().read += resolved_live;
        // Principals read in this crawl are stamped with its time, so the next one knows their age.
        store.stamp_unset_times(&snapshot, StoreKind::Principal, now)?;
        if resuming {
            // The principals of shards done before the interruption: read them from the store.
            let partial = store.load_snapshot(&snapshot)?;
            let have: BTreeSet<String> = partial.principals.keys().cloned().collect();
            let (more, fail) =
                principals::resolve(&clients.graph, &partial, concurrency, &have).await;
            total += more.len() as u64;
            if let Some(f) = fail {
                failure.get_or_insert(f);
            }
            let rows = more
                .iter()
                .map(ResourceRow::of)
                .collect::<Result<Vec<_>, _>>()?;
            store.put_resources(&snapshot, &rows)?;
        }
        counts.insert("principals", total);
        let state = match failure {
            None => CollectionState::Collected { count: total },
            Some(message) => CollectionState::Failed {
                http_status: None,
                code: None,
                message,
            },
        };
        store.record_collection(
            &snapshot,
            &CollectionEntry {
                scope: CollectionScope::Tenant,
                kind: CollectionKind::Principals,
                state,
            },
        )?;
        store.mark_shard(
            &snapshot,
            shards::PRINCIPALS,
            ppgov_store::ShardState::Done,
            None,
        )?;
    }
    tracing::info!(
        elapsed_ms = started.elapsed().as_millis() as u64,
        "crawl: principals resolved"
    );
    // Role holders read in this crawl are stamped with its time (carried ones keep theirs), so the
    // next crawl knows their age.
    store.stamp_unset_times(&snapshot, StoreKind::RoleAssignment, now)?;
    store.finish_snapshot(&snapshot, SnapshotStatus::Complete)?;
    // Marks honoured: everything when every environment was crawled, else those of the crawled
    // environments and the tenant-wide kinds (principals).
    let honoured: Vec<i64> = marks
        .iter()
        .filter(|m| match (&opts.environments, &m.environment_id) {
            (None, _) => true,
            (Some(_), _) if m.kind == ResourceKind::Principal => true,
            (Some(only), Some(e)) => only.contains(e),
            (Some(_), None) => false,
        })
        .map(|m| m.mark_id)
        .collect();
    let marks_cleared = store.clear_refresh_marks(&honoured)?;

    let collection = store.load_collection(&snapshot)?;
    let mut failures: Vec<String> = collection
        .failures()
        .map(|e| {
            let scope = match &e.scope {
                CollectionScope::Tenant => "tenant".to_string(),
                CollectionScope::Environment(id) => format!("environment {id}"),
            };
            let msg = match &e.state {
                CollectionState::Failed { message, .. } => message.clone(),
                _ => String::new(),
            };
            format!("{scope}: {:?}: {msg}", e.kind)
        })
        .collect();
    if dropped > 0 {
        failures.push(format!(
            "{dropped} resource(s) could not be written to the store and are missing from the snapshot"
        ));
    }
    let after = clients.transport.counters();
    let summary = CrawlSummary {
        snapshot_id: snapshot,
        kind,
        counts,
        failures,
        requests: after.requests.saturating_sub(counters_before.requests),
        throttled: after.throttled.saturating_sub(counters_before.throttled),
        elapsed: started.elapsed(),
        dropped,
        facets,
        marks_cleared,
    };
    Ok((summary, store))
}

async fn crawl_shard(ctx: &Ctx, env: &Environment, kind: ShardKind) {
    match kind {
        ShardKind::Flows => flows::crawl_flows(ctx, env).await,
        ShardKind::Apps => apps::crawl_apps(ctx, env).await,
        ShardKind::Connections => {
            apps::crawl_connections(ctx, env).await;
            // Custom connectors and their hosts, for DLP URL patterns (custom_connectors.rs).
            let scope = CollectionScope::Environment(env.id.clone());
            let kind = CollectionKind::CustomConnectors;
            match crate::custom_connectors::collect(&ctx.clients, &env.id).await {
                Ok(list) => {
                    ctx.rows(&list).await;
                    ctx.status(scope, kind, collected(list.len())).await;
                }
                Err(e) => ctx.status(scope, kind, failed(&e)).await,
            }
        }
        ShardKind::Roles => {
            // While Dataverse is provisioned there is no instance to ask: BAP still answers.
            let dataverse = env.has_dataverse && !env.dataverse_provisioning();
            // Holders younger than `[crawl.max_age] role_holders` are carried from the parent.
            let carried = roles::carry(ctx, env, dataverse).await;
            if dataverse {
                roles::crawl_dataverse(ctx, env, !carried).await
            } else if !carried {
                roles::crawl_bap_roles(ctx, env).await
            }
        }
    }
}
