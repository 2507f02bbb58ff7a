//! `ppgov evidence`: the compliance evidence package of seed 002 (DLP policies, role assignments,
//! flow inventory, findings) with a SHA-256 manifest.

use crate::cli::EvidenceArgs;
use crate::commands::Outcome;
use anyhow::Context;
use std::path::PathBuf;

pub fn run(file: Option<PathBuf>, args: EvidenceArgs) -> anyhow::Result<Outcome> {
    // The same snapshot and posture (suppressions included) as `scan` judges.
    let (snapshot, posture, _) = super::context::judged(file, args.snapshot.as_deref())?;
    let report = super::scan::evaluate(&snapshot, &posture, None)?;
    let items = ppgov_report::standard_evidence(&snapshot, &report)?;
    let zip =
        ppgov_report::evidence_package(&items).context("cannot build the evidence package")?;
    super::scan::emit(&zip, Some(&args.out))?;
    Ok(Outcome::Clean)
}
