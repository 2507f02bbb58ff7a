//! Environment planning (kinds, settings, environment-level plants, sizes, content plants) and
//! the BAP environment documents.

use chrono::{DateTime, Utc};
use rand::RngExt;
use rand_chacha::ChaCha8Rng;
use serde_json::{Value, json};

use super::plan::{EnvPlan, Placement, Plant, PlantKind, Roster};
use super::policy::{Layout, TenantRules};
use super::util::{days_ago, guid, iso, pick};
use crate::tenant::{Directory, User};

/// Nominal totals of a size.
#[derive(Debug, Clone, Copy)]
pub struct Totals {
    /// Environments.
    pub envs: usize,
    /// Apps.
    pub apps: usize,
    /// Flows.
    pub flows: usize,
    /// Connections.
    pub connections: usize,
    /// Users.
    pub users: usize,
    /// Plants per plant kind (at least each kind's variant count).
    pub plants_per_kind: u32,
    /// Plants per environment-level rule.
    pub env_plants_per_rule: usize,
    /// Background audit records.
    pub audit: usize,
}

/// The names and planned content of every environment.
pub struct PlannedEnvs {
    /// Environment names (index = position).
    pub names: Vec<String>,
    /// Plans.
    pub plans: Vec<EnvPlan>,
    /// ENV-001 targets (uncovered only in the `Except` layout).
    pub uncovered: Vec<usize>,
    /// Prod environments the prod guardrail policy leaves out (DLP-003 targets).
    pub unguarded_prod: Vec<usize>,
}

fn sku_for(i: usize, n: usize, rng: &mut ChaCha8Rng) -> &'static str {
    if n <= 5 {
        return [
            "Default",
            "Production",
            "Production",
            "Developer",
            "Developer",
        ][i];
    }
    // Fixed head so every size has enough of each kind, then a realistic mix.
    const HEAD: [&str; 19] = [
        "Default",
        "Production",
        "Production",
        "Production",
        "Production",
        "Production",
        "Production",
        "Production",
        "Production",
        "Production",
        "Production",
        "Production",
        "Production",
        "Developer",
        "Developer",
        "Developer",
        "Developer",
        "Developer",
        "Developer",
    ];
    if i < HEAD.len() {
        return HEAD[i];
    }
    match rng.random_range(0..100u32) {
        0..=17 => "Production",
        18..=45 => "Sandbox",
        46..=70 => "Developer",
        71..=82 => "Trial",
        _ => "Teams",
    }
}

/// Decides every environment.
pub fn plan(
    rng: &mut ChaCha8Rng,
    tenant_id: &str,
    totals: &Totals,
    rules: &TenantRules,
    dir: &Directory,
    roster: &Roster,
) -> PlannedEnvs {
    let n = totals.envs;
    let mut names = Vec::with_capacity(n);
    let mut plans = Vec::with_capacity(n);
    for i in 0..n {
        let sku = sku_for(i, n, rng);
        names.push(if i == 0 {
            format!("Default-{tenant_id}")
        } else {
            guid(rng)
        });
        let dataverse = match sku {
            "Default" | "Production" => true,
            "Developer" if n <= 5 => i == 4,
            "Developer" if i < 19 => i % 2 == 0,
            "Teams" => false,
            _ => rng.random_bool(0.6),
        };
        let sg = if roster.security_groups.is_empty() {
            None
        } else {
            Some(
                dir.groups[roster.security_groups[pick(rng, roster.security_groups.len())]]
                    .id
                    .clone(),
            )
        };
        plans.push(EnvPlan {
            sku: sku.to_string(),
            dataverse,
            managed: matches!(sku, "Production" | "Developer") || rng.random_bool(0.4),
            // The default and production environments always get one (the rules that judge its
            // absence, PPG-DEF-001 and PPG-ENV-002, are planted by removing it below); the draws
            // are the same as before, so every other environment's plan stays as it was.
            security_group: if matches!(sku, "Production")
                || rng.random_bool(0.5)
                || sku == "Default"
            {
                sg
            } else {
                None
            },
            audit_enabled: sku == "Production" || rng.random_bool(0.5),
            solutions_by_default: true,
            weak_setting: None,
            business_units: if dataverse {
                rng.random_range(1..=3u32)
            } else {
                0
            },
            ..EnvPlan::default()
        });
    }
    let k = totals.env_plants_per_rule;
    let prod: Vec<usize> = (1..n).filter(|&i| plans[i].sku == "Production").collect();
    let clean_prod_n = if n <= 5 { 1 } else { (prod.len() / 4).max(2) };
    let (clean_prod, problem_prod) = prod.split_at(clean_prod_n.min(prod.len()));
    let devs: Vec<usize> = (1..n).filter(|&i| plans[i].sku == "Developer").collect();
    let (rte3, rte4): (Vec<usize>, Vec<usize>) = if n <= 5 {
        (vec![3], vec![4])
    } else {
        (
            devs.iter().copied().take(k).collect(),
            devs.iter().copied().skip(k).take(k).collect(),
        )
    };
    let take_cycle = |from: &[usize], offset: usize| -> Vec<usize> {
        if from.is_empty() {
            return Vec::new();
        }
        (0..k).map(|j| from[(offset + j) % from.len()]).collect()
    };
    let env002 = take_cycle(problem_prod, 0);
    let env003 = take_cycle(problem_prod, k);
    let env004 = take_cycle(problem_prod, 2 * k);
    let unguarded_prod = if n <= 5 {
        problem_prod.to_vec()
    } else {
        take_cycle(problem_prod, 3 * k)
    };
    for &e in &env002 {
        plans[e].security_group = None;
        plans[e].env_rules.push("PPG-ENV-002".into());
    }
    for &e in &env003 {
        plans[e].managed = false;
        plans[e].env_rules.push("PPG-ENV-003".into());
    }
    for &e in &env004 {
        plans[e].audit_enabled = false;
        plans[e].env_rules.push("PPG-ENV-004".into());
    }
    for &e in &rte3 {
        plans[e].managed = false;
        plans[e].env_rules.push("PPG-RTE-003".into());
    }
    for (j, &e) in rte4.iter().enumerate() {
        plans[e].managed = true;
        plans[e].weak_setting = Some((j as u32 + rng.random_range(0..4u32)) % 4);
        plans[e].env_rules.push("PPG-RTE-004".into());
    }
    // ENV-001 candidates: non-prod, non-default; in small the unmanaged developer environment.
    let uncovered: Vec<usize> = if n <= 5 {
        vec![3]
    } else {
        (1..n)
            .filter(|&i| matches!(plans[i].sku.as_str(), "Sandbox" | "Trial" | "Teams"))
            .take(k)
            .collect()
    };
    match rules.layout {
        Layout::Single => {
            for &e in &prod {
                plans[e].env_rules.push("PPG-DLP-003".into());
            }
        }
        Layout::Baseline | Layout::Except => {
            for &e in &unguarded_prod {
                plans[e].env_rules.push("PPG-DLP-003".into());
            }
        }
    }
    if rules.layout == Layout::Except {
        for &e in &uncovered {
            plans[e].env_rules.push("PPG-ENV-001".into());
        }
    }
    // Default environment rules.
    {
        let d = &mut plans[0];
        if rules.def001 {
            d.security_group = None;
            d.env_rules.push("PPG-DEF-001".into());
        }
        if rules.def002 {
            d.solutions_by_default = false;
            d.env_rules.push("PPG-DEF-002".into());
        }
        if rules.layout == Layout::Except {
            d.env_rules.push("PPG-DEF-003".into());
        }
        if rules.def004() {
            d.env_rules.push("PPG-DEF-004".into());
        }
    }
    for p in &mut plans {
        p.env_rules.sort();
        p.env_rules.dedup();
    }

    // Sizes: Zipf-like over environment index (the default environment is biggest).
    let weights: Vec<f64> = (0..n).map(|i| 1.0 / ((i + 1) as f64).powf(0.8)).collect();
    let wsum: f64 = weights.iter().sum();
    for (i, p) in plans.iter_mut().enumerate() {
        let share = weights[i] / wsum;
        p.bg_apps = (totals.apps as f64 * share).round() as usize;
        p.bg_flows = (totals.flows as f64 * share).round() as usize;
        p.bg_connections = (totals.connections as f64 * share).round() as usize;
        if p.bg_flows > 0 {
            // Every background connector needs a connection for flows to bind to.
            p.bg_connections = p.bg_connections.max(super::catalog::BACKGROUND.len());
        }
    }
    plans[0].bg_flows = plans[0].bg_flows.max(8);

    // Content plants.
    let covered_np: Vec<usize> = (1..n)
        .filter(|&i| !plans[i].is_prod() && !uncovered.contains(&i))
        .collect();
    let covered_np_dv: Vec<usize> = covered_np
        .iter()
        .copied()
        .filter(|&i| plans[i].dataverse)
        .collect();
    let no_dv: Vec<usize> = (1..n)
        .filter(|&i| !plans[i].dataverse && !plans[i].is_prod())
        .collect();
    let mut cursor = [0usize; 5];
    let mut maker_cursor = 0usize;
    let mut member_cursor = 0usize;
    let mut gone_owner_cursor = 0usize;
    let mut gone_admin_cursor = 0usize;
    let mut guest_cursor = 0usize;
    for kind in PlantKind::ALL {
        let count = totals.plants_per_kind.max(kind.variants());
        for j in 0..count {
            let variant = j % kind.variants();
            let (slot, pool): (usize, &[usize]) = match kind.placement() {
                Placement::CleanProd => (0, clean_prod),
                Placement::Default => (1, &[0]),
                Placement::CoveredNonProd => (2, &covered_np),
                Placement::CoveredNonProdDataverse => (3, &covered_np_dv),
                Placement::NoDataverse => (4, &no_dv),
            };
            if pool.is_empty() {
                continue;
            }
            let env = pool[cursor[slot] % pool.len()];
            cursor[slot] += 1;
            let next = |v: &[usize], c: &mut usize| -> Option<usize> {
                if v.is_empty() {
                    return None;
                }
                let r = v[*c % v.len()];
                *c += 1;
                Some(r)
            };
            let user = match kind {
                PlantKind::FlowOrphan | PlantKind::AppOrphan | PlantKind::ConnectionOrphan => {
                    next(&roster.gone_owners, &mut gone_owner_cursor)
                }
                PlantKind::AdminGoneSysAdmin | PlantKind::AdminGoneEnvAdmin => {
                    next(&roster.gone_admins, &mut gone_admin_cursor)
                }
                PlantKind::AdminGuestSysAdmin | PlantKind::AdminGuestEnvAdmin => {
                    next(&roster.guests, &mut guest_cursor)
                }
                PlantKind::AdminUser => next(&roster.members, &mut member_cursor),
                // Makers 0..8 are guaranteed creators of default-environment flows.
                PlantKind::AdminMaker => {
                    let m = roster.makers.get(maker_cursor % 8).copied();
                    maker_cursor += 1;
                    m
                }
                _ => None,
            };
            let is_role = kind.resource() == super::plan::Resource::Role;
            let (id, resource_id) = if is_role {
                let Some(u) = user else { continue };
                let oid = dir.users[u].id.clone();
                // One finding per holder and environment: skip a second plant on the same pair.
                if plans[env].plants.iter().any(|p| p.id == oid) {
                    continue;
                }
                (oid.clone(), format!("{}/{}", names[env], oid))
            } else {
                let name = match kind {
                    PlantKind::ConnectionOrphan
                    | PlantKind::ConnectionBroken
                    | PlantKind::ConnectionExternal => {
                        format!("shared-conn-{}", guid(rng))
                    }
                    _ => guid(rng),
                };
                (name.clone(), name)
            };
            plans[env].plants.push(Plant {
                kind,
                variant,
                id,
                resource_id,
                user,
                rules: kind.rules(variant).into_iter().map(String::from).collect(),
            });
        }
    }
    PlannedEnvs {
        names,
        plans,
        uncovered,
        unguarded_prod,
    }
}

fn principal(u: &User, tenant_id: &str) -> Value {
    json!({"id": u.id, "displayName": u.display_name, "email": u.mail, "type": "User",
           "tenantId": tenant_id, "userPrincipalName": u.upn})
}

/// The BAP admin environment document (E1/E2 shape).
#[allow(clippy::too_many_arguments)]
pub fn env_doc(
    rng: &mut ChaCha8Rng,
    index: usize,
    name: &str,
    plan: &EnvPlan,
    tenant_id: &str,
    base_url: &str,
    now: DateTime<Utc>,
    dir: &Directory,
    roster: &Roster,
) -> Value {
    let creator = roster
        .makers
        .get(pick(rng, roster.makers.len().min(20)))
        .map(|&u| &dir.users[u]);
    let created = if index == 0 {
        days_ago(rng, now, 900, 1500)
    } else {
        days_ago(rng, now, 30, 900)
    };
    let display = match plan.sku.as_str() {
        "Default" => "Contoso (default)".to_string(),
        "Production" => format!(
            "{} Prod {index}",
            ["Finance", "Sales", "HR", "Operations", "Legal"][index % 5]
        ),
        "Developer" => format!(
            "{}'s Environment",
            creator.map(|u| u.display_name.as_str()).unwrap_or("Maker")
        ),
        "Teams" => format!("Team {index}"),
        other => format!("{other} {index}"),
    };
    let created_by = if index == 0 {
        json!({"id": "SYSTEM", "displayName": "SYSTEM", "type": "NotSpecified"})
    } else {
        creator
            .map(|u| principal(u, tenant_id))
            .unwrap_or(json!({"id":"SYSTEM","type":"NotSpecified"}))
    };
    let linked = if plan.dataverse {
        // 12 hex digits of the environment GUID: unique across 5,000 environments, and the
        // server routes Dataverse calls by this name.
        let hex: String = name
            .chars()
            .filter(char::is_ascii_hexdigit)
            .take(12)
            .collect();
        let domain = if index == 0 {
            "orgdefault".to_string()
        } else {
            format!("org{}", hex.to_lowercase())
        };
        let mut m = json!({
            "resourceId": guid(rng), "friendlyName": display, "uniqueName": format!("unq{}", &domain[3..]),
            "domainName": domain, "version": "9.2.24101.00201",
            "instanceUrl": format!("{base_url}/dataverse/{domain}/"),
            "instanceApiUrl": format!("{base_url}/dataverse/{domain}"),
            "baseLanguage": 1033, "instanceState": "Ready", "backgroundOperationsState": "Enabled"
        });
        if let (Some(sg), Some(obj)) = (&plan.security_group, m.as_object_mut()) {
            obj.insert("securityGroupId".into(), json!(sg));
        }
        m
    } else {
        Value::Null
    };
    let mut ext = serde_json::Map::new();
    if plan.managed {
        let weak = plan.weak_setting;
        ext.insert(
            "isGroupSharingDisabled".into(),
            json!(if weak == Some(0) { "false" } else { "true" }),
        );
        ext.insert(
            "maxLimitUserSharing".into(),
            json!(if weak == Some(1) { "-1" } else { "5" }),
        );
        ext.insert(
            "limitSharingMode".into(),
            json!("excludeSharingToSecurityGroups"),
        );
        ext.insert(
            "solutionCheckerMode".into(),
            json!(if weak == Some(2) { "none" } else { "warn" }),
        );
        ext.insert(
            "excludeEnvironmentFromAnalysis".into(),
            json!(if weak == Some(3) { "true" } else { "false" }),
        );
        ext.insert("suppressValidationEmails".into(), json!("true"));
        ext.insert("includeOnHomepageInsights".into(), json!("false"));
        ext.insert(
            "solutionCloudFlows-limitSharingMode".into(),
            json!("noLimit"),
        );
        ext.insert("makerOnboardingUrl".into(), json!(""));
    }
    let governance = if plan.managed {
        json!({"protectionLevel": "Standard", "settings": {"extendedSettings": ext}})
    } else {
        json!({"protectionLevel": "Basic"})
    };
    let mut props = json!({
        "tenantId": tenant_id, "azureRegion": "northeurope", "displayName": display, "description": "",
        "createdTime": iso(created), "createdBy": created_by,
        "lastModifiedTime": iso(days_ago(rng, now, 1, 30)), "provisioningState": "Succeeded",
        "creationType": match plan.sku.as_str() { "Default" => "DefaultTenant", "Developer" => "Developer", "Teams" => "Teams", _ => "User" },
        "environmentSku": plan.sku, "isDefault": index == 0,
        "runtimeEndpoints": {
            "microsoft.BusinessAppPlatform": "https://europe.api.bap.microsoft.com",
            "microsoft.CommonDataModel": "https://europe.api.cds.microsoft.com",
            "microsoft.PowerApps": "https://europe.api.powerapps.com",
            "microsoft.Flow": "https://emea.api.flow.microsoft.com"
        },
        "databaseType": if plan.dataverse { "CommonDataService" } else { "None" },
        "linkedEnvironmentMetadata": linked,
        "states": {"management": {"id": "Ready"}, "runtime": {"id": "Enabled", "runtimeReasonCode": "NotSpecified"}},
        "updateCadence": {"id": "Frequent"},
        "capacity": [
            {"capacityType": "Database", "actualConsumption": rng.random_range(100.0..5000.0f64).round(), "ratedConsumption": 0.0, "capacityUnit": "MB", "updatedOn": iso(now)},
            {"capacityType": "File", "actualConsumption": rng.random_range(10.0..900.0f64).round(), "ratedConsumption": 0.0, "capacityUnit": "MB", "updatedOn": iso(now)}
        ],
        "governanceConfiguration": governance
    });
    if let (true, Some(u), Some(obj)) = (plan.sku == "Developer", creator, props.as_object_mut()) {
        obj.insert(
            "usedBy".into(),
            json!({"id": u.id, "type": "User", "tenantId": tenant_id, "userPrincipalName": u.upn}),
        );
    }
    json!({
        "id": format!("/providers/Microsoft.BusinessAppPlatform/scopes/admin/environments/{name}"),
        "type": "Microsoft.BusinessAppPlatform/scopes/environments",
        "location": "europe",
        "name": name,
        "properties": props
    })
}
