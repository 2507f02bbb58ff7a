//! The console's records of [`PgRecords`]: suppressions and connector requests.
//!
//! What a suppression or a revocation must hold is checked by `ppgov_store` itself
//! ([`NewSuppression::checked`], [`checked_revocation`], [`revocable`]), so both backends accept
//! and refuse alike. A revoke and a request's step each lock their row (`SELECT ... FOR UPDATE`)
//! before deciding, so of two sent at once from two instances one changes the row and the other
//! finds it moved on.

use chrono::{DateTime, NaiveDate, Utc};
use ppgov_store::{
    ConnectorRequest, NewRequest, NewSuppression, RequestEvent, RequestState, RequestUpdate,
    StoreError, StoredSuppression, SuppressionError, checked_revocation, revocable,
};
use serde::Serialize;

use crate::PgRecords;
use crate::pg;

const SUPPRESSION_COLS: &str = "id, tenant_id, rule_id, resource_id, justification, expires, \
                                created_by, created_ms, revoked_by, revoked_ms, revoke_reason";

const REQUEST_COLS: &str = "id, tenant_id, environment_id, connector, justification, \
                            classification, requester, requester_name, state, created_ms, \
                            updated_ms, evaluation, decision, plan, history";

fn from_ms(v: i64) -> Result<DateTime<Utc>, StoreError> {
    DateTime::from_timestamp_millis(v).ok_or_else(|| StoreError::BadValue {
        column: "suppressions time",
        value: v.to_string(),
    })
}

fn suppression_of(r: &postgres::Row) -> Result<StoredSuppression, StoreError> {
    let failed = pg("reading a suppression");
    let expires: String = r.try_get(5).map_err(&failed)?;
    let created_ms: i64 = r.try_get(7).map_err(&failed)?;
    let revoked_ms: Option<i64> = r.try_get(9).map_err(&failed)?;
    Ok(StoredSuppression {
        id: r.try_get(0).map_err(&failed)?,
        tenant_id: r.try_get(1).map_err(&failed)?,
        rule_id: r.try_get(2).map_err(&failed)?,
        resource_id: r.try_get(3).map_err(&failed)?,
        justification: r.try_get(4).map_err(&failed)?,
        expires: NaiveDate::parse_from_str(&expires, "%Y-%m-%d").map_err(|_| {
            StoreError::BadValue {
                column: "suppressions.expires",
                value: expires.clone(),
            }
        })?,
        created_by: r.try_get(6).map_err(&failed)?,
        created_at: from_ms(created_ms)?,
        revoked_by: r.try_get(8).map_err(&failed)?,
        revoked_at: revoked_ms.map(from_ms).transpose()?,
        revoke_reason: r.try_get(10).map_err(&failed)?,
    })
}

fn decode<T: for<'de> serde::Deserialize<'de>>(
    id: i64,
    what: &str,
    text: &str,
) -> Result<T, StoreError> {
    serde_json::from_str(text).map_err(|source| StoreError::Decode {
        snapshot: String::new(),
        kind: format!("connector request {what}"),
        id: id.to_string(),
        source,
    })
}

fn encode(v: &impl Serialize) -> Result<String, StoreError> {
    serde_json::to_string(v).map_err(|source| StoreError::Encode {
        what: "connector request".into(),
        source,
    })
}

fn request_of(r: &postgres::Row) -> Result<ConnectorRequest, StoreError> {
    let failed = pg("reading a connector request");
    let id: i64 = r.try_get(0).map_err(&failed)?;
    let state: String = r.try_get(8).map_err(&failed)?;
    let evaluation: Option<String> = r.try_get(11).map_err(&failed)?;
    let decision: Option<String> = r.try_get(12).map_err(&failed)?;
    let history: String = r.try_get(14).map_err(&failed)?;
    Ok(ConnectorRequest {
        id,
        tenant_id: r.try_get(1).map_err(&failed)?,
        environment_id: r.try_get(2).map_err(&failed)?,
        connector: r.try_get(3).map_err(&failed)?,
        justification: r.try_get(4).map_err(&failed)?,
        classification: r.try_get(5).map_err(&failed)?,
        requester: r.try_get(6).map_err(&failed)?,
        requester_name: r.try_get(7).map_err(&failed)?,
        state: RequestState::parse(&state).ok_or_else(|| StoreError::BadValue {
            column: "connector_requests.state",
            value: state.clone(),
        })?,
        created_ms: r.try_get(9).map_err(&failed)?,
        updated_ms: r.try_get(10).map_err(&failed)?,
        evaluation: evaluation
            .map(|e| decode(id, "evaluation", &e))
            .transpose()?,
        decision: decision.map(|d| decode(id, "decision", &d)).transpose()?,
        plan: r.try_get(13).map_err(&failed)?,
        history: decode(id, "history", &history)?,
    })
}

impl PgRecords {
    pub(crate) fn suppress(
        &mut self,
        s: &NewSuppression,
        now: DateTime<Utc>,
    ) -> Result<StoredSuppression, SuppressionError> {
        let s = s.checked(now)?;
        let (client, tenant) = self.writer(&s.tenant_id, "suppressions")?;
        let row = client
            .query_one(
                &format!(
                    "INSERT INTO suppressions (tenant_id, rule_id, resource_id, justification,
                         expires, created_by, created_ms)
                     VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING {SUPPRESSION_COLS}"
                ),
                &[
                    &tenant,
                    &s.rule_id,
                    &s.resource_id,
                    &s.justification,
                    &s.expires.format("%Y-%m-%d").to_string(),
                    &s.created_by,
                    &now.timestamp_millis(),
                ],
            )
            .map_err(pg("recording a suppression"))?;
        Ok(suppression_of(&row)?)
    }

    pub(crate) fn one_suppression(
        &self,
        tenant_id: &str,
        id: i64,
    ) -> Result<Option<StoredSuppression>, StoreError> {
        self.client()?
            .query_opt(
                &format!(
                    "SELECT {SUPPRESSION_COLS} FROM suppressions WHERE tenant_id = $1 AND id = $2"
                ),
                &[&tenant_id, &id],
            )
            .map_err(pg("reading a suppression"))?
            .map(|r| suppression_of(&r))
            .transpose()
    }

    pub(crate) fn all_suppressions(
        &self,
        tenant_id: &str,
    ) -> Result<Vec<StoredSuppression>, StoreError> {
        self.client()?
            .query(
                &format!(
                    "SELECT {SUPPRESSION_COLS} FROM suppressions WHERE tenant_id = $1
                     ORDER BY id DESC"
                ),
                &[&tenant_id],
            )
            .map_err(pg("listing suppressions"))?
            .iter()
            .map(suppression_of)
            .collect()
    }

    pub(crate) fn revoke(
        &mut self,
        tenant_id: &str,
        id: i64,
        by: &str,
        reason: &str,
        now: DateTime<Utc>,
    ) -> Result<StoredSuppression, SuppressionError> {
        let (by, reason) = checked_revocation(by, reason)?;
        let (client, tenant) = self.writer(tenant_id, "suppressions")?;
        let failed = pg("revoking a suppression");
        let mut tx = client.transaction().map_err(&failed)?;
        let current: Option<Option<String>> = tx
            .query_opt(
                "SELECT revoked_by FROM suppressions WHERE tenant_id = $1 AND id = $2 FOR UPDATE",
                &[&tenant, &id],
            )
            .map_err(&failed)?
            .map(|r| r.try_get(0))
            .transpose()
            .map_err(&failed)?;
        revocable(id, current)?;
        let row = tx
            .query_one(
                &format!(
                    "UPDATE suppressions SET revoked_by = $3, revoked_ms = $4, revoke_reason = $5
                     WHERE tenant_id = $1 AND id = $2 RETURNING {SUPPRESSION_COLS}"
                ),
                &[&tenant, &id, &by, &now.timestamp_millis(), &reason],
            )
            .map_err(&failed)?;
        tx.commit().map_err(&failed)?;
        Ok(suppression_of(&row)?)
    }

    pub(crate) fn new_request(&mut self, r: &NewRequest, at_ms: i64) -> Result<i64, StoreError> {
        let history = encode(&[r.submitted(at_ms)])?;
        let (client, tenant) = self.writer(&r.tenant_id, "connector requests")?;
        client
            .query_one(
                "INSERT INTO connector_requests (tenant_id, environment_id, connector,
                     justification, classification, requester, requester_name, state,
                     created_ms, updated_ms, history)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, 'submitted', $8, $8, $9) RETURNING id",
                &[
                    &tenant,
                    &r.environment_id,
                    &r.connector,
                    &r.justification,
                    &r.classification,
                    &r.requester,
                    &r.requester_name,
                    &at_ms,
                    &history,
                ],
            )
            .and_then(|row| row.try_get(0))
            .map_err(pg("recording a connector request"))
    }

    pub(crate) fn one_request(
        &self,
        tenant_id: &str,
        id: i64,
    ) -> Result<Option<ConnectorRequest>, StoreError> {
        self.client()?
            .query_opt(
                &format!(
                    "SELECT {REQUEST_COLS} FROM connector_requests WHERE tenant_id = $1 AND id = $2"
                ),
                &[&tenant_id, &id],
            )
            .map_err(pg("reading a connector request"))?
            .map(|r| request_of(&r))
            .transpose()
    }

    pub(crate) fn all_requests(
        &self,
        tenant_id: &str,
    ) -> Result<Vec<ConnectorRequest>, StoreError> {
        self.client()?
            .query(
                &format!(
                    "SELECT {REQUEST_COLS} FROM connector_requests WHERE tenant_id = $1
                     ORDER BY id DESC"
                ),
                &[&tenant_id],
            )
            .map_err(pg("listing connector requests"))?
            .iter()
            .map(request_of)
            .collect()
    }

    /// A step: a compare-and-set on the state under the row's lock; what `update` leaves out
    /// keeps its value (`coalesce`, as the SQLite store does).
    pub(crate) fn advance(
        &mut self,
        tenant_id: &str,
        id: i64,
        from: RequestState,
        to: RequestState,
        event: &RequestEvent,
        update: &RequestUpdate,
    ) -> Result<bool, StoreError> {
        let evaluation = update.evaluation.as_ref().map(encode).transpose()?;
        let decision = update.decision.as_ref().map(encode).transpose()?;
        let (client, tenant) = self.writer(tenant_id, "connector requests")?;
        let failed = pg("moving a connector request");
        let mut tx = client.transaction().map_err(&failed)?;
        let current = tx
            .query_opt(
                "SELECT state, history FROM connector_requests WHERE tenant_id = $1 AND id = $2
                 FOR UPDATE",
                &[&tenant, &id],
            )
            .map_err(&failed)?;
        let Some(current) = current else {
            return Ok(false);
        };
        let state: String = current.try_get(0).map_err(&failed)?;
        if state != from.as_str() {
            return Ok(false);
        }
        let history: String = current.try_get(1).map_err(&failed)?;
        let mut history: Vec<RequestEvent> = decode(id, "history", &history)?;
        history.push(event.clone());
        tx.execute(
            "UPDATE connector_requests SET state = $3, updated_ms = $4, history = $5,
                 evaluation = coalesce($6::text, evaluation),
                 decision = coalesce($7::text, decision), plan = coalesce($8::text, plan)
             WHERE tenant_id = $1 AND id = $2",
            &[
                &tenant,
                &id,
                &to.as_str(),
                &event.at_ms,
                &encode(&history)?,
                &evaluation,
                &decision,
                &update.plan,
            ],
        )
        .map_err(&failed)?;
        tx.commit().map_err(&failed)?;
        Ok(true)
    }
}
