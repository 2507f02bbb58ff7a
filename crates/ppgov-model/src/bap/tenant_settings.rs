//! Tenant settings (E7 `listTenantSettings`, E8 `updateTenantSettings`).
//!
//! Keys vary by tenant and age, and E8 may receive the whole object back, so every level
//! keeps unknown keys in `extra` and typed fields are skipped when absent: a
//! read-modify-write round trip changes only what the caller changed.

use crate::common::JsonMap;
use serde::{Deserialize, Serialize};

/// The whole tenant settings document.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TenantSettings {
    /// WalkMe guidance opt-out.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub walk_me_opt_out: Option<bool>,
    /// Stop NPS comment reach-out.
    #[serde(
        default,
        rename = "disableNPSCommentsReachout",
        skip_serializing_if = "Option::is_none"
    )]
    pub disable_nps_comments_reachout: Option<bool>,
    /// Stop newsletters.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub disable_newsletter_sendout: Option<bool>,
    /// Only admins create production/sandbox environments.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub disable_environment_creation_by_non_admin_users: Option<bool>,
    /// Only admins create portals.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub disable_portals_creation_by_non_admin_users: Option<bool>,
    /// Disable surveys.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub disable_survey_feedback: Option<bool>,
    /// Only admins create trial environments.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub disable_trial_environment_creation_by_non_admin_users: Option<bool>,
    /// Environment admins cannot allocate capacity.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub disable_capacity_allocation_by_environment_admins: Option<bool>,
    /// Support tickets visible only to their creators.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub disable_support_tickets_visible_by_all_users: Option<bool>,
    /// The `powerPlatform` section.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub power_platform: Option<PowerPlatformSettings>,
    /// Unknown top-level keys, kept verbatim.
    #[serde(flatten)]
    pub extra: JsonMap,
}

/// `powerPlatform`.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PowerPlatformSettings {
    /// `powerPlatform.powerApps`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub power_apps: Option<PowerAppsTenantSettings>,
    /// `powerPlatform.powerAutomate`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub power_automate: Option<PowerAutomateTenantSettings>,
    /// `powerPlatform.governance`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub governance: Option<GovernanceTenantSettings>,
    /// Other sections (`search`, `teamsIntegration`, `licensing`, `intelligence`, ...),
    /// kept verbatim.
    #[serde(flatten)]
    pub extra: JsonMap,
}

/// `powerPlatform.powerApps`.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PowerAppsTenantSettings {
    /// Makers cannot share apps with Everyone.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub disable_share_with_everyone: Option<bool>,
    /// Guests may make apps.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub enable_guests_to_make: Option<bool>,
    /// Hide the members indicator.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub disable_members_indicator: Option<bool>,
    /// Disable maker matching.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub disable_maker_match: Option<bool>,
    /// Connections cannot be shared with Everyone.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub disable_connection_sharing_with_everyone: Option<bool>,
    /// Unknown keys, kept verbatim.
    #[serde(flatten)]
    pub extra: JsonMap,
}

/// `powerPlatform.powerAutomate`.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PowerAutomateTenantSettings {
    /// Copilot in Power Automate disabled.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub disable_copilot: Option<bool>,
    /// Copilot with Bing disabled.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub disable_copilot_with_bing: Option<bool>,
    /// Unknown keys, kept verbatim.
    #[serde(flatten)]
    pub extra: JsonMap,
}

/// `powerPlatform.governance`.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct GovernanceTenantSettings {
    /// Weekly admin digest off.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub disable_admin_digest: Option<bool>,
    /// Developer environment assignments = only admins.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub disable_developer_environment_creation_by_non_admin_users: Option<bool>,
    /// Default environment routing on.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub enable_default_environment_routing: Option<bool>,
    /// Route all makers.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub environment_routing_all_makers: Option<bool>,
    /// Target environment group for routing.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub environment_routing_target_environment_group_id: Option<String>,
    /// Security group scoping routing.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub environment_routing_target_security_group_id: Option<String>,
    /// `governance.policy`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub policy: Option<GovernancePolicySettings>,
    /// Unknown keys, kept verbatim.
    #[serde(flatten)]
    pub extra: JsonMap,
}

/// `powerPlatform.governance.policy`.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct GovernancePolicySettings {
    /// DLP for desktop flows.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub enable_desktop_flow_data_policy_management: Option<bool>,
    /// Unknown keys, kept verbatim.
    #[serde(flatten)]
    pub extra: JsonMap,
}

impl TenantSettings {
    /// `powerPlatform.powerApps`, if present.
    pub fn power_apps(&self) -> Option<&PowerAppsTenantSettings> {
        self.power_platform.as_ref()?.power_apps.as_ref()
    }

    /// `powerPlatform.governance`, if present.
    pub fn governance(&self) -> Option<&GovernanceTenantSettings> {
        self.power_platform.as_ref()?.governance.as_ref()
    }

    /// `powerPlatform.powerApps`, created empty if absent (for edits).
    pub fn power_apps_mut(&mut self) -> &mut PowerAppsTenantSettings {
        self.power_platform
            .get_or_insert_with(Default::default)
            .power_apps
            .get_or_insert_with(Default::default)
    }

    /// `powerPlatform.governance`, created empty if absent (for edits).
    pub fn governance_mut(&mut self) -> &mut GovernanceTenantSettings {
        self.power_platform
            .get_or_insert_with(Default::default)
            .governance
            .get_or_insert_with(Default::default)
    }

    /// Any setting by dotted path (e.g. `powerPlatform.intelligence.disableCopilot`), read from
    /// the serialised form so untyped keys are reachable too.
    pub fn get_path(&self, path: &str) -> Option<serde_json::Value> {
        let mut cur = serde_json::to_value(self).ok()?;
        for part in path.split('.') {
            cur = cur.get(part)?.clone();
        }
        Some(cur)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn unknown_keys_survive_modify_round_trip() {
        let input = json!({
            "walkMeOptOut": false,
            "futureTopLevel": {"a": [1, 2]},
            "powerPlatform": {
                "powerApps": {"disableShareWithEveryone": false, "newAppsKnob": "x"},
                "governance": {"policy": {"enableDesktopFlowDataPolicyManagement": false, "p2": 3}, "g2": true},
                "search": {"disableDocsSearch": false},
                "brandNewSection": {"k": null}
            }
        });
        let mut s: TenantSettings = serde_json::from_value(input.clone()).unwrap();
        s.power_apps_mut().disable_share_with_everyone = Some(true);
        let out = serde_json::to_value(&s).unwrap();
        let mut expected = input;
        expected["powerPlatform"]["powerApps"]["disableShareWithEveryone"] = json!(true);
        assert_eq!(out, expected);
        assert_eq!(
            s.get_path("powerPlatform.search.disableDocsSearch"),
            Some(json!(false))
        );
    }
}
