//! The store writer: one thread owns the store's connection and writes in batched transactions, in
//! the order it is told. A shard's checkpoint commits in the same transaction as its rows, so a
//! crawl killed at any point resumes from consistent checkpoints.

use ppgov_core::CollectionEntry;
use ppgov_store::{
    ResourceRow, ShardState, SnapshotBatch, SnapshotId, Snapshots, StoreError, StoreKind,
};
use tokio::sync::mpsc;

/// Ops queued for the writer before senders wait.
const WRITE_QUEUE: usize = 32;

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
    /// Write resources that keep part of their parent row (facets carried forward).
    Carry {
        /// Parent snapshot.
        from: SnapshotId,
        /// What to write.
        carries: Vec<ppgov_store::Carry>,
    },
    /// Mark a shard done (after everything sent before it).
    ShardDone(String),
}

/// Handle to the writer thread.
pub struct Writer {
    tx: mpsc::Sender<WriteOp>,
    handle: std::thread::JoinHandle<(Box<dyn Snapshots>, Result<(), StoreError>)>,
}

impl Writer {
    /// Starts the writer thread, which takes ownership of the store until [`Writer::finish`].
    pub fn spawn(store: Box<dyn Snapshots>, snapshot: SnapshotId) -> Writer {
        // A few ops of slack: an op can carry a chunk of flow definitions (megabytes), so a deep
        // queue behind a busy disk would be memory, not speed.
        let (tx, rx) = mpsc::channel(WRITE_QUEUE);
        let handle = std::thread::spawn(move || run(store, snapshot, rx));
        Writer { tx, handle }
    }

    /// A sender for crawl tasks.
    pub fn sender(&self) -> mpsc::Sender<WriteOp> {
        self.tx.clone()
    }

    /// Stops the thread after writing everything sent, and hands the store back with the first
    /// write error, if any.
    pub async fn finish(self) -> (Option<Box<dyn Snapshots>>, Result<(), StoreError>) {
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

/// Most rows one transaction takes before it commits, and the longest it stays open: a killed
/// crawl loses at most this much work, and readers see progress this often.
const BATCH_ROWS: usize = 20_000;
const BATCH_TIME: std::time::Duration = std::time::Duration::from_millis(500);

fn run(
    mut store: Box<dyn Snapshots>,
    snapshot: SnapshotId,
    mut rx: mpsc::Receiver<WriteOp>,
) -> (Box<dyn Snapshots>, Result<(), StoreError>) {
    let mut first_error: Result<(), StoreError> = Ok(());
    // Where the writer's time goes, for `-v` runs of a slow crawl.
    let mut stats = Stats::default();
    // Each transaction takes what is queued (up to a bound), so commits follow the crawl's pace:
    // one per op when it is quiet, few and large when it is busy. A shard's checkpoint commits
    // with its rows, so it can never name rows that were not written.
    while let Some(op) = rx.blocking_recv() {
        let t0 = std::time::Instant::now();
        let outcome = (|| -> Result<(), StoreError> {
            let mut batch = store.batch(&snapshot)?;
            let mut rows = apply(batch.as_mut(), op, first_error.is_ok(), &mut stats)?;
            while rows < BATCH_ROWS && t0.elapsed() < BATCH_TIME {
                match rx.try_recv() {
                    Ok(op) => rows += apply(batch.as_mut(), op, first_error.is_ok(), &mut stats)?,
                    Err(_) => break,
                }
            }
            batch.commit()
        })();
        stats.commits += 1;
        stats.busy += t0.elapsed();
        if let Err(e) = outcome
            && first_error.is_ok()
        {
            // The batch rolled back, checkpoints included: those shards are crawled again on
            // resume. No shard is marked done from now on.
            first_error = Err(e);
        }
    }
    tracing::info!(
        rows = stats.rows,
        copied = stats.copied,
        commits = stats.commits,
        busy_ms = stats.busy.as_millis() as u64,
        "crawl: store writer finished"
    );
    (store, first_error)
}

#[derive(Default)]
struct Stats {
    rows: usize,
    copied: usize,
    commits: usize,
    busy: std::time::Duration,
}

/// Applies one op to the open batch; returns how many rows it wrote.
fn apply(
    batch: &mut dyn SnapshotBatch,
    op: WriteOp,
    may_mark: bool,
    stats: &mut Stats,
) -> Result<usize, StoreError> {
    match op {
        WriteOp::Rows(rows) => {
            batch.put_resources(&rows)?;
            stats.rows += rows.len();
            Ok(rows.len())
        }
        WriteOp::Collection(entry) => {
            batch.record_collection(&entry)?;
            Ok(1)
        }
        WriteOp::Copy { from, kind, ids } => {
            let n = batch.copy_unchanged(&from, kind, &ids)?;
            stats.copied += n;
            Ok(ids.len())
        }
        WriteOp::Carry { from, carries } => {
            let (n, missing) = batch.carry(&from, &carries)?;
            if missing > 0 {
                tracing::warn!(
                    missing,
                    "crawl: parent rows missing for carried facets; those resources are left out"
                );
            }
            stats.rows += n;
            Ok(carries.len())
        }
        WriteOp::ShardDone(key) => {
            // Never mark a shard done when an earlier write failed.
            if may_mark {
                batch.mark_shard(&key, ShardState::Done, None)?;
            }
            Ok(1)
        }
    }
}
