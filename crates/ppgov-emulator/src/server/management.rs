//! The Office 365 Management Activity API (`AUDIT-LOGS.md` §1): subscriptions (start, stop,
//! list), content listing with the documented time-window rules and `NextPageUri` paging, and
//! content blobs built from `Tenant.audit`: one blob per 15-minute bucket of availability time,
//! records shuffled within a blob, duplicates kept as generated.

use std::collections::BTreeMap;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex, OnceLock};

use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State as AxState};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Extension, Json, Router};
use chrono::{DateTime, Duration, NaiveDate, NaiveDateTime, TimeZone, Utc};
use rand::SeedableRng;
use rand::seq::SliceRandom;
use rand_chacha::ChaCha8Rng;
use serde_json::value::RawValue;
use serde_json::{Value, json};

use super::auth::{AUD_MANAGEMENT, require};
use super::errors::{ApiError, Family};
use super::paging;
use super::state::{AppState, State, lock};

/// Content types the API knows.
const CONTENT_TYPES: &[&str] = &[
    "Audit.AzureActiveDirectory",
    "Audit.Exchange",
    "Audit.SharePoint",
    "Audit.General",
    "DLP.All",
];
/// Where Power Platform records arrive.
const GENERAL: &str = "Audit.General";
/// Width of one blob's availability bucket, seconds.
const BUCKET_SECS: i64 = 15 * 60;
/// Content entries per listing page before `NextPageUri` is set.
pub const PAGE_SIZE: usize = 32;

#[derive(Debug, Clone)]
struct Subscription {
    enabled: bool,
    webhook: Value,
}

/// Per-router state: subscriptions and the blob index.
#[derive(Debug, Default)]
struct Feed {
    subscriptions: Mutex<BTreeMap<String, Subscription>>,
    /// Bucket start (unix seconds) -> indices into `Tenant.audit`.
    blobs: OnceLock<BTreeMap<i64, Vec<usize>>>,
}

/// The Management Activity API routes.
pub fn routes() -> Router<AppState> {
    let feed = Arc::new(Feed::default());
    let mut r = Router::new();
    // The documented `NextPageUri` uses `api/v1` while everything else uses `api/v1.0`: serve both.
    for root in [
        "/api/v1.0/{tenant}/activity/feed",
        "/api/v1/{tenant}/activity/feed",
    ] {
        r = r
            .route(&format!("{root}/subscriptions/start"), post(start))
            .route(&format!("{root}/subscriptions/stop"), post(stop))
            .route(&format!("{root}/subscriptions/list"), get(list))
            .route(&format!("{root}/subscriptions/content"), get(content))
            .route(
                &format!("{root}/subscriptions/notifications"),
                get(notifications),
            )
            .route(&format!("{root}/audit/{{content_id}}"), get(blob));
    }
    r.layer(Extension(feed))
}

fn af(status: StatusCode, code: &str, message: impl Into<String>) -> ApiError {
    ApiError::new(status, code, message).family(Family::Management)
}

fn window_error() -> ApiError {
    af(
        StatusCode::BAD_REQUEST,
        "AF20030",
        "Start time and end time must both be specified (or both omitted) and must be less than or equal to 24 hours apart, with the start time no more than 7 days in the past.",
    )
}

/// Token, tenant and permission checks shared by every operation.
fn guard(state: &State, tenant: &str, headers: &HeaderMap) -> Result<(), ApiError> {
    let id = require(state, headers, AUD_MANAGEMENT).map_err(|e| e.family(Family::Management))?;
    if uuid::Uuid::parse_str(tenant).is_err() {
        return Err(af(
            StatusCode::BAD_REQUEST,
            "AF20013",
            format!("The tenant ID '{tenant}' in the URL is not a valid GUID."),
        ));
    }
    if id.is_app
        && !id
            .roles
            .iter()
            .any(|r| r == "ActivityFeed.Read" || r == "ActivityFeed.ReadDlp")
    {
        return Err(af(
            StatusCode::FORBIDDEN,
            "AF10001",
            "The permission set () sent in the request does not include the expected permission ActivityFeed.Read.",
        ));
    }
    if !id.tid.eq_ignore_ascii_case(tenant) {
        return Err(af(
            StatusCode::BAD_REQUEST,
            "AF20010",
            format!(
                "The tenant ID passed in the URL ({tenant}) does not match the tenant ID passed in the access token ({}).",
                id.tid
            ),
        ));
    }
    if !state.audit_enabled.load(Ordering::Relaxed) {
        // Tenants without unified audit logging: the service does not know the tenant.
        return Err(af(
            StatusCode::BAD_REQUEST,
            "AF20012",
            format!(
                "Tenant {tenant} does not exist. Microsoft.Office.Compliance.Audit.DataServiceException: Tenant {tenant} does not exist."
            ),
        ));
    }
    Ok(())
}

fn content_type(q: &paging::QueryMap) -> Result<String, ApiError> {
    let Some(ct) = paging::param(q, "contentType") else {
        return Err(af(
            StatusCode::BAD_REQUEST,
            "AF20001",
            "A required parameter is missing: contentType.",
        ));
    };
    CONTENT_TYPES
        .iter()
        .find(|c| c.eq_ignore_ascii_case(ct))
        .map(|c| (*c).to_string())
        .ok_or_else(|| {
            af(
                StatusCode::BAD_REQUEST,
                "AF20020",
                format!("The specified content type is not valid: {ct}."),
            )
        })
}

fn respond(r: Result<Response, ApiError>) -> Response {
    r.unwrap_or_else(|e| e.family(Family::Management).into_response())
}

fn sub_json(ct: &str, s: &Subscription) -> Value {
    json!({"contentType": ct, "status": if s.enabled { "enabled" } else { "disabled" }, "webhook": s.webhook})
}

async fn start(
    AxState(state): AxState<AppState>,
    Extension(feed): Extension<Arc<Feed>>,
    Path(tenant): Path<String>,
    RawQuery(raw): RawQuery,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    respond((|| {
        guard(&state, &tenant, &headers)?;
        let ct = content_type(&paging::parse_query(raw.as_deref()))?;
        let v: Value =
            super::errors::parse_json(&body).map_err(|e| e.family(Family::Management))?;
        let webhook = match v.get("webhook") {
            Some(Value::Object(w)) => json!({
                "status": "enabled",
                "address": w.get("address").cloned().unwrap_or(Value::Null),
                "authId": w.get("authId").cloned().unwrap_or(Value::Null),
                "expiration": w.get("expiration").cloned().unwrap_or(Value::Null),
            }),
            _ => Value::Null,
        };
        let sub = Subscription {
            enabled: true,
            webhook,
        };
        let out = sub_json(&ct, &sub);
        lock(&feed.subscriptions).insert(ct, sub);
        Ok(Json(out).into_response())
    })())
}

async fn stop(
    AxState(state): AxState<AppState>,
    Extension(feed): Extension<Arc<Feed>>,
    Path(tenant): Path<String>,
    RawQuery(raw): RawQuery,
    headers: HeaderMap,
) -> Response {
    respond((|| {
        guard(&state, &tenant, &headers)?;
        let ct = content_type(&paging::parse_query(raw.as_deref()))?;
        let mut subs = lock(&feed.subscriptions);
        match subs.get_mut(&ct) {
            Some(s) => s.enabled = false,
            None => {
                return Err(af(
                    StatusCode::BAD_REQUEST,
                    "AF20022",
                    format!("No subscription found for the specified content type: {ct}."),
                ));
            }
        }
        Ok(StatusCode::OK.into_response())
    })())
}

/// Webhook notifications: this emulator never sends any, so the log is always empty.
async fn notifications(
    AxState(state): AxState<AppState>,
    Path(tenant): Path<String>,
    RawQuery(raw): RawQuery,
    headers: HeaderMap,
) -> Response {
    respond((|| {
        guard(&state, &tenant, &headers)?;
        content_type(&paging::parse_query(raw.as_deref()))?;
        Ok(Json(Value::Array(Vec::new())).into_response())
    })())
}

async fn list(
    AxState(state): AxState<AppState>,
    Extension(feed): Extension<Arc<Feed>>,
    Path(tenant): Path<String>,
    headers: HeaderMap,
) -> Response {
    respond((|| {
        guard(&state, &tenant, &headers)?;
        let subs = lock(&feed.subscriptions);
        let items: Vec<Value> = subs.iter().map(|(ct, s)| sub_json(ct, s)).collect();
        Ok(Json(Value::Array(items)).into_response())
    })())
}

/// Parses `YYYY-MM-DD[THH:MM[:SS[.fff]]][Z]` as UTC.
fn parse_time(s: &str) -> Option<DateTime<Utc>> {
    let s = s.trim().trim_end_matches('Z');
    for fmt in [
        "%Y-%m-%dT%H:%M:%S%.f",
        "%Y-%m-%dT%H:%M:%S",
        "%Y-%m-%dT%H:%M",
    ] {
        if let Ok(n) = NaiveDateTime::parse_from_str(s, fmt) {
            return Some(n.and_utc());
        }
    }
    NaiveDate::parse_from_str(s, "%Y-%m-%d")
        .ok()?
        .and_hms_opt(0, 0, 0)
        .map(|n| n.and_utc())
}

/// Validates the window (`AUDIT-LOGS.md` §1.2); no window means the last 24 hours.
fn window(
    q: &paging::QueryMap,
    now: DateTime<Utc>,
) -> Result<(DateTime<Utc>, DateTime<Utc>), ApiError> {
    match (paging::param(q, "startTime"), paging::param(q, "endTime")) {
        (None, None) => Ok((now - Duration::hours(24), now)),
        (Some(s), Some(e)) => {
            let (Some(s), Some(e)) = (parse_time(s), parse_time(e)) else {
                return Err(window_error());
            };
            if s >= e {
                return Err(af(
                    StatusCode::BAD_REQUEST,
                    "AF20055",
                    "Start time cannot be greater than or equal to end time.",
                ));
            }
            if e - s > Duration::hours(24) || s < now - Duration::days(7) {
                return Err(window_error());
            }
            Ok((s, e))
        }
        _ => Err(window_error()),
    }
}

fn blobs<'a>(feed: &'a Feed, state: &State) -> &'a BTreeMap<i64, Vec<usize>> {
    feed.blobs.get_or_init(|| {
        let t = state.tenant();
        let mut map: BTreeMap<i64, Vec<usize>> = BTreeMap::new();
        for (i, item) in t.audit.iter().enumerate() {
            let ts = item.available.timestamp();
            map.entry(ts - ts.rem_euclid(BUCKET_SECS))
                .or_default()
                .push(i);
        }
        map
    })
}

/// A blob becomes available at the end of its bucket.
fn created_of(bucket: i64) -> DateTime<Utc> {
    Utc.timestamp_opt(bucket + BUCKET_SECS, 0)
        .single()
        .unwrap_or_default()
}

fn millis(d: DateTime<Utc>) -> String {
    d.to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

fn content_id(bucket: i64) -> String {
    let ts = created_of(bucket).format("%Y%m%d%H%M%S%3f").to_string();
    format!("{ts}${ts}$audit_general$Audit_General$emu{bucket}")
}

fn bucket_of(content_id: &str) -> Option<i64> {
    content_id
        .rsplit_once("$emu")
        .and_then(|(_, b)| b.parse().ok())
}

async fn content(
    AxState(state): AxState<AppState>,
    Extension(feed): Extension<Arc<Feed>>,
    Path(tenant): Path<String>,
    RawQuery(raw): RawQuery,
    headers: HeaderMap,
) -> Response {
    respond((|| {
        guard(&state, &tenant, &headers)?;
        let q = paging::parse_query(raw.as_deref());
        let ct = content_type(&q)?;
        let enabled = lock(&feed.subscriptions)
            .get(&ct)
            .is_some_and(|s| s.enabled);
        if !enabled {
            return Err(af(
                StatusCode::BAD_REQUEST,
                "AF20022",
                format!("No subscription found for the specified content type: {ct}."),
            ));
        }
        let now = state.now();
        let (start, end) = window(&q, now)?;
        let offset = match paging::param(&q, "nextPage") {
            None => 0,
            Some(p) => p
                .rsplit_once('R')
                .and_then(|(_, n)| n.parse::<usize>().ok())
                .ok_or_else(|| {
                    af(
                        StatusCode::BAD_REQUEST,
                        "AF20031",
                        format!("Invalid nextPage value: {p}."),
                    )
                })?,
        };
        let base = state.base_url.trim_end_matches('/').to_string();
        // Filter on contentCreated: start inclusive, end exclusive, never later than now.
        let entries: Vec<Value> = if ct == GENERAL {
            blobs(&feed, &state)
                .keys()
                .map(|b| (*b, created_of(*b)))
                .filter(|(_, c)| *c >= start && *c < end && *c <= now)
                .map(|(b, c)| {
                    let id = content_id(b);
                    json!({
                        "contentType": ct,
                        "contentId": id,
                        "contentUri": format!("{base}/api/v1.0/{tenant}/activity/feed/audit/{id}"),
                        "contentCreated": millis(c),
                        "contentExpiration": millis(c + Duration::days(7)),
                    })
                })
                .collect()
        } else {
            Vec::new()
        };
        let from = offset.min(entries.len());
        let to = (from + PAGE_SIZE).min(entries.len());
        let page: Vec<Value> = entries[from..to].to_vec();
        let mut resp = Json(Value::Array(page)).into_response();
        if to < entries.len() {
            let mut ser = url::form_urlencoded::Serializer::new(String::new());
            ser.append_pair("contentType", &ct);
            ser.append_pair("startTime", &start.format("%Y-%m-%dT%H:%M:%S").to_string());
            ser.append_pair("endTime", &end.format("%Y-%m-%dT%H:%M:%S").to_string());
            if let Some(p) = paging::param(&q, "PublisherIdentifier") {
                ser.append_pair("PublisherIdentifier", p);
            }
            ser.append_pair(
                "nextPage",
                &format!("{}R{to:012}", start.format("%Y%m%d%H")),
            );
            let uri = format!(
                "{base}/api/v1/{tenant}/activity/feed/subscriptions/content?{}",
                ser.finish()
            );
            if let Ok(v) = HeaderValue::from_str(&uri) {
                resp.headers_mut().insert("NextPageUri", v);
            }
        }
        Ok(resp)
    })())
}

async fn blob(
    AxState(state): AxState<AppState>,
    Extension(feed): Extension<Arc<Feed>>,
    Path((tenant, id)): Path<(String, String)>,
    headers: HeaderMap,
) -> Response {
    if !state.blob_gate.pass().await {
        return super::gate::aborted().into_response();
    }
    respond((|| {
        guard(&state, &tenant, &headers)?;
        let bucket = bucket_of(&id).ok_or_else(|| {
            af(
                StatusCode::BAD_REQUEST,
                "AF20052",
                format!("Content ID {id} in the URL is invalid."),
            )
        })?;
        let created = created_of(bucket);
        let now = state.now();
        let Some(indices) = blobs(&feed, &state).get(&bucket).filter(|_| created <= now) else {
            return Err(af(
                StatusCode::NOT_FOUND,
                "AF20050",
                format!("The specified content ({id}) does not exist."),
            ));
        };
        if created < now - Duration::days(7) {
            return Err(af(
                StatusCode::BAD_REQUEST,
                "AF20051",
                format!(
                    "Content requested with the key {id} has already expired. Content older than 7 days cannot be retrieved."
                ),
            ));
        }
        let t = state.tenant();
        let mut records: Vec<&RawValue> = indices
            .iter()
            .filter_map(|i| t.audit.get(*i))
            .map(|a| a.record.raw())
            .collect();
        // Events inside a blob are not in time order; shuffle deterministically.
        let mut rng = ChaCha8Rng::seed_from_u64(t.seed ^ (bucket as u64));
        records.shuffle(&mut rng);
        // Written straight from the stored text: no `Value` per record.
        super::common::ok_serialized(&records)
    })())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn window_rules() {
        let now = parse_time("2026-03-10T12:00:00Z").unwrap();
        let q = |s: &str, e: &str| {
            let mut m = paging::QueryMap::new();
            if !s.is_empty() {
                m.insert("startTime".into(), s.into());
            }
            if !e.is_empty() {
                m.insert("endTime".into(), e.into());
            }
            m
        };
        assert!(window(&q("2026-03-10T00:00", "2026-03-10T06:00"), now).is_ok());
        assert_eq!(
            window(&q("2026-03-10T00:00", ""), now).unwrap_err().code,
            "AF20030"
        );
        assert_eq!(
            window(&q("2026-03-08T00:00", "2026-03-09T06:00"), now)
                .unwrap_err()
                .code,
            "AF20030"
        );
        assert_eq!(
            window(&q("2026-03-01T00:00", "2026-03-01T06:00"), now)
                .unwrap_err()
                .code,
            "AF20030"
        );
        assert_eq!(
            window(&q("2026-03-10T06:00", "2026-03-10T06:00"), now)
                .unwrap_err()
                .code,
            "AF20055"
        );
        assert_eq!(window(&q("", ""), now).unwrap().1, now);
        assert_eq!(bucket_of(&content_id(900)), Some(900));
    }
}
