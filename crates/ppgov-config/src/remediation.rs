//! `[remediation]`: what `ppgov plan` and `ppgov apply` may do and what they demand first.

use serde::{Deserialize, Serialize};

/// The `[remediation]` section.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RemediationConfig {
    /// Allow actions Microsoft's admin UI does not offer (a security group on the default
    /// environment, PPG-ACT-001). Off by default: Microsoft may reset such a change.
    pub allow_unsupported: bool,
    /// Four eyes: `apply` refuses a plan that nobody but its author approved.
    pub require_approval: bool,
    /// `apply` refuses a plan older than this many hours (the tenant will have moved on).
    pub max_plan_age_hours: i64,
    /// The Entra security group PPG-ACT-001 assigns (object id), for `--from-scan` and the
    /// lockdown preset.
    pub security_group_id: Option<String>,
    /// The user or group (object id) PPG-ACT-008 adds as co-owner of orphaned flows and apps
    /// and of prod flows with a single owner, for `--from-scan` (seed 002: an admin group).
    pub orphan_owner: Option<String>,
    /// Most writes `apply` runs at once.
    pub concurrency: usize,
    /// What PPG-ACT-009 does to default-environment apps and flows made outside the
    /// approved-makers group once the grace period has passed: `quarantine` (apps quarantined,
    /// flows turned off; reversible) or `delete` (not reversible). Unset: ACT-009 is not planned.
    pub default_env_cleanup: Option<CleanupMode>,
    /// Hours between the notice to the maker and PPG-ACT-009 acting (`ppgov apply --due`).
    pub grace_period_hours: i64,
}

/// What PPG-ACT-009 does after the grace period.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum CleanupMode {
    /// Quarantine apps, turn flows off (reversible).
    Quarantine,
    /// Delete apps and flows (not reversible).
    Delete,
}

impl Default for RemediationConfig {
    fn default() -> Self {
        RemediationConfig {
            allow_unsupported: false,
            require_approval: false,
            max_plan_age_hours: 72,
            security_group_id: None,
            orphan_owner: None,
            concurrency: 4,
            default_env_cleanup: None,
            grace_period_hours: 14 * 24,
        }
    }
}
