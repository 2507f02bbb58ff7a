//! Power Apps custom connectors (D6, admin form):
//! `GET /providers/Microsoft.PowerApps/scopes/admin/environments/{env}/apis?$filter=isCustomApi eq 'True'`.
//!
//! Shape as the service answers (CLI for Microsoft 365's recorded `pa connector list`
//! responses): `{"value": [{"name": "shared_<name>-5f<hex>-5f<hex>", "id":
//! "/providers/Microsoft.PowerApps/apis/<name>", "type": "Microsoft.PowerApps/apis",
//! "properties": {"displayName", "isCustomApi": true, "runtimeUrls", "primaryRuntimeUrl",
//! "metadata": {"source": "powerapps-user-defined", ...}, "apiDefinitions": {...},
//! "backendService": {"serviceUrl"}, "environment": {"id", "name"}, ...}}]}`.
//!
//! Every environment gets a custom connector whose `backendService.serviceUrl` is on the
//! tenant's domain; every non-default environment also gets one whose response carries no
//! backend (the host then cannot be known from the list, as with some real connectors).

use serde_json::{Value, json};
use sha2::Digest;

fn hex16(seed: &str) -> String {
    let d = sha2::Sha256::digest(seed.as_bytes());
    d.iter().take(8).map(|b| format!("{b:02x}")).collect()
}

fn doc(env: &str, display: &str, slug: &str, backend: Option<String>) -> Value {
    let name = format!(
        "shared_{slug}-5f{}-5f{}",
        hex16(&format!("{env}/{slug}/a")),
        hex16(&format!("{env}/{slug}/b"))
    );
    let runtime = format!(
        "https://europe-002.azure-apim.net/apim/{}",
        name.trim_start_matches("shared_")
    );
    let mut props = json!({
        "displayName": display,
        "iconUri": "https://az787822.vo.msecnd.net/defaulticons/api-dedicated.png",
        "iconBrandColor": "#007ee5",
        "apiEnvironment": "Shared",
        "isCustomApi": true,
        "connectionParameters": {},
        "runtimeUrls": [runtime],
        "primaryRuntimeUrl": runtime,
        "metadata": {"source": "powerapps-user-defined", "brandColor": "#007ee5", "environmentName": env, "almMode": "Environment", "allowSharing": false},
        "capabilities": [],
        "description": "",
        "apiDefinitions": {
            "originalSwaggerUrl": format!("https://paeu2weu8.blob.core.windows.net/api-swagger-files/{name}.json_original"),
            "modifiedSwaggerUrl": format!("https://paeu2weu8.blob.core.windows.net/api-swagger-files/{name}.json")
        },
        "createdTime": "2025-03-04T09:15:00.0000000Z",
        "changedTime": "2025-03-04T09:15:00.0000000Z",
        "environment": {"id": format!("/providers/Microsoft.PowerApps/environments/{env}"), "name": env},
        "tier": "Standard",
        "publisher": "Contoso"
    });
    if let (Some(url), Some(obj)) = (backend, props.as_object_mut()) {
        obj.insert("backendService".into(), json!({"serviceUrl": url}));
    }
    json!({
        "name": name,
        "id": format!("/providers/Microsoft.PowerApps/apis/{name}"),
        "type": "Microsoft.PowerApps/apis",
        "properties": props
    })
}

/// The custom connectors of environment `env` of a tenant on `domain`.
pub fn custom_apis(env: &str, domain: &str) -> Vec<Value> {
    let mut out = vec![doc(
        env,
        "Contoso ERP",
        "contoso-20erp",
        Some(format!("https://erp.{domain}/api")),
    )];
    if !env.starts_with("Default-") {
        out.push(doc(env, "Legacy gateway", "legacy-20gateway", None));
    }
    out
}
