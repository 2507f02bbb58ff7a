//! Reading `ppgov.toml`: parse with spans, walk against the schema (collecting every unknown key
//! and wrong type), and hand back the scalar values with their positions plus the `[posture]` tree.

use crate::error::{ConfigError, Location};
use crate::schema::{Kind, ROOT, closest};
use std::collections::BTreeMap;
use std::ops::Range;
use std::path::{Path, PathBuf};
use toml::Spanned;
use toml::de::{DeTable, DeValue};

/// A value from one source with where it came from.
#[derive(Debug, Clone)]
pub(crate) struct Entry {
    pub value: String,
    pub location: Location,
    /// Directory relative paths in this value resolve against (the file's directory).
    pub base_dir: Option<PathBuf>,
}

/// What the file contributed.
#[derive(Debug, Default)]
pub(crate) struct FileLayer {
    pub scalars: BTreeMap<String, Entry>,
    pub posture: Option<toml::Value>,
    pub remediation: Option<toml::Value>,
    pub notify: Option<toml::Value>,
    pub console: Option<toml::Value>,
    pub desired: Option<toml::Value>,
}

/// Maps byte offsets to line:column.
struct Doc<'a> {
    path: &'a Path,
    text: &'a str,
}

impl Doc<'_> {
    fn loc(&self, span: Range<usize>) -> Location {
        let start = span.start.min(self.text.len());
        let before = self.text.get(..start).unwrap_or("");
        let line = before.matches('\n').count() + 1;
        let line_start = before.rfind('\n').map(|i| i + 1).unwrap_or(0);
        let column = self
            .text
            .get(line_start..start)
            .map(|s| s.chars().count())
            .unwrap_or(0)
            + 1;
        Location::File {
            path: self.path.to_path_buf(),
            line,
            column,
        }
    }
}

/// Reads and checks the file; problems go to `errs`.
pub(crate) fn read(path: &Path, errs: &mut Vec<ConfigError>) -> FileLayer {
    let text = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) => {
            errs.push(
                ConfigError::new(
                    Location::FileAsWhole(path.to_path_buf()),
                    "file",
                    format!("cannot read the configuration file: {e}"),
                )
                .fix("check the path given by --config or PPGOV_CONFIG"),
            );
            return FileLayer::default();
        }
    };
    let doc = Doc { path, text: &text };
    let (root, parse_errs) = DeTable::parse_recoverable(&text);
    for e in parse_errs {
        let loc = e
            .span()
            .map(|s| doc.loc(s))
            .unwrap_or_else(|| Location::FileAsWhole(path.to_path_buf()));
        let msg = e.message().trim().to_string();
        errs.push(
            ConfigError::new(loc, "syntax", format!("not valid TOML: {msg}"))
                .fix("correct the TOML syntax at this position"),
        );
    }
    let mut layer = FileLayer::default();
    let base_dir = path.parent().map(|p| {
        if p.as_os_str().is_empty() {
            PathBuf::from(".")
        } else {
            p.to_path_buf()
        }
    });
    walk(&doc, root.get_ref(), ROOT, "", errs);
    for (section, kind) in ROOT {
        let Some(v) = root.get_ref().get(*section) else {
            continue;
        };
        let DeValue::Table(t) = v.get_ref() else {
            continue;
        };
        if *section == "posture" {
            check_suppressions(&doc, t, errs);
            layer.posture = Some(to_value(v.get_ref()));
            continue;
        }
        if *section == "notify" {
            crate::notify::check(&|s| doc.loc(s), t, errs);
            layer.notify = Some(to_value(v.get_ref()));
            continue;
        }
        if *section == "console" {
            layer.console = Some(to_value(v.get_ref()));
            continue;
        }
        if *section == "remediation" {
            layer.remediation = Some(to_value(v.get_ref()));
            continue;
        }
        if *section == "desired" {
            layer.desired = Some(to_value(v.get_ref()));
            continue;
        }
        let Kind::Table(keys) = kind else { continue };
        for (k, val) in t.iter() {
            let key = k.get_ref().as_ref();
            if !keys.iter().any(|(n, _)| *n == key) {
                continue;
            }
            // Strings and integers (`serve.workers = 4`) are scalars; the schema walk has
            // already refused a value of the wrong type.
            let scalar = match val.get_ref() {
                DeValue::String(s) => Some(s.to_string()),
                DeValue::Integer(i) => i64::from_str_radix(
                    i.as_str().replace('_', "").trim_start_matches('+'),
                    i.radix(),
                )
                .ok()
                .map(|n| n.to_string()),
                _ => None,
            };
            if let Some(s) = scalar {
                layer.scalars.insert(
                    format!("{section}.{key}"),
                    Entry {
                        value: s,
                        location: doc.loc(val.span()),
                        base_dir: base_dir.clone(),
                    },
                );
            }
            // One level of nesting (`[crawl.max_age]`): its string values become dotted keys.
            if let DeValue::Table(inner) = val.get_ref() {
                for (ik, iv) in inner.iter() {
                    if let DeValue::String(s) = iv.get_ref() {
                        layer.scalars.insert(
                            format!("{section}.{key}.{}", ik.get_ref().as_ref()),
                            Entry {
                                value: s.to_string(),
                                location: doc.loc(iv.span()),
                                base_dir: base_dir.clone(),
                            },
                        );
                    }
                }
            }
        }
    }
    layer
}

fn walk(
    doc: &Doc<'_>,
    table: &DeTable<'_>,
    schema: &[(&str, Kind)],
    prefix: &str,
    errs: &mut Vec<ConfigError>,
) {
    for (k, v) in table.iter() {
        let name = k.get_ref().as_ref();
        let key = if prefix.is_empty() {
            name.to_string()
        } else {
            format!("{prefix}.{name}")
        };
        let Some((_, kind)) = schema.iter().find(|(n, _)| *n == name) else {
            let known: Vec<&str> = schema.iter().map(|(n, _)| *n).collect();
            let fix = match closest(name, known.iter().copied()) {
                Some(c) => format!("did you mean `{c}`?"),
                None => format!("remove it; known keys here: {}", known.join(", ")),
            };
            errs.push(ConfigError::new(doc.loc(k.span()), key, "unknown key").fix(fix));
            continue;
        };
        check_kind(doc, v, *kind, &key, errs);
    }
}

fn check_kind(
    doc: &Doc<'_>,
    v: &Spanned<DeValue<'_>>,
    kind: Kind,
    key: &str,
    errs: &mut Vec<ConfigError>,
) {
    let wrong = |errs: &mut Vec<ConfigError>| {
        errs.push(
            ConfigError::new(
                doc.loc(v.span()),
                key,
                format!(
                    "expected {}, found {}",
                    kind.describe(),
                    v.get_ref().type_str()
                ),
            )
            .fix(format!("write {} here", kind.describe())),
        );
    };
    match (kind, v.get_ref()) {
        (Kind::Str, DeValue::String(_)) | (Kind::Date, DeValue::String(_)) => {}
        (Kind::Int, DeValue::Integer(_)) => {}
        (Kind::Bool, DeValue::Boolean(_)) => {}
        (Kind::Date, DeValue::Datetime(d)) if d.date.is_some() && d.time.is_none() => {}
        (Kind::StrList, DeValue::Array(a)) => {
            for (i, item) in a.iter().enumerate() {
                check_kind(doc, item, Kind::Str, &format!("{key}[{i}]"), errs);
            }
        }
        (Kind::Table(keys), DeValue::Table(t)) => walk(doc, t, keys, key, errs),
        (Kind::Delegated, DeValue::Table(_)) => {}
        (Kind::ScalarMap, DeValue::Table(t)) => {
            for (k, item) in t.iter() {
                let scalar = matches!(
                    item.get_ref(),
                    DeValue::String(_) | DeValue::Integer(_) | DeValue::Boolean(_)
                );
                if !scalar {
                    errs.push(
                        ConfigError::new(
                            doc.loc(item.span()),
                            format!("{key}.{}", k.get_ref()),
                            format!(
                                "expected a string, an integer or a boolean, found {}",
                                item.get_ref().type_str()
                            ),
                        )
                        .fix("write one value per key (quote a dotted setting path)"),
                    );
                }
            }
        }
        (Kind::TableArray(keys), DeValue::Array(a)) => {
            for (i, item) in a.iter().enumerate() {
                match item.get_ref() {
                    DeValue::Table(t) => walk(doc, t, keys, &format!("{key}[{i}]"), errs),
                    _ => check_kind(doc, item, Kind::Table(keys), &format!("{key}[{i}]"), errs),
                }
            }
        }
        _ => wrong(errs),
    }
}

/// Rule ids, justifications and dates of `[[posture.suppressions]]`.
fn check_suppressions(doc: &Doc<'_>, posture: &DeTable<'_>, errs: &mut Vec<ConfigError>) {
    let Some(DeValue::Array(list)) = posture.get("suppressions").map(|v| v.get_ref()) else {
        return;
    };
    for (i, item) in list.iter().enumerate() {
        let DeValue::Table(t) = item.get_ref() else {
            continue;
        };
        let key = |k: &str| format!("posture.suppressions[{i}].{k}");
        let here = doc.loc(item.span());
        match t.get("rule_id") {
            None => errs.push(
                ConfigError::new(here.clone(), key("rule_id"), "missing")
                    .fix("name the rule, e.g. rule_id = \"PPG-APP-001\""),
            ),
            Some(v) => {
                if let DeValue::String(s) = v.get_ref()
                    && !crate::checks::is_rule_id(s)
                {
                    errs.push(
                        ConfigError::new(
                            doc.loc(v.span()),
                            key("rule_id"),
                            format!("`{s}` is not a rule id"),
                        )
                        .fix("use the catalogue id, pattern PPG-XXX-NNN (e.g. PPG-APP-001)"),
                    );
                }
            }
        }
        if t.get("resource").is_none() {
            errs.push(
                ConfigError::new(here.clone(), key("resource"), "missing")
                    .fix("give the resource id, or \"*\" for all of the rule"),
            );
        }
        match t.get("justification") {
            None => errs.push(
                ConfigError::new(
                    here.clone(),
                    key("justification"),
                    "missing: a suppression needs a justification",
                )
                .fix("say why the finding is accepted (auditors ask)"),
            ),
            Some(v) => {
                if let DeValue::String(s) = v.get_ref()
                    && s.trim().is_empty()
                {
                    errs.push(
                        ConfigError::new(doc.loc(v.span()), key("justification"), "empty")
                            .fix("say why the finding is accepted (auditors ask)"),
                    );
                }
            }
        }
        if let Some(v) = t.get("expires")
            && let DeValue::String(s) = v.get_ref()
            && chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d").is_err()
        {
            errs.push(
                ConfigError::new(
                    doc.loc(v.span()),
                    key("expires"),
                    format!("`{s}` is not a date"),
                )
                .fix("write the last day it applies as YYYY-MM-DD"),
            );
        }
    }
}

/// Converts the spanned tree to a plain value for serde; dates become `YYYY-MM-DD` strings.
fn to_value(v: &DeValue<'_>) -> toml::Value {
    match v {
        DeValue::String(s) => toml::Value::String(s.to_string()),
        DeValue::Integer(i) => i64::from_str_radix(
            i.as_str().replace('_', "").trim_start_matches('+'),
            i.radix(),
        )
        .map(toml::Value::Integer)
        .unwrap_or_else(|_| toml::Value::String(i.as_str().to_string())),
        DeValue::Float(f) => f
            .as_str()
            .parse::<f64>()
            .map(toml::Value::Float)
            .unwrap_or_else(|_| toml::Value::String(f.as_str().to_string())),
        DeValue::Boolean(b) => toml::Value::Boolean(*b),
        DeValue::Datetime(d) => match (d.date, d.time) {
            (Some(date), None) => toml::Value::String(date.to_string()),
            _ => toml::Value::Datetime(*d),
        },
        DeValue::Array(a) => toml::Value::Array(a.iter().map(|x| to_value(x.get_ref())).collect()),
        DeValue::Table(t) => {
            let mut out = toml::Table::new();
            for (k, x) in t.iter() {
                out.insert(k.get_ref().to_string(), to_value(x.get_ref()));
            }
            toml::Value::Table(out)
        }
    }
}
