//! Rule documentation generated from each rule's metadata (`META`) and its module doc comment,
//! for `ppgov rules` and `docs/rules.md`: nothing is written twice, so the docs cannot drift from
//! the code. The module doc of a rule reads:
//!
//! ```text
//! PPG-XXX-000: Title.
//!
//! What it checks: ...
//! Why it matters: ...
//! Remediation: ...
//! References: ...
//! ```
//!
//! Labelled parts may span several lines; an unlabelled paragraph is kept as a note.

use crate::compliance::{FrameworkIndex, builtin_frameworks};
use crate::error::EngineError;
use crate::registry::RULES;
use crate::rule::Rule;
use ppgov_core::{FrameworkRef, ResourceKind, Severity};
use serde::Serialize;

/// Everything ppgov says about one built-in rule.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RuleDoc {
    /// Stable id, e.g. `PPG-FLW-006`.
    pub id: String,
    /// One-line title.
    pub title: String,
    /// Area (`tenant`, `flow`, ...).
    pub area: String,
    /// Severity of its findings.
    pub severity: Severity,
    /// What its findings point at.
    pub resource_kind: ResourceKind,
    /// The catalogue action that fixes it, where one exists.
    pub action_id: Option<String>,
    /// What it checks.
    pub what: String,
    /// Why it matters.
    pub why: String,
    /// What to do about a finding.
    pub remediation: String,
    /// Where the check comes from.
    pub references: String,
    /// Further paragraphs of the doc comment.
    pub notes: Vec<String>,
    /// The framework controls it evidences.
    pub frameworks: Vec<FrameworkRef>,
}

/// The parts of a rule's module doc comment.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DocSections {
    /// `What it checks:`.
    pub what: String,
    /// `Why it matters:`.
    pub why: String,
    /// `Remediation:`.
    pub remediation: String,
    /// `References:`.
    pub references: String,
    /// Unlabelled paragraphs after the title line.
    pub notes: Vec<String>,
}

/// Index of "an unlabelled paragraph" while parsing.
const NOTE: usize = LABELS.len();

const LABELS: [&str; 4] = [
    "What it checks:",
    "Why it matters:",
    "Remediation:",
    "References:",
];

/// Reads the leading `//!` block of a Rust source file into its labelled parts. The first line
/// (`PPG-...: Title`) is skipped: the title comes from the metadata.
pub fn parse_module_doc(source: &str) -> DocSections {
    let lines: Vec<&str> = source
        .lines()
        .take_while(|l| l.trim_start().starts_with("//!"))
        .map(|l| {
            let rest = l.trim_start().trim_start_matches("//!");
            rest.strip_prefix(' ').unwrap_or(rest).trim_end()
        })
        .collect();
    let mut out = DocSections::default();
    // Which part the current line continues: a label's index, NOTE, or None between paragraphs.
    let mut current: Option<usize> = None;
    for line in lines.into_iter().skip(1) {
        if line.trim().is_empty() {
            current = None;
            continue;
        }
        let text = plain(line.trim());
        if let Some((i, label)) = LABELS
            .iter()
            .enumerate()
            .find(|(_, l)| text.starts_with(*l))
        {
            current = Some(i);
            push(field(&mut out, i), text[label.len()..].trim());
            continue;
        }
        match (current, out.notes.last_mut()) {
            (Some(NOTE), Some(note)) => push(note, &text),
            (Some(i), _) if i < NOTE => push(field(&mut out, i), &text),
            _ => {
                out.notes.push(text);
                current = Some(NOTE);
            }
        }
    }
    out
}

fn field(d: &mut DocSections, i: usize) -> &mut String {
    match i {
        0 => &mut d.what,
        1 => &mut d.why,
        2 => &mut d.remediation,
        _ => &mut d.references,
    }
}

fn push(s: &mut String, text: &str) {
    if text.is_empty() {
        return;
    }
    if !s.is_empty() {
        s.push(' ');
    }
    s.push_str(text);
}

/// Rustdoc links (`` [`crate::secrets`] ``) become plain code spans.
fn plain(line: &str) -> String {
    line.replace("[`", "`").replace("`]", "`")
}

fn doc_of(rule: &Rule, index: &FrameworkIndex) -> RuleDoc {
    let m = &rule.meta;
    let d = parse_module_doc(rule.source);
    RuleDoc {
        id: m.id.to_string(),
        title: m.title.to_string(),
        area: m.area.to_string(),
        severity: m.severity,
        resource_kind: m.resource_kind,
        action_id: m.action_id.map(str::to_string),
        what: d.what,
        why: d.why,
        remediation: if d.remediation.is_empty() {
            m.remediation.to_string()
        } else {
            d.remediation
        },
        references: d.references,
        notes: d.notes,
        frameworks: index.refs(m.id),
    }
}

/// The documentation of every built-in rule, in catalogue order.
pub fn rule_docs() -> Result<Vec<RuleDoc>, EngineError> {
    let index = FrameworkIndex::new(&builtin_frameworks()?);
    Ok(RULES.iter().map(|r| doc_of(r, &index)).collect())
}

/// The documentation of one rule by id (case-insensitive); `None` when there is no such rule.
pub fn rule_doc(id: &str) -> Result<Option<RuleDoc>, EngineError> {
    let id = id.trim();
    Ok(rule_docs()?
        .into_iter()
        .find(|d| d.id.eq_ignore_ascii_case(id)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labelled_parts_span_lines_and_notes_are_kept() {
        let src = "//! PPG-X-001: Title.\n//!\n//! What it checks: one\n//! two [`crate::x`].\n//! Why it matters: because.\n//! Remediation: fix it.\n//! References: CATALOGUE.md PPG-X-001.\n//!\n//! A note\n//! on two lines.\n\nuse x;\n//! not doc\n";
        let d = parse_module_doc(src);
        assert_eq!(d.what, "one two `crate::x`.");
        assert_eq!(d.why, "because.");
        assert_eq!(d.remediation, "fix it.");
        assert_eq!(d.references, "CATALOGUE.md PPG-X-001.");
        assert_eq!(d.notes, vec!["A note on two lines.".to_string()]);
    }

    #[test]
    fn every_rule_documents_what_why_and_remediation() {
        let docs = rule_docs().unwrap();
        assert_eq!(docs.len(), RULES.len());
        for d in &docs {
            assert!(
                !d.what.is_empty() && !d.why.is_empty() && !d.remediation.is_empty(),
                "{} lacks a `What it checks:`, `Why it matters:` or `Remediation:` line in its doc comment",
                d.id
            );
        }
        let flw = rule_doc("ppg-flw-006").unwrap().unwrap();
        assert_eq!(flw.id, "PPG-FLW-006");
        assert!(flw.what.contains("literal credential"), "{}", flw.what);
        assert!(rule_doc("PPG-NOPE-001").unwrap().is_none());
    }
}
