//! The web console's sessions, pending sign-ins and one-time form tokens on PostgreSQL
//! (migration 5's `console_sessions`, `console_pending`, `console_form_tokens`), so that every
//! `ppgov serve` instance on one database knows every session and a restart signs nobody out.
//!
//! [`PgSessions`] stores opaque values: what a session or a pending sign-in holds is the
//! console's business (it hands JSON text in and gets it back). It is handed raw session ids,
//! states and form tokens and keeps only their SHA-256 digests, so the tables never hold a
//! usable one. The operations that must work once work once across instances: a pending sign-in
//! and a form token are taken with `DELETE ... RETURNING`, so of two instances taking the same
//! one at once exactly one gets it. Times are the caller's (the server's clock), never the
//! database's.
//!
//! The tables belong to no tenant: the connection is unscoped (their policy shows them to
//! unscoped sessions only). One client serves every call, behind a mutex; every call runs off
//! the async runtime ([`off_runtime`]). When the connection has closed (the server restarted,
//! an admin ended it), the next call connects again, once.

use std::collections::HashMap;
use std::sync::{Mutex, MutexGuard, PoisonError};

use postgres::error::SqlState;
use postgres::{Client, Statement};
use ppgov_store::StoreError;
use sha2::{Digest, Sha256};

use crate::events::off_runtime;
use crate::{describe, open, target_of};

/// The SHA-256 of a raw id, state or token: the only form the tables hold it in.
fn digest(raw: &str) -> Vec<u8> {
    Sha256::digest(raw.as_bytes()).to_vec()
}

/// One connection and its prepared statements (which die with it).
struct Conn {
    client: Client,
    statements: HashMap<&'static str, Statement>,
}

impl Conn {
    fn statement(&mut self, sql: &'static str) -> Result<Statement, postgres::Error> {
        if let Some(s) = self.statements.get(sql) {
            return Ok(s.clone());
        }
        let s = self.client.prepare(sql)?;
        self.statements.insert(sql, s.clone());
        Ok(s)
    }
}

/// The console's sessions, pending sign-ins and form tokens in PostgreSQL, shared by every
/// instance on the database. `Sync`: one client behind a mutex.
pub struct PgSessions {
    /// Kept to connect again; never shown (it may hold a password).
    url: String,
    /// Host, port and database, for messages.
    target: String,
    /// `None` only after a failed reconnect, and while the value is dropped.
    conn: Mutex<Option<Conn>>,
}

impl std::fmt::Debug for PgSessions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PgSessions")
            .field("target", &self.target)
            .finish_non_exhaustive()
    }
}

const PUT_SESSION: &str = "INSERT INTO console_sessions (id_digest, value, expires_ms)
     VALUES ($1, $2, $3)
     ON CONFLICT (id_digest) DO UPDATE SET value = excluded.value, expires_ms = excluded.expires_ms";

/// The live session of a digest; an expired one is deleted by the same statement.
const GET_SESSION: &str = "WITH gone AS (
         DELETE FROM console_sessions WHERE id_digest = $1 AND expires_ms <= $2
     )
     SELECT value FROM console_sessions WHERE id_digest = $1 AND expires_ms > $2";

const DELETE_SESSION: &str = "DELETE FROM console_sessions WHERE id_digest = $1";

const PRUNE_SESSIONS: &str = "DELETE FROM console_sessions WHERE expires_ms <= $1";

const PRUNE_PENDING: &str = "DELETE FROM console_pending WHERE started_ms <= $1";

/// Drops the oldest pending sign-ins so that `$1` are left at most.
const CAP_PENDING: &str = "DELETE FROM console_pending WHERE seq <= (
         SELECT seq FROM console_pending ORDER BY seq DESC OFFSET $1 LIMIT 1
     )";

const PUT_PENDING: &str = "INSERT INTO console_pending (state_digest, value, started_ms)
     VALUES ($1, $2, $3)
     ON CONFLICT (state_digest) DO UPDATE SET value = excluded.value, started_ms = excluded.started_ms";

const TAKE_PENDING: &str =
    "DELETE FROM console_pending WHERE state_digest = $1 RETURNING value, started_ms";

/// A form token, only for a session that exists.
const ADD_TOKEN: &str = "INSERT INTO console_form_tokens (session_digest, token_digest)
     SELECT $1, $2 WHERE EXISTS (SELECT 1 FROM console_sessions WHERE id_digest = $1)
     ON CONFLICT DO NOTHING";

/// Drops the oldest form tokens of a session so that `$2` are left at most.
const CAP_TOKENS: &str = "DELETE FROM console_form_tokens WHERE session_digest = $1 AND seq <= (
         SELECT seq FROM console_form_tokens WHERE session_digest = $1
         ORDER BY seq DESC OFFSET $2 LIMIT 1
     )";

const SPEND_TOKEN: &str = "DELETE FROM console_form_tokens
     WHERE session_digest = $1 AND token_digest = $2 RETURNING 1";

/// How many rows a cap keeps, as PostgreSQL's OFFSET takes it.
fn offset(keep: usize) -> i64 {
    i64::try_from(keep).unwrap_or(i64::MAX)
}

impl PgSessions {
    /// Connects to `url` (as [`crate::PgStore::connect`] does: migrations first, no TLS),
    /// unscoped: the tables belong to no tenant.
    pub fn connect(url: &str) -> Result<PgSessions, StoreError> {
        let target = url
            .parse::<postgres::Config>()
            .map(|c| target_of(&c))
            .unwrap_or_else(|_| "the given url".into());
        let client = off_runtime(|| open(url, None))?;
        Ok(PgSessions {
            url: url.to_owned(),
            target,
            conn: Mutex::new(Some(Conn {
                client,
                statements: HashMap::new(),
            })),
        })
    }

    /// Host, port and database of the connection (never the password).
    pub fn target(&self) -> &str {
        &self.target
    }

    /// Records the session of `id` (replacing one of that id) with what the console keeps of
    /// it, live until `expires_ms`.
    pub fn put_session(&self, id: &str, value: &str, expires_ms: i64) -> Result<(), StoreError> {
        let key = digest(id);
        self.call("recording a console session", |c| {
            let s = c.statement(PUT_SESSION)?;
            c.client.execute(&s, &[&key, &value, &expires_ms])?;
            Ok(())
        })
    }

    /// The value of the session of `id` when it is live at `now_ms`; an expired one is deleted.
    pub fn session(&self, id: &str, now_ms: i64) -> Result<Option<String>, StoreError> {
        let key = digest(id);
        self.call("reading a console session", |c| {
            let s = c.statement(GET_SESSION)?;
            let row = c.client.query_opt(&s, &[&key, &now_ms])?;
            row.map(|r| r.try_get(0)).transpose()
        })
    }

    /// Ends the session of `id` and its form tokens; true when there was one.
    pub fn delete_session(&self, id: &str) -> Result<bool, StoreError> {
        let key = digest(id);
        self.call("ending a console session", |c| {
            let s = c.statement(DELETE_SESSION)?;
            Ok(c.client.execute(&s, &[&key])? > 0)
        })
    }

    /// Deletes every session expired at `now_ms` (and their form tokens); returns how many.
    pub fn prune_sessions(&self, now_ms: i64) -> Result<u64, StoreError> {
        self.call("pruning expired console sessions", |c| {
            let s = c.statement(PRUNE_SESSIONS)?;
            c.client.execute(&s, &[&now_ms])
        })
    }

    /// Records a pending sign-in under `state`, started at `now_ms`. In the same transaction,
    /// the sign-ins started `ttl_ms` or longer ago are deleted, then the oldest ones until fewer
    /// than `max` are left, so unfinished sign-ins cannot fill the table. (Instances beginning
    /// at the same moment may each find room: the cap holds within a few.)
    pub fn begin_pending(
        &self,
        state: &str,
        value: &str,
        now_ms: i64,
        ttl_ms: i64,
        max: usize,
    ) -> Result<(), StoreError> {
        let key = digest(state);
        let stale = now_ms.saturating_sub(ttl_ms);
        let keep = offset(max.max(1) - 1);
        self.call("recording a pending console sign-in", |c| {
            let prune = c.statement(PRUNE_PENDING)?;
            let cap = c.statement(CAP_PENDING)?;
            let put = c.statement(PUT_PENDING)?;
            let mut tx = c.client.transaction()?;
            tx.execute(&prune, &[&stale])?;
            tx.execute(&cap, &[&keep])?;
            tx.execute(&put, &[&key, &value, &now_ms])?;
            tx.commit()
        })
    }

    /// Takes the pending sign-in of `state`: its value and when it started. Single use: of two
    /// calls with one state, on any instances, at most one gets it. Whether it is still fresh is
    /// the caller's to judge (it knows the time and the binding to the browser).
    pub fn take_pending(&self, state: &str) -> Result<Option<(String, i64)>, StoreError> {
        let key = digest(state);
        self.call("taking a pending console sign-in", |c| {
            let s = c.statement(TAKE_PENDING)?;
            let row = c.client.query_opt(&s, &[&key])?;
            row.map(|r| Ok((r.try_get(0)?, r.try_get(1)?))).transpose()
        })
    }

    /// Adds a form token to the session of `id`, dropping its oldest tokens so that `keep` are
    /// left at most; false (and nothing added) when there is no such session.
    pub fn add_form_token(&self, id: &str, token: &str, keep: usize) -> Result<bool, StoreError> {
        let session = digest(id);
        let token = digest(token);
        let keep = offset(keep);
        self.call("issuing a console form token", |c| {
            let add = c.statement(ADD_TOKEN)?;
            let cap = c.statement(CAP_TOKENS)?;
            let mut tx = c.client.transaction()?;
            let added = tx.execute(&add, &[&session, &token])? > 0;
            if added {
                tx.execute(&cap, &[&session, &keep])?;
            }
            tx.commit()?;
            Ok(added)
        })
    }

    /// Spends a form token of the session of `id`: true exactly once per token added, even
    /// when several instances spend it at once (the second `DELETE` waits for the first and
    /// then finds nothing).
    pub fn spend_form_token(&self, id: &str, token: &str) -> Result<bool, StoreError> {
        let session = digest(id);
        let token = digest(token);
        self.call("spending a console form token", |c| {
            let s = c.statement(SPEND_TOKEN)?;
            Ok(c.client.execute(&s, &[&session, &token])? == 1)
        })
    }

    /// Runs `f` on the connection, off the async runtime. A closed connection is replaced
    /// first; a call that fails because the connection was lost (closed, or ended by the
    /// server) is run again once on a new one. Every operation may run twice: a second run
    /// finds the first's effect (an upsert, or nothing left to take: refused, never granted
    /// twice).
    fn call<T>(
        &self,
        what: &'static str,
        f: impl Fn(&mut Conn) -> Result<T, postgres::Error>,
    ) -> Result<T, StoreError> {
        let failed = |e: postgres::Error| StoreError::Postgres {
            context: what.into(),
            message: describe(&e),
        };
        off_runtime(|| {
            let mut held = self.conn.lock().unwrap_or_else(PoisonError::into_inner);
            let mut fresh = false;
            if held.as_ref().is_none_or(|c| c.client.is_closed()) {
                self.reconnect(&mut held)?;
                fresh = true;
            }
            let Some(conn) = held.as_mut() else {
                return Err(self.closed());
            };
            match f(conn) {
                Ok(v) => Ok(v),
                Err(e) if !fresh && (conn.client.is_closed() || lost(&e)) => {
                    tracing::debug!(target = %self.target, error = %describe(&e), "console sessions: connection lost; connecting again");
                    self.reconnect(&mut held)?;
                    let conn = held.as_mut().ok_or_else(|| self.closed())?;
                    f(conn).map_err(failed)
                }
                Err(e) => Err(failed(e)),
            }
        })
    }

    /// Replaces the connection (the old one is dropped here, off the runtime).
    fn reconnect(&self, held: &mut MutexGuard<'_, Option<Conn>>) -> Result<(), StoreError> {
        drop(held.take());
        let client = open(&self.url, None)?;
        **held = Some(Conn {
            client,
            statements: HashMap::new(),
        });
        Ok(())
    }

    fn closed(&self) -> StoreError {
        StoreError::PgRefused(format!(
            "the postgresql console sessions at {} are not connected",
            self.target
        ))
    }
}

/// Whether an error says the connection is gone: closed under the client, or ended by the
/// server (an admin's `pg_terminate_backend`, a shutdown) before the statement ran.
fn lost(e: &postgres::Error) -> bool {
    e.is_closed()
        || e.code().is_some_and(|c| {
            *c == SqlState::ADMIN_SHUTDOWN
                || *c == SqlState::CRASH_SHUTDOWN
                || *c == SqlState::CANNOT_CONNECT_NOW
        })
}

/// The client closes its connection by blocking on its runtime: off the async runtime's worker,
/// as every call is, so the sessions may be dropped in async code.
impl Drop for PgSessions {
    fn drop(&mut self) {
        let conn = self
            .conn
            .get_mut()
            .unwrap_or_else(PoisonError::into_inner)
            .take();
        if let Some(conn) = conn {
            off_runtime(|| drop(conn));
        }
    }
}
