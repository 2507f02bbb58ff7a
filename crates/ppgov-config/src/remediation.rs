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
        }
    }
}
