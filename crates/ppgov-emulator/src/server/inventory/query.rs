//! The inventory request body (`INVENTORY-API.md` §1), its clause pipeline and paging.
//!
//! Rows are ARG rows (`serde_json` objects); clauses run in order, exactly as the KQL the service
//! generates from them would.

use std::cmp::Ordering;
use std::collections::BTreeMap;
use std::sync::Arc;

use base64::Engine;
use chrono::{DateTime, Utc};
use serde_json::{Map, Value};

use super::expr::{self, Expr};

/// Rows per page when the caller sends no `Top`, and the most a page ever holds (ARG).
pub const MAX_TOP: usize = 1000;

/// Columns every `PowerPlatformResources` row has (the ARG envelope).
pub const BASE_COLUMNS: &[&str] = &[
    "id",
    "name",
    "type",
    "tenantId",
    "kind",
    "location",
    "resourceGroup",
    "subscriptionId",
    "managedBy",
    "sku",
    "plan",
    "properties",
    "tags",
    "identity",
    "zones",
    "extendedLocation",
];

/// Dynamic columns: sorting on them (or paths into them) without a cast is an ARG error.
const DYNAMIC_COLUMNS: &[&str] = &[
    "properties",
    "tags",
    "sku",
    "plan",
    "identity",
    "zones",
    "extendedLocation",
];

/// A query the service rejects with 400, in ARG's words.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KqlError {
    /// ARG detail code, e.g. `InvalidQuery` or `Operator_FailedToResolveEntity`.
    pub code: String,
    /// Message.
    pub message: String,
}

impl KqlError {
    /// A request body the service cannot read.
    pub fn format() -> Self {
        Self {
            code: "InvalidRequestContent".into(),
            message: "KQLOM format is wrong or it cannot be null".into(),
        }
    }

    /// Any other invalid query.
    pub fn invalid(message: &str) -> Self {
        Self {
            code: "InvalidQuery".into(),
            message: message.to_string(),
        }
    }

    /// A syntax error inside a KQL fragment.
    pub fn syntax(src: &str, what: &str) -> Self {
        Self {
            code: "ParserFailure".into(),
            message: format!("Parser failure: {what} in '{src}'"),
        }
    }

    fn unresolved(name: &str) -> Self {
        Self {
            code: "Operator_FailedToResolveEntity".into(),
            message: format!(
                "Operator_FailedToResolveEntity: Failed to resolve scalar expression named '{name}'"
            ),
        }
    }

    /// The ARG error body.
    pub fn body(&self) -> Value {
        serde_json::json!({"error": {
            "code": "BadRequest",
            "message": "Please provide below info when asking for support: timestamp, correlation id. Query is invalid. Please refer to the documentation for the Azure Resource Graph service and fix the error before retrying.",
            "details": [{"code": self.code, "message": self.message}]
        }})
    }
}

/// One row: an ARG row object, shared.
pub type Row = Arc<Map<String, Value>>;

/// A table flowing through the pipeline.
#[derive(Debug, Clone, Default)]
pub struct Table {
    /// Column names in output order (for schema checks: an unknown column is a 400).
    pub columns: Vec<String>,
    /// Rows (shared: filtering and paging never copy a row).
    pub rows: Vec<Row>,
}

/// The outcome of running the clauses.
#[derive(Debug, Clone)]
pub struct Evaluated {
    /// All result rows.
    pub table: Table,
    /// A `take` clause limited the result: ARG issues no skip token.
    pub taken: bool,
}

/// Options (`Top`, `Skip`, `SkipToken`).
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// Page size.
    pub top: Option<usize>,
    /// Offset; overrides the token's offset.
    pub skip: Option<usize>,
    /// Opaque token from the previous page.
    pub skip_token: Option<String>,
}

/// A parsed request.
#[derive(Debug, Clone)]
pub struct Request {
    /// Clause objects, in order.
    pub clauses: Vec<Map<String, Value>>,
    /// Options.
    pub options: Options,
}

/// Case-insensitive property lookup (ASP.NET binds request names case-insensitively).
fn prop<'a>(m: &'a Map<String, Value>, name: &str) -> Option<&'a Value> {
    m.iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(name))
        .map(|(_, v)| v)
}

fn prop_str<'a>(m: &'a Map<String, Value>, name: &str) -> Result<&'a str, KqlError> {
    prop(m, name)
        .and_then(Value::as_str)
        .ok_or_else(|| KqlError::invalid(&format!("clause property '{name}' is required")))
}

fn prop_strings(m: &Map<String, Value>, name: &str) -> Result<Vec<String>, KqlError> {
    let arr = prop(m, name)
        .and_then(Value::as_array)
        .ok_or_else(|| KqlError::invalid(&format!("clause property '{name}' is required")))?;
    arr.iter()
        .map(|v| {
            v.as_str()
                .map(str::to_string)
                .ok_or_else(|| KqlError::invalid(&format!("'{name}' must hold strings")))
        })
        .collect()
}

/// Parses the raw body. `$type` must be each clause's first property, as the service demands.
pub fn parse_request(raw: &[u8]) -> Result<Request, KqlError> {
    let body: Value = serde_json::from_slice(raw).map_err(|_| KqlError::format())?;
    let Value::Object(body) = body else {
        return Err(KqlError::format());
    };
    let table = prop(&body, "TableName")
        .and_then(Value::as_str)
        .ok_or_else(KqlError::format)?;
    if !table.eq_ignore_ascii_case("PowerPlatformResources") {
        return Err(KqlError::invalid(&format!(
            "Table '{table}' is not supported"
        )));
    }
    let clauses = parse_clauses(prop(&body, "Clauses"))?;
    let mut options = Options::default();
    if let Some(Value::Object(o)) = prop(&body, "Options") {
        let int = |name: &str| -> Result<Option<usize>, KqlError> {
            match prop(o, name) {
                None | Some(Value::Null) => Ok(None),
                Some(v) => v.as_u64().map(|n| Some(n as usize)).ok_or_else(|| {
                    KqlError::invalid(&format!("Options.{name} must be a non-negative integer"))
                }),
            }
        };
        options.top = int("Top")?;
        if options.top == Some(0) {
            return Err(KqlError::invalid("Options.Top must be at least 1"));
        }
        options.skip = int("Skip")?;
        options.skip_token = prop(o, "SkipToken")
            .and_then(Value::as_str)
            .filter(|s| !s.is_empty())
            .map(str::to_string);
    }
    Ok(Request { clauses, options })
}

fn parse_clauses(v: Option<&Value>) -> Result<Vec<Map<String, Value>>, KqlError> {
    let Some(Value::Array(items)) = v else {
        return Err(KqlError::format());
    };
    items
        .iter()
        .map(|c| match c {
            Value::Object(m) if m.keys().next().map(String::as_str) == Some("$type") => {
                Ok(m.clone())
            }
            _ => Err(KqlError::format()),
        })
        .collect()
}

/// Runs the clauses over the base rows.
pub fn evaluate(
    base: &[Row],
    clauses: &[Map<String, Value>],
    now: DateTime<Utc>,
) -> Result<Evaluated, KqlError> {
    let mut table = Table {
        columns: BASE_COLUMNS.iter().map(|c| (*c).to_string()).collect(),
        rows: base.to_vec(),
    };
    let mut taken = false;
    for clause in clauses {
        let kind = clause
            .get("$type")
            .and_then(Value::as_str)
            .ok_or_else(KqlError::format)?;
        table = match kind {
            "where" => where_clause(table, clause, now)?,
            "project" => project(table, &prop_strings(clause, "FieldList")?, now)?,
            "extend" => extend(table, clause, now)?,
            "take" => {
                let n = prop(clause, "TakeCount")
                    .and_then(Value::as_u64)
                    .filter(|n| *n >= 1);
                let n = n.ok_or_else(|| {
                    KqlError::invalid("TakeCount must be an integer of at least 1")
                })?;
                taken = true;
                let mut t = table;
                t.rows.truncate(n as usize);
                t
            }
            "orderby" => orderby(table, clause, now)?,
            "distinct" => distinct(table, &prop_strings(clause, "FieldList")?, now)?,
            "count" => {
                let mut row = Map::new();
                row.insert("Count".into(), Value::from(table.rows.len()));
                Table {
                    columns: vec!["Count".into()],
                    rows: vec![Arc::new(row)],
                }
            }
            "summarize" => summarize(table, clause, now)?,
            "join" => join(table, base, clause, now)?,
            other => {
                return Err(KqlError::invalid(&format!(
                    "clause type '{other}' is not supported"
                )));
            }
        };
    }
    Ok(Evaluated { table, taken })
}

fn check_columns(table: &Table, e: &Expr) -> Result<(), KqlError> {
    let mut read = Vec::new();
    expr::columns_read(e, &mut read);
    match read.iter().find(|c| !table.columns.contains(c)) {
        Some(c) => Err(KqlError::unresolved(c)),
        None => Ok(()),
    }
}

fn where_clause(
    table: Table,
    clause: &Map<String, Value>,
    now: DateTime<Utc>,
) -> Result<Table, KqlError> {
    let field = expr::parse(prop_str(clause, "FieldName")?)?;
    check_columns(&table, &field)?;
    let op = prop_str(clause, "Operator")?.trim().to_string();
    let values = match prop(clause, "Values") {
        None | Some(Value::Null) => Vec::new(),
        Some(_) => prop_strings(clause, "Values")?,
    };
    let mut exprs = Vec::new();
    for v in &values {
        let e = expr::parse(v)?;
        check_columns(&table, &e)?;
        exprs.push(e);
    }
    if exprs.is_empty() {
        return Err(KqlError::invalid(&format!(
            "operator '{op}' needs at least one value"
        )));
    }
    let regex = if op == "matches regex" {
        let pattern = match &exprs[0] {
            Expr::Lit(Value::String(s)) => s.clone(),
            _ => return Err(KqlError::invalid("matches regex needs a string literal")),
        };
        Some(
            regex::Regex::new(&pattern)
                .map_err(|_| KqlError::invalid("invalid regular expression"))?,
        )
    } else {
        None
    };
    let mut rows = Vec::with_capacity(table.rows.len());
    for row in table.rows {
        let lhs = expr::eval(&field, &row, now)?;
        let rhs = exprs
            .iter()
            .map(|e| expr::eval(e, &row, now))
            .collect::<Result<Vec<_>, _>>()?;
        let keep = match &regex {
            Some(re) => re.is_match(&expr::to_text(&lhs)),
            None => apply_operator(&op, &lhs, &rhs)?,
        };
        if keep {
            rows.push(row);
        }
    }
    Ok(Table {
        columns: table.columns,
        rows,
    })
}

/// Applies a KQL comparison or string operator.
pub fn apply_operator(op: &str, lhs: &Value, rhs: &[Value]) -> Result<bool, KqlError> {
    let first = rhs.first().unwrap_or(&Value::Null);
    let text = || expr::to_text(lhs);
    let lower = || expr::to_text(lhs).to_lowercase();
    let needle = || expr::to_text(first);
    Ok(match op {
        "==" => values_eq(lhs, first, false),
        "!=" | "<>" => !values_eq(lhs, first, false),
        "=~" => values_eq(lhs, first, true),
        "!~" => !values_eq(lhs, first, true),
        "<" => compare(lhs, first) == Some(Ordering::Less),
        "<=" => matches!(compare(lhs, first), Some(Ordering::Less | Ordering::Equal)),
        ">" => compare(lhs, first) == Some(Ordering::Greater),
        ">=" => matches!(
            compare(lhs, first),
            Some(Ordering::Greater | Ordering::Equal)
        ),
        "in" => rhs.iter().any(|v| values_eq(lhs, v, false)),
        "!in" => !rhs.iter().any(|v| values_eq(lhs, v, false)),
        "in~" => rhs.iter().any(|v| values_eq(lhs, v, true)),
        "!in~" => !rhs.iter().any(|v| values_eq(lhs, v, true)),
        "contains" => lower().contains(&needle().to_lowercase()),
        "!contains" => !lower().contains(&needle().to_lowercase()),
        "contains_cs" => text().contains(&needle()),
        "!contains_cs" => !text().contains(&needle()),
        "has" => has_term(&lower(), &needle().to_lowercase()),
        "!has" => !has_term(&lower(), &needle().to_lowercase()),
        "has_any" => rhs
            .iter()
            .any(|v| has_term(&lower(), &expr::to_text(v).to_lowercase())),
        "startswith" => lower().starts_with(&needle().to_lowercase()),
        "!startswith" => !lower().starts_with(&needle().to_lowercase()),
        "startswith_cs" => text().starts_with(&needle()),
        "endswith" => lower().ends_with(&needle().to_lowercase()),
        "!endswith" => !lower().ends_with(&needle().to_lowercase()),
        "endswith_cs" => text().ends_with(&needle()),
        other => {
            return Err(KqlError::invalid(&format!(
                "operator '{other}' is not supported"
            )));
        }
    })
}

/// `has`: the needle occurs as a whole term (bounded by non-alphanumeric characters).
fn has_term(hay: &str, needle: &str) -> bool {
    if needle.is_empty() {
        return true;
    }
    let bytes = hay.as_bytes();
    let mut from = 0;
    while let Some(pos) = hay[from..].find(needle) {
        let start = from + pos;
        let end = start + needle.len();
        let before_ok = start == 0 || !bytes[start - 1].is_ascii_alphanumeric();
        let after_ok = end == bytes.len() || !bytes[end].is_ascii_alphanumeric();
        if before_ok && after_ok {
            return true;
        }
        from = start + 1;
        while from < hay.len() && !hay.is_char_boundary(from) {
            from += 1;
        }
    }
    false
}

fn values_eq(a: &Value, b: &Value, ci: bool) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => x.as_f64() == y.as_f64(),
        (Value::String(x), Value::String(y)) => {
            if ci {
                x.to_lowercase() == y.to_lowercase()
            } else if x == y {
                true
            } else {
                // Datetimes compare by instant, whatever their rendering.
                matches!((expr::parse_datetime(x), expr::parse_datetime(y)), (Some(p), Some(q)) if p == q)
            }
        }
        (Value::Bool(x), Value::Bool(y)) => x == y,
        (Value::Null, Value::Null) => true,
        (Value::Null, _) | (_, Value::Null) => false,
        _ => {
            let (x, y) = (expr::to_text(a), expr::to_text(b));
            if ci {
                x.eq_ignore_ascii_case(&y)
            } else {
                x == y
            }
        }
    }
}

/// Orders two values: numbers numerically, datetimes by instant, strings ordinally; nulls first.
pub fn compare(a: &Value, b: &Value) -> Option<Ordering> {
    match (a, b) {
        (Value::Null, Value::Null) => Some(Ordering::Equal),
        (Value::Null, _) => Some(Ordering::Less),
        (_, Value::Null) => Some(Ordering::Greater),
        (Value::Number(x), Value::Number(y)) => x.as_f64()?.partial_cmp(&y.as_f64()?),
        (Value::String(x), Value::String(y)) => {
            match (expr::parse_datetime(x), expr::parse_datetime(y)) {
                (Some(p), Some(q)) => Some(p.cmp(&q)),
                _ => Some(x.cmp(y)),
            }
        }
        (Value::Bool(x), Value::Bool(y)) => Some(x.cmp(y)),
        (Value::Number(x), Value::String(y)) => y
            .trim()
            .parse::<f64>()
            .ok()
            .and_then(|y| x.as_f64()?.partial_cmp(&y)),
        (Value::String(x), Value::Number(y)) => x
            .trim()
            .parse::<f64>()
            .ok()
            .and_then(|x| x.partial_cmp(&y.as_f64()?)),
        _ => Some(expr::to_text(a).cmp(&expr::to_text(b))),
    }
}

fn named_exprs(table: &Table, items: &[String]) -> Result<Vec<(String, Expr)>, KqlError> {
    let mut out = Vec::new();
    for item in items {
        let (name, e) = expr::parse_named(item)?;
        check_columns(table, &e)?;
        out.push((name, e));
    }
    Ok(out)
}

fn project(table: Table, items: &[String], now: DateTime<Utc>) -> Result<Table, KqlError> {
    let exprs = named_exprs(&table, items)?;
    let mut rows = Vec::with_capacity(table.rows.len());
    for row in &table.rows {
        let mut out = Map::new();
        for (name, e) in &exprs {
            out.insert(name.clone(), expr::eval(e, row, now)?);
        }
        rows.push(Arc::new(out));
    }
    Ok(Table {
        columns: exprs.into_iter().map(|(n, _)| n).collect(),
        rows,
    })
}

fn extend(
    table: Table,
    clause: &Map<String, Value>,
    now: DateTime<Utc>,
) -> Result<Table, KqlError> {
    let name = prop_str(clause, "FieldName")?.trim().to_string();
    let e = expr::parse(prop_str(clause, "Expression")?)?;
    check_columns(&table, &e)?;
    let mut columns = table.columns;
    let mut rows = table.rows;
    for row in &mut rows {
        let v = expr::eval(&e, row, now)?;
        Arc::make_mut(row).insert(name.clone(), v);
    }
    if !columns.contains(&name) {
        columns.push(name);
    }
    Ok(Table { columns, rows })
}

fn orderby(
    table: Table,
    clause: &Map<String, Value>,
    now: DateTime<Utc>,
) -> Result<Table, KqlError> {
    let Some(Value::Object(keys)) = prop(clause, "FieldNamesAscDesc") else {
        return Err(KqlError::invalid(
            "clause property 'FieldNamesAscDesc' is required",
        ));
    };
    let mut specs = Vec::new();
    for (k, dir) in keys {
        let e = expr::parse(k)?;
        check_columns(&table, &e)?;
        if let Expr::Path(p) = &e
            && p.first()
                .is_some_and(|h| DYNAMIC_COLUMNS.contains(&h.as_str()))
        {
            return Err(KqlError {
                code: "ExpressionKeyCantBeDynamic".into(),
                message: format!("sort key '{k}' is dynamic: cast it, e.g. tostring({k})"),
            });
        }
        let desc = match dir.as_str().map(str::to_ascii_lowercase).as_deref() {
            Some("asc") => false,
            Some("desc") => true,
            _ => {
                return Err(KqlError::invalid(&format!(
                    "sort direction for '{k}' must be asc or desc"
                )));
            }
        };
        specs.push((e, desc));
    }
    let mut keyed = Vec::with_capacity(table.rows.len());
    for row in table.rows {
        let ks = specs
            .iter()
            .map(|(e, _)| expr::eval(e, &row, now))
            .collect::<Result<Vec<_>, _>>()?;
        keyed.push((ks, row));
    }
    keyed.sort_by(|(a, _), (b, _)| {
        for (i, (_, desc)) in specs.iter().enumerate() {
            let o = compare(&a[i], &b[i]).unwrap_or(Ordering::Equal);
            let o = if *desc { o.reverse() } else { o };
            if o != Ordering::Equal {
                return o;
            }
        }
        Ordering::Equal
    });
    Ok(Table {
        columns: table.columns,
        rows: keyed.into_iter().map(|(_, r)| r).collect(),
    })
}

fn group_key(vals: &[Value]) -> String {
    Value::Array(vals.to_vec()).to_string()
}

fn distinct(table: Table, items: &[String], now: DateTime<Utc>) -> Result<Table, KqlError> {
    let projected = project(table, items, now)?;
    let mut seen = std::collections::BTreeSet::new();
    let rows = projected
        .rows
        .into_iter()
        .filter(|r| seen.insert(group_key(&r.values().cloned().collect::<Vec<_>>())))
        .collect();
    Ok(Table {
        columns: projected.columns,
        rows,
    })
}

fn summarize(
    table: Table,
    clause: &Map<String, Value>,
    now: DateTime<Utc>,
) -> Result<Table, KqlError> {
    let Some(Value::Object(spec)) = prop(clause, "SummarizeClauseExpression") else {
        return Err(KqlError::invalid(
            "clause property 'SummarizeClauseExpression' is required",
        ));
    };
    let op = prop_str(spec, "OperatorName")?.to_ascii_lowercase();
    let op_field = prop(spec, "OperatorFieldName")
        .and_then(Value::as_str)
        .unwrap_or("")
        .trim()
        .to_string();
    let by = match prop(spec, "FieldList") {
        None | Some(Value::Null) => Vec::new(),
        Some(_) => prop_strings(spec, "FieldList")?,
    };
    let by = named_exprs(&table, &by)?;
    // Groups in first-seen order, keyed deterministically.
    let mut order: Vec<String> = Vec::new();
    let mut groups: BTreeMap<String, (Vec<Value>, Vec<usize>)> = BTreeMap::new();
    for (i, row) in table.rows.iter().enumerate() {
        let vals = by
            .iter()
            .map(|(_, e)| expr::eval(e, row, now))
            .collect::<Result<Vec<_>, _>>()?;
        let key = group_key(&vals);
        let entry = groups.entry(key.clone()).or_insert_with(|| {
            order.push(key);
            (vals, Vec::new())
        });
        entry.1.push(i);
    }
    let by_names: Vec<String> = by.iter().map(|(n, _)| n.clone()).collect();
    match op.as_str() {
        "count" => {
            let count_name = if op_field.is_empty() {
                "count_".to_string()
            } else {
                op_field
            };
            let mut rows = Vec::new();
            for key in &order {
                let Some((vals, idx)) = groups.get(key) else {
                    continue;
                };
                let mut out = Map::new();
                for (n, v) in by_names.iter().zip(vals) {
                    out.insert(n.clone(), v.clone());
                }
                out.insert(count_name.clone(), Value::from(idx.len()));
                rows.push(Arc::new(out));
            }
            let mut columns = by_names;
            columns.push(count_name);
            Ok(Table { columns, rows })
        }
        "argmax" | "arg_max" => {
            let (arg_name, arg_expr) = expr::parse_named(&op_field)?;
            check_columns(&table, &arg_expr)?;
            let mut rows = Vec::new();
            for key in &order {
                let Some((vals, idx)) = groups.get(key) else {
                    continue;
                };
                let mut best: Option<(Value, usize)> = None;
                for &i in idx {
                    let v = expr::eval(&arg_expr, &table.rows[i], now)?;
                    let better = match &best {
                        None => true,
                        Some((b, _)) => compare(&v, b) == Some(Ordering::Greater),
                    };
                    if better {
                        best = Some((v, i));
                    }
                }
                let Some((v, i)) = best else { continue };
                let mut out = Map::new();
                for (n, val) in by_names.iter().zip(vals) {
                    out.insert(n.clone(), val.clone());
                }
                out.insert(arg_name.clone(), v);
                for (k, val) in table.rows[i].iter() {
                    if !out.contains_key(k) {
                        out.insert(k.clone(), val.clone());
                    }
                }
                rows.push(Arc::new(out));
            }
            let mut columns = by_names;
            columns.push(arg_name);
            for c in &table.columns {
                if !columns.contains(c) {
                    columns.push(c.clone());
                }
            }
            Ok(Table { columns, rows })
        }
        other => Err(KqlError::invalid(&format!(
            "summarize operator '{other}' is not supported"
        ))),
    }
}

fn join(
    left: Table,
    base: &[Row],
    clause: &Map<String, Value>,
    now: DateTime<Utc>,
) -> Result<Table, KqlError> {
    let kind = prop(clause, "JoinKind")
        .and_then(Value::as_str)
        .unwrap_or("innerunique")
        .to_ascii_lowercase();
    let Some(Value::Object(right_spec)) = prop(clause, "RightTable") else {
        return Err(KqlError::invalid(
            "clause property 'RightTable' is required",
        ));
    };
    let right_clauses = parse_clauses(prop(right_spec, "Clauses"))?;
    let right = evaluate(base, &right_clauses, now)?.table;
    let lcol = prop_str(clause, "LeftColumnName")?.to_string();
    let rcol = prop_str(clause, "RightColumnName")?.to_string();
    if !left.columns.contains(&lcol) {
        return Err(KqlError::unresolved(&lcol));
    }
    if !right.columns.contains(&rcol) {
        return Err(KqlError::unresolved(&rcol));
    }
    // Right columns that clash with left ones get the suffix `1`.
    let renamed: Vec<(String, String)> = right
        .columns
        .iter()
        .map(|c| {
            let out = if left.columns.contains(c) {
                format!("{c}1")
            } else {
                c.clone()
            };
            (c.clone(), out)
        })
        .collect();
    let mut index: BTreeMap<String, Vec<usize>> = BTreeMap::new();
    for (i, r) in right.rows.iter().enumerate() {
        let k = r.get(&rcol).cloned().unwrap_or(Value::Null);
        if !k.is_null() {
            index.entry(k.to_string()).or_default().push(i);
        }
    }
    let merge = |l: &Row, r: Option<&Row>| {
        let mut out: Map<String, Value> = (**l).clone();
        for (src, dst) in &renamed {
            out.insert(
                dst.clone(),
                r.and_then(|r| r.get(src)).cloned().unwrap_or(Value::Null),
            );
        }
        Arc::new(out)
    };
    let mut rows = Vec::new();
    let mut seen_left_keys = std::collections::BTreeSet::new();
    for l in &left.rows {
        let key = l.get(&lcol).cloned().unwrap_or(Value::Null).to_string();
        let matches = index.get(&key).map(Vec::as_slice).unwrap_or(&[]);
        match kind.as_str() {
            "inner" => rows.extend(matches.iter().map(|&i| merge(l, Some(&right.rows[i])))),
            "innerunique" => {
                if seen_left_keys.insert(key.clone()) {
                    rows.extend(matches.iter().map(|&i| merge(l, Some(&right.rows[i]))));
                }
            }
            "leftouter" => {
                if matches.is_empty() {
                    rows.push(merge(l, None));
                } else {
                    rows.extend(matches.iter().map(|&i| merge(l, Some(&right.rows[i]))));
                }
            }
            "leftsemi" => {
                if !matches.is_empty() {
                    rows.push(l.clone());
                }
            }
            "leftanti" => {
                if matches.is_empty() {
                    rows.push(l.clone());
                }
            }
            other => {
                return Err(KqlError::invalid(&format!(
                    "join kind '{other}' is not supported"
                )));
            }
        }
    }
    let mut columns = left.columns;
    if !matches!(kind.as_str(), "leftsemi" | "leftanti") {
        columns.extend(renamed.into_iter().map(|(_, d)| d));
    }
    Ok(Table { columns, rows })
}

/// One response page.
#[derive(Debug, Clone)]
pub struct Page {
    /// Response body.
    pub body: Value,
}

/// Cuts a page out of the evaluated result, per ARG paging rules (`INVENTORY-API.md` §1.2, §2).
pub fn page(result: &Evaluated, options: &Options) -> Result<Page, KqlError> {
    let total = result.table.rows.len();
    let top = options.top.unwrap_or(MAX_TOP).clamp(1, MAX_TOP);
    let token_offset = match &options.skip_token {
        Some(t) => Some(decode_token(t)?),
        None => None,
    };
    // `Skip` overrides the token's offset.
    let offset = options.skip.or(token_offset).unwrap_or(0).min(total);
    let end = (offset + top).min(total);
    let data: Vec<Value> = result.table.rows[offset..end]
        .iter()
        .map(|r| Value::Object((**r).clone()))
        .collect();
    let mut body = Map::new();
    body.insert("totalRecords".into(), Value::from(total));
    body.insert("count".into(), Value::from(data.len()));
    if result.taken {
        body.insert("resultTruncated".into(), Value::from(0));
    } else {
        body.insert("resultTruncated".into(), Value::from(1));
        if end < total {
            body.insert("skipToken".into(), Value::String(encode_token(end)));
        }
    }
    body.insert("data".into(), Value::Array(data));
    Ok(Page {
        body: Value::Object(body),
    })
}

fn encode_token(offset: usize) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(format!("ppgov-emu:{offset}"))
}

fn decode_token(t: &str) -> Result<usize, KqlError> {
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(t.trim())
        .map_err(|_| KqlError::invalid("SkipToken is invalid"))?;
    String::from_utf8(bytes)
        .ok()
        .and_then(|s| s.strip_prefix("ppgov-emu:").and_then(|n| n.parse().ok()))
        .ok_or_else(|| KqlError::invalid("SkipToken is invalid"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn rows() -> Vec<Row> {
        (0..25)
            .map(|i| {
                let t = if i % 5 == 0 { "microsoft.powerplatform/environments" } else { "microsoft.powerapps/canvasapps" };
                let v = json!({"id": format!("/x/{i}"), "name": format!("n{i:02}"), "type": t, "tenantId": "t", "location": "europe",
                    "properties": {"displayName": format!("App {i}"), "environmentId": format!("ENV{}", i % 3),
                    "createdAt": format!("2026-01-{:02}T00:00:00Z", i + 1)}});
                Arc::new(v.as_object().unwrap().clone())
            })
            .collect()
    }

    fn run(clauses: Value) -> Result<Evaluated, KqlError> {
        let body = json!({"TableName": "PowerPlatformResources", "Clauses": clauses});
        let req = parse_request(body.to_string().as_bytes())?;
        evaluate(&rows(), &req.clauses, Utc::now())
    }

    #[test]
    fn where_project_orderby_take() {
        let r = run(json!([
            {"$type": "where", "FieldName": "type", "Operator": "in~", "Values": ["'Microsoft.PowerApps/CanvasApps'"]},
            {"$type": "where", "FieldName": "properties.createdAt", "Operator": ">=", "Values": ["datetime(2026-01-10)"]},
            {"$type": "project", "FieldList": ["name", "properties.displayName", "env = tolower(tostring(properties.environmentId))"]},
            {"$type": "orderby", "FieldNamesAscDesc": {"name": "desc"}},
            {"$type": "take", "TakeCount": 3}
        ]))
        .unwrap();
        assert!(r.taken);
        let names: Vec<_> = r
            .table
            .rows
            .iter()
            .map(|r| r["name"].as_str().unwrap().to_string())
            .collect();
        assert_eq!(names, ["n24", "n23", "n22"]);
        assert_eq!(r.table.rows[0]["properties_displayName"], "App 24");
        assert_eq!(r.table.rows[0]["env"], "env0");
        assert_eq!(r.table.columns, ["name", "properties_displayName", "env"]);
    }

    #[test]
    fn late_type_and_unknown_clause_and_bare_token_fail() {
        let late = json!({"TableName": "PowerPlatformResources", "Clauses": [{"TakeCount": 1, "$type": "take"}]});
        assert_eq!(
            parse_request(late.to_string().as_bytes()).unwrap_err(),
            KqlError::format()
        );
        assert!(run(json!([{"$type": "mv-expand", "FieldName": "x"}])).is_err());
        let e = run(json!([{"$type": "where", "FieldName": "name", "Operator": "==", "Values": ["Activated"]}])).unwrap_err();
        assert_eq!(e.code, "Operator_FailedToResolveEntity");
        let e = run(
            json!([{"$type": "orderby", "FieldNamesAscDesc": {"properties.createdAt": "asc"}}]),
        )
        .unwrap_err();
        assert_eq!(e.code, "ExpressionKeyCantBeDynamic");
    }

    #[test]
    fn count_summarize_distinct_argmax() {
        let r = run(json!([{"$type": "count"}])).unwrap();
        assert_eq!(r.table.rows[0]["Count"], 25);
        let r = run(json!([{"$type": "summarize", "SummarizeClauseExpression": {"OperatorName": "count", "OperatorFieldName": "n", "FieldList": ["type"]}}])).unwrap();
        assert_eq!(r.table.rows.len(), 2);
        assert_eq!(r.table.rows[0]["n"], 5);
        assert_eq!(r.table.rows[1]["n"], 20);
        let r =
            run(json!([{"$type": "distinct", "FieldList": ["properties.environmentId"]}])).unwrap();
        assert_eq!(r.table.rows.len(), 3);
        let r = run(json!([{"$type": "summarize", "SummarizeClauseExpression": {"OperatorName": "argmax", "OperatorFieldName": "tostring(properties.createdAt)", "FieldList": ["type"]}}])).unwrap();
        assert_eq!(r.table.rows[0]["name"], "n20");
    }

    #[test]
    fn join_leftouter_suffixes_duplicates() {
        let r = run(json!([
            {"$type": "extend", "FieldName": "joinKey", "Expression": "tolower(tostring(properties.environmentId))"},
            {"$type": "join", "JoinKind": "leftouter", "LeftColumnName": "joinKey", "RightColumnName": "joinKey",
             "RightTable": {"TableName": "PowerPlatformResources", "Clauses": [
                {"$type": "where", "FieldName": "name", "Operator": "==", "Values": ["'n00'"]},
                {"$type": "project", "FieldList": ["joinKey = 'env0'", "environmentName = properties.displayName"]}]}}
        ]))
        .unwrap();
        let hit = r
            .table
            .rows
            .iter()
            .find(|r| r["joinKey"] == "env0")
            .unwrap();
        assert_eq!(hit["environmentName"], "App 0");
        assert_eq!(hit["joinKey1"], "env0");
        let miss = r
            .table
            .rows
            .iter()
            .find(|r| r["joinKey"] == "env1")
            .unwrap();
        assert!(miss["environmentName"].is_null());
    }

    #[test]
    fn paging_yields_each_row_once_and_skip_overrides_token() {
        let all = run(json!([{"$type": "orderby", "FieldNamesAscDesc": {"name": "asc"}}])).unwrap();
        let mut opts = Options {
            top: Some(10),
            ..Options::default()
        };
        let mut seen = Vec::new();
        loop {
            let p = page(&all, &opts).unwrap().body;
            assert_eq!(p["totalRecords"], 25);
            assert_eq!(p["resultTruncated"], 1);
            seen.extend(
                p["data"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|r| r["name"].clone()),
            );
            match p.get("skipToken").and_then(Value::as_str) {
                Some(t) => opts.skip_token = Some(t.to_string()),
                None => break,
            }
        }
        assert_eq!(seen.len(), 25);
        let mut dedup = seen.clone();
        dedup.dedup();
        assert_eq!(dedup.len(), 25);
        let restart = Options {
            top: Some(10),
            skip: Some(0),
            skip_token: Some(encode_token(10)),
        };
        let p = page(&all, &restart).unwrap().body;
        assert_eq!(p["data"][0]["name"], "n00");
    }
}
