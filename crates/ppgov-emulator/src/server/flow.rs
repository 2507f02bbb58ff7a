//! Flow admin (`/providers/Microsoft.ProcessSimple`): list (F1, v2 and legacy path), get with
//! definition (F2), delete, stop/start (F3), permissions (F4/F5) and run history (F6) materialised
//! from each flow's `RunPlan`, newest first, 50 per page, with `$filter` on `status eq '...'` and
//! `startTime ge <iso>`.

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State as AxState};
use axum::http::{HeaderMap, StatusCode, Uri};
use axum::response::IntoResponse;
use axum::routing::{get, post};
use chrono::{DateTime, Utc};
use serde_json::{Value, json};

use super::auth::{self, AUD_FLOW};
use serde::Serialize;
use serde_json::value::RawValue;

use super::common::{ApiResult, admin, object_body, ok_serialized, principal_id};
use super::errors::{ApiError, Family, parse_json};
use super::paging::{
    bap_page_raw, bap_page_ser, page, param, parse_query, range, slice, value_of_raw,
};
use super::state::{AppState, State, read};
use super::store::{StoredFlow, permission_list};
use crate::tenant::RunPlan;

const FL: &str = "/providers/Microsoft.ProcessSimple";
/// Default and maximum page size of the admin flows list.
pub const FLOWS_PAGE: (usize, usize) = (50, 250);
/// Default and maximum page size of the runs list.
pub const RUNS_PAGE: (usize, usize) = (50, 250);

/// The family's routes.
pub fn routes() -> Router<AppState> {
    let fle = format!("{FL}/scopes/admin/environments");
    Router::new()
        .route(&format!("{fle}/{{env}}/v2/flows"), get(list_flows))
        .route(&format!("{fle}/{{env}}/flows"), get(list_flows))
        .route(
            &format!("{fle}/{{env}}/flows/{{flow}}"),
            get(get_flow).delete(delete_flow),
        )
        .route(
            &format!("{fle}/{{env}}/v2/flows/{{flow}}"),
            get(get_flow).delete(delete_flow),
        )
        .route(
            &format!("{fle}/{{env}}/flows/{{flow}}/stop"),
            post(stop_flow),
        )
        .route(
            &format!("{fle}/{{env}}/flows/{{flow}}/start"),
            post(start_flow),
        )
        .route(
            &format!("{fle}/{{env}}/flows/{{flow}}/permissions"),
            get(flow_permissions),
        )
        .route(
            &format!("{fle}/{{env}}/flows/{{flow}}/modifyPermissions"),
            post(modify_permissions),
        )
        .route(
            &format!("{fle}/{{env}}/flows/{{flow}}/runs"),
            get(list_runs),
        )
        .route(
            &format!("{FL}/environments/{{env}}/flows/{{flow}}/runs"),
            get(list_runs_user),
        )
}

fn fl(e: ApiError) -> ApiError {
    e.family(Family::Flow)
}

fn env_idx(state: &State, headers: &HeaderMap, uri: &Uri, env: &str) -> Result<usize, ApiError> {
    admin(state, headers, AUD_FLOW, uri.path(), Family::Flow)?;
    state
        .env_index(env)
        .ok_or_else(|| fl(ApiError::env_not_found(env)))
}

fn name_of(doc: &Value) -> &str {
    doc.get("name").and_then(Value::as_str).unwrap_or("")
}

fn flow_not_found(flow: &str) -> ApiError {
    fl(ApiError::not_found(
        "FlowNotFound",
        format!("Could not find flow '{flow}'."),
    ))
}

fn with_flow<R>(
    state: &State,
    idx: usize,
    flow: &str,
    f: impl FnOnce(&StoredFlow) -> R,
) -> Result<R, ApiError> {
    let content = state.env_content(idx);
    let c = read(&content);
    c.flow(flow).map(f).ok_or_else(|| flow_not_found(flow))
}

async fn list_flows(
    AxState(state): AxState<AppState>,
    headers: HeaderMap,
    uri: Uri,
    Path(env): Path<String>,
    RawQuery(raw): RawQuery,
) -> ApiResult {
    let idx = env_idx(&state, &headers, &uri, &env)?;
    let q = parse_query(raw.as_deref());
    let p = page(&q, FLOWS_PAGE.0, FLOWS_PAGE.1).map_err(fl)?;
    let content = state.env_content(idx);
    let c = read(&content);
    let (r, next) = range(c.flows().len(), p);
    let items: Vec<&RawValue> = c.flows()[r].iter().map(|f| f.doc.raw()).collect();
    bap_page_raw(&state.base_url, uri.path(), &q, &items, next)
}

async fn get_flow(
    AxState(state): AxState<AppState>,
    headers: HeaderMap,
    uri: Uri,
    Path((env, flow)): Path<(String, String)>,
) -> ApiResult {
    let idx = env_idx(&state, &headers, &uri, &env)?;
    let doc = with_flow(&state, idx, &flow, |r| {
        r.doc.with_property("definition", r.definition.raw())
    })?;
    state
        .flow_definition_reads
        .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    // The list writes whole seconds; the single-flow GET writes seven fractional digits (as the
    // CLI for Microsoft 365's recorded responses show), the same instant at a finer precision.
    let mut v = doc.value();
    if let Some(props) = v.get_mut("properties").and_then(Value::as_object_mut) {
        for key in ["createdTime", "lastModifiedTime"] {
            if let Some(t) = props.get(key).and_then(Value::as_str) {
                let t = seven_digits(t, &flow, key);
                props.insert(key.into(), json!(t));
            }
        }
    }
    ok_serialized(&v)
}

/// `2026-01-02T03:04:05Z` -> `2026-01-02T03:04:05.1234567Z`, the fraction fixed per flow and
/// field (a time that already has a fraction is padded or cut to seven digits).
pub fn seven_digits(t: &str, flow: &str, field: &str) -> String {
    let Some(body) = t.strip_suffix('Z') else {
        return t.to_string();
    };
    let (secs, frac) = body.split_once('.').unwrap_or((body, ""));
    let digits = if frac.is_empty() {
        let h = flow
            .bytes()
            .chain(field.bytes())
            .fold(0xcbf2_9ce4_8422_2325u64, |h, b| {
                (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
            });
        format!("{:07}", h % 10_000_000)
    } else {
        format!("{frac:0<7}").chars().take(7).collect()
    };
    format!("{secs}.{digits}Z")
}

async fn delete_flow(
    AxState(state): AxState<AppState>,
    headers: HeaderMap,
    uri: Uri,
    Path((env, flow)): Path<(String, String)>,
) -> ApiResult {
    let idx = env_idx(&state, &headers, &uri, &env)?;
    with_flow(&state, idx, &flow, |_| ())?;
    state.env_content_mut(idx, |c| {
        c.remove_flow(&flow);
    });
    Ok(StatusCode::OK.into_response())
}

fn set_state(state: &State, idx: usize, flow: &str, to: &str) -> ApiResult {
    with_flow(state, idx, flow, |_| ())?;
    // Lists write whole seconds (the GET adds the fraction).
    let now = state
        .now()
        .to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    state.env_content_mut(idx, |c| {
        if let Some(r) = c.flow_mut(flow) {
            r.doc.update(|doc| {
                if let Some(props) = doc.get_mut("properties").and_then(Value::as_object_mut) {
                    props.insert("state".into(), json!(to));
                    props.insert("lastModifiedTime".into(), json!(now));
                }
            });
        }
    });
    Ok(StatusCode::OK.into_response())
}

async fn stop_flow(
    AxState(state): AxState<AppState>,
    headers: HeaderMap,
    uri: Uri,
    Path((env, flow)): Path<(String, String)>,
    body: Bytes,
) -> ApiResult {
    let idx = env_idx(&state, &headers, &uri, &env)?;
    let _: Value = parse_json(&body).map_err(fl)?;
    set_state(&state, idx, &flow, "Stopped")
}

async fn start_flow(
    AxState(state): AxState<AppState>,
    headers: HeaderMap,
    uri: Uri,
    Path((env, flow)): Path<(String, String)>,
    body: Bytes,
) -> ApiResult {
    let idx = env_idx(&state, &headers, &uri, &env)?;
    let _: Value = parse_json(&body).map_err(fl)?;
    set_state(&state, idx, &flow, "Started")
}

async fn flow_permissions(
    AxState(state): AxState<AppState>,
    headers: HeaderMap,
    uri: Uri,
    Path((env, flow)): Path<(String, String)>,
) -> ApiResult {
    let idx = env_idx(&state, &headers, &uri, &env)?;
    let content = state.env_content(idx);
    let c = read(&content);
    let r = c.flow(&flow).ok_or_else(|| flow_not_found(&flow))?;
    value_of_raw(r.permissions.raw())
}

async fn modify_permissions(
    AxState(state): AxState<AppState>,
    headers: HeaderMap,
    uri: Uri,
    Path((env, flow)): Path<(String, String)>,
    body: Bytes,
) -> ApiResult {
    let idx = env_idx(&state, &headers, &uri, &env)?;
    let req: Value = parse_json(&body).map_err(fl)?;
    object_body(&req).map_err(fl)?;
    let mut perms = permission_list(with_flow(&state, idx, &flow, |r| r.permissions.value())?);
    let env_name = state.env_spec(&env).map(|s| s.name).unwrap_or(env);
    for item in req
        .get("put")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        let Some(pid) = principal_id(item).map(str::to_string) else {
            return Err(fl(ApiError::bad_request(
                "Each 'put' item needs properties.principal.id.",
            )));
        };
        let role = item
            .pointer("/properties/roleName")
            .and_then(Value::as_str)
            .unwrap_or("CanEdit");
        if !matches!(role, "Owner" | "CanEdit" | "CanView") {
            return Err(fl(ApiError::bad_request(format!(
                "Unknown roleName '{role}'; use CanEdit or CanView."
            ))));
        }
        let ptype = item
            .pointer("/properties/principal/type")
            .and_then(Value::as_str)
            .unwrap_or("User");
        perms.retain(|p| principal_id(p).is_none_or(|x| !x.eq_ignore_ascii_case(&pid)));
        perms.push(json!({
            "name": pid,
            "id": format!("{FL}/environments/{env_name}/flows/{flow}/permissions/{pid}"),
            "type": "/providers/Microsoft.ProcessSimple/environments/flows/permissions",
            "properties": {"roleName": role, "permissionType": "Principal", "principal": {"id": pid, "type": ptype}}
        }));
    }
    for item in req
        .get("delete")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        let id = item.get("id").and_then(Value::as_str).unwrap_or("");
        let tail = id.rsplit('/').next().unwrap_or(id).to_string();
        perms.retain(|p| {
            !(name_of(p).eq_ignore_ascii_case(&tail)
                || principal_id(p).is_some_and(|x| x.eq_ignore_ascii_case(&tail)))
        });
    }
    state.env_content_mut(idx, |c| {
        if let Some(r) = c.flow_mut(&flow) {
            r.permissions.set(&Value::Array(perms));
        }
    });
    Ok(StatusCode::OK.into_response())
}

/// A parsed runs `$filter`.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct RunFilter {
    /// `status eq '...'`.
    pub status: Option<String>,
    /// `startTime ge <iso>`.
    pub since: Option<DateTime<Utc>>,
}

/// Parses `status eq 'Failed' and startTime ge 2024-01-01T00:00:00Z` (either clause alone too).
pub fn parse_run_filter(f: &str) -> Result<RunFilter, ApiError> {
    let mut out = RunFilter::default();
    for clause in f.split(" and ").map(str::trim).filter(|c| !c.is_empty()) {
        let parts: Vec<&str> = clause.splitn(3, ' ').collect();
        let [field, op, value] = parts.as_slice() else {
            return Err(ApiError::bad_request(format!(
                "The $filter clause '{clause}' is not supported."
            )));
        };
        let value = value.trim().trim_matches('\'');
        match (
            field.to_ascii_lowercase().as_str(),
            op.to_ascii_lowercase().as_str(),
        ) {
            ("status", "eq") => out.status = Some(value.to_string()),
            ("starttime", "ge") => {
                let t = DateTime::parse_from_rfc3339(value).map_err(|_| {
                    ApiError::bad_request(format!(
                        "The value '{value}' is not a valid ISO 8601 date-time."
                    ))
                })?;
                out.since = Some(t.with_timezone(&Utc));
            }
            _ => {
                return Err(ApiError::bad_request(format!(
                    "The $filter clause '{clause}' is not supported; use status eq '...' and startTime ge <date-time>."
                )));
            }
        }
    }
    Ok(out)
}

fn run_name(flow: &str, i: u32) -> String {
    // Deterministic, shaped like the real ones (08585...CU62), unique per flow and run.
    let h = flow
        .bytes()
        .fold(0u64, |a, b| a.wrapping_mul(31).wrapping_add(u64::from(b)));
    format!(
        "0858{:015}{:06}CU{:02}",
        h % 1_000_000_000_000_000,
        i,
        h % 97
    )
}

/// A run document (F6 item). A struct rather than `json!` because run pages are a hot path of a
/// crawl: it serialises without building a tree. Field order is the wire order.
#[derive(Serialize)]
struct RunDoc<'a> {
    name: &'a str,
    id: String,
    #[serde(rename = "type")]
    kind: &'static str,
    properties: RunProps<'a>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct RunProps<'a> {
    start_time: String,
    end_time: String,
    status: &'static str,
    correlation: Correlation,
    trigger: RunTrigger<'a>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Correlation {
    client_tracking_id: String,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct RunTrigger<'a> {
    name: &'a str,
    inputs_link: ContentLink,
    outputs_link: ContentLink,
    start_time: String,
    end_time: String,
    code: &'static str,
    status: &'static str,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ContentLink {
    uri: String,
    content_version: &'static str,
    content_size: u32,
}

/// Serialisable run document `i` of `flow`; `name` is its [`run_name`].
fn run_doc<'a>(
    env: &str,
    flow: &str,
    trigger: &'a str,
    name: &'a str,
    (i, start, failed): (u32, DateTime<Utc>, bool),
) -> RunDoc<'a> {
    let end = start + chrono::Duration::seconds(3 + i64::from(i % 40));
    let ts = |d: DateTime<Utc>| d.to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
    let link = |what: &str, size: u32| ContentLink {
        uri: format!(
            "https://prod-00.westeurope.logic.azure.com/workflows/{flow}/runs/{name}/contents/{what}"
        ),
        content_version: "1",
        content_size: size,
    };
    RunDoc {
        name,
        id: format!("{FL}/environments/{env}/flows/{flow}/runs/{name}"),
        kind: "Microsoft.ProcessSimple/environments/flows/runs",
        properties: RunProps {
            start_time: ts(start),
            end_time: ts(end),
            status: if failed { "Failed" } else { "Succeeded" },
            correlation: Correlation {
                client_tracking_id: format!("{name}-{i}"),
            },
            trigger: RunTrigger {
                name: trigger,
                inputs_link: link("TriggerInputs", 512),
                outputs_link: link("TriggerOutputs", 1024),
                start_time: ts(start),
                end_time: ts(start),
                code: "OK",
                status: "Succeeded",
            },
        },
    }
}

/// Indices of the runs matching `filter`, newest first.
fn matching_runs(plan: &RunPlan, filter: &RunFilter) -> Vec<(u32, DateTime<Utc>, bool)> {
    let mut out = Vec::new();
    for i in 0..plan.runs {
        let Some((start, failed)) = plan.run(i) else {
            break;
        };
        if filter.since.is_some_and(|s| start < s) {
            break; // newest first: everything after is older
        }
        let status = if failed { "Failed" } else { "Succeeded" };
        if filter
            .status
            .as_deref()
            .is_some_and(|s| !s.eq_ignore_ascii_case(status))
        {
            continue;
        }
        out.push((i, start, failed));
    }
    out
}

fn runs(
    state: &State,
    uri: &Uri,
    idx: usize,
    env: &str,
    flow: &str,
    raw: Option<&str>,
) -> ApiResult {
    let q = parse_query(raw);
    let p = page(&q, RUNS_PAGE.0, RUNS_PAGE.1).map_err(fl)?;
    let filter = param(&q, "$filter")
        .map(parse_run_filter)
        .transpose()
        .map_err(fl)?
        .unwrap_or_default();
    let (plan, trigger) = with_flow(state, idx, flow, |r| (r.runs, r.trigger.clone()))?;
    let env_name = state.env_name(idx).unwrap_or_else(|| env.to_string());
    let all = matching_runs(&plan, &filter);
    let (chunk, next) = slice(&all, p);
    let names: Vec<String> = chunk.iter().map(|(i, _, _)| run_name(flow, *i)).collect();
    let items: Vec<RunDoc<'_>> = chunk
        .into_iter()
        .zip(&names)
        .map(|(run, name)| run_doc(&env_name, flow, &trigger, name, run))
        .collect();
    bap_page_ser(&state.base_url, uri.path(), &q, &items, next)
}

async fn list_runs(
    AxState(state): AxState<AppState>,
    headers: HeaderMap,
    uri: Uri,
    Path((env, flow)): Path<(String, String)>,
    RawQuery(raw): RawQuery,
) -> ApiResult {
    let idx = env_idx(&state, &headers, &uri, &env)?;
    runs(&state, &uri, idx, &env, &flow, raw.as_deref())
}

/// The non-admin runs path: a user token for the Flow audience is enough.
async fn list_runs_user(
    AxState(state): AxState<AppState>,
    headers: HeaderMap,
    uri: Uri,
    Path((env, flow)): Path<(String, String)>,
    RawQuery(raw): RawQuery,
) -> ApiResult {
    auth::require(&state, &headers, AUD_FLOW).map_err(fl)?;
    let idx = state
        .env_index(&env)
        .ok_or_else(|| fl(ApiError::env_not_found(&env)))?;
    runs(&state, &uri, idx, &env, &flow, raw.as_deref())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn run_filter_parses_both_clauses() {
        let f =
            parse_run_filter("status eq 'Failed' and startTime ge 2026-01-01T00:00:00Z").unwrap();
        assert_eq!(f.status.as_deref(), Some("Failed"));
        assert!(f.since.is_some());
        assert!(parse_run_filter("name eq 'x'").is_err());
        assert!(parse_run_filter("startTime ge yesterday").is_err());
    }

    #[test]
    fn run_documents_keep_the_wire_shape_and_order() {
        let start = DateTime::parse_from_rfc3339("2026-03-01T10:00:00Z")
            .unwrap()
            .with_timezone(&Utc);
        let name = run_name("f1", 7);
        let got =
            serde_json::to_string(&run_doc("e1", "f1", "manual", &name, (7, start, true))).unwrap();
        let end = "2026-03-01T10:00:10.000Z";
        let begin = "2026-03-01T10:00:00.000Z";
        let expected = json!({
            "name": name,
            "id": format!("{FL}/environments/e1/flows/f1/runs/{name}"),
            "type": "Microsoft.ProcessSimple/environments/flows/runs",
            "properties": {
                "startTime": begin, "endTime": end, "status": "Failed",
                "correlation": {"clientTrackingId": format!("{name}-7")},
                "trigger": {"name": "manual",
                    "inputsLink": {"uri": format!("https://prod-00.westeurope.logic.azure.com/workflows/f1/runs/{name}/contents/TriggerInputs"), "contentVersion": "1", "contentSize": 512},
                    "outputsLink": {"uri": format!("https://prod-00.westeurope.logic.azure.com/workflows/f1/runs/{name}/contents/TriggerOutputs"), "contentVersion": "1", "contentSize": 1024},
                    "startTime": begin, "endTime": begin, "code": "OK", "status": "Succeeded"}
            }
        });
        assert_eq!(got, serde_json::to_string(&expected).unwrap());
    }

    #[test]
    fn failed_filter_counts_match_the_plan() {
        let now = Utc::now();
        let plan = RunPlan {
            runs: 120,
            failed: 30,
            newest: Some(now),
            oldest: Some(now - chrono::Duration::days(10)),
        };
        let failed = matching_runs(
            &plan,
            &RunFilter {
                status: Some("Failed".into()),
                since: None,
            },
        );
        assert_eq!(failed.len(), 30);
        let recent = matching_runs(
            &plan,
            &RunFilter {
                status: None,
                since: Some(now - chrono::Duration::days(5)),
            },
        );
        assert!(recent.len() > 50 && recent.len() < 70, "{}", recent.len());
    }
}
