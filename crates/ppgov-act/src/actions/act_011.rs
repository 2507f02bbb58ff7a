//! PPG-ACT-011: remove a security role (System Administrator) from a user in an environment
//! (seed 003, `Remove-RoleAssignmentFromUsers`).
//!
//! Dataverse `DELETE /systemusers({id})/systemuserroles_association/$ref?$id=.../roles({role})`
//! for every business unit's copy of the role the user holds directly. Roles held through a
//! group team are not touched (the API cannot remove those per user; see the report).

use super::{Ctx, Observed, dataverse_of};
use crate::ActError;
use crate::action::{ActionMeta, Reversibility};
use crate::plan::Step;
use futures::TryStreamExt;
use ppgov_model::dataverse::SYSTEM_ADMINISTRATOR_TEMPLATE_ID;
use serde_json::{Value, json};

/// The declaration.
pub const META: ActionMeta = ActionMeta {
    id: "PPG-ACT-011",
    title: "Remove a security role from listed users",
    resource: "Dataverse systemuserroles_association of a user (DELETE $ref, 204)",
    preconditions: &[
        "the environment has Dataverse",
        "the user is not on the break-glass list ([posture] break_glass_admins) unless forced",
    ],
    permissions: &["System Administrator in the environment"],
    verification: "re-read the role's members; the user holds none of its copies",
    undo: Reversibility::Restore,
    undo_text: "associate the recorded role copies with the user again",
    plannable: true,
};

/// The only role this build removes by name.
pub const SYSTEM_ADMINISTRATOR: &str = "System Administrator";

/// No copy of the role held.
pub fn desired() -> Value {
    json!({ "roles": [] })
}

/// Role copies (ids, sorted) the user holds, and the user's systemuserid, in one environment.
/// Every business unit's copy of System Administrator in an environment (by template id).
async fn system_administrator_roles(
    dv: &ppgov_client::DataverseClient,
    env: &str,
) -> Result<Vec<Value>, ActError> {
    dv.roles_by_template(SYSTEM_ADMINISTRATOR_TEMPLATE_ID)
        .try_collect()
        .await
        .map_err(ActError::client(format!(
            "listing the System Administrator roles of environment {env}"
        )))
}

pub(crate) async fn holdings(
    ctx: &Ctx,
    env: &str,
    upn: &str,
) -> Result<(Vec<String>, Option<String>), ActError> {
    let dv = dataverse_of(ctx, env).await?;
    let roles = system_administrator_roles(&dv, env).await?;
    let mut held = Vec::new();
    let mut user_id = None;
    for role in roles {
        let Some(rid) = role.get("roleid").and_then(Value::as_str) else {
            continue;
        };
        let members: Vec<Value> =
            dv.role_members(rid)
                .try_collect()
                .await
                .map_err(ActError::client(format!(
                    "listing the members of role {rid} in environment {env}"
                )))?;
        for m in members {
            let name = m.get("domainname").and_then(Value::as_str).unwrap_or("");
            if name.eq_ignore_ascii_case(upn) {
                held.push(rid.to_ascii_lowercase());
                user_id = m
                    .get("systemuserid")
                    .and_then(Value::as_str)
                    .map(str::to_owned);
            }
        }
    }
    held.sort();
    held.dedup();
    Ok((held, user_id))
}

pub(crate) async fn read(ctx: &Ctx, step: &Step) -> Result<Observed, ActError> {
    let env = step.target.environment.as_deref().unwrap_or_default();
    let (held, user) = holdings(ctx, env, &step.target.id).await?;
    Ok(Observed {
        state: json!({ "roles": held }),
        busy: false,
        handle: json!(user),
    })
}

pub(crate) async fn write(ctx: &Ctx, step: &Step, o: &Observed) -> Result<String, ActError> {
    let env = step.target.environment.as_deref().unwrap_or_default();
    let dv = dataverse_of(ctx, env).await?;
    let want: Vec<String> = step
        .change
        .get("roles")
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(|v| v.as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default();
    let have: Vec<String> = o
        .state
        .get("roles")
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(|v| v.as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default();
    let mut last = String::new();
    let user = o.handle.as_str();
    for rid in have.iter().filter(|r| !want.contains(r)) {
        let Some(user) = user else { break };
        let r = dv
            .disassociate_role(user, rid)
            .await
            .map_err(ActError::client(format!(
                "removing role {rid} from {} in environment {env}",
                step.target.id
            )))?;
        last = r.request_id;
    }
    for rid in want.iter().filter(|r| !have.contains(r)) {
        // Undo: give the role back. The user must exist in the environment.
        let Some(user) = user_for_undo(ctx, env, &step.target.id, user).await? else {
            return Err(ActError::Invalid(format!(
                "user {} is not in environment {env}; cannot give the role back",
                step.target.id
            )));
        };
        let r = dv
            .associate_role(&user, rid)
            .await
            .map_err(ActError::client(format!(
                "giving role {rid} back to {} in environment {env}",
                step.target.id
            )))?;
        last = r.request_id;
    }
    Ok(last)
}

async fn user_for_undo(
    ctx: &Ctx,
    env: &str,
    upn: &str,
    known: Option<&str>,
) -> Result<Option<String>, ActError> {
    if let Some(u) = known {
        return Ok(Some(u.to_string()));
    }
    let dv = dataverse_of(ctx, env).await?;
    let filter = format!("domainname eq '{}'", upn.replace('\'', "''"));
    let users: Vec<Value> = dv
        .system_users(Some(&filter), "systemuserid,domainname", "")
        .try_collect()
        .await
        .map_err(ActError::client(format!(
            "finding user {upn} in environment {env}"
        )))?;
    Ok(users
        .first()
        .and_then(|u| u.get("systemuserid"))
        .and_then(Value::as_str)
        .map(str::to_owned))
}

/// Who holds System Administrator in `env` through a Microsoft Entra group team: lower-cased
/// user principal name to the teams (`'name' (group id)`) that grant it. Every business unit's
/// copy of the role counts; nested groups are expanded by Graph `transitiveMembers`; a group Graph
/// no longer has (404) grants nothing; any other failure is an error, never an empty answer.
pub(crate) async fn group_holdings(
    ctx: &Ctx,
    env: &str,
) -> Result<std::collections::BTreeMap<String, Vec<String>>, ActError> {
    use ppgov_model as wire;
    let dv = dataverse_of(ctx, env).await?;
    let roles = system_administrator_roles(&dv, env).await?;
    let mut out: std::collections::BTreeMap<String, Vec<String>> = Default::default();
    for rid in roles
        .iter()
        .filter_map(|r| r.get("roleid").and_then(Value::as_str))
    {
        let teams: Vec<wire::dataverse::Team> =
            dv.role_teams(rid)
                .try_collect()
                .await
                .map_err(ActError::client(format!(
                    "listing the teams holding role {rid} in environment {env}"
                )))?;
        for team in teams.iter().filter(|t| t.is_group_team()) {
            let Some(group) = team.azureactivedirectoryobjectid.as_deref() else {
                continue;
            };
            let members: Vec<wire::graph::DirectoryObject> = match ctx
                .clients
                .graph
                .transitive_members(group)
                .try_collect()
                .await
            {
                Ok(m) => m,
                Err(e) if e.is_not_found() => Vec::new(),
                Err(e) => {
                    return Err(ActError::client(format!(
                        "reading the members of group {group} (a team holding System Administrator in {env})"
                    ))(e));
                }
            };
            let label = format!(
                "'{}' (group {group})",
                team.name.as_deref().unwrap_or("unnamed team")
            );
            for upn in members
                .iter()
                .filter_map(|m| m.user_principal_name.as_deref())
            {
                let via = out.entry(upn.to_ascii_lowercase()).or_default();
                if !via.contains(&label) {
                    via.push(label.clone());
                }
            }
        }
    }
    Ok(out)
}
