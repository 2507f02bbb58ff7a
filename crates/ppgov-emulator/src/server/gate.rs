//! Gates on requests, for tests that must stop a client in the middle at a known point (and kill
//! it there) without timing anything: after `limit` requests of its kind every further one waits
//! until the gate opens, and the test can wait for requests to be held. One gate per kind:
//! audit blobs, writes, every request ([`Gated`]).

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use tokio::sync::watch;

/// Which requests a gate holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Gated {
    /// Management Activity API content blobs.
    AuditBlobs,
    /// Writes (what `writes.rs` counts: not GET, not the POSTs that only read).
    Writes,
    /// Every API request.
    Requests,
}

/// See the module documentation. Open by default.
#[derive(Debug)]
pub struct Gate {
    limit: AtomicU64,
    served: AtomicU64,
    held: watch::Sender<u64>,
    open: watch::Sender<bool>,
    aborted: AtomicBool,
}

impl Default for Gate {
    fn default() -> Self {
        Gate {
            limit: AtomicU64::new(u64::MAX),
            served: AtomicU64::new(0),
            held: watch::Sender::new(0),
            open: watch::Sender::new(true),
            aborted: AtomicBool::new(false),
        }
    }
}

impl Gate {
    /// Called before a request is served: waits while the gate holds. False when the held
    /// request was aborted (its client was killed): it is answered with an error, not served.
    pub(crate) async fn pass(&self) -> bool {
        let n = self.served.fetch_add(1, Ordering::SeqCst);
        if n < self.limit.load(Ordering::SeqCst) || *self.open.borrow() {
            return true;
        }
        let mut open = self.open.subscribe();
        self.held.send_modify(|h| *h += 1);
        let _ = open.wait_for(|o| *o).await;
        !self.aborted.load(Ordering::SeqCst)
    }

    /// Serves `n` more blobs, then holds every further request.
    pub fn hold_after(&self, n: u64) {
        self.aborted.store(false, Ordering::SeqCst);
        self.open.send_replace(false);
        self.held.send_replace(0);
        self.served.store(0, Ordering::SeqCst);
        self.limit.store(n, Ordering::SeqCst);
    }

    /// Waits until at least `n` requests are held.
    pub async fn wait_held(&self, n: u64) {
        let mut held = self.held.subscribe();
        let _ = held.wait_for(|h| *h >= n).await;
    }

    /// Lets every held and later request through.
    pub fn release(&self) {
        self.limit.store(u64::MAX, Ordering::SeqCst);
        self.open.send_replace(true);
    }

    /// Answers every held request with an error (their client is gone: a request held when its
    /// process was killed never reached the service) and lets later requests through.
    pub fn abort_held(&self) {
        self.aborted.store(true, Ordering::SeqCst);
        self.release();
    }
}

/// The answer to an aborted request.
pub(crate) fn aborted() -> super::errors::ApiError {
    super::errors::ApiError::new(
        axum::http::StatusCode::SERVICE_UNAVAILABLE,
        "ServiceUnavailable",
        "The request was held and its client went away.",
    )
}
