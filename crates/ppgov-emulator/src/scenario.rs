//! Deterministic scenario generator: builds a [`crate::tenant::Tenant`] from a seed and a size.
//!
//! The generator decides first, then builds: [`generate`] picks every environment's kind,
//! settings and planted problems (with their resource ids) and writes the ground truth from
//! those plans; [`crate::tenant::Tenant::env_content`] later builds one environment's apps,
//! flows, connections and roles lazily from its plan, identically whatever order it is asked in.
//! The background is clean per `docs/rule-semantics.md`: only plants trigger posture rules.

mod audit;
pub mod catalog;
mod check;
mod content;
mod directory;
mod envs;
mod flowdef;
pub mod hostile;
pub mod identity;
pub mod plan;
mod policy;
mod util;
pub mod wellknown;

#[cfg(test)]
mod tests;

pub use plan::{EnvPlan, Placement, Plant, PlantKind, Resource, Roster};

use crate::tenant::{
    EnvSpec, GroundTruth, PlantedFinding, ScenarioConfig, Size, Tenant, WellKnown,
};
use envs::Totals;
use policy::TenantRules;
use util::{STREAM_DIRECTORY, STREAM_ENVS, STREAM_POLICY, guid, rng_for};

/// The nominal totals of a size.
pub fn totals(size: Size) -> Totals {
    match size {
        Size::Small => Totals {
            envs: 5,
            apps: 60,
            flows: 200,
            connections: 120,
            users: 150,
            plants_per_kind: 1,
            env_plants_per_rule: 1,
            audit: 2_000,
        },
        Size::Medium => Totals {
            envs: 100,
            apps: 5_000,
            flows: 10_000,
            connections: 20_000,
            users: 5_000,
            plants_per_kind: 3,
            env_plants_per_rule: 3,
            audit: 20_000,
        },
        Size::Large => Totals {
            envs: 1_000,
            apps: 11_000,
            flows: 30_000,
            connections: 100_000,
            users: 50_000,
            plants_per_kind: 4,
            env_plants_per_rule: 4,
            audit: 60_000,
        },
        Size::Huge => Totals {
            envs: 5_000,
            apps: 100_000,
            flows: 300_000,
            connections: 1_000_000,
            users: 200_000,
            plants_per_kind: 6,
            env_plants_per_rule: 5,
            audit: 90_000,
        },
    }
}

/// Builds the tenant-wide data of a scenario (directory, settings, DLP, environment documents
/// and plans, audit, ground truth). Environment contents are built on demand by
/// [`Tenant::env_content`]. Same config, same tenant.
pub use check::check_plan;

pub fn generate(cfg: &ScenarioConfig) -> Tenant {
    let tot = totals(cfg.size);
    let mut rng = rng_for(cfg.seed, 0);
    let tenant_id = guid(&mut rng);
    let domain = format!("contoso-{}.example", cfg.seed);
    let now = cfg.now;
    let base_url = cfg.base_url.trim_end_matches('/');

    let mut drng = rng_for(cfg.seed, STREAM_DIRECTORY);
    let (directory, roster) = directory::build(&mut drng, &domain, now, tot.users);
    let rules = TenantRules::from_seed(cfg.seed);

    let mut erng = rng_for(cfg.seed, STREAM_ENVS);
    let planned = envs::plan(&mut erng, &tenant_id, &tot, &rules, &directory, &roster);
    let mut environments = Vec::with_capacity(planned.plans.len());
    for (i, (name, plan)) in planned.names.iter().zip(planned.plans).enumerate() {
        let doc = envs::env_doc(
            &mut erng, i, name, &plan, &tenant_id, base_url, now, &directory, &roster,
        );
        let (apps, flows, connections) = plan.counts();
        environments.push(EnvSpec {
            index: i,
            name: name.clone(),
            doc,
            has_dataverse: plan.dataverse,
            apps,
            flows,
            connections,
            plan,
        });
    }

    let mut prng = rng_for(cfg.seed, STREAM_POLICY);
    let prod: Vec<usize> = environments
        .iter()
        .filter(|e| e.plan.is_prod())
        .map(|e| e.index)
        .collect();
    let dlp_policies = policy::dlp_policies(
        &rules,
        &planned.names,
        &prod,
        &planned.unguarded_prod,
        &planned.uncovered,
        &domain,
        now,
        &mut prng,
    );
    let tenant_settings = policy::tenant_settings(&rules, &mut prng);
    let tenant_isolation = policy::isolation(&rules, &tenant_id, &mut prng);

    let mut findings: Vec<PlantedFinding> = rules
        .tenant_findings()
        .into_iter()
        .map(|r| PlantedFinding {
            rule_id: r.to_string(),
            resource_id: tenant_id.clone(),
        })
        .collect();
    for e in &environments {
        for r in &e.plan.env_rules {
            findings.push(PlantedFinding {
                rule_id: r.clone(),
                resource_id: e.name.clone(),
            });
        }
        for p in &e.plan.plants {
            for r in &p.rules {
                findings.push(PlantedFinding {
                    rule_id: r.clone(),
                    resource_id: p.resource_id.clone(),
                });
            }
        }
    }
    findings.sort();
    findings.dedup();

    let mut tenant = Tenant {
        tenant_info: policy::tenant_info(&tenant_id),
        tenant_id,
        domain: domain.clone(),
        now,
        seed: cfg.seed,
        size: cfg.size,
        well_known: WellKnown {
            client_id: wellknown::ADMIN_CLIENT_ID.to_string(),
            client_secret: wellknown::ADMIN_CLIENT_SECRET.to_string(),
            username: format!("{}@{domain}", wellknown::ADMIN_USER),
            password: wellknown::ADMIN_PASSWORD.to_string(),
        },
        directory,
        tenant_settings,
        tenant_isolation,
        dlp_policies,
        unblockable_connectors: policy::unblockable(),
        virtual_connectors: policy::virtual_connectors(),
        environments,
        audit: Vec::new(),
        ground_truth: GroundTruth {
            findings,
            detections: Vec::new(),
            detection_config: serde_json::Value::Null,
        },
        roster,
    };
    let (items, mut detections, config) = audit::build(&tenant, cfg.seed, tot.audit);
    detections.sort();
    identity::plant_group_teams(&mut tenant, tot.plants_per_kind as usize);
    tenant.audit = items;
    tenant.ground_truth.detections = detections;
    tenant.ground_truth.detection_config = config;
    tenant
}
