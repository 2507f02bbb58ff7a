//! Golden wire fixtures: every file under `fixtures/api/` deserialises through its model type.
//!
//! The table below maps each fixture to a checker; a fixture missing from the table fails the
//! test, so a new recording cannot silently go untested.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use ppgov_model::bap::{
    Environment, EnvironmentPatch, EnvironmentSku, GovernanceConfiguration, LifecycleOperation,
    LifecycleState, ModifyRoleAssignmentsRequest, ModifyRoleAssignmentsResponse, ProtectionLevel,
    RoleAssignment, TenantInfo, TenantIsolationPolicy, TenantSettings,
};
use ppgov_model::common::{AnyError, ErrorEnvelope, ListPage, OwnerRef, PrincipalType};
use ppgov_model::dataverse::{AssociateRef, BusinessUnit, Organization, Role, SystemUser};
use ppgov_model::dlp::{
    ApiPolicy, Classification, ConnectorMetadataEntry, EnvironmentFilterType, PolicyV1, PolicyV2,
    RuleBehavior,
};
use ppgov_model::entra::{DeviceCodeResponse, DevicePollError, TokenError, TokenResponse};
use ppgov_model::flow::{Flow, FlowPermission, FlowRun, FlowState, RunStatus};
use ppgov_model::graph::{BatchRequest, BatchResponse, DirectoryObject, Group, User};
use ppgov_model::management::{
    AuditRecord, ContentBlob, ManagementError, RecordDetails, Subscription, is_throttled,
};
use ppgov_model::powerapps::{
    App, AppPermission, Connection, Connector, ModifyAppOwnerRequest, ModifyPermissionsRequest,
    PermissionRole,
};
use ppgov_model::ppapi::{
    ApplyAdminRoleResponse, Clause, QueryRequest, QueryResult, ResultTruncated,
};
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

type Check = fn(&str);

/// Fixture path (relative to `fixtures/api`) -> checker.
const TABLE: &[(&str, Check)] = &[
    ("bap/environment_managed_extended.json", bap_env_managed),
    ("bap/environment_patch_security_group.json", |s| {
        roundtrip_exact::<EnvironmentPatch>(s)
    }),
    ("bap/environments_list.json", bap_env_list),
    (
        "bap/governance_configuration_enable.json",
        bap_governance_body,
    ),
    ("bap/lifecycle_operation.json", bap_lifecycle),
    ("bap/modify_role_assignments_request.json", |s| {
        roundtrip_exact::<ModifyRoleAssignmentsRequest>(s)
    }),
    (
        "bap/modify_role_assignments_response.json",
        bap_modify_ra_response,
    ),
    ("bap/role_assignments.json", bap_role_assignments),
    ("bap/tenant_info.json", bap_tenant_info),
    ("bap/tenant_isolation_policy.json", bap_isolation),
    ("bap/tenant_settings_unknown_keys.json", bap_tenant_settings),
    ("common/error_arg_details.json", common_error_arg),
    ("common/error_bare_ppapi.json", common_error_bare),
    (
        "common/error_dataverse_throttle.json",
        common_error_dataverse,
    ),
    (
        "common/error_environment_access_denied.json",
        common_error_access_denied,
    ),
    (
        "common/error_operation_not_startable.json",
        common_error_409,
    ),
    ("dataverse/associate_ref_request.json", |s| {
        roundtrip_exact::<AssociateRef>(s)
    }),
    ("dataverse/businessunits.json", dv_business_units),
    ("dataverse/organizations.json", dv_organizations),
    ("dataverse/roles.json", dv_roles),
    ("dataverse/systemusers.json", dv_systemusers),
    ("dlp/connectors_unblockable.json", dlp_unblockable),
    ("dlp/connectors_virtual.json", dlp_virtual),
    ("dlp/legacy_api_policy.json", dlp_legacy),
    ("dlp/v1_policies_list.json", dlp_v1),
    ("dlp/v2_policies_list.json", dlp_v2_list),
    ("dlp/v2_policy_endpoint_lowercase.json", dlp_v2_lowercase),
    ("dlp/v2_policy_full.json", dlp_v2_full),
    ("entra/device_code_response.json", entra_device_code),
    ("entra/token_error_aadsts.json", entra_token_error),
    ("entra/token_error_pending.json", entra_token_pending),
    ("entra/token_response.json", entra_token),
    ("entra/token_response_delegated.json", entra_token_delegated),
    ("flow/flow_get.json", flow_get),
    ("flow/flow_permissions.json", flow_permissions),
    ("flow/flow_runs.json", flow_runs),
    ("flow/flows_list.json", flow_list),
    ("flow/modify_permissions_request.json", |s| {
        roundtrip_exact::<ModifyPermissionsRequest>(s)
    }),
    ("graph/batch_request.json", graph_batch_request),
    ("graph/batch_response.json", graph_batch_response),
    ("graph/error_not_found.json", graph_404),
    ("graph/get_by_ids_response.json", graph_get_by_ids),
    ("graph/group.json", graph_group),
    ("graph/group_members.json", graph_members),
    ("graph/user.json", graph_user),
    ("graph/user_guest.json", graph_guest),
    ("management/audit_blob.json", mgmt_audit_blob),
    ("management/content_list.json", mgmt_content),
    ("management/error_af20022.json", mgmt_error_af20022),
    ("management/error_af429.json", mgmt_error_af429),
    ("management/subscription_start_response.json", mgmt_start),
    ("management/subscriptions_list.json", mgmt_subscriptions),
    ("powerapps/app_permissions.json", pa_app_permissions),
    ("powerapps/apps_list.json", pa_apps),
    ("powerapps/connections_list.json", pa_connections),
    ("powerapps/connectors_list.json", pa_connectors),
    ("powerapps/modify_app_owner_request.json", |s| {
        roundtrip_exact::<ModifyAppOwnerRequest>(s)
    }),
    ("powerapps/modify_permissions_delete_request.json", |s| {
        roundtrip_exact::<ModifyPermissionsRequest>(s)
    }),
    ("powerapps/modify_permissions_request.json", |s| {
        roundtrip_exact::<ModifyPermissionsRequest>(s)
    }),
    ("ppapi/apply_admin_role_response.json", ppapi_admin_role),
    ("ppapi/inventory_query_request.json", ppapi_query_request),
    ("ppapi/inventory_query_response.json", ppapi_query_response),
    (
        "ppapi/inventory_query_response_last_page.json",
        ppapi_query_last_page,
    ),
];

fn fixtures_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/api")
}

fn collect(dir: &Path, root: &Path, out: &mut BTreeSet<String>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let p = entry.unwrap().path();
        if p.is_dir() {
            collect(&p, root, out);
        } else if p.extension().is_some_and(|e| e == "json") {
            let rel = p
                .strip_prefix(root)
                .unwrap()
                .to_string_lossy()
                .replace('\\', "/");
            out.insert(rel);
        }
    }
}

#[test]
fn every_fixture_is_in_the_table_and_deserialises() {
    let root = fixtures_root();
    let mut files = BTreeSet::new();
    collect(&root, &root, &mut files);
    let table: BTreeSet<String> = TABLE.iter().map(|(p, _)| (*p).to_owned()).collect();
    let missing: Vec<_> = files.difference(&table).collect();
    assert!(
        missing.is_empty(),
        "fixtures without a checker in TABLE: {missing:?}"
    );
    let stale: Vec<_> = table.difference(&files).collect();
    assert!(
        stale.is_empty(),
        "TABLE entries without a fixture file: {stale:?}"
    );
    for (path, check) in TABLE {
        let raw = std::fs::read_to_string(root.join(path)).unwrap();
        check(&raw);
    }
}

fn load<T: DeserializeOwned>(raw: &str) -> T {
    serde_json::from_str(raw)
        .unwrap_or_else(|e| panic!("{} failed: {e}", std::any::type_name::<T>()))
}

/// Request bodies: typed round trip reproduces the fixture exactly, key order included.
fn roundtrip_exact<T: DeserializeOwned + Serialize>(raw: &str) {
    let v: Value = serde_json::from_str(raw).unwrap();
    let t: T = load(raw);
    assert_eq!(
        serde_json::to_string(&t).unwrap(),
        serde_json::to_string(&v).unwrap(),
        "{}",
        std::any::type_name::<T>()
    );
}

// ---------------- bap ----------------

fn bap_env_list(raw: &str) {
    let page: ListPage<Environment> = load(raw);
    assert_eq!(page.value.len(), 3);
    assert_eq!(page.next_link(), None);
    let def = &page.value[0];
    assert!(def.is_default());
    assert!(
        !def.has_dataverse(),
        "null linkedEnvironmentMetadata means no Dataverse"
    );
    assert_eq!(
        def.properties.created_by.as_ref().unwrap().id.as_deref(),
        Some("SYSTEM")
    );
    let dv = &page.value[1];
    assert!(dv.has_dataverse());
    assert_eq!(dv.properties.environment_sku, Some(EnvironmentSku::Sandbox));
    assert_eq!(
        dv.security_group_id(),
        Some("bbbbbbbb-0000-0000-0000-000000000001")
    );
    let meta = dv.properties.linked_environment_metadata.as_ref().unwrap();
    assert_eq!(
        meta.instance_url.as_deref(),
        Some("https://org1a2b.crm4.dynamics.com/")
    );
    assert_eq!(meta.base_language, Some(1033));
    assert_eq!(
        dv.properties
            .states
            .as_ref()
            .unwrap()
            .management
            .as_ref()
            .unwrap()
            .id,
        "Ready"
    );
    assert_eq!(
        dv.properties
            .runtime_endpoints
            .get("microsoft.Flow")
            .map(String::as_str),
        Some("https://emea.api.flow.microsoft.com")
    );
    assert_eq!(dv.properties.capacity.len(), 2);
    assert!(
        dv.properties.extra.contains_key("protectionStatus"),
        "unknown props kept"
    );
    assert!(!dv.is_managed());
    let dev = &page.value[2];
    assert!(
        !dev.has_dataverse(),
        "absent linkedEnvironmentMetadata means no Dataverse"
    );
    assert_eq!(
        dev.properties.used_by.as_ref().unwrap().id.as_deref(),
        Some("aaaaaaaa-0000-0000-0000-000000000002")
    );
    assert_eq!(
        dev.properties
            .states
            .as_ref()
            .unwrap()
            .runtime
            .as_ref()
            .unwrap()
            .id,
        "AdminMode"
    );
}

fn bap_env_managed(raw: &str) {
    let env: Environment = load(raw);
    assert!(env.is_managed());
    let s = env
        .properties
        .governance_configuration
        .as_ref()
        .unwrap()
        .settings
        .as_ref()
        .unwrap();
    assert_eq!(s.extended_settings.len(), 17);
    assert_eq!(s.max_limit_user_sharing(), Some(10));
    assert_eq!(s.is_group_sharing_disabled(), Some(true));
    assert_eq!(
        s.limit_sharing_mode(),
        Some("excludeSharingToSecurityGroups")
    );
    assert_eq!(s.solution_checker_mode(), Some("block"));
    assert_eq!(
        s.get_i64("solutionCloudFlows-maxLimitUserSharing"),
        Some(-1)
    );
    assert_eq!(s.maker_onboarding_markdown(), Some("Welcome, makers."));
}

fn bap_governance_body(raw: &str) {
    let g: GovernanceConfiguration = load(raw);
    assert_eq!(g.protection_level, Some(ProtectionLevel::Standard));
    assert_eq!(
        serde_json::to_value(&g).unwrap(),
        serde_json::from_str::<Value>(raw).unwrap()
    );
}

fn bap_lifecycle(raw: &str) {
    let op: LifecycleOperation = load(raw);
    assert_eq!(op.state(), Some(LifecycleState::Running));
    assert!(!op.state().unwrap().is_terminal());
    assert_eq!(op.stages.len(), 2);
    assert_eq!(op.operation_type.as_ref().unwrap().id, "Update");
    assert!(
        op.links["environment"]
            .path
            .as_deref()
            .unwrap()
            .ends_with("000000000001")
    );
}

fn bap_role_assignments(raw: &str) {
    let page: ListPage<RoleAssignment> = load(raw);
    assert_eq!(page.value.len(), 2);
    assert_eq!(
        page.value[0].properties.role_definition.role_name(),
        "EnvironmentAdmin"
    );
    assert_eq!(
        page.value[1].properties.principal.principal_type,
        Some(PrincipalType::Tenant)
    );
}

fn bap_modify_ra_response(raw: &str) {
    let r: ModifyRoleAssignmentsResponse = load(raw);
    assert_eq!(r.add[0].http_status.as_deref(), Some("Created"));
    let ra = r.add[0].role_assignment.as_ref().unwrap();
    assert_eq!(ra.name.as_deref(), Some("ra-0003"));
    assert!(r.remove.is_empty());
}

fn bap_tenant_info(raw: &str) {
    let t: TenantInfo = load(raw);
    assert_eq!(t.aad_data_boundary.as_deref(), Some("none"));
    assert_eq!(t.fedramp_high_certification_required, Some(false));
}

fn bap_isolation(raw: &str) {
    let p: TenantIsolationPolicy = load(raw);
    assert!(p.is_enabled());
    assert_eq!(p.properties.allowed_tenants.len(), 2);
    assert!(p.properties.allowed_tenants[0].direction.inbound);
    assert!(!p.properties.allowed_tenants[0].direction.outbound);
    assert_eq!(
        serde_json::to_value(&p).unwrap(),
        serde_json::from_str::<Value>(raw).unwrap()
    );
}

/// Read-modify-write: change one known field; every unknown key, at every level, survives.
fn bap_tenant_settings(raw: &str) {
    let original: Value = serde_json::from_str(raw).unwrap();
    let mut s: TenantSettings = load(raw);
    assert_eq!(
        s.disable_environment_creation_by_non_admin_users,
        Some(true)
    );
    assert_eq!(
        s.power_apps().unwrap().disable_share_with_everyone,
        Some(false)
    );
    assert!(s.extra.contains_key("futureTopLevelToggle"));

    // Untouched: identical document.
    assert_eq!(serde_json::to_value(&s).unwrap(), original);

    s.power_apps_mut().disable_share_with_everyone = Some(true);
    s.governance_mut()
        .disable_developer_environment_creation_by_non_admin_users = Some(true);
    let out = serde_json::to_value(&s).unwrap();
    let mut expected = original.clone();
    expected["powerPlatform"]["powerApps"]["disableShareWithEveryone"] = Value::Bool(true);
    expected["powerPlatform"]["governance"]["disableDeveloperEnvironmentCreationByNonAdminUsers"] =
        Value::Bool(true);
    assert_eq!(out, expected);
    // Spot-check the unknown keys explicitly so a failure names them.
    for (path, want) in [
        ("/futureTopLevelToggle/mode", Value::from("preview")),
        (
            "/powerPlatform/powerApps/futurePowerAppsKnob",
            Value::from("unknown-value"),
        ),
        (
            "/powerPlatform/powerAutomate/futureFlowKnob",
            Value::from(7),
        ),
        (
            "/powerPlatform/governance/policy/futurePolicyKnob/2",
            Value::from(3),
        ),
        (
            "/powerPlatform/governance/futureGovernanceKnob",
            Value::Null,
        ),
        (
            "/powerPlatform/futureSection/nested/deep",
            Value::from("kept"),
        ),
        (
            "/powerPlatform/licensing/storageCapacityConsumptionWarningThreshold",
            Value::from(85),
        ),
    ] {
        assert_eq!(out.pointer(path), Some(&want), "{path}");
    }
}

// ---------------- common ----------------

fn common_error_409(raw: &str) {
    let e: ErrorEnvelope = load(raw);
    assert_eq!(e.error.code.as_deref(), Some("OperationNotStartable"));
    assert_eq!(e.error.detail_url_type.as_deref(), Some("NotSpecified"));
}

fn common_error_access_denied(raw: &str) {
    let e: AnyError = load(raw);
    assert_eq!(e.code(), Some("EnvironmentAccessDenied"));
}

fn common_error_bare(raw: &str) {
    let e: AnyError = load(raw);
    assert!(matches!(e, AnyError::Bare(_)));
    assert_eq!(e.code(), Some("PrincipalNotExists"));
}

fn common_error_dataverse(raw: &str) {
    let e: ErrorEnvelope = load(raw);
    assert_eq!(e.error.code.as_deref(), Some("0x80072322"));
}

fn common_error_arg(raw: &str) {
    let e: ErrorEnvelope = load(raw);
    assert_eq!(e.error.details.as_ref().unwrap().len(), 2);
}

// ---------------- dataverse ----------------

fn dv_roles(raw: &str) {
    let page: ListPage<Role> = load(raw);
    assert!(page.next_link().unwrap().contains("$skiptoken"));
    assert!(page.odata_context.is_some());
    assert!(page.value[0].is_system_administrator());
    assert!(!page.value[1].is_system_administrator());
    assert_eq!(page.value[0].etag.as_deref(), Some("W/\"1234567\""));
    assert_eq!(
        page.value[2].iscustomizable.as_ref().unwrap().value,
        Some(true)
    );
    assert_eq!(page.value[2].roletemplateid, None);
}

fn dv_systemusers(raw: &str) {
    let page: ListPage<SystemUser> = load(raw);
    let ann = &page.value[0];
    assert!(ann.is_system_administrator());
    assert!(!ann.is_application_user());
    assert_eq!(ann.domainname.as_deref(), Some("ann@contoso.com"));
    assert!(
        ann.extra
            .contains_key("_businessunitid_value@OData.Community.Display.V1.FormattedValue")
    );
    let app = &page.value[1];
    assert!(app.is_application_user());
    assert_eq!(app.accessmode, Some(4));
}

fn dv_organizations(raw: &str) {
    let page: ListPage<Organization> = load(raw);
    let o = &page.value[0];
    assert_eq!(
        o.organizationid.as_deref(),
        Some("0f0f0f0f-0000-0000-0000-000000000001")
    );
    assert_eq!(o.enablecanvasappsinsolutionsbydefault, Some(false));
    assert_eq!(o.enableflowsinsolutionbydefault, Some(true));
    assert_eq!(o.isauditenabled, Some(true));
    assert_eq!(o.auditretentionperiodv2, Some(-1));
}

fn dv_business_units(raw: &str) {
    let page: ListPage<BusinessUnit> = load(raw);
    assert!(page.value[0].is_root());
    assert!(!page.value[1].is_root());
}

// ---------------- dlp ----------------

fn dlp_v2_list(raw: &str) {
    let page: ListPage<PolicyV2> = load(raw);
    assert_eq!(page.value.len(), 2);
    let p = &page.value[1];
    assert!(p.connector_configurations_definition.is_none());
    assert!(p.policy_definition.connector_groups.is_empty());
    assert_eq!(
        p.policy_definition.environment_type,
        Some(EnvironmentFilterType::OnlyEnvironments)
    );
    assert_eq!(
        p.policy_definition.environments[0].name.as_deref(),
        Some("00000000-0000-0000-0000-000000000001")
    );
}

fn dlp_v2_full(raw: &str) {
    let p: PolicyV2 = load(raw);
    let d = &p.policy_definition;
    assert_eq!(
        d.created_by.as_ref().unwrap().display_name.as_deref(),
        Some("admin")
    );
    assert_eq!(
        d.classification_of("/providers/Microsoft.PowerApps/apis/shared_twitter"),
        Some(&Classification::Blocked)
    );
    assert_eq!(
        d.classification_of("/providers/microsoft.powerapps/apis/SHARED_SQL"),
        Some(&Classification::General)
    );
    let cc = p.connector_configurations_definition.as_ref().unwrap();
    let acts = &cc.connector_action_configurations[0];
    assert_eq!(
        acts.default_connector_action_rule_behavior,
        Some(RuleBehavior::Allow)
    );
    assert_eq!(acts.action_rules[0].behavior, RuleBehavior::Block);
    let rules = &cc.endpoint_configurations[0].endpoint_rules;
    assert_eq!(rules[1].endpoint, "*");
    assert_eq!(rules[1].behavior, RuleBehavior::Deny);
    let url = &p
        .custom_connector_url_patterns_definition
        .as_ref()
        .unwrap()
        .rules;
    assert_eq!(url.last().unwrap().pattern, "*");
    assert_eq!(
        url.last().unwrap().custom_connector_rule_classification,
        Classification::Ignore
    );
    // PATCH sends the full document back: it must round-trip unchanged.
    assert_eq!(
        serde_json::to_value(&p).unwrap(),
        serde_json::from_str::<Value>(raw).unwrap()
    );
}

fn dlp_v2_lowercase(raw: &str) {
    let p: PolicyV2 = load(raw);
    let rule = &p
        .connector_configurations_definition
        .as_ref()
        .unwrap()
        .endpoint_configurations[0]
        .endpoint_rules[0];
    assert_eq!(rule.endpoint, "*");
    let out = serde_json::to_string(&p).unwrap();
    assert!(
        out.contains(r#""endPoint":"*""#) && !out.contains(r#""endpoint""#),
        "{out}"
    );
    assert_eq!(
        p.policy_definition.default_connectors_classification,
        Some(Classification::Blocked)
    );
}

fn dlp_v1(raw: &str) {
    let page: ListPage<PolicyV1> = load(raw);
    assert_eq!(page.value[0].connector_groups.len(), 3);
    assert_eq!(
        page.value[0].environment_type,
        Some(EnvironmentFilterType::AllEnvironments)
    );
}

fn dlp_legacy(raw: &str) {
    let p: ApiPolicy = load(raw);
    let d = &p.properties.definition;
    assert_eq!(
        d.environment_type(),
        EnvironmentFilterType::ExceptEnvironments
    );
    assert_eq!(
        d.environment_filter()
            .unwrap()
            .parameters
            .environments
            .len(),
        1
    );
    assert_eq!(
        d.api_groups["hbi"].apis[0].name.as_deref(),
        Some("SharePoint")
    );
    assert_eq!(
        d.rules["dataFlowRule"].rule_type.as_deref(),
        Some("DataFlowRestriction")
    );
    assert!(d.schema.as_deref().unwrap().contains("2016-10-01-preview"));
}

fn dlp_unblockable(raw: &str) {
    let v: Vec<ConnectorMetadataEntry> = load(raw);
    assert_eq!(
        v.iter()
            .filter(|e| e.metadata.unblockable == Some(true))
            .count(),
        2
    );
}

fn dlp_virtual(raw: &str) {
    let v: Vec<ConnectorMetadataEntry> = load(raw);
    assert_eq!(v[0].id, "Http");
    assert_eq!(v[0].metadata.virtual_connector, Some(true));
    assert_eq!(
        v[1].metadata.display_name.as_deref(),
        Some("When a HTTP request is received")
    );
}

// ---------------- entra ----------------

fn entra_token(raw: &str) {
    let t: TokenResponse = load(raw);
    assert_eq!(t.expires_in, Some(3599));
    assert!(t.refresh_token.is_none());
    assert!(
        !format!("{t:?}").contains("eyJ"),
        "Debug must redact the token"
    );
}

fn entra_token_delegated(raw: &str) {
    let t: TokenResponse = load(raw);
    assert!(t.scope.as_deref().unwrap().contains("user_impersonation"));
    assert!(t.refresh_token.is_some() && t.id_token.is_some());
    let dbg = format!("{t:?}");
    assert!(!dbg.contains("0.AXEA") && !dbg.contains("eyJ"), "{dbg}");
}

fn entra_token_error(raw: &str) {
    let e: TokenError = load(raw);
    assert_eq!(e.aadsts_code(), Some(7000215));
    assert!(e.error_uri.is_some());
    assert_eq!(
        e.device_poll(),
        DevicePollError::Other("invalid_client".into())
    );
}

fn entra_token_pending(raw: &str) {
    let e: TokenError = load(raw);
    assert_eq!(e.device_poll(), DevicePollError::Pending);
    assert_eq!(e.aadsts_code(), Some(70016));
}

fn entra_device_code(raw: &str) {
    let d: DeviceCodeResponse = load(raw);
    assert_eq!(d.interval, Some(5));
    assert_eq!(d.user_code, "F7KX9QWRT");
    assert!(!format!("{d:?}").contains("DEVICECODE"));
}

// ---------------- flow ----------------

fn flow_list(raw: &str) {
    let page: ListPage<Flow> = load(raw);
    assert!(page.next_link().unwrap().contains("skiptoken"));
    let f = &page.value[0];
    assert_eq!(f.properties.state, Some(FlowState::Started));
    assert_eq!(f.connector_names(), vec!["shared_sharepointonline"]);
    assert_eq!(
        f.triggers()[0].swagger_operation_id.as_deref(),
        Some("GetOnUpdatedItems")
    );
    assert!(f.actions().iter().any(|a| a.is_http()));
    assert_eq!(
        f.properties.creator.as_ref().unwrap().user_type.as_deref(),
        Some("ActiveDirectory")
    );
    assert!(f.properties.definition.is_none());
    let g = &page.value[1];
    assert_eq!(g.properties.state, Some(FlowState::Suspended));
    assert!(g.triggers()[0].is_http(), "Request/Http trigger");
    assert_eq!(
        g.properties.connection_references["shared_office365"]
            .source
            .as_deref(),
        Some("Embedded")
    );
}

fn flow_get(raw: &str) {
    let f: Flow = load(raw);
    let def = f.properties.definition.as_ref().unwrap();
    assert_eq!(
        def.pointer("/actions/Condition/actions/HTTP/inputs/uri")
            .and_then(Value::as_str),
        Some("https://hooks.example.net/invoice")
    );
    assert!(f.properties.flow_trigger_uri.is_some());
    assert!(f.properties.extra.contains_key("installationStatus"));
}

fn flow_permissions(raw: &str) {
    let page: ListPage<FlowPermission> = load(raw);
    assert_eq!(
        page.value[0].properties.role_name,
        Some(PermissionRole::Owner)
    );
    assert_eq!(
        page.value[1].properties.principal.principal_type,
        Some(PrincipalType::Group)
    );
    assert_eq!(
        page.value[1].properties.permission_type.as_deref(),
        Some("Principal")
    );
}

fn flow_runs(raw: &str) {
    let page: ListPage<FlowRun> = load(raw);
    let r = &page.value[0];
    assert_eq!(r.properties.status, Some(RunStatus::Failed));
    assert_eq!(
        r.properties.trigger.as_ref().unwrap().code.as_deref(),
        Some("OK")
    );
    assert!(r.properties.error.is_some());
    assert_eq!(page.value[2].properties.end_time, None);
}

// ---------------- graph ----------------

fn graph_user(raw: &str) {
    let u: User = load(raw);
    assert_eq!(u.user_principal_name.as_deref(), Some("ann@contoso.com"));
    assert_eq!(u.account_enabled, Some(true));
    assert!(!u.is_guest());
}

fn graph_guest(raw: &str) {
    let u: User = load(raw);
    assert!(u.is_guest());
}

fn graph_404(raw: &str) {
    let e: ErrorEnvelope = load(raw);
    assert_eq!(e.error.code.as_deref(), Some("Request_ResourceNotFound"));
    assert!(
        e.error
            .inner_error
            .as_ref()
            .unwrap()
            .get("request-id")
            .is_some()
    );
}

fn graph_group(raw: &str) {
    let g: Group = load(raw);
    assert_eq!(g.security_enabled, Some(true));
    assert_eq!(g.group_types, vec!["Unified"]);
}

/// `directoryObjects/getByIds`: each object says what it is; users carry the default subset
/// (no `accountEnabled`).
fn graph_get_by_ids(raw: &str) {
    let page: ListPage<DirectoryObject> = load(raw);
    let kinds: Vec<_> = page.value.iter().map(|m| m.kind().unwrap()).collect();
    assert_eq!(kinds, vec!["user", "group", "servicePrincipal"]);
    assert!(!page.value[0].extra.contains_key("accountEnabled"));
    assert!(page.next_link().is_none());
}

fn graph_members(raw: &str) {
    let page: ListPage<DirectoryObject> = load(raw);
    let kinds: Vec<_> = page.value.iter().map(|m| m.kind().unwrap()).collect();
    assert_eq!(kinds, vec!["user", "group", "servicePrincipal"]);
    assert!(page.next_link().is_some());
}

fn graph_batch_request(raw: &str) {
    roundtrip_exact::<BatchRequest>(raw);
    let b: BatchRequest = load(raw);
    assert!(BatchRequest::new(b.requests).is_ok());
}

fn graph_batch_response(raw: &str) {
    let b: BatchResponse = load(raw);
    let ok = b.get("1").unwrap();
    assert_eq!(ok.status, 200);
    assert_eq!(
        ok.body_as::<User>().unwrap().display_name.as_deref(),
        Some("Ann Admin")
    );
    let nf = b.get("2").unwrap();
    assert_eq!(
        nf.body_as::<ErrorEnvelope>().unwrap().error.code.as_deref(),
        Some("Request_ResourceNotFound")
    );
    let thr = b.get("3").unwrap();
    assert_eq!(thr.status, 429);
    assert_eq!(thr.retry_after_secs(), Some(3));
    assert!(thr.body.is_none());
}

// ---------------- management ----------------

fn mgmt_subscriptions(raw: &str) {
    let v: Vec<Subscription> = load(raw);
    assert!(v[0].is_enabled());
    assert!(v[0].webhook.is_none());
    assert_eq!(
        v[1].webhook.as_ref().unwrap().auth_id.as_deref(),
        Some("o365activityapinotification")
    );
}

fn mgmt_start(raw: &str) {
    let s: Subscription = load(raw);
    assert_eq!(s.content_type, "Audit.General");
}

fn mgmt_content(raw: &str) {
    let v: Vec<ContentBlob> = load(raw);
    assert_eq!(v.len(), 2);
    assert!(v[0].content_uri.ends_with(&v[0].content_id));
    assert!(v[0].content_created.as_deref().unwrap().ends_with('Z'));
}

fn mgmt_error_af429(raw: &str) {
    let e: ManagementError = load(raw);
    assert!(is_throttled(&e));
}

fn mgmt_error_af20022(raw: &str) {
    let e: ManagementError = load(raw);
    assert!(!is_throttled(&e));
    assert_eq!(e.error.code.as_deref(), Some("AF20022"));
}

fn mgmt_audit_blob(raw: &str) {
    let recs: Vec<AuditRecord> = load(raw);
    let types: Vec<_> = recs.iter().map(|r| r.record_type.unwrap()).collect();
    assert_eq!(types, vec![30, 30, 256, 256, 45, 79, 187, 21, 8]);
    for r in &recs {
        assert!(r.creation_time_utc().is_ok(), "{:?}", r.creation_time);
    }
    assert_eq!(
        recs[0].creation_time_utc().unwrap().to_rfc3339(),
        "2026-03-04T10:15:22+00:00"
    );

    let RecordDetails::Flow(f) = recs[0].details().unwrap() else {
        panic!("rt30")
    };
    assert_eq!(
        f.environment_id(),
        Some("Default-11111111-1111-1111-1111-111111111111")
    );
    assert_eq!(f.flow_id(), Some("00000000-0000-0000-0000-0000000000f1"));
    assert_eq!(
        f.connector_names(),
        vec!["Office 365 Outlook", "SharePoint", "HTTP"]
    );
    assert_eq!(f.user_upn.as_deref(), Some("ann@contoso.com"));
    let RecordDetails::Flow(s) = recs[1].details().unwrap() else {
        panic!("rt30 share")
    };
    assert_eq!(s.recipient_upn.as_deref(), Some("eve@fabrikam.com"));
    assert_eq!(s.sharing_permission.as_deref(), Some("3"));
    assert_eq!(s.user_type_initiated, Some(2), "typo spelling accepted");

    let RecordDetails::PowerPlatformAdmin(p) = recs[2].details().unwrap() else {
        panic!("rt256")
    };
    assert_eq!(p.activity_name().as_deref(), Some("LaunchPowerApp"));
    assert_eq!(
        p.property("enduser.ip_address").as_deref(),
        Some("::ffff:203.0.113.7")
    );
    assert_eq!(p.property("ENDUSER.ROLE").as_deref(), Some("Admin"));
    assert_eq!(p.property("nope"), None);
    assert_eq!(
        p.environment_id.as_deref(),
        Some("default-11111111-1111-1111-1111-111111111111")
    );
    let RecordDetails::PowerPlatformAdmin(d) = recs[3].details().unwrap() else {
        panic!("rt256")
    };
    assert_eq!(
        d.property("powerplatform.analytics.resource.tenant.governance.api_policy.operation_name")
            .as_deref(),
        Some("DeleteDlpPolicy")
    );

    let RecordDetails::PowerApps(a) = recs[4].details().unwrap() else {
        panic!("rt45")
    };
    assert_eq!(
        a.app_name.as_deref(),
        Some("00000000-0000-0000-0000-0000000000a2")
    );
    let RecordDetails::Connector(c) = recs[5].details().unwrap() else {
        panic!("rt79")
    };
    assert_eq!(
        c.additional_info_json().unwrap().unwrap()["ActionName"],
        Value::from("PutConnection")
    );
    let RecordDetails::Dlp(dlp) = recs[6].details().unwrap() else {
        panic!("rt187")
    };
    let info = dlp.info().unwrap().unwrap();
    assert_eq!(info.policy_type.as_deref(), Some("AllEnvironments"));
    let cs = info.change_set.unwrap();
    assert_eq!(
        cs.connector_changes[0].id.as_deref(),
        Some("/providers/Microsoft.PowerApps/apis/shared_azureblob")
    );
    assert_eq!(
        cs.changed_properties[0].name.as_deref(),
        Some("DefaultConnectorClassification")
    );

    let RecordDetails::Crm(crm) = recs[7].details().unwrap() else {
        panic!("rt21")
    };
    assert_eq!(crm.message.as_deref(), Some("Associate"));
    assert_eq!(crm.entity_name.as_deref(), Some("systemuser"));
    assert_eq!(crm.query_result_count(), 2);

    assert_eq!(recs[8].client_ip, None, "Entra records carry ClientIP null");
    let RecordDetails::AzureActiveDirectory(aad) = recs[8].details().unwrap() else {
        panic!("rt8")
    };
    assert_eq!(
        aad.modified_property("ConsentContext.IsAdminConsent")
            .unwrap()
            .new_value
            .as_deref(),
        Some("False")
    );
    assert_eq!(aad.target[1].id.as_deref(), Some("Mail Helper"));
    assert_eq!(aad.target[1].target_type, Some(1));
}

// ---------------- powerapps ----------------

fn pa_apps(raw: &str) {
    let page: ListPage<App> = load(raw);
    assert!(page.next_link().unwrap().contains("%24skiptoken="));
    let a = &page.value[0];
    assert_eq!(a.properties.bypass_consent, Some(true));
    assert_eq!(
        a.connector_names(),
        vec!["shared_sharepointonline", "shared_sql"]
    );
    let r = &a.properties.connection_references["c7b1f5e2-0000-0000-0000-000000000001"];
    assert!(
        r.id.as_deref()
            .unwrap()
            .starts_with("/providers/microsoft.powerapps/")
    );
    assert_eq!(r.data_sources, vec!["Tasks"]);
    assert_eq!(a.properties.shared_users_count, Some(12));
    assert_eq!(
        a.properties.owner.as_ref().unwrap().email.as_deref(),
        Some("ann@contoso.com")
    );
    assert!(page.value[1].properties.bypass_consent.is_none());
    assert!(page.value[1].properties.connection_references.is_empty());
}

fn pa_app_permissions(raw: &str) {
    let page: ListPage<AppPermission> = load(raw);
    assert_eq!(
        page.value[0].properties.role_name,
        Some(PermissionRole::Owner)
    );
    let tenant = &page.value[2].properties;
    assert_eq!(tenant.principal.principal_type, Some(PrincipalType::Tenant));
    assert_eq!(tenant.role_name, Some(PermissionRole::CanView));
}

fn pa_connections(raw: &str) {
    let page: ListPage<Connection> = load(raw);
    let ok = &page.value[0];
    assert_eq!(ok.connector_name(), Some("shared_commondataserviceforapps"));
    assert!(ok.error_status().is_none());
    assert_eq!(
        ok.properties.connection_parameters.as_ref().unwrap()["sku"],
        "Enterprise"
    );
    assert_eq!(
        ok.properties.permissions[0].properties.role_name,
        Some(PermissionRole::Owner)
    );
    let bad = &page.value[1];
    let err = bad.error_status().unwrap();
    assert_eq!(
        err.error.as_ref().unwrap().code.as_deref(),
        Some("Unauthenticated")
    );
    assert_eq!(err.target.as_deref(), Some("token"));
    assert_eq!(
        bad.properties
            .connection_parameters_set
            .as_ref()
            .unwrap()
            .name
            .as_deref(),
        Some("firstParty")
    );
    assert!(bad.properties.last_connected_time.is_some());
    assert!(ok.properties.last_connected_time.is_none());
}

fn pa_connectors(raw: &str) {
    let page: ListPage<Connector> = load(raw);
    assert_eq!(page.next_link(), None);
    assert_eq!(page.value[1].properties.is_custom_api, Some(true));
}

// ---------------- ppapi ----------------

fn ppapi_admin_role(raw: &str) {
    let r: ApplyAdminRoleResponse = load(raw);
    assert!(r.succeeded());
    let lines = r.information[0].description_lines().unwrap();
    assert_eq!(lines.len(), 5);
    assert_eq!(lines[3], "User found in AD tenant");
}

fn ppapi_query_request(raw: &str) {
    roundtrip_exact::<QueryRequest>(raw);
    let q: QueryRequest = load(raw);
    assert_eq!(q.clauses.len(), 8);
    let Clause::Join { right_table, .. } = &q.clauses[1] else {
        panic!("join")
    };
    assert_eq!(right_table.clauses.len(), 2);
    let Clause::OrderBy {
        field_names_asc_desc,
    } = &q.clauses[3]
    else {
        panic!("orderby")
    };
    assert_eq!(
        field_names_asc_desc.keys().next().map(String::as_str),
        Some("tostring(properties.createdAt)")
    );
    assert_eq!(q.clauses[7], Clause::Count);
}

fn ppapi_query_response(raw: &str) {
    let r: QueryResult = load(raw);
    assert_eq!(r.total_records, Some(2345));
    assert_eq!(r.result_truncated, Some(ResultTruncated::NotTruncated));
    assert!(r.next_token().is_some());
    let app = &r.data[0];
    let p = app.properties.as_ref().unwrap();
    assert_eq!(
        p.owner_id.as_ref().and_then(OwnerRef::id),
        Some("aaaaaaaa-0000-0000-0000-000000000001")
    );
    assert!(p.extra.contains_key("powerPlatformConnectors"));
    assert_eq!(app.extra["environmentName"], "Contoso (default)");
    let flow = r.data[1].properties.as_ref().unwrap();
    assert_eq!(
        flow.created_by.as_ref().and_then(OwnerRef::id),
        Some("aaaaaaaa-0000-0000-0000-000000000002")
    );
    assert_eq!(flow.last_modified_by.as_ref().and_then(OwnerRef::id), None);
    assert_eq!(flow.extra["status"], "Suspended");
}

fn ppapi_query_last_page(raw: &str) {
    let r: QueryResult = load(raw);
    assert_eq!(r.result_truncated, Some(ResultTruncated::NotTruncated));
    assert_eq!(r.next_token(), None);
    assert!(r.data[1].properties.is_none());
    assert_eq!(r.data[1].extra["Count"], 42);
}
