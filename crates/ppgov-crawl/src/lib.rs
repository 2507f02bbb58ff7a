//! The concurrent inventory crawler: collects a tenant into a snapshot in the store, and is the
//! only place where wire types (`ppgov-model`) become domain types (`ppgov-core`).
//!
//! Work is sharded per environment and resource kind; the largest shards start first; concurrency
//! is bounded per host by the transport's adaptive limiter. Each finished shard is checkpointed, so
//! `--resume` continues an interrupted crawl, and an incremental crawl refetches details only for
//! resources whose `lastModifiedTime` changed.

mod apps;
mod crawler;
mod custom_connectors;
mod error;
mod flows;
mod freshness;
mod inventory;
pub mod map;
mod principals;
mod progress;
mod roles;
mod runs;
mod sendable;
mod shards;
mod teams;
mod tenant;

/// The collection status reason of an environment whose Dataverse is still being provisioned
/// (`databaseType: CommonDataService`, `linkedEnvironmentMetadata: null`).
pub const PROVISIONING_REASON: &str =
    "not yet available: Dataverse is still being provisioned (linkedEnvironmentMetadata is null)";
mod writer;

pub use crawler::{CrawlOptions, CrawlSummary, FacetCount, crawl};
pub use error::CrawlError;
pub use ppgov_client::Clients;
pub use progress::ProgressMode;
pub use runs::RunCounter;
