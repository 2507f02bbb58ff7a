//! Corpus tests for the hard-coded secret scanner (PPG-FLW-006): real-looking flow definitions
//! with planted credentials that must be found, and look-alikes that must not fire.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use ppgov_engine::secrets::scan_definition;
use serde_json::{Value, json};

fn wrap(actions: Value) -> Value {
    json!({
        "$schema": "https://schema.management.azure.com/providers/Microsoft.Logic/schemas/2016-06-01/workflowdefinition.json#",
        "contentVersion": "1.0.0.0",
        "parameters": {
            "$connections": {"defaultValue": {}, "type": "Object"},
            "$authentication": {"defaultValue": {}, "type": "SecureObject"}
        },
        "triggers": {
            "Recurrence": {"type": "Recurrence", "recurrence": {"frequency": "Hour", "interval": 1},
                           "metadata": {"operationMetadataId": "0f8fad5b-d9cb-469f-a165-70867728950e"}}
        },
        "actions": actions
    })
}

fn kinds(def: &Value) -> Vec<&'static str> {
    scan_definition(def).into_iter().map(|h| h.kind).collect()
}

/// Planted secrets: each definition must produce at least one hit of the expected kind, and the
/// evidence must never contain the secret.
#[test]
fn planted_secrets_are_found_and_redacted() {
    let jwt = "eyJhbGciOiJSUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIiwibmFtZSI6IkpvaG4gRG9lIiwiaWF0IjoxNTE2MjM5MDIyfQ.SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c";
    let cases: Vec<(&str, Value, &str, &str)> = vec![
        (
            "bearer header",
            json!({"Call": {"type": "Http", "inputs": {"method": "GET", "uri": "https://api.partner.example/v2/orders",
            "headers": {"Authorization": "Bearer 8f3KqL2mZx9PwR4tYv7BnC1dE6gH0jS5"}}}}),
            "bearer_token",
            "8f3KqL2mZx9PwR4tYv7BnC1dE6gH0jS5",
        ),
        (
            "basic header",
            json!({"Call": {"type": "Http", "inputs": {"method": "POST", "uri": "https://legacy.example.com/soap",
            "headers": {"authorization": "Basic c3ZjX2Zsb3c6UzNjcjN0UGFzc3cwcmQh"}}}}),
            "basic_credentials",
            "c3ZjX2Zsb3c6UzNjcjN0UGFzc3cwcmQh",
        ),
        (
            "raw auth value",
            json!({"Call": {"type": "Http", "inputs": {"uri": "https://graph.example.net/me",
            "authentication": {"type": "Raw", "value": format!("Bearer {jwt}")}}}}),
            "jwt",
            jwt,
        ),
        (
            "jwt in body",
            json!({"Compose": {"type": "Compose", "inputs": {"token": jwt, "user": "x"}}}),
            "jwt",
            jwt,
        ),
        (
            "aws key",
            json!({"Init": {"type": "InitializeVariable", "inputs": {"variables": [{"name": "awsKey", "type": "string", "value": "AKIAIOSFODNN7EXAMPLE"}]}}}),
            "aws_access_key",
            "AKIAIOSFODNN7EXAMPLE",
        ),
        (
            "storage connection string",
            json!({"Set": {"type": "Compose", "inputs": "DefaultEndpointsProtocol=https;AccountName=contosodata;AccountKey=Xk2v9QmL4pR7tW1yB8nC3dF6gH0jS5aZ+q/LmNoPqRsTuVwXyZ1234567890AbCdEf==;EndpointSuffix=core.windows.net"}}),
            "storage_account_key",
            "Xk2v9QmL4pR7",
        ),
        (
            "sas url",
            json!({"Upload": {"type": "Http", "inputs": {"method": "PUT", "uri": "https://contosodata.blob.core.windows.net/exports/report.csv?sv=2022-11-02&ss=b&srt=o&sp=rwc&se=2027-01-01T00:00:00Z&sig=aB3dE5fG7hJ9kL1mN3pQ5rS7tU9vW1xY3zA5bC7dE9f%3D"}}}),
            "sas_signature",
            "aB3dE5fG7hJ9kL1mN3pQ5rS7tU9vW1x",
        ),
        (
            "sql connection string",
            json!({"Query": {"type": "Compose", "inputs": {"connectionString": "Server=tcp:sql-fin.database.windows.net,1433;Initial Catalog=ledger;User ID=flowsvc;Password=Wint3r!Sun#42;Encrypt=True"}}}),
            "connection_string_password",
            "Wint3r!Sun#42",
        ),
        (
            "private key",
            json!({"Sign": {"type": "Compose", "inputs": {"pem": "-----BEGIN RSA PRIVATE KEY-----\nMIIEowIBAAKCAQEA1x3Kq9vL2mZ8pR4tYv7BnC1dE6gH0jS5aZ\n-----END RSA PRIVATE KEY-----"}}}),
            "private_key",
            "MIIEowIBAAKCAQEA1x3Kq9vL2mZ8pR4tYv7BnC1dE6gH0jS5aZ",
        ),
        (
            "x-api-key header",
            json!({"Call": {"type": "Http", "inputs": {"uri": "https://api.weather.example/v1", "headers": {"x-api-key": "Zk3p9QmX2vL8rT4wB7nY1cF6hJ0sD5gA"}}}}),
            "api_key",
            "Zk3p9QmX2vL8rT4wB7nY1cF6hJ0sD5gA",
        ),
        (
            "apim subscription key",
            json!({"Call": {"type": "Http", "inputs": {"uri": "https://apim.contoso.example/orders", "headers": {"Ocp-Apim-Subscription-Key": "4f1c9a7e2b3d4e5f8a6b7c9d0e1f2a3b"}}}}),
            "api_key",
            "4f1c9a7e2b3d4e5f8a6b7c9d0e1f2a3b",
        ),
        (
            "oauth client secret",
            json!({"Token": {"type": "Http", "inputs": {"method": "POST", "uri": "https://login.microsoftonline.com/tenant/oauth2/v2.0/token",
            "authentication": {"type": "ActiveDirectoryOAuth", "tenant": "contoso.onmicrosoft.com", "audience": "https://graph.microsoft.com", "clientId": "3c2b1a90-1111-2222-3333-444455556666", "secret": "Q~8xK2mL9pR4tYv7BnC1dE6gH0jS5aZqWe"}}}}),
            "api_key",
            "Q~8xK2mL9pR4tYv7BnC1dE6gH0jS5aZqWe",
        ),
        (
            "basic auth password",
            json!({"Call": {"type": "Http", "inputs": {"uri": "https://ftp.example.org/upload", "authentication": {"type": "Basic", "username": "svc-upload", "password": "Summer2024!Go"}}}}),
            "password",
            "Summer2024!Go",
        ),
        (
            "password in body",
            json!({"Login": {"type": "Http", "inputs": {"method": "POST", "uri": "https://erp.example.com/api/login", "body": {"username": "integration", "password": "P@ssw0rd-Erp-77"}}}}),
            "password",
            "P@ssw0rd-Erp-77",
        ),
        (
            "url credentials",
            json!({"Call": {"type": "Http", "inputs": {"uri": "https://svc_user:N0tS0S3cret9@files.example.net/drop"}}}),
            "url_credentials",
            "N0tS0S3cret9",
        ),
        (
            "function key in query",
            json!({"Call": {"type": "Http", "inputs": {"uri": "https://fn-orders.azurewebsites.net/api/process?code=aZ3kLm9Qp2Rt5Vw8Xy1Bc4Df7Gh0Jk6Ln3Mp9Qr2St5Uv8Wx=="}}}),
            "url_query_secret",
            "aZ3kLm9Qp2Rt5Vw8Xy1Bc4Df7Gh0Jk6",
        ),
        (
            "nested in scope and condition",
            json!({"Scope": {"type": "Scope", "actions": {"Cond": {"type": "If", "expression": {"equals": [1, 1]}, "actions": {}, "else": {"actions": {
            "Notify": {"type": "Http", "inputs": {"uri": "https://hooks.example.com/x", "headers": {"apikey": "Hq7Lp2Xz9Mv4Nb8Rt1Yw6Kc3Jd5Fg0Sa"}}}}}}}}}),
            "api_key",
            "Hq7Lp2Xz9Mv4Nb8Rt1Yw6Kc3Jd5Fg0Sa",
        ),
        (
            "secure parameter default",
            json!({"Compose": {"type": "Compose", "inputs": "@parameters('apiKey')"}}),
            "api_key",
            "Tq8Lm3Xv9Kp2Wz7Nb4Hc1Jd6Fs0Ga5Ye",
        ),
        (
            "generic high entropy header",
            json!({"Call": {"type": "Http", "inputs": {"uri": "https://api.example.io/v1", "headers": {"X-Custom-Auth": "r8Vt2Lq9Xm4Kp7Wz1Nb6Hc3Jd0Fs5Ga8Ye"}}}}),
            "high_entropy_value",
            "r8Vt2Lq9Xm4Kp7Wz1Nb6Hc3Jd0Fs5Ga8Ye",
        ),
    ];
    for (name, actions, kind, secret) in cases {
        let mut def = wrap(actions);
        if name == "secure parameter default" {
            def["parameters"]["apiKey"] = json!({"type": "SecureString", "defaultValue": secret});
        }
        let hits = scan_definition(&def);
        assert!(
            hits.iter().any(|h| h.kind == kind),
            "{name}: expected {kind}, got {hits:?}"
        );
        let evidence = serde_json::to_string(&hits).unwrap();
        assert!(
            !evidence.contains(secret),
            "{name}: evidence leaks the secret: {evidence}"
        );
        assert!(
            hits.iter()
                .all(|h| h.path.starts_with("$.actions.") || h.path.starts_with("$.parameters.")),
            "{name}: {hits:?}"
        );
    }
}

/// Look-alikes: expressions, secure inputs, Key Vault, GUIDs, placeholders, plain URLs, ids and
/// ordinary business content must not fire.
#[test]
fn look_alikes_do_not_fire() {
    let cases: Vec<(&str, Value)> = vec![
        (
            "parameter reference",
            json!({"Call": {"type": "Http", "inputs": {"uri": "@parameters('apiUrl')", "headers": {"x-api-key": "@parameters('apiKey')", "Authorization": "Bearer @{body('Get_token')?['access_token']}"}}}}),
        ),
        (
            "secure inputs",
            json!({"Get_secret": {"type": "OpenApiConnection", "inputs": {"host": {"connectionName": "shared_keyvault", "operationId": "GetSecret", "apiId": "/providers/Microsoft.PowerApps/apis/shared_keyvault"}, "parameters": {"secretName": "erp-password"}},
            "runtimeConfiguration": {"secureData": {"properties": ["inputs", "outputs"]}}},
            "Call": {"type": "Http", "inputs": {"uri": "https://erp.example.com/api", "authentication": {"type": "Basic", "username": "svc", "password": "@body('Get_secret')?['value']"}}}}),
        ),
        (
            "key vault reference",
            json!({"Init": {"type": "InitializeVariable", "inputs": {"variables": [{"name": "pw", "type": "string", "value": "@Microsoft.KeyVault(SecretUri=https://kv-fin.vault.azure.net/secrets/erp/)"}]}}}),
        ),
        (
            "guids everywhere",
            json!({"Get_items": {"type": "OpenApiConnection", "inputs": {"host": {"connectionName": "shared_sharepointonline", "operationId": "GetItems", "apiId": "/providers/Microsoft.PowerApps/apis/shared_sharepointonline"},
            "parameters": {"dataset": "https://contoso.sharepoint.com/sites/finance", "table": "8a7d1c3e-8d53-4a8e-9d7c-1b2c3d4e5f60"}, "authentication": "@parameters('$authentication')"},
            "metadata": {"operationMetadataId": "b4c5d6e7-f809-4a1b-8c2d-3e4f5a6b7c8d", "8a7d1c3e-8d53-4a8e-9d7c-1b2c3d4e5f60": "Invoices"}}}),
        ),
        (
            "client id guid in oauth",
            json!({"Token": {"type": "Http", "inputs": {"uri": "https://login.microsoftonline.com/t/oauth2/token", "authentication": {"type": "ActiveDirectoryOAuth", "tenant": "contoso.onmicrosoft.com", "clientId": "3c2b1a90-1111-2222-3333-444455556666", "secret": "@parameters('clientSecret')"}}}}),
        ),
        (
            "placeholders",
            json!({"Compose": {"type": "Compose", "inputs": {"password": "<your password here>", "apiKey": "{{API_KEY}}", "token": "********", "secret": "changeme"}}}),
        ),
        (
            "short values",
            json!({"Compose": {"type": "Compose", "inputs": {"password": "abc", "token": "Bearer", "apikey": "none", "pwd": ""}}}),
        ),
        (
            "plain urls",
            json!({"Call": {"type": "Http", "inputs": {"method": "GET", "uri": "https://api.contoso.com/v1/customers?page=2&pageSize=50&orderBy=name", "headers": {"Accept": "application/json", "Content-Type": "application/json"}}}}),
        ),
        (
            "business text",
            json!({"Send_mail": {"type": "OpenApiConnection", "inputs": {"host": {"connectionName": "shared_office365", "operationId": "SendEmailV2", "apiId": "/providers/Microsoft.PowerApps/apis/shared_office365"},
            "parameters": {"emailMessage/To": "finance@contoso.com", "emailMessage/Subject": "Password reset reminder", "emailMessage/Body": "<p>Please reset your password via the self-service portal before Friday.</p>"}}}}),
        ),
        (
            "token type and expiry",
            json!({"Parse": {"type": "ParseJson", "inputs": {"content": "@body('Token')", "schema": {"type": "object", "properties": {"access_token": {"type": "string"}, "token_type": {"type": "string"}, "expires_in": {"type": "integer"}}}}}}),
        ),
        (
            "low entropy key-like",
            json!({"Call": {"type": "Http", "inputs": {"uri": "https://x.example.com", "headers": {"x-api-key": "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", "X-Request-Id": "req-000000000000000000001"}}}}),
        ),
        (
            "ordinary headers",
            json!({"Call": {"type": "Http", "inputs": {"uri": "https://contoso.sharepoint.com/_api/web/lists", "headers": {"Prefer": "odata.maxpagesize=500", "Accept": "application/json;odata=nometadata", "If-Match": "*", "x-ms-client-request-id": "6f1c2a3b-4d5e-4f60-8a7b-9c0d1e2f3a4b", "User-Agent": "PowerAutomate/1.0 (flow; build 20240101)"}}}}),
        ),
        (
            "secure parameter without default",
            json!({"Compose": {"type": "Compose", "inputs": "@parameters('siteUrl')"}}),
        ),
        (
            "hash in non-credential position",
            json!({"Compose": {"type": "Compose", "inputs": {"etag": "W/\"9c4f8e2d1b7a6c5f3e0d\"", "sha256": "3a7bd3e2360a3d29eea436fcfb7e44c735d117c42d1c1835420b6b9942dd4f1b", "fileId": "01ABCDEF2GHIJKLMNOPQRSTUVWXYZ3456"}}}),
        ),
        (
            "sas expression",
            json!({"Upload": {"type": "Http", "inputs": {"method": "PUT", "uri": "@{variables('blobUrl')}?@{parameters('sasToken')}"}}}),
        ),
        (
            "connection string from parameter",
            json!({"Compose": {"type": "Compose", "inputs": {"connectionString": "Server=tcp:sql.example.net;Database=db;Authentication=Active Directory Managed Identity;"}}}),
        ),
    ];
    for (name, actions) in cases {
        let def = wrap(actions);
        assert_eq!(
            kinds(&def),
            Vec::<&str>::new(),
            "{name} fired: {:?}",
            scan_definition(&def)
        );
    }
}

/// The definition may arrive bare or wrapped in `{"definition": ...}`; both are scanned.
#[test]
fn wrapped_definition_is_scanned() {
    let def = json!({"definition": wrap(json!({"Call": {"type": "Http", "inputs": {"uri": "https://a.example.com", "headers": {"x-api-key": "Zk3p9QmX2vL8rT4wB7nY1cF6hJ0sD5gA"}}}}))});
    assert_eq!(kinds(&def), vec!["api_key"]);
}
