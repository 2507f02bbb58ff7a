//! Sessions, pending sign-ins and one-time form tokens, held in this process's memory.
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
//! Time is the server's clock, so tests step it.

use crate::oidc::{Identity, random_token};
use crate::roles::Grants;
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
#[derive(Debug, Clone)]
pub struct Session {
    /// Who.
    pub who: Identity,
    /// Their roles per tenant.
    pub grants: Grants,
    /// When it ends (ms).
    pub expires_ms: i64,
    tokens: VecDeque<[u8; 32]>,
}

/// A sign-in waiting for its callback.
#[derive(Debug, Clone)]
pub(crate) struct Pending {
    pub nonce: String,
    pub verifier: String,
    pub return_to: String,
    browser: [u8; 32],
    started_ms: i64,
}

/// Pending sign-ins by state digest, and their order of arrival.
type PendingTable = (HashMap<[u8; 32], Pending>, VecDeque<[u8; 32]>);

/// All sessions of this console.
#[derive(Debug, Default)]
pub struct Sessions {
    sessions: Mutex<HashMap<[u8; 32], Session>>,
    pending: Mutex<PendingTable>,
}

impl Sessions {
    /// Records a pending sign-in; returns the browser-binding cookie value.
    pub(crate) fn begin(
        &self,
        state: &str,
        nonce: String,
        verifier: String,
        return_to: String,
        now_ms: i64,
    ) -> String {
        let browser = random_token();
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
        map.insert(
            key,
            Pending {
                nonce,
                verifier,
                return_to,
                browser: digest(&browser),
                started_ms: now_ms,
            },
        );
        order.push_back(key);
        browser
    }

    /// Takes the pending sign-in of `state` when `browser` (the binding cookie) started it and it
    /// has not expired. Single use: a second callback with the same state finds nothing.
    pub(crate) fn take_pending(
        &self,
        state: &str,
        browser: Option<&str>,
        now_ms: i64,
    ) -> Option<Pending> {
        let mut p = self.pending.lock().unwrap_or_else(|e| e.into_inner());
        let found = p.0.remove(&digest(state))?;
        let fresh = now_ms - found.started_ms < PENDING_MS;
        let same_browser = browser.is_some_and(|b| digest(b) == found.browser);
        (fresh && same_browser).then_some(found)
    }

    /// Opens a session; returns its id (the cookie value).
    pub fn open(&self, who: Identity, grants: Grants, expires_ms: i64) -> String {
        let id = random_token();
        let mut s = self.sessions.lock().unwrap_or_else(|e| e.into_inner());
        s.insert(
            digest(&id),
            Session {
                who,
                grants,
                expires_ms,
                tokens: VecDeque::new(),
            },
        );
        id
    }

    /// The live session of a cookie value; an expired one is removed.
    pub fn get(&self, id: &str, now_ms: i64) -> Option<Session> {
        let mut s = self.sessions.lock().unwrap_or_else(|e| e.into_inner());
        let key = digest(id);
        match s.get(&key) {
            Some(x) if x.expires_ms > now_ms => Some(x.clone()),
            Some(_) => {
                s.remove(&key);
                None
            }
            None => None,
        }
    }

    /// Ends a session.
    pub fn close(&self, id: &str) {
        let mut s = self.sessions.lock().unwrap_or_else(|e| e.into_inner());
        s.remove(&digest(id));
    }

    /// A fresh one-time token for a form of the session `id` (empty when there is no session).
    pub fn form_token(&self, id: &str) -> String {
        let mut s = self.sessions.lock().unwrap_or_else(|e| e.into_inner());
        let Some(x) = s.get_mut(&digest(id)) else {
            return String::new();
        };
        let token = random_token();
        if x.tokens.len() >= FORM_TOKENS {
            x.tokens.pop_front();
        }
        x.tokens.push_back(digest(&token));
        token
    }

    /// Spends a form token of session `id`: true once per token rendered for that session.
    pub fn spend_form_token(&self, id: &str, token: &str) -> bool {
        let mut s = self.sessions.lock().unwrap_or_else(|e| e.into_inner());
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
        let id = s.open(who(), Grants::default(), 1_000);
        assert!(s.get(&id, 999).is_some());
        assert!(s.get(&id, 1_000).is_none());
        assert!(s.get(&id, 10).is_none(), "an expired session is gone");
        assert!(s.get("not-a-session", 10).is_none());
    }

    #[test]
    fn form_tokens_work_once_and_only_for_their_session() {
        let s = Sessions::default();
        let a = s.open(who(), Grants::default(), i64::MAX);
        let b = s.open(who(), Grants::default(), i64::MAX);
        let t = s.form_token(&a);
        assert!(!s.spend_form_token(&b, &t), "another session's token");
        assert!(s.spend_form_token(&a, &t));
        assert!(!s.spend_form_token(&a, &t), "replayed");
        assert!(!s.spend_form_token(&a, ""), "missing");
    }

    #[test]
    fn a_pending_sign_in_is_single_use_bound_to_its_browser_and_expires() {
        let s = Sessions::default();
        let b = s.begin("st", "n".into(), "v".into(), "/".into(), 0);
        assert!(
            s.take_pending("st", Some("other"), 1).is_none(),
            "other browser"
        );
        let b2 = s.begin("st2", "n".into(), "v".into(), "/".into(), 0);
        assert!(s.take_pending("st2", Some(&b2), 1).is_some());
        assert!(s.take_pending("st2", Some(&b2), 1).is_none(), "used");
        let b3 = s.begin("st3", "n".into(), "v".into(), "/".into(), 0);
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
