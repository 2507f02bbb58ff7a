//! `/t/{tenant}/findings`: the latest scan's findings, filtered by severity, rule, environment
//! framework and owner (the apps and flows a person owns, matched as `/mine` matches), each with
//! its evidence and its fix; for those who may, a form to suppress it (`suppress.rs`).

use super::{blocking, frame, render, ser};
use crate::Console;
use crate::roles::Permission;
use crate::web;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use minijinja::{Value, context};
use ppgov_core::{Finding, ResourceKind, Severity};
use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;
use std::sync::Arc;

/// The filters, as the form sends them (empty means any).
#[derive(Debug, Default, Clone, Deserialize, Serialize)]
pub(crate) struct Filter {
    #[serde(default)]
    severity: Option<String>,
    #[serde(default)]
    rule: Option<String>,
    #[serde(default)]
    environment: Option<String>,
    #[serde(default)]
    framework: Option<String>,
    /// An object id, UPN or mail: findings on the apps and flows this person owns.
    #[serde(default)]
    owner: Option<String>,
}

fn given(v: &Option<String>) -> Option<&str> {
    v.as_deref().map(str::trim).filter(|s| !s.is_empty())
}

impl Filter {
    /// Whether a finding passes every given filter. The environment matches its id or its
    /// display name.
    fn keeps(&self, f: &Finding, env_name: Option<&str>) -> bool {
        given(&self.severity).is_none_or(|s| f.severity.as_str().eq_ignore_ascii_case(s))
            && given(&self.rule).is_none_or(|r| f.rule_id.eq_ignore_ascii_case(r))
            && given(&self.environment).is_none_or(|e| {
                f.resource
                    .environment_id
                    .as_deref()
                    .is_some_and(|id| id.eq_ignore_ascii_case(e))
                    || env_name.is_some_and(|n| n.eq_ignore_ascii_case(e))
            })
            && given(&self.framework).is_none_or(|fw| {
                f.frameworks
                    .iter()
                    .any(|x| x.framework.eq_ignore_ascii_case(fw))
            })
    }
}

/// Whether the finding is on one of the `owned` (kind, id, environment) resources.
fn owns(owned: &BTreeSet<(ResourceKind, String, String)>, f: &Finding) -> bool {
    let id = f.resource.id.to_lowercase();
    match &f.resource.environment_id {
        Some(env) => owned.contains(&(f.resource.kind, id, env.to_lowercase())),
        None => owned
            .iter()
            .any(|(k, i, _)| *k == f.resource.kind && *i == id),
    }
}

/// `GET /t/{tenant}/findings`.
pub(crate) async fn page(
    State(c): State<Arc<Console>>,
    Path(tenant): Path<String>,
    headers: HeaderMap,
    Query(filter): Query<Filter>,
) -> Response {
    let s = match web::signed_for(
        &c,
        &headers,
        &tenant,
        &format!("/t/{tenant}/findings"),
        true,
        Permission::ReadPosture,
    ) {
        Ok(s) => s,
        Err(r) => return r.into_response(),
    };
    let Some(t) = c.serve.tenant(&tenant).cloned() else {
        return StatusCode::NOT_FOUND.into_response();
    };
    let today = super::suppress::today(&c);
    let owner = given(&filter.owner).map(String::from);
    let scan = blocking(move || {
        let records = t.records()?;
        let scan = records
            .previous_scan(t.id(), None)
            .map_err(|e| e.to_string())?;
        // The owner filter matches on the latest complete snapshot (read only when asked).
        let owned = match owner {
            Some(person) => {
                let who = super::resource::Me::named(&person);
                let store = t.snapshots()?;
                let latest = store
                    .latest_snapshot(t.id(), true)
                    .map_err(|e| e.to_string())?;
                Some(match latest {
                    Some(info) => {
                        let snap = store.load_snapshot(&info.id).map_err(|e| e.to_string())?;
                        super::mine::owned_by(&snap, &who)
                    }
                    None => BTreeSet::new(),
                })
            }
            None => None,
        };
        let stored = records.suppressions(t.id()).map_err(|e| e.to_string())?;
        Ok((scan, owned, stored))
    })
    .await;
    let (scan, owned, stored) = match scan {
        Ok(s) => s,
        Err(e) => {
            return super::problem(
                &c,
                Some(&s),
                StatusCode::SERVICE_UNAVAILABLE,
                "The store cannot be read",
                &e,
            );
        }
    };
    let (findings, frameworks, names) = match &scan {
        Some(r) => {
            let kept: Vec<&Finding> = r
                .findings
                .iter()
                .filter(|f| {
                    let name = f
                        .resource
                        .environment_id
                        .as_ref()
                        .and_then(|id| r.environment_names.get(id))
                        .map(String::as_str);
                    filter.keeps(f, name) && owned.as_ref().is_none_or(|o| owns(o, f))
                })
                .collect();
            let fws: BTreeSet<&str> = r
                .findings
                .iter()
                .flat_map(|f| f.frameworks.iter().map(|x| x.framework.as_str()))
                .collect();
            let rows: Vec<Value> = kept
                .iter()
                .map(|f| {
                    let evidence = serde_json::to_string_pretty(&f.evidence).unwrap_or_default();
                    let by = super::suppress::recorded_for(&stored, f, today);
                    context! { f => ser(f), evidence => evidence, console => by.map(ser) }
                })
                .collect();
            (
                Value::from(rows),
                fws.into_iter().map(String::from).collect::<Vec<_>>(),
                ser(&r.environment_names),
            )
        }
        None => (
            Value::from(Vec::<Value>::new()),
            Vec::new(),
            Value::UNDEFINED,
        ),
    };
    let may_suppress = s
        .session
        .grants
        .allows(&tenant, Permission::SuppressFindings);
    let ctx = context! {
        title => "Findings",
        may_suppress => may_suppress,
        // One token for the page's suppress forms: only one of them is sent per page.
        suppress_token => may_suppress.then(|| c.sessions.form_token(&s.id)),
        today => today.to_string(),
        last_day => super::suppress::last_day(today).to_string(),
        scan => scan.as_ref().map(ser),
        findings => findings,
        environment_names => names,
        frameworks => frameworks,
        severity_names => Severity::ALL.iter().rev().map(|s| s.as_str()).collect::<Vec<_>>(),
        filter => ser(&filter),
        ..frame(&c, Some(&s), Some(&tenant))
    };
    render(&c, StatusCode::OK, "findings.html", ctx)
}
