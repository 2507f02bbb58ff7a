//! `ppgov serve`: continuous governance. A scheduler turns each tenant's `[schedule]` into jobs
//! on a leased queue (exactly once per tick, however many instances run), workers run them
//! (crawl and scan with its diff, audit ingestion with detection and alerts, due plan steps,
//! notification digests), and HTTP endpoints serve health, Prometheus metrics and the JSON API.
//!
//! Time comes only from a [`Clock`], so tests step a [`ManualClock`] through ticks.

pub mod clock;
mod handle;
mod http;
pub mod jobs;
pub mod metrics;
mod server;
pub mod tenant;
pub mod ticks;

pub use clock::{Clock, ManualClock, SystemClock};
pub use handle::{ExtraRoutes, ServeHandle};
pub use http::OPENAPI;
pub use server::{JobEvent, Queue, RunEnd, ServeError, ServeOptions, Server};
pub use tenant::{
    Tenant, check_stores, judging_posture, open_events, open_records, open_snapshots,
};
