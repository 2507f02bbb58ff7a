//! `docs/rules.md` is generated from the rules' metadata and doc comments; it must match.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use ppgov_engine::docs::{rule_doc, rule_docs};
use ppgov_report::rules_doc::{rule_text, rules_markdown, rules_table};
use std::path::PathBuf;

fn repo_file(rel: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .join(rel)
}

#[test]
fn docs_rules_md_is_current() {
    let want = rules_markdown(&rule_docs().unwrap());
    let path = repo_file("docs/rules.md");
    let have = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        have == want,
        "docs/rules.md is stale (a rule's metadata or doc comment changed); regenerate it with:\n    cargo run -q -p ppgov -- rules --format md > docs/rules.md"
    );
}

#[test]
fn one_rule_prints_what_why_remediation_references_and_frameworks() {
    let d = rule_doc("PPG-TEN-001").unwrap().unwrap();
    let text = rule_text(&d);
    for part in [
        "PPG-TEN-001: ",
        "What it checks\n  disableEnvironmentCreationByNonAdminUsers",
        "Why it matters\n",
        "Remediation\n",
        "References\n",
        "Frameworks\n  ",
        "scuba: MS.POWERPLATFORM.1.1v1",
    ] {
        assert!(text.contains(part), "lacks {part:?}:\n{text}");
    }
}

#[test]
fn the_list_has_every_rule_once() {
    let docs = rule_docs().unwrap();
    let t = rules_table(&docs);
    assert_eq!(t.rows.len(), ppgov_engine::registry::RULES.len());
    let md = rules_markdown(&docs);
    for d in &docs {
        assert_eq!(
            md.matches(&format!("\n## {}: ", d.id)).count(),
            1,
            "{} has one section",
            d.id
        );
    }
}

#[test]
fn readme_and_docs_links_resolve_inside_the_repository() {
    for doc in [
        "README.md",
        "docs/rules.md",
        "docs/catalogue.md",
        "ARCHITECTURE.md",
    ] {
        let path = repo_file(doc);
        let text = std::fs::read_to_string(&path).unwrap();
        let base = path.parent().unwrap().to_path_buf();
        // Markdown links `](target)`: relative targets must exist in the repository.
        for (i, _) in text.match_indices("](") {
            let rest = &text[i + 2..];
            let Some(end) = rest.find(')') else { continue };
            let target = rest[..end].split('#').next().unwrap().trim();
            if target.is_empty() || target.contains("://") || target.starts_with("mailto:") {
                continue;
            }
            let resolved = base.join(target);
            assert!(
                resolved.exists(),
                "{doc} links to {target}, which is not in the repository"
            );
            let canon = resolved.canonicalize().unwrap();
            let root = repo_file("").canonicalize().unwrap();
            assert!(
                canon.starts_with(&root),
                "{doc} links outside the repository: {target}"
            );
        }
    }
}
