//! Tenant-level documents: tenant settings (E7, with unknown keys), isolation (E10), tenant
//! info (E9), GOV v2 DLP policies, and the D5 connector lists; plus which tenant rules a seed
//! plants.

use chrono::{DateTime, Utc};
use rand_chacha::ChaCha8Rng;
use serde_json::{Value, json};

use super::catalog::{
    self, BACKGROUND, BLOCKED, BLOCKED_ACTION, EXTRA_BUSINESS, NON_BUSINESS, UNBLOCKABLE, api_id,
};
use super::util::{guid, iso};

/// Which DLP layout a seed gets (`seed % 3`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Layout {
    /// A tenant-wide baseline plus environment-specific policies (prod guardrails, default lockdown).
    Baseline,
    /// No AllEnvironments policy: a broad ExceptEnvironments policy leaves the default environment
    /// and some non-prod environments uncovered (ENV-001, DEF-003).
    Except,
    /// Exactly one AllEnvironments policy (TEN-007).
    Single,
}

/// The tenant-level decisions of one seed.
#[derive(Debug, Clone)]
pub struct TenantRules {
    /// DLP layout.
    pub layout: Layout,
    /// TEN-001..006 fire (index 0 = TEN-001).
    pub ten: [bool; 6],
    /// TEN-003 shape: no isolation policy at all (404) instead of a disabled one.
    pub isolation_missing: bool,
    /// Default environment routing on.
    pub routing: bool,
    /// Developer environment creation restricted to admins.
    pub dev_restricted: bool,
    /// DEF-001: default environment without security group.
    pub def001: bool,
    /// DEF-002: default environment does not add apps/flows to solutions.
    pub def002: bool,
    /// In the Baseline layout, the default lockdown policy lets unlisted connectors through.
    pub lockdown_leaky: bool,
}

impl TenantRules {
    /// Decides from the seed; seeds 1..=5 together plant every tenant-level rule.
    pub fn from_seed(seed: u64) -> Self {
        let layout = match seed % 3 {
            0 => Layout::Baseline,
            1 => Layout::Except,
            _ => Layout::Single,
        };
        let mut ten = [false; 6];
        for (i, t) in ten.iter_mut().enumerate() {
            *t = (seed + i as u64).is_multiple_of(2);
        }
        let routing = seed.is_multiple_of(2);
        TenantRules {
            layout,
            ten,
            isolation_missing: seed % 4 < 2,
            routing,
            dev_restricted: routing && seed % 4 == 2,
            def001: (seed + 1).is_multiple_of(2),
            def002: seed.is_multiple_of(2),
            lockdown_leaky: (seed / 3) % 2 == 1,
        }
    }

    /// DEF-004 fires.
    pub fn def004(&self) -> bool {
        match self.layout {
            Layout::Baseline => self.lockdown_leaky,
            Layout::Except | Layout::Single => true,
        }
    }

    /// Tenant-scoped rule ids that fire.
    pub fn tenant_findings(&self) -> Vec<&'static str> {
        let mut v = Vec::new();
        let ids = [
            "PPG-TEN-001",
            "PPG-TEN-002",
            "PPG-TEN-003",
            "PPG-TEN-004",
            "PPG-TEN-005",
            "PPG-TEN-006",
        ];
        for (i, id) in ids.iter().enumerate() {
            if self.ten[i] {
                v.push(*id);
            }
        }
        if self.layout == Layout::Single {
            v.push("PPG-TEN-007");
        }
        if !self.routing {
            v.push("PPG-RTE-001");
        }
        if self.routing && self.dev_restricted {
            v.push("PPG-RTE-002");
        }
        v
    }
}

/// `listTenantSettings` document, with unknown keys at top level and nested.
pub fn tenant_settings(rules: &TenantRules, rng: &mut ChaCha8Rng) -> Value {
    let t = &rules.ten;
    json!({
        "walkMeOptOut": false,
        "disableNPSCommentsReachout": false,
        "disableNewsletterSendout": false,
        "disableEnvironmentCreationByNonAdminUsers": !t[0],
        "disablePortalsCreationByNonAdminUsers": !t[3],
        "disableSurveyFeedback": false,
        "disableTrialEnvironmentCreationByNonAdminUsers": !t[1],
        "disableCapacityAllocationByEnvironmentAdmins": false,
        "disableSupportTicketsVisibleByAllUsers": false,
        "futureTopLevelFlag": {"enabled": true, "rolloutWave": 3},
        "powerPlatform": {
            "search": {"disableDocsSearch": false, "disableCommunitySearch": false, "disableBingVideoSearch": false},
            "teamsIntegration": {"shareWithColleaguesUserLimit": 10000},
            "powerApps": {
                "disableShareWithEveryone": !t[4],
                "enableGuestsToMake": t[5],
                "disableMembersIndicator": false,
                "disableMakerMatch": false,
                "disableUnusedLicenseAssignment": false,
                "disableCreateFromImage": false,
                "disableCreateFromFigma": false,
                "disableConnectionSharingWithEveryone": false,
                "unannouncedPreviewSetting": "on"
            },
            "powerAutomate": {"disableCopilot": false, "disableCopilotWithBing": false},
            "environments": {"disablePreferredDataLocationForTeamsEnvironment": false},
            "governance": {
                "disableAdminDigest": false,
                "disableDeveloperEnvironmentCreationByNonAdminUsers": rules.dev_restricted,
                "enableDefaultEnvironmentRouting": rules.routing,
                "environmentRoutingAllMakers": false,
                "environmentRoutingTargetEnvironmentGroupId": guid(rng),
                "environmentRoutingTargetSecurityGroupId": guid(rng),
                "policy": {"enableDesktopFlowDataPolicyManagement": false}
            },
            "licensing": {"disableBillingPolicyCreationByNonAdminUsers": false, "storageCapacityConsumptionWarningThreshold": 85},
            "powerPages": {},
            "champions": {"disableChampionsInvitationReachout": false, "disableSkillsMatchInvitationReachout": false},
            "intelligence": {"disableCopilot": false, "enableOpenAiBotPublishing": false},
            "modelExperimentation": {"enableModelDataSharing": false, "disableDataLogging": false},
            "catalogSettings": {"powerCatalogAudienceSetting": "All"},
            "userManagementSettings": {"enableDeleteDisabledUserinAllEnvironments": false},
            "experimentalArea": {"someNewToggle": true, "nested": {"level": 2}}
        }
    })
}

/// Tenant isolation policy; `None` = never configured (404).
pub fn isolation(rules: &TenantRules, tenant_id: &str, rng: &mut ChaCha8Rng) -> Option<Value> {
    if rules.ten[2] && rules.isolation_missing {
        return None;
    }
    Some(json!({"properties": {
        "tenantId": tenant_id,
        "isDisabled": rules.ten[2],
        "allowedTenants": [{"tenantId": guid(rng), "direction": {"inbound": true, "outbound": false}}]
    }}))
}

/// `GET /tenant`.
pub fn tenant_info(tenant_id: &str) -> Value {
    json!({"tenantId": tenant_id, "state": "Enabled", "location": "europe", "aadCountryGeo": "europe",
           "dataStorageGeo": "europe", "defaultEnvironmentGeo": "europe", "aadDataBoundary": "none",
           "fedRAMPHighCertificationRequired": false})
}

fn connector(key: &str) -> Value {
    json!({"id": api_id(key), "name": catalog::meta(key).0, "type": "Microsoft.PowerApps/apis"})
}

fn env_ref(name: &str) -> Value {
    json!({"id": format!("/providers/Microsoft.BusinessAppPlatform/scopes/admin/environments/{name}"),
           "name": name, "type": "Microsoft.BusinessAppPlatform/scopes/environments"})
}

struct PolicySpec<'a> {
    display: &'a str,
    env_type: &'a str,
    envs: Vec<&'a str>,
    default_class: &'a str,
    business: Vec<&'a str>,
    non_business: Vec<&'a str>,
    blocked: Vec<&'a str>,
    action_rules: bool,
    http_endpoints: bool,
    custom_blocked: bool,
}

fn policy(spec: PolicySpec, domain: &str, now: DateTime<Utc>, rng: &mut ChaCha8Rng) -> Value {
    let actions = if spec.action_rules {
        json!([{"connectorId": api_id("shared_azureblob"), "defaultConnectorActionRuleBehavior": "Allow",
                "actionRules": [{"actionId": BLOCKED_ACTION, "behavior": "Block"}, {"actionId": "CreateFile_V2", "behavior": "Allow"}]}])
    } else {
        json!([])
    };
    let endpoints = if spec.http_endpoints {
        json!([{"connectorId": api_id("http"), "endpointRules": [
            {"order": 1, "behavior": "Allow", "endPoint": format!("*.{domain}")},
            {"order": 2, "behavior": "Deny", "endPoint": "*"}]}])
    } else {
        json!([])
    };
    let last = if spec.custom_blocked {
        "Blocked"
    } else {
        "Ignore"
    };
    json!({
        "policyDefinition": {
            "name": guid(rng),
            "displayName": spec.display,
            "defaultConnectorsClassification": spec.default_class,
            "environmentType": spec.env_type,
            "environments": spec.envs.iter().map(|e| env_ref(e)).collect::<Vec<_>>(),
            "connectorGroups": [
                {"classification": "Confidential", "connectors": spec.business.iter().map(|c| connector(c)).collect::<Vec<_>>()},
                {"classification": "General", "connectors": spec.non_business.iter().map(|c| connector(c)).collect::<Vec<_>>()},
                {"classification": "Blocked", "connectors": spec.blocked.iter().map(|c| connector(c)).collect::<Vec<_>>()}
            ],
            "createdBy": {"displayName": "Tenant Admin"},
            "createdTime": iso(now - chrono::Duration::days(200)),
            "lastModifiedBy": {"displayName": "Tenant Admin"},
            "lastModifiedTime": iso(now - chrono::Duration::days(40)),
            "etag": guid(rng),
            "isLegacySchemaVersion": false
        },
        "connectorConfigurationsDefinition": {
            "connectorActionConfigurations": actions,
            "endpointConfigurations": endpoints
        },
        "customConnectorUrlPatternsDefinition": {"rules": [
            {"order": 1, "customConnectorRuleClassification": "Confidential", "pattern": format!("https://*.{domain}")},
            {"order": 2, "customConnectorRuleClassification": last, "pattern": "*"}
        ]}
    })
}

/// The DLP policies of the layout.
#[allow(clippy::too_many_arguments)]
pub fn dlp_policies(
    rules: &TenantRules,
    names: &[String],
    prod: &[usize],
    unguarded_prod: &[usize],
    uncovered: &[usize],
    domain: &str,
    now: DateTime<Utc>,
    rng: &mut ChaCha8Rng,
) -> Vec<Value> {
    fn broad<'a>(
        display: &'a str,
        env_type: &'a str,
        envs: Vec<&'a str>,
        custom_blocked: bool,
    ) -> PolicySpec<'a> {
        let mut business: Vec<&str> = BACKGROUND.to_vec();
        business.extend(EXTRA_BUSINESS);
        PolicySpec {
            display,
            env_type,
            envs,
            default_class: "General",
            business,
            non_business: vec![NON_BUSINESS],
            blocked: vec![BLOCKED],
            action_rules: true,
            http_endpoints: true,
            custom_blocked,
        }
    }
    let guarded: Vec<&str> = prod
        .iter()
        .filter(|e| !unguarded_prod.contains(e))
        .map(|&e| names[e].as_str())
        .collect();
    let guardrails = PolicySpec {
        display: "Production guardrails",
        env_type: "OnlyEnvironments",
        envs: guarded,
        default_class: "General",
        business: BACKGROUND.to_vec(),
        non_business: vec![],
        blocked: vec!["shared_dropbox", "shared_twitter"],
        action_rules: false,
        http_endpoints: true,
        custom_blocked: true,
    };
    let mut out = Vec::new();
    match rules.layout {
        Layout::Baseline => {
            out.push(policy(
                broad("Tenant baseline", "AllEnvironments", vec![], false),
                domain,
                now,
                rng,
            ));
            out.push(policy(guardrails, domain, now, rng));
            let mut lockdown_blocked: Vec<&str> = EXTRA_BUSINESS.to_vec();
            lockdown_blocked.extend([NON_BUSINESS, BLOCKED]);
            out.push(policy(
                PolicySpec {
                    display: "Default environment lockdown",
                    env_type: "OnlyEnvironments",
                    envs: vec![names[0].as_str()],
                    default_class: if rules.lockdown_leaky {
                        "General"
                    } else {
                        "Blocked"
                    },
                    business: BACKGROUND.to_vec(),
                    non_business: vec![],
                    blocked: lockdown_blocked,
                    action_rules: false,
                    http_endpoints: false,
                    custom_blocked: true,
                },
                domain,
                now,
                rng,
            ));
        }
        Layout::Except => {
            let mut except: Vec<&str> = vec![names[0].as_str()];
            except.extend(uncovered.iter().map(|&e| names[e].as_str()));
            out.push(policy(
                broad(
                    "Broad baseline (exceptions)",
                    "ExceptEnvironments",
                    except,
                    false,
                ),
                domain,
                now,
                rng,
            ));
            out.push(policy(guardrails, domain, now, rng));
        }
        Layout::Single => {
            out.push(policy(
                broad(
                    "One policy for everything",
                    "AllEnvironments",
                    vec![],
                    false,
                ),
                domain,
                now,
                rng,
            ));
        }
    }
    out
}

/// D5 unblockable list.
pub fn unblockable() -> Value {
    Value::Array(
        UNBLOCKABLE
            .iter()
            .map(|c| json!({"id": api_id(c), "metadata": {"unblockable": true}}))
            .collect(),
    )
}

/// D5 virtual list.
pub fn virtual_connectors() -> Value {
    json!([
        {"id": "Http", "metadata": {"virtualConnector": true, "name": "HTTP", "type": "Microsoft.PowerApps/apis", "displayName": "HTTP", "iconUri": "data:image/svg+xml;base64,PHN2Zz48L3N2Zz4="}},
        {"id": "HttpRequestReceived", "metadata": {"virtualConnector": true, "name": "When a HTTP request is received", "type": "Microsoft.PowerApps/apis", "displayName": "When a HTTP request is received", "iconUri": "data:image/svg+xml;base64,PHN2Zz48L3N2Zz4="}},
        {"id": "HttpWebhook", "metadata": {"virtualConnector": true, "name": "HTTP Webhook", "type": "Microsoft.PowerApps/apis", "displayName": "HTTP Webhook", "iconUri": "data:image/svg+xml;base64,PHN2Zz48L3N2Zz4="}}
    ])
}
