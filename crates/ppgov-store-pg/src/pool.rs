//! Idle connections kept for reuse. A console page view or a job opens a tenant's event store
//! or records and drops them when done; connecting again each time costs a TCP connect, the
//! sign-in, the schema check and the role check. A dropped store's connection is kept here, keyed
//! by url and tenant scope (its session's `app.tenant`), and handed to the next store of the same
//! key once a round trip shows it still works.
//!
//! At most [`MAX_IDLE`] connections are kept in all (the oldest go first), none longer than
//! [`MAX_IDLE_AGE`], so many tenants do not hold the server's connection slots.

use std::sync::{LazyLock, Mutex};
use std::time::{Duration, Instant};

use postgres::Client;
use ppgov_store::StoreError;

/// Idle connections kept at most, over every url and tenant.
const MAX_IDLE: usize = 16;
/// An idle connection older than this is closed instead of reused.
const MAX_IDLE_AGE: Duration = Duration::from_secs(60);
/// How long the check of an idle connection may take before it is given up.
const CHECK_TIMEOUT: Duration = Duration::from_secs(2);

struct Idle {
    url: String,
    scope: Option<String>,
    since: Instant,
    client: Client,
}

static IDLE: LazyLock<Mutex<Vec<Idle>>> = LazyLock::new(Mutex::default);

/// A connection to `url` scoped to `scope`: an idle one that still answers, else a new one
/// (migrated and scoped, see `crate::open`). Blocking: call it off the async runtime.
pub(crate) fn checkout(url: &str, scope: Option<&str>) -> Result<Client, StoreError> {
    loop {
        let found = {
            let mut idle = IDLE.lock().unwrap_or_else(|e| e.into_inner());
            expire(&mut idle);
            idle.iter()
                .rposition(|i| i.url == url && i.scope.as_deref() == scope)
                .map(|at| idle.remove(at))
        };
        let Some(mut i) = found else {
            return crate::open(url, scope);
        };
        // Checked outside the lock: a dead server makes this wait up to the timeout.
        if i.client.is_valid(CHECK_TIMEOUT).is_ok() {
            return Ok(i.client);
        }
    }
}

/// Keeps `client`, the connection of a store of `url` scoped to `scope` that is done with it,
/// for the next store of the same key, unless it is closed. Blocking (closing one may block).
pub(crate) fn give_back(url: &str, scope: Option<&str>, client: Client) {
    if client.is_closed() {
        return;
    }
    let dropped = {
        let mut idle = IDLE.lock().unwrap_or_else(|e| e.into_inner());
        let mut dropped = expire(&mut idle);
        idle.push(Idle {
            url: url.to_owned(),
            scope: scope.map(str::to_owned),
            since: Instant::now(),
            client,
        });
        while idle.len() > MAX_IDLE {
            dropped.push(idle.remove(0));
        }
        dropped
    };
    // Closed outside the lock.
    drop(dropped);
}

/// Takes the connections idle too long out of `idle`, for the caller to close.
fn expire(idle: &mut Vec<Idle>) -> Vec<Idle> {
    let now = Instant::now();
    let (old, kept): (Vec<Idle>, Vec<Idle>) = std::mem::take(idle)
        .into_iter()
        .partition(|i| now.duration_since(i.since) > MAX_IDLE_AGE);
    *idle = kept;
    old
}

/// How many connections are idle for `url` (for tests).
#[cfg(feature = "testing")]
pub fn idle_for(url: &str) -> usize {
    let idle = IDLE.lock().unwrap_or_else(|e| e.into_inner());
    idle.iter().filter(|i| i.url == url).count()
}
