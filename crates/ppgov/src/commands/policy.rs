//! `ppgov policy test DIR`.

use crate::commands::Outcome;
use std::path::Path;

pub fn test(dir: &Path) -> anyhow::Result<Outcome> {
    let summary = ppgov_engine::rego::run_policy_tests(dir)?;
    for r in &summary.results {
        println!(
            "{} {}::{} ({})",
            if r.passed { "PASS" } else { "FAIL" },
            r.package,
            r.name,
            r.file
        );
    }
    println!("{} passed, {} failed", summary.passed, summary.failed);
    if summary.failed > 0 {
        return Ok(Outcome::Findings);
    }
    Ok(Outcome::Clean)
}
