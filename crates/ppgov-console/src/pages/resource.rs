//! `/t/{tenant}/flows/{id}` and `/t/{tenant}/apps/{id}`: one resource of the latest complete
//! snapshot with its environment, owners, connectors, DLP verdict (the engine's, with its
//! explanation), the latest scan's findings on it and, for flows, its recent audit events.
//!
//! Whoever may read the tenant's posture opens any of them; everyone else signed in with a role
//! in the tenant (a maker) only those they own ([`owners_of_flow`], [`owners_of_app`],
//! [`Me::owns`]). Also the shared reads of the inventory and `/mine` pages.

use super::{blocking, frame, problem, render, ser};
use crate::Console;
use crate::roles::Permission;
use crate::web::{self, Signed};
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use minijinja::{Value, context};
use ppgov_core::{
    App, Finding, Flow, Permission as Access, PrincipalRef, ResourceKind, ScanReport, Snapshot,
};
use ppgov_engine::dlp::{Effective, Verdict, app_connectors, app_verdict, effective, flow_verdict};
use ppgov_store::EventFilter;
use serde::{Deserialize, Serialize};
use std::sync::Arc;

/// How far back a flow's page looks for audit events.
const EVENT_DAYS: i64 = 30;
/// Events read at most for one flow page (oldest first, as the store returns them).
const EVENT_READ: usize = 2_000;
/// Events shown, newest first.
const EVENT_SHOWN: usize = 25;

/// The latest complete snapshot and the latest scan, as the inventory pages read them.
pub(crate) struct Latest {
    pub snapshot: Option<Arc<Snapshot>>,
    pub scan: Option<ScanReport>,
}

/// Reads the latest complete snapshot (kept by the console once read) and the latest scan
/// (blocking).
pub(crate) fn latest(c: &Console, t: &ppgov_serve::Tenant) -> Result<Latest, String> {
    let snapshot = c.snapshots.latest(t)?;
    let scan = t
        .records()?
        .previous_scan(t.id(), None)
        .map_err(|e| e.to_string())?;
    Ok(Latest { snapshot, scan })
}

/// One owner of an app or flow, as the page shows it.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct Owner {
    pub id: String,
    pub name: Option<String>,
    pub email: Option<String>,
    /// `creator`, `owner` (the app's `owner`) or `co-owner` (an Owner in the access list).
    pub role: &'static str,
    /// Every address the snapshot gives this principal (UPN, mail), lower-cased.
    #[serde(skip)]
    addresses: Vec<String>,
}

impl Owner {
    /// Every address the snapshot gives this principal, lower-cased.
    pub(crate) fn addresses(&self) -> &[String] {
        &self.addresses
    }
}

fn owner(snap: &Snapshot, id: &str, given: Option<&PrincipalRef>, role: &'static str) -> Owner {
    let p = snap.principal(id);
    let name = given
        .and_then(|g| g.display_name.clone())
        .or_else(|| p.and_then(|p| p.display_name.clone()));
    let mut addresses: Vec<String> = given
        .and_then(|g| g.email.clone())
        .into_iter()
        .chain(p.and_then(|p| p.upn.clone()))
        .chain(p.and_then(|p| p.mail.clone()))
        .map(|a| a.trim().to_lowercase())
        .filter(|a| !a.is_empty())
        .collect();
    addresses.dedup();
    Owner {
        id: id.to_string(),
        name,
        email: addresses.first().cloned(),
        role,
        addresses,
    }
}

fn push_unique(out: &mut Vec<Owner>, o: Owner) {
    if o.id.trim().is_empty() {
        return;
    }
    if !out.iter().any(|x| x.id.eq_ignore_ascii_case(&o.id)) {
        out.push(o);
    }
}

fn co_owners(snap: &Snapshot, out: &mut Vec<Owner>, perms: Option<&[Access]>) {
    for p in perms.unwrap_or_default() {
        if p.role_name.eq_ignore_ascii_case("owner") {
            push_unique(
                out,
                owner(snap, &p.principal.id, Some(&p.principal), "co-owner"),
            );
        }
    }
}

/// A flow's owners: its creator, then every Owner of its access list.
pub(crate) fn owners_of_flow(snap: &Snapshot, f: &Flow) -> Vec<Owner> {
    let mut out = Vec::new();
    if let Some(c) = &f.creator {
        push_unique(&mut out, owner(snap, c, None, "creator"));
    }
    co_owners(snap, &mut out, f.permissions.as_deref());
    out
}

/// An app's owners: its owner, its creator, then every Owner of its access list.
pub(crate) fn owners_of_app(snap: &Snapshot, a: &App) -> Vec<Owner> {
    let mut out = Vec::new();
    if let Some(o) = &a.owner {
        push_unique(&mut out, owner(snap, &o.id, Some(o), "owner"));
    }
    if let Some(c) = &a.created_by {
        push_unique(&mut out, owner(snap, &c.id, Some(c), "creator"));
    }
    co_owners(snap, &mut out, a.permissions.as_deref());
    out
}

/// The signed-in person as resources record people: their object id and their sign-in name.
pub(crate) struct Me {
    oid: String,
    upn: String,
}

impl Me {
    pub(crate) fn of(s: &Signed) -> Me {
        Me {
            oid: s.session.who.oid.trim().to_string(),
            upn: s.session.who.username.trim().to_lowercase(),
        }
    }

    /// Someone named by an object id or an address (UPN or mail), matched as [`Me::owns`]
    /// matches the signed-in person (the findings page's owner filter).
    pub(crate) fn named(person: &str) -> Me {
        Me {
            oid: person.trim().to_string(),
            upn: person.trim().to_lowercase(),
        }
    }

    /// Whether one of `owners` is this person: the same object id, or (where the resource
    /// records only an address) the same UPN or mail. Ownership through a group is not seen.
    pub(crate) fn owns(&self, owners: &[Owner]) -> bool {
        owners.iter().any(|o| {
            (!self.oid.is_empty() && o.id.trim().eq_ignore_ascii_case(&self.oid))
                || (!self.upn.is_empty() && o.addresses.contains(&self.upn))
        })
    }
}

/// The latest scan's findings on one resource.
pub(crate) fn findings_on<'a>(
    scan: Option<&'a ScanReport>,
    kind: ResourceKind,
    id: &str,
    env: &str,
) -> Vec<&'a Finding> {
    scan.map(|r| {
        r.findings
            .iter()
            .filter(|f| {
                f.resource.kind == kind
                    && f.resource.id.eq_ignore_ascii_case(id)
                    && f.resource
                        .environment_id
                        .as_deref()
                        .is_none_or(|e| e.eq_ignore_ascii_case(env))
            })
            .collect()
    })
    .unwrap_or_default()
}

/// Findings as the templates show them.
pub(crate) fn finding_rows(found: &[&Finding]) -> Vec<Value> {
    found
        .iter()
        .map(|f| {
            let evidence = serde_json::to_string_pretty(&f.evidence).unwrap_or_default();
            context! { f => ser(f), evidence => evidence }
        })
        .collect()
}

fn verdict_rows(v: &Verdict) -> Vec<Value> {
    v.all()
        .map(|x| {
            context! {
                kind => ser(x.kind), policy => x.policy_name.clone(),
                connector => x.connector.clone(), explanation => x.explain(),
            }
        })
        .collect()
}

/// The DLP verdict as the templates show it: `clean`, `violates` or `unverified`, and why.
fn dlp(eff: &Effective<'_>, v: &Verdict) -> Value {
    let policies: Vec<String> = eff
        .policies
        .iter()
        .map(|p| p.display_name.clone())
        .collect();
    let status = if !v.blocked.is_empty() || !v.mixed.is_empty() {
        "violates"
    } else if !v.unverified.is_empty() {
        "unverified"
    } else {
        "clean"
    };
    context! { status => status, policies => policies, violations => verdict_rows(v) }
}

fn env_name(snap: &Snapshot, id: &str) -> String {
    snap.environment(id)
        .map(|e| e.display_name.clone())
        .unwrap_or_else(|| id.to_string())
}

fn time_text(ms: i64) -> String {
    chrono::DateTime::from_timestamp_millis(ms)
        .map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true))
        .unwrap_or_else(|| ms.to_string())
}

/// A flow's recent audit events. The event store filters by resource id in its query, but
/// only returns events oldest first, so this reads at most [`EVENT_READ`] of the last
/// [`EVENT_DAYS`] days and keeps the newest [`EVENT_SHOWN`].
fn flow_events(t: &ppgov_serve::Tenant, id: &str, now_ms: i64) -> Result<Vec<Value>, String> {
    let store = t.events()?;
    let mut events = store
        .search(&EventFilter {
            since_ms: Some(now_ms.saturating_sub(EVENT_DAYS * 24 * 3600 * 1000)),
            resource_id: Some(id.to_string()),
            limit: Some(EVENT_READ),
            ..EventFilter::default()
        })
        .map_err(|e| e.to_string())?;
    events.reverse();
    Ok(events
        .into_iter()
        .take(EVENT_SHOWN)
        .map(|e| {
            context! {
                id => e.id, time => time_text(e.time_ms), operation => e.operation,
                actor => e.actor, client_ip => e.client_ip,
            }
        })
        .collect())
}

/// Which copy when ids repeat across environments.
#[derive(Debug, Default, Deserialize)]
pub(crate) struct WhichQuery {
    environment: Option<String>,
}

/// What the store said, or the page to answer instead.
enum Read {
    Page(Box<Value>),
    Refuse(StatusCode, &'static str, String),
}

/// Who asks: whether they may read every resource, and who they are.
struct Who {
    everything: bool,
    me: Me,
}

impl Who {
    /// The refusal for a resource that is not theirs, if it is not.
    fn refuse(&self, owners: &[Owner], kind: &str) -> Option<Read> {
        (!self.everything && !self.me.owns(owners)).then(|| {
            let message = format!(
                "this {kind} is not yours: you may open only the apps and flows you own \
                 (see My resources)"
            );
            Read::Refuse(StatusCode::FORBIDDEN, "Not allowed", message)
        })
    }
}

fn flow_read(
    t: &ppgov_serve::Tenant,
    l: &Latest,
    snap: &Snapshot,
    f: &Flow,
    who: &Who,
    now: i64,
) -> Result<Read, String> {
    let owners = owners_of_flow(snap, f);
    if let Some(r) = who.refuse(&owners, "flow") {
        return Ok(r);
    }
    let facts = ppgov_engine::flowdef::flow_facts(f);
    let connectors = connector_rows(&facts.connectors, &f.connectors);
    let eff = effective(snap, &f.environment_id);
    let v = flow_verdict(&eff, f);
    let found = findings_on(
        l.scan.as_ref(),
        ResourceKind::Flow,
        &f.id,
        &f.environment_id,
    );
    let events = flow_events(t, &f.id, now)?;
    let flow = context! {
        id => f.id.clone(),
        name => f.display_name.clone(),
        state => f.state.clone(),
        environment_id => f.environment_id.clone(),
        environment => env_name(snap, &f.environment_id),
        trigger => f.trigger_type.clone(),
        created => f.created_time.map(|t| t.to_rfc3339()),
        modified => f.last_modified_time.map(|t| t.to_rfc3339()),
        runs => f.runs.as_ref().map(ser),
    };
    Ok(Read::Page(Box::new(context! {
        flow => flow,
        owners => ser(&owners),
        connectors => connectors,
        dlp => dlp(&eff, &v),
        findings => finding_rows(&found),
        events => events,
        snapshot_id => snap.id.clone(),
        scan_snapshot => l.scan.as_ref().map(|r| r.snapshot_id.clone()),
    })))
}

fn app_read(l: &Latest, snap: &Snapshot, a: &App, who: &Who) -> Read {
    let owners = owners_of_app(snap, a);
    if let Some(r) = who.refuse(&owners, "app") {
        return r;
    }
    let (keys, _) = app_connectors(a);
    let connectors = connector_rows(&keys, &a.connectors);
    let eff = effective(snap, &a.environment_id);
    let v = app_verdict(&eff, a);
    let found = findings_on(l.scan.as_ref(), ResourceKind::App, &a.id, &a.environment_id);
    let app = context! {
        id => a.id.clone(),
        name => a.display_name.clone(),
        environment_id => a.environment_id.clone(),
        environment => env_name(snap, &a.environment_id),
        app_type => a.app_type.clone(),
        quarantined => a.quarantined,
        shared_users => a.shared_users_count,
        shared_groups => a.shared_groups_count,
        modified => a.last_modified_time.map(|t| t.to_rfc3339()),
    };
    Read::Page(Box::new(context! {
        app => app,
        owners => ser(&owners),
        connectors => connectors,
        dlp => dlp(&eff, &v),
        findings => finding_rows(&found),
        snapshot_id => snap.id.clone(),
        scan_snapshot => l.scan.as_ref().map(|r| r.snapshot_id.clone()),
    }))
}

/// `GET /t/{tenant}/flows/{id}`.
pub(crate) async fn flow_page(
    State(c): State<Arc<Console>>,
    Path((tenant, id)): Path<(String, String)>,
    headers: HeaderMap,
    Query(q): Query<WhichQuery>,
) -> Response {
    show(c, tenant, id, headers, q, ResourceKind::Flow).await
}

/// `GET /t/{tenant}/apps/{id}`.
pub(crate) async fn app_page(
    State(c): State<Arc<Console>>,
    Path((tenant, id)): Path<(String, String)>,
    headers: HeaderMap,
    Query(q): Query<WhichQuery>,
) -> Response {
    show(c, tenant, id, headers, q, ResourceKind::App).await
}

async fn show(
    c: Arc<Console>,
    tenant: String,
    id: String,
    headers: HeaderMap,
    q: WhichQuery,
    kind: ResourceKind,
) -> Response {
    let (segment, label, template) = match kind {
        ResourceKind::Flow => ("flows", "Flow", "flow.html"),
        _ => ("apps", "App", "app.html"),
    };
    let path = format!("/t/{tenant}/{segment}/{id}");
    let s = match web::signed_for(
        &c,
        &headers,
        &tenant,
        &path,
        true,
        Permission::SeeOwnResources,
    ) {
        Ok(s) => s,
        Err(r) => return r.into_response(),
    };
    let Some(t) = c.serve.tenant(&tenant).cloned() else {
        return StatusCode::NOT_FOUND.into_response();
    };
    let everything = s.session.grants.allows(&tenant, Permission::ReadPosture);
    let me = Me::of(&s);
    let now = c.serve.now_ms();
    let want = id.trim().to_string();
    let env_wanted = q
        .environment
        .map(|e| e.trim().to_string())
        .filter(|e| !e.is_empty());
    let who = Who { everything, me };
    let kept = c.clone();
    let read = blocking(move || {
        let l = latest(&kept, &t)?;
        let Some(snap) = &l.snapshot else {
            return Ok(Read::Refuse(
                StatusCode::NOT_FOUND,
                "No snapshot yet",
                "no crawl has completed for this tenant yet, so no resource can be shown".into(),
            ));
        };
        let in_env = |e: &str| {
            env_wanted
                .as_deref()
                .is_none_or(|w| w.eq_ignore_ascii_case(e))
        };
        let page = match kind {
            ResourceKind::Flow => snap
                .flows
                .iter()
                .find(|f| f.id.eq_ignore_ascii_case(&want) && in_env(&f.environment_id))
                .map(|f| flow_read(&t, &l, snap, f, &who, now))
                .transpose()?,
            _ => snap
                .apps
                .iter()
                .find(|a| a.id.eq_ignore_ascii_case(&want) && in_env(&a.environment_id))
                .map(|a| app_read(&l, snap, a, &who)),
        };
        Ok(page.unwrap_or_else(|| {
            let kind = label.to_lowercase();
            let message = format!(
                "no {kind} with id `{want}` in the latest snapshot ({})",
                snap.id
            );
            Read::Refuse(StatusCode::NOT_FOUND, "Not found", message)
        }))
    })
    .await;
    match read {
        Err(e) => problem(
            &c,
            Some(&s),
            StatusCode::SERVICE_UNAVAILABLE,
            "The store cannot be read",
            &e,
        ),
        Ok(Read::Refuse(status, heading, message)) => {
            if status == StatusCode::FORBIDDEN {
                let user = &s.session.who.username;
                tracing::warn!(%user, tenant, path, "console refused: not the owner");
            }
            problem(&c, Some(&s), status, heading, &message)
        }
        Ok(Read::Page(page)) => {
            let ctx = context! {
                title => label,
                ..minijinja::value::merge_maps([*page, frame(&c, Some(&s), Some(&tenant))])
            };
            render(&c, StatusCode::OK, template, ctx)
        }
    }
}

/// The connectors a resource uses (the keys the DLP engine judges), with the display names
/// the resource recorded.
fn connector_rows(keys: &[String], refs: &[ppgov_core::ConnectorRef]) -> Vec<Value> {
    keys.iter()
        .map(|k| {
            let name = refs
                .iter()
                .find(|r| r.key == *k)
                .and_then(|r| r.display_name.clone());
            let custom = refs.iter().any(|r| r.key == *k && r.is_custom);
            context! { key => k.clone(), name => name, custom => custom }
        })
        .collect()
}
