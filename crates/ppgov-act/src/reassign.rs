//! Planning PPG-ACT-008 (a co-owner for a flow or app) and PPG-ACT-010 (remove a connection):
//! their targets and the co-owner's kind, read from Graph so a plan never guesses whether an
//! object id is a user or a group.

use crate::ActError;
use crate::actions::{Ctx, act_008, act_010};
use crate::plan::{Step, Target};
use crate::planner::plan_step;
use ppgov_core::{ResourceKind, ResourceRef};
use ppgov_model::graph::DirectoryObject;

/// `User` or `Group` for an object id; anything else (a deleted id, a service principal) is
/// refused with why.
pub async fn principal_kind(ctx: &Ctx, id: &str) -> Result<String, ActError> {
    let found: Vec<DirectoryObject> = ctx
        .clients
        .graph
        .get_by_ids(&[id.to_string()], &["user", "group"])
        .await
        .map_err(ActError::client(format!(
            "looking up {id} in Microsoft Entra"
        )))?;
    let kind = found.first().and_then(DirectoryObject::kind);
    match kind {
        Some(k) if k.eq_ignore_ascii_case("user") => Ok("User".into()),
        Some(k) if k.eq_ignore_ascii_case("group") => Ok("Group".into()),
        _ => Err(ActError::Invalid(format!(
            "{id} is not a user or group in Microsoft Entra; the new co-owner must be one (check `[remediation] orphan_owner` or --value)"
        ))),
    }
}

/// The step giving a flow a co-owner (`owner` of `kind` `User` or `Group`), or an app a new
/// owner (a user only: the service has no group owners for apps).
pub async fn co_owner_step(
    ctx: &Ctx,
    resource: &ResourceRef,
    owner: &str,
    kind: &str,
    why: String,
) -> Result<Option<Step>, ActError> {
    let Some(env) = resource.environment_id.clone() else {
        return Err(ActError::Invalid(format!(
            "{} has no environment",
            resource.id
        )));
    };
    let (target_kind, change) = match resource.kind {
        ResourceKind::App if kind == "User" => ("app", act_008::desired_app_owner(owner)),
        ResourceKind::App => {
            return Err(ActError::Unplannable {
                action: act_008::META.id.into(),
                reason: format!(
                    "an app's owner must be a user and {owner} is a {kind}; name a user with --value or `[remediation] orphan_owner`"
                ),
            });
        }
        ResourceKind::Flow => ("flow", act_008::desired(owner, kind)),
        other => {
            return Err(ActError::Unplannable {
                action: act_008::META.id.into(),
                reason: format!("{other:?} resources have no owners to change"),
            });
        }
    };
    let target = Target {
        kind: target_kind.into(),
        id: resource.id.clone(),
        environment: Some(env),
        name: resource.name.clone(),
    };
    plan_step(ctx, act_008::META.id, target, change, why, vec![]).await
}

/// The step removing a connection.
pub async fn remove_connection_step(
    ctx: &Ctx,
    env: &str,
    connection: &str,
    name: &str,
    why: String,
) -> Result<Option<Step>, ActError> {
    let target = Target {
        kind: "connection".into(),
        id: connection.into(),
        environment: Some(env.into()),
        name: name.into(),
    };
    plan_step(
        ctx,
        act_010::META.id,
        target,
        act_010::desired(),
        why,
        vec![act_010::WARNING.into()],
    )
    .await
}

/// `--target` of ACT-008 (`[flow:|app:]ENVIRONMENT/ID`) as a resource reference.
pub fn parse_resource(target: &str) -> Result<ResourceRef, ActError> {
    let (kind, rest) = match target.split_once(':') {
        Some(("app", r)) => (ResourceKind::App, r),
        Some(("flow", r)) => (ResourceKind::Flow, r),
        _ => (ResourceKind::Flow, target),
    };
    let (env, id) = rest
        .split_once('/')
        .filter(|(e, i)| !e.is_empty() && !i.is_empty())
        .ok_or_else(|| {
            ActError::Invalid(format!(
                "PPG-ACT-008 --target is [flow:|app:]ENVIRONMENT/ID, not `{target}`"
            ))
        })?;
    Ok(ResourceRef {
        kind,
        id: id.into(),
        name: String::new(),
        environment_id: Some(env.into()),
    })
}
