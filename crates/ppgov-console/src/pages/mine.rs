//! `/t/{tenant}/mine`: the apps and flows the signed-in person owns in the latest complete
//! snapshot (matched by object id, or by UPN or mail where a resource records only an address:
//! [`Me::owns`]), each with the latest scan's findings on it and what to do about them. Every
//! role sees only their own resources here.

use super::resource::{
    Me, Owner, finding_rows, findings_on, latest, owners_of_app, owners_of_flow,
};
use super::{blocking, frame, problem, render, ser};
use crate::Console;
use crate::roles::Permission;
use crate::web;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use minijinja::{Value, context};
use ppgov_core::{ResourceKind, ScanReport, Snapshot};
use std::collections::BTreeSet;
use std::sync::Arc;

/// The apps and flows of `snap` that `who` owns, as `/mine` matches them ([`Me::owns`] over
/// [`owners_of_app`] and [`owners_of_flow`]): (kind, id, environment id), ids lower-cased. The
/// findings page's owner filter uses it.
pub(crate) fn owned_by(snap: &Snapshot, who: &Me) -> BTreeSet<(ResourceKind, String, String)> {
    let key =
        |kind: ResourceKind, id: &str, env: &str| (kind, id.to_lowercase(), env.to_lowercase());
    let apps = snap
        .apps
        .iter()
        .filter(|a| who.owns(&owners_of_app(snap, a)))
        .map(|a| key(ResourceKind::App, &a.id, &a.environment_id));
    let flows = snap
        .flows
        .iter()
        .filter(|f| who.owns(&owners_of_flow(snap, f)))
        .map(|f| key(ResourceKind::Flow, &f.id, &f.environment_id));
    apps.chain(flows).collect()
}

/// What `/mine` lists: (apps, flows), each a template row.
fn owned(
    snap: &Snapshot,
    scan: Option<&ScanReport>,
    me: &Me,
    tenant: &str,
) -> (Vec<Value>, Vec<Value>) {
    let env = |id: &str| {
        snap.environment(id)
            .map(|e| e.display_name.clone())
            .unwrap_or_else(|| id.to_string())
    };
    let row = |kind: ResourceKind,
               segment: &str,
               id: &str,
               name: &str,
               env_id: &str,
               detail: &str,
               owners: &[Owner]| {
        let found = findings_on(scan, kind, id, env_id);
        context! {
            id => id, name => name, environment => env(env_id), detail => detail,
            link => format!("/t/{tenant}/{segment}/{id}"),
            owners => ser(owners), findings => finding_rows(&found),
        }
    };
    let apps = snap
        .apps
        .iter()
        .filter_map(|a| {
            let owners = owners_of_app(snap, a);
            me.owns(&owners).then(|| {
                let detail = a.app_type.clone().unwrap_or_default();
                row(
                    ResourceKind::App,
                    "apps",
                    &a.id,
                    &a.display_name,
                    &a.environment_id,
                    &detail,
                    &owners,
                )
            })
        })
        .collect();
    let flows = snap
        .flows
        .iter()
        .filter_map(|f| {
            let owners = owners_of_flow(snap, f);
            me.owns(&owners).then(|| {
                row(
                    ResourceKind::Flow,
                    "flows",
                    &f.id,
                    &f.display_name,
                    &f.environment_id,
                    &f.state,
                    &owners,
                )
            })
        })
        .collect();
    (apps, flows)
}

/// `GET /t/{tenant}/mine`.
pub(crate) async fn page(
    State(c): State<Arc<Console>>,
    Path(tenant): Path<String>,
    headers: HeaderMap,
) -> Response {
    let s = match web::signed_for(
        &c,
        &headers,
        &tenant,
        &format!("/t/{tenant}/mine"),
        true,
        Permission::SeeOwnResources,
    ) {
        Ok(s) => s,
        Err(r) => return r.into_response(),
    };
    let Some(t) = c.serve.tenant(&tenant).cloned() else {
        return StatusCode::NOT_FOUND.into_response();
    };
    let me = Me::of(&s);
    let tid = tenant.clone();
    let kept = c.clone();
    let read = blocking(move || {
        let l = latest(&kept, &t)?;
        Ok(l.snapshot.map(|snap| {
            let (apps, flows) = owned(&snap, l.scan.as_ref(), &me, &tid);
            (snap.id.clone(), apps, flows)
        }))
    })
    .await;
    let read = match read {
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
    let (snapshot_id, apps, flows) = match read {
        Some((id, a, f)) => (Some(id), a, f),
        None => (None, Vec::new(), Vec::new()),
    };
    let ctx = context! {
        title => "My resources",
        snapshot_id => snapshot_id,
        apps => apps,
        flows => flows,
        me => context! {
            oid => s.session.who.oid.clone(),
            username => s.session.who.username.clone(),
        },
        ..frame(&c, Some(&s), Some(&tenant))
    };
    render(&c, StatusCode::OK, "mine.html", ctx)
}
