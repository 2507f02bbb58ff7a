//! `ppgov scan`: evaluate, render, compare, exit by `--fail-on`.

use crate::cli::{ScanArgs, ScanFormat};
use crate::commands::Outcome;
use anyhow::{Context, bail};
use ppgov_config::PostureConfig;
use ppgov_core::{ScanReport, Severity, Snapshot};
use ppgov_engine::{ScanOptions, framework_view};
use ppgov_report::Format;
use ppgov_report::views::Table;
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
    // The posture configuration comes from ppgov.toml when there is one; a snapshot file can be
    // judged without any configuration (defaults).
    let (snapshot, posture, store) = match &args.snapshot {
        Some(path) => {
            let posture = match file.clone().or_else(|| {
                Path::new("ppgov.toml")
                    .exists()
                    .then(|| "ppgov.toml".into())
            }) {
                Some(_) => super::context::config(file)?.posture,
                None => PostureConfig::default(),
            };
            (super::context::snapshot(None, Some(path))?, posture, None)
        }
        None => {
            let config = super::context::config(file)?;
            let store = super::context::store(&config)?;
            (
                super::context::latest(&store, &config.tenant.id)?,
                config.posture.clone(),
                Some(store),
            )
        }
    };
    let report = evaluate(&snapshot, &posture, args.policies.as_deref())?;
    if let Some(mut store) = store {
        // History for `scan --diff` and trend; a failure to record must not hide the findings.
        if let Err(e) = store.save_scan(&ppgov_store::SnapshotId(snapshot.id.clone()), &report) {
            tracing::warn!(error = %e, "could not record the scan in the store");
        }
    }

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
            _ => {
                let mut t = Table {
                    columns: vec!["requirement", "status", "title", "rules"],
                    rows: vec![],
                };
                for r in &view.requirements {
                    let rules = r
                        .rules
                        .iter()
                        .map(|c| format!("{}:{}", c.rule_id, c.status))
                        .collect::<Vec<_>>()
                        .join(" ");
                    t.rows.push(vec![
                        r.id.clone(),
                        format!("{:?}", r.status).to_ascii_lowercase(),
                        r.title.clone(),
                        rules,
                    ]);
                }
                let header = format!("{} {}\n\n", view.name, view.version);
                emit(
                    format!("{header}{}", t.to_text()).as_bytes(),
                    args.out.as_deref(),
                )?;
            }
        }
    } else {
        let bytes = ppgov_report::render(format(args.format), &report)?;
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
    match (fail_on, report.max_severity()) {
        (Some(threshold), Some(max)) if max >= threshold => Ok(Outcome::Findings),
        _ => Ok(Outcome::Clean),
    }
}
