//! One environment's admin role holders: BAP role assignments, or Dataverse System Administrators
//! and organisation settings.
//!
//! Role holders change without anything's `lastModifiedTime` moving, so they are a facet with its
//! own maximum age (`[crawl.max_age] role_holders`): an incremental crawl carries an
//! environment's holders from the parent while they are younger than that age (spread like every
//! facet, see `freshness.rs`), were collected successfully through the same source (BAP or
//! Dataverse) and the environment is not marked for refresh; otherwise it reads them again. Each
//! holder row keeps the time it was read (the row's `last_modified` column, stamped at the end of
//! the crawl that read it), and an environment's observation is its oldest holder's. An
//! environment with no holders is always read again (there is no row to date). Dataverse
//! organisation settings are read on every crawl (one call).

use crate::crawler::{Ctx, collected, failed};
use crate::writer::WriteOp;
use crate::{freshness, map, principals};
use chrono::{DateTime, Utc};
use futures::TryStreamExt;
use ppgov_client::{ClientError, DataverseClient};
use ppgov_core::{
    CollectionKind, CollectionScope, CollectionState, Environment, Facet, Observation,
    ResourceKind, RoleAssignment, SYSTEM_ADMINISTRATOR_TEMPLATE_ID,
};
use ppgov_model as wire;
use ppgov_store::{SnapshotId, Snapshots, StoreError, StoreKind};
use std::collections::BTreeMap;

/// One environment's holders in the parent snapshot.
#[derive(Debug, Default)]
pub(crate) struct ParentHolders {
    /// Row ids of its role assignments.
    ids: Vec<String>,
    /// When the oldest of them was read.
    oldest: Option<DateTime<Utc>>,
    /// Some row has no time (written by an older ppgov): the environment is read again.
    undated: bool,
    /// BAP role assignments were collected.
    bap_ok: bool,
    /// Dataverse System Administrators were collected.
    dataverse_ok: bool,
}

/// Every environment's holders in the parent snapshot, keyed by lower-case environment id.
#[derive(Debug, Default)]
pub(crate) struct ParentRoles(BTreeMap<String, ParentHolders>);

impl ParentRoles {
    /// Reads the parent's role assignment rows (ids and times) and collection status.
    pub(crate) fn read(
        store: &dyn Snapshots,
        parent: &SnapshotId,
    ) -> Result<ParentRoles, StoreError> {
        let mut out: BTreeMap<String, ParentHolders> = BTreeMap::new();
        for (id, at) in store.resource_versions(parent, StoreKind::RoleAssignment)? {
            // Row ids start with the environment id (`kinds.rs`).
            let env = id
                .split('/')
                .next()
                .unwrap_or_default()
                .to_ascii_lowercase();
            let h = out.entry(env).or_default();
            h.undated |= at.is_none();
            if let Some(t) = at {
                h.oldest = Some(h.oldest.map_or(t, |o| o.min(t)));
            }
            h.ids.push(id);
        }
        for e in store.load_collection(parent)?.entries {
            let CollectionScope::Environment(env) = &e.scope else {
                continue;
            };
            let ok = matches!(e.state, CollectionState::Collected { .. });
            let h = out.entry(env.to_ascii_lowercase()).or_default();
            match e.kind {
                CollectionKind::RoleAssignments => h.bap_ok = ok,
                CollectionKind::DataverseAdmins => h.dataverse_ok = ok,
                _ => {}
            }
        }
        Ok(ParentRoles(out))
    }
}

/// Carries the environment's holders from the parent when they are not due; true when it did.
/// For a BAP environment it records the collection status the read would have; for a Dataverse
/// one only the admins' (the settings are still read).
pub(crate) async fn carry(ctx: &Ctx, env: &Environment, dataverse: bool) -> bool {
    let Some(parent) = &ctx.parent else {
        return false;
    };
    let Some(h) = parent.roles.0.get(&env.id.to_ascii_lowercase()) else {
        return false;
    };
    let ok = if dataverse { h.dataverse_ok } else { h.bap_ok };
    let obs = h.oldest.map(|at| Observation { at, ok });
    if h.ids.is_empty()
        || h.undated
        || ctx.is_marked(ResourceKind::Environment, &env.id)
        || freshness::due(obs, Facet::RoleHolders, &env.id, ctx.now, &ctx.max_age)
    {
        return false;
    }
    let n = h.ids.len();
    ctx.send(WriteOp::Copy {
        from: parent.id.clone(),
        kind: StoreKind::RoleAssignment,
        ids: h.ids.clone(),
    })
    .await;
    ctx.facet_counts.carried(Facet::RoleHolders, n);
    ctx.progress.add("role_assignments", n as u64);
    let scope = CollectionScope::Environment(env.id.clone());
    if dataverse {
        ctx.status(scope, CollectionKind::DataverseAdmins, collected(n))
            .await;
    } else {
        skip_dataverse(ctx, env).await;
        ctx.status(scope, CollectionKind::RoleAssignments, collected(n))
            .await;
    }
    true
}

/// Records the Dataverse facets of an environment without (usable) Dataverse as skipped.
async fn skip_dataverse(ctx: &Ctx, env: &Environment) {
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
}

pub(crate) async fn crawl_bap_roles(ctx: &Ctx, env: &Environment) {
    let scope = CollectionScope::Environment(env.id.clone());
    skip_dataverse(ctx, env).await;
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
            ctx.facet_counts.read(Facet::RoleHolders, roles.len());
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

/// System Administrators in every business unit (unless `read_admins` is false: they were
/// carried), and the `organizations` settings.
pub(crate) async fn crawl_dataverse(ctx: &Ctx, env: &Environment, read_admins: bool) {
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
        // Checked against the cloud's Dataverse domains: a refused URL is recorded (code
        // `UntrustedHost`, with the reason) and never contacted.
        Some(u) => ctx.clients.dataverse(&u, 5000),
        None => Err(ClientError::InvalidRequest(String::new())),
    };
    let client = match (client, url_present) {
        (Ok(c), _) => c,
        (Err(e), true) => {
            if read_admins {
                ctx.status(scope.clone(), CollectionKind::DataverseAdmins, failed(&e))
                    .await;
            }
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
            if read_admins {
                ctx.status(
                    scope.clone(),
                    CollectionKind::DataverseAdmins,
                    state.clone(),
                )
                .await;
            }
            ctx.status(scope, CollectionKind::DataverseSettings, state)
                .await;
            return;
        }
    };
    let admins = async {
        if read_admins {
            Some(dataverse_admins(&client, &ctx.clients.graph, &env.id).await)
        } else {
            None
        }
    };
    let (org, admins) = tokio::join!(
        client.organization::<wire::dataverse::Organization>(),
        admins
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
        None => {}
        Some(Ok(roles)) => {
            ctx.progress.add("role_assignments", roles.len() as u64);
            ctx.facet_counts.read(Facet::RoleHolders, roles.len());
            ctx.note(&roles, principals::Refs::role);
            ctx.rows(&roles).await;
            ctx.status(
                scope,
                CollectionKind::DataverseAdmins,
                collected(roles.len()),
            )
            .await;
        }
        Some(Err(e)) => {
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
