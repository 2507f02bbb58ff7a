//! The report crate's error type.

/// What can go wrong while rendering.
#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    /// JSON encoding failed (should not happen for well-formed reports).
    #[error("cannot encode {what} as json: {source}")]
    Json {
        /// What was being encoded.
        what: &'static str,
        /// The JSON error.
        source: serde_json::Error,
    },
    /// CSV writing failed.
    #[error("cannot write csv: {0}")]
    Csv(#[from] csv::Error),
    /// Zip writing failed.
    #[error("cannot write the evidence zip: {0}")]
    Zip(#[from] zip::result::ZipError),
    /// I/O into an in-memory buffer failed.
    #[error("cannot write output: {0}")]
    Io(#[from] std::io::Error),
    /// Two evidence items have the same name.
    #[error("evidence file `{0}` is listed twice; give every item a unique name")]
    DuplicateEvidence(String),
    /// An evidence item uses a reserved or unsafe name.
    #[error(
        "evidence file name `{0}` is not allowed; use a relative name without `..` other than manifest.json and MANIFEST.sha256"
    )]
    BadEvidenceName(String),
    /// A document given as a previous scan is not ppgov scan JSON.
    #[error("not a ppgov scan json output: {0}; produce it with `ppgov scan --format json`")]
    ParseJson(serde_json::Error),
    /// A scan JSON document of a contract version this build cannot read.
    #[error(
        "scan json has schema_version `{0}`, this ppgov reads 1.x; re-run the scan with this ppgov"
    )]
    UnsupportedSchema(String),
    /// `--format` named a format that does not exist.
    #[error(
        "unknown output format `{0}`; expected one of table, json, csv, csv-excel, md, html, ocsf, sarif"
    )]
    UnknownFormat(String),
}
