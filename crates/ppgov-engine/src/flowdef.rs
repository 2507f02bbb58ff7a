//! Facts read from a flow's workflow definition: the connectors it really uses (including the
//! virtual `http` and `httprequestreceived`), its connector actions and its HTTP actions.
//!
//! Computed once per flow per scan and shared by the DLP, exfiltration and HTTP rules.

use ppgov_core::{Flow, connector_key};
use serde_json::Value;

/// Virtual connector key of the HTTP action.
pub const HTTP: &str = "http";
/// Virtual connector key of the HTTP Request trigger.
pub const HTTP_REQUEST_RECEIVED: &str = "httprequestreceived";

/// One `OpenApiConnection` action: which connector, which operation.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct ApiAction {
    /// Action name in the definition.
    pub name: String,
    /// Connector key.
    pub connector: String,
    /// `inputs.host.operationId`.
    pub operation_id: String,
}

/// One `Http` action.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct HttpAction {
    /// Action name in the definition.
    pub name: String,
    /// `inputs.uri` when it is a literal string, `None` when it is an expression or absent.
    pub literal_uri: Option<String>,
    /// Lower-case host of the literal URI, or `<dynamic>` for an expression.
    pub host: String,
}

/// What a flow uses, as far as the rules care.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FlowFacts {
    /// Connector keys, sorted and unique: connection references plus virtual connectors.
    pub connectors: Vec<String>,
    /// Connector actions (for action rules).
    pub api_actions: Vec<ApiAction>,
    /// HTTP actions (for endpoint rules and the HTTP host allow-list).
    pub http_actions: Vec<HttpAction>,
    /// True when a trigger is of type `Request`.
    pub request_trigger: bool,
}

/// The definition object itself, whether given bare or under a `definition` key.
pub fn definition_root(def: &Value) -> &Value {
    match def.get("definition") {
        Some(inner) if inner.get("actions").is_some() || inner.get("triggers").is_some() => inner,
        _ => def,
    }
}

/// Reads the facts of a flow.
pub fn flow_facts(flow: &Flow) -> FlowFacts {
    let mut facts = FlowFacts::default();
    let mut connectors: Vec<String> = flow
        .connectors
        .iter()
        .map(|c| c.key.clone())
        .filter(|k| !k.is_empty())
        .collect();
    match &flow.definition {
        Some(def) => {
            let root = definition_root(def);
            if let Some(triggers) = root.get("triggers").and_then(Value::as_object) {
                for t in triggers.values() {
                    if type_is(t, "Request") {
                        facts.request_trigger = true;
                    }
                }
            }
            if let Some(actions) = root.get("actions").and_then(Value::as_object) {
                walk_actions(actions, flow, &mut facts);
            }
        }
        None => {
            facts.request_trigger = flow
                .trigger_type
                .as_deref()
                .is_some_and(|t| t.eq_ignore_ascii_case("Request"));
        }
    }
    if !facts.http_actions.is_empty() {
        connectors.push(HTTP.to_string());
    }
    if facts.request_trigger {
        connectors.push(HTTP_REQUEST_RECEIVED.to_string());
    }
    connectors.sort();
    connectors.dedup();
    facts.connectors = connectors;
    facts.api_actions.sort();
    facts.http_actions.sort();
    facts
}

fn type_is(v: &Value, t: &str) -> bool {
    v.get("type")
        .and_then(Value::as_str)
        .is_some_and(|s| s.eq_ignore_ascii_case(t))
}

fn walk_actions(actions: &serde_json::Map<String, Value>, flow: &Flow, facts: &mut FlowFacts) {
    for (name, action) in actions {
        if type_is(action, "OpenApiConnection") {
            let host = action.pointer("/inputs/host");
            let op = host
                .and_then(|h| h.get("operationId"))
                .and_then(Value::as_str);
            if let (Some(host), Some(op)) = (host, op)
                && let Some(connector) = host_connector(host, flow)
            {
                facts.api_actions.push(ApiAction {
                    name: name.clone(),
                    connector,
                    operation_id: op.to_string(),
                });
            }
        } else if type_is(action, "Http") {
            let uri = action.pointer("/inputs/uri").and_then(Value::as_str);
            let (literal_uri, host) = match uri {
                Some(u) if !is_expression(u) => (Some(u.to_string()), url_host(u)),
                _ => (None, "<dynamic>".to_string()),
            };
            facts.http_actions.push(HttpAction {
                name: name.clone(),
                literal_uri,
                host,
            });
        }
        // Containers: Scope, Foreach, Until (`actions`), If (`else.actions`), Switch (`cases`, `default`).
        if let Some(inner) = action.get("actions").and_then(Value::as_object) {
            walk_actions(inner, flow, facts);
        }
        for branch in ["else", "default"] {
            if let Some(inner) = action
                .get(branch)
                .and_then(|b| b.get("actions"))
                .and_then(Value::as_object)
            {
                walk_actions(inner, flow, facts);
            }
        }
        if let Some(cases) = action.get("cases").and_then(Value::as_object) {
            for case in cases.values() {
                if let Some(inner) = case.get("actions").and_then(Value::as_object) {
                    walk_actions(inner, flow, facts);
                }
            }
        }
    }
}

/// The connector of an `OpenApiConnection` host: its `apiId`, else its `connectionName` (the
/// connection reference key, e.g. `shared_sql_1`) resolved through the flow's references.
fn host_connector(host: &Value, flow: &Flow) -> Option<String> {
    if let Some(api) = host
        .get("apiId")
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
    {
        return Some(connector_key(api));
    }
    let name = host
        .get("connectionName")
        .and_then(Value::as_str)?
        .to_ascii_lowercase();
    if let Some(c) = flow.connectors.iter().find(|c| c.key == name) {
        return Some(c.key.clone());
    }
    // `shared_sql_1` is the second reference to `shared_sql`.
    let trimmed = match name.rsplit_once('_') {
        Some((base, n)) if !n.is_empty() && n.chars().all(|c| c.is_ascii_digit()) => {
            base.to_string()
        }
        _ => name,
    };
    Some(trimmed)
}

/// True for a Logic Apps expression rather than a literal (`@...`, or an interpolated `@{...}`).
pub fn is_expression(s: &str) -> bool {
    let t = s.trim_start();
    t.starts_with('@') || t.contains("@{")
}

/// Lower-case host of a URL (`https://user@Api.Contoso.com:443/x` -> `api.contoso.com`); a URL
/// without a scheme is read as `host/path`.
pub fn url_host(url: &str) -> String {
    let rest = match url.find("://") {
        Some(i) => &url[i + 3..],
        None => url,
    };
    let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
    let host_port = authority.rsplit('@').next().unwrap_or_default();
    let host = if host_port.starts_with('[') {
        host_port
            .split(']')
            .next()
            .map(|h| h.trim_start_matches('['))
            .unwrap_or_default()
    } else {
        host_port.split(':').next().unwrap_or_default()
    };
    host.trim().to_ascii_lowercase()
}

/// Case-insensitive glob with `*` matching any run of characters.
pub fn glob_match(pattern: &str, text: &str) -> bool {
    let p: Vec<char> = pattern.to_lowercase().chars().collect();
    let t: Vec<char> = text.to_lowercase().chars().collect();
    let (mut pi, mut ti) = (0usize, 0usize);
    let (mut star, mut mark) = (None::<usize>, 0usize);
    while ti < t.len() {
        if pi < p.len() && p[pi] != '*' && p[pi] == t[ti] {
            pi += 1;
            ti += 1;
        } else if pi < p.len() && p[pi] == '*' {
            star = Some(pi);
            mark = ti;
            pi += 1;
        } else if let Some(s) = star {
            pi = s + 1;
            mark += 1;
            ti = mark;
        } else {
            return false;
        }
    }
    while pi < p.len() && p[pi] == '*' {
        pi += 1;
    }
    pi == p.len()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn hosts_and_globs() {
        assert_eq!(
            url_host("https://user:pw@Api.Contoso.com:8443/x?y"),
            "api.contoso.com"
        );
        assert_eq!(url_host("contoso.com/path"), "contoso.com");
        assert!(glob_match("*.contoso.com", "api.CONTOSO.com"));
        assert!(!glob_match("*.contoso.com", "contoso.com.evil.net"));
        assert!(glob_match("*", ""));
        assert!(is_expression("@parameters('u')"));
        assert!(is_expression("https://@{variables('h')}/x"));
    }

    #[test]
    fn nested_actions_and_virtual_connectors() {
        let flow = Flow {
            definition: Some(json!({
                "triggers": {"manual": {"type": "Request", "kind": "Http"}},
                "actions": {
                    "Scope": {"type": "Scope", "actions": {
                        "Call": {"type": "Http", "inputs": {"method": "GET", "uri": "https://api.example.com/v1"}}
                    }},
                    "Cond": {"type": "If", "actions": {}, "else": {"actions": {
                        "Get": {"type": "OpenApiConnection", "inputs": {"host": {"connectionName": "shared_sql_1", "operationId": "GetItems"}}}
                    }}}
                }
            })),
            ..Flow::default()
        };
        let f = flow_facts(&flow);
        assert_eq!(f.connectors, vec!["http", "httprequestreceived"]);
        assert_eq!(f.http_actions[0].host, "api.example.com");
        assert_eq!(f.api_actions[0].connector, "shared_sql");
        assert_eq!(f.api_actions[0].operation_id, "GetItems");
    }
}
