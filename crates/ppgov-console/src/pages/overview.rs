//! `/t/{tenant}`: posture at a glance (findings by severity, posture per area with its trend
//! over scans, the last crawl, open alerts) and, for admins, jobs to run now.

use super::{blocking, frame, render, ser};
use crate::Console;
use crate::roles::Permission;
use crate::web::{self, Signed};
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use minijinja::{Value, context};
use ppgov_core::{ScanReport, Severity};
use ppgov_store::{ScanId, SnapshotInfo};
use serde::Deserialize;
use std::sync::Arc;

/// Scans drawn in a trend.
const TREND_SCANS: usize = 10;

/// Jobs an admin may start from the overview.
const RUN_KINDS: [&str; 3] = ["crawl", "audit", "digest"];

/// What the overview reads from the store.
pub(crate) struct Overview {
    pub crawl: Option<SnapshotInfo>,
    pub scan: Option<ScanReport>,
    /// Older scans, oldest first (the latest is `scan`).
    pub history: Vec<ScanReport>,
    pub alerts: Result<usize, String>,
}

pub(crate) fn read(tenant: &ppgov_serve::Tenant) -> Result<Overview, String> {
    let id = tenant.id();
    let crawl = tenant
        .snapshots()?
        .latest_snapshot(id, false)
        .map_err(|e| e.to_string())?;
    let records = tenant.records()?;
    let scans = records.list_scans(id).map_err(|e| e.to_string())?;
    let mut reports = Vec::new();
    for s in scans.iter().take(TREND_SCANS) {
        if let Some(r) = records
            .previous_scan(id, Some(ScanId(s.id.0 + 1)))
            .map_err(|e| e.to_string())?
        {
            reports.push(r);
        }
    }
    reports.reverse();
    let scan = reports.pop();
    let alerts = tenant
        .events()
        .and_then(|events| events.alerts(None, None).map_err(|e| e.to_string()))
        .map(|a| a.len())
        .map_err(|e| e.to_string());
    Ok(Overview {
        crawl,
        scan,
        history: reports,
        alerts,
    })
}

fn area_rows(o: &Overview) -> Vec<Value> {
    let Some(scan) = &o.scan else {
        return Vec::new();
    };
    let history: Vec<Vec<ppgov_report::AreaScore>> =
        o.history.iter().map(ppgov_report::posture_scores).collect();
    ppgov_report::posture_scores(scan)
        .into_iter()
        .enumerate()
        .map(|(i, a)| {
            let trend: Vec<String> = history
                .iter()
                .map(|h| h.get(i).and_then(|x| x.score))
                .chain(std::iter::once(a.score))
                .map(|s| s.map_or("none".to_string(), |v| v.to_string()))
                .collect();
            context! {
                area => a.area, title => a.title, score => a.score, passing => a.passing,
                failing => a.failing, errored => a.errored, trend => trend,
            }
        })
        .collect()
}

#[derive(Debug, Deserialize)]
pub(crate) struct OverviewQuery {
    queued: Option<i64>,
}

/// `GET /t/{tenant}`.
pub(crate) async fn page(
    State(c): State<Arc<Console>>,
    Path(tenant): Path<String>,
    headers: HeaderMap,
    Query(q): Query<OverviewQuery>,
) -> Response {
    let s = match web::signed(&c, &headers, &format!("/t/{tenant}"), true) {
        Ok(s) => s,
        Err(r) => return r.into_response(),
    };
    // A maker's start page is their requests.
    if c.serve.tenant(&tenant).is_some()
        && !s.session.grants.allows(&tenant, Permission::ReadPosture)
        && s.session
            .grants
            .allows(&tenant, Permission::RequestConnector)
    {
        return Redirect::to(&format!("/t/{tenant}/requests")).into_response();
    }
    if let Err(r) = web::require(&c, &s, &tenant, Permission::ReadPosture) {
        return r.into_response();
    }
    let Some(t) = c.serve.tenant(&tenant).cloned() else {
        return StatusCode::NOT_FOUND.into_response();
    };
    let o = match blocking(move || read(&t)).await {
        Ok(o) => o,
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
    let severities: Vec<Value> = Severity::ALL
        .iter()
        .rev()
        .map(|sev| {
            let count = o
                .scan
                .as_ref()
                .and_then(|r| r.summary.by_severity.get(sev.as_str()).copied())
                .unwrap_or(0);
            context! { name => sev.as_str(), count => count }
        })
        .collect();
    let can_run = s.session.grants.allows(&tenant, Permission::RunJobs);
    let job_tokens: Vec<String> = if can_run {
        RUN_KINDS
            .iter()
            .map(|_| c.sessions.form_token(&s.id))
            .collect()
    } else {
        Vec::new()
    };
    let name = c
        .serve
        .tenant(&tenant)
        .and_then(|t| t.config.tenant.name.clone())
        .unwrap_or_else(|| tenant.clone());
    let (alert_count, alert_error) = match &o.alerts {
        Ok(n) => (*n, None),
        Err(e) => (0, Some(format!("alerts cannot be read: {e}"))),
    };
    let ctx = context! {
        title => name.clone(),
        tenant_name => name,
        crawl => o.crawl.as_ref().map(ser),
        scan => o.scan.as_ref().map(ser),
        severities => severities,
        areas => area_rows(&o),
        alert_count => alert_count,
        alert_error => alert_error,
        can_run_jobs => can_run,
        job_kinds => RUN_KINDS,
        job_tokens => job_tokens,
        queued => q.queued,
        ..frame(&c, Some(&s), Some(&tenant))
    };
    render(&c, StatusCode::OK, "overview.html", ctx)
}

/// `POST /t/{tenant}/jobs`: an admin starts a job now.
pub(crate) async fn run_job(
    State(c): State<Arc<Console>>,
    Path(tenant): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let s: Signed = match web::signed(&c, &headers, &format!("/t/{tenant}"), false) {
        Ok(s) => s,
        Err(r) => return r.into_response(),
    };
    if let Err(r) = web::require(&c, &s, &tenant, Permission::RunJobs) {
        return r.into_response();
    }
    let form = web::parse_form(&body);
    if let Err(r) = web::check_form(&c, &s, &headers, &form) {
        return r.into_response();
    }
    let kind = form
        .iter()
        .find(|(k, _)| k == "kind")
        .map(|(_, v)| v.as_str())
        .unwrap_or("");
    if !RUN_KINDS.contains(&kind) {
        return super::problem(
            &c,
            Some(&s),
            StatusCode::BAD_REQUEST,
            "Unknown job",
            &format!(
                "`{kind}` cannot be started here; use one of {}",
                RUN_KINDS.join(", ")
            ),
        );
    }
    match c.serve.trigger(&tenant, kind) {
        Ok(Some(id)) => {
            tracing::info!(user = %s.session.who.username, tenant, kind, job = id, "console started a job");
            Redirect::to(&format!("/t/{tenant}?queued={id}")).into_response()
        }
        Ok(None) => super::problem(
            &c,
            Some(&s),
            StatusCode::CONFLICT,
            "Already queued",
            "that run is already queued",
        ),
        Err(e) => super::problem(
            &c,
            Some(&s),
            StatusCode::SERVICE_UNAVAILABLE,
            "The job could not be queued",
            &e,
        ),
    }
}
