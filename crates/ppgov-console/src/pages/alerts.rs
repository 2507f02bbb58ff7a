//! `/t/{tenant}/alerts`: alerts, newest first, each with the stored events that caused it.

use super::{blocking, frame, render};
use crate::Console;
use crate::roles::Permission;
use crate::web;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use minijinja::{Value, context};
use ppgov_store::EventFilter;
use std::collections::BTreeSet;
use std::sync::Arc;

/// Alerts shown on the page.
const LIMIT: usize = 200;

fn time_text(ms: i64) -> String {
    chrono::DateTime::from_timestamp_millis(ms)
        .map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true))
        .unwrap_or_else(|| ms.to_string())
}

fn read(t: &ppgov_serve::Tenant) -> Result<Vec<Value>, String> {
    let store = t.events()?;
    let alerts = store.alerts(None, None).map_err(|e| e.to_string())?;
    let mut out = Vec::new();
    for a in alerts.into_iter().take(LIMIT) {
        let ids: BTreeSet<&str> = a.event_ids.iter().map(String::as_str).collect();
        let events = store
            .search(&EventFilter {
                since_ms: Some(a.first_seen),
                until_ms: Some(a.last_seen.saturating_add(1)),
                ..EventFilter::default()
            })
            .map_err(|e| e.to_string())?;
        let events: Vec<Value> = events
            .into_iter()
            .filter(|e| ids.contains(e.id.as_str()))
            .map(|e| {
                context! {
                    id => e.id, time => time_text(e.time_ms), operation => e.operation,
                    actor => e.actor, resource_kind => e.resource_kind,
                    resource_id => e.resource_id, client_ip => e.client_ip,
                }
            })
            .collect();
        let missing = ids.len().saturating_sub(events.len());
        out.push(context! {
            detection_id => a.detection_id, severity => a.severity, actor => a.actor,
            environment_id => a.environment_id, first_seen => time_text(a.first_seen),
            last_seen => time_text(a.last_seen), reason => a.reason, events => events,
            missing => missing,
        });
    }
    Ok(out)
}

/// `GET /t/{tenant}/alerts`.
pub(crate) async fn page(
    State(c): State<Arc<Console>>,
    Path(tenant): Path<String>,
    headers: HeaderMap,
) -> Response {
    let s = match web::signed_for(
        &c,
        &headers,
        &tenant,
        &format!("/t/{tenant}/alerts"),
        true,
        Permission::ReadPosture,
    ) {
        Ok(s) => s,
        Err(r) => return r.into_response(),
    };
    let Some(t) = c.serve.tenant(&tenant).cloned() else {
        return StatusCode::NOT_FOUND.into_response();
    };
    let alerts = match blocking(move || read(&t)).await {
        Ok(a) => a,
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
    let ctx =
        context! { title => "Alerts", alerts => alerts, ..frame(&c, Some(&s), Some(&tenant)) };
    render(&c, StatusCode::OK, "alerts.html", ctx)
}
