//! Integration tests for the emulator's core: Entra tokens, bearer checks, throttling, faults,
//! paging, lifecycle operations and the BAP / GOV / Power Apps / Flow families, over real HTTP.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;

use chrono::{TimeZone, Utc};
use ppgov_emulator::server::{ContentFn, Emulator, ServeOptions};
use ppgov_emulator::tenant::{
    AppRecord, ConnectionRecord, EnvContent, FlowRecord, RunPlan, Tenant,
};
use reqwest::StatusCode;
use serde_json::{Value, json};

const TID: &str = "11111111-1111-1111-1111-111111111111";
const ADMIN_APP: &str = "aaaaaaaa-0000-0000-0000-000000000001";
const PLAIN_APP: &str = "aaaaaaaa-0000-0000-0000-000000000002";
const PUBLIC_APP: &str = "aaaaaaaa-0000-0000-0000-000000000003";
const NOCONSENT_APP: &str = "aaaaaaaa-0000-0000-0000-000000000004";
const ENV0: &str = "Default-11111111-1111-1111-1111-111111111111";
const ENV1: &str = "22222222-2222-2222-2222-222222222222";
const PA: &str = "https://service.powerapps.com/.default";
const FLOW: &str = "https://service.flow.microsoft.com/.default";

fn app(id: &str, mgmt: bool, public: bool, consent: bool) -> Value {
    json!({"client_id": id, "object_id": format!("{}-sp", &id[..8]), "display_name": id, "secrets": ["s3cret"],
           "certificates": [], "public_client": public, "admin_consent": consent, "management_app": mgmt, "app_roles": []})
}

fn user(id: &str, upn: &str, sign_in: &str) -> Value {
    json!({"id": id, "upn": upn, "display_name": upn, "mail": upn, "enabled": true, "deleted": false, "guest": false,
           "invited": null, "password": "P@ss", "sign_in": sign_in, "admin_roles": ["Power Platform Administrator"]})
}

fn env_doc(name: &str) -> Value {
    json!({"id": format!("/providers/Microsoft.BusinessAppPlatform/scopes/admin/environments/{name}"),
           "type": "Microsoft.BusinessAppPlatform/scopes/environments", "location": "europe", "name": name,
           "properties": {"tenantId": TID, "displayName": name, "environmentSku": "Production", "isDefault": name == ENV0,
                          "databaseType": "CommonDataService",
                          "linkedEnvironmentMetadata": {"domainName": "org1", "instanceUrl": "http://x/"},
                          "states": {"management": {"id": "Ready"}, "runtime": {"id": "Enabled"}},
                          "governanceConfiguration": {"protectionLevel": "Basic"}}})
}

fn tenant() -> Tenant {
    let now = Utc.with_ymd_and_hms(2026, 11, 1, 12, 0, 0).unwrap();
    serde_json::from_value(json!({
        "tenant_id": TID, "domain": "contoso-1.example", "now": now, "seed": 1, "size": "small",
        "well_known": {"client_id": ADMIN_APP, "client_secret": "s3cret", "username": "admin@contoso-1.example", "password": "P@ss"},
        "directory": {"users": [user("u-admin", "admin@contoso-1.example", "normal"), user("u-mfa", "mfa@contoso-1.example", "mfa_required")],
                      "groups": [],
                      "apps": [app(ADMIN_APP, true, true, true), app(PLAIN_APP, false, false, true), app(PUBLIC_APP, false, true, true), app(NOCONSENT_APP, false, true, false)]},
        "tenant_settings": {"walkMeOptOut": false, "futureKey": {"keep": 1}, "powerPlatform": {"governance": {"disableAdminDigest": false, "other": 7}}},
        "tenant_isolation": null,
        "tenant_info": {"tenantId": TID, "state": "Enabled", "location": "europe"},
        "dlp_policies": [{"policyDefinition": {"name": "p1", "displayName": "Baseline", "defaultConnectorsClassification": "General",
            "environmentType": "OnlyEnvironments", "environments": [{"id": "x", "name": ENV1, "type": "t"}],
            "connectorGroups": [{"classification": "Confidential", "connectors": [{"id": "/providers/Microsoft.PowerApps/apis/shared_sharepointonline", "name": "SharePoint", "type": "Microsoft.PowerApps/apis"}]},
                                {"classification": "General", "connectors": []}, {"classification": "Blocked", "connectors": []}]},
            "connectorConfigurationsDefinition": {}}],
        "unblockable_connectors": [{"id": "/providers/Microsoft.PowerApps/apis/shared_approvals", "metadata": {"unblockable": true}}],
        "virtual_connectors": [{"id": "Http", "metadata": {"virtualConnector": true}}],
        "environments": [
            {"index": 0, "name": ENV0, "doc": env_doc(ENV0), "has_dataverse": true, "apps": 300, "flows": 120, "connections": 130},
            {"index": 1, "name": ENV1, "doc": env_doc(ENV1), "has_dataverse": false, "apps": 1, "flows": 1, "connections": 0}
        ],
        "audit": [], "ground_truth": {"findings": [], "detections": []}
    }))
    .unwrap()
}

fn content(_t: &Tenant, idx: usize) -> EnvContent {
    let (apps, flows, conns) = if idx == 0 { (300, 120, 130) } else { (1, 1, 0) };
    let now = Utc.with_ymd_and_hms(2026, 11, 1, 12, 0, 0).unwrap();
    EnvContent {
        apps: (0..apps)
            .map(|i| AppRecord {
                doc: json!({"name": format!("app-{idx}-{i}"), "id": format!("/providers/Microsoft.PowerApps/scopes/admin/environments/e/apps/app-{idx}-{i}"),
                            "type": "Microsoft.PowerApps/scopes/admin/apps",
                            "properties": {"displayName": format!("App {i}"), "owner": {"id": "u-admin", "type": "User"}}}),
                permissions: vec![json!({"name": "u-admin", "id": "perm-owner", "properties": {"roleName": "Owner", "principal": {"id": "u-admin", "type": "User"}}})],
            })
            .collect(),
        flows: (0..flows)
            .map(|i| FlowRecord {
                doc: json!({"name": format!("flow-{idx}-{i}"), "id": format!("/providers/Microsoft.ProcessSimple/environments/e/flows/flow-{idx}-{i}"),
                            "type": "Microsoft.ProcessSimple/environments/flows", "properties": {"displayName": format!("Flow {i}"), "state": "Started"}}),
                definition: json!({"triggers": {"manual": {"type": "Request"}}, "actions": {}}),
                permissions: vec![],
                runs: RunPlan { runs: 130, failed: 13, newest: Some(now), oldest: Some(now - chrono::Duration::days(13)) },
            })
            .collect(),
        connections: (0..conns)
            .map(|i| ConnectionRecord {
                doc: json!({"name": format!("conn-{i}"), "id": format!("/providers/Microsoft.PowerApps/apis/shared_office365/connections/conn-{i}"),
                            "type": "Microsoft.PowerApps/apis/connections",
                            "properties": {"apiId": if i % 2 == 0 { "/providers/Microsoft.PowerApps/apis/shared_office365" } else { "/providers/Microsoft.PowerApps/apis/shared_sql" },
                                           "permissions": []}}),
            })
            .collect(),
        role_assignments: vec![],
        dataverse: None,
    }
}

async fn start(opts: ServeOptions) -> Emulator {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let f: ContentFn = Arc::new(content);
    Emulator::start_with_tenant(listener, tenant(), f, opts)
        .await
        .unwrap()
}

fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .no_proxy()
        .timeout(Duration::from_secs(20))
        .build()
        .unwrap()
}

async fn token_form(emu: &Emulator, form: &[(&str, &str)]) -> (StatusCode, Value) {
    let url = format!("{}/{TID}/oauth2/v2.0/token", emu.ready().url);
    let r = client().post(url).form(form).send().await.unwrap();
    let status = r.status();
    (status, r.json().await.unwrap())
}

async fn app_token(emu: &Emulator, client_id: &str, scope: &str) -> String {
    let (s, body) = token_form(
        emu,
        &[
            ("grant_type", "client_credentials"),
            ("client_id", client_id),
            ("client_secret", "s3cret"),
            ("scope", scope),
        ],
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{body}");
    body["access_token"].as_str().unwrap().to_string()
}

async fn get(
    emu: &Emulator,
    token: &str,
    path: &str,
) -> (StatusCode, reqwest::header::HeaderMap, Value) {
    let url = if path.starts_with("http") {
        path.to_string()
    } else {
        format!("{}{path}", emu.ready().url)
    };
    let r = client().get(url).bearer_auth(token).send().await.unwrap();
    let (s, h) = (r.status(), r.headers().clone());
    let text = r.text().await.unwrap();
    (
        s,
        h,
        if text.is_empty() {
            Value::Null
        } else {
            serde_json::from_str(&text).unwrap()
        },
    )
}

async fn send(
    emu: &Emulator,
    method: reqwest::Method,
    token: &str,
    path: &str,
    body: Option<&str>,
) -> (StatusCode, reqwest::header::HeaderMap, Value) {
    let url = if path.starts_with("http") {
        path.to_string()
    } else {
        format!("{}{path}", emu.ready().url)
    };
    let mut rb = client()
        .request(method, url)
        .bearer_auth(token)
        .header("content-type", "application/json");
    if let Some(b) = body {
        rb = rb.body(b.to_string());
    }
    let r = rb.send().await.unwrap();
    let (s, h) = (r.status(), r.headers().clone());
    let text = r.text().await.unwrap();
    (
        s,
        h,
        if text.is_empty() {
            Value::Null
        } else {
            serde_json::from_str(&text).unwrap()
        },
    )
}

fn assert_entra_error(body: &Value, code: u64, error: &str) {
    assert_eq!(body["error"], error, "{body}");
    assert_eq!(body["error_codes"], json!([code]));
    let d = body["error_description"].as_str().unwrap();
    assert!(d.starts_with(&format!("AADSTS{code}: ")), "{d}");
    assert!(
        d.contains("\r\nTrace ID: ")
            && d.contains("\r\nCorrelation ID: ")
            && d.contains("\r\nTimestamp: "),
        "{d}"
    );
    for k in ["timestamp", "trace_id", "correlation_id"] {
        assert!(body[k].is_string(), "{k} missing in {body}");
    }
}

const ENVS: &str = "/providers/Microsoft.BusinessAppPlatform/scopes/admin/environments";

#[tokio::test]
async fn client_secret_tokens_and_entra_errors() {
    let emu = start(ServeOptions::default()).await;
    let (s, body) = token_form(
        &emu,
        &[
            ("grant_type", "client_credentials"),
            ("client_id", ADMIN_APP),
            ("client_secret", "s3cret"),
            ("scope", PA),
        ],
    )
    .await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(body["token_type"], "Bearer");
    assert_eq!(body["expires_in"], 3599);
    assert!(body["access_token"].as_str().unwrap().starts_with("eyJ"));

    // HTTP Basic client authentication works too.
    let url = format!("{}/{TID}/oauth2/v2.0/token", emu.ready().url);
    let r = client()
        .post(&url)
        .basic_auth(ADMIN_APP, Some("s3cret"))
        .form(&[("grant_type", "client_credentials"), ("scope", PA)])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);

    let (s, body) = token_form(
        &emu,
        &[
            ("grant_type", "client_credentials"),
            ("client_id", ADMIN_APP),
            ("client_secret", "nope"),
            ("scope", PA),
        ],
    )
    .await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
    assert_entra_error(&body, 7000215, "invalid_client");

    let (s, body) = token_form(
        &emu,
        &[
            ("grant_type", "client_credentials"),
            ("client_id", "99999999-0000-0000-0000-000000000000"),
            ("client_secret", "s3cret"),
            ("scope", PA),
        ],
    )
    .await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    assert_entra_error(&body, 700016, "unauthorized_client");

    let (s, body) = token_form(
        &emu,
        &[
            ("grant_type", "client_credentials"),
            ("client_id", ADMIN_APP),
            ("client_secret", "s3cret"),
            ("scope", "https://service.powerapps.com/user_impersonation"),
        ],
    )
    .await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    assert_entra_error(&body, 70011, "invalid_scope");

    let (s, body) = token_form(
        &emu,
        &[
            ("grant_type", "client_credentials"),
            ("client_id", ADMIN_APP),
            ("client_secret", "s3cret"),
            ("scope", &format!("{PA} {FLOW}")),
        ],
    )
    .await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    assert_entra_error(&body, 70011, "invalid_scope");
    // The token endpoint is not an API call.
    assert_eq!(emu.request_count(), 0);
    emu.shutdown().await.unwrap();
}

#[tokio::test]
async fn bearer_checks_reject_missing_wrong_audience_and_expired_tokens() {
    let emu = start(ServeOptions::default()).await;
    let flow_token = app_token(&emu, ADMIN_APP, FLOW).await;
    let (s, h, body) = get(&emu, &flow_token, ENVS).await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
    assert!(
        h.get("www-authenticate")
            .unwrap()
            .to_str()
            .unwrap()
            .starts_with("Bearer")
    );
    assert!(
        body["error"]["code"].is_string() && body["error"]["message"].is_string(),
        "{body}"
    );

    let (s, _, _) = get(&emu, "garbage.token.here", ENVS).await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
    let r = client()
        .get(format!("{}{ENVS}", emu.ready().url))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);

    emu.set_token_lifetime(-5);
    let expired = app_token(&emu, ADMIN_APP, PA).await;
    let (s, _, body) = get(&emu, &expired, ENVS).await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("expired")
    );
    emu.set_token_lifetime(3599);
    let good = app_token(&emu, ADMIN_APP, PA).await;
    assert_eq!(get(&emu, &good, ENVS).await.0, StatusCode::OK);

    // A service principal that is not a management app gets BAP's 403.
    let plain = app_token(&emu, PLAIN_APP, PA).await;
    let (s, _, body) = get(&emu, &plain, ENVS).await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    assert_eq!(body["error"]["code"], "Forbidden");
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("does not have permission to access the path")
    );
    // Registering it (adminApplications PUT) lifts the 403.
    let (s, _, body) = send(&emu, reqwest::Method::PUT, &good, &format!("/providers/Microsoft.BusinessAppPlatform/adminApplications/{PLAIN_APP}?api-version=2020-10-01"), None).await;
    assert_eq!(s, StatusCode::OK, "{body}");
    assert_eq!(get(&emu, &plain, ENVS).await.0, StatusCode::OK);
    emu.shutdown().await.unwrap();
}

#[tokio::test]
async fn delegated_flows_ropc_refresh_and_device_code() {
    let emu = start(ServeOptions::default()).await;
    let scope = format!("{PA} offline_access openid profile");
    let (s, body) = token_form(
        &emu,
        &[
            ("grant_type", "password"),
            ("client_id", PUBLIC_APP),
            ("username", "admin@contoso-1.example"),
            ("password", "P@ss"),
            ("scope", &scope),
        ],
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{body}");
    let rt = body["refresh_token"].as_str().unwrap().to_string();
    assert!(body["id_token"].as_str().unwrap().starts_with("eyJ"));
    assert_eq!(body["scope"], scope);
    let access = body["access_token"].as_str().unwrap().to_string();
    assert_eq!(get(&emu, &access, ENVS).await.0, StatusCode::OK);

    let (s, body) = token_form(
        &emu,
        &[
            ("grant_type", "refresh_token"),
            ("client_id", PUBLIC_APP),
            ("refresh_token", &rt),
            ("scope", FLOW),
        ],
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{body}");

    let (s, body) = token_form(
        &emu,
        &[
            ("grant_type", "password"),
            ("client_id", PUBLIC_APP),
            ("username", "admin@contoso-1.example"),
            ("password", "bad"),
            ("scope", PA),
        ],
    )
    .await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    assert_entra_error(&body, 50126, "invalid_grant");
    let (_, body) = token_form(
        &emu,
        &[
            ("grant_type", "password"),
            ("client_id", PUBLIC_APP),
            ("username", "mfa@contoso-1.example"),
            ("password", "P@ss"),
            ("scope", PA),
        ],
    )
    .await;
    assert_entra_error(&body, 50076, "invalid_grant");
    let (_, body) = token_form(
        &emu,
        &[
            ("grant_type", "password"),
            ("client_id", NOCONSENT_APP),
            ("username", "admin@contoso-1.example"),
            ("password", "P@ss"),
            ("scope", PA),
        ],
    )
    .await;
    assert_entra_error(&body, 65001, "invalid_grant");
    let (s, _) = token_form(
        &emu,
        &[
            ("grant_type", "password"),
            ("client_id", PLAIN_APP),
            ("username", "admin@contoso-1.example"),
            ("password", "P@ss"),
            ("scope", PA),
        ],
    )
    .await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);

    // Device code: pending, pending, approved on the 3rd poll (no minimum gap here).
    *emu.state().device_poll_min_gap.write().unwrap() = Duration::ZERO;
    let url = format!("{}/{TID}/oauth2/v2.0/devicecode", emu.ready().url);
    let dc: Value = client()
        .post(&url)
        .form(&[("client_id", PUBLIC_APP), ("scope", PA)])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    for k in [
        "device_code",
        "user_code",
        "verification_uri",
        "expires_in",
        "interval",
        "message",
    ] {
        assert!(!dc[k].is_null(), "{k} missing");
    }
    let code = dc["device_code"].as_str().unwrap();
    let poll = [
        ("grant_type", "urn:ietf:params:oauth:grant-type:device_code"),
        ("client_id", PUBLIC_APP),
        ("device_code", code),
    ];
    for _ in 0..2 {
        let (s, body) = token_form(&emu, &poll).await;
        assert_eq!(s, StatusCode::BAD_REQUEST);
        assert_eq!(body["error"], "authorization_pending");
    }
    let (s, body) = token_form(&emu, &poll).await;
    assert_eq!(s, StatusCode::OK, "{body}");

    // slow_down when polled faster than the minimum gap; expired_token past expires_in.
    *emu.state().device_poll_min_gap.write().unwrap() = Duration::from_secs(60);
    let dc: Value = client()
        .post(&url)
        .form(&[("client_id", PUBLIC_APP), ("scope", PA)])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let code = dc["device_code"].as_str().unwrap().to_string();
    let (_, body) = token_form(
        &emu,
        &[
            ("grant_type", "urn:ietf:params:oauth:grant-type:device_code"),
            ("client_id", PUBLIC_APP),
            ("device_code", &code),
        ],
    )
    .await;
    assert_eq!(body["error"], "slow_down");
    emu.state()
        .device_code_lifetime_secs
        .store(0, std::sync::atomic::Ordering::Relaxed);
    let dc: Value = client()
        .post(&url)
        .form(&[("client_id", PUBLIC_APP), ("scope", PA)])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let code = dc["device_code"].as_str().unwrap().to_string();
    let (_, body) = token_form(
        &emu,
        &[
            ("grant_type", "urn:ietf:params:oauth:grant-type:device_code"),
            ("client_id", PUBLIC_APP),
            ("device_code", &code),
        ],
    )
    .await;
    assert_eq!(body["error"], "expired_token");
    emu.shutdown().await.unwrap();
}

#[tokio::test]
async fn certificate_assertion_is_verified() {
    use jsonwebtoken::{Algorithm, EncodingKey, Header};
    use sha2::Digest;
    let emu = start(ServeOptions::default()).await;
    let key = rcgen::KeyPair::generate_for(&rcgen::PKCS_RSA_SHA256).unwrap();
    let cert = rcgen::CertificateParams::new(vec!["ppgov".to_string()])
        .unwrap()
        .self_signed(&key)
        .unwrap();
    let der = cert.der().to_vec();
    emu.register_certificate(PLAIN_APP, &der).unwrap();
    let enc = EncodingKey::from_rsa_pem(key.serialize_pem().as_bytes()).unwrap();
    let mut header = Header::new(Algorithm::PS256);
    use base64::Engine;
    header.x5t_s256 =
        Some(base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(sha2::Sha256::digest(&der)));
    let now = Utc::now().timestamp();
    let claims = |aud: &str| json!({"aud": aud, "iss": PLAIN_APP, "sub": PLAIN_APP, "jti": "1", "nbf": now, "iat": now, "exp": now + 600});
    let aud = format!("https://login.microsoftonline.com/{TID}/oauth2/v2.0/token");
    let jwt = jsonwebtoken::encode(&header, &claims(&aud), &enc).unwrap();
    let form = |a: &str| {
        vec![
            ("grant_type", "client_credentials".to_string()),
            ("client_id", PLAIN_APP.to_string()),
            ("scope", PA.to_string()),
            (
                "client_assertion_type",
                "urn:ietf:params:oauth:client-assertion-type:jwt-bearer".to_string(),
            ),
            ("client_assertion", a.to_string()),
        ]
    };
    let url = format!("{}/{TID}/oauth2/v2.0/token", emu.ready().url);
    let r = client().post(&url).form(&form(&jwt)).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::OK, "{}", r.text().await.unwrap());
    // Wrong audience: rejected with 700027.
    let bad = jsonwebtoken::encode(&header, &claims("https://example.com/token"), &enc).unwrap();
    let r = client().post(&url).form(&form(&bad)).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    let body: Value = r.json().await.unwrap();
    assert_entra_error(&body, 700027, "invalid_client");
    emu.shutdown().await.unwrap();
}

#[tokio::test]
async fn environments_read_and_lifecycle_patch() {
    let emu = start(ServeOptions::default()).await;
    let t = app_token(&emu, ADMIN_APP, PA).await;
    let (s, _, body) = get(
        &emu,
        &t,
        &format!("{ENVS}?api-version=2023-06-01&$expand=properties.capacity,properties.addons"),
    )
    .await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(body["value"].as_array().unwrap().len(), 2);
    assert_eq!(body["value"][0]["name"], ENV0);
    let (s, _, body) = get(&emu, &t, &format!("{ENVS}/nope")).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    assert_eq!(body["error"]["code"], "EnvironmentAccessDenied");

    let patch = r#"{"properties":{"linkedEnvironmentMetadata":{"securityGroupId":"sg-1"}}}"#;
    let (s, h, _) = send(
        &emu,
        reqwest::Method::PATCH,
        &t,
        &format!("{ENVS}/{ENV1}?api-version=2021-04-01"),
        Some(patch),
    )
    .await;
    assert_eq!(s, StatusCode::ACCEPTED);
    let location = h.get("location").unwrap().to_str().unwrap().to_string();
    assert!(
        h.get("retry-after")
            .unwrap()
            .to_str()
            .unwrap()
            .parse::<u64>()
            .is_ok()
    );
    // Busy while it runs.
    let (s, _, body) = send(
        &emu,
        reqwest::Method::PATCH,
        &t,
        &format!("{ENVS}/{ENV1}"),
        Some(patch),
    )
    .await;
    assert_eq!(s, StatusCode::CONFLICT);
    assert_eq!(body["error"]["code"], "OperationNotStartable");
    let (_, _, env) = get(&emu, &t, &format!("{ENVS}/{ENV1}")).await;
    assert_eq!(env["properties"]["states"]["management"]["id"], "Running");
    // Poll the operation until it succeeds (it does by the 2nd poll).
    let mut last = Value::Null;
    for _ in 0..5 {
        let (s, _, body) = get(&emu, &t, &location).await;
        last = body;
        if s == StatusCode::OK {
            break;
        }
        assert_eq!(s, StatusCode::ACCEPTED);
    }
    assert_eq!(last["state"]["id"], "Succeeded", "{last}");
    let (_, _, env) = get(&emu, &t, &format!("{ENVS}/{ENV1}")).await;
    assert_eq!(
        env["properties"]["linkedEnvironmentMetadata"]["securityGroupId"],
        "sg-1"
    );
    assert_eq!(
        env["properties"]["linkedEnvironmentMetadata"]["domainName"],
        "org1"
    );
    assert_eq!(env["properties"]["states"]["management"]["id"], "Ready");

    // Managed environment on (E5).
    let gov = r#"{"protectionLevel":"Standard","settings":{"extendedSettings":{"limitSharingMode":"noLimit"}}}"#;
    let (s, _, _) = send(
        &emu,
        reqwest::Method::POST,
        &t,
        &format!(
            "/providers/Microsoft.BusinessAppPlatform/environments/{ENV0}/governanceConfiguration"
        ),
        Some(gov),
    )
    .await;
    assert_eq!(s, StatusCode::ACCEPTED);
    emu.shutdown().await.unwrap();
}

#[tokio::test]
async fn tenant_settings_isolation_roles_and_errors() {
    let emu = start(ServeOptions::default()).await;
    let t = app_token(&emu, ADMIN_APP, PA).await;
    let bap = "/providers/Microsoft.BusinessAppPlatform";
    let (s, _, body) = send(
        &emu,
        reqwest::Method::POST,
        &t,
        &format!("{bap}/listTenantSettings?api-version=2023-06-01"),
        None,
    )
    .await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(body["walkMeOptOut"], false);
    let (s, _, body) = send(
        &emu,
        reqwest::Method::POST,
        &t,
        &format!("{bap}/scopes/admin/updateTenantSettings"),
        Some(r#"{"powerPlatform":{"governance":{"disableAdminDigest":true}}}"#),
    )
    .await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(
        body["powerPlatform"]["governance"],
        json!({"disableAdminDigest": true, "other": 7})
    );
    assert_eq!(body["futureKey"], json!({"keep": 1}));

    let (s, _, body) = get(&emu, &t, &format!("{bap}/tenant?api-version=2020-08-01")).await;
    assert_eq!((s, body["tenantId"].as_str()), (StatusCode::OK, Some(TID)));

    let iso = format!("/providers/PowerPlatform.Governance/v1/tenants/{TID}/tenantIsolationPolicy");
    assert_eq!(get(&emu, &t, &iso).await.0, StatusCode::NOT_FOUND);
    let (s, _, _) = send(
        &emu,
        reqwest::Method::PUT,
        &t,
        &iso,
        Some(r#"{"properties":{"isDisabled":false,"allowedTenants":[]}}"#),
    )
    .await;
    assert_eq!(s, StatusCode::OK);
    let (s, _, body) = get(&emu, &t, &iso).await;
    assert_eq!(
        (s, body["properties"]["tenantId"].as_str()),
        (StatusCode::OK, Some(TID))
    );

    let add = format!(
        r#"{{"add":[{{"properties":{{"roleDefinition":{{"id":"{bap}/scopes/admin/environments/{ENV1}/roleDefinitions/environmentadmin"}},"principal":{{"id":"u-admin","type":"User"}}}}}}]}}"#
    );
    let (s, _, body) = send(
        &emu,
        reqwest::Method::POST,
        &t,
        &format!("{ENVS}/{ENV1}/modifyRoleAssignments"),
        Some(&add),
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{body}");
    assert_eq!(body["add"][0]["httpStatus"], "Created");
    let (_, _, body) = get(&emu, &t, &format!("{ENVS}/{ENV1}/roleAssignments")).await;
    assert_eq!(
        body["value"][0]["properties"]["roleDefinition"]["name"],
        "EnvironmentAdmin"
    );

    // Malformed JSON and wrong methods answer in the Microsoft envelope.
    let (s, _, body) = send(
        &emu,
        reqwest::Method::POST,
        &t,
        &format!("{bap}/scopes/admin/updateTenantSettings"),
        Some("{not json"),
    )
    .await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    assert_eq!(body["error"]["code"], "BadRequest");
    let (s, _, body) = send(
        &emu,
        reqwest::Method::DELETE,
        &t,
        &format!("{bap}/tenant"),
        None,
    )
    .await;
    assert_eq!(s, StatusCode::METHOD_NOT_ALLOWED);
    assert!(body["error"]["code"].is_string());
    emu.shutdown().await.unwrap();
}

#[tokio::test]
async fn dlp_policies_round_trip() {
    let emu = start(ServeOptions::default()).await;
    let t = app_token(&emu, ADMIN_APP, PA).await;
    let v2 = "/providers/PowerPlatform.Governance/v2/policies";
    let (_, _, list) = get(&emu, &t, v2).await;
    let item = &list["value"][0];
    assert_eq!(item.as_object().unwrap().len(), 1);
    assert!(item["policyDefinition"]["connectorGroups"].is_null());
    let (_, _, full) = get(&emu, &t, &format!("{v2}/p1")).await;
    assert!(full["policyDefinition"]["connectorGroups"].is_array());

    let new = r#"{"policyDefinition":{"displayName":"New","defaultConnectorsClassification":"Blocked","environmentType":"AllEnvironments","connectorGroups":[{"classification":"Blocked","connectors":[]}]}}"#;
    let (s, _, created) = send(&emu, reqwest::Method::POST, &t, v2, Some(new)).await;
    assert_eq!(s, StatusCode::CREATED);
    let name = created["policyDefinition"]["name"]
        .as_str()
        .unwrap()
        .to_string();
    let mut upd = created.clone();
    upd["policyDefinition"]["displayName"] = json!("Renamed");
    let (s, _, body) = send(
        &emu,
        reqwest::Method::PATCH,
        &t,
        &format!("{v2}/{name}"),
        Some(&upd.to_string()),
    )
    .await;
    assert_eq!(
        (s, body["policyDefinition"]["displayName"].as_str()),
        (StatusCode::OK, Some("Renamed"))
    );
    let blocked = r#"{"policyDefinition":{"displayName":"X","connectorGroups":[{"classification":"Blocked","connectors":[{"id":"/providers/Microsoft.PowerApps/apis/shared_approvals"}]}]}}"#;
    assert_eq!(
        send(&emu, reqwest::Method::POST, &t, v2, Some(blocked))
            .await
            .0,
        StatusCode::BAD_REQUEST
    );

    let (_, _, legacy) = get(
        &emu,
        &t,
        "/providers/Microsoft.BusinessAppPlatform/scopes/admin/apiPolicies",
    )
    .await;
    let def = &legacy["value"][0]["properties"]["definition"];
    assert_eq!(
        def["constraints"]["environmentFilter1"]["parameters"]["filterType"],
        "include"
    );
    assert_eq!(def["apiGroups"]["hbi"]["apis"][0]["name"], "SharePoint");
    let (_, _, v1) = get(&emu, &t, "/providers/PowerPlatform.Governance/v1/policies").await;
    assert_eq!(v1["value"].as_array().unwrap().len(), 2);

    assert_eq!(
        send(
            &emu,
            reqwest::Method::DELETE,
            &t,
            &format!("{v2}/{name}"),
            None
        )
        .await
        .0,
        StatusCode::OK
    );
    assert_eq!(
        get(&emu, &t, &format!("{v2}/{name}")).await.0,
        StatusCode::NOT_FOUND
    );
    let (_, _, ub) = get(
        &emu,
        &t,
        "/providers/PowerPlatform.Governance/v1/connectors/metadata/unblockable",
    )
    .await;
    assert_eq!(ub[0]["metadata"]["unblockable"], true);
    emu.shutdown().await.unwrap();
}

async fn follow(emu: &Emulator, token: &str, first: &str) -> (Vec<String>, usize) {
    let mut names = Vec::new();
    let mut pages = 0;
    let mut url = first.to_string();
    loop {
        let (s, _, body) = get(emu, token, &url).await;
        assert_eq!(s, StatusCode::OK, "{body}");
        pages += 1;
        names.extend(
            body["value"]
                .as_array()
                .unwrap()
                .iter()
                .map(|v| v["name"].as_str().unwrap().to_string()),
        );
        match body["nextLink"].as_str() {
            Some(n) => {
                assert!(
                    n.starts_with("http://127.0.0.1:") && n.contains("%24skiptoken="),
                    "{n}"
                );
                url = n.to_string();
            }
            None => break,
        }
    }
    (names, pages)
}

#[tokio::test]
async fn paging_yields_every_resource_exactly_once() {
    let emu = start(ServeOptions::default()).await;
    let pa = app_token(&emu, ADMIN_APP, PA).await;
    let fl = app_token(&emu, ADMIN_APP, FLOW).await;
    let (flows, pages) = follow(&emu, &fl, &format!("/providers/Microsoft.ProcessSimple/scopes/admin/environments/{ENV0}/v2/flows?api-version=2016-11-01")).await;
    assert_eq!((flows.len(), pages), (120, 3));
    assert_eq!(flows.iter().collect::<BTreeSet<_>>().len(), 120);
    let (apps, pages) = follow(
        &emu,
        &pa,
        &format!("/providers/Microsoft.PowerApps/scopes/admin/environments/{ENV0}/apps?$top=100"),
    )
    .await;
    assert_eq!((apps.len(), pages), (300, 3));
    assert_eq!(apps.iter().collect::<BTreeSet<_>>().len(), 300);
    let (conns, _) = follow(
        &emu,
        &pa,
        &format!("/providers/Microsoft.PowerApps/scopes/admin/environments/{ENV0}/connections"),
    )
    .await;
    assert_eq!(conns.iter().collect::<BTreeSet<_>>().len(), 130);
    let (runs, pages) = follow(&emu, &fl, &format!("/providers/Microsoft.ProcessSimple/environments/{ENV0}/flows/flow-0-3/runs?api-version=2016-11-01")).await;
    assert_eq!((runs.len(), pages), (130, 3));
    assert_eq!(runs.iter().collect::<BTreeSet<_>>().len(), 130);
    let filter = "$filter=status%20eq%20%27Failed%27%20and%20startTime%20ge%202026-10-25T00:00:00Z";
    let (_, _, body) = get(&emu, &fl, &format!("/providers/Microsoft.ProcessSimple/scopes/admin/environments/{ENV0}/flows/flow-0-3/runs?{filter}")).await;
    let failed = body["value"].as_array().unwrap();
    assert!(!failed.is_empty() && failed.len() < 13, "{}", failed.len());
    assert!(failed.iter().all(|r| r["properties"]["status"] == "Failed"
        && r["properties"]["startTime"].as_str().unwrap() >= "2026-10-25"));
    emu.shutdown().await.unwrap();
}

#[tokio::test]
async fn apps_connections_and_flows_writes_show_in_reads() {
    let emu = start(ServeOptions::default()).await;
    let pa = app_token(&emu, ADMIN_APP, PA).await;
    let fl = app_token(&emu, ADMIN_APP, FLOW).await;
    let pae = format!("/providers/Microsoft.PowerApps/scopes/admin/environments/{ENV0}");
    let fle = format!("/providers/Microsoft.ProcessSimple/scopes/admin/environments/{ENV0}");
    let put = r#"{"put":[{"properties":{"principal":{"id":"u-mfa","type":"User"},"roleName":"CanEdit"}}]}"#;
    assert_eq!(
        send(
            &emu,
            reqwest::Method::POST,
            &pa,
            &format!("{pae}/apps/app-0-1/modifyPermissions"),
            Some(put)
        )
        .await
        .0,
        StatusCode::OK
    );
    let (_, _, perms) = get(&emu, &pa, &format!("{pae}/apps/app-0-1/permissions")).await;
    assert_eq!(perms["value"].as_array().unwrap().len(), 2);
    let owner = r#"{"newAppOwner":"u-mfa","roleForOldAppOwner":"CanView"}"#;
    assert_eq!(
        send(
            &emu,
            reqwest::Method::POST,
            &pa,
            &format!("{pae}/apps/app-0-1/modifyAppOwner"),
            Some(owner)
        )
        .await
        .0,
        StatusCode::OK
    );
    let (_, _, app) = get(&emu, &pa, &format!("{pae}/apps/app-0-1")).await;
    assert_eq!(app["properties"]["owner"]["id"], "u-mfa");
    let q = r#"{"quarantineStatus":"Quarantined"}"#;
    assert_eq!(
        send(
            &emu,
            reqwest::Method::POST,
            &pa,
            &format!("{pae}/apps/app-0-1/setAppQuarantineState"),
            Some(q)
        )
        .await
        .0,
        StatusCode::OK
    );
    assert_eq!(
        send(
            &emu,
            reqwest::Method::DELETE,
            &pa,
            &format!("{pae}/apps/app-0-2"),
            None
        )
        .await
        .0,
        StatusCode::OK
    );
    assert_eq!(
        get(&emu, &pa, &format!("{pae}/apps/app-0-2")).await.0,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        send(
            &emu,
            reqwest::Method::DELETE,
            &pa,
            &format!("{pae}/apis/shared_office365/connections/conn-0"),
            None
        )
        .await
        .0,
        StatusCode::OK
    );
    let (conns, _) = follow(
        &emu,
        &pa,
        &format!("{pae}/apis/shared_office365/connections"),
    )
    .await;
    assert_eq!(conns.len(), 64);

    assert_eq!(
        send(
            &emu,
            reqwest::Method::POST,
            &fl,
            &format!("{fle}/flows/flow-0-5/stop"),
            Some("{}")
        )
        .await
        .0,
        StatusCode::OK
    );
    let (_, _, flow) = get(&emu, &fl, &format!("{fle}/flows/flow-0-5")).await;
    assert_eq!(flow["properties"]["state"], "Stopped");
    assert!(flow["properties"]["definition"]["triggers"].is_object());
    assert_eq!(
        send(
            &emu,
            reqwest::Method::POST,
            &fl,
            &format!("{fle}/flows/flow-0-5/modifyPermissions"),
            Some(put)
        )
        .await
        .0,
        StatusCode::OK
    );
    let (_, _, perms) = get(&emu, &fl, &format!("{fle}/flows/flow-0-5/permissions")).await;
    assert_eq!(perms["value"][0]["properties"]["roleName"], "CanEdit");
    assert_eq!(
        send(
            &emu,
            reqwest::Method::DELETE,
            &fl,
            &format!("{fle}/flows/flow-0-5"),
            None
        )
        .await
        .0,
        StatusCode::OK
    );
    let (s, _, body) = get(&emu, &fl, &format!("{fle}/flows/flow-0-5")).await;
    assert_eq!(s, StatusCode::NOT_FOUND, "{body}");
    let (s, _, body) = get(
        &emu,
        &fl,
        "/providers/Microsoft.ProcessSimple/scopes/admin/environments/nope/v2/flows",
    )
    .await;
    assert_eq!(
        (s, body["error"]["code"].as_str()),
        (StatusCode::NOT_FOUND, Some("EnvironmentAccessDenied"))
    );
    emu.shutdown().await.unwrap();
}

#[tokio::test]
async fn rate_limit_answers_429_with_retry_after() {
    let emu = start(ServeOptions {
        rate_limit: Some(1.0),
        ..ServeOptions::default()
    })
    .await;
    let t = app_token(&emu, ADMIN_APP, PA).await;
    let mut throttled = None;
    for _ in 0..4 {
        let (s, h, body) = get(&emu, &t, ENVS).await;
        if s == StatusCode::TOO_MANY_REQUESTS {
            throttled = Some((h, body));
            break;
        }
    }
    let (h, body) = throttled.expect("no 429 within 4 quick requests at 1 request/s");
    let secs: u64 = h
        .get("retry-after")
        .unwrap()
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!(secs >= 1);
    assert!(body["error"]["code"].is_string());
    assert!(emu.request_count() >= 2);
    emu.shutdown().await.unwrap();
}

#[tokio::test]
async fn faults_fail_api_calls_but_never_the_token_endpoint() {
    let emu = start(ServeOptions {
        fault_rate: 1.0,
        ..ServeOptions::default()
    })
    .await;
    let t = app_token(&emu, ADMIN_APP, PA).await;
    let (mut errors, mut drops) = (0, 0);
    for _ in 0..12 {
        match client()
            .get(format!("{}{ENVS}", emu.ready().url))
            .bearer_auth(&t)
            .send()
            .await
        {
            Ok(r) => {
                assert!(
                    r.status() == StatusCode::INTERNAL_SERVER_ERROR
                        || r.status() == StatusCode::SERVICE_UNAVAILABLE,
                    "{}",
                    r.status()
                );
                let body: Value = r.json().await.unwrap();
                assert!(body["error"]["code"].is_string());
                errors += 1;
            }
            Err(_) => drops += 1,
        }
    }
    assert!(errors > 0 && drops > 0, "errors {errors}, drops {drops}");
    emu.shutdown().await.unwrap();
}

#[tokio::test]
async fn generated_tenant_serves_with_well_known_credentials() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let emu = Emulator::start(listener, ServeOptions::default())
        .await
        .unwrap();
    let ready = serde_json::to_value(emu.ready()).unwrap();
    let keys: Vec<&str> = ready
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(keys.len(), 6);
    for k in [
        "url",
        "tenant_id",
        "client_id",
        "client_secret",
        "username",
        "password",
    ] {
        assert!(ready[k].is_string(), "{k}");
    }
    let tid = emu.ready().tenant_id.clone();
    let url = format!("{}/{tid}/oauth2/v2.0/token", emu.ready().url);
    let form = [
        ("grant_type", "client_credentials"),
        ("client_id", emu.ready().client_id.as_str()),
        ("client_secret", emu.ready().client_secret.as_str()),
        ("scope", FLOW),
    ];
    let body: Value = client()
        .post(&url)
        .form(&form)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let fl = body["access_token"].as_str().unwrap().to_string();
    let (name, expected) = {
        let t = emu.tenant();
        let e = t.environments.iter().max_by_key(|e| e.flows).unwrap();
        (e.name.clone(), e.flows)
    };
    let (flows, _) = follow(
        &emu,
        &fl,
        &format!(
            "/providers/Microsoft.ProcessSimple/scopes/admin/environments/{name}/v2/flows?$top=7"
        ),
    )
    .await;
    assert_eq!(flows.len(), expected);
    assert_eq!(flows.iter().collect::<BTreeSet<_>>().len(), expected);
    // A delegated sign-in as the well-known admin reaches the admin APIs.
    let form = [
        ("grant_type", "password"),
        (
            "client_id",
            ppgov_emulator::scenario::wellknown::PUBLIC_CLIENT_ID,
        ),
        ("username", emu.ready().username.as_str()),
        ("password", emu.ready().password.as_str()),
        ("scope", PA),
    ];
    let r = client().post(&url).form(&form).send().await.unwrap();
    let status = r.status();
    let body: Value = r.json().await.unwrap();
    assert_eq!(status, StatusCode::OK, "{body}");
    let (s, _, envs) = get(&emu, body["access_token"].as_str().unwrap(), ENVS).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(
        envs["value"].as_array().unwrap().len(),
        emu.tenant().environments.len()
    );
    emu.shutdown().await.unwrap();
}
