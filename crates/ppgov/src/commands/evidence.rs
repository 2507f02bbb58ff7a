//! `ppgov evidence`: the compliance evidence package of seed 002 (DLP policies, role assignments,
//! flow inventory, findings) with a SHA-256 manifest.

use crate::cli::EvidenceArgs;
use crate::commands::Outcome;
use anyhow::Context;
use ppgov_report::EvidenceItem;
use ppgov_report::views as inventory;
use std::path::PathBuf;

pub fn run(file: Option<PathBuf>, args: EvidenceArgs) -> anyhow::Result<Outcome> {
    let posture = match &file {
        Some(_) => super::context::config(file.clone())?.posture,
        None if args.snapshot.is_some() => Default::default(),
        None => super::context::config(None)?.posture,
    };
    let snapshot = super::context::snapshot(file, args.snapshot.as_deref())?;
    let report = super::scan::evaluate(&snapshot, &posture, None)?;
    let items = vec![
        EvidenceItem::new("dlp-policies.json", serde_json::to_vec_pretty(&snapshot.dlp_policies.iter().map(|p| &p.raw).collect::<Vec<_>>())?),
        EvidenceItem::new("role-assignments.csv", inventory::roles(&snapshot, None).to_csv()?),
        EvidenceItem::new("flow-inventory.csv", inventory::flows(&snapshot, None).to_csv()?),
        EvidenceItem::new("connections.csv", inventory::connections(&snapshot, None).to_csv()?),
        EvidenceItem::new("environments.csv", inventory::environments(&snapshot, None).to_csv()?),
        EvidenceItem::new("findings.json", ppgov_report::json(&report)?.into_bytes()),
        EvidenceItem::new("findings.csv", ppgov_report::render(ppgov_report::Format::Csv, &report)?),
        EvidenceItem::new("collection-status.json", serde_json::to_vec_pretty(&snapshot.collection)?),
    ];
    let zip = ppgov_report::evidence_package(&items).context("cannot build the evidence package")?;
    super::scan::emit(&zip, Some(&args.out))?;
    Ok(Outcome::Clean)
}
