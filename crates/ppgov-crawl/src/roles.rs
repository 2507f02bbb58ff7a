//! One environment's admin role holders: BAP role assignments, or Dataverse System Administrators
//! and organisation settings.

use crate::crawler::{Ctx, collected, failed};
use crate::{map, principals};
use futures::TryStreamExt;
use ppgov_client::{ClientError, DataverseClient};
use ppgov_core::{
    CollectionKind, CollectionScope, CollectionState, Environment, RoleAssignment,
    SYSTEM_ADMINISTRATOR_TEMPLATE_ID,
};
use ppgov_model as wire;

pub(crate) async fn crawl_bap_roles(ctx: &Ctx, env: &Environment) {
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
pub(crate) async fn crawl_dataverse(ctx: &Ctx, env: &Environment) {
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
