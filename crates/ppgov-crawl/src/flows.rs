//! One environment's flows: list; carry forward what did not change and is young enough; read the
//! rest (definition, permissions, runs), each facet only when it is due (see `freshness.rs`).

use crate::crawler::{Ctx, Parent, collected, failed};
use crate::freshness;
use crate::runs::RunCounter;
use crate::writer::WriteOp;
use crate::{map, principals};
use chrono::{DateTime, SecondsFormat, Utc};
use futures::{StreamExt, TryStreamExt, stream};
use ppgov_client::{ClientError, Clients};
use ppgov_core::{
    CollectionKind, CollectionScope, Environment, Facet, Observations, Permission, ResourceKind,
    RunStats,
};
use ppgov_model as wire;
use ppgov_store::{Carry, StoreKind};
use std::collections::BTreeMap;

/// Flows mapped and sent to the writer together.
const WRITE_CHUNK: usize = 200;

/// Whether a listed resource is the one the parent snapshot holds: same `lastModifiedTime` at the
/// precision both share (the flow list writes whole seconds, the single-flow GET seven digits).
/// `max_digits` caps the precision compared (0 for the inventory API, which may write times with
/// another precision and rounding than the resource APIs).
pub(crate) fn unchanged(
    parent: Option<&BTreeMap<String, Option<DateTime<Utc>>>>,
    id: &str,
    listed: &Option<String>,
    max_digits: u32,
) -> bool {
    let (Some(text), Some(modified)) = (listed.as_deref(), map::time_of(listed)) else {
        return false;
    };
    let Some(Some(prev)) = parent.and_then(|p| p.get(id)) else {
        return false;
    };
    if max_digits == 0 {
        prev.timestamp() == modified.timestamp()
    } else {
        freshness::same_time(*prev, text, modified)
    }
}

/// What to do with one listed flow.
enum Plan {
    /// Carry the parent's row as it is.
    Copy,
    /// Keep the parent's definition, read these facets again.
    Refresh { permissions: bool, runs: bool },
    /// Read everything.
    Full,
}

fn plan(ctx: &Ctx, f: &wire::flow::Flow, max_digits: u32) -> Plan {
    let Some(p) = ctx.parent.as_ref() else {
        return Plan::Full;
    };
    let id = &f.name;
    if ctx.is_marked(ResourceKind::Flow, id)
        || !unchanged(
            Some(&p.flows),
            id,
            &f.properties.last_modified_time,
            max_digits,
        )
    {
        return Plan::Full;
    }
    let obs = p.flow_facets.get(id);
    if ctx.due(obs, Facet::Definition, id) {
        return Plan::Full;
    }
    let permissions = ctx.due(obs, Facet::Permissions, id);
    let runs = ctx.due(obs, Facet::Runs, id);
    if permissions || runs {
        Plan::Refresh { permissions, runs }
    } else {
        Plan::Copy
    }
}

pub(crate) async fn crawl_flows(ctx: &Ctx, env: &Environment) {
    let scope = CollectionScope::Environment(env.id.clone());
    let c = &ctx.clients;
    let from_inventory = ctx.flow_listing.as_ref().and_then(|l| l.flows_of(&env.id));
    let max_digits = if from_inventory.is_some() { 0 } else { 9 };
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
    let mut keep = Vec::new();
    let mut refresh = Vec::new();
    let mut fetch = Vec::new();
    for f in &listed {
        match plan(ctx, f, max_digits) {
            Plan::Copy => keep.push(f.name.clone()),
            Plan::Refresh { permissions, runs } => refresh.push((f, permissions, runs)),
            Plan::Full => fetch.push(f),
        }
    }
    let counts = &ctx.facet_counts;
    counts.carried(Facet::Definition, keep.len() + refresh.len());
    counts.read(Facet::Definition, fetch.len());
    counts.carried(Facet::Permissions, keep.len());
    counts.carried(Facet::Runs, keep.len());
    let kept = keep.len();
    if let Some(Parent { id: from, .. }) = ctx.parent.as_ref()
        && !keep.is_empty()
    {
        ctx.send(WriteOp::Copy {
            from: from.clone(),
            kind: StoreKind::Flow,
            ids: keep,
        })
        .await;
    }
    let since = RunCounter::since(ctx.now).to_rfc3339_opts(SecondsFormat::Secs, true);
    let filter = format!("startTime ge {since}");
    let mut errors: BTreeMap<CollectionKind, ClientError> = BTreeMap::new();
    let refreshed = refresh_facets(ctx, env, refresh, &filter, &mut errors).await;
    // Written in chunks as they arrive, so a large environment's definitions are never all in
    // memory at once.
    // By index, so the closure's argument carries no lifetime (see `sendable.rs`).
    let mut results = stream::iter(0..fetch.len())
        .map(|i| {
            let f = fetch[i];
            let filter = filter.clone();
            crate::sendable::sendable(async move {
                let (full, perms, runs) = tokio::join!(
                    c.flow.get_flow::<wire::flow::Flow>(&env.id, &f.name),
                    c.flow
                        .flow_permissions::<wire::flow::FlowPermission>(&env.id, &f.name)
                        .try_collect::<Vec<_>>(),
                    count_runs(c, &env.id, &f.name, &filter, ctx.now)
                );
                (f, full, perms, runs)
            })
        })
        .buffer_unordered(ctx.concurrency)
        .chunks(WRITE_CHUNK);
    let mut written = 0usize;
    while let Some(chunk) = results.next().await {
        let mut flows = Vec::with_capacity(chunk.len());
        for (listed, full, perms, runs) in chunk {
            let (base, definition_ok) = match full {
                // The listing names the flow; a GET that answers with another id must not merge
                // two flows into one row.
                Ok(mut f) => {
                    if !f.name.eq_ignore_ascii_case(&listed.name) {
                        tracing::warn!(environment_id = %env.id, listed = %listed.name, returned = %f.name, "flow GET returned another flow's id; keeping the listed id");
                        f.name = listed.name.clone();
                    }
                    (f, true)
                }
                // Deleted between list and get: it is gone, leave it out.
                Err(e) if e.is_not_found() => continue,
                Err(e) => {
                    errors.entry(CollectionKind::FlowDefinitions).or_insert(e);
                    (listed.clone(), false)
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
            let (perms_ok, runs_ok) = (perms.is_some(), runs.is_some());
            let mut flow = map::flow(&env.id, &base, perms, runs);
            flow.observed
                .record(Facet::Definition, ctx.now, definition_ok);
            flow.observed.record(Facet::Permissions, ctx.now, perms_ok);
            flow.observed.record(Facet::Runs, ctx.now, runs_ok);
            flows.push(flow);
        }
        written += flows.len();
        ctx.note(&flows, principals::Refs::flow);
        ctx.rows(&flows).await;
    }
    counts.read(Facet::Permissions, written);
    counts.read(Facet::Runs, written);
    ctx.progress
        .add("flows", (written + kept + refreshed) as u64);
    for kind in [
        CollectionKind::FlowDefinitions,
        CollectionKind::FlowPermissions,
        CollectionKind::FlowRuns,
    ] {
        let state = match errors.get(&kind) {
            Some(e) => failed(e),
            None => collected(written + kept + refreshed),
        };
        ctx.status(scope.clone(), kind, state).await;
    }
}

/// Reads the due facets of flows whose definition is kept, and writes each as its parent row with
/// those facets replaced. Returns how many were written.
async fn refresh_facets(
    ctx: &Ctx,
    env: &Environment,
    refresh: Vec<(&wire::flow::Flow, bool, bool)>,
    filter: &str,
    errors: &mut BTreeMap<CollectionKind, ClientError>,
) -> usize {
    let Some(parent) = ctx.parent.as_ref() else {
        return 0;
    };
    if refresh.is_empty() {
        return 0;
    }
    let c = &ctx.clients;
    let results: Vec<_> = stream::iter(0..refresh.len())
        .map(|i| {
            let (f, want_perms, want_runs) = refresh[i];
            crate::sendable::sendable(async move {
                let perms = async {
                    if want_perms {
                        Some(
                            c.flow
                                .flow_permissions::<wire::flow::FlowPermission>(&env.id, &f.name)
                                .try_collect::<Vec<_>>()
                                .await,
                        )
                    } else {
                        None
                    }
                };
                let runs = async {
                    if want_runs {
                        Some(count_runs(c, &env.id, &f.name, filter, ctx.now).await)
                    } else {
                        None
                    }
                };
                let (p, r) = tokio::join!(perms, runs);
                (f, p, r)
            })
        })
        .buffer_unordered(ctx.concurrency)
        .collect()
        .await;
    let mut carries = Vec::with_capacity(results.len());
    let mut notes = Vec::new();
    for (f, perms, runs) in results {
        let mut observed: Observations =
            parent.flow_facets.get(&f.name).cloned().unwrap_or_default();
        let mut set = serde_json::Map::new();
        if let Some(perms) = perms {
            let perms: Option<Vec<Permission>> = match perms {
                Ok(p) => Some(map::flow_permissions(&p)),
                Err(e) => {
                    errors.entry(CollectionKind::FlowPermissions).or_insert(e);
                    None
                }
            };
            observed.record(Facet::Permissions, ctx.now, perms.is_some());
            notes.push(ppgov_core::Flow {
                permissions: perms.clone(),
                ..Default::default()
            });
            set.insert(
                "permissions".into(),
                serde_json::to_value(perms).unwrap_or_default(),
            );
            ctx.facet_counts.read(Facet::Permissions, 1);
        } else {
            ctx.facet_counts.carried(Facet::Permissions, 1);
        }
        if let Some(runs) = runs {
            let runs: Option<RunStats> = match runs {
                Ok(r) => Some(r),
                Err(e) => {
                    errors.entry(CollectionKind::FlowRuns).or_insert(e);
                    None
                }
            };
            observed.record(Facet::Runs, ctx.now, runs.is_some());
            set.insert(
                "runs".into(),
                serde_json::to_value(runs).unwrap_or_default(),
            );
            ctx.facet_counts.read(Facet::Runs, 1);
        } else {
            ctx.facet_counts.carried(Facet::Runs, 1);
        }
        set.insert(
            "observed".into(),
            serde_json::to_value(&observed).unwrap_or_default(),
        );
        carries.push(Carry::Patch {
            kind: StoreKind::Flow,
            id: f.name.clone(),
            set,
        });
    }
    ctx.note(&notes, principals::Refs::flow);
    let n = carries.len();
    ctx.send(WriteOp::Carry {
        from: parent.id.clone(),
        carries,
    })
    .await;
    n
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
