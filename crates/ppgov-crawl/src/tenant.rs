//! Tenant-wide data: settings, isolation, DLP policies, connector metadata, the environment list,
//! and the transitive membership of the groups rules judge against.

use crate::crawler::{Ctx, collected, failed};
use crate::error::CrawlError;
use crate::{map, principals};
use futures::TryStreamExt;
use ppgov_client::{ClientError, Clients};
use ppgov_core::{
    CollectionKind, CollectionScope, ConnectorMetadata, DlpPolicy, Environment, GroupMembers,
    connector_key,
};
use ppgov_model as wire;

/// Tenant settings, isolation, DLP, connector metadata, the environment list and the watched
/// groups' membership.
pub(crate) async fn crawl_tenant(
    ctx: &Ctx,
    tenant_id: &str,
    groups: &[String],
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
    let (envs, settings, isolation, dlp, meta, members) = tokio::join!(
        envs_f,
        c.bap.list_tenant_settings::<wire::bap::TenantSettings>(),
        c.bap
            .tenant_isolation::<wire::bap::TenantIsolationPolicy>(tenant_id),
        dlp_policies(c),
        connector_metadata(c),
        group_members(c, groups, ctx.now)
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
    match members {
        _ if groups.is_empty() => {}
        Ok(g) => {
            ctx.rows(&g).await;
            ctx.status(t.clone(), CollectionKind::GroupMembers, collected(g.len()))
                .await;
        }
        Err(e) => {
            ctx.status(t.clone(), CollectionKind::GroupMembers, failed(&e))
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

/// Each group's transitive users and service principals. A group Graph does not know (404) is
/// recorded as missing, so a rule can say the configuration names no group; any other failure
/// fails the whole piece, so no rule judges against a partial membership.
async fn group_members(
    c: &Clients,
    groups: &[String],
    at: chrono::DateTime<chrono::Utc>,
) -> Result<Vec<GroupMembers>, ClientError> {
    let mut out: Vec<GroupMembers> = Vec::with_capacity(groups.len());
    for g in groups.iter().map(|g| g.trim()).filter(|g| !g.is_empty()) {
        if out.iter().any(|x| x.group_id.eq_ignore_ascii_case(g)) {
            continue;
        }
        let members = c
            .graph
            .transitive_members::<wire::graph::DirectoryObject>(g)
            .try_collect::<Vec<_>>()
            .await;
        out.push(match members {
            Ok(m) => GroupMembers::new(
                g,
                m.into_iter()
                    .filter(|o| {
                        o.kind().is_some_and(|k| {
                            k.eq_ignore_ascii_case("user")
                                || k.eq_ignore_ascii_case("servicePrincipal")
                        })
                    })
                    .map(|o| o.id),
                at,
            ),
            Err(e) if e.is_not_found() => GroupMembers::missing(g, at),
            Err(e) => return Err(e),
        });
    }
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
