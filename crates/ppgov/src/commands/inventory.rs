//! `ppgov inventory ...` and `ppgov snapshot export`.

use crate::cli::{InventoryArgs, InventoryView, TabularFormat};
use crate::commands::Outcome;
use anyhow::Context;
use ppgov_report::views::{self as inventory, Table};
use std::io::Write;
use std::path::PathBuf;

/// Prints a table in the chosen format on stdout.
pub fn print_table(t: &Table, format: TabularFormat) -> anyhow::Result<()> {
    let mut out = std::io::stdout().lock();
    match format {
        TabularFormat::Table => {
            out.write_all(t.to_text_fitted(crate::output::terminal_width()).as_bytes())?
        }
        TabularFormat::Json => {
            serde_json::to_writer_pretty(&mut out, &t.to_json())?;
            out.write_all(b"\n")?;
        }
        TabularFormat::Csv => out.write_all(&t.to_csv().context("cannot write CSV")?)?,
    }
    Ok(())
}

pub fn run(file: Option<PathBuf>, args: InventoryArgs) -> anyhow::Result<Outcome> {
    let s = super::context::snapshot(file, args.snapshot.as_deref())?;
    let env = args.environment.as_deref();
    let table = match args.view {
        InventoryView::Environments => inventory::environments(&s, env),
        InventoryView::Apps => inventory::apps(&s, env),
        InventoryView::Flows => inventory::flows(&s, env),
        InventoryView::Connections => inventory::connections(&s, env),
        InventoryView::Roles => inventory::roles(&s, env),
        InventoryView::Principals => inventory::principals(&s),
    };
    if args.format == TabularFormat::Json {
        let view = match args.view {
            InventoryView::Environments => "environments",
            InventoryView::Apps => "apps",
            InventoryView::Flows => "flows",
            InventoryView::Connections => "connections",
            InventoryView::Roles => "roles",
            InventoryView::Principals => "principals",
        };
        let mut out = std::io::stdout().lock();
        serde_json::to_writer_pretty(&mut out, &table.to_json_document(view))?;
        out.write_all(b"\n")?;
        return Ok(Outcome::Clean);
    }
    print_table(&table, args.format)?;
    Ok(Outcome::Clean)
}

pub fn export(
    file: Option<PathBuf>,
    target: PathBuf,
    id: Option<String>,
) -> anyhow::Result<Outcome> {
    let config = super::context::config(file)?;
    let store = super::context::snapshots(&config)?;
    let snapshot = match id {
        Some(id) => store.load_snapshot(&ppgov_store::SnapshotId(id))?,
        None => super::context::latest(store.as_ref(), &config.tenant.id)?,
    };
    ppgov_store::write_snapshot_file(&snapshot, &target)
        .with_context(|| format!("cannot write {}", target.display()))?;
    eprintln!("wrote snapshot {} to {}", snapshot.id, target.display());
    Ok(Outcome::Clean)
}
