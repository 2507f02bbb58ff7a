//! A small KQL expression language: literals, column paths and a handful of scalar functions.
//!
//! The inventory API passes raw KQL fragments through to Azure Resource Graph (`FieldName`,
//! `Values`, `project` items, `extend` expressions, `orderby` keys). The emulator understands the
//! subset real clients send; anything else is a 400, as ARG would answer for an invalid query.

use chrono::{DateTime, Duration, NaiveDate, NaiveDateTime, Utc};
use serde_json::{Map, Value};

use super::KqlError;

/// A parsed scalar expression.
#[derive(Debug, Clone, PartialEq)]
pub enum Expr {
    /// A literal (string, number, bool, null, or a datetime rendered as RFC 3339).
    Lit(Value),
    /// A timespan literal such as `30d` (only meaningful inside `ago()`).
    Span(Duration),
    /// A column reference with an optional path into a dynamic value: `properties.displayName`.
    Path(Vec<String>),
    /// A function call.
    Call(String, Vec<Expr>),
}

#[derive(Debug, Clone, PartialEq)]
enum Tok {
    Ident(String),
    Str(String),
    Num(f64),
    Span(Duration),
    Raw(String),
    LParen,
    RParen,
    Comma,
    Dot,
    Assign,
    LBracket,
    RBracket,
}

fn tokenize(src: &str) -> Result<Vec<Tok>, KqlError> {
    let chars: Vec<char> = src.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c.is_whitespace() {
            i += 1;
        } else if c == '\'' || c == '"' {
            let mut s = String::new();
            i += 1;
            loop {
                match chars.get(i) {
                    None => return Err(KqlError::syntax(src, "unterminated string literal")),
                    Some('\\') => {
                        if let Some(n) = chars.get(i + 1) {
                            s.push(*n);
                        }
                        i += 2;
                    }
                    Some(ch) if *ch == c => {
                        i += 1;
                        break;
                    }
                    Some(ch) => {
                        s.push(*ch);
                        i += 1;
                    }
                }
            }
            out.push(Tok::Str(s));
        } else if c.is_ascii_digit()
            || (c == '-' && chars.get(i + 1).is_some_and(char::is_ascii_digit))
        {
            let start = i;
            i += 1;
            while i < chars.len() && (chars[i].is_ascii_digit() || chars[i] == '.') {
                i += 1;
            }
            let num: String = chars[start..i].iter().collect();
            let unit_start = i;
            while i < chars.len() && chars[i].is_ascii_alphabetic() {
                i += 1;
            }
            let unit: String = chars[unit_start..i].iter().collect();
            let n: f64 = num
                .parse()
                .map_err(|_| KqlError::syntax(src, "bad number literal"))?;
            if unit.is_empty() {
                out.push(Tok::Num(n));
            } else {
                let secs = match unit.as_str() {
                    "d" => n * 86_400.0,
                    "h" => n * 3_600.0,
                    "m" => n * 60.0,
                    "s" => n,
                    "ms" => n / 1000.0,
                    _ => return Err(KqlError::syntax(src, "unknown timespan unit")),
                };
                out.push(Tok::Span(Duration::milliseconds((secs * 1000.0) as i64)));
            }
        } else if c.is_alphabetic() || c == '_' || c == '$' {
            let start = i;
            while i < chars.len()
                && (chars[i].is_alphanumeric() || chars[i] == '_' || chars[i] == '$')
            {
                i += 1;
            }
            let ident: String = chars[start..i].iter().collect();
            // `datetime(...)` takes an unquoted literal: capture it raw.
            if ident.eq_ignore_ascii_case("datetime") {
                let mut j = i;
                while j < chars.len() && chars[j].is_whitespace() {
                    j += 1;
                }
                if chars.get(j) == Some(&'(') {
                    let close = chars[j..].iter().position(|ch| *ch == ')').map(|p| p + j);
                    let Some(close) = close else {
                        return Err(KqlError::syntax(src, "unterminated datetime literal"));
                    };
                    let raw: String = chars[j + 1..close].iter().collect();
                    out.push(Tok::Raw(
                        raw.trim()
                            .trim_matches(|q| q == '\'' || q == '"')
                            .to_string(),
                    ));
                    i = close + 1;
                    continue;
                }
            }
            out.push(Tok::Ident(ident));
        } else {
            let tok = match c {
                '(' => Tok::LParen,
                ')' => Tok::RParen,
                ',' => Tok::Comma,
                '.' => Tok::Dot,
                '[' => Tok::LBracket,
                ']' => Tok::RBracket,
                '=' if chars.get(i + 1) != Some(&'=') => Tok::Assign,
                _ => {
                    return Err(KqlError::syntax(
                        src,
                        &format!("unexpected character '{c}'"),
                    ));
                }
            };
            out.push(tok);
            i += 1;
        }
    }
    Ok(out)
}

struct Parser<'a> {
    toks: Vec<Tok>,
    pos: usize,
    src: &'a str,
}

impl Parser<'_> {
    fn next(&mut self) -> Option<Tok> {
        let t = self.toks.get(self.pos).cloned();
        self.pos += 1;
        t
    }

    fn peek(&self) -> Option<&Tok> {
        self.toks.get(self.pos)
    }

    fn expr(&mut self) -> Result<Expr, KqlError> {
        match self.next() {
            Some(Tok::Str(s)) => Ok(Expr::Lit(Value::String(s))),
            Some(Tok::Num(n)) => Ok(Expr::Lit(number(n))),
            Some(Tok::Span(d)) => Ok(Expr::Span(d)),
            Some(Tok::Raw(raw)) => match parse_datetime(&raw) {
                Some(dt) => Ok(Expr::Lit(Value::String(render_datetime(dt)))),
                None => Err(KqlError::syntax(self.src, "bad datetime literal")),
            },
            Some(Tok::LParen) => {
                let e = self.expr()?;
                self.expect_rparen()?;
                Ok(e)
            }
            Some(Tok::Ident(id)) => {
                if self.peek() == Some(&Tok::LParen) {
                    self.pos += 1;
                    let mut args = Vec::new();
                    if self.peek() == Some(&Tok::RParen) {
                        self.pos += 1;
                    } else {
                        loop {
                            args.push(self.expr()?);
                            match self.next() {
                                Some(Tok::Comma) => {}
                                Some(Tok::RParen) => break,
                                _ => return Err(KqlError::syntax(self.src, "expected ',' or ')'")),
                            }
                        }
                    }
                    return Ok(Expr::Call(id.to_ascii_lowercase(), args));
                }
                match id.as_str() {
                    "true" => return Ok(Expr::Lit(Value::Bool(true))),
                    "false" => return Ok(Expr::Lit(Value::Bool(false))),
                    "null" => return Ok(Expr::Lit(Value::Null)),
                    _ => {}
                }
                let mut path = vec![id];
                loop {
                    match self.peek() {
                        Some(Tok::Dot) => {
                            self.pos += 1;
                            match self.next() {
                                Some(Tok::Ident(seg)) => path.push(seg),
                                _ => {
                                    return Err(KqlError::syntax(
                                        self.src,
                                        "expected a name after '.'",
                                    ));
                                }
                            }
                        }
                        Some(Tok::LBracket) => {
                            self.pos += 1;
                            let seg = match self.next() {
                                Some(Tok::Str(s)) => s,
                                Some(Tok::Num(n)) => format!("{}", n as i64),
                                _ => return Err(KqlError::syntax(self.src, "expected an index")),
                            };
                            if self.next() != Some(Tok::RBracket) {
                                return Err(KqlError::syntax(self.src, "expected ']'"));
                            }
                            path.push(seg);
                        }
                        _ => break,
                    }
                }
                Ok(Expr::Path(path))
            }
            _ => Err(KqlError::syntax(self.src, "expected an expression")),
        }
    }

    fn expect_rparen(&mut self) -> Result<(), KqlError> {
        match self.next() {
            Some(Tok::RParen) => Ok(()),
            _ => Err(KqlError::syntax(self.src, "expected ')'")),
        }
    }
}

fn number(n: f64) -> Value {
    if n.fract() == 0.0 && n.abs() < 9.0e15 {
        Value::from(n as i64)
    } else {
        serde_json::Number::from_f64(n).map_or(Value::Null, Value::Number)
    }
}

/// Parses one scalar expression.
pub fn parse(src: &str) -> Result<Expr, KqlError> {
    let toks = tokenize(src)?;
    let mut p = Parser { toks, pos: 0, src };
    let e = p.expr()?;
    if p.pos != p.toks.len() {
        return Err(KqlError::syntax(src, "unexpected trailing tokens"));
    }
    Ok(e)
}

/// Parses `alias = expr` or `expr`; returns the output column name and the expression.
pub fn parse_named(src: &str) -> Result<(String, Expr), KqlError> {
    let toks = tokenize(src)?;
    if let (Some(Tok::Ident(alias)), Some(Tok::Assign)) = (toks.first(), toks.get(1)) {
        let alias = alias.clone();
        let mut p = Parser { toks, pos: 2, src };
        let e = p.expr()?;
        if p.pos != p.toks.len() {
            return Err(KqlError::syntax(src, "unexpected trailing tokens"));
        }
        return Ok((alias, e));
    }
    let e = parse(src)?;
    Ok((default_name(&e), e))
}

/// The column name KQL gives an unaliased expression: `a.b` becomes `a_b`.
pub fn default_name(e: &Expr) -> String {
    match e {
        Expr::Path(p) => p.join("_"),
        Expr::Call(_, args) => args
            .iter()
            .find_map(|a| match a {
                Expr::Path(_) | Expr::Call(..) => Some(default_name(a)),
                _ => None,
            })
            .unwrap_or_else(|| "Column1".to_string()),
        _ => "Column1".to_string(),
    }
}

/// Every column an expression reads (the first path segment), for schema checks.
pub fn columns_read(e: &Expr, out: &mut Vec<String>) {
    match e {
        Expr::Path(p) => {
            if let Some(h) = p.first() {
                out.push(h.clone());
            }
        }
        Expr::Call(_, args) => args.iter().for_each(|a| columns_read(a, out)),
        _ => {}
    }
}

/// Evaluates an expression against a row.
pub fn eval(e: &Expr, row: &Map<String, Value>, now: DateTime<Utc>) -> Result<Value, KqlError> {
    match e {
        Expr::Lit(v) => Ok(v.clone()),
        Expr::Span(d) => Ok(Value::from(d.num_milliseconds())),
        Expr::Path(p) => Ok(lookup(row, p)),
        Expr::Call(name, args) => call(name, args, row, now),
    }
}

fn lookup(row: &Map<String, Value>, path: &[String]) -> Value {
    let Some((head, rest)) = path.split_first() else {
        return Value::Null;
    };
    let mut cur = row.get(head).unwrap_or(&Value::Null);
    for seg in rest {
        cur = match cur {
            Value::Object(m) => m.get(seg).unwrap_or(&Value::Null),
            Value::Array(a) => seg
                .parse::<usize>()
                .ok()
                .and_then(|i| a.get(i))
                .unwrap_or(&Value::Null),
            _ => &Value::Null,
        };
    }
    cur.clone()
}

fn call(
    name: &str,
    args: &[Expr],
    row: &Map<String, Value>,
    now: DateTime<Utc>,
) -> Result<Value, KqlError> {
    let arg = |i: usize| -> Result<Value, KqlError> {
        match args.get(i) {
            Some(a) => eval(a, row, now),
            None => Err(KqlError::invalid(&format!(
                "function '{name}' expects more arguments"
            ))),
        }
    };
    Ok(match name {
        "tostring" => Value::String(to_text(&arg(0)?)),
        "tolower" => Value::String(to_text(&arg(0)?).to_lowercase()),
        "toupper" => Value::String(to_text(&arg(0)?).to_uppercase()),
        "strlen" => Value::from(to_text(&arg(0)?).chars().count()),
        "toint" | "tolong" => match arg(0)? {
            Value::Number(n) => n
                .as_f64()
                .map_or(Value::Null, |f| Value::from(f.trunc() as i64)),
            Value::String(s) => s.trim().parse::<i64>().map_or(Value::Null, Value::from),
            Value::Bool(b) => Value::from(i64::from(b)),
            _ => Value::Null,
        },
        "toreal" | "todouble" => match arg(0)? {
            Value::Number(n) => Value::Number(n),
            Value::String(s) => s.trim().parse::<f64>().map_or(Value::Null, number),
            _ => Value::Null,
        },
        "tobool" | "toboolean" => match arg(0)? {
            Value::Bool(b) => Value::Bool(b),
            Value::String(s) if s.eq_ignore_ascii_case("true") => Value::Bool(true),
            Value::String(s) if s.eq_ignore_ascii_case("false") => Value::Bool(false),
            Value::Number(n) => Value::Bool(n.as_f64().is_some_and(|f| f != 0.0)),
            _ => Value::Null,
        },
        "todatetime" => parse_datetime(&to_text(&arg(0)?))
            .map_or(Value::Null, |d| Value::String(render_datetime(d))),
        "now" => Value::String(render_datetime(now)),
        "ago" => match args.first() {
            Some(Expr::Span(d)) => Value::String(render_datetime(now - *d)),
            _ => return Err(KqlError::invalid("ago() expects a timespan such as 30d")),
        },
        "coalesce" => {
            let mut out = Value::Null;
            for i in 0..args.len() {
                let v = arg(i)?;
                if !is_empty(&v) {
                    out = v;
                    break;
                }
            }
            out
        }
        "array_length" => match arg(0)? {
            Value::Array(a) => Value::from(a.len()),
            _ => Value::Null,
        },
        "isempty" => Value::Bool(is_empty(&arg(0)?)),
        "isnotempty" => Value::Bool(!is_empty(&arg(0)?)),
        "isnull" => Value::Bool(arg(0)?.is_null()),
        "isnotnull" => Value::Bool(!arg(0)?.is_null()),
        "parse_json" | "todynamic" => match arg(0)? {
            Value::String(s) => serde_json::from_str(&s).unwrap_or(Value::String(s)),
            v => v,
        },
        _ => return Err(KqlError::invalid(&format!("unknown function '{name}'"))),
    })
}

fn is_empty(v: &Value) -> bool {
    match v {
        Value::Null => true,
        Value::String(s) => s.is_empty(),
        _ => false,
    }
}

/// KQL `tostring`: strings unchanged, null empty, dynamic values as compact JSON.
pub fn to_text(v: &Value) -> String {
    match v {
        Value::Null => String::new(),
        Value::String(s) => s.clone(),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => n.to_string(),
        other => other.to_string(),
    }
}

/// Parses the datetime forms KQL accepts in literals and data.
pub fn parse_datetime(s: &str) -> Option<DateTime<Utc>> {
    let s = s.trim();
    if s.len() < 10 || s.as_bytes().get(4).is_none_or(|b| *b != b'-') {
        return None;
    }
    if let Ok(d) = DateTime::parse_from_rfc3339(s) {
        return Some(d.with_timezone(&Utc));
    }
    for fmt in [
        "%Y-%m-%dT%H:%M:%S%.f",
        "%Y-%m-%d %H:%M:%S%.f",
        "%Y-%m-%dT%H:%M",
        "%Y-%m-%d %H:%M",
    ] {
        if let Ok(n) = NaiveDateTime::parse_from_str(s.trim_end_matches('Z'), fmt) {
            return Some(n.and_utc());
        }
    }
    NaiveDate::parse_from_str(s, "%Y-%m-%d")
        .ok()
        .and_then(|d| d.and_hms_opt(0, 0, 0))
        .map(|n| n.and_utc())
}

/// Renders a datetime the way ARG returns them.
pub fn render_datetime(d: DateTime<Utc>) -> String {
    d.to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_paths_calls_and_literals() {
        assert_eq!(
            parse("properties.displayName").unwrap(),
            Expr::Path(vec!["properties".into(), "displayName".into()])
        );
        assert_eq!(
            parse("'Activated'").unwrap(),
            Expr::Lit(Value::String("Activated".into()))
        );
        assert_eq!(parse("42").unwrap(), Expr::Lit(Value::from(42)));
        let (n, e) = parse_named("joinKey = tolower(tostring(properties.environmentId))").unwrap();
        assert_eq!(n, "joinKey");
        assert!(matches!(e, Expr::Call(ref f, _) if f == "tolower"));
        assert_eq!(
            parse_named("properties.displayName").unwrap().0,
            "properties_displayName"
        );
        assert_eq!(
            parse("datetime(2024-01-01)").unwrap(),
            Expr::Lit(Value::String("2024-01-01T00:00:00.000Z".into()))
        );
        assert!(parse("a b").is_err());
    }

    #[test]
    fn ago_counts_back_from_now() {
        let now = parse_datetime("2026-01-31T00:00:00Z").unwrap();
        let v = eval(&parse("ago(30d)").unwrap(), &Map::new(), now).unwrap();
        assert_eq!(v, Value::String("2026-01-01T00:00:00.000Z".into()));
    }
}
