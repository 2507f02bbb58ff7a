//! The crawl: tenant-wide data, then per-environment shards (largest first, bounded concurrency),
//! then principal resolution through Graph. Every shard's outcome lands in the collection status.

use crate::error::CrawlError;
use crate::inventory::{self, FlowListing};
use crate::map;
use crate::principals;
use crate::progress::{Progress, ProgressMode};
use crate::runs::RunCounter;
use crate::shards::{self, ShardKind};
use crate::writer::{WriteOp, Writer};
use chrono::{DateTime, SecondsFormat, Utc};
use futures::{StreamExt, TryStreamExt, stream};
use ppgov_client::{ClientError, Clients, DataverseClient};
use ppgov_core::{
    CollectionEntry, CollectionKind, CollectionScope, CollectionState, ConnectorMetadata,
    DlpPolicy, Environment, Permission, RoleAssignment, SYSTEM_ADMINISTRATOR_TEMPLATE_ID,
    connector_key,
};
use ppgov_model as wire;
use ppgov_store::{
    ResourceRow, SnapshotId, SnapshotKind, SnapshotStatus, Store, StoreKind, StoredResource,
};
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::mpsc;

/// Flows mapped and sent to the writer together.
const WRITE_CHUNK: usize = 200;

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
    pub environments: Option<std::collections::BTreeSet<String>>,
    /// An incremental crawl reuses the principals its parent snapshot resolved when the parent is
    /// younger than this, and resolves only new ones; older, every principal is resolved again.
    /// This bounds how stale a user's status (deleted, disabled, guest) can be.
    pub principal_max_age: chrono::Duration,
    /// List flows through the inventory API when the sign-in allows it (delegated users; an
    /// app-only sign-in is refused and falls back to listing per environment). The inventory
    /// trails changes by up to 15 minutes.
    pub inventory: bool,
}

impl Default for CrawlOptions {
    fn default() -> Self {
        CrawlOptions {
            concurrency: 16,
            resume: false,
            full: false,
            progress: ProgressMode::Quiet,
            environments: None,
            principal_max_age: chrono::Duration::hours(24),
            inventory: true,
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
    /// Wall time.
    pub elapsed: Duration,
}

/// Everything a shard task needs.
struct Ctx {
    clients: Clients,
    tx: mpsc::Sender<WriteOp>,
    now: DateTime<Utc>,
    concurrency: usize,
    /// The parent snapshot, for incremental crawls.
    parent: Option<Parent>,
    progress: Progress,
    /// Resolves principals as shards see them.
    resolver: principals::Resolver,
    /// Flows listed tenant-wide through the inventory API, when it answered.
    flow_listing: Option<FlowListing>,
}

/// `lastModifiedTime` per resource id.
type Versions = BTreeMap<String, Option<DateTime<Utc>>>;

/// What an incremental crawl compares against: the parent snapshot and its apps' and flows'
/// `lastModifiedTime`s.
struct Parent {
    id: SnapshotId,
    flows: Versions,
    apps: Versions,
}

impl Ctx {
    async fn send(&self, op: WriteOp) {
        // The writer only stops when the crawl drops its sender; a closed channel means it died, and
        // `Writer::finish` reports why.
        let _ = self.tx.send(op).await;
    }

    async fn rows<T: StoredResource>(&self, items: &[T]) {
        let rows: Vec<ResourceRow> = items
            .iter()
            .filter_map(|i| ResourceRow::of(i).ok())
            .collect();
        if !rows.is_empty() {
            self.send(WriteOp::Rows(rows)).await;
        }
    }

    /// Hands the principals these resources reference to the resolver.
    fn note<T>(&self, items: &[T], add: fn(&mut principals::Refs, &T)) {
        let mut refs = principals::Refs::default();
        items.iter().for_each(|i| add(&mut refs, i));
        self.resolver.note(refs);
    }

    async fn status(&self, scope: CollectionScope, kind: CollectionKind, state: CollectionState) {
        self.send(WriteOp::Collection(CollectionEntry { scope, kind, state }))
            .await;
    }
}

fn failed(e: &ClientError) -> CollectionState {
    CollectionState::Failed {
        http_status: e.status(),
        code: e.code().map(str::to_string),
        message: e.to_string(),
    }
}

fn collected(n: usize) -> CollectionState {
    CollectionState::Collected { count: n as u64 }
}

/// Crawls the tenant into `store`. Returns the summary and the store.
pub async fn crawl(
    clients: Clients,
    mut store: Store,
    tenant_id: &str,
    opts: CrawlOptions,
) -> Result<(CrawlSummary, Store), CrawlError> {
    let started = Instant::now();
    let counters_before = clients.transport.counters();
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
    let done: std::collections::BTreeSet<String> = store
        .done_shards(&snapshot)?
        .into_iter()
        .map(|s| s.key)
        .collect();
    let parent = match &parent_id {
        Some(p) => Some(Parent {
            id: p.clone(),
            flows: store.resource_versions(p, StoreKind::Flow)?,
            apps: store.resource_versions(p, StoreKind::App)?,
        }),
        None => None,
    };

    // Principals a recent parent resolved are carried forward (their rows copied at the end); only
    // new ones go to Graph. Past `principal_max_age` everyone is resolved again, which bounds how
    // stale a user's status can be.
    let mut carried = std::collections::BTreeSet::new();
    if let Some(p) = &parent_id
        && let Some(info) = store.snapshot_info(p)?
        && now - info.started_at < opts.principal_max_age
    {
        carried = store
            .resource_versions(p, StoreKind::Principal)?
            .into_keys()
            .collect();
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
    let mut ctx = Ctx {
        clients: clients.clone(),
        tx: writer.sender(),
        now,
        concurrency: opts.concurrency.max(1),
        parent,
        progress: Progress::new(opts.progress),
        resolver,
        flow_listing: None,
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
        crawl_tenant(&ctx, tenant_id, !done.contains(shards::TENANT)),
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
            async move {
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
            }
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
            total += store.copy_unchanged(parent, &snapshot, StoreKind::Principal, &ids)? as u64;
        }
        if resuming {
            // The principals of shards done before the interruption: read them from the store.
            let partial = store.load_snapshot(&snapshot)?;
            let have: std::collections::BTreeSet<String> =
                partial.principals.keys().cloned().collect();
            let (more, fail) =
                principals::resolve(&clients.graph, &partial, concurrency, &have).await;
            total += more.len() as u64;
            if let Some(f) = fail {
                failure.get_or_insert(f);
            }
            store.put_principals(&snapshot, &more)?;
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
    store.finish_snapshot(&snapshot, SnapshotStatus::Complete)?;

    let collection = store.load_collection(&snapshot)?;
    let failures = collection
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
    let after = clients.transport.counters();
    let summary = CrawlSummary {
        snapshot_id: snapshot,
        kind,
        counts,
        failures,
        requests: after.requests.saturating_sub(counters_before.requests),
        throttled: after.throttled.saturating_sub(counters_before.throttled),
        elapsed: started.elapsed(),
    };
    Ok((summary, store))
}

/// Tenant settings, isolation, DLP, connector metadata and the environment list.
async fn crawl_tenant(
    ctx: &Ctx,
    tenant_id: &str,
    write: bool,
) -> Result<Vec<Environment>, CrawlError> {
    let c = &ctx.clients;
    let envs_f = c
        .bap
        .list_environments::<wire::bap::Environment>(&["properties.governanceConfiguration"])
        .try_collect::<Vec<_>>();
    if !write {
        let envs = envs_f.await.map_err(CrawlError::Environments)?;
        return Ok(envs.iter().map(map::environment).collect());
    }
    let (envs, settings, isolation, dlp, meta) = tokio::join!(
        envs_f,
        c.bap.list_tenant_settings::<wire::bap::TenantSettings>(),
        c.bap
            .tenant_isolation::<wire::bap::TenantIsolationPolicy>(tenant_id),
        dlp_policies(c),
        connector_metadata(c)
    );
    let t = CollectionScope::Tenant;
    match settings {
        Ok(s) => {
            ctx.rows(&[map::tenant_settings(&s)]).await;
            ctx.status(t.clone(), CollectionKind::TenantSettings, collected(1))
                .await;
        }
        Err(e) => {
            ctx.status(t.clone(), CollectionKind::TenantSettings, failed(&e))
                .await
        }
    }
    match isolation {
        Ok(p) => {
            ctx.rows(&[map::tenant_isolation(p.as_ref())]).await;
            ctx.status(
                t.clone(),
                CollectionKind::TenantIsolation,
                collected(usize::from(p.is_some())),
            )
            .await;
        }
        Err(e) => {
            ctx.status(t.clone(), CollectionKind::TenantIsolation, failed(&e))
                .await
        }
    }
    match dlp {
        Ok(policies) => {
            ctx.progress.add("dlp_policies", policies.len() as u64);
            ctx.rows(&policies).await;
            ctx.status(
                t.clone(),
                CollectionKind::DlpPolicies,
                collected(policies.len()),
            )
            .await;
        }
        Err(e) => {
            ctx.status(t.clone(), CollectionKind::DlpPolicies, failed(&e))
                .await
        }
    }
    match meta {
        Ok(m) => {
            ctx.rows(&[m]).await;
            ctx.status(t.clone(), CollectionKind::ConnectorMetadata, collected(1))
                .await;
        }
        Err(e) => {
            ctx.status(t.clone(), CollectionKind::ConnectorMetadata, failed(&e))
                .await
        }
    }
    let envs = match envs {
        Ok(envs) => envs,
        Err(e) => {
            ctx.status(t.clone(), CollectionKind::Environments, failed(&e))
                .await;
            return Err(CrawlError::Environments(e));
        }
    };
    let envs: Vec<Environment> = envs.iter().map(map::environment).collect();
    ctx.note(&envs, principals::Refs::environment);
    ctx.rows(&envs).await;
    ctx.status(t, CollectionKind::Environments, collected(envs.len()))
        .await;
    Ok(envs)
}

/// Every DLP policy in full: GOV v2 (list, then each document); legacy `apiPolicies` only when v2
/// has none, so a tenant on the old API is still judged.
async fn dlp_policies(c: &Clients) -> Result<Vec<DlpPolicy>, ClientError> {
    let list: Vec<wire::dlp::PolicyV2> = c.dlp.list_policies_v2().try_collect().await?;
    let mut out = Vec::with_capacity(list.len());
    for item in &list {
        let full: wire::dlp::PolicyV2 = c.dlp.get_policy_v2(&item.policy_definition.name).await?;
        out.push(map::dlp_policy_v2(&full));
    }
    if out.is_empty()
        && let Ok(legacy) = c
            .dlp
            .list_api_policies::<wire::dlp::ApiPolicy>()
            .try_collect::<Vec<_>>()
            .await
    {
        out.extend(legacy.iter().map(map::dlp_policy_legacy));
    }
    out.sort_by(|a, b| a.id.cmp(&b.id));
    Ok(out)
}

async fn connector_metadata(c: &Clients) -> Result<ConnectorMetadata, ClientError> {
    let (u, v) = tokio::join!(
        c.dlp
            .unblockable_connectors::<wire::dlp::ConnectorMetadataEntry>(),
        c.dlp
            .virtual_connectors::<wire::dlp::ConnectorMetadataEntry>()
    );
    let mut unblockable: Vec<String> = u?
        .iter()
        .filter(|e| e.metadata.unblockable != Some(false))
        .map(|e| connector_key(&e.id))
        .collect();
    let mut virtual_connectors: Vec<String> = v?.iter().map(|e| connector_key(&e.id)).collect();
    unblockable.sort();
    virtual_connectors.sort();
    Ok(ConnectorMetadata {
        collected: true,
        unblockable,
        virtual_connectors,
    })
}

async fn crawl_shard(ctx: &Ctx, env: &Environment, kind: ShardKind) {
    match kind {
        ShardKind::Flows => crawl_flows(ctx, env).await,
        ShardKind::Apps => crawl_apps(ctx, env).await,
        ShardKind::Connections => crawl_connections(ctx, env).await,
        ShardKind::Roles => {
            // While Dataverse is provisioned there is no instance to ask: BAP still answers.
            if env.has_dataverse && !env.dataverse_provisioning() {
                crawl_dataverse(ctx, env).await
            } else {
                crawl_bap_roles(ctx, env).await
            }
        }
    }
}

/// Whether a listed resource is the one the parent snapshot holds. `coarse` compares whole
/// seconds: the inventory API may write times with another precision than the resource APIs.
fn unchanged(
    parent: Option<&BTreeMap<String, Option<DateTime<Utc>>>>,
    id: &str,
    modified: Option<DateTime<Utc>>,
    coarse: bool,
) -> bool {
    let Some(modified) = modified else {
        return false;
    };
    let Some(Some(prev)) = parent.and_then(|p| p.get(id)) else {
        return false;
    };
    if coarse {
        prev.timestamp() == modified.timestamp()
    } else {
        *prev == modified
    }
}

async fn crawl_flows(ctx: &Ctx, env: &Environment) {
    let scope = CollectionScope::Environment(env.id.clone());
    let c = &ctx.clients;
    let from_inventory = ctx.flow_listing.as_ref().and_then(|l| l.flows_of(&env.id));
    let coarse = from_inventory.is_some();
    let listed: Vec<wire::flow::Flow> = match from_inventory {
        Some(l) => l,
        None => match c.flow.list_flows(&env.id).try_collect().await {
            Ok(l) => l,
            Err(e) => {
                ctx.status(scope, CollectionKind::Flows, failed(&e)).await;
                return;
            }
        },
    };
    ctx.status(
        scope.clone(),
        CollectionKind::Flows,
        collected(listed.len()),
    )
    .await;
    let parent = ctx.parent.as_ref();
    let (keep, fetch): (Vec<&wire::flow::Flow>, Vec<&wire::flow::Flow>) =
        listed.iter().partition(|f| {
            unchanged(
                parent.map(|p| &p.flows),
                &f.name,
                map::time_of(&f.properties.last_modified_time),
                coarse,
            )
        });
    if let Some(Parent { id: from, .. }) = parent
        && !keep.is_empty()
    {
        ctx.send(WriteOp::Copy {
            from: from.clone(),
            kind: StoreKind::Flow,
            ids: keep.iter().map(|f| f.name.clone()).collect(),
        })
        .await;
    }
    let since = RunCounter::since(ctx.now).to_rfc3339_opts(SecondsFormat::Secs, true);
    let filter = format!("startTime ge {since}");
    let mut errors: BTreeMap<CollectionKind, ClientError> = BTreeMap::new();
    // Written in chunks as they arrive, so a large environment's definitions are never all in
    // memory at once.
    let mut results = stream::iter(fetch)
        .map(|f| {
            let filter = filter.clone();
            async move {
                let (full, perms, runs) = tokio::join!(
                    c.flow.get_flow::<wire::flow::Flow>(&env.id, &f.name),
                    c.flow
                        .flow_permissions::<wire::flow::FlowPermission>(&env.id, &f.name)
                        .try_collect::<Vec<_>>(),
                    count_runs(c, &env.id, &f.name, &filter, ctx.now)
                );
                (f, full, perms, runs)
            }
        })
        .buffer_unordered(ctx.concurrency)
        .chunks(WRITE_CHUNK);
    let mut written = 0usize;
    while let Some(chunk) = results.next().await {
        let mut flows = Vec::with_capacity(chunk.len());
        for (listed, full, perms, runs) in chunk {
            let base = match full {
                // The listing names the flow; a GET that answers with another id must not merge
                // two flows into one row.
                Ok(mut f) => {
                    if !f.name.eq_ignore_ascii_case(&listed.name) {
                        tracing::warn!(environment_id = %env.id, listed = %listed.name, returned = %f.name, "flow GET returned another flow's id; keeping the listed id");
                        f.name = listed.name.clone();
                    }
                    f
                }
                // Deleted between list and get: it is gone, leave it out.
                Err(e) if e.is_not_found() => continue,
                Err(e) => {
                    errors.entry(CollectionKind::FlowDefinitions).or_insert(e);
                    listed.clone()
                }
            };
            let perms = match perms {
                Ok(p) => Some(map::flow_permissions(&p)),
                Err(e) => {
                    errors.entry(CollectionKind::FlowPermissions).or_insert(e);
                    None
                }
            };
            let runs = match runs {
                Ok(r) => Some(r),
                Err(e) => {
                    errors.entry(CollectionKind::FlowRuns).or_insert(e);
                    None
                }
            };
            flows.push(map::flow(&env.id, &base, perms, runs));
        }
        written += flows.len();
        ctx.note(&flows, principals::Refs::flow);
        ctx.rows(&flows).await;
    }
    ctx.progress.add("flows", (written + keep.len()) as u64);
    for kind in [
        CollectionKind::FlowDefinitions,
        CollectionKind::FlowPermissions,
        CollectionKind::FlowRuns,
    ] {
        let state = match errors.get(&kind) {
            Some(e) => failed(e),
            None => collected(written + keep.len()),
        };
        ctx.status(scope.clone(), kind, state).await;
    }
}

async fn count_runs(
    c: &Clients,
    env: &str,
    flow: &str,
    filter: &str,
    now: DateTime<Utc>,
) -> Result<ppgov_core::RunStats, ClientError> {
    let mut counter = RunCounter::new(now);
    let mut runs = c
        .flow
        .list_runs::<wire::flow::FlowRun>(env, flow, Some(filter));
    while let Some(run) = runs.next().await {
        let run = run?;
        if let Some(start) = map::time_of(&run.properties.start_time) {
            let failed = run
                .properties
                .status
                .as_ref()
                .is_some_and(|s| s.as_str().eq_ignore_ascii_case("Failed"));
            counter.add(start, failed);
        }
    }
    Ok(counter.finish())
}

async fn crawl_apps(ctx: &Ctx, env: &Environment) {
    let scope = CollectionScope::Environment(env.id.clone());
    let c = &ctx.clients;
    let listed: Vec<wire::powerapps::App> = match c.powerapps.list_apps(&env.id).try_collect().await
    {
        Ok(l) => l,
        Err(e) => {
            ctx.status(scope, CollectionKind::Apps, failed(&e)).await;
            return;
        }
    };
    ctx.status(scope.clone(), CollectionKind::Apps, collected(listed.len()))
        .await;
    let parent = ctx.parent.as_ref();
    let (keep, fetch): (Vec<&wire::powerapps::App>, Vec<&wire::powerapps::App>) =
        listed.iter().partition(|a| {
            unchanged(
                parent.map(|p| &p.apps),
                &a.name,
                map::time_of(&a.properties.last_modified_time),
                false,
            )
        });
    if let Some(Parent { id: from, .. }) = parent
        && !keep.is_empty()
    {
        ctx.send(WriteOp::Copy {
            from: from.clone(),
            kind: StoreKind::App,
            ids: keep.iter().map(|a| a.name.clone()).collect(),
        })
        .await;
    }
    let results: Vec<(
        &wire::powerapps::App,
        Result<Vec<wire::powerapps::AppPermission>, ClientError>,
    )> = stream::iter(fetch)
        .map(|a| async move {
            (
                a,
                c.powerapps
                    .app_permissions(&env.id, &a.name)
                    .try_collect::<Vec<_>>()
                    .await,
            )
        })
        .buffer_unordered(ctx.concurrency)
        .collect()
        .await;
    let mut error = None;
    let mut apps = Vec::with_capacity(results.len());
    for (a, perms) in results {
        let perms: Option<Vec<Permission>> = match perms {
            Ok(p) => Some(map::app_permissions(&p)),
            Err(e) => {
                if error.is_none() {
                    error = Some(e);
                }
                None
            }
        };
        apps.push(map::app(&env.id, a, perms));
    }
    ctx.progress.add("apps", (apps.len() + keep.len()) as u64);
    ctx.note(&apps, principals::Refs::app);
    ctx.rows(&apps).await;
    let state = error
        .as_ref()
        .map(failed)
        .unwrap_or_else(|| collected(apps.len() + keep.len()));
    ctx.status(scope, CollectionKind::AppPermissions, state)
        .await;
}

async fn crawl_connections(ctx: &Ctx, env: &Environment) {
    let scope = CollectionScope::Environment(env.id.clone());
    match ctx
        .clients
        .powerapps
        .list_connections::<wire::powerapps::Connection>(&env.id)
        .try_collect::<Vec<_>>()
        .await
    {
        Ok(list) => {
            let conns: Vec<_> = list.iter().map(|c| map::connection(&env.id, c)).collect();
            ctx.progress.add("connections", conns.len() as u64);
            ctx.note(&conns, principals::Refs::connection);
            ctx.rows(&conns).await;
            ctx.status(scope, CollectionKind::Connections, collected(conns.len()))
                .await;
        }
        Err(e) => {
            ctx.status(scope, CollectionKind::Connections, failed(&e))
                .await
        }
    }
}

async fn crawl_bap_roles(ctx: &Ctx, env: &Environment) {
    let scope = CollectionScope::Environment(env.id.clone());
    let reason = if env.dataverse_provisioning() {
        crate::PROVISIONING_REASON
    } else {
        "environment has no Dataverse"
    };
    for kind in [
        CollectionKind::DataverseAdmins,
        CollectionKind::DataverseSettings,
    ] {
        ctx.status(
            scope.clone(),
            kind,
            CollectionState::Skipped {
                reason: reason.into(),
            },
        )
        .await;
    }
    match ctx
        .clients
        .bap
        .list_role_assignments::<wire::bap::RoleAssignment>(&env.id)
        .try_collect::<Vec<_>>()
        .await
    {
        Ok(list) => {
            let roles: Vec<RoleAssignment> = list
                .iter()
                .map(|r| map::bap_role_assignment(&env.id, r))
                .collect();
            ctx.progress.add("role_assignments", roles.len() as u64);
            ctx.note(&roles, principals::Refs::role);
            ctx.rows(&roles).await;
            ctx.status(
                scope,
                CollectionKind::RoleAssignments,
                collected(roles.len()),
            )
            .await;
        }
        Err(e) => {
            ctx.status(scope, CollectionKind::RoleAssignments, failed(&e))
                .await
        }
    }
}

/// System Administrators in every business unit, and the `organizations` settings.
async fn crawl_dataverse(ctx: &Ctx, env: &Environment) {
    let scope = CollectionScope::Environment(env.id.clone());
    ctx.status(
        scope.clone(),
        CollectionKind::RoleAssignments,
        CollectionState::Skipped {
            reason: "Dataverse environment: roles come from Dataverse".into(),
        },
    )
    .await;
    let url = env
        .instance_api_url
        .as_deref()
        .or(env.instance_url.as_deref())
        .and_then(|u| url::Url::parse(u).ok());
    let url_present = url.is_some();
    let client = match url {
        Some(u) => DataverseClient::new(ctx.clients.transport.clone(), &u, 5000),
        None => Err(ClientError::InvalidRequest(String::new())),
    };
    let client = match (client, url_present) {
        (Ok(c), _) => c,
        (Err(e), true) => {
            ctx.status(scope.clone(), CollectionKind::DataverseAdmins, failed(&e))
                .await;
            ctx.status(scope, CollectionKind::DataverseSettings, failed(&e))
                .await;
            return;
        }
        (Err(_), false) => {
            let state = CollectionState::Failed {
                http_status: None,
                code: None,
                message: "the environment has Dataverse but no instance URL".into(),
            };
            ctx.status(
                scope.clone(),
                CollectionKind::DataverseAdmins,
                state.clone(),
            )
            .await;
            ctx.status(scope, CollectionKind::DataverseSettings, state)
                .await;
            return;
        }
    };
    let (org, admins) = tokio::join!(
        client.organization::<wire::dataverse::Organization>(),
        dataverse_admins(&client, &ctx.clients.graph, &env.id)
    );
    match org {
        Ok(org) => {
            let mut e = env.clone();
            e.dataverse_settings = org.as_ref().map(map::dataverse_settings);
            ctx.rows(&[e]).await;
            ctx.status(
                scope.clone(),
                CollectionKind::DataverseSettings,
                collected(usize::from(org.is_some())),
            )
            .await;
        }
        Err(e) => {
            ctx.status(scope.clone(), CollectionKind::DataverseSettings, failed(&e))
                .await
        }
    }
    match admins {
        Ok(roles) => {
            ctx.progress.add("role_assignments", roles.len() as u64);
            ctx.note(&roles, principals::Refs::role);
            ctx.rows(&roles).await;
            ctx.status(
                scope,
                CollectionKind::DataverseAdmins,
                collected(roles.len()),
            )
            .await;
        }
        Err(e) => {
            ctx.status(scope, CollectionKind::DataverseAdmins, failed(&e))
                .await
        }
    }
}

async fn dataverse_admins(
    client: &DataverseClient,
    graph: &ppgov_client::GraphClient,
    env: &str,
) -> Result<Vec<RoleAssignment>, ClientError> {
    let roles: Vec<wire::dataverse::Role> = client
        .roles_by_template(SYSTEM_ADMINISTRATOR_TEMPLATE_ID)
        .try_collect()
        .await?;
    let mut out = Vec::new();
    let mut role_ids = Vec::new();
    for role in roles {
        let Some(role_id) = role.roleid.clone() else {
            continue;
        };
        role_ids.push(role_id.clone());
        let members: Vec<wire::dataverse::SystemUser> =
            client.role_members(&role_id).try_collect().await?;
        out.extend(
            members
                .iter()
                .filter(|m| m.azureactivedirectoryobjectid.is_some())
                .map(|m| map::dataverse_admin(env, m, &role_id)),
        );
    }
    out.extend(crate::teams::group_team_admins(client, graph, env, &role_ids).await?);
    Ok(out)
}
