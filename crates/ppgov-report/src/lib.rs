//! One renderer per output format: a [`ScanReport`] in, bytes out. No I/O, deterministic output
//! (the only time printed is the snapshot's).
//!
//! Formats: [`table`], [`json`], [`csv`] (and [`csv_excel`]), [`markdown`], [`html`], [`ocsf`],
//! [`sarif`]. Plus [`diff()`] between two scans, and [`evidence_package`] (a zip with a SHA-256
//! manifest) for auditors, with [`standard_evidence`] building the usual files from a snapshot. [`render`] picks a renderer by [`Format`].
#![deny(missing_docs)]

mod csv_out;
mod diff;
mod error;
mod evidence;
mod grid;
mod html;
mod inventory;
mod json;
mod markdown;
mod ocsf;
mod posture;
pub mod rules_doc;
mod sarif;
mod table;
pub mod tables;
mod text;
pub mod views;

pub use csv_out::{csv, csv_excel};
pub use diff::{DiffReport, diff, diff_json, diff_table};
pub use error::ReportError;
pub use evidence::{EvidenceItem, evidence_package};
pub use grid::grid;
pub use html::html;
pub use inventory::{dlp_policies_json, standard_evidence};
pub use json::{JSON_SCHEMA_VERSION, json, json_value, parse_json};
pub use markdown::markdown;
pub use ocsf::ocsf;
pub use posture::{AREAS, AreaScore, posture_scores, rule_area, severity_weight};
pub use sarif::sarif;
pub use table::{table, table_fitted};

use ppgov_core::ScanReport;
use std::fmt;
use std::str::FromStr;

/// An output format, as `--format` names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Format {
    /// Aligned plain-text table.
    Table,
    /// The versioned JSON contract.
    Json,
    /// CSV, plain UTF-8.
    Csv,
    /// CSV with a UTF-8 BOM and formula-safe cells, for Excel.
    CsvExcel,
    /// Markdown summary and table.
    Markdown,
    /// One self-contained HTML file.
    Html,
    /// OCSF Detection Finding records, JSON Lines.
    Ocsf,
    /// SARIF 2.1.0.
    Sarif,
}

impl Format {
    /// Every format, in `--help` order.
    pub const ALL: [Format; 8] = [
        Format::Table,
        Format::Json,
        Format::Csv,
        Format::CsvExcel,
        Format::Markdown,
        Format::Html,
        Format::Ocsf,
        Format::Sarif,
    ];

    /// The `--format` name.
    pub fn as_str(self) -> &'static str {
        match self {
            Format::Table => "table",
            Format::Json => "json",
            Format::Csv => "csv",
            Format::CsvExcel => "csv-excel",
            Format::Markdown => "md",
            Format::Html => "html",
            Format::Ocsf => "ocsf",
            Format::Sarif => "sarif",
        }
    }

    /// The usual file extension.
    pub fn extension(self) -> &'static str {
        match self {
            Format::Table => "txt",
            Format::Json => "json",
            Format::Csv | Format::CsvExcel => "csv",
            Format::Markdown => "md",
            Format::Html => "html",
            Format::Ocsf => "jsonl",
            Format::Sarif => "sarif",
        }
    }
}

impl fmt::Display for Format {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Format {
    type Err = ReportError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let s = s.trim().to_ascii_lowercase();
        match s.as_str() {
            "markdown" => Ok(Format::Markdown),
            "csv_excel" | "excel" => Ok(Format::CsvExcel),
            _ => Format::ALL
                .into_iter()
                .find(|f| f.as_str() == s)
                .ok_or(ReportError::UnknownFormat(s)),
        }
    }
}

/// Renders a report in one format.
pub fn render(format: Format, report: &ScanReport) -> Result<Vec<u8>, ReportError> {
    Ok(match format {
        Format::Table => table(report).into_bytes(),
        Format::Json => json(report)?.into_bytes(),
        Format::Csv => csv(report)?,
        Format::CsvExcel => csv_excel(report)?,
        Format::Markdown => markdown(report).into_bytes(),
        Format::Html => html(report).into_bytes(),
        Format::Ocsf => ocsf(report)?.into_bytes(),
        Format::Sarif => sarif(report)?.into_bytes(),
    })
}
