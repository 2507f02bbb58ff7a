//! Suppressions recorded in the console: `POST /t/{tenant}/findings/suppress` accepts one finding
//! of the latest scan (rule and resource) with a justification until an expiry day, recorded with
//! the signed-in person and the server's time; `GET /t/{tenant}/suppressions` lists the tenant's
//! console suppressions (active, expired, revoked) with who and when; `POST
//! /t/{tenant}/suppressions/{id}/revoke` revokes one with a reason, keeping the row.
//!
//! The saved scan is not rewritten: a suppression (or its revocation) applies from the next scan
//! (the crawl job's, `ppgov scan`), which adds the tenant's live rows to the `[posture]`
//! suppressions through `ppgov_engine::with_stored_suppressions`.

use super::{blocking, frame, problem, render, ser};
use crate::Console;
use crate::roles::Permission;
use crate::web::{self, Signed};
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use chrono::{DateTime, Days, NaiveDate, Utc};
use minijinja::{Value, context};
use ppgov_core::Finding;
use ppgov_store::{
    MAX_SUPPRESSION_DAYS, NewSuppression, StoredSuppression, SuppressionError, SuppressionStatus,
};
use serde::{Deserialize, Serialize};
use std::sync::Arc;

type St = State<Arc<Console>>;

/// The server's time.
fn now(c: &Console) -> DateTime<Utc> {
    DateTime::from_timestamp_millis(c.serve.now_ms()).unwrap_or_else(Utc::now)
}

/// The server's day (UTC), on which expiries are checked.
pub(crate) fn today(c: &Console) -> NaiveDate {
    now(c).date_naive()
}

/// The furthest expiry accepted when recording on `today`.
pub(crate) fn last_day(today: NaiveDate) -> NaiveDate {
    today
        .checked_add_days(Days::new(MAX_SUPPRESSION_DAYS))
        .unwrap_or(NaiveDate::MAX)
}

/// A console suppression as the pages show it.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct Shown {
    id: i64,
    rule_id: String,
    resource_id: String,
    justification: String,
    expires: String,
    created_by: String,
    created_at: String,
    status: &'static str,
    revoked_by: Option<String>,
    revoked_at: Option<String>,
    revoke_reason: Option<String>,
}

fn shown(s: &StoredSuppression, today: NaiveDate) -> Shown {
    let at = |t: DateTime<Utc>| t.format("%Y-%m-%d %H:%M UTC").to_string();
    Shown {
        id: s.id,
        rule_id: s.rule_id.clone(),
        resource_id: s.resource_id.clone(),
        justification: s.justification.clone(),
        expires: s.expires.to_string(),
        created_by: s.created_by.clone(),
        created_at: at(s.created_at),
        status: s.status(today).as_str(),
        revoked_by: s.revoked_by.clone(),
        revoked_at: s.revoked_at.map(at),
        revoke_reason: s.revoke_reason.clone(),
    }
}

fn matches(s: &StoredSuppression, f: &Finding) -> bool {
    s.rule_id.eq_ignore_ascii_case(&f.rule_id) && s.resource_id.eq_ignore_ascii_case(&f.resource.id)
}

/// The newest unrevoked console suppression of a finding (who recorded it, when, and whether it
/// still applies), for the findings page.
pub(crate) fn recorded_for(
    stored: &[StoredSuppression],
    f: &Finding,
    today: NaiveDate,
) -> Option<Shown> {
    stored
        .iter()
        .find(|s| s.is_live() && matches(s, f))
        .map(|s| shown(s, today))
}

fn field<'a>(form: &'a [(String, String)], name: &str) -> &'a str {
    form.iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.trim())
        .unwrap_or("")
}

/// A refusal of what was sent, with what to do.
fn bad(c: &Console, s: &Signed, status: StatusCode, msg: &str) -> Response {
    problem(c, Some(s), status, "The suppression was not recorded", msg)
}

/// Why the store refused, as a status and a message.
fn refusal(e: &SuppressionError) -> StatusCode {
    match e {
        SuppressionError::Invalid(_) => StatusCode::BAD_REQUEST,
        SuppressionError::NotFound(_) => StatusCode::NOT_FOUND,
        SuppressionError::AlreadyRevoked { .. } => StatusCode::CONFLICT,
        SuppressionError::Store(_) => StatusCode::SERVICE_UNAVAILABLE,
    }
}

/// What the checks against the latest scan found.
enum Checked {
    Recorded(i64),
    Refused(StatusCode, String),
}

/// `POST /t/{tenant}/findings/suppress`: `rule`, `resource`, `justification`, `expires`
/// (`YYYY-MM-DD`).
pub(crate) async fn suppress(
    State(c): St,
    Path(tenant): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let path = format!("/t/{tenant}/findings");
    let s = match web::signed_for(
        &c,
        &headers,
        &tenant,
        &path,
        false,
        Permission::SuppressFindings,
    ) {
        Ok(s) => s,
        Err(r) => return r.into_response(),
    };
    let form = web::parse_form(&body);
    if let Err(r) = web::check_form(&c, &s, &headers, &form) {
        return r.into_response();
    }
    let (rule, resource) = (field(&form, "rule"), field(&form, "resource"));
    let justification = field(&form, "justification");
    if rule.is_empty() || resource.is_empty() {
        return bad(
            &c,
            &s,
            StatusCode::BAD_REQUEST,
            "the form names no finding (rule and resource); open the findings page and use the form of the finding",
        );
    }
    if justification.is_empty() {
        return bad(
            &c,
            &s,
            StatusCode::BAD_REQUEST,
            "a justification is required: say why this finding is accepted (auditors ask)",
        );
    }
    let expires = field(&form, "expires");
    let Ok(expires) = NaiveDate::parse_from_str(expires, "%Y-%m-%d") else {
        return bad(
            &c,
            &s,
            StatusCode::BAD_REQUEST,
            &format!(
                "an expiry date is required, as YYYY-MM-DD (got `{expires}`); at most {MAX_SUPPRESSION_DAYS} days ahead"
            ),
        );
    };
    let Some(t) = c.serve.tenant(&tenant).cloned() else {
        return StatusCode::NOT_FOUND.into_response();
    };
    let (rule, resource, justification) = (
        rule.to_string(),
        resource.to_string(),
        justification.to_string(),
    );
    let by = s.session.who.username.clone();
    let at = now(&c);
    let done = blocking(move || {
        let mut store = t.records()?;
        let Some(scan) = store
            .previous_scan(t.id(), None)
            .map_err(|e| e.to_string())?
        else {
            return Ok(Checked::Refused(
                StatusCode::CONFLICT,
                "no scan yet: findings can be suppressed once the first crawl job has saved a scan"
                    .into(),
            ));
        };
        let Some(f) = scan.findings.iter().find(|f| {
            f.rule_id.eq_ignore_ascii_case(&rule) && f.resource.id.eq_ignore_ascii_case(&resource)
        }) else {
            return Ok(Checked::Refused(
                StatusCode::BAD_REQUEST,
                format!(
                    "the latest scan has no finding of rule `{rule}` on resource `{resource}`: only a finding the scan reported can be suppressed"
                ),
            ));
        };
        let existing = store.suppressions(t.id()).map_err(|e| e.to_string())?;
        if let Some(x) = existing.iter().find(|x| {
            matches(x, f) && x.status(at.date_naive()) == SuppressionStatus::Active
        }) {
            return Ok(Checked::Refused(
                StatusCode::CONFLICT,
                format!(
                    "this finding is already suppressed until {} (suppression {}, by {}); revoke that one first to change it",
                    x.expires, x.id, x.created_by
                ),
            ));
        }
        let new = NewSuppression {
            tenant_id: t.id().to_string(),
            rule_id: f.rule_id.clone(),
            resource_id: f.resource.id.clone(),
            justification,
            expires,
            created_by: by,
        };
        match store.add_suppression(&new, at) {
            Ok(row) => Ok(Checked::Recorded(row.id)),
            Err(SuppressionError::Store(e)) => Err(e.to_string()),
            Err(e) => Ok(Checked::Refused(refusal(&e), e.to_string())),
        }
    })
    .await;
    match done {
        Ok(Checked::Recorded(id)) => {
            tracing::info!(user = %s.session.who.username, tenant, id, "finding suppressed");
            Redirect::to(&format!("/t/{tenant}/suppressions?added={id}")).into_response()
        }
        Ok(Checked::Refused(status, msg)) => bad(&c, &s, status, &msg),
        Err(e) => bad(&c, &s, StatusCode::SERVICE_UNAVAILABLE, &e),
    }
}

#[derive(Debug, Default, Deserialize)]
pub(crate) struct ListQuery {
    added: Option<i64>,
    revoked: Option<i64>,
}

/// `GET /t/{tenant}/suppressions`: every console suppression of the tenant, newest first.
pub(crate) async fn list(
    State(c): St,
    Path(tenant): Path<String>,
    headers: HeaderMap,
    Query(q): Query<ListQuery>,
) -> Response {
    let path = format!("/t/{tenant}/suppressions");
    let s = match web::signed_for(&c, &headers, &tenant, &path, true, Permission::ReadPosture) {
        Ok(s) => s,
        Err(r) => return r.into_response(),
    };
    let Some(t) = c.serve.tenant(&tenant).cloned() else {
        return StatusCode::NOT_FOUND.into_response();
    };
    let read = blocking(move || {
        let store = t.records()?;
        store.suppressions(t.id()).map_err(|e| e.to_string())
    })
    .await;
    let rows = match read {
        Ok(r) => r,
        Err(e) => {
            return problem(
                &c,
                Some(&s),
                StatusCode::SERVICE_UNAVAILABLE,
                "The store cannot be read",
                &e,
            );
        }
    };
    let today = today(&c);
    let may_revoke = s
        .session
        .grants
        .allows(&tenant, Permission::SuppressFindings);
    let shown: Vec<Value> = rows.iter().map(|r| ser(shown(r, today))).collect();
    let ctx = context! {
        title => "Suppressions",
        suppressions => shown,
        may_revoke => may_revoke,
        // One token for the page's revoke forms: only one of them is sent per page.
        revoke_token => may_revoke.then(|| c.sessions.form_token(&s.id)),
        added => q.added,
        revoked => q.revoked,
        ..frame(&c, Some(&s), Some(&tenant))
    };
    render(&c, StatusCode::OK, "suppressions.html", ctx)
}

/// `POST /t/{tenant}/suppressions/{id}/revoke`: `reason`.
pub(crate) async fn revoke(
    State(c): St,
    Path((tenant, id)): Path<(String, String)>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let path = format!("/t/{tenant}/suppressions");
    let s = match web::signed_for(
        &c,
        &headers,
        &tenant,
        &path,
        false,
        Permission::SuppressFindings,
    ) {
        Ok(s) => s,
        Err(r) => return r.into_response(),
    };
    let form = web::parse_form(&body);
    if let Err(r) = web::check_form(&c, &s, &headers, &form) {
        return r.into_response();
    }
    let heading = "The suppression was not revoked";
    let Ok(id) = id.parse::<i64>() else {
        return problem(
            &c,
            Some(&s),
            StatusCode::NOT_FOUND,
            heading,
            "no such suppression",
        );
    };
    let reason = field(&form, "reason").to_string();
    if reason.is_empty() {
        return problem(
            &c,
            Some(&s),
            StatusCode::BAD_REQUEST,
            heading,
            "a reason is required: say why this suppression no longer holds",
        );
    }
    let Some(t) = c.serve.tenant(&tenant).cloned() else {
        return StatusCode::NOT_FOUND.into_response();
    };
    let by = s.session.who.username.clone();
    let at = now(&c);
    let done = blocking(move || {
        let mut store = t.records()?;
        match store.revoke_suppression(t.id(), id, &by, &reason, at) {
            Ok(_) => Ok(Ok(())),
            Err(SuppressionError::Store(e)) => Err(e.to_string()),
            Err(e) => Ok(Err((refusal(&e), e.to_string()))),
        }
    })
    .await;
    match done {
        Ok(Ok(())) => {
            tracing::info!(user = %s.session.who.username, tenant, id, "suppression revoked");
            Redirect::to(&format!("/t/{tenant}/suppressions?revoked={id}")).into_response()
        }
        Ok(Err((status, msg))) => problem(&c, Some(&s), status, heading, &msg),
        Err(e) => problem(&c, Some(&s), StatusCode::SERVICE_UNAVAILABLE, heading, &e),
    }
}
