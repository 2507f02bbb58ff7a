//! Integration tests for the inventory, PPAPI, Dataverse, Graph and Management Activity families,
//! over real HTTP on 127.0.0.1:0 against a small hand-built tenant.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::BTreeSet;
use std::sync::Arc;

use chrono::{Duration, Utc};
use ppgov_emulator::server::auth::{AUD_FLOW, AUD_GRAPH, AUD_MANAGEMENT, AUD_PPAPI, issue_token};
use ppgov_emulator::server::{ContentFn, Emulator, ServeOptions};
use ppgov_emulator::tenant::{AppRecord, DataverseData, EnvContent, FlowRecord, RunPlan, Tenant};
use reqwest::StatusCode;
use serde_json::{Value, json};

const TID: &str = "11111111-1111-1111-1111-111111111111";
const ADMIN_APP: &str = "aaaaaaaa-0000-0000-0000-000000000001";
const PLAIN_APP: &str = "aaaaaaaa-0000-0000-0000-000000000002";
const ENV0: &str = "Default-11111111-1111-1111-1111-111111111111";
const ENV1: &str = "22222222-2222-2222-2222-222222222222";
const U_ADMIN: &str = "00000000-0000-4000-8000-00000000000a";
const U_PLAIN: &str = "00000000-0000-4000-8000-00000000000b";
const U_GONE: &str = "00000000-0000-4000-8000-00000000000c";
const SYSADMIN: &str = "627090ff-40a3-4053-8790-584edc5be201";
const ROOT_BU: &str = "b0000000-0000-4000-8000-000000000001";
const ROOT_ROLE: &str = "c0000000-0000-4000-8000-000000000001";
const APPS0: usize = 30;
const FLOWS0: usize = 20;
const APPS1: usize = 7;
const FLOWS1: usize = 3;
const SYSTEM_USERS: usize = 12;
const AUDIT_RECORDS: usize = 230;

fn app(id: &str, roles: &[&str]) -> Value {
    json!({"client_id": id, "object_id": format!("{}-sp", &id[..8]), "display_name": id, "secrets": ["s3cret"],
           "certificates": [], "public_client": true, "admin_consent": true, "management_app": true, "app_roles": roles})
}

fn user(id: &str, upn: &str, deleted: bool, roles: &[&str]) -> Value {
    json!({"id": id, "upn": upn, "display_name": upn, "mail": upn, "enabled": true, "deleted": deleted, "guest": false,
           "invited": null, "password": "P@ss", "sign_in": "normal", "admin_roles": roles})
}

fn env_doc(name: &str, domain: Option<&str>) -> Value {
    let linked = domain.map_or(
        Value::Null,
        |d| json!({"domainName": d, "instanceUrl": format!("http://x/dataverse/{d}/")}),
    );
    json!({"id": format!("/providers/Microsoft.BusinessAppPlatform/scopes/admin/environments/{name}"),
           "type": "Microsoft.BusinessAppPlatform/scopes/environments", "location": "europe", "name": name,
           "properties": {"tenantId": TID, "displayName": format!("Env {name}"), "environmentSku": "Production",
                          "createdTime": "2025-01-01T00:00:00Z", "createdBy": {"id": U_ADMIN},
                          "linkedEnvironmentMetadata": linked,
                          "governanceConfiguration": {"protectionLevel": if domain.is_some() { "Standard" } else { "Basic" }}}})
}

fn tenant() -> Tenant {
    let now = Utc::now();
    let audit: Vec<Value> = (0..AUDIT_RECORDS)
        .map(|i| {
            // Spread over the last 20 hours (well inside the default 24-hour window); the last one
            // repeats the first record's Id, as the real feed may.
            let available = now - Duration::minutes(60 + (i as i64) * 5);
            let id = if i == AUDIT_RECORDS - 1 { "rec-0".to_string() } else { format!("rec-{i}") };
            json!({"available": available, "record": {"Id": id, "RecordType": 30, "Operation": "EditFlow",
                   "CreationTime": (available - Duration::minutes(30)).format("%Y-%m-%dT%H:%M:%S").to_string(),
                   "OrganizationId": TID, "UserType": 0, "UserKey": U_ADMIN, "Workload": "MicrosoftFlow"}})
        })
        .collect();
    serde_json::from_value(json!({
        "tenant_id": TID, "domain": "contoso-1.example", "now": now, "seed": 1, "size": "small",
        "well_known": {"client_id": ADMIN_APP, "client_secret": "s3cret", "username": "admin@contoso-1.example", "password": "P@ss"},
        "directory": {
            "users": [user(U_ADMIN, "admin@contoso-1.example", false, &["Power Platform Administrator"]),
                      user(U_PLAIN, "plain@contoso-1.example", false, &[]),
                      user(U_GONE, "gone@contoso-1.example", true, &[])],
            "groups": [{"id": "g-outer", "display_name": "Outer", "security_enabled": true, "members": [U_ADMIN, "g-inner"]},
                       {"id": "g-inner", "display_name": "Inner", "security_enabled": true, "members": [U_PLAIN, U_GONE]}],
            "apps": [app(ADMIN_APP, &["ActivityFeed.Read", "User.Read.All", "Group.Read.All"]), app(PLAIN_APP, &[])]},
        "tenant_settings": {}, "tenant_isolation": null, "tenant_info": {"tenantId": TID},
        "dlp_policies": [], "unblockable_connectors": {"value": []}, "virtual_connectors": {"value": []},
        "environments": [
            {"index": 0, "name": ENV0, "doc": env_doc(ENV0, Some("org0")), "has_dataverse": true, "apps": APPS0, "flows": FLOWS0, "connections": 0},
            {"index": 1, "name": ENV1, "doc": env_doc(ENV1, None), "has_dataverse": false, "apps": APPS1, "flows": FLOWS1, "connections": 0}],
        "audit": audit,
        "ground_truth": {"findings": [], "detections": []}
    }))
    .unwrap()
}

fn dataverse() -> DataverseData {
    let users = (0..SYSTEM_USERS)
        .map(|i| json!({"systemuserid": format!("d0000000-0000-4000-8000-{i:012}"), "domainname": format!("u{i}@contoso-1.example"),
                        "azureactivedirectoryobjectid": format!("e0000000-0000-4000-8000-{i:012}"), "fullname": format!("User {i}"),
                        "isdisabled": false, "accessmode": 0, "_businessunitid_value": ROOT_BU}))
        .collect();
    DataverseData {
        organization: json!({"organizationid": "f0000000-0000-4000-8000-000000000001", "name": "org0", "enableflowsinsolutionbydefault": false}),
        business_units: vec![
            json!({"businessunitid": ROOT_BU, "name": "org0", "_parentbusinessunitid_value": null}),
            json!({"businessunitid": "b0000000-0000-4000-8000-000000000002", "name": "Division", "_parentbusinessunitid_value": ROOT_BU}),
        ],
        roles: vec![
            json!({"roleid": ROOT_ROLE, "name": "System Administrator", "_roletemplateid_value": SYSADMIN, "_businessunitid_value": ROOT_BU}),
            json!({"roleid": "c0000000-0000-4000-8000-000000000002", "name": "System Administrator", "_roletemplateid_value": SYSADMIN,
                   "_businessunitid_value": "b0000000-0000-4000-8000-000000000002"}),
        ],
        system_users: users,
        user_roles: vec![(
            "d0000000-0000-4000-8000-000000000000".into(),
            ROOT_ROLE.into(),
        )],
        ..DataverseData::default()
    }
}

fn content(index: usize) -> EnvContent {
    let env = if index == 0 { ENV0 } else { ENV1 };
    let (apps, flows) = if index == 0 {
        (APPS0, FLOWS0)
    } else {
        (APPS1, FLOWS1)
    };
    EnvContent {
        apps: (0..apps)
            .map(|i| AppRecord {
                doc: json!({"name": format!("app-{index}-{i:02}"), "properties": {"displayName": format!("App {index}/{i}"),
                    "createdTime": format!("2026-01-{:02}T00:00:00Z", i % 28 + 1), "owner": {"id": U_ADMIN}, "createdBy": {"id": U_ADMIN},
                    "environment": {"name": env}, "sharedUsersCount": i,
                    "connectionReferences": {"x": {"id": "/providers/Microsoft.PowerApps/apis/shared_office365users"}}}}),
                permissions: vec![],
            })
            .collect(),
        flows: (0..flows)
            .map(|i| FlowRecord {
                doc: json!({"name": format!("flow-{index}-{i:02}"), "properties": {"displayName": format!("Flow {i}"), "state": "Started",
                    "createdTime": "2026-02-01T00:00:00Z", "creator": {"objectId": U_PLAIN},
                    "connectionReferences": {"shared_sharepointonline": {"id": "/providers/Microsoft.PowerApps/apis/shared_sharepointonline"}},
                    "definitionSummary": {"triggers": [{"type": "Recurrence"}]}}}),
                definition: Value::Null,
                permissions: vec![],
                runs: RunPlan::default(),
            })
            .collect(),
        dataverse: (index == 0).then(dataverse),
        ..EnvContent::default()
    }
}

async fn start(opts: ServeOptions) -> Emulator {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let f: ContentFn = Arc::new(|_t: &Tenant, i: usize| content(i));
    Emulator::start_with_tenant(listener, tenant(), f, opts)
        .await
        .unwrap()
}

fn user_token(emu: &Emulator, aud: &str, oid: &str, upn: &str) -> String {
    issue_token(
        emu.state(),
        aud,
        oid,
        "pub-client",
        Some((upn, "user_impersonation")),
        None,
    )
    .unwrap()
    .0
}

fn app_token(emu: &Emulator, aud: &str, client: &str, roles: &[&str]) -> String {
    let roles = roles.iter().map(|r| (*r).to_string()).collect();
    issue_token(
        emu.state(),
        aud,
        &format!("{}-sp", &client[..8]),
        client,
        None,
        Some(roles),
    )
    .unwrap()
    .0
}

fn set_rate_limit(emu: &Emulator, rate: Option<f64>) {
    ppgov_emulator::server::state::write(&emu.state().behaviour).rate_limit = rate;
}

// ---------------------------------------------------------------- inventory

async fn inventory(emu: &Emulator, token: &str, body: &Value) -> (StatusCode, Value) {
    let url = format!(
        "{}/resourcequery/resources/query?api-version=2024-10-01",
        emu.ready().url
    );
    let r = reqwest::Client::new()
        .post(url)
        .bearer_auth(token)
        .json(body)
        .send()
        .await
        .unwrap();
    let status = r.status();
    (status, r.json().await.unwrap_or(Value::Null))
}

#[tokio::test]
async fn inventory_shows_writes_at_the_next_query() {
    let emu = start(ServeOptions::default()).await;
    let tok = user_token(&emu, AUD_PPAPI, U_ADMIN, "admin@contoso-1.example");
    let body = json!({
        "TableName": "PowerPlatformResources",
        "Clauses": [
            {"$type": "where", "FieldName": "type", "Operator": "==", "Values": ["'microsoft.powerautomate/cloudflows'"]},
            {"$type": "orderby", "FieldNamesAscDesc": {"name": "asc"}}
        ],
        "Options": {"Top": 1000}
    });
    let names = |v: &Value| -> BTreeSet<String> {
        v["data"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["name"].as_str().unwrap().to_string())
            .collect()
    };
    let (s, before) = inventory(&emu, &tok, &body).await;
    assert_eq!(s, StatusCode::OK, "{before}");
    let before = names(&before);
    assert_eq!(before.len(), FLOWS0 + FLOWS1);
    let gone = before.iter().next().unwrap().clone();

    let flow_tok = user_token(&emu, AUD_FLOW, U_ADMIN, "admin@contoso-1.example");
    let r = reqwest::Client::new()
        .delete(format!(
            "{}/providers/Microsoft.ProcessSimple/scopes/admin/environments/{ENV0}/flows/{gone}",
            emu.ready().url
        ))
        .bearer_auth(&flow_tok)
        .send()
        .await
        .unwrap();
    assert!(r.status().is_success(), "{}", r.status());

    let (_, after) = inventory(&emu, &tok, &body).await;
    let after = names(&after);
    assert_eq!(after.len(), before.len() - 1);
    assert!(!after.contains(&gone));
}

#[tokio::test]
async fn inventory_clauses_paging_and_refusals() {
    let emu = start(ServeOptions::default()).await;
    let tok = user_token(&emu, AUD_PPAPI, U_ADMIN, "admin@contoso-1.example");

    // Every canvas app, a page of 10 at a time, each exactly once.
    let clauses = json!([
        {"$type": "where", "FieldName": "type", "Operator": "in~", "Values": ["'Microsoft.PowerApps/canvasApps'"]},
        {"$type": "project", "FieldList": ["name", "properties.displayName", "env = tolower(tostring(properties.environmentId))"]},
        {"$type": "orderby", "FieldNamesAscDesc": {"name": "asc"}}
    ]);
    let mut seen = Vec::new();
    let mut token: Option<String> = None;
    loop {
        let mut options = json!({"Top": 10});
        if let Some(t) = &token {
            options["SkipToken"] = json!(t);
        }
        let (s, page) = inventory(
            &emu,
            &tok,
            &json!({"TableName": "PowerPlatformResources", "Clauses": clauses, "Options": options}),
        )
        .await;
        assert_eq!(s, StatusCode::OK, "{page}");
        assert_eq!(page["totalRecords"], APPS0 + APPS1);
        assert_eq!(page["resultTruncated"], 1);
        let data = page["data"].as_array().unwrap();
        assert_eq!(page["count"], data.len());
        for row in data {
            assert!(row.get("properties_displayName").is_some());
            assert!(
                row.get("type").is_none(),
                "project keeps only projected columns"
            );
            seen.push(row["name"].as_str().unwrap().to_string());
        }
        match page.get("skipToken").and_then(Value::as_str) {
            Some(t) => token = Some(t.to_string()),
            None => break,
        }
    }
    let unique: BTreeSet<_> = seen.iter().cloned().collect();
    assert_eq!(seen.len(), APPS0 + APPS1);
    assert_eq!(unique.len(), seen.len());
    let mut sorted = seen.clone();
    sorted.sort();
    assert_eq!(seen, sorted);

    // Flows: connectors without the shared_ prefix, owner = creator.
    let (s, page) = inventory(&emu, &tok, &json!({"TableName": "PowerPlatformResources", "Clauses": [
        {"$type": "where", "FieldName": "type", "Operator": "==", "Values": ["'microsoft.powerautomate/cloudflows'"]},
        {"$type": "take", "TakeCount": 2}]})).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(page["resultTruncated"], 0);
    assert!(page.get("skipToken").is_none());
    assert_eq!(page["count"], 2);
    let flow = &page["data"][0];
    assert_eq!(flow["properties"]["ownerId"], U_PLAIN);
    assert_eq!(
        flow["properties"]["powerPlatformConnectors"][0]["connectorId"],
        "sharepointonline"
    );
    assert!(
        flow["id"]
            .as_str()
            .unwrap()
            .contains("/providers/Microsoft.PowerAutomate/cloudFlows/")
    );

    // count and summarize.
    let (_, page) = inventory(
        &emu,
        &tok,
        &json!({"TableName": "PowerPlatformResources", "Clauses": [{"$type": "count"}]}),
    )
    .await;
    assert_eq!(
        page["data"][0]["Count"],
        2 + APPS0 + APPS1 + FLOWS0 + FLOWS1
    );
    let (_, page) = inventory(&emu, &tok, &json!({"TableName": "PowerPlatformResources", "Clauses": [
        {"$type": "summarize", "SummarizeClauseExpression": {"OperatorName": "count", "OperatorFieldName": "n", "FieldList": ["type"]}}]})).await;
    let counts: BTreeSet<(String, u64)> = page["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["type"].as_str().unwrap().to_string(),
                r["n"].as_u64().unwrap(),
            )
        })
        .collect();
    assert!(counts.contains(&("microsoft.powerplatform/environments".to_string(), 2)));
    assert!(counts.contains(&(
        "microsoft.powerapps/canvasapps".to_string(),
        (APPS0 + APPS1) as u64
    )));
    // Environments: managed flag and type.
    let (_, page) = inventory(&emu, &tok, &json!({"TableName": "PowerPlatformResources", "Clauses": [
        {"$type": "where", "FieldName": "properties.isManaged", "Operator": "==", "Values": ["true"]}]})).await;
    assert_eq!(page["totalRecords"], 1);
    assert_eq!(page["data"][0]["name"], ENV0);

    // Refusals: late $type, unknown clause, bare token, missing api-version, app-only token.
    let (s, body) = inventory(&emu, &tok, &json!({"TableName": "PowerPlatformResources", "Clauses": [{"TakeCount": 1, "$type": "take"}]})).await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    assert!(body.to_string().contains("KQLOM format is wrong"), "{body}");
    let (s, _) = inventory(
        &emu,
        &tok,
        &json!({"TableName": "PowerPlatformResources", "Clauses": [{"$type": "mv-expand"}]}),
    )
    .await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    let (s, body) = inventory(&emu, &tok, &json!({"TableName": "PowerPlatformResources", "Clauses": [
        {"$type": "where", "FieldName": "properties.status", "Operator": "==", "Values": ["Activated"]}]})).await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    assert!(
        body.to_string().contains("Operator_FailedToResolveEntity"),
        "{body}"
    );
    let r = reqwest::Client::new()
        .post(format!("{}/resourcequery/resources/query", emu.ready().url))
        .bearer_auth(&tok)
        .json(&json!({"TableName": "PowerPlatformResources", "Clauses": []}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    let app = app_token(&emu, AUD_PPAPI, ADMIN_APP, &[]);
    let (s, _) = inventory(
        &emu,
        &app,
        &json!({"TableName": "PowerPlatformResources", "Clauses": []}),
    )
    .await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    emu.shutdown().await.unwrap();
}

// ---------------------------------------------------------------- PPAPI + Dataverse

fn dv(emu: &Emulator, tail: &str) -> String {
    format!("{}/dataverse/org0/api/data/v9.2/{tail}", emu.ready().url)
}

#[tokio::test]
async fn apply_admin_role_then_dataverse_shows_the_role() {
    let emu = start(ServeOptions::default()).await;
    let c = reqwest::Client::new();
    let url = format!(
        "{}/usermanagement/environments/{ENV0}/user/applyAdminRole?api-version=2022-03-01-preview",
        emu.ready().url
    );

    let plain = user_token(&emu, AUD_PPAPI, U_PLAIN, "plain@contoso-1.example");
    let r = c.post(&url).bearer_auth(&plain).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    assert!(
        r.text()
            .await
            .unwrap()
            .contains("Unable to assign System Administrator security role")
    );

    let admin = user_token(&emu, AUD_PPAPI, U_ADMIN, "admin@contoso-1.example");
    let r = c.post(&url).bearer_auth(&admin).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["errors"], json!([]));
    let info = &body["information"][0];
    assert_eq!(info["Subject"], "Result");
    assert_eq!(info["Code"], "UserExists");
    let lines: Vec<String> = serde_json::from_str(info["Description"].as_str().unwrap()).unwrap();
    assert_eq!(lines[0], "SyncMode: Default");

    let dvt = user_token(&emu, &emu.ready().url, U_ADMIN, "admin@contoso-1.example");
    let q = format!(
        "systemusers?$filter=azureactivedirectoryobjectid eq {U_ADMIN}&$expand=systemuserroles_association($select=roleid,_roletemplateid_value)"
    );
    let body: Value = c
        .get(dv(&emu, &q))
        .bearer_auth(&dvt)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let rows = body["value"].as_array().unwrap();
    assert_eq!(rows.len(), 1, "{body}");
    let roles = rows[0]["systemuserroles_association"].as_array().unwrap();
    assert!(
        roles
            .iter()
            .any(|r| r["roleid"] == ROOT_ROLE && r["_roletemplateid_value"] == SYSADMIN)
    );

    let q = format!(
        "systemusers?$select=azureactivedirectoryobjectid&$filter=systemuserroles_association/any(r:r/_roletemplateid_value eq {SYSADMIN})"
    );
    let body: Value = c
        .get(dv(&emu, &q))
        .bearer_auth(&dvt)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let oids: BTreeSet<&str> = body["value"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|r| r["azureactivedirectoryobjectid"].as_str())
        .collect();
    assert_eq!(oids.len(), 2, "the seeded admin and the caller: {body}");
    assert!(oids.contains(U_ADMIN));

    let who: Value = c
        .get(dv(&emu, "WhoAmI()"))
        .bearer_auth(&dvt)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(who["UserId"], rows[0]["systemuserid"], "{who}");
    assert_eq!(who["BusinessUnitId"], ROOT_BU);
    let plain_dv = user_token(&emu, &emu.ready().url, U_PLAIN, "plain@contoso-1.example");
    let r = c
        .get(dv(&emu, "WhoAmI"))
        .bearer_auth(&plain_dv)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::FORBIDDEN);

    // The wrong audience is refused.
    let r = c
        .get(dv(&emu, "roles"))
        .bearer_auth(&admin)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    emu.shutdown().await.unwrap();
}

#[tokio::test]
async fn dataverse_paging_associations_and_organization_patch() {
    let emu = start(ServeOptions::default()).await;
    let c = reqwest::Client::new();
    let tok = user_token(&emu, &emu.ready().url, U_ADMIN, "admin@contoso-1.example");

    let mut next = Some(dv(&emu, "systemusers?$select=systemuserid,domainname"));
    let mut ids = Vec::new();
    let mut pages = 0;
    while let Some(url) = next {
        let r = c
            .get(&url)
            .bearer_auth(&tok)
            .header("Prefer", "odata.maxpagesize=5")
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::OK);
        assert_eq!(r.headers()["preference-applied"], "odata.maxpagesize=5");
        let body: Value = r.json().await.unwrap();
        assert!(
            body["@odata.context"]
                .as_str()
                .unwrap()
                .contains("$metadata#systemusers")
        );
        for row in body["value"].as_array().unwrap() {
            assert!(row["@odata.etag"].as_str().unwrap().starts_with("W/"));
            ids.push(row["systemuserid"].as_str().unwrap().to_string());
        }
        pages += 1;
        next = body
            .get("@odata.nextLink")
            .and_then(Value::as_str)
            .map(str::to_string);
    }
    assert_eq!(pages, 3);
    assert_eq!(ids.len(), SYSTEM_USERS);
    assert_eq!(ids.iter().collect::<BTreeSet<_>>().len(), SYSTEM_USERS);

    // organizations PATCH persists.
    let body: Value = c
        .get(dv(&emu, "organizations"))
        .bearer_auth(&tok)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let org = body["value"][0]["organizationid"]
        .as_str()
        .unwrap()
        .to_string();
    let r = c
        .patch(dv(&emu, &format!("organizations({org})")))
        .bearer_auth(&tok)
        .json(&json!({"enableflowsinsolutionbydefault": true}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
    let body: Value = c
        .get(dv(
            &emu,
            "organizations?$select=enableflowsinsolutionbydefault",
        ))
        .bearer_auth(&tok)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(body["value"][0]["enableflowsinsolutionbydefault"], true);

    // Associate, read through the role, disassociate with $id.
    let user = "d0000000-0000-4000-8000-000000000005";
    let role_url = dv(&emu, &format!("roles({ROOT_ROLE})"));
    let r = c
        .post(dv(
            &emu,
            &format!("systemusers({user})/systemuserroles_association/$ref"),
        ))
        .bearer_auth(&tok)
        .json(&json!({"@odata.id": role_url}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
    let members = |body: Value| -> Vec<String> {
        body["value"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["systemuserid"].as_str().unwrap().to_string())
            .collect()
    };
    let via_role = dv(
        &emu,
        &format!("roles({ROOT_ROLE})/systemuserroles_association?$select=systemuserid"),
    );
    let body: Value = c
        .get(&via_role)
        .bearer_auth(&tok)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(members(body).contains(&user.to_string()));
    let r = c
        .delete(dv(
            &emu,
            &format!("systemusers({user})/systemuserroles_association/$ref"),
        ))
        .query(&[("$id", role_url.as_str())])
        .bearer_auth(&tok)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
    let body: Value = c
        .get(&via_role)
        .bearer_auth(&tok)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(!members(body).contains(&user.to_string()));

    let r = c
        .get(dv(
            &emu,
            "systemusers(d0000000-0000-4000-8000-999999999999)",
        ))
        .bearer_auth(&tok)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["error"]["code"], "0x80040217");
    emu.shutdown().await.unwrap();
}

// ---------------------------------------------------------------- Graph

#[tokio::test]
async fn graph_users_groups_and_batch() {
    let emu = start(ServeOptions::default()).await;
    let c = reqwest::Client::new();
    let base = emu.ready().url.clone();
    let tok = app_token(
        &emu,
        AUD_GRAPH,
        ADMIN_APP,
        &["User.Read.All", "Group.Read.All"],
    );

    let r = c
        .get(format!("{base}/v1.0/users/{U_GONE}"))
        .bearer_auth(&tok)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["error"]["code"], "Request_ResourceNotFound");
    assert_eq!(
        body["error"]["message"],
        format!(
            "Resource '{U_GONE}' does not exist or one of its queried reference-property objects are not present."
        )
    );
    assert!(body["error"]["innerError"]["request-id"].is_string());

    let body: Value = c
        .get(format!(
            "{base}/v1.0/users/plain@contoso-1.example?$select=id,userType,accountEnabled"
        ))
        .bearer_auth(&tok)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(body["id"], U_PLAIN);
    assert_eq!(body["userType"], "Member");
    assert!(body.get("displayName").is_none());

    let body: Value = c
        .get(format!("{base}/v1.0/groups/g-outer/transitiveMembers"))
        .bearer_auth(&tok)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let items = body["value"].as_array().unwrap();
    let kinds: BTreeSet<(&str, &str)> = items
        .iter()
        .map(|i| {
            (
                i["id"].as_str().unwrap(),
                i["@odata.type"].as_str().unwrap(),
            )
        })
        .collect();
    assert!(kinds.contains(&("g-inner", "#microsoft.graph.group")));
    assert!(kinds.contains(&(U_PLAIN, "#microsoft.graph.user")));
    assert!(
        !kinds.iter().any(|(id, _)| *id == U_GONE),
        "deleted users are not members"
    );
    let body: Value = c
        .get(format!("{base}/v1.0/groups/g-outer/members"))
        .bearer_auth(&tok)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(body["value"].as_array().unwrap().len(), 2);

    let body: Value = c
        .get(format!(
            "{base}/v1.0/users?$filter=startswith(userPrincipalName,'plain')&$select=id"
        ))
        .bearer_auth(&tok)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(body["value"], json!([{"id": U_PLAIN}]), "{body}");
    let r = c
        .get(format!("{base}/v1.0/users?$top=1000"))
        .bearer_auth(&tok)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);

    let plain = app_token(&emu, AUD_GRAPH, PLAIN_APP, &[]);
    let r = c
        .get(format!("{base}/v1.0/users/{U_PLAIN}"))
        .bearer_auth(&plain)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::FORBIDDEN);

    let batch = |n: usize| {
        let reqs: Vec<Value> = (0..n)
            .map(|i| json!({"id": i.to_string(), "method": "GET", "url": format!("/users/{}?$select=id", if i == 3 { U_GONE } else { U_ADMIN })}))
            .collect();
        json!({"requests": reqs})
    };
    let r = c
        .post(format!("{base}/v1.0/$batch"))
        .bearer_auth(&tok)
        .json(&batch(20))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let body: Value = r.json().await.unwrap();
    let responses = body["responses"].as_array().unwrap();
    assert_eq!(responses.len(), 20);
    for item in responses {
        let expected = if item["id"] == "3" { 404 } else { 200 };
        assert_eq!(item["status"], expected, "{item}");
    }
    let r = c
        .post(format!("{base}/v1.0/$batch"))
        .bearer_auth(&tok)
        .json(&batch(21))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    let dup = json!({"requests": [{"id": "1", "method": "GET", "url": "/users"}, {"id": "1", "method": "GET", "url": "/users"}]});
    let r = c
        .post(format!("{base}/v1.0/$batch"))
        .bearer_auth(&tok)
        .json(&dup)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);

    // Over the rate limit, items (not the whole batch) answer 429 with Retry-After.
    set_rate_limit(&emu, Some(2.0));
    let r = c
        .post(format!("{base}/v1.0/$batch"))
        .bearer_auth(&tok)
        .json(&batch(6))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let body: Value = r.json().await.unwrap();
    let throttled: Vec<&Value> = body["responses"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|i| i["status"] == 429)
        .collect();
    assert!(!throttled.is_empty(), "{body}");
    assert!(throttled.iter().all(|i| {
        i["headers"]["Retry-After"]
            .as_str()
            .is_some_and(|s| s.parse::<u64>().unwrap() >= 1)
    }));
    emu.shutdown().await.unwrap();
}

// ---------------------------------------------------------------- Management Activity API

#[tokio::test]
async fn management_subscriptions_windows_paging_and_blobs() {
    let emu = start(ServeOptions::default()).await;
    let c = reqwest::Client::new();
    let root = format!("{}/api/v1.0/{TID}/activity/feed", emu.ready().url);
    let tok = app_token(&emu, AUD_MANAGEMENT, ADMIN_APP, &["ActivityFeed.Read"]);
    let code = |v: &Value| v["error"]["code"].as_str().unwrap_or_default().to_string();

    let no_role = app_token(&emu, AUD_MANAGEMENT, PLAIN_APP, &[]);
    let r = c
        .get(format!("{root}/subscriptions/list"))
        .bearer_auth(&no_role)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    assert_eq!(code(&r.json().await.unwrap()), "AF10001");

    let r = c
        .get(format!(
            "{root}/subscriptions/content?contentType=Audit.General"
        ))
        .bearer_auth(&tok)
        .send()
        .await
        .unwrap();
    assert_eq!(code(&r.json().await.unwrap()), "AF20022");

    let r = c
        .post(format!(
            "{root}/subscriptions/start?contentType=Audit.General"
        ))
        .bearer_auth(&tok)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["status"], "enabled");
    let body: Value = c
        .get(format!("{root}/subscriptions/list"))
        .bearer_auth(&tok)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(body[0]["contentType"], "Audit.General");

    // Window rules.
    let now = Utc::now();
    let fmt = |d: chrono::DateTime<Utc>| d.format("%Y-%m-%dT%H:%M:%S").to_string();
    let content = |q: String| {
        c.get(format!(
            "{root}/subscriptions/content?contentType=Audit.General{q}"
        ))
        .bearer_auth(&tok)
        .send()
    };
    let only_start = content(format!("&startTime={}", fmt(now - Duration::hours(2))))
        .await
        .unwrap();
    assert_eq!(code(&only_start.json().await.unwrap()), "AF20030");
    let too_wide = content(format!(
        "&startTime={}&endTime={}",
        fmt(now - Duration::hours(30)),
        fmt(now)
    ))
    .await
    .unwrap();
    assert_eq!(code(&too_wide.json().await.unwrap()), "AF20030");
    let too_old = content(format!(
        "&startTime={}&endTime={}",
        fmt(now - Duration::days(8)),
        fmt(now - Duration::days(8) + Duration::hours(1))
    ))
    .await
    .unwrap();
    assert_eq!(code(&too_old.json().await.unwrap()), "AF20030");
    let reversed = content(format!(
        "&startTime={}&endTime={}",
        fmt(now - Duration::hours(1)),
        fmt(now - Duration::hours(2))
    ))
    .await
    .unwrap();
    assert_eq!(code(&reversed.json().await.unwrap()), "AF20055");
    let other = format!(
        "{}/api/v1.0/22222222-2222-2222-2222-222222222222/activity/feed/subscriptions/list",
        emu.ready().url
    );
    let r = c.get(other).bearer_auth(&tok).send().await.unwrap();
    assert_eq!(code(&r.json().await.unwrap()), "AF20010");

    // Default window (last 24 h), NextPageUri to the end, then every blob.
    let mut next = Some(format!(
        "{root}/subscriptions/content?contentType=Audit.General"
    ));
    let mut entries = Vec::new();
    let mut pages = 0;
    while let Some(url) = next {
        let r = c.get(&url).bearer_auth(&tok).send().await.unwrap();
        assert_eq!(r.status(), StatusCode::OK);
        next = r
            .headers()
            .get("NextPageUri")
            .map(|v| v.to_str().unwrap().to_string());
        let body: Value = r.json().await.unwrap();
        entries.extend(body.as_array().unwrap().iter().cloned());
        pages += 1;
    }
    assert!(pages >= 2, "{pages} pages");
    let ids: BTreeSet<&str> = entries
        .iter()
        .map(|e| e["contentId"].as_str().unwrap())
        .collect();
    assert_eq!(ids.len(), entries.len());
    let mut records = Vec::new();
    for e in &entries {
        let r = c
            .get(e["contentUri"].as_str().unwrap())
            .bearer_auth(&tok)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::OK);
        let blob: Value = r.json().await.unwrap();
        records.extend(
            blob.as_array()
                .unwrap()
                .iter()
                .map(|x| x["Id"].as_str().unwrap().to_string()),
        );
    }
    assert_eq!(records.len(), AUDIT_RECORDS, "duplicates are kept");
    assert_eq!(
        records.iter().collect::<BTreeSet<_>>().len(),
        AUDIT_RECORDS - 1
    );

    // Throttled: 403 AF429 with Retry-After.
    set_rate_limit(&emu, Some(1.0));
    let mut saw = false;
    for _ in 0..3 {
        let r = c
            .get(format!("{root}/subscriptions/list"))
            .bearer_auth(&tok)
            .send()
            .await
            .unwrap();
        if r.status() == StatusCode::FORBIDDEN {
            assert!(r.headers().get("retry-after").is_some());
            assert_eq!(code(&r.json().await.unwrap()), "AF429");
            saw = true;
        }
    }
    assert!(saw);
    emu.shutdown().await.unwrap();
}

#[tokio::test]
async fn management_without_unified_audit_logging() {
    let emu = start(ServeOptions {
        audit_enabled: false,
        ..ServeOptions::default()
    })
    .await;
    let tok = app_token(&emu, AUD_MANAGEMENT, ADMIN_APP, &["ActivityFeed.Read"]);
    let url = format!(
        "{}/api/v1.0/{TID}/activity/feed/subscriptions/start?contentType=Audit.General",
        emu.ready().url
    );
    let r = reqwest::Client::new()
        .post(url)
        .bearer_auth(&tok)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["error"]["code"], "AF20012");
    assert!(body["error"]["message"].as_str().unwrap().contains(&format!("Microsoft.Office.Compliance.Audit.DataServiceException: Tenant {TID} does not exist.")));
    emu.shutdown().await.unwrap();
}

// ---------------------------------------------------------------- generated scenario

#[tokio::test]
async fn generated_small_tenant_is_served_by_every_family() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let emu = Emulator::start(listener, ServeOptions::default())
        .await
        .unwrap();
    let c = reqwest::Client::new();
    let base = emu.ready().url.clone();
    let (tid, admin_oid, admin_upn, specs, audit_len) = {
        let t = emu.tenant();
        let admin = t
            .directory
            .users
            .iter()
            .find(|u| u.upn == t.well_known.username)
            .unwrap();
        (
            t.tenant_id.clone(),
            admin.id.clone(),
            admin.upn.clone(),
            t.environments.clone(),
            t.audit.len(),
        )
    };

    // Inventory: every environment, app and flow is a row.
    let tok = user_token(&emu, AUD_PPAPI, &admin_oid, &admin_upn);
    let (s, page) = inventory(&emu, &tok, &json!({"TableName": "PowerPlatformResources", "Clauses": [
        {"$type": "summarize", "SummarizeClauseExpression": {"OperatorName": "count", "OperatorFieldName": "n", "FieldList": ["type"]}}]})).await;
    assert_eq!(s, StatusCode::OK, "{page}");
    let count_of = |t: &str| {
        page["data"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["type"] == t)
            .map_or(0, |r| r["n"].as_u64().unwrap())
    };
    assert_eq!(
        count_of("microsoft.powerplatform/environments"),
        specs.len() as u64
    );
    assert_eq!(
        count_of("microsoft.powerapps/canvasapps"),
        specs.iter().map(|e| e.apps as u64).sum::<u64>()
    );
    assert_eq!(
        count_of("microsoft.powerautomate/cloudflows"),
        specs.iter().map(|e| e.flows as u64).sum::<u64>()
    );
    let (_, page) = inventory(&emu, &tok, &json!({"TableName": "PowerPlatformResources", "Clauses": [
        {"$type": "where", "FieldName": "type", "Operator": "==", "Values": ["'microsoft.powerapps/canvasapps'"]},
        {"$type": "take", "TakeCount": 1}]})).await;
    let props = &page["data"][0]["properties"];
    assert!(!props["ownerId"].as_str().unwrap().is_empty(), "{props}");
    assert!(!props["createdAt"].as_str().unwrap().is_empty(), "{props}");

    // Self-elevation in a generated Dataverse environment, then Dataverse shows it.
    let env = specs.iter().find(|e| e.has_dataverse).unwrap();
    let url = format!(
        "{base}/usermanagement/environments/{}/user/applyAdminRole?api-version=2022-03-01-preview",
        env.name
    );
    let r = c.post(url).bearer_auth(&tok).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let api = env.doc["properties"]["linkedEnvironmentMetadata"]["instanceApiUrl"]
        .as_str()
        .unwrap()
        .to_string();
    let dvt = user_token(&emu, &base, &admin_oid, &admin_upn);
    let q = format!(
        "{api}/api/data/v9.2/systemusers?$filter=azureactivedirectoryobjectid eq {admin_oid}&$expand=systemuserroles_association($select=_roletemplateid_value)"
    );
    let body: Value = c
        .get(q)
        .bearer_auth(&dvt)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let roles = body["value"][0]["systemuserroles_association"]
        .as_array()
        .unwrap();
    assert!(
        roles.iter().any(|r| r["_roletemplateid_value"] == SYSADMIN),
        "{body}"
    );

    // Management: the generated audit arrives through blobs.
    let mtok = app_token(
        &emu,
        AUD_MANAGEMENT,
        &emu.ready().client_id.clone(),
        &["ActivityFeed.Read"],
    );
    let root = format!("{base}/api/v1.0/{tid}/activity/feed");
    let r = c
        .post(format!(
            "{root}/subscriptions/start?contentType=Audit.General"
        ))
        .bearer_auth(&mtok)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let body: Value = c
        .get(format!(
            "{root}/subscriptions/content?contentType=Audit.General"
        ))
        .bearer_auth(&mtok)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let entries = body.as_array().unwrap();
    assert!(
        audit_len > 0 && !entries.is_empty(),
        "{audit_len} records, {body}"
    );
    let blob: Value = c
        .get(entries[0]["contentUri"].as_str().unwrap())
        .bearer_auth(&mtok)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(blob[0]["Id"].is_string(), "{blob}");
    emu.shutdown().await.unwrap();
}

/// `POST /v1.0/directoryObjects/getByIds`: objects of the asked types, deleted and unknown ids
/// left out, users with the default property subset, at most 1000 ids, Directory.Read.All.
#[tokio::test]
async fn graph_get_by_ids_answers_what_each_object_is() {
    let emu = start(ServeOptions::default()).await;
    let c = reqwest::Client::new();
    let base = emu.ready().url.clone();
    let url = format!("{base}/v1.0/directoryObjects/getByIds");
    let tok = app_token(&emu, AUD_GRAPH, ADMIN_APP, &["Directory.Read.All"]);
    let ids = json!([
        U_PLAIN,
        U_GONE,
        "g-outer",
        "ffffffff-0000-4000-8000-000000000000"
    ]);
    let body: Value = c
        .post(&url)
        .bearer_auth(&tok)
        .json(&json!({"ids": ids, "types": ["user", "group", "servicePrincipal"]}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(
        body["@odata.context"]
            .as_str()
            .unwrap()
            .ends_with("$metadata#directoryObjects")
    );
    let got: Vec<(&str, &str)> = body["value"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| {
            (
                o["id"].as_str().unwrap(),
                o["@odata.type"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        got,
        vec![
            (U_PLAIN, "#microsoft.graph.user"),
            ("g-outer", "#microsoft.graph.group")
        ]
    );
    let user = &body["value"][0];
    assert!(
        user.get("accountEnabled").is_none(),
        "the default subset: {user}"
    );
    assert!(user.get("userPrincipalName").is_some());
    // Types filter: only users asked, the group is left out.
    let body: Value = c
        .post(&url)
        .bearer_auth(&tok)
        .json(&json!({"ids": [U_PLAIN, "g-outer"], "types": ["User"]}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(body["value"].as_array().unwrap().len(), 1);
    // Limits and permissions.
    let too_many: Vec<String> = (0..1001).map(|i| format!("id-{i}")).collect();
    let r = c
        .post(&url)
        .bearer_auth(&tok)
        .json(&json!({"ids": too_many}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    let weak = app_token(&emu, AUD_GRAPH, ADMIN_APP, &["User.Read.All"]);
    let r = c
        .post(&url)
        .bearer_auth(&weak)
        .json(&json!({"ids": [U_PLAIN]}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
}
