//! Typed clients per Power Platform API family on one transport: paging, throttling, retries,
//! lifecycle polling.
//!
//! [`Transport`] does the HTTP work for every family (token, request id, logging, adaptive rate
//! limiting, retries, error mapping); the family clients ([`BapClient`], [`DlpClient`], ...) are
//! thin: one method per documented call, base URLs from [`ppgov_config::Endpoints`].

#![warn(missing_docs)]

mod connect;
mod counters;
mod error;
mod lifecycle;
mod limiter;
pub mod paging;
mod retry;
mod transport;

pub use connect::{Connection, connect};
pub use counters::{Counters, CountersSnapshot};
pub use error::ClientError;
pub use limiter::LimiterConfig;
pub use paging::ItemStream;
pub use retry::RetryConfig;
pub use transport::{
    DEFAULT_MAX_BODY_BYTES, LifecycleConfig, Request, Response, Transport, TransportConfig,
    build_url,
};
pub mod clients;

pub use clients::bap::BapClient;
pub use clients::bundle::Clients;
pub use clients::dataverse::DataverseClient;
pub use clients::dlp::DlpClient;
pub use clients::flow::FlowClient;
pub use clients::graph::{BatchItem, GraphClient, UserLookup};
pub use clients::management::ManagementClient;
pub use clients::powerapps::PowerAppsClient;
pub use clients::ppapi::PowerPlatformClient;
pub use clients::{odata_string, path_segment};
pub use paging::{header_link_stream, inventory_stream, link_stream};
