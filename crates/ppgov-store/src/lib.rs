//! Embedded SQLite store: snapshots, resources, collection status, crawl checkpoints and scan
//! history.
//!
//! One [`Store`] wraps one SQLite connection (WAL mode, busy timeout, foreign keys on). It is
//! synchronous on purpose: the crawler runs it on a dedicated writer thread and feeds it batches,
//! and every batch is one transaction, so a crawl killed at any point leaves a store that opens
//! and resumes (a snapshot stays `running` until [`Store::finish_snapshot`]).
//!
//! Resources are stored as the JSON of their `ppgov-core` domain type, one row per
//! (snapshot, kind, id); writing the same resource twice upserts. [`Store::load_snapshot`]
//! rebuilds a [`ppgov_core::Snapshot`] with one query per kind.
//!
//! A snapshot can also live outside the store as a portable JSON Lines file
//! ([`write_snapshot_file`], [`read_snapshot_file`]), so it can be evaluated offline.

mod batch;
mod carry;
mod checkpoints;
#[cfg(any(test, feature = "testing"))]
pub mod contract;
#[cfg(any(test, feature = "testing"))]
pub mod contract_events;
#[cfg(any(test, feature = "testing"))]
pub mod contract_records;
#[cfg(any(test, feature = "testing"))]
pub mod contract_snapshots;
mod error;
mod events;
mod file;
#[cfg(test)]
mod fuzz_tests;
mod jobs;
mod jobs_sqlite;
mod journal;
mod kinds;
mod marks;
mod migrations;
mod private;
mod records;
mod requests;
mod resources;
mod scans;
mod snapshot_store;
mod snapshots;
mod store;
mod suppressions;
mod time;

pub use batch::WriteBatch;
pub use carry::Carry;
pub use checkpoints::{Shard, ShardState};
pub use error::StoreError;
/// The event store's chain logic, shared by its backends (see `events/chain.rs`).
pub use events::chain as event_chain;
pub use events::{
    AlertRow, AppendOutcome, EventFilter, EventRow, EventStats, EventStore, PruneOutcome,
    VerifyProblem, VerifyReport, month_of,
};
pub use file::{
    SNAPSHOT_FILE_FORMAT, SNAPSHOT_FILE_VERSION, read_snapshot_file, write_snapshot_file,
};
pub use jobs::{
    JobFilter, JobKey, JobOutcome, JobQueue, JobRow, JobState, decode_payload, decode_state,
    encode_payload,
};
/// The journal's chain logic, shared by its backends (see `journal.rs`).
pub mod journal_chain {
    pub use crate::journal::{Row, verify_rows};
}
pub use journal::{
    ChainBreak, ChainReport, DueAction, GENESIS, JournalEntry, JournalPhase, NewJournalEntry,
};
pub use kinds::{StoreKind, StoredResource};
/// Times as every text column holds them (RFC 3339, UTC, microseconds, `Z`: text order is time
/// order), shared by the backends (see `time.rs`).
pub mod stored_time {
    pub use crate::time::{from_text, to_text};
}
pub use marks::RefreshMark;
pub use private::{create_private_dir, create_private_file, restrict_file, write_private_file};
pub use records::Records;
pub use requests::{ConnectorRequest, NewRequest, RequestEvent, RequestState, RequestUpdate};
pub use resources::ResourceRow;
pub use scans::{ScanId, ScanInfo};
pub use snapshot_store::{ParentRow, SnapshotBatch, Snapshots, build_snapshot};
pub use snapshots::{SnapshotId, SnapshotInfo, SnapshotKind, SnapshotStatus};
pub use store::Store;
pub use suppressions::{
    MAX_JUSTIFICATION_CHARS, MAX_SUPPRESSION_DAYS, NewSuppression, StoredSuppression,
    SuppressionError, SuppressionStatus, check_expiry, checked_revocation, revocable,
};
