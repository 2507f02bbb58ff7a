//! The emulated tenant: the contract between the scenario generator (`scenario`) and the HTTP
//! server (`server`).
//!
//! Tenant-wide data is built eagerly and is small, except the audit log, whose records are kept as
//! compact JSON text ([`Doc`]: a `Value` tree would cost five times the bytes). Per-environment
//! content (apps, flows, connections, roles, Dataverse rows) is built lazily and
//! deterministically by [`Tenant::env_content`] as `Value` trees ([`EnvContent`]), so a `huge`
//! tenant never sits in memory at once: the server converts each environment it serves to compact
//! text (`server::store::StoredEnv`) and caches environments up to a size budget, keeping those it
//! has written to.
//!
//! Resources are JSON documents in exactly the shape the real API returns
//! (`shared/api/REFERENCE.md`); the emulator deliberately does not use `ppgov-model`'s types, so
//! it stays an independent judge of the product's parsing.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;

pub use crate::doc::Doc;

/// Tenant sizes. See `scenario` for the exact counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum Size {
    /// 5 environments, about 200 flows: for tests.
    #[default]
    Small,
    /// 100 environments, 5k apps, 10k flows, 20k connections.
    Medium,
    /// 1,000 environments, 11k apps, 30k flows, 100k connections, 50k users.
    Large,
    /// 5,000 environments, 100k apps, 300k flows, 1M connections.
    Huge,
}

/// What the generator needs to know.
#[derive(Debug, Clone)]
pub struct ScenarioConfig {
    /// Seed: the same seed and size always give the same tenant (ids, names, plants).
    pub seed: u64,
    /// Size.
    pub size: Size,
    /// The server's base URL (`http://127.0.0.1:PORT`), so Dataverse instance URLs point back at it.
    pub base_url: String,
    /// "Now" for the scenario: ages (inactive 90 days, audit over 14 days) count back from it.
    pub now: DateTime<Utc>,
}

/// A user in the emulated Entra directory.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct User {
    /// Object id (lower-case GUID).
    pub id: String,
    /// UPN (guests carry `#EXT#`).
    pub upn: String,
    /// Display name.
    pub display_name: String,
    /// Mail.
    pub mail: Option<String>,
    /// `accountEnabled`.
    pub enabled: bool,
    /// Deleted: Graph answers 404 for it, resources still reference it.
    pub deleted: bool,
    /// `userType == "Guest"`.
    pub guest: bool,
    /// When a guest was invited (for the bulk-sharing-to-new-guests detection).
    pub invited: Option<DateTime<Utc>>,
    /// Password for ROPC, when this user can sign in with one.
    pub password: Option<String>,
    /// Sign-in behaviour for ROPC and device code (normal, MFA required, blocked, ...).
    pub sign_in: SignInBehaviour,
    /// Tenant admin roles: `Power Platform Administrator`, `Global Administrator`, ...
    pub admin_roles: Vec<String>,
    /// The object id of the user's manager (Graph `GET /users/{id}/manager`), if one is set.
    pub manager: Option<String>,
}

/// How a user's sign-in goes, so `ppgov doctor` can be shown every failure it must explain.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum SignInBehaviour {
    /// Signs in.
    #[default]
    Normal,
    /// ROPC fails with AADSTS50076 (MFA required).
    MfaRequired,
    /// Conditional access blocks: AADSTS53003.
    ConditionalAccessBlocked,
    /// Not assigned to the app: AADSTS50105.
    NotAssigned,
}

/// A group in the emulated directory.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Group {
    /// Object id.
    pub id: String,
    /// Display name.
    pub display_name: String,
    /// Security enabled.
    pub security_enabled: bool,
    /// Member object ids (users or groups).
    pub members: Vec<String>,
}

/// An app registration / service principal that can ask the token endpoint for tokens.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct AppRegistration {
    /// Client (application) id.
    pub client_id: String,
    /// Service principal object id.
    pub object_id: String,
    /// Display name.
    pub display_name: String,
    /// Client secrets that are valid now.
    pub secrets: Vec<String>,
    /// Registered certificates (DER), with their validity; assertions are verified against these.
    pub certificates: Vec<RegisteredCertificate>,
    /// Public client flows allowed (ROPC, device code).
    pub public_client: bool,
    /// Admin consent granted; without it delegated flows fail with AADSTS65001.
    pub admin_consent: bool,
    /// Registered as a Power Platform management app (BAP adminApplications); without it BAP answers 403.
    pub management_app: bool,
    /// App roles granted for app-only tokens, e.g. `ActivityFeed.Read`, `User.Read.All`.
    pub app_roles: Vec<String>,
    /// Redirect URIs for the authorization code flow (loopback ones match any port).
    #[serde(default)]
    pub redirect_uris: Vec<String>,
    /// App role assignments: user or group object id -> role values carried in `roles` of the
    /// ID tokens issued to that user (directly or through a group).
    #[serde(default)]
    pub role_assignments: std::collections::BTreeMap<String, Vec<String>>,
    /// `groupMembershipClaims = SecurityGroup`: ID tokens carry the user's group ids.
    #[serde(default)]
    pub group_claims: bool,
}

/// A certificate registered on an app.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RegisteredCertificate {
    /// DER bytes, base64 (standard alphabet).
    pub der_base64: String,
    /// Not valid after; an assertion signed with an expired certificate fails with AADSTS700027.
    pub not_after: DateTime<Utc>,
}

/// The emulated Entra directory.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Directory {
    /// Users, deleted ones included.
    pub users: Vec<User>,
    /// Groups.
    pub groups: Vec<Group>,
    /// App registrations.
    pub apps: Vec<AppRegistration>,
}

/// The built-in admin identities the emulator prints when ready (like Azurite's well-known account).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct WellKnown {
    /// Client id of the admin service principal (secret below; registered as management app).
    pub client_id: String,
    /// Its client secret.
    pub client_secret: String,
    /// UPN of the admin user (Power Platform Administrator).
    pub username: String,
    /// Its password.
    pub password: String,
}

/// One environment: its BAP document plus what the lazy generator needs to build its content.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct EnvSpec {
    /// Position in [`Tenant::environments`]; the key for [`Tenant::env_content`].
    pub index: usize,
    /// The environment `name` (GUID or `Default-<tenant>`).
    pub name: String,
    /// The BAP admin environment document, exactly as `GET .../environments/{name}` returns it
    /// (with `properties.governanceConfiguration`).
    pub doc: Value,
    /// True when it has Dataverse (its Web API is served under `instanceApiUrl`).
    pub has_dataverse: bool,
    /// Number of apps, flows and connections `env_content` will build (for progress and tests).
    pub apps: usize,
    /// Flows.
    pub flows: usize,
    /// Connections.
    pub connections: usize,
    /// What the generator decided for this environment (background sizes and planted problems),
    /// so [`Tenant::env_content`] builds it lazily and ground truth is known without building it.
    #[serde(default)]
    pub plan: crate::scenario::EnvPlan,
}

/// An app: the admin list item (A1 shape, with `properties.permissions` absent) and its access list (A3 items).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct AppRecord {
    /// A1 item.
    pub doc: Value,
    /// A3 items.
    pub permissions: Vec<Value>,
}

/// How a flow's run history looks; the server materialises run documents from it on request, so
/// 300k flows cost no run memory.
#[derive(Debug, Clone, Copy, Default, Serialize, Deserialize)]
pub struct RunPlan {
    /// Number of runs in the history.
    pub runs: u32,
    /// How many of them failed (spread evenly through the history).
    pub failed: u32,
    /// Start of the newest run.
    pub newest: Option<DateTime<Utc>>,
    /// Start of the oldest run.
    pub oldest: Option<DateTime<Utc>>,
}

impl RunPlan {
    /// Run `i` (0 = newest): its start time and whether it failed. `None` past the end.
    pub fn run(&self, i: u32) -> Option<(DateTime<Utc>, bool)> {
        if i >= self.runs {
            return None;
        }
        let newest = self.newest?;
        let oldest = self.oldest.unwrap_or(newest);
        let span = (newest - oldest).num_seconds().max(0);
        let step = if self.runs > 1 {
            span / i64::from(self.runs - 1)
        } else {
            0
        };
        let start = newest - chrono::Duration::seconds(step * i64::from(i));
        // Failures spread evenly: run i failed when floor((i+1)*f/n) > floor(i*f/n).
        let n = u64::from(self.runs);
        let f = u64::from(self.failed.min(self.runs));
        let failed = (u64::from(i) + 1) * f / n > u64::from(i) * f / n;
        Some((start, failed))
    }
}

/// A flow: list item (F1 shape with `definitionSummary`), full definition (for F2), access list
/// (F4 items) and its run plan.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct FlowRecord {
    /// F1 item.
    pub doc: Value,
    /// `properties.definition` for F2.
    pub definition: Value,
    /// F4 items.
    pub permissions: Vec<Value>,
    /// Run history.
    pub runs: RunPlan,
}

/// A connection: C1 item (with `properties.permissions`, `statuses`).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ConnectionRecord {
    /// C1 item.
    pub doc: Value,
}

/// Dataverse rows of one environment.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct DataverseData {
    /// The single `organizations` row.
    pub organization: Value,
    /// `businessunits` rows (`businessunitid`, `name`, `_parentbusinessunitid_value`).
    pub business_units: Vec<Value>,
    /// `roles` rows (one System Administrator per business unit, same template id).
    pub roles: Vec<Value>,
    /// `systemusers` rows.
    pub system_users: Vec<Value>,
    /// Role membership: (`systemuserid`, `roleid`).
    pub user_roles: Vec<(String, String)>,
    /// `teams` rows (owner teams, Microsoft Entra group teams with `azureactivedirectoryobjectid`).
    #[serde(default)]
    pub teams: Vec<Value>,
    /// Team role membership (`teamroles_association`): (`teamid`, `roleid`).
    #[serde(default)]
    pub team_roles: Vec<(String, String)>,
}

/// Everything inside one environment.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct EnvContent {
    /// Apps.
    pub apps: Vec<AppRecord>,
    /// Flows.
    pub flows: Vec<FlowRecord>,
    /// Connections.
    pub connections: Vec<ConnectionRecord>,
    /// BAP role assignments (R1 items); environments without Dataverse.
    pub role_assignments: Vec<Value>,
    /// Dataverse, when the environment has it.
    pub dataverse: Option<DataverseData>,
}

/// A planted posture problem: the ground truth a scan must find.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct PlantedFinding {
    /// Catalogue rule id.
    pub rule_id: String,
    /// Resource id as the API names it (see the ground-truth contract).
    pub resource_id: String,
}

/// A planted detection: who did it and which audit records make it up.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct PlantedDetection {
    /// Catalogue detection id.
    pub detection_id: String,
    /// Actor UPN.
    pub actor: String,
    /// Audit record `Id`s.
    pub event_ids: Vec<String>,
}

/// The ground truth file: `{"findings": [...], "detections": [...]}`.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct GroundTruth {
    /// Planted posture findings.
    pub findings: Vec<PlantedFinding>,
    /// Planted detections.
    pub detections: Vec<PlantedDetection>,
    /// The detection configuration the planted detections assume (departing users, sensitive
    /// environments, authorised sharers, business hours, country deny-list and IP table,
    /// elevation allow-list, blocked connectors), so the ground truth is self-contained.
    #[serde(default)]
    pub detection_config: Value,
}

/// An audit record with the time its content blob becomes available.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct AuditItem {
    /// When it shows up in a content blob (`contentCreated`), 20–120 minutes after the event.
    pub available: DateTime<Utc>,
    /// The record, exactly as the Management Activity API serves it (RecordType 30, 256, 45, ...),
    /// as compact JSON text (`record.value()` parses it).
    pub record: Doc,
}

/// The whole emulated tenant.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Tenant {
    /// Tenant id.
    pub tenant_id: String,
    /// Primary domain (`contoso-<seed>.example`).
    pub domain: String,
    /// Scenario "now".
    pub now: DateTime<Utc>,
    /// Seed.
    pub seed: u64,
    /// Size.
    pub size: Size,
    /// The built-in admin credentials.
    pub well_known: WellKnown,
    /// Directory.
    pub directory: Directory,
    /// `listTenantSettings` document (unknown keys included, so round trips can be tested).
    pub tenant_settings: Value,
    /// Tenant isolation policy document; `None` answers 404.
    pub tenant_isolation: Option<Value>,
    /// `GET /tenant` document.
    pub tenant_info: Value,
    /// Full GOV v2 DLP documents (`policyDefinition`, `connectorConfigurationsDefinition`, ...).
    pub dlp_policies: Vec<Value>,
    /// D5 unblockable list.
    pub unblockable_connectors: Value,
    /// D5 virtual list.
    pub virtual_connectors: Value,
    /// Environments.
    pub environments: Vec<EnvSpec>,
    /// Audit records over the last 14 days, with their availability times, in no particular order.
    pub audit: Vec<AuditItem>,
    /// What was planted.
    pub ground_truth: GroundTruth,
    /// Who plays which part (makers, gone users, guests, application users): what
    /// [`Tenant::env_content`] draws principals from.
    #[serde(default)]
    pub roster: crate::scenario::Roster,
}
