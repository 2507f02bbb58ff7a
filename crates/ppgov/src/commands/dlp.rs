//! `ppgov dlp simulate`.

use crate::cli::{DlpSimulateArgs, TabularFormat};
use crate::commands::Outcome;
use anyhow::Context;
use ppgov_engine::dlp::simulate;
use ppgov_report::tables::{dlp_simulation_summary, dlp_simulation_table};
use std::path::PathBuf;

pub fn run(file: Option<PathBuf>, args: DlpSimulateArgs) -> anyhow::Result<Outcome> {
    let text = std::fs::read_to_string(&args.policy)
        .with_context(|| format!("cannot read {}", args.policy.display()))?;
    let wire: ppgov_model::dlp::PolicyV2 = serde_json::from_str(&text).with_context(|| {
        format!(
            "{} is not a GOV v2 DLP policy document (policyDefinition, connectorGroups, ...)",
            args.policy.display()
        )
    })?;
    let draft = ppgov_crawl::map::dlp_policy_v2(&wire);
    let snapshot = super::context::snapshot(file, args.snapshot.as_deref())?;
    let report = simulate(&snapshot, &draft, args.replace.as_deref());
    if let Some(name) = &args.replace
        && !report.replaced_found
    {
        anyhow::bail!(
            "--replace {name}: no such policy in the snapshot; hint: `ppgov scan --format json` lists policy names in evidence"
        );
    }
    match args.format {
        TabularFormat::Json => {
            println!("{}", serde_json::to_string_pretty(&report)?);
        }
        f => {
            super::inventory::print_table(&dlp_simulation_table(&report), f)?;
            if f == TabularFormat::Table {
                println!("\n{}", dlp_simulation_summary(&report).trim_end());
            }
        }
    }
    Ok(Outcome::Clean)
}
