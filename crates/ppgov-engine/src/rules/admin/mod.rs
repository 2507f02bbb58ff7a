//! Admin role rules (seed 003, SOX segregation of duties): standing System Administrators,
//! admin-makers, gone or guest admins. One finding per holder and environment, even when the
//! role is held in several business units.

pub mod adm_001;
pub mod adm_002;
pub mod adm_003;
pub mod adm_004;

use crate::rules::prelude::*;
use ppgov_core::{Finding, RoleAssignment, RoleSource};
use std::collections::BTreeMap;

/// True for Dataverse System Administrator (the crawler records only that template's holders).
pub(crate) fn is_sysadmin(r: &RoleAssignment) -> bool {
    r.source == RoleSource::Dataverse && {
        let role: String = r.role.chars().filter(|c| !c.is_whitespace()).collect();
        role.eq_ignore_ascii_case("SystemAdministrator")
            || r.role
                .eq_ignore_ascii_case(ppgov_core::SYSTEM_ADMINISTRATOR_TEMPLATE_ID)
    }
}

/// True for the BAP Environment Admin role.
pub(crate) fn is_env_admin(r: &RoleAssignment) -> bool {
    r.role.eq_ignore_ascii_case("EnvironmentAdmin")
}

/// True when the holder is a person (not an application user, service principal or group).
/// Anything not recorded (or resolved) as a service principal, group or the tenant counts as a
/// user, so an unusual type spelling never hides a person.
pub(crate) fn is_user(ctx: &Context, r: &RoleAssignment) -> bool {
    let t = r.principal_type.trim();
    let not_person = ["Group", "Tenant", "Everyone"]
        .iter()
        .any(|x| t.eq_ignore_ascii_case(x))
        || ctx
            .snapshot
            .principal(&r.principal_id)
            .is_some_and(|p| p.kind == ppgov_core::PrincipalKind::Group);
    !not_person && !ctx.is_service_principal(&r.principal_id, t)
}

/// Which admin roles a rule looks at.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Roles {
    /// Dataverse System Administrator only.
    SysAdmin,
    /// System Administrator or BAP Environment Admin.
    SysAdminOrEnvAdmin,
}

/// Holders keyed by (environment, principal), each with one assignment and the roles held.
pub(crate) type Holders<'a> = BTreeMap<(String, String), (&'a RoleAssignment, Vec<String>)>;

/// Unique (environment, holder) pairs of the chosen roles that pass `pred`, from environments
/// whose role data was collected, each with the role names held; plus what was not collected.
pub(crate) fn holders<'a>(
    ctx: &Context<'a>,
    roles: Roles,
    pred: impl Fn(&RoleAssignment) -> bool,
) -> (Holders<'a>, Vec<String>) {
    let mut missing = vec![];
    let mut ok_dv = std::collections::HashSet::new();
    let mut ok_bap = std::collections::HashSet::new();
    for e in &ctx.snapshot.environments {
        let id = e.id.to_ascii_lowercase();
        if e.has_dataverse {
            if ctx.env_collected(&e.id, CollectionKind::DataverseAdmins) {
                ok_dv.insert(id.clone());
            } else {
                missing.push(not_collected(ctx, &e.id, CollectionKind::DataverseAdmins));
            }
        }
        if roles == Roles::SysAdminOrEnvAdmin && !e.has_dataverse {
            if ctx.env_collected(&e.id, CollectionKind::RoleAssignments) {
                ok_bap.insert(id);
            } else {
                missing.push(not_collected(ctx, &e.id, CollectionKind::RoleAssignments));
            }
        } else if roles == Roles::SysAdminOrEnvAdmin
            && ctx.env_collected(&e.id, CollectionKind::RoleAssignments)
        {
            ok_bap.insert(id);
        }
    }
    let mut out: Holders<'a> = BTreeMap::new();
    for r in &ctx.snapshot.role_assignments {
        let env = r.environment_id.to_ascii_lowercase();
        let role = if is_sysadmin(r) && ok_dv.contains(&env) {
            "SystemAdministrator"
        } else if roles == Roles::SysAdminOrEnvAdmin && is_env_admin(r) && ok_bap.contains(&env) {
            "EnvironmentAdmin"
        } else {
            continue;
        };
        if !pred(r) {
            continue;
        }
        let entry = out
            .entry((env, r.principal_id.to_ascii_lowercase()))
            .or_insert((r, vec![]));
        if !entry.1.iter().any(|x| x == role) {
            entry.1.push(role.to_string());
        }
    }
    (out, missing)
}

/// What was not collected in an environment, with the collector's reason when it gave one
/// (e.g. Dataverse still being provisioned: not yet available, neither passed nor failed).
fn not_collected(ctx: &Context, env: &str, kind: CollectionKind) -> String {
    let name = match kind {
        CollectionKind::DataverseAdmins => "dataverse_admins",
        _ => "role_assignments",
    };
    let scope = ppgov_core::CollectionScope::Environment(env.to_string());
    match ctx.snapshot.collection.get(&scope, kind) {
        Some(ppgov_core::CollectionState::Skipped { reason }) => {
            format!("{name} in environment {env} ({reason})")
        }
        _ => format!("{name} in environment {env}"),
    }
}

/// Reference to a role holder: `<environment>/<principal object id>`.
pub(crate) fn holder_ref(ctx: &Context, r: &RoleAssignment) -> ResourceRef {
    let env_id = ctx
        .env(&r.environment_id)
        .map(|e| e.id.clone())
        .unwrap_or_else(|| r.environment_id.clone());
    let name = r
        .principal_name
        .clone()
        .or_else(|| r.principal_upn.clone())
        .or_else(|| {
            ctx.snapshot
                .principal(&r.principal_id)
                .and_then(|p| p.display_name.clone())
        })
        .unwrap_or_else(|| r.principal_id.clone());
    ResourceRef {
        kind: ResourceKind::RoleHolder,
        id: ResourceRef::role_holder_id(&env_id, &r.principal_id),
        name,
        environment_id: Some(env_id),
    }
}

/// Builds the findings of an admin rule.
pub(crate) fn holder_findings(
    ctx: &Context,
    meta: &RuleMeta,
    holders: Holders<'_>,
    what: &str,
    extra: impl Fn(&RoleAssignment) -> serde_json::Value,
) -> Vec<Finding> {
    holders
        .into_values()
        .map(|(r, roles)| {
            let who = r.principal_upn.clone().or_else(|| r.principal_name.clone()).unwrap_or_else(|| r.principal_id.clone());
            let mut evidence = json!({ "principal_id": r.principal_id, "principal_type": r.principal_type, "roles": roles, "environment_id": r.environment_id });
            // Held through a group team: a standing assignment that cannot be elevated just in time.
            if let (Some(g), Some(obj)) = (&r.via_group, evidence.as_object_mut()) {
                obj.insert("via_group".into(), json!(g));
            }
            if let (Some(obj), serde_json::Value::Object(more)) = (evidence.as_object_mut(), extra(r)) {
                obj.extend(more);
            }
            meta.finding(holder_ref(ctx, r), format!("{who} {what} ({}) in environment {}.", roles.join(", "), r.environment_id), evidence)
        })
        .collect()
}
