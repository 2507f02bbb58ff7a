//! Compliance mapping: one data file per framework under `compliance/` (embedded at build time),
//! rule ids mapped to requirements, and the per-requirement view of a scan.

use crate::error::EngineError;
use ppgov_core::{FrameworkRef, RuleStatus, ScanReport};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// One framework's data file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Framework {
    /// Short id used in findings and on the command line (`scuba`, `nist-800-53`, ...).
    pub id: String,
    /// Full name.
    pub name: String,
    /// Version of the framework the mapping follows.
    pub version: String,
    /// Where the requirement texts come from, and caveats.
    #[serde(default)]
    pub source: String,
    /// Requirements and the rules that evidence them.
    pub requirements: Vec<Requirement>,
}

/// One requirement (control) of a framework.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Requirement {
    /// Control id (`MS.POWERPLATFORM.1.1v1`, `AC-6`).
    pub id: String,
    /// One-line text.
    pub title: String,
    /// Rule ids that evidence it (empty: not automated).
    #[serde(default)]
    pub rules: Vec<String>,
}

const BUILTIN: &[(&str, &str)] = &[
    ("scuba.toml", include_str!("../../../compliance/scuba.toml")),
    (
        "nist-800-53.toml",
        include_str!("../../../compliance/nist-800-53.toml"),
    ),
    ("bait.toml", include_str!("../../../compliance/bait.toml")),
    ("sox.toml", include_str!("../../../compliance/sox.toml")),
    ("hipaa.toml", include_str!("../../../compliance/hipaa.toml")),
    ("gdpr.toml", include_str!("../../../compliance/gdpr.toml")),
];

/// Parses one framework file (TOML).
pub fn parse_framework(file: &str, text: &str) -> Result<Framework, EngineError> {
    toml::from_str(text).map_err(|e| EngineError::Compliance {
        file: file.to_string(),
        message: e.to_string(),
    })
}

/// Reads and parses a framework file from disk (explicit loader; the engine never reads files otherwise).
pub fn load_framework(path: &std::path::Path) -> Result<Framework, EngineError> {
    let text = std::fs::read_to_string(path).map_err(|e| EngineError::Read {
        path: path.display().to_string(),
        message: e.to_string(),
    })?;
    parse_framework(&path.display().to_string(), &text)
}

/// The frameworks shipped with ppgov.
pub fn builtin_frameworks() -> Result<Vec<Framework>, EngineError> {
    BUILTIN.iter().map(|(f, t)| parse_framework(f, t)).collect()
}

/// Accepts short aliases on the command line.
fn canonical(id: &str) -> String {
    match id.to_ascii_lowercase().as_str() {
        "scubagear" | "cisa" | "cisa-scuba" => "scuba".into(),
        "nist" | "800-53" | "nist80053" | "nist-sp-800-53" => "nist-800-53".into(),
        other => other.to_string(),
    }
}

/// Index from rule id to framework references.
#[derive(Debug, Clone, Default)]
pub struct FrameworkIndex {
    by_rule: BTreeMap<String, Vec<FrameworkRef>>,
}

impl FrameworkIndex {
    /// Builds the index.
    pub fn new(frameworks: &[Framework]) -> Self {
        let mut by_rule: BTreeMap<String, Vec<FrameworkRef>> = BTreeMap::new();
        for f in frameworks {
            for r in &f.requirements {
                for rule in &r.rules {
                    by_rule
                        .entry(rule.to_ascii_uppercase())
                        .or_default()
                        .push(FrameworkRef {
                            framework: f.id.clone(),
                            control: r.id.clone(),
                        });
                }
            }
        }
        for v in by_rule.values_mut() {
            v.sort();
            v.dedup();
        }
        FrameworkIndex { by_rule }
    }

    /// Controls a rule maps to.
    pub fn refs(&self, rule_id: &str) -> Vec<FrameworkRef> {
        self.by_rule
            .get(&rule_id.to_ascii_uppercase())
            .cloned()
            .unwrap_or_default()
    }
}

/// Outcome of one requirement.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum RequirementStatus {
    /// Every mapped rule evaluated with no unsuppressed finding.
    Pass,
    /// Some mapped rule has an unsuppressed finding.
    Fail,
    /// No finding, but some mapped rule could not be evaluated.
    Error,
    /// Mapped rules were all not applicable.
    NotApplicable,
    /// No rule evidences it: check it by hand.
    Manual,
}

/// One rule's contribution to a requirement.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RuleContribution {
    /// Rule id.
    pub rule_id: String,
    /// `pass`, `fail`, `error`, `not_applicable`, or `not_run`.
    pub status: String,
    /// Unsuppressed findings.
    pub findings: usize,
}

/// One requirement in the view.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RequirementView {
    /// Control id.
    pub id: String,
    /// One-line text.
    pub title: String,
    /// Outcome.
    pub status: RequirementStatus,
    /// Per rule.
    pub rules: Vec<RuleContribution>,
}

/// A scan seen through one framework.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FrameworkView {
    /// Framework id (as asked when unknown).
    pub framework: String,
    /// Framework name (empty when unknown).
    pub name: String,
    /// Framework version.
    pub version: String,
    /// False when no such framework is known.
    pub found: bool,
    /// Requirements in file order.
    pub requirements: Vec<RequirementView>,
    /// Count of requirements per status.
    pub summary: BTreeMap<String, usize>,
}

/// Groups a scan's results by the requirements of a built-in framework (`scuba`, `nist-800-53`,
/// `bait`, `sox`, `hipaa`, `gdpr`).
pub fn framework_view(report: &ScanReport, framework: &str) -> FrameworkView {
    let id = canonical(framework);
    match builtin_frameworks()
        .ok()
        .and_then(|fs| fs.into_iter().find(|f| f.id == id))
    {
        Some(f) => framework_view_with(report, &f),
        None => FrameworkView {
            framework: framework.to_string(),
            name: String::new(),
            version: String::new(),
            found: false,
            requirements: vec![],
            summary: BTreeMap::new(),
        },
    }
}

/// Groups a scan's results by the requirements of the given framework.
pub fn framework_view_with(report: &ScanReport, f: &Framework) -> FrameworkView {
    let mut findings: BTreeMap<&str, usize> = BTreeMap::new();
    for x in report.findings.iter().filter(|x| x.suppressed.is_none()) {
        *findings.entry(x.rule_id.as_str()).or_default() += 1;
    }
    let mut summary = BTreeMap::new();
    let requirements: Vec<RequirementView> = f
        .requirements
        .iter()
        .map(|r| {
            let rules: Vec<RuleContribution> = r
                .rules
                .iter()
                .map(|id| {
                    let n = findings.get(id.as_str()).copied().unwrap_or(0);
                    let status = match report
                        .rules
                        .iter()
                        .find(|x| x.rule_id.eq_ignore_ascii_case(id))
                        .map(|x| &x.status)
                    {
                        _ if n > 0 => "fail",
                        Some(RuleStatus::Evaluated) => "pass",
                        Some(RuleStatus::Error { .. }) => "error",
                        Some(RuleStatus::NotApplicable { .. }) => "not_applicable",
                        None => "not_run",
                    };
                    RuleContribution {
                        rule_id: id.clone(),
                        status: status.to_string(),
                        findings: n,
                    }
                })
                .collect();
            let has = |s: &str| rules.iter().any(|c| c.status == s);
            let status = if rules.is_empty() {
                RequirementStatus::Manual
            } else if has("fail") {
                RequirementStatus::Fail
            } else if has("error") || has("not_run") {
                RequirementStatus::Error
            } else if has("pass") {
                RequirementStatus::Pass
            } else {
                RequirementStatus::NotApplicable
            };
            let key = serde_json::to_value(status)
                .ok()
                .and_then(|v| v.as_str().map(str::to_string))
                .unwrap_or_default();
            *summary.entry(key).or_insert(0) += 1;
            RequirementView {
                id: r.id.clone(),
                title: r.title.clone(),
                status,
                rules,
            }
        })
        .collect();
    FrameworkView {
        framework: f.id.clone(),
        name: f.name.clone(),
        version: f.version.clone(),
        found: true,
        requirements,
        summary,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::registry::RULES;

    #[test]
    fn builtin_files_parse_and_name_real_rules() {
        let fs = builtin_frameworks().unwrap();
        assert_eq!(fs.len(), 6);
        for f in &fs {
            assert!(!f.requirements.is_empty(), "{}", f.id);
            for r in &f.requirements {
                for rule in &r.rules {
                    assert!(
                        RULES.iter().any(|x| x.meta.id == rule),
                        "{} {} names unknown rule {rule}",
                        f.id,
                        r.id
                    );
                }
            }
        }
        let idx = FrameworkIndex::new(&fs);
        assert!(
            idx.refs("PPG-TEN-001")
                .iter()
                .any(|r| r.framework == "scuba" && r.control == "MS.POWERPLATFORM.1.1v1")
        );
    }
}
