//! The snapshot: everything one crawl collected about a tenant, in domain terms, plus what could
//! not be collected and why (the collection status).
//!
//! Times are UTC. Optional fields are `None` when the API did not say; a rule that needs a value
//! that was not collected reports an error result instead of passing.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Everything one crawl collected about one tenant.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Snapshot {
    /// Snapshot id (unique per crawl).
    pub id: String,
    /// The tenant's Entra id.
    pub tenant_id: String,
    /// When the crawl started; rules measure ages ("no run in 90 days") from here.
    pub taken_at: DateTime<Utc>,
    /// Tenant settings (`listTenantSettings`), `None` when not collected.
    pub tenant_settings: Option<TenantSettings>,
    /// Tenant isolation policy. `None` when not collected; `Some(TenantIsolation { configured: false, .. })` on 404.
    pub tenant_isolation: Option<TenantIsolation>,
    /// Every DLP policy (GOV v2, v1 or legacy, normalised).
    pub dlp_policies: Vec<DlpPolicy>,
    /// Unblockable and virtual connectors.
    pub connector_metadata: ConnectorMetadata,
    /// Every environment.
    pub environments: Vec<Environment>,
    /// Every app, in every environment.
    pub apps: Vec<App>,
    /// Every cloud flow, in every environment.
    pub flows: Vec<Flow>,
    /// Every connection, in every environment.
    pub connections: Vec<Connection>,
    /// Admin role assignments: BAP environment roles and Dataverse System Administrators.
    pub role_assignments: Vec<RoleAssignment>,
    /// Every principal seen, resolved through Graph, keyed by object id.
    pub principals: BTreeMap<String, Principal>,
    /// What was collected and what failed, per scope and kind.
    pub collection: CollectionStatus,
    /// Every custom connector, in every environment, with its host where it was collected.
    #[serde(default)]
    pub custom_connectors: Vec<CustomConnector>,
    /// Transitive membership of the groups rules judge against (`[posture]`
    /// `approved_makers_group`); empty when none is configured.
    #[serde(default)]
    pub groups: Vec<crate::GroupMembers>,
}

impl Snapshot {
    /// The environment with this id (case-insensitive, since ids vary in case across APIs).
    pub fn environment(&self, id: &str) -> Option<&Environment> {
        self.environments
            .iter()
            .find(|e| e.id.eq_ignore_ascii_case(id))
    }

    /// The default environment, if the tenant has one in the snapshot.
    pub fn default_environment(&self) -> Option<&Environment> {
        self.environments.iter().find(|e| e.is_default)
    }

    /// The membership of this group, when the crawl read it.
    pub fn group(&self, id: &str) -> Option<&crate::GroupMembers> {
        let id = id.trim();
        self.groups
            .iter()
            .find(|g| g.group_id.eq_ignore_ascii_case(id))
    }

    /// The principal with this object id.
    pub fn principal(&self, id: &str) -> Option<&Principal> {
        self.principals
            .get(&id.to_ascii_lowercase())
            .or_else(|| self.principals.get(id))
    }
}

/// Tenant settings that rules read, plus the raw document (unknown keys kept).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct TenantSettings {
    /// `disableEnvironmentCreationByNonAdminUsers`.
    pub disable_environment_creation_by_non_admin_users: Option<bool>,
    /// `disableTrialEnvironmentCreationByNonAdminUsers`.
    pub disable_trial_environment_creation_by_non_admin_users: Option<bool>,
    /// `disablePortalsCreationByNonAdminUsers`.
    pub disable_portals_creation_by_non_admin_users: Option<bool>,
    /// `powerPlatform.powerApps.disableShareWithEveryone`.
    pub disable_share_with_everyone: Option<bool>,
    /// `powerPlatform.powerApps.enableGuestsToMake`.
    pub enable_guests_to_make: Option<bool>,
    /// `powerPlatform.governance.enableDefaultEnvironmentRouting`.
    pub enable_default_environment_routing: Option<bool>,
    /// `powerPlatform.governance.disableDeveloperEnvironmentCreationByNonAdminUsers`.
    pub disable_developer_environment_creation_by_non_admin_users: Option<bool>,
    /// `powerPlatform.governance.environmentRoutingTargetSecurityGroupId`.
    pub environment_routing_target_security_group_id: Option<String>,
    /// The whole document as the API returned it.
    pub raw: serde_json::Value,
}

/// Tenant isolation (cross-tenant restrictions).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct TenantIsolation {
    /// False when the API answered 404 (never configured).
    pub configured: bool,
    /// `properties.isDisabled`.
    pub is_disabled: bool,
    /// Allowed tenants with direction.
    pub allowed_tenants: Vec<AllowedTenant>,
}

/// One entry of a tenant isolation allow-list.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct AllowedTenant {
    /// The other tenant's id (`*` for all).
    pub tenant_id: String,
    /// Inbound connections allowed.
    pub inbound: bool,
    /// Outbound connections allowed.
    pub outbound: bool,
}

/// Which API shape a DLP policy came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DlpSource {
    /// GOV `/v2/policies`.
    #[default]
    V2,
    /// GOV `/v1/policies`.
    V1,
    /// BAP `apiPolicies` (legacy schema).
    Legacy,
}

/// A DLP connector group. Wire names: `Confidential` = Business, `General` = Non-Business, `Blocked`.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default, Serialize, Deserialize,
)]
#[serde(rename_all = "snake_case")]
pub enum DlpGroup {
    /// `Confidential` on the wire.
    Business,
    /// `General` on the wire.
    #[default]
    NonBusiness,
    /// `Blocked`.
    Blocked,
}

/// Where a DLP policy applies.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "type", content = "environments")]
pub enum DlpScope {
    /// Every environment.
    #[default]
    AllEnvironments,
    /// Only these environment ids.
    OnlyEnvironments(Vec<String>),
    /// Every environment except these ids.
    ExceptEnvironments(Vec<String>),
}

/// A DLP policy, normalised from any of the three wire shapes.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct DlpPolicy {
    /// The policy `name` (a GUID).
    pub id: String,
    /// Its display name.
    pub display_name: String,
    /// Wire shape it came from.
    pub source: DlpSource,
    /// Where it applies.
    pub scope: DlpScope,
    /// The group a connector not listed anywhere falls into.
    pub default_group: DlpGroup,
    /// Classified connectors, keyed by [`crate::connector_key`].
    pub connectors: BTreeMap<String, DlpGroup>,
    /// Action rules per connector key.
    pub action_rules: BTreeMap<String, ActionRules>,
    /// Endpoint rules per connector key, in `order`.
    pub endpoint_rules: BTreeMap<String, Vec<EndpointRule>>,
    /// Custom connector URL patterns, in `order`.
    pub custom_connector_patterns: Vec<UrlPatternRule>,
    /// When it was created.
    pub created_time: Option<DateTime<Utc>>,
    /// When it was last changed.
    pub last_modified_time: Option<DateTime<Utc>>,
    /// The whole policy as the API returned it.
    pub raw: serde_json::Value,
}

/// Allow or block.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RuleBehavior {
    /// `Allow`.
    #[default]
    Allow,
    /// `Block` (actions) or `Deny` (endpoints).
    Block,
}

/// Action rules of one connector.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ActionRules {
    /// Behaviour for actions not listed.
    pub default_behavior: RuleBehavior,
    /// Per action id (swagger operation id), its behaviour.
    pub rules: BTreeMap<String, RuleBehavior>,
}

/// One endpoint rule (`endPoint` pattern; `*` matches everything).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct EndpointRule {
    /// Evaluation order (lowest first).
    pub order: i64,
    /// Allow or deny.
    pub behavior: RuleBehavior,
    /// The endpoint pattern.
    pub endpoint: String,
}

/// Classification a custom-connector URL pattern assigns.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PatternClassification {
    /// `Confidential`.
    Business,
    /// `General`.
    NonBusiness,
    /// `Blocked`.
    Blocked,
    /// `Ignore`: fall through to the connector's own classification.
    #[default]
    Ignore,
}

/// One custom-connector URL pattern rule.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct UrlPatternRule {
    /// Evaluation order (lowest first).
    pub order: i64,
    /// What matching connectors become.
    pub classification: PatternClassification,
    /// The host pattern, with `*` wildcards.
    pub pattern: String,
}

/// Unblockable and virtual connectors (GOV connectors metadata).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ConnectorMetadata {
    /// Whether this was collected.
    pub collected: bool,
    /// Connector keys that cannot be blocked.
    pub unblockable: Vec<String>,
    /// Virtual connector keys (`http`, `httprequestreceived`, ...).
    pub virtual_connectors: Vec<String>,
}

/// A Power Platform environment.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Environment {
    /// Its `name`: a GUID, or `Default-<tenantId>`.
    pub id: String,
    /// Its display name.
    pub display_name: String,
    /// `environmentSku`: Default, Production, Sandbox, Developer, Trial, Teams, SubscriptionBasedTrial.
    pub sku: String,
    /// `isDefault`.
    pub is_default: bool,
    /// BAP `location` (geo).
    pub location: String,
    /// `azureRegion`.
    pub azure_region: Option<String>,
    /// `createdTime`.
    pub created_time: Option<DateTime<Utc>>,
    /// `lastModifiedTime`.
    pub last_modified_time: Option<DateTime<Utc>>,
    /// Object id of the creator (`SYSTEM` for the default environment).
    pub created_by: Option<String>,
    /// `usedBy.id`: the owner of a developer environment.
    pub used_by: Option<String>,
    /// `creationType`.
    pub creation_type: Option<String>,
    /// `states.runtime.id`: Enabled, Disabled, AdminMode.
    pub runtime_state: Option<String>,
    /// True when `databaseType` is CommonDataService or `linkedEnvironmentMetadata` is present.
    /// With `databaseType: CommonDataService` and `linkedEnvironmentMetadata: null` Dataverse
    /// is still being provisioned: see [`Environment::dataverse_provisioning`].
    pub has_dataverse: bool,
    /// Dataverse instance URL (`linkedEnvironmentMetadata.instanceUrl`).
    pub instance_url: Option<String>,
    /// Dataverse Web API URL (`linkedEnvironmentMetadata.instanceApiUrl`).
    pub instance_api_url: Option<String>,
    /// Dataverse domain name.
    pub domain_name: Option<String>,
    /// `linkedEnvironmentMetadata.securityGroupId` exactly as returned (absent = `None`).
    pub security_group_id: Option<String>,
    /// Managed Environment: `governanceConfiguration.protectionLevel == "Standard"`.
    pub managed: bool,
    /// `governanceConfiguration.protectionLevel` as returned.
    pub protection_level: Option<String>,
    /// `governanceConfiguration.settings.extendedSettings` (all values are strings on the wire).
    pub governance_settings: BTreeMap<String, String>,
    /// Dataverse `organizations` settings, when the environment has Dataverse and they were read.
    pub dataverse_settings: Option<DataverseSettings>,
}

impl Environment {
    /// True while Dataverse is being provisioned: the environment has Dataverse but no instance
    /// yet (`linkedEnvironmentMetadata: null`). Its Dataverse facets are not yet available.
    pub fn dataverse_provisioning(&self) -> bool {
        self.has_dataverse && self.instance_url.is_none() && self.instance_api_url.is_none()
    }

    /// True when a security group is assigned: present and not the all-zero GUID.
    pub fn has_security_group(&self) -> bool {
        match &self.security_group_id {
            None => false,
            Some(g) => {
                let g = g.trim();
                !g.is_empty() && g.chars().any(|c| c != '0' && c != '-')
            }
        }
    }
}

/// Settings read from a Dataverse environment's `organizations` row.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct DataverseSettings {
    /// `organizationid`.
    pub organization_id: String,
    /// `enablecanvasappsinsolutionsbydefault`.
    pub canvas_apps_in_solutions_by_default: Option<bool>,
    /// `enableflowsinsolutionbydefault`.
    pub flows_in_solutions_by_default: Option<bool>,
    /// `isauditenabled`.
    pub is_audit_enabled: Option<bool>,
}

/// A principal as a resource references it (owner, creator, sharer).
#[derive(Debug, Clone, Default, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct PrincipalRef {
    /// Entra object id.
    pub id: String,
    /// `User`, `Group`, `ServicePrincipal`, `Tenant`, or what the API said.
    pub principal_type: String,
    /// Display name as the resource recorded it.
    pub display_name: Option<String>,
    /// E-mail or UPN as the resource recorded it.
    pub email: Option<String>,
}

/// One entry of an access list (app, flow or connection permissions).
#[derive(Debug, Clone, Default, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Permission {
    /// Who.
    pub principal: PrincipalRef,
    /// `Owner`, `CanEdit`, `CanView`, `CanViewWithShare`.
    pub role_name: String,
}

/// A connector an app or flow references.
#[derive(Debug, Clone, Default, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct ConnectorRef {
    /// [`crate::connector_key`] of the api id.
    pub key: String,
    /// The api id as the resource recorded it.
    pub api_id: String,
    /// Display name.
    pub display_name: Option<String>,
    /// Connection name bound to it (flows), when known.
    pub connection_name: Option<String>,
    /// `Embedded` or `Invoker` (flows), when known.
    pub source: Option<String>,
    /// True for custom connectors.
    pub is_custom: bool,
}

/// A Power App.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct App {
    /// Its `name` (GUID).
    pub id: String,
    /// Environment id.
    pub environment_id: String,
    /// Display name.
    pub display_name: String,
    /// `properties.owner`.
    pub owner: Option<PrincipalRef>,
    /// `properties.createdBy`.
    pub created_by: Option<PrincipalRef>,
    /// `createdTime`.
    pub created_time: Option<DateTime<Utc>>,
    /// `lastModifiedTime`.
    pub last_modified_time: Option<DateTime<Utc>>,
    /// `lastPublishTime`.
    pub last_published_time: Option<DateTime<Utc>>,
    /// Last launch, where an API reported it (inventory API `lastLaunchedTime`).
    pub last_launched_time: Option<DateTime<Utc>>,
    /// `sharedUsersCount`.
    pub shared_users_count: Option<u64>,
    /// `sharedGroupsCount`.
    pub shared_groups_count: Option<u64>,
    /// Connectors from `connectionReferences`.
    pub connectors: Vec<ConnectorRef>,
    /// True when any connection reference has `bypassConsent: true`.
    pub bypass_consent: bool,
    /// Quarantined by an admin (`properties.quarantineStatus` "Quarantined"): nobody but its
    /// owner can launch it.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub quarantined: bool,
    /// Access list, `None` when not collected.
    pub permissions: Option<Vec<Permission>>,
    /// App type (`tags.primaryDeviceWidth`-style hints or inventory `appType`), informative.
    pub app_type: Option<String>,
    /// When each facet (definition, permissions) was observed.
    #[serde(default, skip_serializing_if = "crate::Observations::is_empty")]
    pub observed: crate::Observations,
}

/// Run statistics of a flow, measured back from the snapshot's time.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RunStats {
    /// Runs started in the last 30 days.
    pub runs_30d: u64,
    /// Of those, failed.
    pub failed_30d: u64,
    /// Runs started in the last 90 days.
    pub runs_90d: u64,
    /// Of those, failed.
    pub failed_90d: u64,
    /// Start time of the newest run seen.
    pub last_run: Option<DateTime<Utc>>,
}

/// A cloud flow.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Flow {
    /// Its `name` (GUID).
    pub id: String,
    /// Environment id.
    pub environment_id: String,
    /// Display name.
    pub display_name: String,
    /// `Started`, `Stopped`, `Suspended`.
    pub state: String,
    /// `createdTime`.
    pub created_time: Option<DateTime<Utc>>,
    /// `lastModifiedTime`.
    pub last_modified_time: Option<DateTime<Utc>>,
    /// `properties.creator.objectId`.
    pub creator: Option<String>,
    /// Connectors from `connectionReferences` (plus virtual connectors found in the definition).
    pub connectors: Vec<ConnectorRef>,
    /// Trigger type from the definition summary (`Request`, `Recurrence`, `OpenApiConnection`, ...).
    pub trigger_type: Option<String>,
    /// The full workflow definition, `None` when not collected.
    pub definition: Option<serde_json::Value>,
    /// Access list, `None` when not collected.
    pub permissions: Option<Vec<Permission>>,
    /// Run statistics, `None` when not collected.
    pub runs: Option<RunStats>,
    /// `isManaged`: the flow is part of a managed solution (not merely solution-aware),
    /// informative.
    #[serde(alias = "solution_aware")]
    pub in_managed_solution: bool,
    /// When each facet (definition, permissions, runs) was observed.
    #[serde(default, skip_serializing_if = "crate::Observations::is_empty")]
    pub observed: crate::Observations,
}

/// A custom connector of one environment (Power Apps `apis` with `isCustomApi`), with the host
/// URL that DLP custom-connector URL patterns are matched against.
#[derive(Debug, Clone, Default, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct CustomConnector {
    /// Environment id.
    pub environment_id: String,
    /// [`crate::connector_key`] of its `name` (`shared_my-20connector-5f00...`).
    pub key: String,
    /// Display name.
    pub display_name: String,
    /// Host URL (`https://api.contoso.com/v1`): `backendService.serviceUrl`, else the API
    /// definition's `schemes`, `host` and `basePath`. `None` when the host could not be read.
    pub host_url: Option<String>,
}

/// A connection.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Connection {
    /// Its `name`.
    pub id: String,
    /// Environment id.
    pub environment_id: String,
    /// [`crate::connector_key`] of `apiId`.
    pub connector: String,
    /// `apiId` as returned.
    pub api_id: String,
    /// Display name (often the account).
    pub display_name: String,
    /// `createdBy`.
    pub created_by: Option<PrincipalRef>,
    /// `createdTime`.
    pub created_time: Option<DateTime<Utc>>,
    /// `lastModifiedTime`.
    pub last_modified_time: Option<DateTime<Utc>>,
    /// Last successful use, where the API reports it (`lastConnectedTime`).
    pub last_connected_time: Option<DateTime<Utc>>,
    /// `expirationTime`.
    pub expiration_time: Option<DateTime<Utc>>,
    /// `statuses[].status`: Connected, Error, Expired, ...
    pub statuses: Vec<String>,
    /// Error codes from `statuses[].error.code`.
    pub status_errors: Vec<String>,
    /// True when the connection authenticates as a service principal rather than a person.
    pub service_principal: bool,
    /// Access list, `None` when not collected.
    pub permissions: Option<Vec<Permission>>,
    /// When each facet (definition, permissions) was observed.
    #[serde(default, skip_serializing_if = "crate::Observations::is_empty")]
    pub observed: crate::Observations,
}

/// Where a role assignment comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RoleSource {
    /// BAP `roleAssignments` (EnvironmentAdmin, EnvironmentMaker) on environments without Dataverse.
    #[default]
    Bap,
    /// A Dataverse security role (System Administrator) in some business unit.
    Dataverse,
}

/// One admin role held by one principal in one environment.
#[derive(Debug, Clone, Default, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct RoleAssignment {
    /// Environment id.
    pub environment_id: String,
    /// Entra object id of the holder.
    pub principal_id: String,
    /// `User`, `Group`, `ServicePrincipal`, `Tenant`.
    pub principal_type: String,
    /// Display name as recorded.
    pub principal_name: Option<String>,
    /// UPN or e-mail as recorded (Dataverse `domainname`, BAP `email`).
    pub principal_upn: Option<String>,
    /// `SystemAdministrator`, `EnvironmentAdmin`, `EnvironmentMaker`.
    pub role: String,
    /// Where it comes from.
    pub source: RoleSource,
    /// Dataverse `systemuserid`, for removal.
    pub system_user_id: Option<String>,
    /// Dataverse role id (per business unit), for removal.
    pub role_id: Option<String>,
    /// BAP role assignment id, for removal.
    pub assignment_id: Option<String>,
    /// Dataverse `isdisabled` on the system user.
    pub disabled_in_environment: bool,
    /// The Microsoft Entra group through whose Dataverse group team the role is held (the
    /// holder is a transitive member of it); `None` for a direct assignment. Role assignments
    /// through groups cannot be elevated just in time (seed 003): such holders are standing.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub via_group: Option<String>,
}

/// Whether a principal exists and can sign in, as Graph said.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PrincipalStatus {
    /// Exists and enabled.
    #[default]
    Active,
    /// `accountEnabled: false`.
    Disabled,
    /// Graph answered 404.
    Deleted,
    /// Not resolved (lookup failed or not attempted); never treated as deleted.
    Unresolved,
}

/// What kind of principal.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PrincipalKind {
    /// A user.
    #[default]
    User,
    /// A group.
    Group,
    /// A service principal or application.
    ServicePrincipal,
    /// Unknown (deleted, or not resolved).
    Unknown,
}

/// A principal resolved through Graph.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Principal {
    /// Entra object id (lower case).
    pub id: String,
    /// User, group, service principal.
    pub kind: PrincipalKind,
    /// Active, disabled, deleted, unresolved.
    pub status: PrincipalStatus,
    /// True for `userType == "Guest"`.
    pub guest: bool,
    /// `userPrincipalName`.
    pub upn: Option<String>,
    /// `mail`.
    pub mail: Option<String>,
    /// `displayName`.
    pub display_name: Option<String>,
}

impl Principal {
    /// Deleted or disabled: the state that makes a resource orphaned.
    pub fn is_gone(&self) -> bool {
        matches!(
            self.status,
            PrincipalStatus::Deleted | PrincipalStatus::Disabled
        )
    }
}

/// What a collection status entry is about.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "scope", content = "id")]
pub enum CollectionScope {
    /// Tenant-wide data.
    Tenant,
    /// One environment's data.
    Environment(String),
}

/// Named pieces of collection, so a rule can ask "was this collected?".
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CollectionKind {
    /// Tenant settings.
    TenantSettings,
    /// Tenant isolation.
    TenantIsolation,
    /// DLP policies.
    DlpPolicies,
    /// Connector metadata.
    ConnectorMetadata,
    /// The environment list.
    Environments,
    /// Apps of an environment.
    Apps,
    /// App permissions.
    AppPermissions,
    /// Flows of an environment.
    Flows,
    /// Flow definitions.
    FlowDefinitions,
    /// Flow permissions.
    FlowPermissions,
    /// Flow runs.
    FlowRuns,
    /// Connections.
    Connections,
    /// Connection permissions (each connection's `/permissions`).
    ConnectionPermissions,
    /// BAP role assignments.
    RoleAssignments,
    /// Dataverse System Administrators.
    DataverseAdmins,
    /// Dataverse organisation settings.
    DataverseSettings,
    /// Principals resolved through Graph.
    Principals,
    /// Custom connectors of an environment and their hosts.
    CustomConnectors,
    /// Transitive membership of the groups rules judge against (tenant scope).
    GroupMembers,
}

/// The outcome of collecting one piece.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "state")]
pub enum CollectionState {
    /// Collected fully.
    Collected {
        /// Items collected.
        count: u64,
    },
    /// Failed; rules depending on it report errors.
    Failed {
        /// HTTP status, when there was one.
        http_status: Option<u16>,
        /// API error code, when there was one.
        code: Option<String>,
        /// What went wrong, in words.
        message: String,
    },
    /// Not attempted, and why (e.g. "environment has no Dataverse").
    Skipped {
        /// Why.
        reason: String,
    },
}

/// One entry of the collection status.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CollectionEntry {
    /// Tenant or one environment.
    pub scope: CollectionScope,
    /// What.
    pub kind: CollectionKind,
    /// How it went.
    #[serde(flatten)]
    pub state: CollectionState,
}

/// What was collected and what was not. Partial failure is data.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CollectionStatus {
    /// One entry per (scope, kind) attempted.
    pub entries: Vec<CollectionEntry>,
}

impl CollectionStatus {
    /// Records an outcome, replacing an earlier one for the same scope and kind.
    pub fn record(&mut self, scope: CollectionScope, kind: CollectionKind, state: CollectionState) {
        self.entries
            .retain(|e| !(e.scope == scope && e.kind == kind));
        self.entries.push(CollectionEntry { scope, kind, state });
    }

    /// The outcome for a scope and kind, if attempted.
    pub fn get(&self, scope: &CollectionScope, kind: CollectionKind) -> Option<&CollectionState> {
        self.entries
            .iter()
            .find(|e| &e.scope == scope && e.kind == kind)
            .map(|e| &e.state)
    }

    /// True when that piece was collected fully.
    pub fn collected(&self, scope: &CollectionScope, kind: CollectionKind) -> bool {
        matches!(
            self.get(scope, kind),
            Some(CollectionState::Collected { .. })
        )
    }

    /// Failed entries, for reports and rule errors.
    pub fn failures(&self) -> impl Iterator<Item = &CollectionEntry> {
        self.entries
            .iter()
            .filter(|e| matches!(e.state, CollectionState::Failed { .. }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn security_group_all_zero_is_none() {
        let mut e = Environment::default();
        assert!(!e.has_security_group());
        e.security_group_id = Some("00000000-0000-0000-0000-000000000000".into());
        assert!(!e.has_security_group());
        e.security_group_id = Some("5f1c4c1e-0000-0000-0000-000000000001".into());
        assert!(e.has_security_group());
    }

    #[test]
    fn collection_status_replaces_and_answers() {
        let mut s = CollectionStatus::default();
        let env = CollectionScope::Environment("e1".into());
        s.record(
            env.clone(),
            CollectionKind::Flows,
            CollectionState::Failed {
                http_status: Some(403),
                code: None,
                message: "denied".into(),
            },
        );
        assert!(!s.collected(&env, CollectionKind::Flows));
        s.record(
            env.clone(),
            CollectionKind::Flows,
            CollectionState::Collected { count: 3 },
        );
        assert!(s.collected(&env, CollectionKind::Flows));
        assert_eq!(s.entries.len(), 1);
        assert_eq!(s.failures().count(), 0);
    }
}
