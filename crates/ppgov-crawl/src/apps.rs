//! One environment's apps (with permissions) and connections.

use crate::crawler::{Ctx, Parent, collected, failed};
use crate::flows::unchanged;
use crate::writer::WriteOp;
use crate::{map, principals};
use futures::{StreamExt, TryStreamExt, stream};
use ppgov_client::ClientError;
use ppgov_core::{CollectionKind, CollectionScope, Environment, Permission};
use ppgov_model as wire;
use ppgov_store::StoreKind;

pub(crate) async fn crawl_apps(ctx: &Ctx, env: &Environment) {
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

pub(crate) async fn crawl_connections(ctx: &Ctx, env: &Environment) {
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
