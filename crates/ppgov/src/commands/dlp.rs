//! `ppgov dlp simulate`.

use crate::cli::{DlpSimulateArgs, TabularFormat};
use crate::commands::Outcome;
use anyhow::Context;
use ppgov_engine::dlp::{SimulatedChange, simulate};
use ppgov_report::views::Table;
use std::path::PathBuf;

fn table(changes: &[(&str, &SimulatedChange)]) -> Table {
    let mut t = Table {
        columns: vec![
            "change",
            "environment_id",
            "environment",
            "kind",
            "id",
            "name",
            "owner",
            "why",
        ],
        rows: vec![],
    };
    for (change, c) in changes {
        t.rows.push(vec![
            change.to_string(),
            c.environment_id.clone(),
            c.environment_name.clone(),
            c.kind.to_string(),
            c.id.clone(),
            c.name.clone(),
            c.owner.clone().unwrap_or_default(),
            c.violations
                .iter()
                .map(|v| v.explain())
                .collect::<Vec<_>>()
                .join("; "),
        ]);
    }
    t
}

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
            let rows: Vec<(&str, &SimulatedChange)> = report
                .would_break
                .iter()
                .map(|c| ("breaks", c))
                .chain(
                    report
                        .already_violating
                        .iter()
                        .map(|c| ("already violating", c)),
                )
                .chain(report.would_fix.iter().map(|c| ("fixed", c)))
                .collect();
            super::inventory::print_table(&table(&rows), f)?;
            if f == TabularFormat::Table {
                println!(
                    "\n{} apps and {} flows evaluated: {} would newly break, {} already violate and would violate more, {} would be fixed",
                    report.apps_evaluated,
                    report.flows_evaluated,
                    report.would_break.len(),
                    report.already_violating.len(),
                    report.would_fix.len()
                );
            }
        }
    }
    Ok(Outcome::Clean)
}
