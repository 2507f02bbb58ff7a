//! Custom connectors (D6, `isCustomApi`), with the host URL DLP URL patterns are matched against.

use ppgov_core::{CustomConnector, connector_key};
use ppgov_model::powerapps;
use serde_json::Value;

/// Maps one custom connector of `environment_id`. The host URL is `backendService.serviceUrl`,
/// else the API definition's first scheme, `host` and `basePath`; `None` when neither is given
/// (the DLP verdict then says the host is unknown instead of guessing).
pub fn custom_connector(environment_id: &str, c: &powerapps::Connector) -> CustomConnector {
    let p = &c.properties;
    let from_backend = p
        .backend_service
        .as_ref()
        .and_then(|b| b.service_url.as_deref())
        .map(str::trim)
        .filter(|u| !u.is_empty())
        .map(str::to_string);
    let from_swagger = || {
        let sw = p.swagger.as_ref()?;
        let host = sw
            .get("host")
            .and_then(Value::as_str)
            .filter(|h| !h.is_empty())?;
        let scheme = sw
            .get("schemes")
            .and_then(Value::as_array)
            .and_then(|s| s.first())
            .and_then(Value::as_str)
            .unwrap_or("https");
        let base = sw.get("basePath").and_then(Value::as_str).unwrap_or("");
        Some(format!("{scheme}://{host}{base}"))
    };
    let name = if c.name.is_empty() {
        c.id.clone().unwrap_or_default()
    } else {
        c.name.clone()
    };
    CustomConnector {
        environment_id: environment_id.to_string(),
        key: connector_key(&name),
        display_name: p.display_name.clone().unwrap_or_else(|| name.clone()),
        host_url: from_backend.or_else(from_swagger),
    }
}
