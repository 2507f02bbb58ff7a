//! A gate on audit blobs, for tests that must stop an ingest in the middle at a known point (and
//! kill it there) without timing anything: after `limit` blobs every blob request waits until
//! the gate opens, and the test can wait for requests to be held.

use std::sync::atomic::{AtomicU64, Ordering};
use tokio::sync::watch;

/// See the module documentation. Open by default.
#[derive(Debug)]
pub struct BlobGate {
    limit: AtomicU64,
    served: AtomicU64,
    held: watch::Sender<u64>,
    open: watch::Sender<bool>,
}

impl Default for BlobGate {
    fn default() -> Self {
        BlobGate {
            limit: AtomicU64::new(u64::MAX),
            served: AtomicU64::new(0),
            held: watch::Sender::new(0),
            open: watch::Sender::new(true),
        }
    }
}

impl BlobGate {
    /// Called before a blob is served: waits while the gate holds.
    pub(crate) async fn pass(&self) {
        let n = self.served.fetch_add(1, Ordering::SeqCst);
        if n < self.limit.load(Ordering::SeqCst) || *self.open.borrow() {
            return;
        }
        let mut open = self.open.subscribe();
        self.held.send_modify(|h| *h += 1);
        let _ = open.wait_for(|o| *o).await;
    }

    /// Serves `n` more blobs, then holds every further request.
    pub(crate) fn hold_after(&self, n: u64) {
        self.open.send_replace(false);
        self.held.send_replace(0);
        self.served.store(0, Ordering::SeqCst);
        self.limit.store(n, Ordering::SeqCst);
    }

    /// Waits until at least `n` requests are held.
    pub(crate) async fn wait_held(&self, n: u64) {
        let mut held = self.held.subscribe();
        let _ = held.wait_for(|h| *h >= n).await;
    }

    /// Lets every held and later request through.
    pub(crate) fn release(&self) {
        self.limit.store(u64::MAX, Ordering::SeqCst);
        self.open.send_replace(true);
    }
}
