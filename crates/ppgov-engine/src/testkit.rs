//! A tiny snapshot builder for tests (rules' unit tests, integration tests, other crates' tests).
//!
//! [`base`] is a clean tenant on which no built-in rule fires: a default and a prod environment,
//! two DLP policies, two active users, every piece collected. Tests add the one bad thing they
//! need with the helpers below.

use crate::context::Context;
use crate::rule::RuleOutput;
use chrono::{DateTime, Duration, TimeZone, Utc};
use ppgov_config::PostureConfig;
use ppgov_core::*;
use serde_json::json;

/// Tenant id of the test tenant.
pub const TENANT: &str = "tenant-1";
/// The default environment.
pub const DEFAULT_ENV: &str = "Default-tenant-1";
/// A prod environment (SKU Production, managed, security group, Dataverse with audit on).
pub const PROD_ENV: &str = "env-prod";
/// An active member user.
pub const USER_1: &str = "00000000-0000-0000-0000-0000000000a1";
/// Another active member user.
pub const USER_2: &str = "00000000-0000-0000-0000-0000000000a2";
/// A service principal.
pub const SP_1: &str = "00000000-0000-0000-0000-0000000000b1";

/// When test snapshots are taken.
pub fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 6, 1, 0, 0, 0)
        .single()
        .unwrap_or_default()
}

/// `days` days before [`now`].
pub fn ago(days: i64) -> DateTime<Utc> {
    now() - Duration::days(days)
}

/// Core connectors the clean background uses (all Business in the test policies).
pub const CORE: &[&str] = &[
    "shared_office365",
    "shared_sharepointonline",
    "shared_teams",
    "shared_approvals",
    "shared_commondataserviceforapps",
];

/// A clean environment with Dataverse and good settings.
pub fn env(id: &str, sku: &str) -> Environment {
    Environment {
        id: id.to_string(),
        display_name: format!("{id} name"),
        sku: sku.to_string(),
        is_default: sku == "Default",
        has_dataverse: true,
        security_group_id: Some("5f1c4c1e-1111-2222-3333-000000000001".into()),
        managed: true,
        protection_level: Some("Standard".into()),
        governance_settings: [
            ("isGroupSharingDisabled", "true"),
            ("maxLimitUserSharing", "5"),
            ("solutionCheckerMode", "block"),
            ("excludeEnvironmentFromAnalysis", "false"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect(),
        dataverse_settings: Some(DataverseSettings {
            organization_id: format!("org-{id}"),
            canvas_apps_in_solutions_by_default: Some(true),
            flows_in_solutions_by_default: Some(true),
            is_audit_enabled: Some(true),
        }),
        ..Environment::default()
    }
}

/// A clean strict policy: core connectors Business, everything else Blocked, `http` endpoints
/// denied, custom connectors blocked.
pub fn policy(id: &str, scope: DlpScope) -> DlpPolicy {
    DlpPolicy {
        id: id.to_string(),
        display_name: format!("{id} name"),
        scope,
        default_group: DlpGroup::Blocked,
        connectors: CORE
            .iter()
            .map(|c| (c.to_string(), DlpGroup::Business))
            .collect(),
        endpoint_rules: [(
            "http".to_string(),
            vec![EndpointRule {
                order: 1,
                behavior: RuleBehavior::Block,
                endpoint: "*".into(),
            }],
        )]
        .into_iter()
        .collect(),
        custom_connector_patterns: vec![UrlPatternRule {
            order: 1,
            classification: PatternClassification::Blocked,
            pattern: "*".into(),
        }],
        ..DlpPolicy::default()
    }
}

/// A principal reference to a user.
pub fn user_ref(id: &str) -> PrincipalRef {
    PrincipalRef {
        id: id.to_string(),
        principal_type: "User".into(),
        display_name: Some(format!("user {id}")),
        email: None,
    }
}

/// An Owner permission for a user.
pub fn owner(id: &str) -> Permission {
    Permission {
        principal: user_ref(id),
        role_name: "Owner".into(),
    }
}

/// A connector reference.
pub fn connector(key: &str) -> ConnectorRef {
    ConnectorRef {
        key: key.to_string(),
        api_id: format!("/providers/Microsoft.PowerApps/apis/{key}"),
        connection_name: Some(format!("conn-{key}")),
        ..ConnectorRef::default()
    }
}

/// A clean app in `env_id`.
pub fn app(id: &str, env_id: &str) -> App {
    App {
        id: id.to_string(),
        environment_id: env_id.to_string(),
        display_name: format!("{id} name"),
        owner: Some(user_ref(USER_1)),
        created_by: Some(user_ref(USER_1)),
        created_time: Some(ago(400)),
        last_modified_time: Some(ago(10)),
        shared_users_count: Some(3),
        shared_groups_count: Some(0),
        connectors: vec![connector("shared_sharepointonline")],
        permissions: Some(vec![owner(USER_1)]),
        ..App::default()
    }
}

/// A clean flow in `env_id`: SharePoint trigger and action, two owners, healthy runs.
pub fn flow(id: &str, env_id: &str) -> Flow {
    Flow {
        id: id.to_string(),
        environment_id: env_id.to_string(),
        display_name: format!("{id} name"),
        state: "Started".into(),
        created_time: Some(ago(400)),
        last_modified_time: Some(ago(20)),
        creator: Some(USER_1.into()),
        connectors: vec![connector("shared_sharepointonline")],
        trigger_type: Some("OpenApiConnection".into()),
        definition: Some(json!({
            "$schema": "https://schema.management.azure.com/providers/Microsoft.Logic/schemas/2016-06-01/workflowdefinition.json#",
            "parameters": {"$connections": {"defaultValue": {}, "type": "Object"}, "$authentication": {"defaultValue": {}, "type": "SecureObject"}},
            "triggers": {"When_an_item_is_created": {"type": "OpenApiConnection", "inputs": {"host": {"connectionName": "shared_sharepointonline", "operationId": "GetOnNewItems", "apiId": "/providers/Microsoft.PowerApps/apis/shared_sharepointonline"}}}},
            "actions": {"Update_item": {"type": "OpenApiConnection", "inputs": {"host": {"connectionName": "shared_sharepointonline", "operationId": "PatchItem", "apiId": "/providers/Microsoft.PowerApps/apis/shared_sharepointonline"}, "parameters": {"dataset": "https://contoso.sharepoint.com/sites/x", "table": "8a7d1c3e-8d53-4a8e-9d7c-1b2c3d4e5f60"}, "authentication": "@parameters('$authentication')"}}}
        })),
        permissions: Some(vec![owner(USER_1), owner(USER_2)]),
        runs: Some(RunStats {
            runs_30d: 50,
            failed_30d: 2,
            runs_90d: 150,
            failed_90d: 5,
            last_run: Some(ago(1)),
        }),
        ..Flow::default()
    }
}

/// A clean service-principal connection.
pub fn connection(id: &str, env_id: &str, connector_key: &str) -> Connection {
    Connection {
        id: id.to_string(),
        environment_id: env_id.to_string(),
        connector: connector_key.to_string(),
        api_id: format!("/providers/Microsoft.PowerApps/apis/{connector_key}"),
        display_name: format!("{id} account"),
        created_by: Some(user_ref(USER_1)),
        created_time: Some(ago(100)),
        expiration_time: Some(now() + Duration::days(60)),
        statuses: vec!["Connected".into()],
        service_principal: true,
        ..Connection::default()
    }
}

/// A Dataverse System Administrator assignment.
pub fn sysadmin(env_id: &str, principal_id: &str, principal_type: &str) -> RoleAssignment {
    RoleAssignment {
        environment_id: env_id.to_string(),
        principal_id: principal_id.to_string(),
        principal_type: principal_type.to_string(),
        principal_name: Some(format!("holder {principal_id}")),
        role: "SystemAdministrator".into(),
        source: RoleSource::Dataverse,
        ..RoleAssignment::default()
    }
}

/// A principal with a status.
pub fn principal(id: &str, kind: PrincipalKind, status: PrincipalStatus, guest: bool) -> Principal {
    Principal {
        id: id.to_string(),
        kind,
        status,
        guest,
        upn: Some(format!("{id}@contoso.com")),
        mail: None,
        display_name: Some(format!("p {id}")),
    }
}

/// The clean tenant (see the module doc). Call [`collect_all`] after adding environments.
pub fn base() -> Snapshot {
    let mut s = Snapshot {
        id: "snap-1".into(),
        tenant_id: TENANT.into(),
        taken_at: now(),
        tenant_settings: Some(TenantSettings {
            disable_environment_creation_by_non_admin_users: Some(true),
            disable_trial_environment_creation_by_non_admin_users: Some(true),
            disable_portals_creation_by_non_admin_users: Some(true),
            disable_share_with_everyone: Some(true),
            enable_guests_to_make: Some(false),
            enable_default_environment_routing: Some(true),
            disable_developer_environment_creation_by_non_admin_users: Some(false),
            environment_routing_target_security_group_id: None,
            raw: json!({}),
        }),
        tenant_isolation: Some(TenantIsolation {
            configured: true,
            is_disabled: false,
            allowed_tenants: vec![],
        }),
        dlp_policies: vec![
            policy("pol-all", DlpScope::AllEnvironments),
            policy(
                "pol-prod",
                DlpScope::OnlyEnvironments(vec![PROD_ENV.into()]),
            ),
        ],
        connector_metadata: ConnectorMetadata {
            collected: true,
            unblockable: crate::dlp::FALLBACK_UNBLOCKABLE
                .iter()
                .map(|s| s.to_string())
                .collect(),
            virtual_connectors: vec!["http".into(), "httprequestreceived".into()],
        },
        environments: vec![env(DEFAULT_ENV, "Default"), env(PROD_ENV, "Production")],
        ..Snapshot::default()
    };
    for (id, kind) in [
        (USER_1, PrincipalKind::User),
        (USER_2, PrincipalKind::User),
        (SP_1, PrincipalKind::ServicePrincipal),
    ] {
        s.principals.insert(
            id.to_string(),
            principal(id, kind, PrincipalStatus::Active, false),
        );
    }
    collect_all(&mut s);
    s
}

/// Records every tenant piece and every piece of every environment as collected.
pub fn collect_all(s: &mut Snapshot) {
    use CollectionKind::*;
    for k in [
        TenantSettings,
        TenantIsolation,
        DlpPolicies,
        ConnectorMetadata,
        Environments,
        Principals,
    ] {
        s.collection.record(
            CollectionScope::Tenant,
            k,
            CollectionState::Collected { count: 1 },
        );
    }
    let ids: Vec<String> = s.environments.iter().map(|e| e.id.clone()).collect();
    for id in ids {
        for k in [
            Apps,
            AppPermissions,
            Flows,
            FlowDefinitions,
            FlowPermissions,
            FlowRuns,
            Connections,
            RoleAssignments,
            DataverseAdmins,
            DataverseSettings,
        ] {
            s.collection.record(
                CollectionScope::Environment(id.clone()),
                k,
                CollectionState::Collected { count: 1 },
            );
        }
    }
}

/// Marks one piece as failed (403).
pub fn fail(s: &mut Snapshot, env_id: Option<&str>, kind: CollectionKind) {
    let scope = match env_id {
        Some(e) => CollectionScope::Environment(e.to_string()),
        None => CollectionScope::Tenant,
    };
    s.collection.record(
        scope,
        kind,
        CollectionState::Failed {
            http_status: Some(403),
            code: None,
            message: "denied".into(),
        },
    );
}

/// Runs one rule with the default configuration.
pub fn run(evaluate: fn(&Context) -> RuleOutput, s: &Snapshot) -> RuleOutput {
    run_with(evaluate, s, &PostureConfig::default())
}

/// Runs one rule with a configuration.
pub fn run_with(
    evaluate: fn(&Context) -> RuleOutput,
    s: &Snapshot,
    config: &PostureConfig,
) -> RuleOutput {
    let ctx = Context::new(s, config);
    evaluate(&ctx)
}

/// Ids of the resources a rule output flags, sorted.
pub fn ids(out: &RuleOutput) -> Vec<String> {
    let mut v: Vec<String> = out.findings.iter().map(|f| f.resource.id.clone()).collect();
    v.sort();
    v
}

/// True when the output is an error.
pub fn is_error(out: &RuleOutput) -> bool {
    matches!(out.status, RuleStatus::Error { .. })
}
