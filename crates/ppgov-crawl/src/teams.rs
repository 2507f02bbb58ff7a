//! System Administrators through Microsoft Entra group teams: Dataverse `teams` of type 2
//! (security group) or 3 (Office group) carry security roles through `teamroles_association`,
//! and every transitive member of the team's group holds them (the platform creates the user
//! just in time at first sign-in). Such assignments cannot be elevated just in time (seed 003),
//! so their holders are standing admins.

use crate::map;
use futures::TryStreamExt;
use ppgov_client::{ClientError, DataverseClient, GraphClient};
use ppgov_core::RoleAssignment;
use ppgov_model as wire;
use std::collections::BTreeMap;

/// The group teams holding each of `role_ids` (every business unit's copy of System
/// Administrator) and their groups' transitive members, as role assignments: one for the group
/// itself, one per member with `via_group` set. A group Graph no longer has (404) has no
/// members; any other failure fails the whole list, so admins are never silently missed.
pub(crate) async fn group_team_admins(
    client: &DataverseClient,
    graph: &GraphClient,
    environment_id: &str,
    role_ids: &[String],
) -> Result<Vec<RoleAssignment>, ClientError> {
    let mut members: BTreeMap<String, Vec<wire::graph::DirectoryObject>> = BTreeMap::new();
    let mut out = Vec::new();
    for role_id in role_ids {
        let teams: Vec<wire::dataverse::Team> = client.role_teams(role_id).try_collect().await?;
        for team in teams.iter().filter(|t| t.is_group_team()) {
            let holder = map::group_team_admin(environment_id, team, role_id);
            if !members.contains_key(&holder.principal_id) {
                let got = match graph
                    .transitive_members::<wire::graph::DirectoryObject>(&holder.principal_id)
                    .try_collect::<Vec<_>>()
                    .await
                {
                    Ok(m) => m,
                    Err(e) if e.is_not_found() => Vec::new(),
                    Err(e) => return Err(e),
                };
                members.insert(holder.principal_id.clone(), got);
            }
            for m in members.get(&holder.principal_id).into_iter().flatten() {
                // Nested groups are already expanded by `transitiveMembers`; devices and
                // contacts cannot sign in to Dataverse.
                let kind = m.kind().unwrap_or_default();
                if kind.eq_ignore_ascii_case("user")
                    || kind.eq_ignore_ascii_case("servicePrincipal")
                {
                    out.push(map::group_member_admin(&holder, m));
                }
            }
            out.push(holder);
        }
    }
    Ok(out)
}
