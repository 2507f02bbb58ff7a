//! The generator's decisions, made up front: who plays which part, what each environment is,
//! and which problem is planted where (with its resource id), so ground truth is known before
//! any environment content is built.

use serde::{Deserialize, Serialize};

/// Who plays which part; indices into `Tenant::directory.users` / `groups`.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Roster {
    /// Active member makers, most active first (owners and creators of everything).
    pub makers: Vec<usize>,
    /// Active members who own nothing (viewers, EnvironmentAdmins, standing-admin plants).
    pub members: Vec<usize>,
    /// Deleted or disabled users that own planted orphans.
    pub gone_owners: Vec<usize>,
    /// Deleted or disabled users that hold planted admin roles (own nothing).
    pub gone_admins: Vec<usize>,
    /// Active guests (own nothing).
    pub guests: Vec<usize>,
    /// Guests invited in the last 14 days (subset of `guests`).
    pub new_guests: Vec<usize>,
    /// Security groups with members.
    pub security_groups: Vec<usize>,
}

/// What kind of problem a plant is; the variant picks among shapes of the same problem.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub enum PlantKind {
    /// Flow mixing business-data and external connectors (FLW-001).
    FlowExfiltration,
    /// Flow whose creator is gone and no active user owns it (FLW-002).
    FlowOrphan,
    /// Prod flow with one owner (FLW-003).
    FlowSingleOwner,
    /// Flow without runs for 90 days (FLW-004).
    FlowInactive,
    /// Flow failing more than half its runs (FLW-005).
    FlowFailing,
    /// Flow with a hard-coded secret (FLW-006; Http variants also FLW-007).
    FlowSecret,
    /// Flow with an Http action to an allowed endpoint (FLW-007 only).
    FlowHttp,
    /// Prod flow on a personal connection (FLW-008).
    FlowUserConnection,
    /// Busy default-environment flow (DEF-005).
    FlowBusyDefault,
    /// Flow using a blocked connector, action or endpoint (DLP-001; endpoint variant also FLW-007).
    FlowBlocked,
    /// Flow mixing Business and Non-Business (DLP-002).
    FlowMixed,
    /// Over-shared app (APP-001).
    AppShared,
    /// App whose owner is gone (APP-002).
    AppOrphan,
    /// App untouched for 180 days (APP-003).
    AppInactive,
    /// App bypassing consent (APP-004).
    AppBypassConsent,
    /// App using a blocked connector (DLP-001).
    AppBlocked,
    /// App mixing Business and Non-Business (DLP-002).
    AppMixed,
    /// Connection whose creator is gone (CON-001).
    ConnectionOrphan,
    /// Connection in error or expired (CON-002).
    ConnectionBroken,
    /// External connector connection in prod (CON-003).
    ConnectionExternal,
    /// Standing System Administrator user (ADM-001).
    AdminUser,
    /// System Administrator in prod who also makes (ADM-002 + ADM-001).
    AdminMaker,
    /// Gone user with System Administrator (ADM-003 + ADM-001).
    AdminGoneSysAdmin,
    /// Gone user with EnvironmentAdmin (ADM-003).
    AdminGoneEnvAdmin,
    /// Guest with System Administrator (ADM-004 + ADM-001).
    AdminGuestSysAdmin,
    /// Guest with EnvironmentAdmin (ADM-004).
    AdminGuestEnvAdmin,
}

impl PlantKind {
    /// Every kind, in a fixed order.
    pub const ALL: [PlantKind; 26] = [
        PlantKind::FlowExfiltration,
        PlantKind::FlowOrphan,
        PlantKind::FlowSingleOwner,
        PlantKind::FlowInactive,
        PlantKind::FlowFailing,
        PlantKind::FlowSecret,
        PlantKind::FlowHttp,
        PlantKind::FlowUserConnection,
        PlantKind::FlowBusyDefault,
        PlantKind::FlowBlocked,
        PlantKind::FlowMixed,
        PlantKind::AppShared,
        PlantKind::AppOrphan,
        PlantKind::AppInactive,
        PlantKind::AppBypassConsent,
        PlantKind::AppBlocked,
        PlantKind::AppMixed,
        PlantKind::ConnectionOrphan,
        PlantKind::ConnectionBroken,
        PlantKind::ConnectionExternal,
        PlantKind::AdminUser,
        PlantKind::AdminMaker,
        PlantKind::AdminGoneSysAdmin,
        PlantKind::AdminGoneEnvAdmin,
        PlantKind::AdminGuestSysAdmin,
        PlantKind::AdminGuestEnvAdmin,
    ];

    /// Number of shapes of this problem.
    pub fn variants(self) -> u32 {
        match self {
            PlantKind::FlowSecret => 7,
            PlantKind::FlowExfiltration
            | PlantKind::FlowBlocked
            | PlantKind::FlowMixed
            | PlantKind::AppShared => 3,
            PlantKind::FlowInactive
            | PlantKind::FlowOrphan
            | PlantKind::ConnectionBroken
            | PlantKind::AdminUser => 2,
            _ => 1,
        }
    }

    /// The rules a plant of this kind and variant triggers (every one of them).
    pub fn rules(self, variant: u32) -> Vec<&'static str> {
        match self {
            PlantKind::FlowExfiltration => vec!["PPG-FLW-001"],
            PlantKind::FlowOrphan => vec!["PPG-FLW-002"],
            PlantKind::FlowSingleOwner => vec!["PPG-FLW-003"],
            PlantKind::FlowInactive => vec!["PPG-FLW-004"],
            PlantKind::FlowFailing => vec!["PPG-FLW-005"],
            PlantKind::FlowSecret if variant <= 2 => vec!["PPG-FLW-006", "PPG-FLW-007"],
            PlantKind::FlowSecret => vec!["PPG-FLW-006"],
            PlantKind::FlowHttp => vec!["PPG-FLW-007"],
            PlantKind::FlowUserConnection => vec!["PPG-FLW-008"],
            PlantKind::FlowBusyDefault => vec!["PPG-DEF-005"],
            PlantKind::FlowBlocked if variant == 2 => vec!["PPG-DLP-001", "PPG-FLW-007"],
            PlantKind::FlowBlocked | PlantKind::AppBlocked => vec!["PPG-DLP-001"],
            PlantKind::FlowMixed | PlantKind::AppMixed => vec!["PPG-DLP-002"],
            PlantKind::AppShared => vec!["PPG-APP-001"],
            PlantKind::AppOrphan => vec!["PPG-APP-002"],
            PlantKind::AppInactive => vec!["PPG-APP-003"],
            PlantKind::AppBypassConsent => vec!["PPG-APP-004"],
            PlantKind::ConnectionOrphan => vec!["PPG-CON-001"],
            PlantKind::ConnectionBroken => vec!["PPG-CON-002"],
            PlantKind::ConnectionExternal => vec!["PPG-CON-003"],
            PlantKind::AdminUser => vec!["PPG-ADM-001"],
            PlantKind::AdminMaker => vec!["PPG-ADM-001", "PPG-ADM-002"],
            PlantKind::AdminGoneSysAdmin => vec!["PPG-ADM-001", "PPG-ADM-003"],
            PlantKind::AdminGoneEnvAdmin => vec!["PPG-ADM-003"],
            PlantKind::AdminGuestSysAdmin => vec!["PPG-ADM-001", "PPG-ADM-004"],
            PlantKind::AdminGuestEnvAdmin => vec!["PPG-ADM-004"],
        }
    }

    /// Where it must live.
    pub fn placement(self) -> Placement {
        match self {
            PlantKind::FlowSingleOwner
            | PlantKind::FlowUserConnection
            | PlantKind::ConnectionExternal
            | PlantKind::AdminUser
            | PlantKind::AdminMaker => Placement::CleanProd,
            PlantKind::FlowBusyDefault => Placement::Default,
            PlantKind::AdminGoneSysAdmin | PlantKind::AdminGuestSysAdmin => {
                Placement::CoveredNonProdDataverse
            }
            PlantKind::AdminGoneEnvAdmin | PlantKind::AdminGuestEnvAdmin => Placement::NoDataverse,
            _ => Placement::CoveredNonProd,
        }
    }

    /// What kind of resource the plant is.
    pub fn resource(self) -> Resource {
        use PlantKind::*;
        match self {
            FlowExfiltration | FlowOrphan | FlowSingleOwner | FlowInactive | FlowFailing
            | FlowSecret | FlowHttp | FlowUserConnection | FlowBusyDefault | FlowBlocked
            | FlowMixed => Resource::Flow,
            AppShared | AppOrphan | AppInactive | AppBypassConsent | AppBlocked | AppMixed => {
                Resource::App
            }
            ConnectionOrphan | ConnectionBroken | ConnectionExternal => Resource::Connection,
            AdminUser | AdminMaker | AdminGoneSysAdmin | AdminGoneEnvAdmin | AdminGuestSysAdmin
            | AdminGuestEnvAdmin => Resource::Role,
        }
    }

    /// Connectors this plant needs its own connections for (beyond the background pool).
    pub fn own_connections(self, variant: u32) -> Vec<&'static str> {
        match (self, variant) {
            (PlantKind::FlowExfiltration, 0) => vec!["shared_gmail"],
            (PlantKind::FlowExfiltration, 1) => vec!["shared_sql", "shared_dropbox"],
            (PlantKind::FlowExfiltration, _) => vec!["shared_twitter"],
            (PlantKind::FlowSecret, 3) => vec!["shared_sql"],
            (PlantKind::FlowUserConnection, _) => vec!["shared_sharepointonline"],
            (PlantKind::FlowBlocked, 0) => vec!["shared_ftp"],
            (PlantKind::FlowBlocked, 1) => vec!["shared_azureblob"],
            (PlantKind::FlowMixed, 0) => vec!["shared_rss"],
            _ => vec![],
        }
    }
}

/// The kind of resource a plant is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Resource {
    /// An app (resource id = app name).
    App,
    /// A flow (resource id = flow name).
    Flow,
    /// A connection (resource id = connection name).
    Connection,
    /// A role holder (resource id = `<env>/<oid>`).
    Role,
}

/// Where a plant may live.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Placement {
    /// A prod environment without environment-level plants.
    CleanProd,
    /// The default environment.
    Default,
    /// A non-default, non-prod environment that every DLP layout covers.
    CoveredNonProd,
    /// Same, with Dataverse.
    CoveredNonProdDataverse,
    /// An environment without Dataverse (BAP role assignments).
    NoDataverse,
}

/// One planted problem.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Plant {
    /// Kind.
    pub kind: PlantKind,
    /// Shape within the kind.
    pub variant: u32,
    /// The resource `name` (app, flow, connection) or the principal object id (roles).
    pub id: String,
    /// Ground-truth resource id (`name`, or `<env>/<oid>` for roles).
    pub resource_id: String,
    /// The user the plant hinges on (gone creator/owner, admin holder), index into the directory.
    pub user: Option<usize>,
    /// Rule ids it triggers.
    pub rules: Vec<String>,
}

/// Everything decided about one environment before its content is built.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct EnvPlan {
    /// `environmentSku`.
    pub sku: String,
    /// Has Dataverse.
    pub dataverse: bool,
    /// Managed (`protectionLevel` Standard).
    pub managed: bool,
    /// Security group id, when set.
    pub security_group: Option<String>,
    /// Dataverse `isauditenabled`.
    pub audit_enabled: bool,
    /// Dataverse "add canvas apps and cloud flows to solutions by default".
    pub solutions_by_default: bool,
    /// For a weak managed developer environment, which setting is weak (RTE-004).
    pub weak_setting: Option<u32>,
    /// Number of Dataverse business units (1–3).
    pub business_units: u32,
    /// Background apps.
    pub bg_apps: usize,
    /// Background flows.
    pub bg_flows: usize,
    /// Background connections.
    pub bg_connections: usize,
    /// Planted problems inside the environment.
    pub plants: Vec<Plant>,
    /// Rules firing on the environment itself (ENV-*, RTE-003/004, DLP-003, DEF-001..004).
    pub env_rules: Vec<String>,
    /// Dataverse still being provisioned: `databaseType: CommonDataService` with
    /// `linkedEnvironmentMetadata: null`; BAP role assignments, no Dataverse yet.
    #[serde(default)]
    pub provisioning: bool,
    /// A Microsoft Entra group team holding System Administrator, when planted.
    #[serde(default)]
    pub group_team: Option<GroupTeamPlan>,
}

/// A Microsoft Entra security group team (`teamtype` 2) holding a System Administrator copy:
/// every transitive member of the group is a standing System Administrator (ADM-001).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct GroupTeamPlan {
    /// The group's object id (`azureactivedirectoryobjectid` of the team).
    pub group_id: String,
    /// The team's name.
    pub team_name: String,
    /// Which business unit's copy of System Administrator the team holds (index, clamped).
    pub business_unit: usize,
    /// Directory indices of the users who hold the role through the group (transitively).
    pub holders: Vec<usize>,
}

impl EnvPlan {
    /// Is it prod under default configuration.
    pub fn is_prod(&self) -> bool {
        self.sku == "Production"
    }

    /// Counts of apps, flows and connections `env_content` builds.
    pub fn counts(&self) -> (usize, usize, usize) {
        let mut apps = self.bg_apps;
        let mut flows = self.bg_flows;
        let mut conns = self.bg_connections;
        for p in &self.plants {
            match p.kind.resource() {
                Resource::App => apps += 1,
                Resource::Flow => flows += 1,
                Resource::Connection => conns += 1,
                Resource::Role => {}
            }
            conns += p.kind.own_connections(p.variant).len();
        }
        (apps, flows, conns)
    }
}
