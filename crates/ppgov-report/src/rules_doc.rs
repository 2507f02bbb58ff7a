//! The rule catalogue for people: `ppgov rules` (a list, or one rule's documentation, the way
//! `ruff rule` prints it) and the generated `docs/rules.md`. Everything comes from
//! [`ppgov_engine::docs`], i.e. from each rule's metadata and doc comment.

use crate::views::Table;
use ppgov_engine::docs::RuleDoc;
use std::collections::BTreeMap;

/// One line per rule: id, severity, area, title.
pub fn rules_table(docs: &[RuleDoc]) -> Table {
    Table {
        columns: vec!["rule_id", "severity", "area", "title"],
        rows: docs
            .iter()
            .map(|d| {
                vec![
                    d.id.clone(),
                    d.severity.to_string(),
                    d.area.clone(),
                    d.title.clone(),
                ]
            })
            .collect(),
    }
}

fn frameworks_by_name(d: &RuleDoc) -> BTreeMap<&str, Vec<&str>> {
    let mut by: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for f in &d.frameworks {
        by.entry(f.framework.as_str())
            .or_default()
            .push(f.control.as_str());
    }
    by
}

/// One rule's documentation as plain text for a terminal.
pub fn rule_text(d: &RuleDoc) -> String {
    let mut out = format!("{}: {}\n", d.id, d.title);
    out.push_str(&format!(
        "severity {} · area {} · findings on: {}",
        d.severity, d.area, d.resource_kind
    ));
    if let Some(a) = &d.action_id {
        out.push_str(&format!(" · fixed by action {a}"));
    }
    out.push('\n');
    let mut section = |title: &str, body: &str| {
        if !body.is_empty() {
            out.push_str(&format!("\n{title}\n  {body}\n"));
        }
    };
    section("What it checks", &d.what);
    section("Why it matters", &d.why);
    section("Remediation", &d.remediation);
    section(
        "References",
        &d.references.replace("CATALOGUE.md", "docs/catalogue.md"),
    );
    for n in &d.notes {
        section("Note", n);
    }
    out.push_str("\nFrameworks\n");
    let by = frameworks_by_name(d);
    if by.is_empty() {
        out.push_str("  (none mapped)\n");
    }
    for (fw, controls) in by {
        out.push_str(&format!("  {fw}: {}\n", controls.join(", ")));
    }
    out
}

fn md(s: &str) -> String {
    s.replace('|', "\\|").replace('\n', " ")
}

/// The anchor GitHub gives a `## PPG-FLW-006: Title` heading.
fn anchor(d: &RuleDoc) -> String {
    format!("{}: {}", d.id, d.title)
        .to_lowercase()
        .chars()
        .filter_map(|c| match c {
            'a'..='z' | '0'..='9' | '-' | '_' => Some(c),
            ' ' => Some('-'),
            c if c.is_alphanumeric() => Some(c),
            _ => None,
        })
        .collect()
}

/// `docs/rules.md`: an index, then every rule's documentation. Generated; a test fails when the
/// file in the repository differs.
pub fn rules_markdown(docs: &[RuleDoc]) -> String {
    let mut out = String::from(
        "# ppgov rules\n\n<!-- Generated from each rule's metadata and doc comment by `ppgov rules --format md`; do not edit by hand. Regenerate: cargo run -q -p ppgov -- rules --format md > docs/rules.md -->\n\n",
    );
    out.push_str(&format!(
        "Every built-in posture rule ({}), in catalogue order. `ppgov rules ID` prints one of them in a terminal. The full catalogue, with detections and actions, is [catalogue.md](catalogue.md).\n\n",
        docs.len()
    ));
    out.push_str("| Rule | Severity | Area | Title |\n|---|---|---|---|\n");
    for d in docs {
        out.push_str(&format!(
            "| [{}](#{}) | {} | {} | {} |\n",
            d.id,
            anchor(d),
            d.severity,
            md(&d.area),
            md(&d.title)
        ));
    }
    for d in docs {
        out.push_str(&format!("\n## {}: {}\n\n", d.id, md(&d.title)));
        out.push_str(&format!(
            "Severity **{}** · area `{}` · findings on: {}",
            d.severity, d.area, d.resource_kind
        ));
        if let Some(a) = &d.action_id {
            out.push_str(&format!(" · fixed by action `{a}`"));
        }
        out.push_str("\n\n");
        for (title, body) in [
            ("What it checks", d.what.clone()),
            ("Why it matters", d.why.clone()),
            ("Remediation", d.remediation.clone()),
            (
                "References",
                d.references
                    .replace("CATALOGUE.md", "[catalogue.md](catalogue.md)"),
            ),
        ] {
            if !body.is_empty() {
                out.push_str(&format!("- **{title}:** {body}\n"));
            }
        }
        for n in &d.notes {
            out.push_str(&format!("- {n}\n"));
        }
        let by = frameworks_by_name(d);
        if by.is_empty() {
            out.push_str("- **Frameworks:** none mapped\n");
        } else {
            let list = by
                .iter()
                .map(|(fw, c)| format!("{fw} {}", c.join(", ")))
                .collect::<Vec<_>>()
                .join("; ");
            out.push_str(&format!("- **Frameworks:** {list}\n"));
        }
    }
    out
}
