//! `[posture]`: what the built-in rules consider prod, their thresholds, connector categories,
//! allow-lists and suppressions. Defaults are the catalogue's (`docs/catalogue.md`).

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

/// Which environments are production.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ProdSelector {
    /// Environment names (ids) that are prod.
    pub ids: Vec<String>,
    /// Display-name patterns (`*` wildcards, case-insensitive) that are prod.
    pub name_patterns: Vec<String>,
    /// SKUs that are prod.
    pub skus: Vec<String>,
}

impl Default for ProdSelector {
    fn default() -> Self {
        ProdSelector {
            ids: vec![],
            name_patterns: vec![],
            skus: vec!["Production".into()],
        }
    }
}

/// Numeric thresholds of the rules.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Thresholds {
    /// PPG-DEF-005: runs in 30 days above which a default-environment flow is production-like.
    pub default_env_flow_runs_30d: u64,
    /// PPG-FLW-004: days without a run.
    pub flow_inactive_days: i64,
    /// PPG-FLW-005: failure percentage above which a flow is failing.
    pub flow_failure_percent: u64,
    /// PPG-FLW-005: minimum runs in 30 days before the failure rate counts.
    pub flow_failure_min_runs: u64,
    /// PPG-APP-001: users an app may be shared with.
    pub app_share_max_users: u64,
    /// PPG-APP-003: days without modification or launch.
    pub app_inactive_days: i64,
    /// PPG-RTE-004: users per share the routing preset allows.
    pub developer_env_max_share_users: i64,
}

impl Default for Thresholds {
    fn default() -> Self {
        Thresholds {
            default_env_flow_runs_30d: 1000,
            flow_inactive_days: 90,
            flow_failure_percent: 50,
            flow_failure_min_runs: 10,
            app_share_max_users: 20,
            app_inactive_days: 180,
            developer_env_max_share_users: 5,
        }
    }
}

/// Connector categories, as connector keys (`shared_sharepointonline`, `http`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ConnectorCategories {
    /// Connectors that carry business data (PPG-FLW-001).
    pub business_data: Vec<String>,
    /// External connectors (PPG-FLW-001, PPG-CON-003).
    pub external: Vec<String>,
    /// Connectors the default environment may allow (PPG-DEF-004).
    pub default_env_core: Vec<String>,
}

impl Default for ConnectorCategories {
    fn default() -> Self {
        let v = |xs: &[&str]| xs.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        ConnectorCategories {
            business_data: v(&[
                "shared_sharepointonline",
                "shared_commondataserviceforapps",
                "shared_commondataservice",
                "shared_sql",
            ]),
            external: v(&["shared_gmail", "shared_dropbox", "shared_twitter", "http"]),
            default_env_core: v(&[
                "shared_office365",
                "shared_office365users",
                "shared_sharepointonline",
                "shared_teams",
                "shared_onedriveforbusiness",
                "shared_excelonlinebusiness",
                "shared_planner",
                "shared_approvals",
                "shared_microsoftforms",
                "shared_commondataserviceforapps",
                "shared_todo",
                "shared_powerbi",
                "shared_office365groups",
                "shared_flowpush",
            ]),
        }
    }
}

/// One accepted finding.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Suppression {
    /// Rule id, e.g. `PPG-APP-001`.
    pub rule_id: String,
    /// Resource id (as in findings); `*` for every resource of the rule.
    pub resource: String,
    /// Why it is accepted (required: auditors ask).
    pub justification: String,
    /// Last day it applies; after it the finding shows again, marked as an expired suppression.
    pub expires: Option<NaiveDate>,
}

/// Everything the posture rules read from configuration.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct PostureConfig {
    /// Which environments are prod.
    pub prod: ProdSelector,
    /// Rule thresholds.
    pub thresholds: Thresholds,
    /// Connector categories.
    pub connectors: ConnectorCategories,
    /// Entra group whose members may make in the default environment (PPG-DEF-006; rule off when unset).
    pub approved_makers_group: Option<String>,
    /// Object ids or UPNs of break-glass admins allowed standing System Administrator (PPG-ADM-001).
    pub break_glass_admins: Vec<String>,
    /// Object ids or UPNs allowed to share (PPG-DET-010).
    pub authorised_sharers: Vec<String>,
    /// Hosts HTTP actions may call (PPG-FLW-007); `*.contoso.com` wildcards allowed.
    pub allowed_http_hosts: Vec<String>,
    /// Accepted findings.
    pub suppressions: Vec<Suppression>,
}
