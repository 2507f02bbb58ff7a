//! Errors that stop a crawl. Anything narrower (one environment, one kind) is recorded in the
//! snapshot's collection status instead: partial failure is data.

use ppgov_client::ClientError;
use ppgov_store::StoreError;

/// Why a crawl stopped.
#[derive(Debug, thiserror::Error)]
pub enum CrawlError {
    /// The environment list could not be read, so there is nothing to crawl.
    #[error("cannot list environments: {0}")]
    Environments(#[source] ClientError),
    /// The store failed.
    #[error("store: {0}")]
    Store(#[from] StoreError),
    /// `--resume` with nothing to resume.
    #[error(
        "there is no interrupted crawl of tenant {0} to resume; run `ppgov crawl` without --resume"
    )]
    NothingToResume(String),
}
