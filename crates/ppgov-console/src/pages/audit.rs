//! `/t/{tenant}/audit`: the tenant's stored audit events searched with the filters of
//! `ppgov audit search` (since, until, user, operation, environment, resource, risk), newest
//! first and at most [`SHOWN`] rows, and `/t/{tenant}/audit/export`: the same result set as
//! NDJSON or CSV, written as `ppgov audit export` writes it.

use super::{blocking, frame, problem, render};
use crate::Console;
use crate::roles::Permission;
use crate::web;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use minijinja::{Value, context};
use ppgov_audit::export::{ExportFormat, write_events};
use ppgov_store::{EventFilter, EventRow};
use std::sync::Arc;

/// The most rows the page shows.
pub(crate) const SHOWN: usize = 500;

/// The longest filter value taken.
const LONGEST: usize = 512;

/// The risk levels an event can have.
const RISKS: [&str; 3] = ["low", "medium", "high"];

/// The filters as the form sends them (empty means any), plus the export format.
#[derive(Debug, Default, Clone, serde::Serialize)]
pub(crate) struct AuditQuery {
    since: String,
    until: String,
    user: String,
    operation: String,
    environment: String,
    resource: String,
    risk: String,
    format: String,
}

/// A filter value that cannot be used: the field and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct BadField {
    pub(crate) field: &'static str,
    pub(crate) message: String,
}

impl AuditQuery {
    /// Reads the query string; unknown keys are ignored, a repeated key keeps its last value.
    pub(crate) fn parse(raw: Option<&str>) -> AuditQuery {
        let mut q = AuditQuery::default();
        for (k, v) in url::form_urlencoded::parse(raw.unwrap_or("").as_bytes()) {
            let slot = match k.as_ref() {
                "since" => &mut q.since,
                "until" => &mut q.until,
                "user" => &mut q.user,
                "operation" => &mut q.operation,
                "environment" => &mut q.environment,
                "resource" => &mut q.resource,
                "risk" => &mut q.risk,
                "format" => &mut q.format,
                _ => continue,
            };
            *slot = v.trim().to_string();
        }
        q
    }

    /// The store filter, times resolved against `now_ms` the way the CLI resolves them.
    pub(crate) fn filter(&self, now_ms: i64) -> Result<EventFilter, BadField> {
        for (field, v) in [
            ("since", &self.since),
            ("until", &self.until),
            ("user", &self.user),
            ("operation", &self.operation),
            ("environment", &self.environment),
            ("resource", &self.resource),
            ("risk", &self.risk),
        ] {
            if v.chars().count() > LONGEST {
                return Err(BadField {
                    field,
                    message: format!("longer than {LONGEST} characters"),
                });
            }
        }
        let since = time("since", &self.since, now_ms)?;
        let until = time("until", &self.until, now_ms)?;
        if let (Some(s), Some(u)) = (since, until)
            && u <= s
        {
            return Err(BadField {
                field: "until",
                message: "is not after since: no event can match".into(),
            });
        }
        let risk = given(&self.risk).map(str::to_ascii_lowercase);
        if let Some(r) = &risk
            && !RISKS.contains(&r.as_str())
        {
            return Err(BadField {
                field: "risk",
                message: format!("`{r}` is not a risk level (low, medium, high)"),
            });
        }
        Ok(EventFilter {
            since_ms: since,
            until_ms: until,
            actor: given(&self.user).map(String::from),
            operation: given(&self.operation).map(String::from),
            environment_id: given(&self.environment).map(String::from),
            resource_id: given(&self.resource).map(String::from),
            risk,
            after_seq: None,
            limit: None,
            newest_first: false,
        })
    }
}

fn given(v: &str) -> Option<&str> {
    Some(v.trim()).filter(|s| !s.is_empty())
}

/// A `since`/`until` value through `ppgov_audit::parse_since`, refusing durations that
/// reach outside the representable times before they are computed.
fn time(field: &'static str, v: &str, now_ms: i64) -> Result<Option<i64>, BadField> {
    let Some(v) = given(v) else {
        return Ok(None);
    };
    let bad = |message: String| BadField { field, message };
    if let Some(c) = v.chars().last()
        && let Some(unit) = match c {
            'm' => Some(60_000i64),
            'h' => Some(3_600_000),
            'd' => Some(86_400_000),
            'w' => Some(7 * 86_400_000),
            _ => None,
        }
        && let Ok(n) = v[..v.len() - c.len_utf8()].parse::<i64>()
        && n.checked_mul(unit)
            .and_then(|d| now_ms.checked_sub(d))
            .and_then(chrono::DateTime::from_timestamp_millis)
            .is_none()
    {
        return Err(bad(format!(
            "`{v}` reaches outside the representable times"
        )));
    }
    let ms = ppgov_audit::parse_since(v, now_ms).map_err(bad)?;
    if chrono::DateTime::from_timestamp_millis(ms).is_none() {
        return Err(bad(format!("`{v}` is outside the representable times")));
    }
    Ok(Some(ms))
}

fn rfc3339(ms: i64) -> String {
    chrono::DateTime::from_timestamp_millis(ms)
        .map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Millis, true))
        .unwrap_or_else(|| ms.to_string())
}

/// The export's query string: the filter with its times resolved, so the download holds the
/// events the page counted even when `24h` moves on.
fn export_query(f: &EventFilter, format: &str) -> String {
    let mut q = url::form_urlencoded::Serializer::new(String::new());
    q.append_pair("format", format);
    for (k, v) in [
        ("since", f.since_ms.map(rfc3339)),
        ("until", f.until_ms.map(rfc3339)),
        ("user", f.actor.clone()),
        ("operation", f.operation.clone()),
        ("environment", f.environment_id.clone()),
        ("resource", f.resource_id.clone()),
        ("risk", f.risk.clone()),
    ] {
        if let Some(v) = v {
            q.append_pair(k, &v);
        }
    }
    q.finish()
}

fn row(e: &EventRow) -> Value {
    let time = chrono::DateTime::from_timestamp_millis(e.time_ms)
        .map(|t| t.format("%Y-%m-%d %H:%M:%S UTC").to_string())
        .unwrap_or_else(|| e.time_ms.to_string());
    context! {
        id => e.id.clone(), time => time, risk => e.risk.clone(), operation => e.operation.clone(),
        actor => e.actor.clone(), environment_id => e.environment_id.clone(),
        resource_kind => e.resource_kind.clone(), resource_id => e.resource_id.clone(),
        client_ip => e.client_ip.clone(),
    }
}

/// Searches the tenant's event store off the async threads: every matching event (oldest
/// first), or with `newest`, how many match and the newest [`SHOWN`] of them (read newest first
/// by the store, so a broad filter on a large store reads no more than it shows).
async fn search(
    c: &Console,
    tenant: &str,
    filter: EventFilter,
    newest: bool,
) -> Result<(u64, Vec<EventRow>), String> {
    let t = c
        .serve
        .tenant(tenant)
        .cloned()
        .ok_or_else(|| format!("tenant `{tenant}` is not served here"))?;
    blocking(move || {
        let store = t.events()?;
        if !newest {
            let all = store.search(&filter).map_err(|e| e.to_string())?;
            return Ok((all.len() as u64, all));
        }
        let total = store.count(&filter).map_err(|e| e.to_string())?;
        let shown = store
            .search(&EventFilter {
                newest_first: true,
                limit: Some(SHOWN),
                ..filter
            })
            .map_err(|e| e.to_string())?;
        Ok((total, shown))
    })
    .await
}

/// `GET /t/{tenant}/audit`.
pub(crate) async fn page(
    State(c): State<Arc<Console>>,
    Path(tenant): Path<String>,
    headers: HeaderMap,
    RawQuery(raw): RawQuery,
) -> Response {
    let s = match web::signed_for(
        &c,
        &headers,
        &tenant,
        &format!("/t/{tenant}/audit"),
        true,
        Permission::SearchAudit,
    ) {
        Ok(s) => s,
        Err(r) => return r.into_response(),
    };
    let mut q = AuditQuery::parse(raw.as_deref());
    // A first visit (no query at all) shows the last day rather than the whole store.
    if raw.as_deref().is_none_or(str::is_empty) {
        q.since = "24h".into();
    }
    let base = context! {
        title => "Audit search",
        q => super::ser(&q),
        risks => RISKS,
        shown_max => SHOWN,
        ..frame(&c, Some(&s), Some(&tenant))
    };
    let filter = match q.filter(c.serve.now_ms()) {
        Ok(f) => f,
        Err(bad) => {
            let ctx = context! {
                error => context! { field => bad.field, message => bad.message },
                ..base
            };
            return render(&c, StatusCode::BAD_REQUEST, "audit.html", ctx);
        }
    };
    let (total, events) = match search(&c, &tenant, filter.clone(), true).await {
        Ok(e) => e,
        Err(e) => {
            return problem(
                &c,
                Some(&s),
                StatusCode::SERVICE_UNAVAILABLE,
                "The audit store cannot be read",
                &e,
            );
        }
    };
    let rows: Vec<Value> = events.iter().map(row).collect();
    let ctx = context! {
        searched => true,
        events => rows,
        total => total,
        shown => events.len(),
        cut => total > events.len() as u64,
        ndjson => export_query(&filter, "ndjson"),
        csv => export_query(&filter, "csv"),
        ..base
    };
    render(&c, StatusCode::OK, "audit.html", ctx)
}

/// The file name part a tenant id contributes (letters, digits, `-`, `_`, `.` only).
pub(crate) fn file_part(s: &str) -> String {
    s.chars()
        .filter(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
        .collect()
}

/// `GET /t/{tenant}/audit/export?format=ndjson|csv&...`: every event the filter matches, in
/// the store's order (time, then id), as `ppgov audit export` writes them.
pub(crate) async fn export(
    State(c): State<Arc<Console>>,
    Path(tenant): Path<String>,
    headers: HeaderMap,
    RawQuery(raw): RawQuery,
) -> Response {
    let s = match web::signed_for(
        &c,
        &headers,
        &tenant,
        &format!("/t/{tenant}/audit"),
        true,
        Permission::SearchAudit,
    ) {
        Ok(s) => s,
        Err(r) => return r.into_response(),
    };
    let q = AuditQuery::parse(raw.as_deref());
    let (format, kind, ext) = match q.format.to_ascii_lowercase().as_str() {
        "ndjson" => (ExportFormat::Ndjson, "application/x-ndjson", "ndjson"),
        "csv" => (ExportFormat::Csv, "text/csv; charset=utf-8", "csv"),
        other => {
            return problem(
                &c,
                Some(&s),
                StatusCode::BAD_REQUEST,
                "Bad filter: format",
                &format!("format: `{other}` is not an export format (ndjson, csv)"),
            );
        }
    };
    let now = c.serve.now_ms();
    let filter = match q.filter(now) {
        Ok(f) => f,
        Err(bad) => {
            return problem(
                &c,
                Some(&s),
                StatusCode::BAD_REQUEST,
                &format!("Bad filter: {}", bad.field),
                &format!("{}: {}", bad.field, bad.message),
            );
        }
    };
    let events = match search(&c, &tenant, filter, false).await {
        Ok((_, e)) => e,
        Err(e) => {
            return problem(
                &c,
                Some(&s),
                StatusCode::SERVICE_UNAVAILABLE,
                "The audit store cannot be read",
                &e,
            );
        }
    };
    let mut body = Vec::new();
    if let Err(e) = write_events(&mut body, &events, format) {
        tracing::error!(error = %e, "audit export failed");
        return problem(
            &c,
            Some(&s),
            StatusCode::INTERNAL_SERVER_ERROR,
            "The export failed",
            &e.to_string(),
        );
    }
    let date = chrono::DateTime::from_timestamp_millis(now)
        .unwrap_or_default()
        .format("%Y-%m-%d");
    let name = format!("ppgov-audit-{}-{date}.{ext}", file_part(&tenant));
    (
        [
            (header::CONTENT_TYPE, kind.to_string()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{name}\""),
            ),
            (header::CACHE_CONTROL, "no-store".to_string()),
        ],
        body,
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: i64 = 1_780_000_000_000;

    fn q(pairs: &str) -> AuditQuery {
        AuditQuery::parse(Some(pairs))
    }

    #[test]
    fn filters_resolve_as_the_cli_resolves_them() {
        let f = q("since=24h&until=2026-06-01T00%3A00%3A00Z&user=A%40b.example&operation=+Op+&risk=HIGH&x=1")
            .filter(NOW)
            .unwrap();
        assert_eq!(f.since_ms, Some(NOW - 86_400_000));
        assert_eq!(
            f.until_ms,
            Some(ppgov_audit::parse_since("2026-06-01T00:00:00Z", NOW).unwrap())
        );
        assert_eq!(f.actor.as_deref(), Some("A@b.example"));
        assert_eq!(f.operation.as_deref(), Some("Op"));
        assert_eq!(f.risk.as_deref(), Some("high"));
        assert_eq!(f.environment_id, None);
        assert_eq!(q("").filter(NOW).unwrap().since_ms, None);
    }

    #[test]
    fn bad_values_name_their_field_and_never_panic() {
        for (query, field) in [
            ("since=yesterday", "since"),
            ("since=99999999999999999w", "since"),
            ("since=-99999999999999d", "since"),
            ("until=9223372036854775807m", "until"),
            ("until=%C3%A9d", "until"),
            ("since=1h&until=2h", "until"),
            ("risk=severe", "risk"),
        ] {
            let bad = q(query).filter(NOW).unwrap_err();
            assert_eq!(bad.field, field, "{query}: {bad:?}");
            assert!(!bad.message.is_empty());
        }
        let long = format!("user={}", "a".repeat(LONGEST + 1));
        assert_eq!(q(&long).filter(NOW).unwrap_err().field, "user");
    }

    #[test]
    fn the_export_link_carries_the_resolved_times() {
        let f = q("since=24h&operation=Op").filter(NOW).unwrap();
        let link = export_query(&f, "ndjson");
        let again = AuditQuery::parse(Some(&link))
            .filter(NOW + 3_600_000)
            .unwrap();
        assert_eq!(again.since_ms, f.since_ms);
        assert_eq!(again.operation, f.operation);
        assert_eq!(AuditQuery::parse(Some(&link)).format, "ndjson");
    }
}
