//! `ppgov scan`: evaluate, render, compare, exit by `--fail-on`.

use crate::cli::{ScanArgs, ScanFormat};
use crate::commands::Outcome;
use anyhow::{Context, bail};
use ppgov_config::PostureConfig;
use ppgov_core::{Gate, ScanReport, Severity, Snapshot};
use ppgov_engine::{ScanOptions, framework_view};
use ppgov_report::Format;
use std::path::{Path, PathBuf};

/// Maps the CLI format to the renderer's.
pub fn format(f: ScanFormat) -> Format {
    match f {
        ScanFormat::Table => Format::Table,
        ScanFormat::Json => Format::Json,
        ScanFormat::Csv => Format::Csv,
        ScanFormat::Md => Format::Markdown,
        ScanFormat::Html => Format::Html,
        ScanFormat::Ocsf => Format::Ocsf,
        ScanFormat::Sarif => Format::Sarif,
    }
}

/// Runs every built-in rule (and custom policies from `policies`) on a snapshot.
pub fn evaluate(
    snapshot: &Snapshot,
    posture: &PostureConfig,
    policies: Option<&Path>,
) -> anyhow::Result<ScanReport> {
    let mut options = ScanOptions::default();
    if let Some(dir) = policies {
        options.custom_policies = ppgov_engine::rego::load_policies(dir)
            .with_context(|| format!("cannot load policies from {}", dir.display()))?;
    }
    Ok(ppgov_engine::scan(snapshot, posture, &options))
}

/// Writes bytes to a file, or stdout when no file is given.
pub fn emit(bytes: &[u8], out: Option<&Path>) -> anyhow::Result<()> {
    match out {
        Some(path) => {
            // Owner-only (0600, folder 0700) through a temporary file and a rename, so a failure
            // never leaves half a report behind (reports and evidence zips describe the tenant).
            ppgov_store::write_private_file(path, bytes)
                .with_context(|| format!("cannot write {}", path.display()))?;
            eprintln!("wrote {}", path.display());
        }
        None => {
            use std::io::Write;
            let mut o = std::io::stdout().lock();
            o.write_all(bytes)?;
            o.flush()?;
        }
    }
    Ok(())
}

pub fn run(file: Option<PathBuf>, args: ScanArgs) -> anyhow::Result<Outcome> {
    let fail_on: Option<Severity> = args
        .fail_on
        .as_deref()
        .map(str::parse)
        .transpose()
        .map_err(|e| anyhow::anyhow!("--fail-on: {e}"))?;
    let (snapshot, posture, store) = super::context::judged(file, args.snapshot.as_deref())?;
    let report = evaluate(&snapshot, &posture, args.policies.as_deref())?;
    if let Some(mut store) = store {
        // History for `scan --diff` and trend; a failure to record must not hide the findings.
        if let Err(e) = store.save_scan(&ppgov_store::SnapshotId(snapshot.id.clone()), &report) {
            tracing::warn!(error = %e, "could not record the scan in the store");
        }
    }
    let width = crate::output::terminal_width().filter(|_| args.out.is_none());

    if let Some(previous) = &args.diff {
        let text = std::fs::read_to_string(previous)
            .with_context(|| format!("cannot read {}", previous.display()))?;
        let prev: ScanReport = ppgov_report::parse_json(&text)
            .with_context(|| format!("{} is not a ppgov scan JSON output", previous.display()))?;
        let d = ppgov_report::diff(&prev, &report);
        let bytes = match args.format {
            ScanFormat::Json => ppgov_report::diff_json(&d)?.into_bytes(),
            ScanFormat::Table => ppgov_report::diff_table(&d).into_bytes(),
            other => bail!("--diff prints table or json, not {other:?}"),
        };
        emit(&bytes, args.out.as_deref())?;
    } else if let Some(fw) = &args.framework {
        let view = framework_view(&report, fw);
        if !view.found {
            bail!("unknown framework `{fw}`; hint: scuba, nist-800-53, bait, sox, hipaa, gdpr");
        }
        match args.format {
            ScanFormat::Json => emit(&serde_json::to_vec_pretty(&view)?, args.out.as_deref())?,
            _ => emit(
                ppgov_report::tables::framework_text(&view, width).as_bytes(),
                args.out.as_deref(),
            )?,
        }
    } else {
        let bytes = match args.format {
            ScanFormat::Table => ppgov_report::table_fitted(&report, width).into_bytes(),
            other => ppgov_report::render(format(other), &report)?,
        };
        emit(&bytes, args.out.as_deref())?;
    }
    if args.out.is_some() || args.format != ScanFormat::Table {
        let s = &report.summary;
        eprintln!(
            "{} findings ({} critical, {} high, {} medium, {} low, {} info), {} suppressed; {} rules passed, {} errored",
            s.total,
            s.by_severity.get("critical").unwrap_or(&0),
            s.by_severity.get("high").unwrap_or(&0),
            s.by_severity.get("medium").unwrap_or(&0),
            s.by_severity.get("low").unwrap_or(&0),
            s.by_severity.get("info").unwrap_or(&0),
            s.suppressed,
            s.rules_passed,
            s.rules_errored
        );
    }
    let gate = report.gate(fail_on, args.allow_incomplete);
    let errored = report.errored();
    if !errored.is_empty() {
        // Always on stderr (also with --quiet): these rules were not judged.
        let level = if gate == Gate::Incomplete {
            "error"
        } else {
            "warning"
        };
        eprintln!(
            "{level}: incomplete scan: {} rule(s) could not be evaluated:",
            errored.len()
        );
        for (id, why) in &errored {
            eprintln!("  {id}: {why}");
        }
        match gate {
            Gate::Incomplete => eprintln!(
                "hint: `ppgov doctor` shows what ppgov may not read; fix it and crawl again, or pass --allow-incomplete to gate on the findings alone"
            ),
            _ if fail_on.is_some() => eprintln!(
                "note: --allow-incomplete: the gate judged the findings alone; the rules above were not checked"
            ),
            _ => {}
        }
    }
    Ok(match gate {
        Gate::Pass => Outcome::Clean,
        Gate::Findings => Outcome::Findings,
        Gate::Incomplete => Outcome::Incomplete,
    })
}
