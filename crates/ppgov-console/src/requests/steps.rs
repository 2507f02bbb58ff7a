//! The steps after a request is made: evaluate, decide (drafting the plan on approval),
//! approve the plan (never its author) and apply it.

use super::{field, notify, with_store};
use crate::Console;
use crate::roles::Permission;
use crate::web::{self, Refusal, Signed};
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use ppgov_act::{ApplyOptions, Ctx, Identity, Plan};
use ppgov_store::{ConnectorRequest, RequestEvent, RequestState, RequestUpdate};
use serde_json::json;
use std::sync::Arc;

type St = State<Arc<Console>>;

/// The vendor certifications a reviewer can record.
pub(crate) const CERTIFICATIONS: [&str; 5] =
    ["SOC 2", "ISO 27001", "ISO 27018", "HIPAA BAA", "GDPR DPA"];

/// The signed-in person as plans and the journal name them.
pub(crate) fn identity(s: &Signed, tenant: &str) -> Identity {
    Identity {
        kind: "user".into(),
        name: s.session.who.username.clone(),
        tenant: tenant.to_string(),
    }
}

/// When the next step is due, by `[console] request_sla_hours`.
pub(crate) fn due_date(c: &Console) -> Option<chrono::NaiveDate> {
    let due = c.serve.now_ms() + i64::from(c.config.request_sla_hours) * 3_600_000;
    chrono::DateTime::from_timestamp_millis(due).map(|d| d.date_naive())
}

/// The common start of a step: signed in, allowed, the form genuine, the request there.
async fn begin(
    c: &Console,
    headers: &HeaderMap,
    tenant: &str,
    id: i64,
    body: &[u8],
    need: Permission,
) -> Result<(Signed, Vec<(String, String)>, ConnectorRequest), Response> {
    let path = format!("/t/{tenant}/requests/{id}");
    let s = web::signed(c, headers, &path, false).map_err(IntoResponse::into_response)?;
    web::require(c, &s, tenant, need).map_err(IntoResponse::into_response)?;
    let form = web::parse_form(body);
    web::check_form(c, &s, headers, &form).map_err(IntoResponse::into_response)?;
    let tid = tenant.to_string();
    let r = with_store(c, tenant, move |store, _| {
        store.request(&tid, id).map_err(|e| e.to_string())
    })
    .await
    .map_err(|e| {
        crate::pages::problem(
            c,
            Some(&s),
            StatusCode::SERVICE_UNAVAILABLE,
            "The store cannot be read",
            &e,
        )
    })?;
    match r {
        Some(r) => Ok((s, form, r)),
        None => Err(crate::pages::problem(
            c,
            Some(&s),
            StatusCode::NOT_FOUND,
            "Not found",
            &format!("there is no request {id}"),
        )),
    }
}

/// One step's move: from which state to which, recorded as what.
struct Move<'a> {
    from: RequestState,
    to: RequestState,
    action: &'a str,
    detail: String,
    update: RequestUpdate,
}

/// Moves the request; a request no longer in `from` (someone acted first) is a conflict.
async fn advance(
    c: &Console,
    s: &Signed,
    tenant: &str,
    r: &ConnectorRequest,
    m: Move<'_>,
) -> Result<ConnectorRequest, Response> {
    let Move {
        from,
        to,
        action,
        detail,
        update,
    } = m;
    let event = RequestEvent {
        at_ms: c.serve.now_ms(),
        actor: s.session.who.username.clone(),
        action: action.to_string(),
        detail,
    };
    let (tid, id) = (tenant.to_string(), r.id);
    let moved = with_store(c, tenant, move |store, _| {
        let moved = store
            .advance_request(&tid, id, from, to, &event, &update)
            .map_err(|e| e.to_string())?;
        let now = store.request(&tid, id).map_err(|e| e.to_string())?;
        Ok((moved, now))
    })
    .await
    .map_err(|e| {
        crate::pages::problem(
            c,
            Some(s),
            StatusCode::SERVICE_UNAVAILABLE,
            "The step was not saved",
            &e,
        )
    })?;
    match moved {
        (true, Some(now)) => {
            tracing::info!(user = %s.session.who.username, tenant, request = id, action, "connector request step");
            Ok(now)
        }
        _ => Err(crate::pages::problem(
            c,
            Some(s),
            StatusCode::CONFLICT,
            "Already moved on",
            &format!(
                "request {id} is no longer {}: someone acted on it first; reload it",
                from.as_str()
            ),
        )),
    }
}

fn back(tenant: &str, id: i64) -> Response {
    Redirect::to(&format!("/t/{tenant}/requests/{id}")).into_response()
}

/// `POST .../evaluate`: the security review (certifications, encryption, compliance
/// alignment, recommendation); the approvers are told.
pub(crate) async fn evaluate(
    State(c): St,
    Path((tenant, id)): Path<(String, i64)>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let (s, form, r) = match begin(
        &c,
        &headers,
        &tenant,
        id,
        &body,
        Permission::EvaluateRequest,
    )
    .await
    {
        Ok(x) => x,
        Err(resp) => return resp,
    };
    let certs: Vec<&str> = CERTIFICATIONS
        .iter()
        .copied()
        .filter(|cert| form.iter().any(|(k, v)| k == "certification" && v == cert))
        .collect();
    let recommendation = field(&form, "recommendation");
    if !matches!(recommendation, "approve" | "reject") {
        return crate::pages::problem(
            &c,
            Some(&s),
            StatusCode::BAD_REQUEST,
            "The evaluation is incomplete",
            "recommendation: choose approve or reject",
        );
    }
    let alignment = field(&form, "alignment");
    if alignment.chars().count() > 2000 {
        return crate::pages::problem(
            &c,
            Some(&s),
            StatusCode::BAD_REQUEST,
            "The evaluation is too long",
            "alignment: at most 2000 characters",
        );
    }
    let evaluation = json!({
        "certifications": certs,
        "encryption_in_transit": field(&form, "encryption_in_transit") == "yes",
        "encryption_at_rest": field(&form, "encryption_at_rest") == "yes",
        "compliance_alignment": alignment,
        "recommendation": recommendation,
        "reviewer": s.session.who.username,
    });
    let detail = format!(
        "recommends to {recommendation}; certifications: {}",
        if certs.is_empty() {
            "none".to_string()
        } else {
            certs.join(", ")
        }
    );
    let update = RequestUpdate {
        evaluation: Some(evaluation),
        ..RequestUpdate::default()
    };
    let r = match advance(
        &c,
        &s,
        &tenant,
        &r,
        Move {
            from: RequestState::Submitted,
            to: RequestState::Evaluated,
            action: "evaluated",
            detail,
            update,
        },
    )
    .await
    {
        Ok(r) => r,
        Err(resp) => return resp,
    };
    if let Some(t) = c.serve.tenant(&tenant) {
        let action = format!(
            "connector {} for environment {}: the security review recommends to {recommendation}; approve or reject it in the ppgov console ({}/t/{tenant}/requests/{id})",
            r.connector, r.environment_id, c.public
        );
        let _ = notify::tell(t, &r, &c.config.approvers, false, action, due_date(&c)).await;
    }
    back(&tenant, id)
}

/// `POST .../decide`: approve (the DLP change is drafted as a plan) or reject; the maker is
/// told, and on approval the admins too.
pub(crate) async fn decide(
    State(c): St,
    Path((tenant, id)): Path<(String, i64)>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let (s, form, r) =
        match begin(&c, &headers, &tenant, id, &body, Permission::DecideRequest).await {
            Ok(x) => x,
            Err(resp) => return resp,
        };
    let decision = field(&form, "decision");
    let comment = field(&form, "comment").to_string();
    let Some(t) = c.serve.tenant(&tenant).cloned() else {
        return StatusCode::NOT_FOUND.into_response();
    };
    match decision {
        "reject" => {
            let update = RequestUpdate {
                decision: Some(
                    json!({"decision": "reject", "comment": comment, "by": s.session.who.username}),
                ),
                ..RequestUpdate::default()
            };
            let r = match advance(
                &c,
                &s,
                &tenant,
                &r,
                Move {
                    from: RequestState::Evaluated,
                    to: RequestState::Rejected,
                    action: "rejected",
                    detail: comment.clone(),
                    update,
                },
            )
            .await
            {
                Ok(r) => r,
                Err(resp) => return resp,
            };
            let action = format!(
                "your request for connector {} in environment {} was rejected: {comment}",
                r.connector, r.environment_id
            );
            let _ = notify::tell(
                &t,
                &r,
                std::slice::from_ref(&r.requester),
                true,
                action,
                None,
            )
            .await;
            back(&tenant, id)
        }
        "approve" => {
            let conn = match t.connection() {
                Ok(c) => c,
                Err(e) => {
                    return crate::pages::problem(
                        &c,
                        Some(&s),
                        StatusCode::SERVICE_UNAVAILABLE,
                        "The tenant cannot be reached",
                        &e,
                    );
                }
            };
            let ctx = Ctx::new(conn.clients.clone());
            let why = format!(
                "connector request {id} by {}: {} in environment {} for {} data",
                r.requester, r.connector, r.environment_id, r.classification
            );
            let planned = match ppgov_act::request::allow_connector(
                &ctx,
                &r.environment_id,
                &r.connector,
                &r.classification,
                &why,
            )
            .await
            {
                Ok(p) => p,
                Err(e) => {
                    return crate::pages::problem(
                        &c,
                        Some(&s),
                        StatusCode::BAD_GATEWAY,
                        "The DLP change could not be drafted",
                        &e.to_string(),
                    );
                }
            };
            let plan = if planned.steps.is_empty() {
                None
            } else {
                match Plan::new(
                    &tenant,
                    identity(&s, &tenant),
                    &format!("console: connector request {id}"),
                    planned.steps,
                )
                .and_then(|p| p.to_json().map(|j| (p, j)))
                {
                    Ok(p) => Some(p),
                    Err(e) => {
                        return crate::pages::problem(
                            &c,
                            Some(&s),
                            StatusCode::INTERNAL_SERVER_ERROR,
                            "The plan could not be made",
                            &e.to_string(),
                        );
                    }
                }
            };
            let notes = planned.notes.join("; ");
            let (to, detail) = match &plan {
                Some((p, _)) => (
                    RequestState::Approved,
                    format!(
                        "approved; plan {} drafted with {} PPG-ACT-005 step(s)",
                        p.id,
                        p.steps.len()
                    ),
                ),
                // Nothing keeps the connector out: approved and done.
                None => (
                    RequestState::Applied,
                    format!("approved; no DLP change needed ({notes})"),
                ),
            };
            let update = RequestUpdate {
                decision: Some(
                    json!({"decision": "approve", "comment": comment, "by": s.session.who.username, "notes": planned.notes}),
                ),
                plan: plan.as_ref().map(|(_, j)| j.clone()),
                ..RequestUpdate::default()
            };
            let r = match advance(
                &c,
                &s,
                &tenant,
                &r,
                Move {
                    from: RequestState::Evaluated,
                    to,
                    action: "approved",
                    detail,
                    update,
                },
            )
            .await
            {
                Ok(r) => r,
                Err(resp) => return resp,
            };
            let maker = format!(
                "your request for connector {} in environment {} was approved{}",
                r.connector,
                r.environment_id,
                if plan.is_some() {
                    "; the DLP change waits for an admin to apply it"
                } else {
                    "; no DLP change was needed"
                }
            );
            let _ = notify::tell(
                &t,
                &r,
                std::slice::from_ref(&r.requester),
                true,
                maker,
                None,
            )
            .await;
            if plan.is_some() {
                let action = format!(
                    "the DLP plan of connector request {id} waits for your approval and apply in the ppgov console ({}/t/{tenant}/requests/{id})",
                    c.public
                );
                let _ = notify::tell(&t, &r, &c.config.admins, false, action, due_date(&c)).await;
            }
            back(&tenant, id)
        }
        _ => crate::pages::problem(
            &c,
            Some(&s),
            StatusCode::BAD_REQUEST,
            "No decision",
            "decision: choose approve or reject",
        ),
    }
}

/// The request's plan, or the answer to give.
fn plan_of(c: &Console, s: &Signed, r: &ConnectorRequest) -> Result<Plan, Refusal> {
    let text = r
        .plan
        .as_deref()
        .filter(|_| r.state == RequestState::Approved)
        .ok_or_else(|| {
            crate::pages::problem(
                c,
                Some(s),
                StatusCode::CONFLICT,
                "No plan to act on",
                &format!(
                    "request {} is {}, with no plan waiting",
                    r.id,
                    r.state.as_str()
                ),
            )
        })?;
    Plan::parse(text).map_err(|e| {
        crate::pages::problem(
            c,
            Some(s),
            StatusCode::INTERNAL_SERVER_ERROR,
            "The plan cannot be read",
            &e.to_string(),
        )
        .into()
    })
}

/// `POST .../approve-plan`: an admin approves the drafted plan (never its author), recorded
/// in the store's journal.
pub(crate) async fn approve_plan(
    State(c): St,
    Path((tenant, id)): Path<(String, i64)>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let (s, _, r) = match begin(&c, &headers, &tenant, id, &body, Permission::ApplyPlan).await {
        Ok(x) => x,
        Err(resp) => return resp,
    };
    let mut plan = match plan_of(&c, &s, &r) {
        Ok(p) => p,
        Err(resp) => return resp.into_response(),
    };
    let me = identity(&s, &tenant);
    let approved = with_store(&c, &tenant, move |store, _| {
        ppgov_act::approve(store, &mut plan, &me).map_err(|e| e.to_string())?;
        plan.to_json().map_err(|e| e.to_string())
    })
    .await;
    let json = match approved {
        Ok(j) => j,
        Err(e) => {
            return crate::pages::problem(&c, Some(&s), StatusCode::FORBIDDEN, "Not approved", &e);
        }
    };
    let update = RequestUpdate {
        plan: Some(json),
        ..RequestUpdate::default()
    };
    match advance(
        &c,
        &s,
        &tenant,
        &r,
        Move {
            from: RequestState::Approved,
            to: RequestState::Approved,
            action: "plan approved",
            detail: "four eyes: approved by someone other than its author".into(),
            update,
        },
    )
    .await
    {
        Ok(_) => back(&tenant, id),
        Err(resp) => resp,
    }
}

/// `POST .../apply`: an admin applies the approved plan (re-checked against the live policy,
/// journaled before and after every write); the maker is told.
pub(crate) async fn apply(
    State(c): St,
    Path((tenant, id)): Path<(String, i64)>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let (s, _, r) = match begin(&c, &headers, &tenant, id, &body, Permission::ApplyPlan).await {
        Ok(x) => x,
        Err(resp) => return resp,
    };
    let plan = match plan_of(&c, &s, &r) {
        Ok(p) => p,
        Err(resp) => return resp.into_response(),
    };
    let Some(t) = c.serve.tenant(&tenant).cloned() else {
        return StatusCode::NOT_FOUND.into_response();
    };
    let conn = match t.connection() {
        Ok(c) => c,
        Err(e) => {
            return crate::pages::problem(
                &c,
                Some(&s),
                StatusCode::SERVICE_UNAVAILABLE,
                "The tenant cannot be reached",
                &e,
            );
        }
    };
    let store = match t.records() {
        Ok(st) => st,
        Err(e) => {
            return crate::pages::problem(
                &c,
                Some(&s),
                StatusCode::SERVICE_UNAVAILABLE,
                "The store cannot be opened",
                &e,
            );
        }
    };
    let opts = ApplyOptions {
        concurrency: t.config.remediation.concurrency,
        actor: identity(&s, &tenant).to_actor(),
        ..ApplyOptions::default()
    };
    let applied = ppgov_act::request::apply_approved(
        Ctx::new(conn.clients.clone()),
        &t.config,
        store,
        plan,
        opts,
        chrono::Utc::now(),
    )
    .await;
    let report = match applied {
        Ok((report, _)) => report,
        Err(e) => {
            return crate::pages::problem(
                &c,
                Some(&s),
                StatusCode::FORBIDDEN,
                "Not applied",
                &e.to_string(),
            );
        }
    };
    if report.failed() {
        return crate::pages::problem(
            &c,
            Some(&s),
            StatusCode::BAD_GATEWAY,
            "The apply did not finish",
            &format!(
                "{}; the plan stays waiting and a rerun repeats no write",
                report.to_text()
            ),
        );
    }
    let detail = format!(
        "apply {}: {}",
        report.apply_id,
        report.to_text().lines().next().unwrap_or("")
    );
    let r = match advance(
        &c,
        &s,
        &tenant,
        &r,
        Move {
            from: RequestState::Approved,
            to: RequestState::Applied,
            action: "applied",
            detail,
            update: RequestUpdate::default(),
        },
    )
    .await
    {
        Ok(r) => r,
        Err(resp) => return resp,
    };
    let action = format!(
        "connector {} can now be used in environment {}: the DLP change of your request was applied",
        r.connector, r.environment_id
    );
    let _ = notify::tell(
        &t,
        &r,
        std::slice::from_ref(&r.requester),
        true,
        action,
        None,
    )
    .await;
    back(&tenant, id)
}
