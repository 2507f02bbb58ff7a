//! The evaluation context: snapshot, configuration and every index the rules share, built once
//! per scan so that no rule scans the whole snapshot to answer a lookup.

use crate::dlp::{DlpEngine, Effective};
use crate::flowdef::{FlowFacts, flow_facts, glob_match};
use chrono::{DateTime, Duration, Utc};
use ppgov_config::PostureConfig;
use ppgov_core::{
    App, CollectionKind, CollectionScope, CollectionState, Connection, Environment, Flow,
    PrincipalKind, PrincipalStatus, ResourceKind, ResourceRef, Snapshot,
};
use std::collections::{HashMap, HashSet};

/// Snapshot, configuration and precomputed indexes.
pub struct Context<'a> {
    /// The snapshot under evaluation.
    pub snapshot: &'a Snapshot,
    /// Posture configuration.
    pub config: &'a PostureConfig,
    /// The DLP engine with each environment's effective policy.
    pub dlp: DlpEngine<'a>,
    /// Facts of each flow, parallel to `snapshot.flows`.
    pub flow_facts: Vec<FlowFacts>,
    env_by_id: HashMap<String, usize>,
    prod: HashSet<String>,
    collected: HashSet<(Option<String>, CollectionKind)>,
    skipped: HashSet<(Option<String>, CollectionKind)>,
    connections: HashMap<(String, String), usize>,
    owners: HashSet<String>,
}

impl<'a> Context<'a> {
    /// Builds every index once.
    pub fn new(snapshot: &'a Snapshot, config: &'a PostureConfig) -> Self {
        let env_by_id = snapshot
            .environments
            .iter()
            .enumerate()
            .map(|(i, e)| (e.id.to_ascii_lowercase(), i))
            .collect();
        let prod = snapshot
            .environments
            .iter()
            .filter(|e| is_prod(e, config))
            .map(|e| e.id.to_ascii_lowercase())
            .collect();
        let mut collected = HashSet::new();
        let mut skipped = HashSet::new();
        for e in &snapshot.collection.entries {
            let scope = match &e.scope {
                CollectionScope::Tenant => None,
                CollectionScope::Environment(id) => Some(id.to_ascii_lowercase()),
            };
            match e.state {
                CollectionState::Collected { .. } => {
                    collected.insert((scope, e.kind));
                }
                CollectionState::Skipped { .. } => {
                    skipped.insert((scope, e.kind));
                }
                CollectionState::Failed { .. } => {}
            }
        }
        let connections = snapshot
            .connections
            .iter()
            .enumerate()
            .map(|(i, c)| {
                (
                    (
                        c.environment_id.to_ascii_lowercase(),
                        c.id.to_ascii_lowercase(),
                    ),
                    i,
                )
            })
            .collect();
        let mut owners = HashSet::new();
        for a in &snapshot.apps {
            if let Some(o) = &a.owner {
                insert_lc(&mut owners, &o.id);
            }
        }
        for f in &snapshot.flows {
            if let Some(c) = &f.creator {
                insert_lc(&mut owners, c);
            }
            for p in f.permissions.iter().flatten() {
                if p.role_name.eq_ignore_ascii_case("Owner") {
                    insert_lc(&mut owners, &p.principal.id);
                }
            }
        }
        Context {
            snapshot,
            config,
            dlp: DlpEngine::for_snapshot(snapshot),
            flow_facts: snapshot.flows.iter().map(flow_facts).collect(),
            env_by_id,
            prod,
            collected,
            skipped,
            connections,
            owners,
        }
    }

    /// The environment with this id.
    pub fn env(&self, id: &str) -> Option<&'a Environment> {
        self.env_by_id
            .get(lc(id).as_ref())
            .map(|&i| &self.snapshot.environments[i])
    }

    /// True when the environment is prod under the configuration.
    pub fn is_prod(&self, env_id: &str) -> bool {
        self.prod.contains(lc(env_id).as_ref())
    }

    /// The effective DLP policy of an environment.
    pub fn effective(&self, env_id: &str) -> Effective<'a> {
        self.dlp.effective(env_id)
    }

    /// True when a tenant-wide piece was collected.
    pub fn tenant_collected(&self, kind: CollectionKind) -> bool {
        self.collected.contains(&(None, kind))
    }

    /// True when an environment's piece was collected.
    pub fn env_collected(&self, env_id: &str, kind: CollectionKind) -> bool {
        self.collected
            .contains(&(Some(env_id.to_ascii_lowercase()), kind))
    }

    /// True when an environment's piece was deliberately skipped (e.g. no Dataverse).
    pub fn env_skipped(&self, env_id: &str, kind: CollectionKind) -> bool {
        self.skipped
            .contains(&(Some(env_id.to_ascii_lowercase()), kind))
    }

    /// Tenant kinds among `kinds` that were not collected, named for an error message.
    pub fn missing_tenant(&self, kinds: &[CollectionKind]) -> Vec<String> {
        kinds
            .iter()
            .filter(|k| !self.tenant_collected(**k))
            .map(|k| format!("{} (tenant)", kind_name(*k)))
            .collect()
    }

    /// For the environments selected by `filter`, the ones missing any of `kinds`, named; and the
    /// set of environment ids that are complete.
    pub fn split_envs(
        &self,
        kinds: &[CollectionKind],
        filter: impl Fn(&Environment) -> bool,
    ) -> (HashSet<String>, Vec<String>) {
        let mut ok = HashSet::new();
        let mut missing = vec![];
        for e in self.snapshot.environments.iter().filter(|e| filter(e)) {
            let absent: Vec<&str> = kinds
                .iter()
                .filter(|k| !self.env_collected(&e.id, **k))
                .map(|k| kind_name(*k))
                .collect();
            if absent.is_empty() {
                ok.insert(e.id.to_ascii_lowercase());
            } else {
                missing.push(format!("{} in environment {}", absent.join("+"), e.id));
            }
        }
        (ok, missing)
    }

    /// The connection named `name` in environment `env_id`.
    pub fn connection(&self, env_id: &str, name: &str) -> Option<&'a Connection> {
        self.connections
            .get(&(env_id.to_ascii_lowercase(), name.to_ascii_lowercase()))
            .map(|&i| &self.snapshot.connections[i])
    }

    /// True when the principal owns an app (owner) or a flow (creator or Owner permission).
    pub fn owns_something(&self, principal_id: &str) -> bool {
        self.owners.contains(lc(principal_id).as_ref())
    }

    /// True when Graph says the principal is deleted or disabled. Unknown principals are not gone.
    pub fn is_gone(&self, principal_id: &str) -> bool {
        self.snapshot
            .principal(principal_id)
            .is_some_and(|p| p.is_gone())
    }

    /// True when Graph says the principal exists and is enabled.
    pub fn is_active(&self, principal_id: &str) -> bool {
        self.snapshot
            .principal(principal_id)
            .is_some_and(|p| p.status == PrincipalStatus::Active)
    }

    /// True when Graph says the principal is a guest.
    pub fn is_guest(&self, principal_id: &str) -> bool {
        self.snapshot
            .principal(principal_id)
            .is_some_and(|p| p.guest)
    }

    /// True when the principal is a service principal (by the record or by Graph).
    pub fn is_service_principal(&self, principal_id: &str, recorded_type: &str) -> bool {
        let t = recorded_type.to_ascii_lowercase();
        t == "serviceprincipal"
            || t == "application"
            || t == "applicationuser"
            || self
                .snapshot
                .principal(principal_id)
                .is_some_and(|p| p.kind == PrincipalKind::ServicePrincipal)
    }

    /// What a referenced principal is: what Graph resolved it as, else the type the payload
    /// recorded (which BAP role assignments and permissions often omit); `Unknown` when neither
    /// says. Never a guess.
    pub fn principal_kind(&self, principal_id: &str, recorded_type: &str) -> PrincipalKind {
        if let Some(p) = self.snapshot.principal(principal_id)
            && p.kind != PrincipalKind::Unknown
        {
            return p.kind;
        }
        match recorded_type.trim().to_ascii_lowercase().as_str() {
            "user" => PrincipalKind::User,
            "group" => PrincipalKind::Group,
            "serviceprincipal" | "application" | "applicationuser" => {
                PrincipalKind::ServicePrincipal
            }
            _ => PrincipalKind::Unknown,
        }
    }

    /// The instant `days` days before the snapshot was taken.
    pub fn days_ago(&self, days: i64) -> DateTime<Utc> {
        self.snapshot.taken_at - Duration::days(days)
    }

    /// Reference to the tenant.
    pub fn tenant_ref(&self) -> ResourceRef {
        ResourceRef {
            kind: ResourceKind::Tenant,
            id: self.snapshot.tenant_id.clone(),
            name: self.snapshot.tenant_id.clone(),
            environment_id: None,
        }
    }

    /// True when the host is on the allowed HTTP hosts list (`*` wildcards).
    pub fn host_allowed(&self, host: &str) -> bool {
        self.config
            .allowed_http_hosts
            .iter()
            .any(|p| glob_match(p.trim(), host))
    }
}

/// True when the configuration marks the environment as prod (id, display-name pattern or SKU).
pub fn is_prod(env: &Environment, config: &PostureConfig) -> bool {
    let sel = &config.prod;
    sel.ids.iter().any(|i| i.eq_ignore_ascii_case(&env.id))
        || sel
            .name_patterns
            .iter()
            .any(|p| glob_match(p, &env.display_name))
        || sel.skus.iter().any(|s| s.eq_ignore_ascii_case(&env.sku))
}

/// Reference to an environment.
pub fn env_ref(e: &Environment) -> ResourceRef {
    ResourceRef {
        kind: ResourceKind::Environment,
        id: e.id.clone(),
        name: e.display_name.clone(),
        environment_id: Some(e.id.clone()),
    }
}

/// Reference to an app.
pub fn app_ref(a: &App) -> ResourceRef {
    ResourceRef {
        kind: ResourceKind::App,
        id: a.id.clone(),
        name: a.display_name.clone(),
        environment_id: Some(a.environment_id.clone()),
    }
}

/// Reference to a flow.
pub fn flow_ref(f: &Flow) -> ResourceRef {
    ResourceRef {
        kind: ResourceKind::Flow,
        id: f.id.clone(),
        name: f.display_name.clone(),
        environment_id: Some(f.environment_id.clone()),
    }
}

/// Reference to a connection.
pub fn connection_ref(c: &Connection) -> ResourceRef {
    let name = if c.display_name.is_empty() {
        c.id.clone()
    } else {
        c.display_name.clone()
    };
    ResourceRef {
        kind: ResourceKind::Connection,
        id: c.id.clone(),
        name,
        environment_id: Some(c.environment_id.clone()),
    }
}

/// Lower-case form of an id, borrowing when it already is (ids are mostly lower-case GUIDs, so
/// hot loops avoid an allocation per resource).
pub fn lc(s: &str) -> std::borrow::Cow<'_, str> {
    if s.bytes().any(|b| b.is_ascii_uppercase()) {
        std::borrow::Cow::Owned(s.to_ascii_lowercase())
    } else {
        std::borrow::Cow::Borrowed(s)
    }
}

fn insert_lc(set: &mut HashSet<String>, id: &str) {
    let key = lc(id);
    if !set.contains(key.as_ref()) {
        set.insert(key.into_owned());
    }
}

/// Lower-case snake name of a collection kind, for messages.
pub fn kind_name(k: CollectionKind) -> &'static str {
    match k {
        CollectionKind::TenantSettings => "tenant_settings",
        CollectionKind::TenantIsolation => "tenant_isolation",
        CollectionKind::DlpPolicies => "dlp_policies",
        CollectionKind::ConnectorMetadata => "connector_metadata",
        CollectionKind::Environments => "environments",
        CollectionKind::Apps => "apps",
        CollectionKind::AppPermissions => "app_permissions",
        CollectionKind::Flows => "flows",
        CollectionKind::FlowDefinitions => "flow_definitions",
        CollectionKind::FlowPermissions => "flow_permissions",
        CollectionKind::FlowRuns => "flow_runs",
        CollectionKind::Connections => "connections",
        CollectionKind::ConnectionPermissions => "connection_permissions",
        CollectionKind::RoleAssignments => "role_assignments",
        CollectionKind::DataverseAdmins => "dataverse_admins",
        CollectionKind::DataverseSettings => "dataverse_settings",
        CollectionKind::Principals => "principals",
        CollectionKind::CustomConnectors => "custom_connectors",
        CollectionKind::GroupMembers => "group_members",
    }
}
