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
    /// `inputs.uri` when it is entirely a literal string, `None` when any part is an expression.
    pub literal_uri: Option<String>,
    /// The URL endpoint rules judge: the literal URI read as a WHATWG URL (no user-info), or,
    /// when only the path or query is an expression, `scheme://host` plus the literal path
    /// before the first expression. `None` when the host itself is not known.
    pub rule_uri: Option<String>,
    /// Lower-case host as the runtime reads it (WHATWG: user-info dropped, `\` read as `/`,
    /// percent-decoded, IDN to punycode, port dropped); [`DYNAMIC_HOST`] when the host is an
    /// expression; [`INVALID_HOST`] when the literal is not a URL.
    pub host: String,
    /// True when the host is literal but the path or query is an expression.
    pub dynamic_path: bool,
}

/// Host of an HTTP action whose host is an expression: it cannot be verified.
pub const DYNAMIC_HOST: &str = "<dynamic>";
/// Host of an HTTP action whose literal URI is not a URL.
pub const INVALID_HOST: &str = "<invalid>";

impl HttpAction {
    /// True when the host is known (neither dynamic nor invalid).
    pub fn host_known(&self) -> bool {
        self.host != DYNAMIC_HOST && self.host != INVALID_HOST
    }
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
    /// True when a trigger is "When an HTTP request is received" (see [`is_http_request_trigger`]).
    pub request_trigger: bool,
}

/// The definition object itself, whether given bare or under a `definition` key (a solution's
/// `Workflows/*.json` puts it under `properties.definition`).
pub fn definition_root(def: &Value) -> &Value {
    if let Some(inner) = def.pointer("/properties/definition")
        && (inner.get("actions").is_some() || inner.get("triggers").is_some())
    {
        return inner;
    }
    match def.get("definition") {
        Some(inner) if inner.get("actions").is_some() || inner.get("triggers").is_some() => inner,
        _ => def,
    }
}

/// True when a trigger of this `type` and `kind` is the "When an HTTP request is received"
/// trigger, the one DLP classifies as the HTTP Request virtual connector: type `Request` with
/// kind `Http`, or with no kind at all (the Logic Apps default for a Request trigger). Manual
/// (`Button`), Power Apps (`PowerApp`, `PowerAppV2`), Copilot (`Skills`, `VirtualAgent`) and any
/// other kind are not.
pub fn is_http_request_trigger(trigger_type: Option<&str>, kind: Option<&str>) -> bool {
    trigger_type.is_some_and(|t| t.eq_ignore_ascii_case("Request"))
        && kind.is_none_or(|k| k.trim().is_empty() || k.eq_ignore_ascii_case("Http"))
}

/// Reads the facts of a flow. With a definition, the definition decides the virtual connectors
/// (`http`, `httprequestreceived`); without one, the crawler's reading of the summary stands.
pub fn flow_facts(flow: &Flow) -> FlowFacts {
    let mut facts = FlowFacts::default();
    let virtual_key = |k: &str| k == HTTP || k == HTTP_REQUEST_RECEIVED;
    let mut connectors: Vec<String> = flow
        .connectors
        .iter()
        .map(|c| c.key.clone())
        .filter(|k| !k.is_empty())
        .filter(|k| flow.definition.is_none() || !virtual_key(k))
        .collect();
    if let Some(def) = &flow.definition {
        let root = definition_root(def);
        if let Some(triggers) = root.get("triggers").and_then(Value::as_object) {
            for t in triggers.values() {
                let ty = t.get("type").and_then(Value::as_str);
                let kind = t.get("kind").and_then(Value::as_str);
                if is_http_request_trigger(ty, kind) {
                    facts.request_trigger = true;
                }
            }
        }
        if let Some(actions) = root.get("actions").and_then(Value::as_object) {
            walk_actions(actions, flow, &mut facts);
        }
        if !facts.http_actions.is_empty() {
            connectors.push(HTTP.to_string());
        }
        if facts.request_trigger {
            connectors.push(HTTP_REQUEST_RECEIVED.to_string());
        }
    } else {
        facts.request_trigger = connectors.iter().any(|k| k == HTTP_REQUEST_RECEIVED);
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
            facts.http_actions.push(http_action(name, uri));
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

/// Reads an `Http` action's URI: the host from the literal URI, or from its literal prefix when
/// only the path or query is an expression.
pub fn http_action(name: &str, uri: Option<&str>) -> HttpAction {
    let mut a = HttpAction {
        name: name.to_string(),
        literal_uri: None,
        rule_uri: None,
        host: DYNAMIC_HOST.to_string(),
        dynamic_path: false,
    };
    let Some(u) = uri.map(str::trim) else {
        return a;
    };
    if !is_expression(u) {
        a.literal_uri = Some(u.to_string());
        match parse_url(u) {
            Some(parsed) => {
                a.host = host_of(&parsed);
                a.rule_uri = Some(without_userinfo(&parsed));
            }
            None => a.host = INVALID_HOST.to_string(),
        }
        return a;
    }
    // `https://graph.microsoft.com/v1.0/groups/@{...}`: the host is literal when the authority
    // ends (at `/`, `\`, `?` or `#`) before the first expression.
    if u.starts_with('@') && !u.starts_with("@{") {
        return a;
    }
    let prefix = &u[..u.find("@{").unwrap_or(u.len())];
    let Some(scheme_end) = prefix.find("://") else {
        return a;
    };
    let after = &prefix[scheme_end + 3..];
    let Some(auth_end) = after.find(['/', '\\', '?', '#']) else {
        return a;
    };
    if auth_end == 0 {
        return a;
    }
    let literal = &prefix[..scheme_end + 3 + auth_end];
    if let Some(parsed) = parse_url(literal) {
        a.host = host_of(&parsed);
        a.dynamic_path = true;
        let origin = without_userinfo(&parsed);
        let path = &after[auth_end..];
        a.rule_uri = Some(format!(
            "{}{}",
            origin.trim_end_matches('/'),
            path.replace('\\', "/")
        ));
    }
    a
}

/// Parses a URL the way WHATWG does; a URL without a scheme is read as `https://` + it.
fn parse_url(u: &str) -> Option<url::Url> {
    let u = u.trim();
    if u.is_empty() {
        return None;
    }
    let parsed = if u.contains("://") {
        url::Url::parse(u).ok()?
    } else {
        url::Url::parse(&format!("https://{u}")).ok()?
    };
    parsed.host_str().filter(|h| !h.is_empty())?;
    Some(parsed)
}

fn host_of(u: &url::Url) -> String {
    u.host_str()
        .unwrap_or_default()
        .trim_start_matches('[')
        .trim_end_matches(']')
        .trim_end_matches('.')
        .to_ascii_lowercase()
}

/// `scheme://host[:port]/path?query`, without user-info or fragment.
fn without_userinfo(u: &url::Url) -> String {
    let mut out = format!("{}://{}", u.scheme(), u.host_str().unwrap_or_default());
    if let Some(p) = u.port() {
        out.push_str(&format!(":{p}"));
    }
    out.push_str(u.path());
    if let Some(q) = u.query() {
        out.push('?');
        out.push_str(q);
    }
    out
}

/// Lower-case host of a URL as the runtime reads it (WHATWG URL parsing: user-info dropped,
/// backslashes read as `/`, percent-decoding, IDN to punycode, port dropped); a URL without a
/// scheme is read as `host/path`. Empty when the text is not a URL.
pub fn url_host(url: &str) -> String {
    parse_url(url).map(|u| host_of(&u)).unwrap_or_default()
}

/// The URL as endpoint patterns see it: `scheme://host[:port]/path?query` (WHATWG-normalised,
/// no user-info), or `None` when it is not a URL.
pub fn normalized_url(url: &str) -> Option<String> {
    parse_url(url).map(|u| without_userinfo(&u))
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
