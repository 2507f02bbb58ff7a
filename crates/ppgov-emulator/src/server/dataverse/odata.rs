//! The OData query options the Dataverse Web API clients send: `$filter` (comparisons joined by
//! `and`/`or`, `contains`/`startswith`, and lambda `nav/any(r:r/field eq value)`), `$select` and
//! `$expand=nav($select=...)`.

use serde_json::{Map, Value};

use crate::server::errors::{ApiError, Family};

/// A parsed `$filter`.
#[derive(Debug, Clone, PartialEq)]
pub enum Filter {
    /// All must hold.
    And(Vec<Filter>),
    /// Any must hold.
    Or(Vec<Filter>),
    /// `field op literal`.
    Cmp(String, String, Value),
    /// `contains(field,'x')` / `startswith(...)` / `endswith(...)`.
    Func(String, String, String),
    /// `nav/any(v:v/<inner>)`; the inner filter reads fields of the related rows.
    Any(String, Box<Filter>),
}

/// A 400 in the Dataverse envelope.
pub fn bad(message: impl Into<String>) -> ApiError {
    ApiError::bad_request(message)
        .family(Family::Dataverse)
        .with_code("0x80060888")
}

trait WithCode {
    fn with_code(self, code: &str) -> Self;
}

impl WithCode for ApiError {
    fn with_code(mut self, code: &str) -> Self {
        self.code = code.to_string();
        self
    }
}

/// Splits `s` on the keyword `sep` (e.g. ` and `) outside parentheses and quotes, case-insensitively.
fn split_top(s: &str, sep: &str) -> Vec<String> {
    let lower = s.to_ascii_lowercase();
    let bytes = s.as_bytes();
    let mut parts = Vec::new();
    let (mut depth, mut quoted, mut start, mut i) = (0i32, false, 0usize, 0usize);
    while i < bytes.len() {
        let c = bytes[i];
        if c == b'\'' {
            quoted = !quoted;
        } else if !quoted && c == b'(' {
            depth += 1;
        } else if !quoted && c == b')' {
            depth -= 1;
        } else if !quoted && depth == 0 && lower[i..].starts_with(sep) {
            parts.push(s[start..i].to_string());
            i += sep.len();
            start = i;
            continue;
        }
        i += 1;
    }
    parts.push(s[start..].to_string());
    parts
}

/// Parses a `$filter` expression.
pub fn parse_filter(src: &str) -> Result<Filter, ApiError> {
    let s = src.trim();
    let ors = split_top(s, " or ");
    if ors.len() > 1 {
        return ors
            .iter()
            .map(|p| parse_filter(p))
            .collect::<Result<Vec<_>, _>>()
            .map(Filter::Or);
    }
    let ands = split_top(s, " and ");
    if ands.len() > 1 {
        return ands
            .iter()
            .map(|p| parse_filter(p))
            .collect::<Result<Vec<_>, _>>()
            .map(Filter::And);
    }
    if let Some(inner) = s.strip_prefix('(').and_then(|x| x.strip_suffix(')')) {
        return parse_filter(inner);
    }
    let lower = s.to_ascii_lowercase();
    // nav/any(r:r/field eq value)
    if let Some(pos) = lower.find("/any(") {
        let nav = s[..pos].trim().to_string();
        let body = s[pos + 5..]
            .strip_suffix(')')
            .ok_or_else(|| bad(format!("Invalid $filter '{src}'.")))?;
        let (var, pred) = body
            .split_once(':')
            .ok_or_else(|| bad(format!("Invalid lambda in $filter '{src}'.")))?;
        let prefix = format!("{}/", var.trim());
        let pred = pred.replace(&prefix, "");
        return Ok(Filter::Any(nav, Box::new(parse_filter(&pred)?)));
    }
    for func in ["contains", "startswith", "endswith"] {
        if lower.starts_with(&format!("{func}(")) {
            let args = s[func.len() + 1..]
                .strip_suffix(')')
                .ok_or_else(|| bad(format!("Invalid $filter '{src}'.")))?;
            let (field, lit) = args
                .split_once(',')
                .ok_or_else(|| bad(format!("Invalid $filter '{src}'.")))?;
            let lit = literal(lit.trim())?;
            return Ok(Filter::Func(
                func.to_string(),
                field.trim().to_string(),
                text(&lit),
            ));
        }
    }
    let mut it = s.splitn(3, ' ');
    let (Some(field), Some(op), Some(lit)) = (it.next(), it.next(), it.next()) else {
        return Err(bad(format!("Invalid $filter '{src}'.")));
    };
    let op = op.to_ascii_lowercase();
    if !["eq", "ne", "gt", "ge", "lt", "le"].contains(&op.as_str()) {
        return Err(bad(format!(
            "Unsupported operator '{op}' in $filter '{src}'."
        )));
    }
    Ok(Filter::Cmp(
        field.trim().to_string(),
        op,
        literal(lit.trim())?,
    ))
}

fn literal(s: &str) -> Result<Value, ApiError> {
    if let Some(inner) = s.strip_prefix('\'').and_then(|x| x.strip_suffix('\'')) {
        return Ok(Value::String(inner.replace("''", "'")));
    }
    match s {
        "null" => return Ok(Value::Null),
        "true" => return Ok(Value::Bool(true)),
        "false" => return Ok(Value::Bool(false)),
        _ => {}
    }
    if let Ok(n) = s.parse::<i64>() {
        return Ok(Value::from(n));
    }
    if let Ok(f) = s.parse::<f64>() {
        return Ok(serde_json::Number::from_f64(f).map_or(Value::Null, Value::Number));
    }
    // Bare GUIDs are literals in OData v4.
    if uuid::Uuid::parse_str(s).is_ok() {
        return Ok(Value::String(s.to_string()));
    }
    Err(bad(format!(
        "Could not parse the literal '{s}' in $filter."
    )))
}

fn text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Null => String::new(),
        other => other.to_string(),
    }
}

fn eq(a: &Value, b: &Value) -> bool {
    match (a, b) {
        // GUIDs and strings compare case-insensitively in Dataverse.
        (Value::String(x), Value::String(y)) => x.eq_ignore_ascii_case(y),
        (Value::Number(x), Value::Number(y)) => x.as_f64() == y.as_f64(),
        _ => a == b,
    }
}

fn order(a: &Value, b: &Value) -> Option<std::cmp::Ordering> {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => x.as_f64()?.partial_cmp(&y.as_f64()?),
        (Value::String(x), Value::String(y)) => Some(x.to_lowercase().cmp(&y.to_lowercase())),
        _ => None,
    }
}

/// Evaluates `f` on `row`; `nav(row, name)` returns related rows for lambda filters.
pub fn matches(f: &Filter, row: &Value, nav: &dyn Fn(&Value, &str) -> Vec<Value>) -> bool {
    use std::cmp::Ordering::{Equal, Greater, Less};
    match f {
        Filter::And(v) => v.iter().all(|x| matches(x, row, nav)),
        Filter::Or(v) => v.iter().any(|x| matches(x, row, nav)),
        Filter::Cmp(field, op, lit) => {
            let val = row.get(field).unwrap_or(&Value::Null);
            match op.as_str() {
                "eq" => eq(val, lit),
                "ne" => !eq(val, lit),
                "gt" => order(val, lit) == Some(Greater),
                "ge" => matches!(order(val, lit), Some(Greater | Equal)),
                "lt" => order(val, lit) == Some(Less),
                "le" => matches!(order(val, lit), Some(Less | Equal)),
                _ => false,
            }
        }
        Filter::Func(func, field, needle) => {
            let hay = text(row.get(field).unwrap_or(&Value::Null)).to_lowercase();
            let needle = needle.to_lowercase();
            match func.as_str() {
                "contains" => hay.contains(&needle),
                "startswith" => hay.starts_with(&needle),
                _ => hay.ends_with(&needle),
            }
        }
        Filter::Any(name, inner) => nav(row, name).iter().any(|r| matches(inner, r, nav)),
    }
}

/// Sorts rows by `$orderby` (`a asc, b desc`); the sort is stable, so ties keep row order.
pub fn order_by(rows: &mut [Value], spec: &str) -> Result<(), ApiError> {
    let mut keys = Vec::new();
    for part in spec.split(',') {
        let mut it = part.split_whitespace();
        let Some(field) = it.next() else { continue };
        let desc = match it.next().map(str::to_ascii_lowercase).as_deref() {
            None | Some("asc") => false,
            Some("desc") => true,
            Some(other) => return Err(bad(format!("Invalid $orderby direction '{other}'."))),
        };
        keys.push((field.to_string(), desc));
    }
    rows.sort_by(|a, b| {
        for (field, desc) in &keys {
            let (x, y) = (
                a.get(field).unwrap_or(&Value::Null),
                b.get(field).unwrap_or(&Value::Null),
            );
            let o = match (x.is_null(), y.is_null()) {
                (true, true) => std::cmp::Ordering::Equal,
                (true, false) => std::cmp::Ordering::Less,
                (false, true) => std::cmp::Ordering::Greater,
                _ => order(x, y).unwrap_or(std::cmp::Ordering::Equal),
            };
            let o = if *desc { o.reverse() } else { o };
            if o != std::cmp::Ordering::Equal {
                return o;
            }
        }
        std::cmp::Ordering::Equal
    });
    Ok(())
}

/// `$select` list, or `None` for all columns.
pub fn select_list(raw: Option<&str>) -> Option<Vec<String>> {
    raw.map(|s| {
        s.split(',')
            .map(|x| x.trim().to_string())
            .filter(|x| !x.is_empty())
            .collect()
    })
}

/// Projects a row onto `select` (the primary key and `@odata.etag` always stay).
pub fn project(row: &Value, select: Option<&[String]>, key: &str) -> Map<String, Value> {
    let Value::Object(m) = row else {
        return Map::new();
    };
    let mut out = Map::new();
    let etag = m
        .get("@odata.etag")
        .cloned()
        .unwrap_or_else(|| Value::String(etag_for(row)));
    out.insert("@odata.etag".into(), etag);
    match select {
        None => {
            for (k, v) in m {
                if k != "@odata.etag" {
                    out.insert(k.clone(), v.clone());
                }
            }
        }
        Some(cols) => {
            for c in cols {
                out.insert(c.clone(), m.get(c).cloned().unwrap_or(Value::Null));
            }
            if !out.contains_key(key) {
                out.insert(key.to_string(), m.get(key).cloned().unwrap_or(Value::Null));
            }
        }
    }
    out
}

/// A stable weak ETag derived from the row's content (changes when the row changes).
pub fn etag_for(row: &Value) -> String {
    use sha2::Digest;
    let digest = sha2::Sha256::digest(row.to_string().as_bytes());
    let n = u64::from_be_bytes([
        digest[0], digest[1], digest[2], digest[3], digest[4], digest[5], digest[6], digest[7],
    ]) % 10_000_000;
    format!("W/\"{n}\"")
}

/// One `$expand` item: the navigation property and its nested `$select` (`None` = all).
pub type Expand = (String, Option<Vec<String>>);

/// Parses `$expand=nav($select=a,b),other`: (navigation property, its `$select`).
pub fn parse_expand(raw: Option<&str>) -> Result<Vec<Expand>, ApiError> {
    let Some(raw) = raw else {
        return Ok(Vec::new());
    };
    let mut out = Vec::new();
    for part in split_top(raw, ",") {
        let part = part.trim();
        if part.is_empty() {
            continue;
        }
        match part.split_once('(') {
            None => out.push((part.to_string(), None)),
            Some((nav, rest)) => {
                let opts = rest
                    .strip_suffix(')')
                    .ok_or_else(|| bad(format!("Invalid $expand '{raw}'.")))?;
                let mut select = None;
                for opt in split_top(opts, ";") {
                    if let Some((k, v)) = opt.split_once('=')
                        && k.trim().eq_ignore_ascii_case("$select")
                    {
                        select = select_list(Some(v));
                    }
                }
                out.push((nav.trim().to_string(), select));
            }
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn filters_compare_and_lambda() {
        let f = parse_filter("azureactivedirectoryobjectid eq 6f1b7c4e-0000-4000-8000-000000000001 and isdisabled eq false").unwrap();
        let row = json!({"azureactivedirectoryobjectid": "6F1B7C4E-0000-4000-8000-000000000001", "isdisabled": false});
        let none = |_: &Value, _: &str| Vec::new();
        assert!(matches(&f, &row, &none));
        let f = parse_filter("systemuserroles_association/any(r:r/_roletemplateid_value eq 627090ff-40a3-4053-8790-584edc5be201)").unwrap();
        let nav = |_: &Value, n: &str| {
            assert_eq!(n, "systemuserroles_association");
            vec![json!({"_roletemplateid_value": "627090ff-40a3-4053-8790-584edc5be201"})]
        };
        assert!(matches(&f, &row, &nav));
        assert!(!matches(&f, &row, &none));
        assert!(parse_filter("name foo 'x'").is_err());
        let mut rows = vec![json!({"n": "b"}), json!({"n": "a"}), json!({"n": null})];
        order_by(&mut rows, "n desc").unwrap();
        assert_eq!(rows[0]["n"], "b");
        assert!(rows[2]["n"].is_null());
        let e = parse_expand(Some("systemuserroles_association($select=roleid,name)")).unwrap();
        assert_eq!(
            e,
            vec![(
                "systemuserroles_association".to_string(),
                Some(vec!["roleid".to_string(), "name".to_string()])
            )]
        );
    }
}
