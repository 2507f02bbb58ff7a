//! The store writer: one thread owns the SQLite connection and writes in batched transactions, in
//! the order it is told. A shard is marked done only after its rows are committed, so a crawl killed
//! at any point resumes from consistent checkpoints.

use ppgov_core::CollectionEntry;
use ppgov_store::{ResourceRow, ShardState, SnapshotId, Store, StoreError, StoreKind};
use tokio::sync::mpsc;

/// Rows buffered before a transaction is committed.
const BATCH: usize = 2_000;

/// What the crawl asks the writer to do.
pub enum WriteOp {
    /// Upsert resources.
    Rows(Vec<ResourceRow>),
    /// Record a collection outcome.
    Collection(CollectionEntry),
    /// Carry forward unchanged resources from the parent snapshot (incremental crawls).
    Copy {
        /// Parent snapshot.
        from: SnapshotId,
        /// Kind.
        kind: StoreKind,
        /// Ids to carry.
        ids: Vec<String>,
    },
    /// Mark a shard done (after everything sent before it).
    ShardDone(String),
}

/// Handle to the writer thread.
pub struct Writer {
    tx: mpsc::Sender<WriteOp>,
    handle: std::thread::JoinHandle<(Store, Result<(), StoreError>)>,
}

impl Writer {
    /// Starts the writer thread, which takes ownership of the store until [`Writer::finish`].
    pub fn spawn(store: Store, snapshot: SnapshotId) -> Writer {
        let (tx, rx) = mpsc::channel(256);
        let handle = std::thread::spawn(move || run(store, snapshot, rx));
        Writer { tx, handle }
    }

    /// A sender for crawl tasks.
    pub fn sender(&self) -> mpsc::Sender<WriteOp> {
        self.tx.clone()
    }

    /// Stops the thread after writing everything sent, and hands the store back with the first
    /// write error, if any.
    pub async fn finish(self) -> (Option<Store>, Result<(), StoreError>) {
        drop(self.tx);
        match tokio::task::spawn_blocking(move || self.handle.join()).await {
            Ok(Ok((store, result))) => (Some(store), result),
            _ => (
                None,
                Err(StoreError::Io {
                    path: "store writer".into(),
                    source: std::io::Error::other("the store writer thread stopped unexpectedly"),
                }),
            ),
        }
    }
}

fn run(
    mut store: Store,
    snapshot: SnapshotId,
    mut rx: mpsc::Receiver<WriteOp>,
) -> (Store, Result<(), StoreError>) {
    let mut rows: Vec<ResourceRow> = Vec::with_capacity(BATCH);
    let mut first_error: Result<(), StoreError> = Ok(());
    let keep = |r: Result<(), StoreError>, first_error: &mut Result<(), StoreError>| {
        if let Err(e) = r
            && first_error.is_ok()
        {
            *first_error = Err(e);
        }
    };
    while let Some(op) = rx.blocking_recv() {
        match op {
            WriteOp::Rows(mut r) => {
                rows.append(&mut r);
                if rows.len() >= BATCH {
                    keep(store.put_resources(&snapshot, &rows), &mut first_error);
                    rows.clear();
                }
            }
            WriteOp::Collection(entry) => {
                keep(store.record_collection(&snapshot, &entry), &mut first_error)
            }
            WriteOp::Copy { from, kind, ids } => {
                keep(flush(&mut store, &snapshot, &mut rows), &mut first_error);
                keep(
                    store
                        .copy_unchanged(&from, &snapshot, kind, &ids)
                        .map(|_| ()),
                    &mut first_error,
                );
            }
            WriteOp::ShardDone(key) => {
                keep(flush(&mut store, &snapshot, &mut rows), &mut first_error);
                // Never mark a shard done when its rows may not have been written.
                if first_error.is_ok() {
                    keep(
                        store.mark_shard(&snapshot, &key, ShardState::Done, None),
                        &mut first_error,
                    );
                }
            }
        }
    }
    keep(flush(&mut store, &snapshot, &mut rows), &mut first_error);
    (store, first_error)
}

fn flush(
    store: &mut Store,
    snapshot: &SnapshotId,
    rows: &mut Vec<ResourceRow>,
) -> Result<(), StoreError> {
    if rows.is_empty() {
        return Ok(());
    }
    let r = store.put_resources(snapshot, rows);
    rows.clear();
    r
}
