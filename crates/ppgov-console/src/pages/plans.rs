//! Remediation plans, four eyes: an admin submits a plan `ppgov plan` made (its JSON pasted),
//! an admin who neither wrote nor submitted it approves it, and an admin applies it through
//! `ppgov_act`'s apply (each target re-read, drift skipped, journaled before and after every
//! write, nothing repeated on a rerun).
//!
//! Submitted plans are kept in the remediation journal, not in a table of their own: a `submit`
//! entry (step 0, the plan's JSON as its after-state) under the plan's digest. The plan, who
//! submitted it and when are then hash-chained with its approvals and its apply, and found by
//! digest like them (`Records::journal_for_plan`). Apply ignores the entry (no step 0), revert
//! too (no before-state).

use super::journal::{changes, time_text, with_store};
use crate::Console;
use crate::pages::{frame, problem, render};
use crate::roles::Permission;
use crate::web::{self, Signed};
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use chrono::{DateTime, Utc};
use minijinja::{Value, context};
use ppgov_act::{Admission, ApplyOptions, Ctx, Identity, Plan, Undo};
use ppgov_store::{JournalEntry, JournalPhase, NewJournalEntry, Records};
use serde::Deserialize;
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

type St = State<Arc<Console>>;

/// The journal's action name for a plan submitted in the console.
pub(crate) const SUBMIT_ACTION: &str = "submit";

/// The largest plan accepted, in bytes of JSON.
const MAX_PLAN_BYTES: usize = 1_500_000;

/// Digests being applied now: a second apply of one plan waits for the first to end.
static APPLYING: Mutex<Vec<String>> = Mutex::new(Vec::new());

/// A submitted plan, as its `submit` entry holds it.
struct Submitted {
    plan: Plan,
    submitter: Identity,
    at: DateTime<Utc>,
}

/// The signed-in person as plans and the journal name them.
fn me(s: &Signed, tenant: &str) -> Identity {
    Identity {
        kind: "user".into(),
        name: s.session.who.username.clone(),
        tenant: tenant.to_string(),
    }
}

fn now(c: &Console) -> DateTime<Utc> {
    DateTime::from_timestamp_millis(c.serve.now_ms()).unwrap_or_else(Utc::now)
}

/// Whether `d` looks like a plan digest (SHA-256, hex).
fn is_digest(d: &str) -> bool {
    d.len() == 64 && d.chars().all(|c| c.is_ascii_hexdigit())
}

/// The plan a `submit` entry holds; `None` for other entries.
fn submitted_of(e: &JournalEntry, tenant: &str) -> Option<Result<Submitted, String>> {
    if e.entry.action != SUBMIT_ACTION
        || e.entry.step != 0
        || !e.entry.tenant_id.eq_ignore_ascii_case(tenant)
    {
        return None;
    }
    let text = e
        .entry
        .after
        .as_ref()
        .map(|v| v.to_string())
        .unwrap_or_default();
    Some(
        Plan::parse(&text)
            .map_err(|err| {
                format!(
                    "journal entry {} holds a plan that cannot be read: {err}",
                    e.seq
                )
            })
            .map(|plan| Submitted {
                plan,
                submitter: Identity::from_actor(&e.entry.actor, &e.entry.tenant_id),
                at: e.at,
            }),
    )
}

/// The plan submitted under `digest` and every journal entry of that digest.
fn load(
    store: &dyn Records,
    tenant: &str,
    digest: &str,
) -> Result<Option<(Submitted, Vec<JournalEntry>)>, String> {
    let entries = store.journal_for_plan(digest).map_err(|e| e.to_string())?;
    let Some(sub) = entries.iter().find_map(|e| submitted_of(e, tenant)) else {
        return Ok(None);
    };
    Ok(Some((sub?, entries)))
}

/// The approvers the journal records for a plan (its `approve` entries).
fn approvers(entries: &[JournalEntry]) -> Vec<(Identity, DateTime<Utc>)> {
    entries
        .iter()
        .filter(|e| {
            e.entry.action == ppgov_act::APPROVE_ACTION && e.entry.phase == JournalPhase::Done
        })
        .map(|e| {
            (
                Identity::from_actor(&e.entry.actor, &e.entry.tenant_id),
                e.at,
            )
        })
        .collect()
}

/// Whether someone who neither wrote nor submitted the plan approved it.
fn four_eyes(sub: &Submitted, approvals: &[Identity]) -> bool {
    approvals
        .iter()
        .any(|a| !a.same_as(&sub.plan.author) && !a.same_as(&sub.submitter))
}

/// The plan's state from its journal: awaiting approval, approved, applied, ...
fn status(sub: &Submitted, entries: &[JournalEntry]) -> &'static str {
    let mut last: BTreeMap<u32, JournalPhase> = BTreeMap::new();
    for e in entries.iter().filter(|e| e.entry.step > 0) {
        last.insert(e.entry.step, e.entry.phase);
    }
    if last.is_empty() {
        let approved: Vec<Identity> = approvers(entries).into_iter().map(|(a, _)| a).collect();
        return if four_eyes(sub, &approved) {
            "approved"
        } else {
            "awaiting approval"
        };
    }
    if last.values().any(|p| *p == JournalPhase::Failed) {
        return "apply failed";
    }
    let finished = sub.plan.steps.iter().all(|s| {
        matches!(
            last.get(&s.index),
            Some(JournalPhase::Done | JournalPhase::Skipped)
        )
    });
    if finished {
        "applied"
    } else {
        "partly applied"
    }
}

/// Checks the plan against `[remediation]` (tenant, age) without approvals.
fn admission(c: &Console, tenant: &str, plan: &Plan) -> Result<(), String> {
    let t = c
        .serve
        .tenant(tenant)
        .ok_or_else(|| format!("tenant `{tenant}` is not served here"))?;
    ppgov_act::admit(
        plan,
        &Admission {
            tenant_id: &t.config.tenant.id,
            max_age_hours: t.config.remediation.max_plan_age_hours,
            require_approval: false,
            recorded_approvals: &[],
            now: now(c),
        },
    )
    .map_err(|e| e.to_string())
}

fn refused(c: &Console, s: &Signed, status: StatusCode, heading: &str, msg: &str) -> Response {
    problem(c, Some(s), status, heading, msg)
}

fn store_down(c: &Console, s: &Signed, e: &str) -> Response {
    refused(
        c,
        s,
        StatusCode::SERVICE_UNAVAILABLE,
        "The store cannot be read",
        e,
    )
}

/// `GET /t/{tenant}/plans`: the submitted plans, newest first, and (for admins) the form to
/// submit one.
pub(crate) async fn list(State(c): St, Path(tenant): Path<String>, headers: HeaderMap) -> Response {
    let path = format!("/t/{tenant}/plans");
    let s = match web::signed_for(&c, &headers, &tenant, &path, true, Permission::ReadJournal) {
        Ok(s) => s,
        Err(r) => return r.into_response(),
    };
    let tid = tenant.clone();
    let read = with_store(&c, &tenant, move |store| {
        let all = store.journal(None).map_err(|e| e.to_string())?;
        let mut by_digest: BTreeMap<String, Vec<JournalEntry>> = BTreeMap::new();
        for e in &all {
            by_digest
                .entry(e.entry.plan_digest.clone())
                .or_default()
                .push(e.clone());
        }
        let mut rows = Vec::new();
        let mut unreadable = Vec::new();
        for e in all.iter().rev() {
            match submitted_of(e, &tid) {
                None => {}
                Some(Err(msg)) => unreadable.push(msg),
                Some(Ok(sub)) => {
                    let entries = by_digest
                        .get(&sub.plan.digest)
                        .map(Vec::as_slice)
                        .unwrap_or(&[]);
                    rows.push(context! {
                        digest => sub.plan.digest.clone(),
                        short => sub.plan.digest.chars().take(12).collect::<String>(),
                        source => sub.plan.source.clone(),
                        author => sub.plan.author.to_string(),
                        submitter => sub.submitter.to_string(),
                        submitted => time_text(sub.at),
                        steps => sub.plan.steps.len(),
                        status => status(&sub, entries),
                    });
                }
            }
        }
        Ok((rows, unreadable))
    })
    .await;
    let (rows, unreadable) = match read {
        Ok(x) => x,
        Err(e) => return store_down(&c, &s, &e),
    };
    let can_submit = s.session.grants.allows(&tenant, Permission::ManagePlans);
    let ctx = context! {
        title => "Remediation plans",
        plans => rows,
        unreadable => unreadable,
        can_submit => can_submit,
        form_token => if can_submit { c.sessions.form_token(&s.id) } else { String::new() },
        ..frame(&c, Some(&s), Some(&tenant))
    };
    render(&c, StatusCode::OK, "plans.html", ctx)
}

/// Reads a pasted plan; the problem says what is wrong and what to do.
fn pasted_plan(c: &Console, tenant: &str, text: &str) -> Result<Plan, String> {
    let text = text.trim();
    if text.is_empty() {
        return Err(
            "plan: paste the JSON of a plan file `ppgov plan ... --out plan.json` wrote".into(),
        );
    }
    if text.len() > MAX_PLAN_BYTES {
        return Err(format!(
            "plan: {} bytes is more than the {MAX_PLAN_BYTES} this form takes; split the plan (for example with --max-changes) and submit the parts",
            text.len()
        ));
    }
    let plan = Plan::parse(text)
        .map_err(|e| format!("plan: {e}; paste the plan file exactly as `ppgov plan` wrote it"))?;
    if plan.steps.is_empty() {
        return Err("plan: it has no steps (the tenant was already in the desired state when it was made); there is nothing to approve".into());
    }
    admission(c, tenant, &plan).map_err(|e| format!("plan: {e}"))?;
    Ok(plan)
}

/// `POST /t/{tenant}/plans`: an admin submits a plan; a bad one is refused and nothing stored.
pub(crate) async fn submit(
    State(c): St,
    Path(tenant): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let path = format!("/t/{tenant}/plans");
    let s = match web::signed_for(&c, &headers, &tenant, &path, false, Permission::ManagePlans) {
        Ok(s) => s,
        Err(r) => return r.into_response(),
    };
    let form = web::parse_form(&body);
    if let Err(r) = web::check_form(&c, &s, &headers, &form) {
        return r.into_response();
    }
    let text = form
        .iter()
        .find(|(k, _)| k == "plan")
        .map(|(_, v)| v.as_str())
        .unwrap_or("");
    let plan = match pasted_plan(&c, &tenant, text) {
        Ok(p) => p,
        Err(e) => {
            return refused(
                &c,
                &s,
                StatusCode::BAD_REQUEST,
                "The plan was not accepted",
                &e,
            );
        }
    };
    let who = me(&s, &tenant);
    let digest = plan.digest.clone();
    let tid = tenant.clone();
    let stored = with_store(&c, &tenant, move |store| {
        if load(store, &tid, &plan.digest)?.is_some() {
            return Ok(false);
        }
        let mut doc = serde_json::to_value(&plan).map_err(|e| e.to_string())?;
        if let Some(m) = doc.as_object_mut() {
            // Approvals count only as the journal records them.
            m.insert("approvals".into(), serde_json::Value::Array(vec![]));
        }
        store
            .append_journal(&NewJournalEntry {
                tenant_id: tid.clone(),
                actor: who.to_actor(),
                apply_id: format!("submission:{}", plan.id),
                plan_id: plan.id.clone(),
                plan_digest: plan.digest.clone(),
                step: 0,
                action: SUBMIT_ACTION.into(),
                target: format!("plan {}", plan.id),
                phase: JournalPhase::Done,
                request_id: None,
                before: None,
                after: Some(doc),
                result: format!(
                    "submitted in the console by {who}: {} step(s) from {}",
                    plan.steps.len(),
                    plan.source
                ),
            })
            .map_err(|e| e.to_string())?;
        Ok(true)
    })
    .await;
    match stored {
        Ok(true) => {
            tracing::info!(user = %s.session.who.username, tenant, digest, "plan submitted");
            Redirect::to(&format!("/t/{tenant}/plans/{digest}")).into_response()
        }
        Ok(false) => Redirect::to(&format!("/t/{tenant}/plans/{digest}?exists=1")).into_response(),
        Err(e) => refused(
            &c,
            &s,
            StatusCode::SERVICE_UNAVAILABLE,
            "The plan was not saved",
            &e,
        ),
    }
}

#[derive(Debug, Deserialize)]
pub(crate) struct ShowQuery {
    exists: Option<String>,
    approved: Option<String>,
    applied: Option<String>,
}

/// `GET /t/{tenant}/plans/{digest}`: the plan for review: its steps, author, approvals and
/// journal, and the Approve and Apply buttons for the admins who may press them.
pub(crate) async fn show(
    State(c): St,
    Path((tenant, digest)): Path<(String, String)>,
    headers: HeaderMap,
    Query(q): Query<ShowQuery>,
) -> Response {
    let path = format!("/t/{tenant}/plans/{digest}");
    let s = match web::signed_for(&c, &headers, &tenant, &path, true, Permission::ReadJournal) {
        Ok(s) => s,
        Err(r) => return r.into_response(),
    };
    let not_found = |s: &Signed| {
        refused(
            &c,
            s,
            StatusCode::NOT_FOUND,
            "Not found",
            &format!(
                "no plan with digest {digest} was submitted in this tenant; submit it on the plans page"
            ),
        )
    };
    if !is_digest(&digest) {
        return not_found(&s);
    }
    let (tid, d) = (tenant.clone(), digest.to_ascii_lowercase());
    let (sub, entries) = match with_store(&c, &tenant, move |store| load(store, &tid, &d)).await {
        Ok(Some(x)) => x,
        Ok(None) => return not_found(&s),
        Err(e) => return store_down(&c, &s, &e),
    };
    let who = me(&s, &tenant);
    let approvals = approvers(&entries);
    let approved: Vec<Identity> = approvals.iter().map(|(a, _)| a.clone()).collect();
    let admitted = admission(&c, &tenant, &sub.plan);
    let manage = s.session.grants.allows(&tenant, Permission::ManagePlans);
    let is_author = sub.plan.author.same_as(&who);
    let is_submitter = sub.submitter.same_as(&who);
    let i_approved = approved.iter().any(|a| a.same_as(&who));
    let can_approve = manage && admitted.is_ok() && !is_author && !is_submitter && !i_approved;
    let can_apply = manage && admitted.is_ok() && four_eyes(&sub, &approved);
    let last: BTreeMap<u32, &'static str> = entries
        .iter()
        .filter(|e| e.entry.step > 0)
        .map(|e| (e.entry.step, e.entry.phase.as_str()))
        .collect();
    let steps: Vec<Value> = sub
        .plan
        .steps
        .iter()
        .map(|st| {
            context! {
                index => st.index,
                action => st.action.clone(),
                target => st.target.to_string(),
                name => st.target.name.clone(),
                why => st.why.clone(),
                changes => changes(&st.expected, &st.change),
                expected => serde_json::to_string_pretty(&st.expected).unwrap_or_default(),
                undo => match &st.undo {
                    Undo::Restore { .. } => "restores the state found before".to_string(),
                    Undo::NotReversible { reason } => format!("not reversible: {reason}"),
                },
                warnings => st.warnings.clone(),
                grace => st.grace.as_ref().map(|g| format!("tells {} first; acts {} h later", g.recipients.join(", "), g.period_hours)),
                phase => last.get(&st.index).copied(),
            }
        })
        .collect();
    let mut for_ticket = sub.plan.clone();
    for_ticket.approvals = approvals
        .iter()
        .map(|(a, at)| ppgov_act::Approval {
            approver: a.clone(),
            at: *at,
            digest: sub.plan.digest.clone(),
        })
        .collect();
    let token = || c.sessions.form_token(&s.id);
    let ctx = context! {
        title => format!("Plan {}", sub.plan.digest.chars().take(12).collect::<String>()),
        plan => context! {
            id => sub.plan.id.clone(),
            digest => sub.plan.digest.clone(),
            tenant => sub.plan.tenant_id.clone(),
            source => sub.plan.source.clone(),
            created => time_text(sub.plan.created_at),
            author => sub.plan.author.to_string(),
        },
        submitter => sub.submitter.to_string(),
        submitted => time_text(sub.at),
        status => status(&sub, &entries),
        steps => steps,
        approvals => approvals.iter().map(|(a, at)| context! { who => a.to_string(), at => time_text(*at) }).collect::<Vec<_>>(),
        journal => super::journal::rows(entries.iter(), &[]),
        markdown => ppgov_act::render::markdown(&for_ticket),
        admission_problem => admitted.err(),
        manage => manage,
        is_author => is_author,
        is_submitter => is_submitter,
        i_approved => i_approved,
        can_approve => can_approve,
        can_apply => can_apply,
        approve_token => if can_approve { token() } else { String::new() },
        apply_token => if can_apply { token() } else { String::new() },
        exists => q.exists.is_some(),
        approved_now => q.approved.is_some(),
        applied_now => q.applied,
        ..frame(&c, Some(&s), Some(&tenant))
    };
    render(&c, StatusCode::OK, "plan.html", ctx)
}

/// The common start of approve and apply: signed in, an admin, the form genuine, the plan there.
async fn begin(
    c: &Console,
    headers: &HeaderMap,
    tenant: &str,
    digest: &str,
    body: &[u8],
) -> Result<(Signed, Submitted, Vec<JournalEntry>), Response> {
    let path = format!("/t/{tenant}/plans/{digest}");
    let s = web::signed_for(c, headers, tenant, &path, false, Permission::ManagePlans)
        .map_err(IntoResponse::into_response)?;
    let form = web::parse_form(body);
    web::check_form(c, &s, headers, &form).map_err(IntoResponse::into_response)?;
    let missing = |s: &Signed| {
        refused(
            c,
            s,
            StatusCode::NOT_FOUND,
            "Not found",
            &format!("no plan with digest {digest} was submitted in this tenant"),
        )
    };
    if !is_digest(digest) {
        return Err(missing(&s));
    }
    let (tid, d) = (tenant.to_string(), digest.to_ascii_lowercase());
    match with_store(c, tenant, move |store| load(store, &tid, &d)).await {
        Ok(Some((sub, entries))) => Ok((s, sub, entries)),
        Ok(None) => Err(missing(&s)),
        Err(e) => Err(store_down(c, &s, &e)),
    }
}

/// `POST /t/{tenant}/plans/{digest}/approve`: an admin approves (never the plan's author nor
/// whoever submitted it, never a plan this tenant's `[remediation]` would not admit).
pub(crate) async fn approve(
    State(c): St,
    Path((tenant, digest)): Path<(String, String)>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let (s, sub, entries) = match begin(&c, &headers, &tenant, &digest, &body).await {
        Ok(x) => x,
        Err(r) => return r,
    };
    let who = me(&s, &tenant);
    let no = |msg: &str| refused(&c, &s, StatusCode::FORBIDDEN, "Not approved", msg);
    if sub.plan.author.same_as(&who) {
        return no(&format!(
            "you are this plan's author ({}): another admin must approve it (four eyes)",
            sub.plan.author
        ));
    }
    if sub.submitter.same_as(&who) {
        return no("you submitted this plan: another admin must approve it (four eyes)");
    }
    if approvers(&entries).iter().any(|(a, _)| a.same_as(&who)) {
        return no("you approved this plan already; another approval of yours adds nothing");
    }
    if let Err(e) = admission(&c, &tenant, &sub.plan) {
        return no(&format!(
            "{e}; make a new plan with `ppgov plan` and submit it"
        ));
    }
    let mut plan = sub.plan;
    let approver = who.clone();
    let done = with_store(&c, &tenant, move |store| {
        ppgov_act::approve(store, &mut plan, &approver)
            .map(|_| ())
            .map_err(|e| e.to_string())
    })
    .await;
    match done {
        Ok(()) => {
            tracing::info!(user = %s.session.who.username, tenant, digest, "plan approved");
            Redirect::to(&format!("/t/{tenant}/plans/{digest}?approved=1")).into_response()
        }
        Err(e) => no(&e),
    }
}

/// Marks a digest as being applied (in this process); `None` when it already is.
struct Applying(String);

impl Applying {
    fn start(digest: &str) -> Option<Applying> {
        let mut set = APPLYING.lock().unwrap_or_else(|p| p.into_inner());
        (!set.iter().any(|d| d == digest)).then(|| {
            set.push(digest.to_string());
            Applying(digest.to_string())
        })
    }
}

impl Drop for Applying {
    fn drop(&mut self) {
        let mut set = APPLYING.lock().unwrap_or_else(|p| p.into_inner());
        set.retain(|d| *d != self.0);
    }
}

/// `POST /t/{tenant}/plans/{digest}/apply`: an admin applies a plan approved by someone who
/// neither wrote nor submitted it, through `ppgov_act::request::apply_approved` (admission
/// again, then apply: live state re-read, drift skipped, journaled before and after).
pub(crate) async fn apply(
    State(c): St,
    Path((tenant, digest)): Path<(String, String)>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let (s, sub, entries) = match begin(&c, &headers, &tenant, &digest, &body).await {
        Ok(x) => x,
        Err(r) => return r,
    };
    let approved: Vec<Identity> = approvers(&entries).into_iter().map(|(a, _)| a).collect();
    if !four_eyes(&sub, &approved) {
        return refused(
            &c,
            &s,
            StatusCode::FORBIDDEN,
            "Not applied",
            &format!(
                "the plan needs an approval by an admin other than its author ({}) and whoever submitted it ({}) first",
                sub.plan.author, sub.submitter
            ),
        );
    }
    let Some(t) = c.serve.tenant(&tenant).cloned() else {
        return StatusCode::NOT_FOUND.into_response();
    };
    let Some(_running) = Applying::start(&sub.plan.digest) else {
        return refused(
            &c,
            &s,
            StatusCode::CONFLICT,
            "Already being applied",
            "this plan is being applied right now; reload its page in a moment to see the journal",
        );
    };
    let conn = match t.connection() {
        Ok(conn) => conn,
        Err(e) => {
            return refused(
                &c,
                &s,
                StatusCode::SERVICE_UNAVAILABLE,
                "The tenant cannot be reached",
                &e,
            );
        }
    };
    let store = match t.records() {
        Ok(st) => st,
        Err(e) => return store_down(&c, &s, &e),
    };
    // Steps that tell makers first need the tenant's sinks: refused before any call without.
    let notifier = if ppgov_act::tells_first(&sub.plan) {
        match t.apply_notifier() {
            Ok(n) => Some(n),
            Err(e) => {
                return refused(
                    &c,
                    &s,
                    StatusCode::CONFLICT,
                    "Not applied",
                    &format!("{e}; nothing was changed"),
                );
            }
        }
    } else {
        None
    };
    let opts = ApplyOptions {
        concurrency: t.config.remediation.concurrency.max(1),
        actor: me(&s, &tenant).to_actor(),
        notifier,
        ..ApplyOptions::default()
    };
    let applied = ppgov_act::request::apply_approved(
        Ctx::new(conn.clients.clone()),
        &t.config,
        store,
        sub.plan,
        opts,
        now(&c),
    )
    .await;
    let report = match applied {
        Ok((report, _)) => report,
        Err(e) => {
            let status = match e {
                ppgov_act::ActError::Client { .. }
                | ppgov_act::ActError::Auth(_)
                | ppgov_act::ActError::Store(_) => StatusCode::BAD_GATEWAY,
                _ => StatusCode::FORBIDDEN,
            };
            return refused(&c, &s, status, "Not applied", &e.to_string());
        }
    };
    tracing::info!(user = %s.session.who.username, tenant, digest, apply = %report.apply_id, "plan applied");
    if report.failed() {
        return refused(
            &c,
            &s,
            StatusCode::BAD_GATEWAY,
            "The apply did not finish",
            &format!(
                "{}; the journal shows each step; applying again repeats no write that took effect",
                report.to_text()
            ),
        );
    }
    Redirect::to(&format!(
        "/t/{tenant}/plans/{digest}?applied={}",
        report.apply_id
    ))
    .into_response()
}
