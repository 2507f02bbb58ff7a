//! Connector requests (the console's workflow of seed 002): a maker asks for a connector in an
//! environment, a security reviewer evaluates, a compliance approver decides, an admin applies
//! the drafted DLP plan. The store keeps each request with its history; who may take which step
//! is the console's business. A step is a compare-and-set on the state, so a form sent twice
//! changes the request once.

use crate::{Store, StoreError};
use rusqlite::{OptionalExtension, params};
use serde::{Deserialize, Serialize};

/// Where a request stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RequestState {
    /// Waiting for the security review.
    Submitted,
    /// Reviewed; waiting for the compliance decision.
    Evaluated,
    /// Approved: the DLP change is drafted as a plan, waiting for its approval and apply.
    Approved,
    /// Rejected by the compliance approver.
    Rejected,
    /// The plan was applied.
    Applied,
}

impl RequestState {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            RequestState::Submitted => "submitted",
            RequestState::Evaluated => "evaluated",
            RequestState::Approved => "approved",
            RequestState::Rejected => "rejected",
            RequestState::Applied => "applied",
        }
    }

    /// Parses a stored name.
    pub fn parse(s: &str) -> Option<RequestState> {
        [
            RequestState::Submitted,
            RequestState::Evaluated,
            RequestState::Approved,
            RequestState::Rejected,
            RequestState::Applied,
        ]
        .into_iter()
        .find(|x| x.as_str() == s)
    }
}

/// One step of a request's history: who did what, when.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RequestEvent {
    /// When (ms).
    pub at_ms: i64,
    /// Who (sign-in name).
    pub actor: String,
    /// What (`submitted`, `evaluated`, `approved`, `rejected`, `plan approved`, `applied`).
    pub action: String,
    /// Details in words.
    pub detail: String,
}

/// A new request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewRequest {
    /// Tenant.
    pub tenant_id: String,
    /// Environment id.
    pub environment_id: String,
    /// Connector key (`shared_twitter`).
    pub connector: String,
    /// Why the maker needs it.
    pub justification: String,
    /// The data classification (Public, Internal, Confidential, Highly Confidential).
    pub classification: String,
    /// The maker's sign-in name.
    pub requester: String,
    /// The maker's display name.
    pub requester_name: String,
}

/// A stored request.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ConnectorRequest {
    /// Its id.
    pub id: i64,
    /// What was asked.
    pub tenant_id: String,
    /// Environment id.
    pub environment_id: String,
    /// Connector key.
    pub connector: String,
    /// Why.
    pub justification: String,
    /// Data classification.
    pub classification: String,
    /// The maker's sign-in name.
    pub requester: String,
    /// The maker's display name.
    pub requester_name: String,
    /// Where it stands.
    pub state: RequestState,
    /// When it was made (ms).
    pub created_ms: i64,
    /// When it last moved (ms).
    pub updated_ms: i64,
    /// The security review, when done.
    pub evaluation: Option<serde_json::Value>,
    /// The compliance decision, when made.
    pub decision: Option<serde_json::Value>,
    /// The drafted plan (a plan file's JSON), once approved.
    pub plan: Option<String>,
    /// Every step, oldest first.
    pub history: Vec<RequestEvent>,
}

/// What a step sets besides the state.
#[derive(Debug, Clone, Default)]
pub struct RequestUpdate {
    /// The security review.
    pub evaluation: Option<serde_json::Value>,
    /// The compliance decision.
    pub decision: Option<serde_json::Value>,
    /// The drafted plan.
    pub plan: Option<String>,
}

const COLS: &str = "id, tenant_id, environment_id, connector, justification, classification, \
    requester, requester_name, state, created_ms, updated_ms, evaluation, decision, plan, history";

fn decode<T: for<'de> Deserialize<'de>>(id: i64, what: &str, text: &str) -> Result<T, StoreError> {
    serde_json::from_str(text).map_err(|source| StoreError::Decode {
        snapshot: String::new(),
        kind: format!("connector request {what}"),
        id: id.to_string(),
        source,
    })
}

type Row = (
    i64,
    [String; 7],
    String,
    i64,
    i64,
    [Option<String>; 3],
    String,
);

fn raw(r: &rusqlite::Row<'_>) -> rusqlite::Result<Row> {
    Ok((
        r.get(0)?,
        [
            r.get(1)?,
            r.get(2)?,
            r.get(3)?,
            r.get(4)?,
            r.get(5)?,
            r.get(6)?,
            r.get(7)?,
        ],
        r.get(8)?,
        r.get(9)?,
        r.get(10)?,
        [r.get(11)?, r.get(12)?, r.get(13)?],
        r.get(14)?,
    ))
}

fn build(row: Row) -> Result<ConnectorRequest, StoreError> {
    let (
        id,
        [
            tenant_id,
            environment_id,
            connector,
            justification,
            classification,
            requester,
            requester_name,
        ],
        state,
        created_ms,
        updated_ms,
        [evaluation, decision, plan],
        history,
    ) = row;
    Ok(ConnectorRequest {
        state: RequestState::parse(&state).ok_or(StoreError::BadValue {
            column: "connector_requests.state",
            value: state.clone(),
        })?,
        evaluation: evaluation
            .map(|e| decode(id, "evaluation", &e))
            .transpose()?,
        decision: decision.map(|d| decode(id, "decision", &d)).transpose()?,
        history: decode(id, "history", &history)?,
        id,
        tenant_id,
        environment_id,
        connector,
        justification,
        classification,
        requester,
        requester_name,
        created_ms,
        updated_ms,
        plan,
    })
}

impl NewRequest {
    /// The first event of its history: submitted by the requester at `at_ms`.
    pub fn submitted(&self, at_ms: i64) -> RequestEvent {
        RequestEvent {
            at_ms,
            actor: self.requester.clone(),
            action: "submitted".into(),
            detail: format!(
                "{} for environment {} ({} data): {}",
                self.connector, self.environment_id, self.classification, self.justification
            ),
        }
    }
}

fn encode(v: &impl Serialize) -> Result<String, StoreError> {
    serde_json::to_string(v).map_err(|source| StoreError::Encode {
        what: "connector request".into(),
        source,
    })
}

impl Store {
    /// Records a new request (state `submitted`); returns its id.
    pub fn create_request(&mut self, r: &NewRequest, at_ms: i64) -> Result<i64, StoreError> {
        let history = encode(&[r.submitted(at_ms)])?;
        self.conn.execute(
            "INSERT INTO connector_requests (tenant_id, environment_id, connector, justification,
                 classification, requester, requester_name, state, created_ms, updated_ms, history)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, 'submitted', ?8, ?8, ?9)",
            params![
                r.tenant_id,
                r.environment_id,
                r.connector,
                r.justification,
                r.classification,
                r.requester,
                r.requester_name,
                at_ms,
                history
            ],
        )?;
        Ok(self.conn.last_insert_rowid())
    }

    /// One request of a tenant.
    pub fn request(
        &self,
        tenant_id: &str,
        id: i64,
    ) -> Result<Option<ConnectorRequest>, StoreError> {
        let row = self
            .conn
            .query_row(
                &format!("SELECT {COLS} FROM connector_requests WHERE tenant_id = ?1 AND id = ?2"),
                params![tenant_id, id],
                raw,
            )
            .optional()?;
        row.map(build).transpose()
    }

    /// A tenant's requests, newest first.
    pub fn requests(&self, tenant_id: &str) -> Result<Vec<ConnectorRequest>, StoreError> {
        let mut st = self.conn.prepare_cached(&format!(
            "SELECT {COLS} FROM connector_requests WHERE tenant_id = ?1 ORDER BY id DESC"
        ))?;
        let rows = st.query_map([tenant_id], raw)?;
        let mut out = Vec::new();
        for r in rows {
            out.push(build(r?)?);
        }
        Ok(out)
    }

    /// Moves a request from `from` to `to`, appending `event` and setting what `update` holds,
    /// in one transaction; false (and nothing changed) when it is not in `from` any more.
    pub fn advance_request(
        &mut self,
        tenant_id: &str,
        id: i64,
        from: RequestState,
        to: RequestState,
        event: &RequestEvent,
        update: &RequestUpdate,
    ) -> Result<bool, StoreError> {
        let tx = self.conn.transaction()?;
        let current: Option<(String, String)> = tx
            .query_row(
                "SELECT state, history FROM connector_requests WHERE tenant_id = ?1 AND id = ?2",
                params![tenant_id, id],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()?;
        let Some((state, history)) = current else {
            return Ok(false);
        };
        if state != from.as_str() {
            return Ok(false);
        }
        let mut history: Vec<RequestEvent> = decode(id, "history", &history)?;
        history.push(event.clone());
        let evaluation = update.evaluation.as_ref().map(encode).transpose()?;
        let decision = update.decision.as_ref().map(encode).transpose()?;
        tx.execute(
            "UPDATE connector_requests SET state = ?3, updated_ms = ?4, history = ?5,
                 evaluation = coalesce(?6, evaluation), decision = coalesce(?7, decision),
                 plan = coalesce(?8, plan)
             WHERE tenant_id = ?1 AND id = ?2",
            params![
                tenant_id,
                id,
                to.as_str(),
                event.at_ms,
                encode(&history)?,
                evaluation,
                decision,
                update.plan
            ],
        )?;
        tx.commit()?;
        Ok(true)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn new() -> NewRequest {
        NewRequest {
            tenant_id: "t".into(),
            environment_id: "env-1".into(),
            connector: "shared_twitter".into(),
            justification: "campaign".into(),
            classification: "Internal".into(),
            requester: "max@contoso.example".into(),
            requester_name: "Max".into(),
        }
    }

    fn ev(at: i64, action: &str) -> RequestEvent {
        RequestEvent {
            at_ms: at,
            actor: "sam@contoso.example".into(),
            action: action.into(),
            detail: String::new(),
        }
    }

    #[test]
    fn a_request_moves_once_per_step_and_keeps_its_history() {
        let mut s = Store::open_in_memory().unwrap();
        let id = s.create_request(&new(), 10).unwrap();
        let update = RequestUpdate {
            evaluation: Some(serde_json::json!({"soc2": true})),
            ..RequestUpdate::default()
        };
        let step = |s: &mut Store| {
            s.advance_request(
                "t",
                id,
                RequestState::Submitted,
                RequestState::Evaluated,
                &ev(20, "evaluated"),
                &update,
            )
            .unwrap()
        };
        assert!(step(&mut s));
        assert!(!step(&mut s), "the same step twice changes nothing");
        assert!(
            !s.advance_request(
                "other",
                id,
                RequestState::Evaluated,
                RequestState::Approved,
                &ev(30, "x"),
                &RequestUpdate::default()
            )
            .unwrap(),
            "another tenant's request is not found"
        );
        let r = s.request("t", id).unwrap().unwrap();
        assert_eq!(r.state, RequestState::Evaluated);
        assert_eq!(r.updated_ms, 20);
        assert_eq!(r.evaluation, Some(serde_json::json!({"soc2": true})));
        let actions: Vec<&str> = r.history.iter().map(|e| e.action.as_str()).collect();
        assert_eq!(actions, ["submitted", "evaluated"]);
        assert_eq!(s.requests("t").unwrap().len(), 1);
        assert!(s.request("other", id).unwrap().is_none());
    }
}
