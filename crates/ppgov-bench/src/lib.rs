//! What `ppgov bench` measures with, as tested library code: a snapshot built offline from the
//! emulator's scenario (the same documents the emulator would serve, mapped by the crawler's own
//! `map` functions, without HTTP), so the scan and DLP benchmarks get big snapshots in seconds;
//! and the process's peak memory.

pub mod serve;

use chrono::{DateTime, Utc};
use ppgov_core::{PrincipalKind, PrincipalStatus, Snapshot};
use ppgov_crawl::map;
use ppgov_emulator::tenant::{ScenarioConfig, Size};
use ppgov_model as wire;

/// What can go wrong building an offline snapshot.
#[derive(Debug, thiserror::Error)]
pub enum BenchError {
    /// A generated document does not parse as the wire type the crawler reads; the emulator's
    /// scenario and the product's model disagree.
    #[error(
        "a generated document is not the wire shape ppgov reads: {0}; hint: the emulator's scenario and ppgov-model disagree, run the emulator's golden tests"
    )]
    Shape(#[from] serde_json::Error),
}

/// Peak resident set size of this process in MB (Linux `VmHWM`), when the platform says.
pub fn peak_rss_mb() -> Option<f64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kb: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb / 1024.0)
}

/// Builds a snapshot straight from generated documents, the way a crawl would map them, without
/// HTTP: big snapshots for the scan and DLP benchmarks in seconds.
pub fn offline_snapshot(size: Size, seed: u64, now: DateTime<Utc>) -> Result<Snapshot, BenchError> {
    let t = ppgov_emulator::scenario::generate(&ScenarioConfig {
        seed,
        size,
        base_url: "http://127.0.0.1:9".into(),
        now,
    });
    let mut s = Snapshot {
        id: format!("bench-{seed}"),
        tenant_id: t.tenant_id.clone(),
        taken_at: now,
        ..Default::default()
    };
    let settings: wire::bap::TenantSettings = serde_json::from_value(t.tenant_settings.clone())?;
    s.tenant_settings = Some(map::tenant_settings(&settings));
    let iso: Option<wire::bap::TenantIsolationPolicy> = t
        .tenant_isolation
        .clone()
        .map(serde_json::from_value)
        .transpose()?;
    s.tenant_isolation = Some(map::tenant_isolation(iso.as_ref()));
    for p in &t.dlp_policies {
        s.dlp_policies
            .push(map::dlp_policy_v2(&serde_json::from_value(p.clone())?));
    }
    for e in &t.environments {
        let env: wire::bap::Environment = serde_json::from_value(e.doc.clone())?;
        let mut env = map::environment(&env);
        let c = t.env_content(e.index);
        if let Some(dv) = &c.dataverse {
            let org: wire::dataverse::Organization =
                serde_json::from_value(dv.organization.clone())?;
            env.dataverse_settings = Some(map::dataverse_settings(&org));
        }
        for a in &c.apps {
            let perms: Vec<wire::powerapps::AppPermission> = a
                .permissions
                .iter()
                .map(|p| serde_json::from_value(p.clone()))
                .collect::<Result<_, _>>()?;
            s.apps.push(map::app(
                &env.id,
                &serde_json::from_value(a.doc.clone())?,
                Some(map::app_permissions(&perms)),
            ));
        }
        for f in &c.flows {
            let mut doc: wire::flow::Flow = serde_json::from_value(f.doc.clone())?;
            doc.properties.definition = Some(f.definition.clone());
            let perms: Vec<wire::flow::FlowPermission> = f
                .permissions
                .iter()
                .map(|p| serde_json::from_value(p.clone()))
                .collect::<Result<_, _>>()?;
            let mut counter = ppgov_crawl::RunCounter::new(now);
            let mut i = 0;
            while let Some((start, failed)) = f.runs.run(i) {
                counter.add(start, failed);
                i += 1;
            }
            let counter = counter.finish();
            s.flows.push(map::flow(
                &env.id,
                &doc,
                Some(map::flow_permissions(&perms)),
                Some(counter),
            ));
        }
        for conn in &c.connections {
            s.connections.push(map::connection(
                &env.id,
                &serde_json::from_value(conn.doc.clone())?,
            ));
        }
        for r in &c.role_assignments {
            s.role_assignments.push(map::bap_role_assignment(
                &env.id,
                &serde_json::from_value(r.clone())?,
            ));
        }
        s.environments.push(env);
    }
    // Everything above was read in full: say so, as a crawl would, so rules evaluate.
    use ppgov_core::{CollectionKind as K, CollectionScope, CollectionState};
    let done = CollectionState::Collected { count: 0 };
    for k in [
        K::TenantSettings,
        K::TenantIsolation,
        K::DlpPolicies,
        K::ConnectorMetadata,
        K::Environments,
        K::Principals,
    ] {
        s.collection
            .record(CollectionScope::Tenant, k, done.clone());
    }
    for e in &s.environments {
        let scope = CollectionScope::Environment(e.id.clone());
        for k in [
            K::Apps,
            K::AppPermissions,
            K::Flows,
            K::FlowDefinitions,
            K::FlowPermissions,
            K::FlowRuns,
            K::Connections,
        ] {
            s.collection.record(scope.clone(), k, done.clone());
        }
        let (roles, dv) = if e.has_dataverse {
            (K::DataverseAdmins, Some(K::DataverseSettings))
        } else {
            (K::RoleAssignments, None)
        };
        s.collection.record(scope.clone(), roles, done.clone());
        if let Some(k) = dv {
            s.collection.record(scope.clone(), k, done.clone());
        }
    }
    for u in &t.directory.users {
        let status = if u.deleted {
            PrincipalStatus::Deleted
        } else if !u.enabled {
            PrincipalStatus::Disabled
        } else {
            PrincipalStatus::Active
        };
        s.principals.insert(
            u.id.clone(),
            ppgov_core::Principal {
                id: u.id.clone(),
                kind: PrincipalKind::User,
                status,
                guest: u.guest,
                upn: Some(u.upn.clone()),
                mail: u.mail.clone(),
                display_name: Some(u.display_name.clone()),
            },
        );
    }
    Ok(s)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use ppgov_core::RuleStatus;

    #[test]
    fn an_offline_snapshot_holds_every_generated_resource_and_every_rule_evaluates() {
        let now = Utc::now();
        let s = offline_snapshot(Size::Small, 3, now).unwrap();
        let t = ppgov_emulator::scenario::generate(&ScenarioConfig {
            seed: 3,
            size: Size::Small,
            base_url: "http://127.0.0.1:9".into(),
            now,
        });
        assert_eq!(s.tenant_id, t.tenant_id);
        assert_eq!(s.environments.len(), t.environments.len());
        let (mut apps, mut flows, mut conns) = (0, 0, 0);
        for e in &t.environments {
            let c = t.env_content(e.index);
            apps += c.apps.len();
            flows += c.flows.len();
            conns += c.connections.len();
        }
        assert_eq!(
            (s.apps.len(), s.flows.len(), s.connections.len()),
            (apps, flows, conns)
        );
        assert!(flows > 0 && apps > 0, "a small tenant has apps and flows");
        assert!(
            s.flows.iter().all(|f| f.definition.is_some()),
            "definitions kept"
        );
        assert_eq!(s.dlp_policies.len(), t.dlp_policies.len());
        assert!(!s.principals.is_empty());
        // Everything was recorded as collected, so no rule errors for want of input.
        let report = ppgov_engine::scan(
            &s,
            &ppgov_config::PostureConfig::default(),
            &ppgov_engine::ScanOptions::default(),
        );
        let errored: Vec<_> = report
            .rules
            .iter()
            .filter(|r| matches!(r.status, RuleStatus::Error { .. }))
            .map(|r| r.rule_id.as_str())
            .collect();
        assert!(errored.is_empty(), "rules in error: {errored:?}");
        assert!(!report.findings.is_empty(), "the planted problems show");
    }
}
