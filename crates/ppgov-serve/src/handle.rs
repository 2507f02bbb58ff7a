//! What crates above the server (the web console) may use of a running server: its tenants,
//! its clock, its job queue. Data flows one way: they call in, the server never calls out.

use crate::server::{Shared, with_queue};
use crate::tenant::Tenant;
use ppgov_store::{JobFilter, JobKey, JobRow};
use std::sync::Arc;

/// Routes another crate serves beside the API (the web console), made once the server's state
/// exists.
pub type ExtraRoutes = Box<dyn FnOnce(ServeHandle) -> axum::Router + Send>;

/// A handle on a running server's state.
#[derive(Clone)]
pub struct ServeHandle {
    pub(crate) shared: Arc<Shared>,
    pub(crate) addr: std::net::SocketAddr,
}

impl std::fmt::Debug for ServeHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ServeHandle")
            .field("tenants", &self.shared.tenants.len())
            .finish_non_exhaustive()
    }
}

impl ServeHandle {
    /// The address the server listens on.
    pub fn addr(&self) -> std::net::SocketAddr {
        self.addr
    }

    /// The tenants served, in configuration order.
    pub fn tenants(&self) -> &[Arc<Tenant>] {
        &self.shared.tenants
    }

    /// One served tenant.
    pub fn tenant(&self, id: &str) -> Option<&Arc<Tenant>> {
        self.shared.tenant(id)
    }

    /// The server's clock, in ms since the epoch (a test's manual clock, or the machine's).
    pub fn now_ms(&self) -> i64 {
        self.shared.clock.now_ms()
    }

    /// Enqueues a run of `kind` for `tenant` now; `None` when that run is already queued.
    pub fn trigger(&self, tenant: &str, kind: &str) -> Result<Option<i64>, String> {
        if self.tenant(tenant).is_none() {
            return Err(format!("tenant `{tenant}` is not served here"));
        }
        if !crate::jobs::KINDS.contains(&kind) {
            return Err(format!(
                "kind `{kind}`: use one of {}",
                crate::jobs::KINDS.join(", ")
            ));
        }
        self.shared.enqueue(&JobKey {
            tenant: tenant.to_string(),
            kind: kind.to_string(),
            scheduled_for_ms: self.now_ms(),
        })
    }

    /// Jobs matching `filter`, newest tick first.
    pub fn jobs(&self, filter: &JobFilter) -> Result<Vec<JobRow>, String> {
        with_queue(&self.shared.queue, |q| q.list_jobs(filter))
    }
}
