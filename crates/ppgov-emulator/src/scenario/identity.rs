//! Identity shapes real tenants serve, layered on the generated content from their own RNG
//! streams (so nothing else the generator draws moves):
//!
//! - principals without a `type` in BAP role assignments and flow and app permissions, and
//!   empty strings (`displayName: ""`, `email: ""`, as in the Terraform provider's fixtures);
//!   a security group holds Environment Admin in every environment without Dataverse, typeless;
//! - Dataverse `teams`: an owner team per business unit, and in some environments a Microsoft
//!   Entra security group team (`teamtype` 2) holding one business unit's System Administrator
//!   copy, whose group (with a nested group) makes standing admins of its transitive members,
//!   planted in the ground truth as PPG-ADM-001;
//! - [`make_provisioning`]: an environment whose Dataverse is still being provisioned.

use rand::RngExt;
use serde_json::{Value, json};

use super::plan::{GroupTeamPlan, Resource};
use super::util::{guid, pick, rng_for};
use super::wellknown as wk;
use crate::tenant::{DataverseData, EnvContent, Group, PlantedFinding, Tenant};

/// Stream of the tenant-wide identity plan.
const STREAM_IDENTITY: u64 = 0x1D00_0001;
/// Base of the per-environment identity streams.
const ENV_IDENTITY_BASE: u64 = 0x1D00_0000 << 32;

/// Plants Microsoft Entra group teams holding System Administrator in `count` Dataverse
/// environments (not the default one): two direct members and a nested group with one more,
/// all active members who own nothing, so each is exactly one PPG-ADM-001 finding.
pub(super) fn plant_group_teams(t: &mut Tenant, count: usize) {
    let mut rng = rng_for(t.seed, STREAM_IDENTITY);
    let candidates: Vec<usize> = t
        .environments
        .iter()
        .filter(|e| e.index > 0 && e.plan.dataverse && !e.plan.provisioning)
        .map(|e| e.index)
        .collect();
    if candidates.is_empty() || t.roster.members.len() < 3 {
        return;
    }
    let step = (candidates.len() / count.max(1)).max(1);
    let chosen: Vec<usize> = candidates
        .iter()
        .step_by(step)
        .take(count)
        .copied()
        .collect();
    for (n, env) in chosen.into_iter().enumerate() {
        let mut holders: Vec<usize> = Vec::new();
        while holders.len() < 3 {
            let u = t.roster.members[pick(&mut rng, t.roster.members.len())];
            if !holders.contains(&u) {
                holders.push(u);
            }
        }
        let nested = Group {
            id: guid(&mut rng),
            display_name: format!("SG-Dataverse-Admins-{n:02}-nested"),
            security_enabled: true,
            members: vec![t.directory.users[holders[2]].id.clone()],
        };
        let group = Group {
            id: guid(&mut rng),
            display_name: format!("SG-Dataverse-Admins-{n:02}"),
            security_enabled: true,
            members: vec![
                t.directory.users[holders[0]].id.clone(),
                t.directory.users[holders[1]].id.clone(),
                nested.id.clone(),
            ],
        };
        let Some(spec) = t.environments.get_mut(env) else {
            continue;
        };
        let business_unit = rng.random_range(0..spec.plan.business_units.max(1) as usize);
        for &u in &holders {
            t.ground_truth.findings.push(PlantedFinding {
                rule_id: "PPG-ADM-001".into(),
                resource_id: format!("{}/{}", spec.name, t.directory.users[u].id),
            });
        }
        spec.plan.group_team = Some(GroupTeamPlan {
            group_id: group.id.clone(),
            team_name: group.display_name.clone(),
            business_unit,
            holders,
        });
        t.directory.groups.push(group);
        t.directory.groups.push(nested);
    }
    t.ground_truth.findings.sort();
    t.ground_truth.findings.dedup();
}

/// Turns environment `index` into one whose Dataverse is still being provisioned
/// (`databaseType: CommonDataService`, `linkedEnvironmentMetadata: null`): BAP serves its role
/// assignments, there is no Dataverse instance yet. What was planted in its Dataverse (admins,
/// a group team, the audit setting) leaves the ground truth with it. Refused (false) for the
/// default environment and environments without Dataverse.
pub fn make_provisioning(t: &mut Tenant, index: usize) -> bool {
    let Some(spec) = t.environments.get_mut(index) else {
        return false;
    };
    if index == 0 || !spec.plan.dataverse {
        return false;
    }
    spec.plan.provisioning = true;
    spec.plan.group_team = None;
    spec.plan.env_rules.retain(|r| r != "PPG-ENV-004");
    spec.plan
        .plants
        .retain(|p| p.kind.resource() != Resource::Role);
    if let Some(props) = spec
        .doc
        .get_mut("properties")
        .and_then(Value::as_object_mut)
    {
        props.insert("databaseType".into(), json!("CommonDataService"));
        props.insert("linkedEnvironmentMetadata".into(), Value::Null);
        props.insert(
            "provisioningState".into(),
            json!("LinkedDatabaseProvisioning"),
        );
    }
    let name = spec.name.clone();
    let holder_prefix = format!("{name}/");
    t.ground_truth.findings.retain(|f| {
        !((f.rule_id.starts_with("PPG-ADM-") && f.resource_id.starts_with(&holder_prefix))
            || (f.rule_id == "PPG-ENV-004" && f.resource_id == name))
    });
    true
}

/// Applies the identity shapes to environment `index`'s freshly built content.
pub(super) fn adjust_content(t: &Tenant, index: usize, out: &mut EnvContent) {
    let Some(spec) = t.environments.get(index) else {
        return;
    };
    let mut rng = rng_for(t.seed, ENV_IDENTITY_BASE + index as u64);
    if spec.plan.provisioning {
        out.dataverse = None;
        out.role_assignments = provisioning_roles(t, &spec.name, &mut rng);
    }
    if out.dataverse.is_none() {
        // A security group as Environment Admin, recorded without a type and with empty
        // strings: only Graph can say it is a group (and that it exists).
        if !t.roster.security_groups.is_empty() {
            let g = &t.directory.groups
                [t.roster.security_groups[pick(&mut rng, t.roster.security_groups.len())]];
            out.role_assignments.push(bap_role(
                &spec.name,
                json!({"id": g.id, "displayName": "", "email": "", "tenantId": t.tenant_id}),
                "EnvironmentAdmin",
                &mut rng,
            ));
        }
    }
    for ra in &mut out.role_assignments {
        if let Some(p) = ra.pointer_mut("/properties/principal") {
            untype(p, &["User"]);
        }
    }
    for f in &mut out.flows {
        for p in &mut f.permissions {
            if let Some(p) = p.pointer_mut("/properties/principal") {
                untype(p, &["User"]);
            }
        }
    }
    for a in &mut out.apps {
        for p in &mut a.permissions {
            if let Some(p) = p.pointer_mut("/properties/principal") {
                untype(p, &["User", "Group"]);
            }
        }
    }
    if let Some(d) = out.dataverse.as_mut() {
        teams(d, spec.plan.group_team.as_ref(), &mut rng);
    }
}

/// Drops `type` from a principal of one of these types (never from `Tenant`: Everyone).
fn untype(p: &mut Value, types: &[&str]) {
    let Some(o) = p.as_object_mut() else { return };
    let t = o.get("type").and_then(Value::as_str).unwrap_or_default();
    if types.iter().any(|x| t.eq_ignore_ascii_case(x)) {
        o.remove("type");
    }
}

fn bap_role(env: &str, principal: Value, role: &str, rng: &mut rand_chacha::ChaCha8Rng) -> Value {
    let ra = guid(rng);
    json!({
        "id": format!("/providers/Microsoft.BusinessAppPlatform/scopes/admin/environments/{env}/roleAssignments/{ra}"),
        "type": "Microsoft.BusinessAppPlatform/scopes/environments/roleAssignments",
        "name": ra,
        "properties": {
            "scope": format!("/providers/Microsoft.BusinessAppPlatform/environments/{env}"),
            "roleDefinition": {"id": format!("/providers/Microsoft.BusinessAppPlatform/scopes/admin/environments/{env}/roleDefinitions/{role}"), "name": role},
            "principal": principal
        }
    })
}

/// BAP role assignments of an environment still provisioning Dataverse: two active members
/// who own nothing as Environment Admins (no finding).
fn provisioning_roles(t: &Tenant, env: &str, rng: &mut rand_chacha::ChaCha8Rng) -> Vec<Value> {
    let pool = &t.roster.members;
    let mut out = Vec::new();
    for _ in 0..2.min(pool.len()) {
        let u = &t.directory.users[pool[pick(rng, pool.len())]];
        out.push(bap_role(
            env,
            json!({"id": u.id, "displayName": u.display_name, "email": u.mail, "type": "User",
                   "tenantId": t.tenant_id, "userPrincipalName": u.upn}),
            "EnvironmentAdmin",
            rng,
        ));
    }
    out
}

/// An owner team per business unit (no roles through groups) and the planted group team.
fn teams(d: &mut DataverseData, plan: Option<&GroupTeamPlan>, rng: &mut rand_chacha::ChaCha8Rng) {
    let bus: Vec<String> = d
        .business_units
        .iter()
        .filter_map(|b| b.get("businessunitid").and_then(Value::as_str))
        .map(str::to_string)
        .collect();
    for (i, bu) in bus.iter().enumerate() {
        let name = d
            .business_units
            .get(i)
            .and_then(|b| b.get("name"))
            .cloned()
            .unwrap_or(Value::Null);
        d.teams.push(
            json!({"teamid": guid(rng), "name": name, "teamtype": 0, "isdefault": true,
                            "azureactivedirectoryobjectid": null, "_businessunitid_value": bu}),
        );
    }
    let Some(plan) = plan else { return };
    let Some(bu) = bus.get(plan.business_unit.min(bus.len().saturating_sub(1))) else {
        return;
    };
    let role = d.roles.iter().find(|r| {
        r.get("_roletemplateid_value").and_then(Value::as_str) == Some(wk::SYSTEM_ADMIN_TEMPLATE_ID)
            && r.get("_businessunitid_value").and_then(Value::as_str) == Some(bu.as_str())
    });
    let Some(role_id) = role
        .and_then(|r| r.get("roleid"))
        .and_then(Value::as_str)
        .map(str::to_string)
    else {
        return;
    };
    let team = guid(rng);
    d.teams.push(
        json!({"teamid": team, "name": plan.team_name, "teamtype": 2, "isdefault": false,
                        "azureactivedirectoryobjectid": plan.group_id, "membershiptype": 0,
                        "_businessunitid_value": bu}),
    );
    d.team_roles.push((team, role_id));
}
