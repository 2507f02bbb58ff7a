//! The connector request workflow of seed 002: a maker asks for a connector in an environment
//! (justification, data classification); a security reviewer records the evaluation, seeing
//! what the DLP change would do; a compliance approver approves or rejects; on approval the
//! change is drafted as a PPG-ACT-005 plan, which an admin other than its author approves and
//! applies. Each step is recorded with who and when, tells whoever acts next, and shows its age
//! against `[console] request_sla_hours`.
//!
//! Who may act is checked on the server for every step (`roles::Permission`), and a step only
//! moves a request from the state it was shown in (the store compares and sets), so a form sent
//! twice acts once.

mod impact;
mod notify;
mod steps;

pub(crate) use steps::{apply, approve_plan, decide, evaluate};

use crate::Console;
use crate::pages::{blocking, frame, render, ser};
use crate::roles::{Permission, Role};
use crate::web::{self, Signed};
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use minijinja::{Value, context};
use ppgov_act::request::CLASSIFICATIONS;
use ppgov_store::{ConnectorRequest, NewRequest, RequestState};
use serde::Deserialize;
use std::sync::Arc;

type St = State<Arc<Console>>;

/// A form field's value (empty when absent).
pub(crate) fn field<'a>(form: &'a [(String, String)], name: &str) -> &'a str {
    form.iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.trim())
        .unwrap_or("")
}

/// Whether this session may see this request: makers see only their own.
fn may_see(c: &Console, s: &Signed, tenant: &str, r: &ConnectorRequest) -> bool {
    let roles = s.session.grants.in_tenant(tenant);
    let only_maker = roles.iter().all(|x| *x == Role::Maker);
    let _ = c;
    !only_maker || r.requester.eq_ignore_ascii_case(&s.session.who.username)
}

fn time_text(ms: i64) -> String {
    chrono::DateTime::from_timestamp_millis(ms)
        .map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true))
        .unwrap_or_else(|| ms.to_string())
}

/// A request as the pages show it: its fields, its history's times, and its age against the
/// service level.
pub(crate) fn view(c: &Console, r: &ConnectorRequest) -> Value {
    let now = c.serve.now_ms();
    let sla_ms = i64::from(c.config.request_sla_hours) * 3_600_000;
    let open = matches!(
        r.state,
        RequestState::Submitted | RequestState::Evaluated | RequestState::Approved
    );
    let age_h = (now - r.updated_ms).max(0) / 3_600_000;
    let history: Vec<Value> = r
        .history
        .iter()
        .map(|e| context! { at => time_text(e.at_ms), actor => e.actor.clone(), action => e.action.clone(), detail => e.detail.clone() })
        .collect();
    context! {
        r => ser(r),
        state => r.state.as_str(),
        created => time_text(r.created_ms),
        waiting_hours => age_h,
        sla_hours => c.config.request_sla_hours,
        overdue => open && now - r.updated_ms > sla_ms,
        open => open,
        history => history,
    }
}

/// Runs `f` on a tenant's governance records off the async threads.
async fn with_store<T: Send + 'static>(
    c: &Console,
    tenant: &str,
    f: impl FnOnce(&mut dyn ppgov_store::Records, &ppgov_serve::Tenant) -> Result<T, String>
    + Send
    + 'static,
) -> Result<T, String> {
    let t = c
        .serve
        .tenant(tenant)
        .cloned()
        .ok_or_else(|| format!("tenant `{tenant}` is not served here"))?;
    blocking(move || {
        let mut records = t.records()?;
        f(records.as_mut(), &t)
    })
    .await
}

/// The environments of the latest complete snapshot, (id, display name), by name.
fn environments(
    store: &dyn ppgov_store::Snapshots,
    tenant: &str,
) -> Result<Vec<(String, String)>, String> {
    let Some(info) = store
        .latest_snapshot(tenant, true)
        .map_err(|e| e.to_string())?
    else {
        return Ok(Vec::new());
    };
    let snap = store.load_snapshot(&info.id).map_err(|e| e.to_string())?;
    let mut envs: Vec<(String, String)> = snap
        .environments
        .iter()
        .map(|e| (e.id.clone(), e.display_name.clone()))
        .collect();
    envs.sort_by_key(|a| a.1.to_lowercase());
    Ok(envs)
}

#[derive(Debug, Deserialize)]
pub(crate) struct ListQuery {
    created: Option<i64>,
}

/// `GET /t/{tenant}/requests`: the requests (a maker's own), and the form to ask for one.
pub(crate) async fn list(
    State(c): St,
    Path(tenant): Path<String>,
    headers: HeaderMap,
    Query(q): Query<ListQuery>,
) -> Response {
    let s = match web::signed_for(
        &c,
        &headers,
        &tenant,
        &format!("/t/{tenant}/requests"),
        true,
        Permission::SeeRequests,
    ) {
        Ok(s) => s,
        Err(r) => return r.into_response(),
    };
    let tid = tenant.clone();
    let read = with_store(&c, &tenant, move |store, t| {
        let list = store.requests(&tid).map_err(|e| e.to_string())?;
        Ok((list, environments(t.snapshots()?.as_ref(), &tid)?))
    })
    .await;
    let (list, envs) = match read {
        Ok(x) => x,
        Err(e) => {
            return crate::pages::problem(
                &c,
                Some(&s),
                StatusCode::SERVICE_UNAVAILABLE,
                "The store cannot be read",
                &e,
            );
        }
    };
    let rows: Vec<Value> = list
        .iter()
        .filter(|r| may_see(&c, &s, &tenant, r))
        .map(|r| view(&c, r))
        .collect();
    let can_request = s
        .session
        .grants
        .allows(&tenant, Permission::RequestConnector);
    let ctx = context! {
        title => "Connector requests",
        requests => rows,
        can_request => can_request,
        environments => envs.into_iter().map(|(id, name)| context! { id => id, name => name }).collect::<Vec<_>>(),
        classifications => CLASSIFICATIONS,
        form_token => if can_request { c.sessions.form_token(&s.id) } else { String::new() },
        created => q.created,
        ..frame(&c, Some(&s), Some(&tenant))
    };
    render(&c, StatusCode::OK, "requests.html", ctx)
}

/// Checks a new request's fields; the problem names the field.
fn new_request(
    form: &[(String, String)],
    envs: &[(String, String)],
    tenant: &str,
    s: &Signed,
) -> Result<NewRequest, String> {
    let environment = field(form, "environment");
    let connector = field(form, "connector");
    let justification = field(form, "justification");
    let classification = field(form, "classification");
    if !envs.is_empty()
        && !envs
            .iter()
            .any(|(id, _)| id.eq_ignore_ascii_case(environment))
    {
        return Err(format!(
            "environment: `{environment}` is not an environment of this tenant"
        ));
    }
    if environment.is_empty() {
        return Err("environment: choose the environment the connector is for".into());
    }
    let key_ok = !connector.is_empty()
        && connector.len() <= 200
        && connector
            .chars()
            .all(|ch| ch.is_ascii_alphanumeric() || "_-./".contains(ch));
    if !key_ok {
        return Err("connector: give its name or id, e.g. shared_twitter".into());
    }
    if justification.is_empty() || justification.chars().count() > 2000 {
        return Err(
            "justification: say in up to 2000 characters what the business needs it for".into(),
        );
    }
    let Some(class) = CLASSIFICATIONS
        .iter()
        .find(|x| x.eq_ignore_ascii_case(classification))
    else {
        return Err(format!(
            "classification: use one of {}",
            CLASSIFICATIONS.join(", ")
        ));
    };
    Ok(NewRequest {
        tenant_id: tenant.to_string(),
        environment_id: environment.to_string(),
        connector: ppgov_core::connector_key(connector),
        justification: justification.to_string(),
        classification: class.to_string(),
        requester: s.session.who.username.clone(),
        requester_name: s.session.who.name.clone(),
    })
}

/// `POST /t/{tenant}/requests`: a maker asks for a connector; the reviewers are told.
pub(crate) async fn create(
    State(c): St,
    Path(tenant): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let s = match web::signed_for(
        &c,
        &headers,
        &tenant,
        &format!("/t/{tenant}/requests"),
        false,
        Permission::RequestConnector,
    ) {
        Ok(s) => s,
        Err(r) => return r.into_response(),
    };
    let form = web::parse_form(&body);
    if let Err(r) = web::check_form(&c, &s, &headers, &form) {
        return r.into_response();
    }
    let tid = tenant.clone();
    let envs = match with_store(&c, &tenant, move |_, t| {
        environments(t.snapshots()?.as_ref(), &tid)
    })
    .await
    {
        Ok(e) => e,
        Err(e) => {
            return crate::pages::problem(
                &c,
                Some(&s),
                StatusCode::SERVICE_UNAVAILABLE,
                "The store cannot be read",
                &e,
            );
        }
    };
    let new = match new_request(&form, &envs, &tenant, &s) {
        Ok(n) => n,
        Err(e) => {
            return crate::pages::problem(
                &c,
                Some(&s),
                StatusCode::BAD_REQUEST,
                "The request is incomplete",
                &e,
            );
        }
    };
    let now = c.serve.now_ms();
    let tid = tenant.clone();
    let made = with_store(&c, &tenant, move |store, _| {
        let id = store.create_request(&new, now).map_err(|e| e.to_string())?;
        store
            .request(&tid, id)
            .map_err(|e| e.to_string())?
            .ok_or_else(|| "the request vanished".to_string())
    })
    .await;
    let r = match made {
        Ok(r) => r,
        Err(e) => {
            return crate::pages::problem(
                &c,
                Some(&s),
                StatusCode::SERVICE_UNAVAILABLE,
                "The request was not saved",
                &e,
            );
        }
    };
    tracing::info!(user = %s.session.who.username, tenant, request = r.id, connector = %r.connector, "connector requested");
    if let Some(t) = c.serve.tenant(&tenant) {
        let action = format!(
            "{} asks for connector {} in environment {} for {} data: evaluate it in the ppgov console ({}/t/{tenant}/requests/{})",
            r.requester_name, r.connector, r.environment_id, r.classification, c.public, r.id
        );
        let _ = notify::tell(
            t,
            &r,
            &c.config.reviewers,
            false,
            action,
            steps::due_date(&c),
        )
        .await;
    }
    Redirect::to(&format!("/t/{tenant}/requests/{}", r.id)).into_response()
}

/// `GET /t/{tenant}/requests/{id}`: one request, its history and the step the viewer may take.
pub(crate) async fn show(
    State(c): St,
    Path((tenant, id)): Path<(String, i64)>,
    headers: HeaderMap,
) -> Response {
    let s = match web::signed_for(
        &c,
        &headers,
        &tenant,
        &format!("/t/{tenant}/requests/{id}"),
        true,
        Permission::SeeRequests,
    ) {
        Ok(s) => s,
        Err(r) => return r.into_response(),
    };
    let tid = tenant.clone();
    let read = with_store(&c, &tenant, move |store, t| {
        let Some(r) = store.request(&tid, id).map_err(|e| e.to_string())? else {
            return Ok(None);
        };
        // What the change would do, on the latest complete snapshot.
        let group = ppgov_act::request::group_for(&r.classification);
        let snapshots = t.snapshots()?;
        let impact = match snapshots
            .latest_snapshot(&tid, true)
            .map_err(|e| e.to_string())?
        {
            Some(info) => {
                let snap = snapshots
                    .load_snapshot(&info.id)
                    .map_err(|e| e.to_string())?;
                Some(impact::of(&snap, &r.environment_id, &r.connector, group))
            }
            None => None,
        };
        let plan = r
            .plan
            .as_deref()
            .map(ppgov_act::Plan::parse)
            .transpose()
            .map_err(|e| format!("the request's plan cannot be read: {e}"))?;
        let approvals = match &plan {
            Some(p) => ppgov_act::recorded_approvals(store, p).map_err(|e| e.to_string())?,
            None => Vec::new(),
        };
        Ok(Some((r, impact, plan, approvals)))
    })
    .await;
    let (r, impact, plan, approvals) = match read {
        Ok(Some(x)) => x,
        Ok(None) => {
            return crate::pages::problem(
                &c,
                Some(&s),
                StatusCode::NOT_FOUND,
                "Not found",
                &format!("there is no request {id} in this tenant"),
            );
        }
        Err(e) => {
            return crate::pages::problem(
                &c,
                Some(&s),
                StatusCode::SERVICE_UNAVAILABLE,
                "The store cannot be read",
                &e,
            );
        }
    };
    if !may_see(&c, &s, &tenant, &r) {
        return crate::pages::problem(
            &c,
            Some(&s),
            StatusCode::FORBIDDEN,
            "Not allowed",
            "makers see only their own requests",
        );
    }
    let me = steps::identity(&s, &tenant);
    let g = &s.session.grants;
    let author = plan
        .as_ref()
        .map(|p| p.author.same_as(&me))
        .unwrap_or(false);
    let approved_by_other = plan
        .as_ref()
        .is_some_and(|p| approvals.iter().any(|a| !a.same_as(&p.author)));
    let i_approved = approvals.iter().any(|a| a.same_as(&me));
    let token = || c.sessions.form_token(&s.id);
    let can_evaluate =
        r.state == RequestState::Submitted && g.allows(&tenant, Permission::EvaluateRequest);
    let can_decide =
        r.state == RequestState::Evaluated && g.allows(&tenant, Permission::DecideRequest);
    let admin = r.state == RequestState::Approved && g.allows(&tenant, Permission::ApplyPlan);
    let can_approve_plan = admin && !author && !i_approved;
    let can_apply = admin && approved_by_other;
    let ctx = context! {
        title => format!("Request {id}"),
        req => view(&c, &r),
        impact => impact.map(ser),
        plan => plan.as_ref().map(ser),
        approvals => approvals.iter().map(|a| a.to_string()).collect::<Vec<_>>(),
        plan_author_is_me => author,
        can_evaluate => can_evaluate,
        can_decide => can_decide,
        can_approve_plan => can_approve_plan,
        can_apply => can_apply,
        evaluate_token => if can_evaluate { token() } else { String::new() },
        decide_token => if can_decide { token() } else { String::new() },
        approve_token => if can_approve_plan { token() } else { String::new() },
        apply_token => if can_apply { token() } else { String::new() },
        certifications => steps::CERTIFICATIONS,
        ..frame(&c, Some(&s), Some(&tenant))
    };
    render(&c, StatusCode::OK, "request.html", ctx)
}
