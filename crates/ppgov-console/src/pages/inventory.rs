//! `/t/{tenant}/inventory?kind=...&q=...&page=N`: the latest complete snapshot's environments,
//! apps, flows, connections or principals, searched by name, id or owner (a case-insensitive
//! substring), [`PAGE`] per page. For whoever may read the tenant's posture.

use super::resource::{Latest, latest, owners_of_app, owners_of_flow};
use super::{blocking, frame, problem, render};
use crate::Console;
use crate::roles::Permission;
use crate::web;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use minijinja::context;
use ppgov_core::Snapshot;
use serde::Deserialize;
use std::collections::BTreeMap;
use std::sync::Arc;

/// Rows per page.
pub(crate) const PAGE: usize = 100;
/// The longest search text accepted.
const Q_MAX: usize = 200;
/// The kinds, in the order the page offers them.
pub(crate) const KINDS: [&str; 5] = ["environments", "apps", "flows", "connections", "principals"];

/// The query as the form sends it (all text, so a bad value gets this page's 400, not the
/// framework's).
#[derive(Debug, Default, Deserialize)]
pub(crate) struct InventoryQuery {
    kind: Option<String>,
    q: Option<String>,
    page: Option<String>,
}

/// The checked query.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct Search {
    pub kind: &'static str,
    pub q: String,
    /// 1-based, not yet clamped to the last page.
    pub page: usize,
}

/// Checks the query: a known kind (flows by default), a search of at most [`Q_MAX`]
/// characters, a page number from 1 (larger than the last page shows the last one).
pub(crate) fn check(q: &InventoryQuery) -> Result<Search, String> {
    let kind = match q.kind.as_deref().map(str::trim).filter(|k| !k.is_empty()) {
        None => "flows",
        Some(k) => KINDS
            .into_iter()
            .find(|x| x.eq_ignore_ascii_case(k))
            .ok_or_else(|| {
                format!(
                    "unknown kind `{k}`; the inventory has: {}",
                    KINDS.join(", ")
                )
            })?,
    };
    let text = q.q.as_deref().unwrap_or("").trim().to_string();
    if text.chars().count() > Q_MAX {
        return Err(format!(
            "the search text is {} characters long; at most {Q_MAX} are accepted",
            text.chars().count()
        ));
    }
    let page = match q.page.as_deref().map(str::trim).filter(|p| !p.is_empty()) {
        None => 1,
        Some(p) => match p.parse::<u64>() {
            Ok(0) => return Err("page numbers start at 1".into()),
            Ok(n) => usize::try_from(n).unwrap_or(usize::MAX),
            // A whole number too large for u64 is still a page past the end.
            Err(_) if p.bytes().all(|b| b.is_ascii_digit()) => usize::MAX,
            Err(_) => return Err(format!("page `{p}` is not a whole number from 1")),
        },
    };
    Ok(Search {
        kind,
        q: text.to_lowercase(),
        page,
    })
}

/// One row: what the table shows and what the search looks at.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub(crate) struct Row {
    pub id: String,
    pub name: String,
    pub environment: String,
    pub owner: String,
    pub detail: String,
    /// The resource's page, for apps and flows.
    pub link: Option<String>,
}

impl Row {
    fn matches(&self, q: &str, extra: &[String]) -> bool {
        q.is_empty()
            || [&self.id, &self.name, &self.owner]
                .into_iter()
                .chain(extra)
                .any(|s| s.to_lowercase().contains(q))
    }
}

fn env_names(snap: &Snapshot) -> BTreeMap<String, String> {
    snap.environments
        .iter()
        .map(|e| (e.id.to_lowercase(), e.display_name.clone()))
        .collect()
}

fn owner_text(o: &[super::resource::Owner]) -> (String, Vec<String>) {
    let shown = o
        .iter()
        .map(|o| {
            o.name
                .clone()
                .or(o.email.clone())
                .unwrap_or_else(|| o.id.clone())
        })
        .collect::<Vec<_>>()
        .join(", ");
    let extra = o
        .iter()
        .flat_map(|o| {
            [o.id.clone()]
                .into_iter()
                .chain(o.addresses().iter().cloned())
        })
        .collect();
    (shown, extra)
}

/// Every row of `kind` in the snapshot that matches `q` (lower-cased), in the snapshot's order.
pub(crate) fn rows(snap: &Snapshot, tenant: &str, kind: &str, q: &str) -> Vec<Row> {
    let envs = env_names(snap);
    let env = |id: &str| {
        envs.get(&id.to_lowercase())
            .cloned()
            .unwrap_or_else(|| id.to_string())
    };
    let mut out = Vec::new();
    match kind {
        "environments" => {
            for e in &snap.environments {
                let r = Row {
                    id: e.id.clone(),
                    name: e.display_name.clone(),
                    environment: e.display_name.clone(),
                    owner: e.created_by.clone().unwrap_or_default(),
                    detail: format!(
                        "{}{}{}",
                        e.sku,
                        if e.managed { ", managed" } else { "" },
                        if e.has_dataverse { ", Dataverse" } else { "" }
                    ),
                    link: None,
                };
                let extra: Vec<String> = e.used_by.clone().into_iter().collect();
                if r.matches(q, &extra) {
                    out.push(r);
                }
            }
        }
        "apps" => {
            for a in &snap.apps {
                let (owner, extra) = owner_text(&owners_of_app(snap, a));
                let r = Row {
                    id: a.id.clone(),
                    name: a.display_name.clone(),
                    environment: env(&a.environment_id),
                    owner,
                    detail: a.app_type.clone().unwrap_or_default(),
                    link: Some(format!("/t/{tenant}/apps/{}", a.id)),
                };
                if r.matches(q, &extra) {
                    out.push(r);
                }
            }
        }
        "flows" => {
            for f in &snap.flows {
                let (owner, extra) = owner_text(&owners_of_flow(snap, f));
                let r = Row {
                    id: f.id.clone(),
                    name: f.display_name.clone(),
                    environment: env(&f.environment_id),
                    owner,
                    detail: f.state.clone(),
                    link: Some(format!("/t/{tenant}/flows/{}", f.id)),
                };
                if r.matches(q, &extra) {
                    out.push(r);
                }
            }
        }
        "connections" => {
            for c in &snap.connections {
                let by = c.created_by.as_ref();
                let r = Row {
                    id: c.id.clone(),
                    name: c.display_name.clone(),
                    environment: env(&c.environment_id),
                    owner: by
                        .map(|p| {
                            p.display_name
                                .clone()
                                .or(p.email.clone())
                                .unwrap_or_else(|| p.id.clone())
                        })
                        .unwrap_or_default(),
                    detail: format!("{} {}", c.connector, c.statuses.join(", "))
                        .trim()
                        .to_string(),
                    link: None,
                };
                let extra: Vec<String> = by
                    .map(|p| [p.id.clone()].into_iter().chain(p.email.clone()).collect())
                    .unwrap_or_default();
                if r.matches(q, &extra) {
                    out.push(r);
                }
            }
        }
        _ => {
            for r in principals(snap) {
                if r.matches(q, &[]) {
                    out.push(r);
                }
            }
        }
    }
    out
}

/// The principals of the snapshot (those Graph resolved, plus owners, creators and admin role
/// holders it did not), each with how many apps, flows and connections they own or created and
/// the admin roles they hold.
fn principals(snap: &Snapshot) -> Vec<Row> {
    #[derive(Default)]
    struct P {
        name: Option<String>,
        address: Option<String>,
        kind: String,
        apps: usize,
        flows: usize,
        connections: usize,
        roles: usize,
    }
    let mut by: BTreeMap<String, P> = BTreeMap::new();
    for (id, p) in &snap.principals {
        let e = by.entry(id.to_lowercase()).or_default();
        e.name = p.display_name.clone();
        e.address = p.upn.clone().or(p.mail.clone());
        e.kind = format!("{:?} {:?}", p.kind, p.status).to_lowercase();
    }
    let mut seen = |id: &str, name: Option<&String>, address: Option<&String>| -> String {
        let key = id.trim().to_lowercase();
        let e = by.entry(key.clone()).or_default();
        if e.name.is_none() {
            e.name = name.cloned();
        }
        if e.address.is_none() {
            e.address = address.cloned();
        }
        key
    };
    let mut counts: Vec<(String, u8)> = Vec::new();
    for a in &snap.apps {
        for o in owners_of_app(snap, a) {
            counts.push((seen(&o.id, o.name.as_ref(), o.email.as_ref()), 0));
        }
    }
    for f in &snap.flows {
        for o in owners_of_flow(snap, f) {
            counts.push((seen(&o.id, o.name.as_ref(), o.email.as_ref()), 1));
        }
    }
    for c in &snap.connections {
        if let Some(p) = &c.created_by {
            counts.push((seen(&p.id, p.display_name.as_ref(), p.email.as_ref()), 2));
        }
    }
    for r in &snap.role_assignments {
        let key = seen(
            &r.principal_id,
            r.principal_name.as_ref(),
            r.principal_upn.as_ref(),
        );
        counts.push((key, 3));
    }
    for (key, what) in counts {
        if let Some(e) = by.get_mut(&key) {
            match what {
                0 => e.apps += 1,
                1 => e.flows += 1,
                2 => e.connections += 1,
                _ => e.roles += 1,
            }
        }
    }
    by.into_iter()
        .filter(|(id, _)| !id.is_empty())
        .map(|(id, p)| Row {
            name: p.name.unwrap_or_default(),
            owner: p.address.unwrap_or_default(),
            environment: String::new(),
            detail: format!(
                "{}{} app(s), {} flow(s), {} connection(s), {} admin role(s)",
                if p.kind.is_empty() {
                    String::new()
                } else {
                    format!("{}; ", p.kind)
                },
                p.apps,
                p.flows,
                p.connections,
                p.roles
            ),
            id,
            link: None,
        })
        .collect()
}

/// `GET /t/{tenant}/inventory`.
pub(crate) async fn page(
    State(c): State<Arc<Console>>,
    Path(tenant): Path<String>,
    headers: HeaderMap,
    Query(query): Query<InventoryQuery>,
) -> Response {
    let s = match web::signed_for(
        &c,
        &headers,
        &tenant,
        &format!("/t/{tenant}/inventory"),
        true,
        Permission::ReadPosture,
    ) {
        Ok(s) => s,
        Err(r) => return r.into_response(),
    };
    let search = match check(&query) {
        Ok(x) => x,
        Err(e) => return problem(&c, Some(&s), StatusCode::BAD_REQUEST, "Bad search", &e),
    };
    let Some(t) = c.serve.tenant(&tenant).cloned() else {
        return StatusCode::NOT_FOUND.into_response();
    };
    let (kind, q) = (search.kind, search.q.clone());
    let tid = tenant.clone();
    let kept = c.clone();
    let found = blocking(move || {
        let Latest { snapshot, .. } = latest(&kept, &t)?;
        Ok(snapshot.map(|snap| (snap.id.clone(), rows(&snap, &tid, kind, &q))))
    })
    .await;
    let found = match found {
        Ok(f) => f,
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
    let (snapshot_id, rows) = found.map_or((None, Vec::new()), |(id, r)| (Some(id), r));
    let pages = rows.len().div_ceil(PAGE).max(1);
    let page = search.page.min(pages);
    let shown: Vec<Row> = rows
        .iter()
        .skip((page - 1) * PAGE)
        .take(PAGE)
        .cloned()
        .collect();
    let link = |p: usize| {
        let q: String = url::form_urlencoded::Serializer::new(String::new())
            .append_pair("kind", kind)
            .append_pair("q", query.q.as_deref().unwrap_or("").trim())
            .append_pair("page", &p.to_string())
            .finish();
        format!("/t/{tenant}/inventory?{q}")
    };
    let ctx = context! {
        title => "Inventory",
        kinds => KINDS.to_vec(),
        kind => kind,
        q => query.q.as_deref().unwrap_or("").trim(),
        snapshot_id => snapshot_id,
        total => rows.len(),
        rows => super::ser(&shown),
        page => page,
        pages => pages,
        first => if rows.is_empty() { 0 } else { (page - 1) * PAGE + 1 },
        last => (page - 1) * PAGE + shown.len(),
        prev => (page > 1).then(|| link(page - 1)),
        next => (page < pages).then(|| link(page + 1)),
        ..frame(&c, Some(&s), Some(&tenant))
    };
    render(&c, StatusCode::OK, "inventory.html", ctx)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn q(kind: Option<&str>, page: Option<&str>) -> InventoryQuery {
        InventoryQuery {
            kind: kind.map(String::from),
            q: Some("  Invoice ".into()),
            page: page.map(String::from),
        }
    }

    #[test]
    fn bad_kinds_and_pages_are_refused_and_huge_pages_kept_for_clamping() {
        let ok = check(&q(Some("Apps"), None)).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!((ok.kind, ok.q.as_str(), ok.page), ("apps", "invoice", 1));
        assert!(check(&q(Some("robots"), None)).is_err_and(|e| e.contains("unknown kind")));
        assert!(check(&q(None, Some("0"))).is_err());
        assert!(check(&q(None, Some("-3"))).is_err());
        assert!(check(&q(None, Some("two"))).is_err());
        let huge =
            check(&q(None, Some("99999999999999999999999999"))).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!((huge.kind, huge.page), ("flows", usize::MAX));
    }
}
