//! Sessions, pending sign-ins and one-time form tokens: in this process's memory, or, when the
//! served configuration has `[store] url`, in that PostgreSQL database
//! ([`ppgov_store_pg::PgSessions`]), so every `ppgov serve` instance on it knows every session
//! (no sticky sessions behind a load balancer) and a restart signs nobody out.
//!
//! * A session id is 32 random bytes in an `HttpOnly`, `SameSite=Lax` cookie (`Secure`, and
//!   named `__Host-ppgov_session`, behind TLS). Only its SHA-256 is kept, so the table never
//!   holds a usable id. A session ends `session_minutes` after sign-in, or at sign-out.
//! * A pending sign-in is keyed by the `state` sent to Entra and bound to the browser that
//!   started it by a second cookie, so a code delivered to another browser (login CSRF) is
//!   refused. It is single-use and lives ten minutes.
//! * Every form a page renders carries a token of its own, valid once, for that session: a
//!   forged form (no token, or another session's) and a replayed one (its token spent) are
//!   refused.
//!
//! PostgreSQL failing fails closed: no session (the person is signed out), no pending sign-in,
//! no form token (the form is refused); sign-in and sign-out say it did not work. Each failure
//! is logged (never an id or a token).
//!
//! Time is the server's clock, so tests step it.

use crate::oidc::{Identity, random_token};
use crate::roles::Grants;
use ppgov_store::StoreError;
use ppgov_store_pg::PgSessions;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;

/// How long a pending sign-in may take.
const PENDING_MS: i64 = 10 * 60 * 1000;
/// Outstanding form tokens kept per session (the oldest go first).
const FORM_TOKENS: usize = 256;
/// Pending sign-ins kept at most (the oldest go first), so unfinished sign-ins cannot fill
/// memory.
const PENDING_MAX: usize = 10_000;

fn digest(s: &str) -> [u8; 32] {
    Sha256::digest(s.as_bytes()).into()
}

/// A signed-in user.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Session {
    /// Who.
    pub who: Identity,
    /// Their roles per tenant.
    pub grants: Grants,
    /// When it ends (ms).
    pub expires_ms: i64,
}

/// A sign-in waiting for its callback.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct Pending {
    pub nonce: String,
    pub verifier: String,
    pub return_to: String,
    /// The SHA-256 of the browser-binding cookie.
    browser: [u8; 32],
    started_ms: i64,
}

impl Pending {
    /// Whether it may finish at `now_ms` in the browser holding the cookie `browser`.
    fn usable(&self, browser: Option<&str>, now_ms: i64) -> bool {
        let fresh = now_ms - self.started_ms < PENDING_MS;
        let same_browser = browser.is_some_and(|b| digest(b) == self.browser);
        fresh && same_browser
    }
}

/// A session in memory with the digests of its outstanding form tokens.
#[derive(Debug)]
struct Held {
    session: Session,
    tokens: VecDeque<[u8; 32]>,
}

/// Pending sign-ins by state digest, and their order of arrival.
type PendingTable = (HashMap<[u8; 32], Pending>, VecDeque<[u8; 32]>);

/// The in-process tables.
#[derive(Default)]
struct Memory {
    sessions: Mutex<HashMap<[u8; 32], Held>>,
    pending: Mutex<PendingTable>,
}

enum Backend {
    Memory(Memory),
    Postgres(Box<PgSessions>),
}

/// All sessions of this console.
pub struct Sessions {
    backend: Backend,
}

impl Default for Sessions {
    /// Sessions in this process's memory.
    fn default() -> Sessions {
        Sessions {
            backend: Backend::Memory(Memory::default()),
        }
    }
}

impl std::fmt::Debug for Sessions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.backend {
            Backend::Memory(_) => f.write_str("Sessions(memory)"),
            Backend::Postgres(pg) => write!(f, "Sessions(postgresql {})", pg.target()),
        }
    }
}

/// Logs a failure of the session store (`what` it was doing; the error names no id or token).
fn warn(what: &str, e: &dyn std::fmt::Display) {
    tracing::warn!(error = %e, "console sessions: {what} failed");
}

fn encode(what: &str, e: serde_json::Error) -> StoreError {
    StoreError::Encode {
        what: what.to_string(),
        source: e,
    }
}

impl Sessions {
    /// Sessions in the PostgreSQL database at `url`, shared with every instance using it. Fails
    /// when it cannot be reached (the error names its host, port and database, never the
    /// password).
    pub fn in_postgres(url: &str) -> Result<Sessions, StoreError> {
        Ok(Sessions {
            backend: Backend::Postgres(Box::new(PgSessions::connect(url)?)),
        })
    }

    /// Whether they are kept in PostgreSQL (shared) rather than in this process.
    pub fn shared(&self) -> bool {
        matches!(self.backend, Backend::Postgres(_))
    }

    /// Records a pending sign-in; returns the browser-binding cookie value. Fails (logged) when
    /// it cannot be recorded: the sign-in cannot start.
    pub(crate) fn begin(
        &self,
        state: &str,
        nonce: String,
        verifier: String,
        return_to: String,
        now_ms: i64,
    ) -> Result<String, StoreError> {
        let browser = random_token();
        let pending = Pending {
            nonce,
            verifier,
            return_to,
            browser: digest(&browser),
            started_ms: now_ms,
        };
        match &self.backend {
            Backend::Memory(m) => m.begin(state, pending, now_ms),
            Backend::Postgres(pg) => {
                let begun = serde_json::to_string(&pending)
                    .map_err(|e| encode("pending sign-in", e))
                    .and_then(|value| {
                        pg.begin_pending(state, &value, now_ms, PENDING_MS, PENDING_MAX)
                    });
                if let Err(e) = begun {
                    warn("recording a pending sign-in", &e);
                    return Err(e);
                }
                // Housekeeping: sessions nobody came back to. A failure here stops no sign-in.
                if let Err(e) = pg.prune_sessions(now_ms) {
                    warn("pruning expired sessions", &e);
                }
            }
        }
        Ok(browser)
    }

    /// Takes the pending sign-in of `state` when `browser` (the binding cookie) started it and it
    /// has not expired. Single use: a second callback with the same state finds nothing.
    pub(crate) fn take_pending(
        &self,
        state: &str,
        browser: Option<&str>,
        now_ms: i64,
    ) -> Option<Pending> {
        let found = match &self.backend {
            Backend::Memory(m) => {
                let mut p = m.pending.lock().unwrap_or_else(|e| e.into_inner());
                p.0.remove(&digest(state))?
            }
            Backend::Postgres(pg) => {
                let (value, _) = pg
                    .take_pending(state)
                    .inspect_err(|e| warn("taking a pending sign-in", e))
                    .ok()??;
                serde_json::from_str(&value)
                    .inspect_err(|e| warn("reading a pending sign-in", e))
                    .ok()?
            }
        };
        found.usable(browser, now_ms).then_some(found)
    }

    /// Opens a session; returns its id (the cookie value). Fails (logged) when it cannot be
    /// recorded: no cookie may be handed out for it.
    pub fn open(
        &self,
        who: Identity,
        grants: Grants,
        expires_ms: i64,
    ) -> Result<String, StoreError> {
        let id = random_token();
        let session = Session {
            who,
            grants,
            expires_ms,
        };
        match &self.backend {
            Backend::Memory(m) => {
                let mut s = m.sessions.lock().unwrap_or_else(|e| e.into_inner());
                s.insert(
                    digest(&id),
                    Held {
                        session,
                        tokens: VecDeque::new(),
                    },
                );
            }
            Backend::Postgres(pg) => {
                let put = serde_json::to_string(&session)
                    .map_err(|e| encode("session", e))
                    .and_then(|value| pg.put_session(&id, &value, expires_ms));
                if let Err(e) = put {
                    warn("opening a session", &e);
                    return Err(e);
                }
            }
        }
        Ok(id)
    }

    /// The live session of a cookie value; an expired one is removed. `None` too when the
    /// session store fails (logged): the person is signed out.
    pub fn get(&self, id: &str, now_ms: i64) -> Option<Session> {
        match &self.backend {
            Backend::Memory(m) => {
                let mut s = m.sessions.lock().unwrap_or_else(|e| e.into_inner());
                let key = digest(id);
                match s.get(&key) {
                    Some(x) if x.session.expires_ms > now_ms => Some(x.session.clone()),
                    Some(_) => {
                        s.remove(&key);
                        None
                    }
                    None => None,
                }
            }
            Backend::Postgres(pg) => {
                let value = pg
                    .session(id, now_ms)
                    .inspect_err(|e| warn("reading a session", e))
                    .ok()??;
                let session: Session = serde_json::from_str(&value)
                    .inspect_err(|e| warn("reading a session", e))
                    .ok()?;
                (session.expires_ms > now_ms).then_some(session)
            }
        }
    }

    /// Ends a session. Fails (logged) when the session store cannot be reached: the session may
    /// still be live.
    pub fn close(&self, id: &str) -> Result<(), StoreError> {
        match &self.backend {
            Backend::Memory(m) => {
                let mut s = m.sessions.lock().unwrap_or_else(|e| e.into_inner());
                s.remove(&digest(id));
                Ok(())
            }
            Backend::Postgres(pg) => pg
                .delete_session(id)
                .map(drop)
                .inspect_err(|e| warn("ending a session", e)),
        }
    }

    /// A fresh one-time token for a form of the session `id` (empty when there is no session, or
    /// when the session store fails, logged: the form will be refused).
    pub fn form_token(&self, id: &str) -> String {
        let token = random_token();
        match &self.backend {
            Backend::Memory(m) => {
                let mut s = m.sessions.lock().unwrap_or_else(|e| e.into_inner());
                let Some(x) = s.get_mut(&digest(id)) else {
                    return String::new();
                };
                if x.tokens.len() >= FORM_TOKENS {
                    x.tokens.pop_front();
                }
                x.tokens.push_back(digest(&token));
                token
            }
            Backend::Postgres(pg) => match pg.add_form_token(id, &token, FORM_TOKENS) {
                Ok(true) => token,
                Ok(false) => String::new(),
                Err(e) => {
                    warn("issuing a form token", &e);
                    String::new()
                }
            },
        }
    }

    /// Spends a form token of session `id`: true once per token rendered for that session, on
    /// whichever instance. False when the session store fails (logged): the form is refused.
    pub fn spend_form_token(&self, id: &str, token: &str) -> bool {
        if token.is_empty() {
            return false;
        }
        match &self.backend {
            Backend::Memory(m) => {
                let mut s = m.sessions.lock().unwrap_or_else(|e| e.into_inner());
                let Some(x) = s.get_mut(&digest(id)) else {
                    return false;
                };
                let t = digest(token);
                match x.tokens.iter().position(|k| *k == t) {
                    Some(i) => {
                        x.tokens.remove(i);
                        true
                    }
                    None => false,
                }
            }
            Backend::Postgres(pg) => pg
                .spend_form_token(id, token)
                .inspect_err(|e| warn("spending a form token", e))
                .unwrap_or(false),
        }
    }
}

impl Memory {
    fn begin(&self, state: &str, pending: Pending, now_ms: i64) {
        let mut p = self.pending.lock().unwrap_or_else(|e| e.into_inner());
        let (map, order) = &mut *p;
        map.retain(|_, v| now_ms - v.started_ms < PENDING_MS);
        order.retain(|k| map.contains_key(k));
        while map.len() >= PENDING_MAX {
            match order.pop_front() {
                Some(k) => {
                    map.remove(&k);
                }
                None => break,
            }
        }
        let key = digest(state);
        map.insert(key, pending);
        order.push_back(key);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn who() -> Identity {
        Identity {
            oid: "u1".into(),
            username: "u@contoso.example".into(),
            name: "U".into(),
            roles: vec![],
            groups: vec![],
        }
    }

    #[test]
    fn a_session_ends_at_its_expiry() {
        let s = Sessions::default();
        let id = s.open(who(), Grants::default(), 1_000).unwrap();
        assert!(s.get(&id, 999).is_some());
        assert!(s.get(&id, 1_000).is_none());
        assert!(s.get(&id, 10).is_none(), "an expired session is gone");
        assert!(s.get("not-a-session", 10).is_none());
    }

    #[test]
    fn form_tokens_work_once_and_only_for_their_session() {
        let s = Sessions::default();
        let a = s.open(who(), Grants::default(), i64::MAX).unwrap();
        let b = s.open(who(), Grants::default(), i64::MAX).unwrap();
        let t = s.form_token(&a);
        assert!(!s.spend_form_token(&b, &t), "another session's token");
        assert!(s.spend_form_token(&a, &t));
        assert!(!s.spend_form_token(&a, &t), "replayed");
        assert!(!s.spend_form_token(&a, ""), "missing");
    }

    #[test]
    fn a_pending_sign_in_is_single_use_bound_to_its_browser_and_expires() {
        let s = Sessions::default();
        let b = s
            .begin("st", "n".into(), "v".into(), "/".into(), 0)
            .unwrap();
        assert!(
            s.take_pending("st", Some("other"), 1).is_none(),
            "other browser"
        );
        let b2 = s
            .begin("st2", "n".into(), "v".into(), "/".into(), 0)
            .unwrap();
        assert!(s.take_pending("st2", Some(&b2), 1).is_some());
        assert!(s.take_pending("st2", Some(&b2), 1).is_none(), "used");
        let b3 = s
            .begin("st3", "n".into(), "v".into(), "/".into(), 0)
            .unwrap();
        assert!(
            s.take_pending("st3", Some(&b3), PENDING_MS).is_none(),
            "expired"
        );
        assert!(
            s.take_pending("st", Some(&b), 1).is_none(),
            "spent by the refusal"
        );
    }
}
