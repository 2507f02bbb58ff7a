//! The audit crate's error type.

use std::path::PathBuf;

/// Everything that can stop an audit command (a bad record never does: it is counted).
#[derive(Debug, thiserror::Error)]
pub enum AuditError {
    /// The event store failed.
    #[error("audit store: {0}")]
    Store(Box<ppgov_store::StoreError>),
    /// An API call failed.
    #[error(
        "Management Activity API: {0}; check `ppgov doctor` and the ActivityFeed.Read permission"
    )]
    Client(Box<ppgov_client::ClientError>),
    /// A file could not be read.
    #[error("cannot read {path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// A file is not in any format ppgov reads.
    #[error(
        "{path}: {message}; give a Purview audit CSV (with an AuditData column), JSON lines, or a JSON array of records"
    )]
    BadFile {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        message: String,
    },
    /// The detection configuration is wrong.
    #[error("detection configuration: {0}; fix the [detections] file and run again")]
    Config(String),
    /// Detection state stored by an earlier run cannot be read.
    #[error(
        "stored detection state cannot be read: {0}; run `ppgov audit detect --reset` to start the detections over"
    )]
    State(String),
    /// Writing output failed.
    #[error("cannot write output: {0}")]
    Output(String),
}

impl From<ppgov_client::ClientError> for AuditError {
    fn from(e: ppgov_client::ClientError) -> Self {
        AuditError::Client(Box::new(e))
    }
}

impl From<ppgov_store::StoreError> for AuditError {
    fn from(e: ppgov_store::StoreError) -> Self {
        AuditError::Store(Box::new(e))
    }
}
