//! One environment's apps (with permissions) and connections (with permissions, each read with
//! the connection's own `/permissions` call: the admin list does not carry sharing).

use crate::crawler::{Ctx, Parent, collected, failed};
use crate::flows::unchanged;
use crate::writer::WriteOp;
use crate::{map, principals};
use futures::{StreamExt, TryStreamExt, stream};
use ppgov_client::ClientError;
use ppgov_core::{CollectionKind, CollectionScope, Environment, Facet, Permission, ResourceKind};
use ppgov_model as wire;
use ppgov_store::{Carry, ResourceRow, StoreKind};

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
    let quarantine = ctx.default_env_quarantine && env.is_default;
    // An app is carried as it is when it did not change, is not marked, and its access list is
    // young enough; otherwise the listed document is mapped again and its permissions read. A
    // quarantined app is read again while quarantine is read, so its release is seen.
    let (keep, fetch): (Vec<&wire::powerapps::App>, Vec<&wire::powerapps::App>) =
        listed.iter().partition(|a| {
            parent.is_some_and(|p| {
                let obs = p.app_facets.get(&a.name);
                unchanged(Some(&p.apps), &a.name, &a.properties.last_modified_time, 9)
                    && !p.quarantined_apps.contains(&a.name)
                    && !ctx.is_marked(ResourceKind::App, &a.name)
                    && !ctx.due(obs, Facet::Definition, &a.name)
                    && !ctx.due(obs, Facet::Permissions, &a.name)
            })
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
    type Fetched<'a> = (
        &'a wire::powerapps::App,
        Result<Vec<wire::powerapps::AppPermission>, ClientError>,
        Option<Result<serde_json::Value, ClientError>>,
    );
    // By index, so the closure's argument carries no lifetime (see `sendable.rs`).
    let results: Vec<Fetched> = stream::iter(0..fetch.len())
        .map(|i| {
            let a = fetch[i];
            crate::sendable::sendable(async move {
                let perms = c
                    .powerapps
                    .app_permissions(&env.id, &a.name)
                    .try_collect::<Vec<_>>()
                    .await;
                let q = if quarantine {
                    Some(c.powerapps.app_quarantine_state(&env.id, &a.name).await)
                } else {
                    None
                };
                (a, perms, q)
            })
        })
        .buffer_unordered(ctx.concurrency)
        .collect()
        .await;
    let mut error = None;
    let mut apps = Vec::with_capacity(results.len());
    for (a, perms, q) in results {
        let perms: Option<Vec<Permission>> = match perms {
            Ok(p) => Some(map::app_permissions(&p)),
            Err(e) => {
                if error.is_none() {
                    error = Some(e);
                }
                None
            }
        };
        // A quarantine state that could not be read fails the access facet with it: the app
        // is judged as not quarantined, and the collection status says the read failed.
        let (q_ok, quarantined) = match q {
            None => (true, false),
            Some(Ok(v)) => (true, map::quarantine_state(&v)),
            Some(Err(e)) => {
                if error.is_none() {
                    error = Some(e);
                }
                (false, false)
            }
        };
        let ok = perms.is_some() && q_ok;
        let mut app = map::app(&env.id, a, perms);
        app.quarantined |= quarantined;
        app.observed.record(Facet::Definition, ctx.now, true);
        app.observed.record(Facet::Permissions, ctx.now, ok);
        apps.push(app);
    }
    let counts = &ctx.facet_counts;
    counts.carried(Facet::Permissions, keep.len());
    counts.read(Facet::Permissions, apps.len());
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

/// The connector name in a connection's `apiId` (`/providers/Microsoft.PowerApps/apis/shared_sql`).
fn connector_name(api_id: &str) -> &str {
    api_id.rsplit('/').next().unwrap_or(api_id)
}

pub(crate) async fn crawl_connections(ctx: &Ctx, env: &Environment) {
    let scope = CollectionScope::Environment(env.id.clone());
    let c = &ctx.clients;
    let list = match c
        .powerapps
        .list_connections::<wire::powerapps::Connection>(&env.id)
        .try_collect::<Vec<_>>()
        .await
    {
        Ok(list) => list,
        Err(e) => {
            ctx.status(scope.clone(), CollectionKind::Connections, failed(&e))
                .await;
            ctx.status(scope, CollectionKind::ConnectionPermissions, failed(&e))
                .await;
            return;
        }
    };
    let conns: Vec<_> = list.iter().map(|x| map::connection(&env.id, x)).collect();
    ctx.status(
        scope.clone(),
        CollectionKind::Connections,
        collected(conns.len()),
    )
    .await;
    // Permissions: carried from the parent while young enough and the connection did not change;
    // otherwise read with the connection's `/permissions` call (unless the list carried them).
    let parent = ctx.parent.as_ref();
    let (keep, fetch): (Vec<_>, Vec<_>) = conns.into_iter().zip(&list).partition(|(x, w)| {
        x.permissions.is_none()
            && parent.is_some_and(|p| {
                unchanged(
                    Some(&p.connections),
                    &x.id,
                    &w.properties.last_modified_time,
                    9,
                ) && !ctx.is_marked(ResourceKind::Connection, &x.id)
                    && !ctx.due(p.connection_facets.get(&x.id), Facet::Permissions, &x.id)
            })
    });
    // Owned items, so the stream's closure argument carries no lifetime (see `sendable.rs`).
    let fetch: Vec<ppgov_core::Connection> = fetch.into_iter().map(|(x, _)| x).collect();
    let results: Vec<_> = stream::iter(fetch)
        .map(|mut x| {
            crate::sendable::sendable(async move {
                if x.permissions.is_some() {
                    return (x, None);
                }
                let read = c
                    .powerapps
                    .connection_permissions::<wire::powerapps::ConnectionPermission>(
                        &env.id,
                        connector_name(&x.api_id),
                        &x.id,
                    )
                    .try_collect::<Vec<_>>()
                    .await;
                match read {
                    Ok(p) => {
                        x.permissions = Some(map::connection_permissions(&p));
                        (x, None)
                    }
                    // Deleted between list and read: leave the permissions out (not collected).
                    Err(e) => (x, Some(e)),
                }
            })
        })
        .buffer_unordered(ctx.concurrency)
        .collect()
        .await;
    let mut error: Option<ClientError> = None;
    let mut fresh = Vec::with_capacity(results.len());
    for (mut x, e) in results {
        x.observed.record(Facet::Definition, ctx.now, true);
        x.observed
            .record(Facet::Permissions, ctx.now, x.permissions.is_some());
        if let Some(e) = e
            && !e.is_not_found()
        {
            error.get_or_insert(e);
        }
        fresh.push(x);
    }
    let mut carries = Vec::with_capacity(keep.len());
    if let Some(p) = parent {
        for (mut x, _) in keep {
            if let Some(o) = p
                .connection_facets
                .get(&x.id)
                .and_then(|o| o.get(Facet::Permissions))
            {
                x.observed.record(Facet::Permissions, o.at, o.ok);
            }
            x.observed.record(Facet::Definition, ctx.now, true);
            if let Ok(row) = ResourceRow::of(&x) {
                carries.push(Carry::Keep {
                    row,
                    fields: vec!["permissions"],
                });
            }
        }
    }
    let total = fresh.len() + carries.len();
    let counts = &ctx.facet_counts;
    counts.read(Facet::Permissions, fresh.len());
    counts.carried(Facet::Permissions, carries.len());
    ctx.progress.add("connections", total as u64);
    ctx.note(&fresh, principals::Refs::connection);
    ctx.rows(&fresh).await;
    if let Some(p) = parent
        && !carries.is_empty()
    {
        ctx.send(WriteOp::Carry {
            from: p.id.clone(),
            carries,
        })
        .await;
    }
    let state = error
        .as_ref()
        .map(failed)
        .unwrap_or_else(|| collected(total));
    ctx.status(scope, CollectionKind::ConnectionPermissions, state)
        .await;
}
