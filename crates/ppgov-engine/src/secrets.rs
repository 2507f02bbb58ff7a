//! Hard-coded credential detection in flow definitions (PPG-FLW-006).
//!
//! Walks the workflow JSON and reports literal credentials: `Authorization` Bearer/Basic values,
//! JWTs, AWS access keys, Azure storage account keys and SAS signatures, connection-string
//! passwords, PEM private keys, URL user-info passwords and key-like query parameters, values of
//! credential-named keys and headers, and high-entropy values in header, query and
//! credential-like positions. It stays quiet on expressions (`@...`, `@{...}`: parameters,
//! secure inputs, Key Vault references), GUIDs, placeholders, short or low-entropy strings and
//! plain URLs.
//!
//! Solution exports write environment-variable values into `parameters.<name>.defaultValue`;
//! such a default is judged by the parameter's name, its `metadata.schemaName` (publisher
//! prefix dropped) and its `type` (`SecureString`, `SecureObject`), the way credential-named
//! keys are judged elsewhere.
//!
//! Evidence reveals no character of the secret: its kind, its length, where it is (JSON path)
//! and a short fingerprint (the first 8 hex digits of its SHA-256) to correlate repeats across
//! flows.

use regex::Regex;
use serde::Serialize;
use serde_json::Value;
use sha2::{Digest, Sha256};
use std::sync::LazyLock;

/// One suspected credential.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct SecretHit {
    /// What it looks like: `bearer_token`, `jwt`, `aws_access_key`, `private_key`, ...
    pub kind: &'static str,
    /// Where, as a JSON path (`$.actions.Call.inputs.headers.x-api-key`).
    pub path: String,
    /// Length of the secret in characters.
    pub length: usize,
    /// First 8 hex digits of the secret's SHA-256: the same secret gives the same fingerprint.
    pub fingerprint: String,
    /// What people read: kind, length and fingerprint (`api_key, 32 chars, sha256:1a2b3c4d`);
    /// never a character of the secret.
    pub excerpt: String,
}

impl SecretHit {
    fn new(kind: &'static str, path: String, secret: &str) -> Self {
        let length = secret.chars().count();
        let fingerprint = fingerprint(secret);
        SecretHit {
            kind,
            excerpt: format!("{kind}, {length} chars, sha256:{fingerprint}"),
            path,
            length,
            fingerprint,
        }
    }
}

/// First 8 hex digits of the SHA-256 of a secret.
pub fn fingerprint(secret: &str) -> String {
    let digest = Sha256::digest(secret.as_bytes());
    ppgov_core::hex(&digest[..4])
}

fn re(pattern: &str) -> Option<Regex> {
    Regex::new(pattern).ok()
}

static JWT: LazyLock<Option<Regex>> =
    LazyLock::new(|| re(r"eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}"));
static AWS: LazyLock<Option<Regex>> = LazyLock::new(|| re(r"\b(?:AKIA|ASIA)[0-9A-Z]{16}\b"));
static ACCOUNT_KEY: LazyLock<Option<Regex>> =
    LazyLock::new(|| re(r"(?i)(?:AccountKey|SharedAccessKey)\s*=\s*([A-Za-z0-9+/=]{20,})"));
static SAS: LazyLock<Option<Regex>> =
    LazyLock::new(|| re(r"(?i)(?:SharedAccessSignature\s*=\s*|[?&]sig=)([A-Za-z0-9%+/=_-]{16,})"));
static CONN_PASSWORD: LazyLock<Option<Regex>> =
    LazyLock::new(|| re(r"(?i)(?:^|;)\s*(?:password|pwd)\s*=\s*([^;]+)"));
static PEM: LazyLock<Option<Regex>> = LazyLock::new(|| re(r"-----BEGIN [A-Z ]*PRIVATE KEY-----"));
static AUTH_SCHEME: LazyLock<Option<Regex>> =
    LazyLock::new(|| re(r"(?i)^\s*(bearer|basic)\s+(\S+)\s*$"));
static URL_USERINFO: LazyLock<Option<Regex>> =
    LazyLock::new(|| re(r"(?i)^[a-z][a-z0-9+.-]*://[^/@:\s]+:([^/@\s]+)@"));
static QUERY_SECRET: LazyLock<Option<Regex>> = LazyLock::new(|| {
    re(
        r"(?i)[?&](?:code|key|apikey|api_key|api-key|access_token|token|client_secret|password|subscription-key)=([^&#\s]+)",
    )
});
static GUID: LazyLock<Option<Regex>> = LazyLock::new(|| {
    re(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")
});

/// Key names (lower case, without `-`/`_`) whose literal values are credentials.
const SECRET_KEYS: &[&str] = &[
    "xapikey",
    "apikey",
    "ocpapimsubscriptionkey",
    "subscriptionkey",
    "clientsecret",
    "password",
    "passwd",
    "pwd",
    "secret",
    "token",
    "accesstoken",
    "refreshtoken",
    "authtoken",
    "xauthtoken",
    "xfunctionskey",
    "privatekey",
    "secretkey",
    "accesskey",
    "accountkey",
    "sharedaccesskey",
    "sastoken",
    "pfx",
];
/// Suffixes of credential-named keys (`dbPassword`, `githubToken`, `stripeApiKey`).
const SECRET_SUFFIXES: &[&str] = &[
    "password",
    "passwd",
    "secret",
    "apikey",
    "token",
    "accesskey",
    "secretkey",
    "subscriptionkey",
    "functionskey",
];
/// Words that make a position credential-like for the generic entropy check.
const CREDENTIAL_WORDS: &[&str] = &["key", "auth", "cred", "sig", "secret", "token", "pass"];

/// Keys whose values are workflow structure (types, operation ids, schedules), never credentials.
const STRUCTURAL_KEYS: &[&str] = &[
    "type",
    "kind",
    "operationId",
    "connectionName",
    "apiId",
    "method",
    "contentVersion",
    "description",
    "frequency",
    "interval",
    "timeZone",
    "startTime",
    "operationMetadataId",
    "runAfter",
    "retryPolicy",
    "connectionReferenceLogicalName",
];

/// Case-insensitive (ASCII) substring test without allocating.
fn icontains(haystack: &str, needle: &str) -> bool {
    let (h, n) = (haystack.as_bytes(), needle.as_bytes());
    n.is_empty() || h.windows(n.len()).any(|w| w.eq_ignore_ascii_case(n))
}

/// Scans a flow definition (bare, or under a `definition` key).
pub fn scan_definition(def: &Value) -> Vec<SecretHit> {
    let mut hits = vec![];
    let mut path = vec![];
    walk(def, &mut path, "", "", &mut hits);
    hits.sort();
    hits.dedup();
    hits
}

/// One step of a JSON path; the path is only rendered when something is found.
enum Seg<'a> {
    Key(&'a str),
    Index(usize),
}

fn render(path: &[Seg<'_>]) -> String {
    let mut out = String::from("$");
    for seg in path {
        match seg {
            Seg::Key(k) => {
                out.push('.');
                out.push_str(k);
            }
            Seg::Index(i) => out.push_str(&format!("[{i}]")),
        }
    }
    out
}

fn walk<'a>(
    v: &'a Value,
    path: &mut Vec<Seg<'a>>,
    key: &str,
    parent: &str,
    hits: &mut Vec<SecretHit>,
) {
    match v {
        Value::Object(map) => {
            if key == "parameters"
                && (parent.is_empty() || parent == "definition")
                && is_parameter_block(map)
            {
                for (name, decl) in map {
                    path.push(Seg::Key(name));
                    parameter(name, decl, path, hits);
                    path.pop();
                }
                return;
            }
            for (k, child) in map {
                // Schema and designer metadata never hold credentials and are full of ids.
                if k == "$schema" || k == "metadata" || k == "$connections" {
                    continue;
                }
                path.push(Seg::Key(k));
                walk(child, path, k, key, hits);
                path.pop();
            }
        }
        Value::Array(items) => {
            for (i, child) in items.iter().enumerate() {
                path.push(Seg::Index(i));
                walk(child, path, key, parent, hits);
                path.pop();
            }
        }
        Value::String(s) => {
            let found = check_string(s, key, parent);
            if !found.is_empty() {
                let at = render(path);
                hits.extend(
                    found
                        .into_iter()
                        .map(|(kind, secret)| SecretHit::new(kind, at.clone(), &secret)),
                );
            }
        }
        _ => {}
    }
}

type Found = Vec<(&'static str, String)>;

fn push(hits: &mut Found, kind: &'static str, secret: &str) {
    hits.push((kind, secret.to_string()));
}

/// A workflow `parameters` block: every entry is a declaration object with a `type` or a
/// `defaultValue` (as opposed to an action's `inputs.parameters`, which hold values).
fn is_parameter_block(map: &serde_json::Map<String, Value>) -> bool {
    !map.is_empty()
        && map.values().all(|d| {
            d.as_object().is_some_and(|o| {
                o.contains_key("defaultValue") || o.get("type").is_some_and(Value::is_string)
            })
        })
}

/// The names a parameter declaration goes by: its key (`Client Secret (cr5e1_ClientSecret)`
/// gives both halves), and `metadata.schemaName` without its publisher prefix.
fn parameter_names(name: &str, decl: &Value) -> Vec<String> {
    let mut names = vec![name.to_string()];
    if let Some((outer, inner)) = name.split_once('(') {
        names.push(outer.trim().to_string());
        names.push(inner.trim_end_matches(')').trim().to_string());
    }
    if let Some(schema) = decl.pointer("/metadata/schemaName").and_then(Value::as_str) {
        names.push(schema.to_string());
    }
    let prefixed: Vec<String> = names
        .iter()
        .filter_map(|n| n.split_once('_').map(|(_, rest)| rest.to_string()))
        .collect();
    names.extend(prefixed);
    names
}

/// Judges one parameter declaration: a string default under a credential name or a secure
/// type is a hard-coded secret unless it is an expression, placeholder, GUID or low-entropy;
/// other defaults (objects, arrays) are scanned like the rest of the definition.
fn parameter<'a>(name: &str, decl: &'a Value, path: &mut Vec<Seg<'a>>, hits: &mut Vec<SecretHit>) {
    if name.starts_with('$') {
        return;
    }
    let Some(default) = decl.get("defaultValue") else {
        return;
    };
    let Some(value) = default.as_str() else {
        path.push(Seg::Key("defaultValue"));
        walk(default, path, "defaultValue", name, hits);
        path.pop();
        return;
    };
    let t = value.trim();
    if t.len() < 6 || crate::flowdef::is_expression(t) {
        return;
    }
    let secure_type = decl.get("type").and_then(Value::as_str).is_some_and(|ty| {
        ty.eq_ignore_ascii_case("SecureString") || ty.eq_ignore_ascii_case("SecureObject")
    });
    let names: Vec<String> = parameter_names(name, decl)
        .iter()
        .map(|n| norm_key(n))
        .collect();
    let secret_name = names.iter().find(|n| is_secret_name(n));
    let mut found: Found = vec![];
    scan_patterns(t, &mut found);
    if found.is_empty() && (secret_name.is_some() || secure_type) {
        let is_password = secret_name.is_some_and(|n| n.contains("pass") || n == "pwd");
        let ok = if is_password {
            is_literal_secret(t, 6) && !is_low_entropy(t)
        } else {
            looks_random(t, 12)
        };
        if ok && !t.contains(' ') {
            let kind = if is_password {
                "password"
            } else if secret_name.is_some_and(|n| n.contains("clientsecret")) {
                "client_secret"
            } else {
                "api_key"
            };
            push(&mut found, kind, t);
        }
    }
    if !found.is_empty() {
        path.push(Seg::Key("defaultValue"));
        let at = render(path);
        path.pop();
        hits.extend(
            found
                .into_iter()
                .map(|(kind, secret)| SecretHit::new(kind, at.clone(), &secret)),
        );
    }
}

fn is_secret_name(k: &str) -> bool {
    SECRET_KEYS.contains(&k) || SECRET_SUFFIXES.iter().any(|x| k.ends_with(x))
}

fn norm_key(k: &str) -> String {
    k.chars()
        .filter(|c| *c != '-' && *c != '_' && *c != ' ')
        .flat_map(char::to_lowercase)
        .collect()
}

/// Candidate secrets in one string value, as (kind, secret) pairs.
fn check_string(s: &str, key: &str, parent: &str) -> Found {
    let mut hits = vec![];
    let t = s.trim();
    // Nothing shorter than 6 characters is judged; expressions are never literal secrets; and
    // structural keys of the workflow language never hold one.
    if t.len() < 6 || crate::flowdef::is_expression(t) || STRUCTURAL_KEYS.contains(&key) {
        return hits;
    }
    scan_patterns(t, &mut hits);
    if hits.is_empty() {
        scan_named(t, key, parent, &mut hits);
    }
    hits
}

/// Pattern detectors, each behind a cheap substring check so ordinary strings cost little.
fn scan_patterns(t: &str, hits: &mut Found) {
    if t.contains("-----BEGIN")
        && let Some(m) = PEM.as_ref().and_then(|r| r.find(t))
    {
        push(hits, "private_key", &t[m.start()..]);
    }
    if t.contains("eyJ")
        && let Some(m) = JWT.as_ref().and_then(|r| r.find(t))
    {
        push(hits, "jwt", m.as_str());
    }
    if (t.contains("AKIA") || t.contains("ASIA"))
        && let Some(m) = AWS.as_ref().and_then(|r| r.find(t))
    {
        push(hits, "aws_access_key", m.as_str());
    }
    if (icontains(t, "accountkey") || icontains(t, "sharedaccesskey"))
        && let Some(c) = ACCOUNT_KEY
            .as_ref()
            .and_then(|r| r.captures(t))
            .and_then(|c| c.get(1))
    {
        push(hits, "storage_account_key", c.as_str());
    }
    if (icontains(t, "sig=") || icontains(t, "sharedaccesssignature"))
        && let Some(c) = SAS
            .as_ref()
            .and_then(|r| r.captures(t))
            .and_then(|c| c.get(1))
    {
        push(hits, "sas_signature", c.as_str());
    }
    if (icontains(t, "password") || icontains(t, "pwd"))
        && t.contains('=')
        && let Some(c) = CONN_PASSWORD
            .as_ref()
            .and_then(|r| r.captures(t))
            .and_then(|c| c.get(1))
    {
        let pw = c.as_str().trim();
        if is_literal_secret(pw, 4) {
            push(hits, "connection_string_password", pw);
        }
    }
    if t.contains('@')
        && t.contains("://")
        && let Some(c) = URL_USERINFO
            .as_ref()
            .and_then(|r| r.captures(t))
            .and_then(|c| c.get(1))
        && is_literal_secret(c.as_str(), 4)
    {
        push(hits, "url_credentials", c.as_str());
    }
    if t.contains('=')
        && (t.contains('?') || t.contains('&'))
        && let Some(c) = QUERY_SECRET
            .as_ref()
            .and_then(|r| r.captures(t))
            .and_then(|c| c.get(1))
        && looks_random(c.as_str(), 16)
    {
        push(hits, "url_query_secret", c.as_str());
    }
}

/// Detectors that depend on the key the value sits under.
fn scan_named(t: &str, key: &str, parent: &str, hits: &mut Found) {
    let nk = norm_key(key);
    let starts = |p: &str| t.get(..p.len()).is_some_and(|h| h.eq_ignore_ascii_case(p));
    if (starts("bearer") || starts("basic"))
        && let Some(c) = AUTH_SCHEME.as_ref().and_then(|r| r.captures(t))
    {
        let scheme = c
            .get(1)
            .map(|m| m.as_str().to_ascii_lowercase())
            .unwrap_or_default();
        let token = c.get(2).map(|m| m.as_str()).unwrap_or_default();
        if nk == "authorization" || nk == "value" || nk == "proxyauthorization" {
            if is_literal_secret(token, 8) && !is_low_entropy(token) {
                push(
                    hits,
                    if scheme == "bearer" {
                        "bearer_token"
                    } else {
                        "basic_credentials"
                    },
                    token,
                );
            }
            return;
        }
    }
    // `"apiKey": {"type": "SecureString", "defaultValue": "..."}` is a hard-coded default of a
    // secret parameter: judge it by the parameter's name.
    let pk = norm_key(parent);
    let nk = if (nk == "defaultvalue" || nk == "value") && is_secret_name(&pk) {
        pk.clone()
    } else {
        nk
    };
    if is_secret_name(&nk) {
        let is_password = nk.contains("pass") || nk == "pwd";
        let ok = if is_password {
            is_literal_secret(t, 6) && !is_low_entropy(t)
        } else {
            looks_random(t, 12)
        };
        if ok && !t.contains(' ') {
            push(hits, if is_password { "password" } else { "api_key" }, t);
        }
        return;
    }
    if nk == "authorization" && looks_random(t, 16) {
        push(hits, "authorization_value", t);
        return;
    }
    // Generic: random-looking values in header or query positions, or under credential-like keys.
    let credential_position =
        pk == "headers" || pk == "queries" || CREDENTIAL_WORDS.iter().any(|w| nk.contains(w));
    if credential_position && generic_key_like(t) {
        push(hits, "high_entropy_value", t);
    }
}

/// A literal that could be a credential: long enough, not a placeholder, GUID or URL.
fn is_literal_secret(v: &str, min_len: usize) -> bool {
    let v = v.trim().trim_matches(|c| c == '\'' || c == '"');
    if v.chars().count() < min_len || crate::flowdef::is_expression(v) {
        return false;
    }
    let lower = v.to_ascii_lowercase();
    let placeholder = (v.contains('<') && v.contains('>'))
        || v.starts_with("{{")
        || v.starts_with("${")
        || v.starts_with("$(")
        || v.starts_with('%')
        || lower.contains("keyvault")
        || lower.contains("vault.azure.net")
        || lower.contains("securedata")
        || lower.contains("secureinput")
        || [
            "password",
            "secret",
            "changeme",
            "redacted",
            "placeholder",
            "null",
            "none",
            "undefined",
            "your_password",
            "your_api_key",
            "xxxxxxxx",
        ]
        .contains(&lower.as_str())
        || v.chars()
            .all(|c| c == '*' || c == 'x' || c == 'X' || c == '.');
    !placeholder && !GUID.as_ref().is_some_and(|r| r.is_match(v))
}

/// Key-like: long, no spaces, token characters, letters and digits, not low entropy.
fn looks_random(v: &str, min_len: usize) -> bool {
    is_literal_secret(v, min_len)
        && !v.contains("://")
        && v.chars()
            .all(|c| c.is_ascii_alphanumeric() || "+/=_-.~%".contains(c))
        && v.chars().any(|c| c.is_ascii_digit())
        && v.chars().any(|c| c.is_ascii_alphabetic())
        && !is_low_entropy(v)
}

/// Stricter than [`looks_random`] for values found only by position: token characters only
/// (base64 padding at the end), digits and letters, mixed case or long hex, high entropy.
fn generic_key_like(v: &str) -> bool {
    let body = v.trim_end_matches('=');
    let hex = body.len() >= 32 && body.chars().all(|c| c.is_ascii_hexdigit());
    let mixed = body.chars().any(|c| c.is_ascii_uppercase())
        && body.chars().any(|c| c.is_ascii_lowercase());
    body.len() >= 20
        && body
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "+/_-".contains(c))
        && body.chars().filter(char::is_ascii_digit).count() >= 2
        && (mixed || hex)
        && is_literal_secret(v, 20)
        && shannon_entropy(body) >= 3.5
}

fn is_low_entropy(v: &str) -> bool {
    shannon_entropy(v) < 2.5
}

/// Shannon entropy in bits per character.
pub fn shannon_entropy(s: &str) -> f64 {
    let mut counts = std::collections::HashMap::new();
    let mut n = 0f64;
    for c in s.chars() {
        *counts.entry(c).or_insert(0f64) += 1.0;
        n += 1.0;
    }
    if n == 0.0 {
        return 0.0;
    }
    counts.values().map(|c| c / n).map(|p| -p * p.log2()).sum()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entropy_and_redaction() {
        assert!(shannon_entropy("aaaaaaaa") < 0.1);
        assert!(shannon_entropy("Zk3p9QmX2vL8rT4wB7nY1cF6hJ0sD5gA") > 4.0);
        let hit = SecretHit::new("aws_access_key", "$.x".into(), "AKIAIOSFODNN7EXAMPLE");
        assert_eq!(hit.length, 20);
        assert_eq!(hit.fingerprint, fingerprint("AKIAIOSFODNN7EXAMPLE"));
        assert_eq!(hit.fingerprint.len(), 8);
        assert!(!hit.excerpt.contains("AKIA"), "{}", hit.excerpt);
    }
}
