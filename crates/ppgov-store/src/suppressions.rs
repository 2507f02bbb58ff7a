//! Suppressions recorded in the console: a finding (rule, resource) accepted with a
//! justification until an expiry day, with who recorded it and when. Revoking keeps the row with
//! who revoked it, when and why, so an auditor sees the whole history. The scans add a tenant's
//! active rows to the `[posture]` suppressions (`ppgov_engine::scan::with_stored_suppressions`).

use crate::{Store, StoreError};
use chrono::{DateTime, Days, NaiveDate, Utc};
use rusqlite::{OptionalExtension, params};
use serde::{Deserialize, Serialize};

/// Longest justification or revocation reason accepted, in characters.
pub const MAX_JUSTIFICATION_CHARS: usize = 2000;
/// Furthest expiry accepted, in days after the day it is recorded.
pub const MAX_SUPPRESSION_DAYS: u64 = 366;
/// Longest rule id or resource id accepted, in characters.
const MAX_ID_CHARS: usize = 1000;

/// Why a suppression was refused, or the store failed.
#[derive(Debug, thiserror::Error)]
pub enum SuppressionError {
    /// A field is missing or out of range; the text says which and what is accepted.
    #[error("{0}")]
    Invalid(String),
    /// No suppression with that id in the tenant.
    #[error("no suppression {0} in this tenant")]
    NotFound(i64),
    /// It was revoked already (by whom, when).
    #[error("suppression {id} was already revoked by {by}")]
    AlreadyRevoked {
        /// Its id.
        id: i64,
        /// Who revoked it.
        by: String,
    },
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<rusqlite::Error> for SuppressionError {
    fn from(e: rusqlite::Error) -> Self {
        SuppressionError::Store(StoreError::Sqlite(e))
    }
}

/// A suppression to record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewSuppression {
    /// Tenant id.
    pub tenant_id: String,
    /// Rule id, e.g. `PPG-APP-001`.
    pub rule_id: String,
    /// Resource id, as in the finding.
    pub resource_id: String,
    /// Why it is accepted (required).
    pub justification: String,
    /// Last day it applies.
    pub expires: NaiveDate,
    /// Who records it (sign-in name).
    pub created_by: String,
}

/// Where a stored suppression stands on a day.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SuppressionStatus {
    /// Applies.
    Active,
    /// Its expiry day has passed.
    Expired,
    /// Revoked.
    Revoked,
}

impl SuppressionStatus {
    /// The name shown.
    pub fn as_str(self) -> &'static str {
        match self {
            SuppressionStatus::Active => "active",
            SuppressionStatus::Expired => "expired",
            SuppressionStatus::Revoked => "revoked",
        }
    }
}

/// A recorded suppression.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredSuppression {
    /// Its id.
    pub id: i64,
    /// Tenant id.
    pub tenant_id: String,
    /// Rule id.
    pub rule_id: String,
    /// Resource id.
    pub resource_id: String,
    /// Why it is accepted.
    pub justification: String,
    /// Last day it applies.
    pub expires: NaiveDate,
    /// Who recorded it.
    pub created_by: String,
    /// When.
    pub created_at: DateTime<Utc>,
    /// Who revoked it, if anyone.
    pub revoked_by: Option<String>,
    /// When.
    pub revoked_at: Option<DateTime<Utc>>,
    /// Why.
    pub revoke_reason: Option<String>,
}

impl StoredSuppression {
    /// Where it stands on `today`.
    pub fn status(&self, today: NaiveDate) -> SuppressionStatus {
        if self.revoked_at.is_some() {
            SuppressionStatus::Revoked
        } else if self.expires < today {
            SuppressionStatus::Expired
        } else {
            SuppressionStatus::Active
        }
    }

    /// Whether it is not revoked (expiry is the engine's to judge, on the scan's day, so an
    /// expired one shows its finding again marked as an expired suppression).
    pub fn is_live(&self) -> bool {
        self.revoked_at.is_none()
    }

    /// What a scan needs of it: rule id, resource id, justification, expiry (for
    /// `ppgov_engine::scan::with_stored_suppressions`).
    pub fn entry(&self) -> (&str, &str, &str, NaiveDate) {
        (
            &self.rule_id,
            &self.resource_id,
            &self.justification,
            self.expires,
        )
    }
}

fn required(what: &str, value: &str, max: usize) -> Result<String, SuppressionError> {
    let v = value.trim();
    if v.is_empty() {
        return Err(SuppressionError::Invalid(format!("{what} is required")));
    }
    let n = v.chars().count();
    if n > max {
        return Err(SuppressionError::Invalid(format!(
            "{what} is too long ({n} characters; at most {max})"
        )));
    }
    Ok(v.to_string())
}

/// Checks an expiry day against the day it is recorded: not before it, at most
/// [`MAX_SUPPRESSION_DAYS`] after it.
pub fn check_expiry(expires: NaiveDate, today: NaiveDate) -> Result<(), SuppressionError> {
    if expires < today {
        return Err(SuppressionError::Invalid(format!(
            "the expiry {expires} is in the past (today is {today})"
        )));
    }
    let last = today
        .checked_add_days(Days::new(MAX_SUPPRESSION_DAYS))
        .unwrap_or(NaiveDate::MAX);
    if expires > last {
        return Err(SuppressionError::Invalid(format!(
            "the expiry {expires} is too far ahead: at most {MAX_SUPPRESSION_DAYS} days, until {last}"
        )));
    }
    Ok(())
}

impl NewSuppression {
    /// The suppression as recorded at `now` (fields trimmed), after checking it: rule, resource,
    /// justification and who are required and bounded, one resource (not `*`), and the expiry
    /// today or later and at most [`MAX_SUPPRESSION_DAYS`] ahead. Every backend records only
    /// what this returns.
    pub fn checked(&self, now: DateTime<Utc>) -> Result<NewSuppression, SuppressionError> {
        let tenant_id = required("the tenant", &self.tenant_id, MAX_ID_CHARS)?;
        let rule_id = required("the rule id", &self.rule_id, MAX_ID_CHARS)?;
        let resource_id = required("the resource id", &self.resource_id, MAX_ID_CHARS)?;
        if resource_id == "*" {
            return Err(SuppressionError::Invalid(
                "a console suppression names one resource; `*` belongs in ppgov.toml [posture]"
                    .into(),
            ));
        }
        let justification = required(
            "a justification",
            &self.justification,
            MAX_JUSTIFICATION_CHARS,
        )?;
        let created_by = required("who records it", &self.created_by, MAX_ID_CHARS)?;
        check_expiry(self.expires, now.date_naive())?;
        Ok(NewSuppression {
            tenant_id,
            rule_id,
            resource_id,
            justification,
            expires: self.expires,
            created_by,
        })
    }
}

/// Who revokes and why, trimmed, after checking both are given and bounded.
pub fn checked_revocation(by: &str, reason: &str) -> Result<(String, String), SuppressionError> {
    Ok((
        required("who revokes it", by, MAX_ID_CHARS)?,
        required("a reason", reason, MAX_JUSTIFICATION_CHARS)?,
    ))
}

/// Whether a suppression whose stored `revoked_by` is `current` (`None`: no such row) can be
/// revoked.
pub fn revocable(id: i64, current: Option<Option<String>>) -> Result<(), SuppressionError> {
    match current {
        None => Err(SuppressionError::NotFound(id)),
        Some(Some(by)) => Err(SuppressionError::AlreadyRevoked { id, by }),
        Some(None) => Ok(()),
    }
}

fn ms(at: DateTime<Utc>) -> i64 {
    at.timestamp_millis()
}

fn from_ms(v: i64) -> Result<DateTime<Utc>, StoreError> {
    DateTime::from_timestamp_millis(v).ok_or_else(|| StoreError::BadValue {
        column: "suppressions time",
        value: v.to_string(),
    })
}

const COLS: &str = "id, tenant_id, rule_id, resource_id, justification, expires, created_by,
    created_ms, revoked_by, revoked_ms, revoke_reason";

type Raw = (
    i64,
    String,
    String,
    String,
    String,
    String,
    String,
    i64,
    Option<String>,
    Option<i64>,
    Option<String>,
);

fn raw(r: &rusqlite::Row<'_>) -> rusqlite::Result<Raw> {
    Ok((
        r.get(0)?,
        r.get(1)?,
        r.get(2)?,
        r.get(3)?,
        r.get(4)?,
        r.get(5)?,
        r.get(6)?,
        r.get(7)?,
        r.get(8)?,
        r.get(9)?,
        r.get(10)?,
    ))
}

fn build(r: Raw) -> Result<StoredSuppression, StoreError> {
    let expires =
        NaiveDate::parse_from_str(&r.5, "%Y-%m-%d").map_err(|_| StoreError::BadValue {
            column: "suppressions.expires",
            value: r.5.clone(),
        })?;
    Ok(StoredSuppression {
        id: r.0,
        tenant_id: r.1,
        rule_id: r.2,
        resource_id: r.3,
        justification: r.4,
        expires,
        created_by: r.6,
        created_at: from_ms(r.7)?,
        revoked_by: r.8,
        revoked_at: r.9.map(from_ms).transpose()?,
        revoke_reason: r.10,
    })
}

impl Store {
    /// Records a suppression at `now` after checking it: rule, resource, justification and who
    /// are required and bounded, the expiry is today or later and at most
    /// [`MAX_SUPPRESSION_DAYS`] ahead. Whether the rule and resource are in the latest scan is the
    /// caller's check.
    pub fn add_suppression(
        &mut self,
        s: &NewSuppression,
        now: DateTime<Utc>,
    ) -> Result<StoredSuppression, SuppressionError> {
        let s = s.checked(now)?;
        self.conn.execute(
            "INSERT INTO suppressions (tenant_id, rule_id, resource_id, justification, expires,
                 created_by, created_ms)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
            params![
                s.tenant_id,
                s.rule_id,
                s.resource_id,
                s.justification,
                s.expires.format("%Y-%m-%d").to_string(),
                s.created_by,
                ms(now)
            ],
        )?;
        let id = self.conn.last_insert_rowid();
        self.suppression(&s.tenant_id, id)?
            .ok_or(SuppressionError::NotFound(id))
    }

    /// One suppression of a tenant.
    pub fn suppression(
        &self,
        tenant_id: &str,
        id: i64,
    ) -> Result<Option<StoredSuppression>, StoreError> {
        let row = self
            .conn
            .query_row(
                &format!("SELECT {COLS} FROM suppressions WHERE tenant_id = ?1 AND id = ?2"),
                params![tenant_id, id],
                raw,
            )
            .optional()?;
        row.map(build).transpose()
    }

    /// Every suppression of a tenant (active, expired and revoked), newest first.
    pub fn suppressions(&self, tenant_id: &str) -> Result<Vec<StoredSuppression>, StoreError> {
        let mut st = self.conn.prepare_cached(&format!(
            "SELECT {COLS} FROM suppressions WHERE tenant_id = ?1 ORDER BY id DESC"
        ))?;
        let rows = st.query_map([tenant_id], raw)?;
        let mut out = Vec::new();
        for r in rows {
            out.push(build(r?)?);
        }
        Ok(out)
    }

    /// Revokes a suppression at `now`, keeping the row with who, when and why.
    pub fn revoke_suppression(
        &mut self,
        tenant_id: &str,
        id: i64,
        by: &str,
        reason: &str,
        now: DateTime<Utc>,
    ) -> Result<StoredSuppression, SuppressionError> {
        let (by, reason) = checked_revocation(by, reason)?;
        let tx = self.conn.transaction()?;
        let current: Option<Option<String>> = tx
            .query_row(
                "SELECT revoked_by FROM suppressions WHERE tenant_id = ?1 AND id = ?2",
                params![tenant_id, id],
                |r| r.get(0),
            )
            .optional()?;
        revocable(id, current)?;
        tx.execute(
            "UPDATE suppressions SET revoked_by = ?3, revoked_ms = ?4, revoke_reason = ?5
             WHERE tenant_id = ?1 AND id = ?2 AND revoked_ms IS NULL",
            params![tenant_id, id, by, ms(now), reason],
        )?;
        tx.commit()?;
        self.suppression(tenant_id, id)?
            .ok_or(SuppressionError::NotFound(id))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Records;
    use chrono::TimeZone;

    fn now() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 12, 4, 10, 0, 0).unwrap()
    }

    fn new(expires: NaiveDate) -> NewSuppression {
        NewSuppression {
            tenant_id: "t1".into(),
            rule_id: "PPG-APP-001".into(),
            resource_id: "app-1".into(),
            justification: "  shared with everyone on purpose: the canteen menu  ".into(),
            expires,
            created_by: "reviewer@contoso.example".into(),
        }
    }

    fn day(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).unwrap()
    }

    #[test]
    fn add_list_revoke_keeps_history() {
        let mut store = Store::open_in_memory().unwrap();
        let a = store
            .add_suppression(&new(day(2027, 1, 31)), now())
            .unwrap();
        assert_eq!(
            a.justification,
            "shared with everyone on purpose: the canteen menu"
        );
        assert_eq!(a.created_by, "reviewer@contoso.example");
        assert_eq!(a.created_at, now());
        assert_eq!(a.status(now().date_naive()), SuppressionStatus::Active);
        assert_eq!(a.status(day(2027, 2, 1)), SuppressionStatus::Expired);
        let mut other = new(day(2026, 12, 4));
        other.tenant_id = "t2".into();
        store.add_suppression(&other, now()).unwrap();
        let b = store
            .add_suppression(&new(day(2026, 12, 4)), now())
            .unwrap();
        let listed = store.suppressions("t1").unwrap();
        assert_eq!(
            listed.iter().map(|s| s.id).collect::<Vec<_>>(),
            [b.id, a.id]
        );
        let later = now() + chrono::Duration::hours(2);
        let revoked = store
            .revoke_suppression("t1", a.id, "admin@contoso.example", "app retired", later)
            .unwrap();
        assert_eq!(revoked.revoked_by.as_deref(), Some("admin@contoso.example"));
        assert_eq!(revoked.revoked_at, Some(later));
        assert_eq!(revoked.revoke_reason.as_deref(), Some("app retired"));
        assert_eq!(
            revoked.status(now().date_naive()),
            SuppressionStatus::Revoked
        );
        // History kept: the revoked row is still listed; only the live one is honoured.
        assert_eq!(store.suppressions("t1").unwrap().len(), 2);
        let live = store.live_suppressions("t1").unwrap();
        assert_eq!(live.iter().map(|s| s.id).collect::<Vec<_>>(), [b.id]);
        assert!(matches!(
            store.revoke_suppression("t1", a.id, "x", "again", later),
            Err(SuppressionError::AlreadyRevoked { .. })
        ));
        // Another tenant's row is not found from this tenant.
        assert!(matches!(
            store.revoke_suppression("t1", 2, "x", "y", later),
            Err(SuppressionError::NotFound(2))
        ));
        assert!(matches!(
            store.revoke_suppression("t1", b.id, "x", "  ", later),
            Err(SuppressionError::Invalid(m)) if m.contains("reason")
        ));
    }

    #[test]
    fn refuses_invalid_input() {
        let mut store = Store::open_in_memory().unwrap();
        let msg = |s: NewSuppression, store: &mut Store| match store.add_suppression(&s, now()) {
            Err(SuppressionError::Invalid(m)) => m,
            other => panic!("expected a refusal, got {other:?}"),
        };
        let mut s = new(day(2027, 1, 1));
        s.justification = " \n ".into();
        assert!(msg(s, &mut store).contains("justification is required"));
        let mut s = new(day(2027, 1, 1));
        s.justification = "x".repeat(MAX_JUSTIFICATION_CHARS + 1);
        assert!(msg(s, &mut store).contains("too long"));
        assert!(msg(new(day(2026, 12, 3)), &mut store).contains("in the past"));
        assert!(msg(new(day(2027, 12, 6)), &mut store).contains("too far ahead"));
        store
            .add_suppression(&new(day(2027, 12, 5)), now())
            .unwrap();
        let mut s = new(day(2027, 1, 1));
        s.rule_id = String::new();
        assert!(msg(s, &mut store).contains("rule id"));
        let mut s = new(day(2027, 1, 1));
        s.resource_id = "*".into();
        assert!(msg(s, &mut store).contains("one resource"));
        let mut s = new(day(2027, 1, 1));
        s.created_by = " ".into();
        assert!(msg(s, &mut store).contains("who records"));
        assert_eq!(store.suppressions("t1").unwrap().len(), 1);
    }
}
