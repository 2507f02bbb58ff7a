//! Builds the `PowerPlatformResources` table (ARG rows, `INVENTORY-API.md` §2–3) from the
//! environment documents and each environment's content.

use serde_json::{Map, Value, json};

use super::super::store::StoredEnv;
use crate::tenant::EnvSpec;

/// Lower-case ARG type of environments.
pub const TYPE_ENV: &str = "microsoft.powerplatform/environments";
/// Lower-case ARG type of canvas apps.
pub const TYPE_CANVAS: &str = "microsoft.powerapps/canvasapps";
/// Lower-case ARG type of cloud flows.
pub const TYPE_FLOW: &str = "microsoft.powerautomate/cloudflows";

fn s<'a>(v: &'a Value, path: &[&str]) -> Option<&'a str> {
    let mut cur = v;
    for p in path {
        cur = cur.get(p)?;
    }
    cur.as_str()
}

fn text(v: &Value, paths: &[&[&str]]) -> Value {
    paths
        .iter()
        .find_map(|p| s(v, p))
        .map_or(Value::String(String::new()), |x| {
            Value::String(x.to_string())
        })
}

fn envelope(
    id: String,
    name: &str,
    kind: &str,
    tenant_id: &str,
    location: &str,
    properties: Value,
) -> Map<String, Value> {
    let row = json!({
        "id": id, "name": name, "type": kind, "tenantId": tenant_id, "kind": "", "location": location,
        "resourceGroup": "", "subscriptionId": "", "managedBy": "", "sku": null, "plan": null,
        "properties": properties, "tags": null, "identity": null, "zones": null, "extendedLocation": null
    });
    match row {
        Value::Object(m) => m,
        _ => Map::new(),
    }
}

/// The environment row.
pub fn env_row(spec: &EnvSpec, tenant_id: &str) -> Map<String, Value> {
    let d = &spec.doc;
    let sku = s(d, &["properties", "environmentSku"]).unwrap_or("Production");
    let env_type = match sku {
        "Teams" => "Dataverse for Teams",
        "SubscriptionBasedTrial" => "Trial",
        other => other,
    };
    let managed = s(
        d,
        &["properties", "governanceConfiguration", "protectionLevel"],
    ) == Some("Standard");
    let group = s(d, &["properties", "parentEnvironmentGroup", "id"]).unwrap_or("");
    let props = json!({
        "displayName": text(d, &[&["properties", "displayName"]]),
        "createdAt": text(d, &[&["properties", "createdTime"]]),
        "createdBy": text(d, &[&["properties", "createdBy", "id"]]),
        "lastModifiedAt": text(d, &[&["properties", "lastModifiedTime"], &["properties", "createdTime"]]),
        "environmentType": env_type,
        "isManaged": managed,
        "environmentGroup": "",
        "environmentGroupId": group,
    });
    let location = s(d, &["location"]).unwrap_or("unitedstates");
    envelope(
        format!(
            "/providers/Microsoft.PowerPlatform/environments/{}",
            spec.name
        ),
        &spec.name,
        TYPE_ENV,
        tenant_id,
        location,
        props,
    )
}

/// `shared_office365users` from `/providers/Microsoft.PowerApps/apis/shared_office365users`.
fn connector_slug(api_id: &str) -> String {
    api_id.rsplit('/').next().unwrap_or(api_id).to_string()
}

fn app_row(env: &EnvSpec, location: &str, tenant_id: &str, d: &Value) -> Map<String, Value> {
    let name = s(d, &["name"]).unwrap_or_default();
    let owner = text(
        d,
        &[
            &["properties", "owner", "id"],
            &["properties", "createdBy", "id"],
        ],
    );
    let mut connectors: Vec<Value> = Vec::new();
    if let Some(Value::Object(refs)) = d
        .get("properties")
        .and_then(|p| p.get("connectionReferences"))
    {
        for r in refs.values() {
            if let Some(id) = s(r, &["id"]) {
                let slug = connector_slug(id);
                if !connectors.iter().any(|c| c["connectorId"] == slug.as_str()) {
                    connectors.push(json!({"connectorId": slug}));
                }
            }
        }
    }
    let p = d.get("properties").cloned().unwrap_or(Value::Null);
    let props = json!({
        "displayName": text(d, &[&["properties", "displayName"]]),
        "createdAt": text(d, &[&["properties", "createdTime"]]),
        "createdBy": text(d, &[&["properties", "createdBy", "id"], &["properties", "owner", "id"]]),
        "ownerId": owner,
        "environmentId": env.name,
        "lastModifiedAt": text(d, &[&["properties", "lastModifiedTime"], &["properties", "createdTime"]]),
        "lastModifiedBy": text(d, &[&["properties", "lastModifiedBy", "id"]]),
        "isQuarantined": p.get("isQuarantined").and_then(Value::as_bool).unwrap_or(false),
        "powerPlatformConnectors": connectors,
        "sharedUsersCount": p.get("sharedUsersCount").cloned().unwrap_or(Value::from(0)),
        "sharedGroupsCount": p.get("sharedGroupsCount").cloned().unwrap_or(Value::from(0)),
        "bypassConsent": p.get("bypassConsent").and_then(Value::as_bool).unwrap_or(false),
        "appType": "CanvasApp",
    });
    envelope(
        format!(
            "/providers/Microsoft.PowerPlatform/environments/{}/providers/Microsoft.PowerApps/canvasApps/{name}",
            env.name
        ),
        name,
        TYPE_CANVAS,
        tenant_id,
        location,
        props,
    )
}

fn flow_row(env: &EnvSpec, location: &str, tenant_id: &str, d: &Value) -> Map<String, Value> {
    let name = s(d, &["name"]).unwrap_or_default();
    // `ownerId` is the creator: the inventory does not follow ownership changes.
    let creator = text(
        d,
        &[
            &["properties", "creator", "objectId"],
            &["properties", "createdBy", "id"],
        ],
    );
    let mut connectors: Vec<Value> = Vec::new();
    if let Some(Value::Object(refs)) = d
        .get("properties")
        .and_then(|p| p.get("connectionReferences"))
    {
        for (key, r) in refs {
            let slug = s(r, &["id"]).map_or_else(|| key.clone(), connector_slug);
            let bare = slug.strip_prefix("shared_").unwrap_or(&slug).to_string();
            if !connectors.iter().any(|c| c["connectorId"] == bare.as_str()) {
                connectors.push(json!({"connectorId": bare}));
            }
        }
    }
    let status = match s(d, &["properties", "state"]) {
        Some("Started") => "Activated",
        Some("Suspended") => "Suspended",
        Some("Stopped") => "Stopped",
        _ => "NotStarted",
    };
    let trigger = d
        .get("properties")
        .and_then(|p| p.get("definitionSummary"))
        .and_then(|s| s.get("triggers"))
        .and_then(Value::as_array)
        .and_then(|t| t.first())
        .cloned()
        .unwrap_or(Value::Null);
    let trigger_kind = match (s(&trigger, &["type"]), s(&trigger, &["kind"])) {
        (Some("Recurrence"), _) => "Recurrence",
        (Some("Request"), _) => "Instant",
        (Some(_), _) => "Automated",
        _ => "Manual",
    };
    let props = json!({
        "displayName": text(d, &[&["properties", "displayName"]]),
        "createdAt": text(d, &[&["properties", "createdTime"]]),
        "createdBy": creator,
        "ownerId": creator,
        "environmentId": env.name,
        "lastModifiedAt": text(d, &[&["properties", "lastModifiedTime"], &["properties", "createdTime"]]),
        "lastModifiedBy": "",
        "workflowEntityId": text(d, &[&["properties", "workflowEntityId"]]),
        "status": status,
        "flowTriggerType": trigger_kind,
        "trigger": {
            "operationId": text(&trigger, &[&["swaggerOperationId"], &["type"]]),
            "connectorId": "",
            "connectorDisplayName": "",
            "operationDisplayName": "",
        },
        "powerPlatformConnectors": connectors,
    });
    envelope(
        format!(
            "/providers/Microsoft.PowerPlatform/environments/{}/providers/Microsoft.PowerAutomate/cloudFlows/{name}",
            env.name
        ),
        name,
        TYPE_FLOW,
        tenant_id,
        location,
        props,
    )
}

/// All rows of one environment: itself, its canvas apps and its cloud flows.
pub fn rows_for_env(
    spec: &EnvSpec,
    content: &StoredEnv,
    tenant_id: &str,
) -> Vec<Map<String, Value>> {
    let location = s(&spec.doc, &["location"])
        .unwrap_or("unitedstates")
        .to_string();
    let mut out = Vec::with_capacity(1 + content.apps().len() + content.flows().len());
    out.push(env_row(spec, tenant_id));
    out.extend(
        content
            .apps()
            .iter()
            .map(|a| app_row(spec, &location, tenant_id, &a.doc.value())),
    );
    out.extend(
        content
            .flows()
            .iter()
            .map(|f| flow_row(spec, &location, tenant_id, &f.doc.value())),
    );
    out
}
