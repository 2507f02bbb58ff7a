//! One environment's flows: list, carry forward what did not change, fetch the rest (definition,
//! permissions, runs).

use crate::crawler::{Ctx, Parent, collected, failed};
use crate::runs::RunCounter;
use crate::writer::WriteOp;
use crate::{map, principals};
use chrono::{DateTime, SecondsFormat, Utc};
use futures::{StreamExt, TryStreamExt, stream};
use ppgov_client::{ClientError, Clients};
use ppgov_core::{CollectionKind, CollectionScope, Environment};
use ppgov_model as wire;
use ppgov_store::StoreKind;
use std::collections::BTreeMap;

/// Flows mapped and sent to the writer together.
const WRITE_CHUNK: usize = 200;

/// Whether a listed resource is the one the parent snapshot holds. `coarse` compares whole
/// seconds: the inventory API may write times with another precision than the resource APIs.
pub(crate) fn unchanged(
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

pub(crate) async fn crawl_flows(ctx: &Ctx, env: &Environment) {
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
