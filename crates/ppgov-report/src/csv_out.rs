//! CSV: one row per finding.

use crate::ReportError;
use crate::text::{evidence_text, frameworks_text};
use ppgov_core::ScanReport;

const HEADER: [&str; 12] = [
    "rule_id",
    "severity",
    "resource_kind",
    "resource_id",
    "resource_name",
    "environment_id",
    "message",
    "remediation",
    "action_id",
    "frameworks",
    "suppressed",
    "evidence",
];

fn rows(report: &ScanReport) -> Vec<[String; 12]> {
    report
        .findings
        .iter()
        .map(|f| {
            [
                f.rule_id.clone(),
                f.severity.as_str().to_string(),
                f.resource.kind.as_str().to_string(),
                f.resource.id.clone(),
                f.resource.name.clone(),
                f.resource.environment_id.clone().unwrap_or_default(),
                f.message.clone(),
                f.remediation.text.clone(),
                f.remediation.action_id.clone().unwrap_or_default(),
                frameworks_text(f),
                f.suppressed
                    .as_ref()
                    .map(|s| s.justification.clone())
                    .unwrap_or_default(),
                evidence_text(f),
            ]
        })
        .collect()
}

fn write(
    report: &ScanReport,
    out: Vec<u8>,
    cell: impl Fn(String) -> String,
) -> Result<Vec<u8>, ReportError> {
    let mut w = csv::WriterBuilder::new()
        .terminator(csv::Terminator::CRLF)
        .from_writer(out);
    w.write_record(HEADER)?;
    for row in rows(report) {
        w.write_record(row.map(&cell))?;
    }
    w.into_inner().map_err(|e| ReportError::Io(e.into_error()))
}

/// CSV, plain UTF-8 without BOM, RFC 4180 quoting, CRLF line ends. Cells are exactly the values.
pub fn csv(report: &ScanReport) -> Result<Vec<u8>, ReportError> {
    write(report, Vec::new(), |c| c)
}

/// CSV for Excel: a UTF-8 BOM (so Excel reads non-ASCII correctly), and any cell that starts
/// with `=`, `+`, `-`, `@`, tab or carriage return prefixed with `'` so Excel never runs a
/// display name as a formula.
pub fn csv_excel(report: &ScanReport) -> Result<Vec<u8>, ReportError> {
    write(report, b"\xEF\xBB\xBF".to_vec(), |c| {
        if c.starts_with(['=', '+', '-', '@', '\t', '\r']) {
            format!("'{c}")
        } else {
            c
        }
    })
}
