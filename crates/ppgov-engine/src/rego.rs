//! Policy as code: custom policies in Rego, evaluated in-process with `regorus`.
//!
//! Contract (see `policies/README.md`): a policy's package is `ppgov.custom.<name>`; it defines
//! `metadata := {"id": "CUSTOM-...", "title": ..., "severity": ..., "resource_kind": ...}` and a
//! set `findings` of `{"resource": {"kind", "id", "name", "environment_id"}, "message",
//! "evidence"}`. `input` is the snapshot (serde JSON of `ppgov_core::Snapshot`), `data.config`
//! the posture configuration. Test files (`*_test.rego`) define rules named `test_*` that must be true.

use crate::error::EngineError;
use crate::rule::RuleOutput;
use ppgov_config::PostureConfig;
use ppgov_core::{Finding, Remediation, ResourceKind, ResourceRef, Severity, Snapshot};
use serde::Serialize;
use serde_json::Value as Json;
use std::path::{Path, PathBuf};

/// A custom policy: where it came from and its source.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CustomPolicy {
    /// File path or label, for messages.
    pub path: String,
    /// Rego source.
    pub source: String,
}

/// The result of one custom policy package.
#[derive(Debug, Clone, PartialEq)]
pub struct CustomResult {
    /// `metadata.id` (or the package when metadata is broken).
    pub id: String,
    /// `metadata.title`.
    pub title: String,
    /// `metadata.severity`.
    pub severity: Severity,
    /// Findings or an error.
    pub output: RuleOutput,
}

/// Reads every `*.rego` file under `dir` (recursively) that is not a `_test.rego` file.
pub fn load_policies(dir: &Path) -> Result<Vec<CustomPolicy>, EngineError> {
    let mut out = vec![];
    for path in rego_files(dir)? {
        if is_test_file(&path) {
            continue;
        }
        out.push(CustomPolicy {
            path: path.display().to_string(),
            source: read(&path)?,
        });
    }
    Ok(out)
}

fn read(path: &Path) -> Result<String, EngineError> {
    std::fs::read_to_string(path).map_err(|e| EngineError::Read {
        path: path.display().to_string(),
        message: e.to_string(),
    })
}

fn is_test_file(p: &Path) -> bool {
    p.file_name()
        .and_then(|n| n.to_str())
        .is_some_and(|n| n.ends_with("_test.rego"))
}

fn rego_files(dir: &Path) -> Result<Vec<PathBuf>, EngineError> {
    let mut files = vec![];
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let entries = std::fs::read_dir(&d).map_err(|e| EngineError::Read {
            path: d.display().to_string(),
            message: e.to_string(),
        })?;
        for entry in entries.flatten() {
            let p = entry.path();
            if p.is_dir() {
                stack.push(p);
            } else if p.extension().is_some_and(|x| x == "rego") {
                files.push(p);
            }
        }
    }
    files.sort();
    Ok(files)
}

fn rego_err(path: &str, e: impl std::fmt::Display) -> EngineError {
    EngineError::Rego {
        path: path.to_string(),
        message: e.to_string(),
    }
}

/// The snapshot as Rego `input` and the configuration as `data.config`.
fn documents(
    snapshot: &Snapshot,
    config: &PostureConfig,
) -> Result<(regorus::Value, regorus::Value), EngineError> {
    let input = serde_json::to_value(snapshot).map_err(|e| rego_err("input", e))?;
    let config = serde_json::to_value(config).map_err(|e| rego_err("data.config", e))?;
    Ok((
        regorus::Value::from(input),
        regorus::Value::from(serde_json::json!({ "config": config })),
    ))
}

/// Evaluates every policy; a policy that fails to load or breaks the contract yields an error
/// result under its id (or file name), never a silent pass.
pub fn evaluate_policies(
    snapshot: &Snapshot,
    config: &PostureConfig,
    policies: &[CustomPolicy],
) -> Vec<CustomResult> {
    let docs = documents(snapshot, config);
    let mut results = vec![];
    for p in policies {
        let label = Path::new(&p.path)
            .file_stem()
            .and_then(|s| s.to_str())
            .unwrap_or("custom")
            .to_string();
        let fail = |id: &str, e: EngineError| CustomResult {
            id: id.to_string(),
            title: format!("custom policy {id}"),
            severity: Severity::Medium,
            output: RuleOutput::error(e.to_string()),
        };
        let (input, data) = match &docs {
            Ok(d) => d.clone(),
            Err(e) => {
                results.push(fail(&label, rego_err(&p.path, e)));
                continue;
            }
        };
        match evaluate_one(p, input, data) {
            Ok(mut rs) => results.append(&mut rs),
            Err(e) => results.push(fail(&label, e)),
        }
    }
    results.sort_by(|a, b| a.id.cmp(&b.id));
    results
}

fn evaluate_one(
    p: &CustomPolicy,
    input: regorus::Value,
    data: regorus::Value,
) -> Result<Vec<CustomResult>, EngineError> {
    let mut engine = regorus::Engine::new();
    engine
        .add_policy(p.path.clone(), p.source.clone())
        .map_err(|e| rego_err(&p.path, e))?;
    engine.set_input(input);
    engine.add_data(data).map_err(|e| rego_err(&p.path, e))?;
    let packages = engine.get_packages().map_err(|e| rego_err(&p.path, e))?;
    let mut out = vec![];
    for pkg in packages
        .into_iter()
        .filter(|p| p.starts_with("data.ppgov.custom.") && !p.ends_with("_test"))
    {
        let meta = to_json(
            engine
                .eval_rule(format!("{pkg}.metadata"))
                .map_err(|e| rego_err(&p.path, e))?,
        );
        let contract = |m: &str| EngineError::Contract {
            package: pkg.clone(),
            message: m.to_string(),
        };
        let id = meta
            .get("id")
            .and_then(Json::as_str)
            .ok_or_else(|| contract("metadata.id is missing"))?
            .to_string();
        let title = meta
            .get("title")
            .and_then(Json::as_str)
            .unwrap_or(&id)
            .to_string();
        let severity = crate::scan::severity_or_medium(meta.get("severity").and_then(Json::as_str));
        let default_kind = meta
            .get("resource_kind")
            .cloned()
            .and_then(|k| serde_json::from_value::<ResourceKind>(k).ok());
        let remediation = meta
            .get("remediation")
            .and_then(Json::as_str)
            .unwrap_or_default()
            .to_string();
        let raw = to_json(
            engine
                .eval_rule(format!("{pkg}.findings"))
                .map_err(|e| rego_err(&p.path, e))?,
        );
        let items = match raw {
            Json::Array(a) => a,
            Json::Null => vec![],
            _ => return Err(contract("findings must be a set of objects")),
        };
        let mut findings = vec![];
        for item in items {
            findings.push(
                to_finding(&id, severity, default_kind, &remediation, &item)
                    .map_err(|m| contract(&m))?,
            );
        }
        out.push(CustomResult {
            id,
            title,
            severity,
            output: RuleOutput::ok(findings),
        });
    }
    Ok(out)
}

fn to_json(v: regorus::Value) -> Json {
    if v == regorus::Value::Undefined {
        return Json::Null;
    }
    serde_json::to_value(&v).unwrap_or(Json::Null)
}

fn to_finding(
    id: &str,
    severity: Severity,
    default_kind: Option<ResourceKind>,
    remediation: &str,
    f: &Json,
) -> Result<Finding, String> {
    let r = f.get("resource").ok_or("a finding has no resource")?;
    let s = |v: &Json, k: &str| v.get(k).and_then(Json::as_str).map(str::to_string);
    let kind = r
        .get("kind")
        .cloned()
        .and_then(|k| serde_json::from_value::<ResourceKind>(k).ok())
        .or(default_kind)
        .ok_or("resource.kind is missing or unknown")?;
    let rid = s(r, "id").ok_or("resource.id is missing")?;
    let resource = ResourceRef {
        kind,
        name: s(r, "name").unwrap_or_else(|| rid.clone()),
        id: rid,
        environment_id: s(r, "environment_id").filter(|e| !e.is_empty()),
    };
    let message = s(f, "message").ok_or("a finding has no message")?;
    let evidence = match f.get("evidence") {
        Some(e @ Json::Object(_)) => e.clone(),
        Some(Json::Null) | None => serde_json::json!({}),
        Some(other) => serde_json::json!({ "value": other }),
    };
    let severity = f
        .get("severity")
        .and_then(Json::as_str)
        .and_then(|x| x.parse().ok())
        .unwrap_or(severity);
    Ok(Finding {
        rule_id: id.to_string(),
        severity,
        resource,
        message,
        evidence,
        remediation: Remediation {
            text: remediation.to_string(),
            action_id: None,
        },
        frameworks: vec![],
        suppressed: None,
    })
}

/// One Rego test.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TestResult {
    /// Test file.
    pub file: String,
    /// Package.
    pub package: String,
    /// Rule name (`test_...`).
    pub name: String,
    /// True when the rule evaluated to `true`.
    pub passed: bool,
    /// Evaluation error, if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// The outcome of `ppgov policy test DIR`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct TestSummary {
    /// Tests that passed.
    pub passed: usize,
    /// Tests that failed or errored.
    pub failed: usize,
    /// Every test, sorted by file and name.
    pub results: Vec<TestResult>,
}

/// Runs every `test_*` rule of every `*_test.rego` under `dir`, with all the directory's policies
/// loaded and the default posture configuration as `data.config`.
pub fn run_policy_tests(dir: &Path) -> Result<TestSummary, EngineError> {
    let files = rego_files(dir)?;
    let sources: Vec<(String, String)> = files
        .iter()
        .map(|p| Ok((p.display().to_string(), read(p)?)))
        .collect::<Result<_, EngineError>>()?;
    run_policy_tests_sources(&sources)
}

/// Like [`run_policy_tests`] on in-memory `(path, source)` pairs.
pub fn run_policy_tests_sources(sources: &[(String, String)]) -> Result<TestSummary, EngineError> {
    let mut engine = regorus::Engine::new();
    for (path, src) in sources {
        engine
            .add_policy(path.clone(), src.clone())
            .map_err(|e| rego_err(path, e))?;
    }
    let config =
        serde_json::to_value(PostureConfig::default()).map_err(|e| rego_err("data.config", e))?;
    engine
        .add_data(regorus::Value::from(
            serde_json::json!({ "config": config }),
        ))
        .map_err(|e| rego_err("data.config", e))?;
    let mut summary = TestSummary::default();
    for (path, src) in sources.iter().filter(|(p, _)| p.ends_with("_test.rego")) {
        let package = package_of(src).ok_or_else(|| rego_err(path, "no package declaration"))?;
        for name in test_names(src) {
            let (passed, error) = match engine.eval_rule(format!("data.{package}.{name}")) {
                Ok(v) => (v == regorus::Value::Bool(true), None),
                Err(e) => (false, Some(e.to_string())),
            };
            if passed {
                summary.passed += 1;
            } else {
                summary.failed += 1;
            }
            summary.results.push(TestResult {
                file: path.clone(),
                package: package.clone(),
                name,
                passed,
                error,
            });
        }
    }
    summary
        .results
        .sort_by(|a, b| (&a.file, &a.name).cmp(&(&b.file, &b.name)));
    Ok(summary)
}

fn package_of(src: &str) -> Option<String> {
    src.lines()
        .map(str::trim)
        .find_map(|l| l.strip_prefix("package "))
        .map(|p| p.trim().to_string())
}

fn test_names(src: &str) -> Vec<String> {
    let mut names: Vec<String> = src
        .lines()
        .filter_map(|l| {
            let l = l.trim_start();
            if !l.starts_with("test_") {
                return None;
            }
            let name: String = l
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                .collect();
            Some(name)
        })
        .collect();
    names.sort();
    names.dedup();
    names
}
