//! The Dataverse Web API of every Dataverse environment, under
//! `/dataverse/{domainName}/api/data/v9.2/` (REFERENCE §4.7): `systemusers`, `roles`,
//! `businessunits`, `organizations`, `teams` (owner and Microsoft Entra group teams, their roles
//! through `teamroles_association`, read-only), role association through
//! `systemuserroles_association/$ref`,
//! OData paging with `Prefer: odata.maxpagesize`. Writes go to the server's pinned env content.

pub(crate) mod odata;

use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State as AxState};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::any;
use axum::{Json, Router};
use serde_json::{Map, Value, json};

use crate::tenant::DataverseData;

use super::auth::require;
use super::errors::{ApiError, Family};
use super::paging::{self, QueryMap};
use super::state::{AppState, State, read};

/// Template id of System Administrator (the same in every org and business unit).
pub const SYSTEM_ADMIN_TEMPLATE_ID: &str = "627090ff-40a3-4053-8790-584edc5be201";
/// The association between users and roles.
const USER_ROLES: &str = "systemuserroles_association";
/// The association between teams and roles.
const TEAM_ROLES: &str = "teamroles_association";

/// The entity set a navigation property of `set` leads to, when it is served.
fn nav_target(set: &str, nav: &str) -> Option<&'static str> {
    match (set, nav) {
        ("systemusers", USER_ROLES) | ("teams", TEAM_ROLES) => Some("roles"),
        ("roles", USER_ROLES) => Some("systemusers"),
        ("roles", TEAM_ROLES) => Some("teams"),
        _ => None,
    }
}
/// Largest page Dataverse serves.
const MAX_PAGE: usize = 5000;

/// The Dataverse routes.
pub fn routes() -> Router<AppState> {
    Router::new().route(
        "/dataverse/{domain}/api/data/{version}/{*rest}",
        any(handle),
    )
}

/// The entity sets served, with their primary keys.
fn key_of(set: &str) -> Option<&'static str> {
    match set {
        "systemusers" => Some("systemuserid"),
        "roles" => Some("roleid"),
        "businessunits" => Some("businessunitid"),
        "organizations" => Some("organizationid"),
        "teams" => Some("teamid"),
        _ => None,
    }
}

fn entity_name(set: &str) -> &str {
    match set {
        "systemusers" => "systemuser",
        "roles" => "role",
        "businessunits" => "businessunit",
        "organizations" => "organization",
        "teams" => "team",
        other => other,
    }
}

fn rows_of<'a>(d: &'a DataverseData, set: &str) -> Vec<&'a Value> {
    match set {
        "systemusers" => d.system_users.iter().collect(),
        "roles" => d.roles.iter().collect(),
        "businessunits" => d.business_units.iter().collect(),
        "organizations" => vec![&d.organization],
        "teams" => d.teams.iter().collect(),
        _ => Vec::new(),
    }
}

fn rows_of_mut<'a>(d: &'a mut DataverseData, set: &str) -> Vec<&'a mut Value> {
    match set {
        "systemusers" => d.system_users.iter_mut().collect(),
        "roles" => d.roles.iter_mut().collect(),
        "businessunits" => d.business_units.iter_mut().collect(),
        "organizations" => vec![&mut d.organization],
        "teams" => d.teams.iter_mut().collect(),
        _ => Vec::new(),
    }
}

fn id_of(row: &Value, key: &str) -> String {
    row.get(key)
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string()
}

fn same_id(a: &str, b: &str) -> bool {
    a.eq_ignore_ascii_case(b)
}

/// Rows related to `row` of `set` through navigation property `nav`.
fn related(d: &DataverseData, set: &str, row: &Value, nav: &str) -> Vec<Value> {
    if nav == TEAM_ROLES {
        return team_related(d, set, row);
    }
    if nav != USER_ROLES {
        return Vec::new();
    }
    match set {
        "systemusers" => {
            let uid = id_of(row, "systemuserid");
            d.user_roles
                .iter()
                .filter(|(u, _)| same_id(u, &uid))
                .filter_map(|(_, r)| {
                    d.roles
                        .iter()
                        .find(|x| same_id(&id_of(x, "roleid"), r))
                        .cloned()
                })
                .collect()
        }
        "roles" => {
            let rid = id_of(row, "roleid");
            d.user_roles
                .iter()
                .filter(|(_, r)| same_id(r, &rid))
                .filter_map(|(u, _)| {
                    d.system_users
                        .iter()
                        .find(|x| same_id(&id_of(x, "systemuserid"), u))
                        .cloned()
                })
                .collect()
        }
        _ => Vec::new(),
    }
}

/// Rows related through `teamroles_association`: a team's roles, or a role's teams.
fn team_related(d: &DataverseData, set: &str, row: &Value) -> Vec<Value> {
    let find_in = |rows: &[Value], key: &str, id: &str| {
        rows.iter().find(|x| same_id(&id_of(x, key), id)).cloned()
    };
    match set {
        "teams" => {
            let tid = id_of(row, "teamid");
            d.team_roles
                .iter()
                .filter(|(t, _)| same_id(t, &tid))
                .filter_map(|(_, r)| find_in(&d.roles, "roleid", r))
                .collect()
        }
        "roles" => {
            let rid = id_of(row, "roleid");
            d.team_roles
                .iter()
                .filter(|(_, r)| same_id(r, &rid))
                .filter_map(|(t, _)| find_in(&d.teams, "teamid", t))
                .collect()
        }
        _ => Vec::new(),
    }
}

fn dv_err(status: StatusCode, code: &str, message: impl Into<String>) -> ApiError {
    ApiError::new(status, code, message).family(Family::Dataverse)
}

fn not_found_segment(seg: &str) -> ApiError {
    dv_err(
        StatusCode::NOT_FOUND,
        "0x80060888",
        format!("Resource not found for the segment '{seg}'."),
    )
}

fn not_found_row(set: &str, id: &str) -> ApiError {
    dv_err(
        StatusCode::NOT_FOUND,
        "0x80040217",
        format!("{} With Id = {id} Does Not Exist", entity_name(set)),
    )
}

/// One parsed path segment: `name` or `name(key)`.
#[derive(Debug, Clone)]
struct Segment {
    name: String,
    key: Option<String>,
}

fn parse_segment(s: &str) -> Segment {
    match s.split_once('(') {
        Some((name, rest)) => {
            let key = rest.trim_end_matches(')').trim_matches('\'').to_string();
            Segment {
                name: name.to_string(),
                key: Some(key),
            }
        }
        None => Segment {
            name: s.to_string(),
            key: None,
        },
    }
}

/// The trailing `roles(<id>)` / `systemusers(<id>)` of an `@odata.id` or `$id` URL.
fn key_from_url(url: &str, set: &str) -> Option<String> {
    let pos = url.rfind(&format!("{set}("))?;
    let rest = &url[pos + set.len() + 1..];
    Some(rest.split(')').next()?.trim_matches('\'').to_string())
}

struct Ctx {
    state: AppState,
    index: usize,
    domain: String,
    version: String,
    query: QueryMap,
    headers: HeaderMap,
}

impl Ctx {
    fn api_root(&self) -> String {
        format!(
            "{}/dataverse/{}/api/data/{}",
            self.state.base_url.trim_end_matches('/'),
            self.domain,
            self.version
        )
    }
}

fn env_by_domain(state: &State, domain: &str) -> Option<usize> {
    let t = state.tenant();
    t.environments
        .iter()
        .find(|e| {
            e.has_dataverse
                && e.doc
                    .pointer("/properties/linkedEnvironmentMetadata/domainName")
                    .and_then(Value::as_str)
                    .is_some_and(|d| d.eq_ignore_ascii_case(domain))
        })
        .map(|e| e.index)
}

async fn handle(
    AxState(state): AxState<AppState>,
    Path((domain, version, rest)): Path<(String, String, String)>,
    method: Method,
    RawQuery(raw): RawQuery,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    match dispatch(state, domain, version, rest, method, raw, headers, body) {
        Ok(r) => r,
        Err(e) => e.family(Family::Dataverse).into_response(),
    }
}

#[allow(clippy::too_many_arguments)]
fn dispatch(
    state: AppState,
    domain: String,
    version: String,
    rest: String,
    method: Method,
    raw: Option<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    if !matches!(version.as_str(), "v9.0" | "v9.1" | "v9.2") {
        return Err(not_found_segment(&version));
    }
    let Some(index) = env_by_domain(&state, &domain) else {
        return Err(dv_err(
            StatusCode::NOT_FOUND,
            "0x80040220",
            format!("The organization '{domain}' does not exist."),
        ));
    };
    // Dataverse tokens are issued for the instance origin (`scheme://host`).
    let audience = state.base_url.trim_end_matches('/').to_string();
    let caller = require(&state, &headers, &audience)?;
    let segments: Vec<Segment> = rest
        .split('/')
        .filter(|s| !s.is_empty())
        .map(parse_segment)
        .collect();
    let query = paging::parse_query(raw.as_deref());
    let ctx = Ctx {
        state,
        index,
        domain,
        version,
        query,
        headers,
    };
    let Some(first) = segments.first().cloned() else {
        return Err(not_found_segment(""));
    };
    if first.name == "WhoAmI" && method == Method::GET && segments.len() == 1 {
        return who_am_i(&ctx, &caller.oid);
    }
    if key_of(&first.name).is_none() {
        return Err(not_found_segment(&first.name));
    }
    let is_ref = segments.last().is_some_and(|s| s.name == "$ref");
    match (method, segments.len(), is_ref) {
        (Method::GET, 1, _) if first.key.is_none() => list(&ctx, &first.name),
        (Method::GET, 1, _) => get_one(&ctx, &first),
        (Method::GET, 2, false) => list_related(&ctx, &first, &segments[1]),
        (Method::PATCH, 1, _) if first.key.is_some() => patch(&ctx, &first, &body),
        (Method::POST, 3, true) => associate(&ctx, &first, &segments[1], &body),
        (Method::DELETE, 3, true) => disassociate(&ctx, &first, &segments[1]),
        (m, _, _) => Err(dv_err(
            StatusCode::METHOD_NOT_ALLOWED,
            "0x80060888",
            format!("The HTTP method '{m}' is not supported on '{rest}'."),
        )),
    }
}

/// Reads the environment's Dataverse data.
fn with_data<R>(
    ctx: &Ctx,
    f: impl FnOnce(&DataverseData) -> Result<R, ApiError>,
) -> Result<R, ApiError> {
    let content = ctx.state.env_content(ctx.index);
    let guard = read(&content);
    match guard.dataverse() {
        Some(d) => f(d),
        None => Err(dv_err(
            StatusCode::NOT_FOUND,
            "0x80040220",
            "The organization has no Dataverse database.",
        )),
    }
}

fn present(
    d: &DataverseData,
    set: &str,
    row: &Value,
    ctx: &Ctx,
    expand: &[(String, Option<Vec<String>>)],
) -> Result<Value, ApiError> {
    let key = key_of(set).unwrap_or("id");
    let select = odata::select_list(paging::param(&ctx.query, "$select"));
    let mut out = odata::project(row, select.as_deref(), key);
    for (nav, nav_select) in expand {
        let Some(target) = nav_target(set, nav) else {
            return Err(odata::bad(format!(
                "Could not find a property named '{nav}' on type 'Microsoft.Dynamics.CRM.{}'.",
                entity_name(set)
            )));
        };
        let tkey = key_of(target).unwrap_or("id");
        let items: Vec<Value> = related(d, set, row, nav)
            .iter()
            .map(|r| Value::Object(odata::project(r, nav_select.as_deref(), tkey)))
            .collect();
        out.insert(nav.clone(), Value::Array(items));
    }
    Ok(Value::Object(out))
}

fn context_url(ctx: &Ctx, set: &str, entity: bool) -> String {
    let select = paging::param(&ctx.query, "$select")
        .map(|s| format!("({s})"))
        .unwrap_or_default();
    let suffix = if entity { "/$entity" } else { "" };
    format!("{}/$metadata#{set}{select}{suffix}", ctx.api_root())
}

/// Page size from `Prefer: odata.maxpagesize=N` (default and max 5000), and whether it was asked for.
fn max_page_size(headers: &HeaderMap) -> (usize, bool) {
    for v in headers.get_all("prefer") {
        let Ok(s) = v.to_str() else { continue };
        for part in s.split(',') {
            if let Some(n) = part.trim().strip_prefix("odata.maxpagesize=")
                && let Ok(n) = n.trim().trim_matches('"').parse::<usize>()
            {
                return (n.clamp(1, MAX_PAGE), true);
            }
        }
    }
    (MAX_PAGE, false)
}

fn filtered(
    d: &DataverseData,
    set: &str,
    ctx: &Ctx,
    rows: Vec<Value>,
) -> Result<Vec<Value>, ApiError> {
    let Some(raw) = paging::param(&ctx.query, "$filter") else {
        return Ok(rows);
    };
    let f = odata::parse_filter(raw)?;
    let nav = |row: &Value, name: &str| related(d, set, row, name);
    Ok(rows
        .into_iter()
        .filter(|r| odata::matches(&f, r, &nav))
        .collect())
}

fn respond_collection(
    ctx: &Ctx,
    set: &str,
    context_set: &str,
    path: &str,
    rows: Vec<Value>,
    d: &DataverseData,
) -> Result<Response, ApiError> {
    let expand = odata::parse_expand(paging::param(&ctx.query, "$expand"))?;
    let mut rows = filtered(d, set, ctx, rows)?;
    if let Some(order) = paging::param(&ctx.query, "$orderby") {
        odata::order_by(&mut rows, order)?;
    }
    if let Some(top) = paging::param(&ctx.query, "$top") {
        let n: usize = top
            .trim()
            .parse()
            .map_err(|_| odata::bad(format!("Invalid $top '{top}'.")))?;
        rows.truncate(n);
    }
    let (size, asked) = max_page_size(&ctx.headers);
    let skip = match paging::param(&ctx.query, "$skiptoken") {
        None => 0,
        Some(t) => paging::decode_skiptoken(t).ok_or_else(|| {
            odata::bad("The $skiptoken is not valid; follow @odata.nextLink as returned.")
        })?,
    };
    let (page, next) = paging::slice(&rows, paging::Page { skip, top: size });
    let items = page
        .iter()
        .map(|r| present(d, set, r, ctx, &expand))
        .collect::<Result<Vec<_>, _>>()?;
    let body = paging::odata_page(
        &ctx.state.base_url,
        path,
        &ctx.query,
        Some(&context_url(ctx, context_set, false)),
        items,
        next,
    );
    let mut resp = Json(body).into_response();
    add_odata_headers(&mut resp);
    if asked && let Ok(v) = HeaderValue::from_str(&format!("odata.maxpagesize={size}")) {
        resp.headers_mut().insert("preference-applied", v);
    }
    Ok(resp)
}

fn add_odata_headers(resp: &mut Response) {
    resp.headers_mut()
        .insert("odata-version", HeaderValue::from_static("4.0"));
}

fn path_of(ctx: &Ctx, tail: &str) -> String {
    format!("/dataverse/{}/api/data/{}/{tail}", ctx.domain, ctx.version)
}

/// `WhoAmI()`: the caller's system user, business unit and organization.
fn who_am_i(ctx: &Ctx, oid: &str) -> Result<Response, ApiError> {
    with_data(ctx, |d| {
        let user = d
            .system_users
            .iter()
            .find(|u| {
                u.get("azureactivedirectoryobjectid")
                    .and_then(Value::as_str)
                    .is_some_and(|o| same_id(o, oid))
            })
            .ok_or_else(|| {
                dv_err(
                    StatusCode::FORBIDDEN,
                    "0x80072560",
                    format!("The user with object id {oid} is not a member of the organization."),
                )
            })?;
        let body = json!({
            "@odata.context": format!("{}/$metadata#Microsoft.Dynamics.CRM.WhoAmIResponse", ctx.api_root()),
            "BusinessUnitId": id_of(user, "_businessunitid_value"),
            "UserId": id_of(user, "systemuserid"),
            "OrganizationId": id_of(&d.organization, "organizationid"),
        });
        let mut resp = Json(body).into_response();
        add_odata_headers(&mut resp);
        Ok(resp)
    })
}

fn list(ctx: &Ctx, set: &str) -> Result<Response, ApiError> {
    with_data(ctx, |d| {
        let rows: Vec<Value> = rows_of(d, set).into_iter().cloned().collect();
        respond_collection(ctx, set, set, &path_of(ctx, set), rows, d)
    })
}

fn find<'a>(d: &'a DataverseData, set: &str, id: &str) -> Option<&'a Value> {
    let key = key_of(set)?;
    rows_of(d, set)
        .into_iter()
        .find(|r| same_id(&id_of(r, key), id))
}

fn get_one(ctx: &Ctx, seg: &Segment) -> Result<Response, ApiError> {
    let id = seg.key.clone().unwrap_or_default();
    with_data(ctx, |d| {
        let row = find(d, &seg.name, &id).ok_or_else(|| not_found_row(&seg.name, &id))?;
        let expand = odata::parse_expand(paging::param(&ctx.query, "$expand"))?;
        let mut out = present(d, &seg.name, row, ctx, &expand)?;
        if let Value::Object(m) = &mut out {
            let mut with_ctx = Map::new();
            with_ctx.insert(
                "@odata.context".into(),
                Value::String(context_url(ctx, &seg.name, true)),
            );
            with_ctx.extend(std::mem::take(m));
            *m = with_ctx;
        }
        let mut resp = Json(out).into_response();
        add_odata_headers(&mut resp);
        Ok(resp)
    })
}

fn list_related(ctx: &Ctx, first: &Segment, nav: &Segment) -> Result<Response, ApiError> {
    let id = first
        .key
        .clone()
        .ok_or_else(|| not_found_segment(&nav.name))?;
    let Some(target) = nav_target(&first.name, &nav.name) else {
        return Err(not_found_segment(&nav.name));
    };
    with_data(ctx, |d| {
        let row = find(d, &first.name, &id).ok_or_else(|| not_found_row(&first.name, &id))?;
        let rows = related(d, &first.name, row, &nav.name);
        let tail = format!("{}({id})/{}", first.name, nav.name);
        respond_collection(ctx, target, target, &path_of(ctx, &tail), rows, d)
    })
}

fn no_content() -> Response {
    let mut resp = StatusCode::NO_CONTENT.into_response();
    add_odata_headers(&mut resp);
    resp
}

/// Runs `f` on the environment's Dataverse data for writing (pinned, so the write persists).
fn with_data_mut<R>(
    ctx: &Ctx,
    f: impl FnOnce(&mut DataverseData) -> Result<R, ApiError>,
) -> Result<R, ApiError> {
    ctx.state
        .env_content_mut(ctx.index, |c: &mut super::store::StoredEnv| {
            match c.dataverse_mut() {
                Some(d) => f(d),
                None => Err(dv_err(
                    StatusCode::NOT_FOUND,
                    "0x80040220",
                    "The organization has no Dataverse database.",
                )),
            }
        })
}

fn patch(ctx: &Ctx, seg: &Segment, body: &Bytes) -> Result<Response, ApiError> {
    let patch: Value = super::errors::parse_json(body).map_err(|e| e.family(Family::Dataverse))?;
    let Value::Object(fields) = patch else {
        return Err(odata::bad("The request body must be a JSON object."));
    };
    let id = seg.key.clone().unwrap_or_default();
    let key = key_of(&seg.name).unwrap_or("id");
    with_data_mut(ctx, |d| {
        let row = rows_of_mut(d, &seg.name)
            .into_iter()
            .find(|r| same_id(&id_of(r, key), &id))
            .ok_or_else(|| not_found_row(&seg.name, &id))?;
        if let Value::Object(m) = row {
            for (k, v) in fields {
                if k != key && !k.starts_with('@') {
                    m.insert(k, v);
                }
            }
            m.remove("@odata.etag");
            let tag = odata::etag_for(&Value::Object(m.clone()));
            m.insert("@odata.etag".into(), Value::String(tag));
        }
        Ok(())
    })?;
    Ok(no_content())
}

/// (user id, role id) of an association request on either side.
fn pair(first: &Segment, other_id: &str) -> Option<(String, String)> {
    let id = first.key.clone()?;
    match first.name.as_str() {
        "systemusers" => Some((id, other_id.to_string())),
        "roles" => Some((other_id.to_string(), id)),
        _ => None,
    }
}

fn check_pair(d: &DataverseData, uid: &str, rid: &str) -> Result<(), ApiError> {
    find(d, "systemusers", uid).ok_or_else(|| not_found_row("systemusers", uid))?;
    find(d, "roles", rid).ok_or_else(|| not_found_row("roles", rid))?;
    Ok(())
}

fn associate(
    ctx: &Ctx,
    first: &Segment,
    nav: &Segment,
    body: &Bytes,
) -> Result<Response, ApiError> {
    if nav.name != USER_ROLES {
        return Err(not_found_segment(&nav.name));
    }
    let v: Value = super::errors::parse_json(body).map_err(|e| e.family(Family::Dataverse))?;
    let url = v
        .get("@odata.id")
        .and_then(Value::as_str)
        .ok_or_else(|| odata::bad("The request body must carry '@odata.id'."))?;
    let other_set = if first.name == "systemusers" {
        "roles"
    } else {
        "systemusers"
    };
    let other = key_from_url(url, other_set).ok_or_else(|| {
        odata::bad(format!(
            "'@odata.id' must name a {} record.",
            entity_name(other_set)
        ))
    })?;
    let (uid, rid) = pair(first, &other).ok_or_else(|| not_found_segment(&nav.name))?;
    with_data_mut(ctx, |d| {
        check_pair(d, &uid, &rid)?;
        add_user_role(d, &uid, &rid);
        Ok(())
    })?;
    Ok(no_content())
}

fn disassociate(ctx: &Ctx, first: &Segment, nav: &Segment) -> Result<Response, ApiError> {
    if nav.name != USER_ROLES {
        return Err(not_found_segment(&nav.name));
    }
    let other_set = if first.name == "systemusers" {
        "roles"
    } else {
        "systemusers"
    };
    let other = match &nav.key {
        Some(k) => k.clone(),
        None => {
            let url = paging::param(&ctx.query, "$id").ok_or_else(|| {
                odata::bad("Disassociate needs '$id' or a key on the navigation property.")
            })?;
            key_from_url(url, other_set).ok_or_else(|| {
                odata::bad(format!(
                    "'$id' must name a {} record.",
                    entity_name(other_set)
                ))
            })?
        }
    };
    let (uid, rid) = pair(first, &other).ok_or_else(|| not_found_segment(&nav.name))?;
    with_data_mut(ctx, |d| {
        check_pair(d, &uid, &rid)?;
        d.user_roles
            .retain(|(u, r)| !(same_id(u, &uid) && same_id(r, &rid)));
        Ok(())
    })?;
    Ok(no_content())
}

fn add_user_role(d: &mut DataverseData, uid: &str, rid: &str) {
    if !d
        .user_roles
        .iter()
        .any(|(u, r)| same_id(u, uid) && same_id(r, rid))
    {
        d.user_roles.push((uid.to_string(), rid.to_string()));
    }
}

/// What [`apply_admin_role`] did.
#[derive(Debug, Clone)]
pub struct AdminRoleOutcome {
    /// The caller's `systemuserid`.
    pub system_user_id: String,
    /// Whether the system user existed before.
    pub existed: bool,
}

/// Self-elevation (PPAPI `applyAdminRole`): ensures a system user for the caller exists and holds
/// the System Administrator role of the root business unit.
pub fn apply_admin_role(
    d: &mut DataverseData,
    oid: &str,
    upn: &str,
    display_name: &str,
) -> Result<AdminRoleOutcome, ApiError> {
    let root_bu = d
        .business_units
        .iter()
        .find(|b| {
            b.get("_parentbusinessunitid_value")
                .is_none_or(Value::is_null)
        })
        .map(|b| id_of(b, "businessunitid"))
        .ok_or_else(|| {
            ApiError::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                "InternalServerError",
                "the organization has no root business unit",
            )
        })?;
    let role = d
        .roles
        .iter()
        .find(|r| {
            r.get("_roletemplateid_value")
                .and_then(Value::as_str)
                .is_some_and(|t| same_id(t, SYSTEM_ADMIN_TEMPLATE_ID))
                && same_id(&id_of(r, "_businessunitid_value"), &root_bu)
        })
        .map(|r| id_of(r, "roleid"))
        .ok_or_else(|| {
            ApiError::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                "InternalServerError",
                "the root business unit has no System Administrator role",
            )
        })?;
    let existing = d.system_users.iter().find(|u| {
        u.get("azureactivedirectoryobjectid")
            .and_then(Value::as_str)
            .is_some_and(|o| same_id(o, oid))
    });
    let (uid, existed) = match existing {
        Some(u) => (id_of(u, "systemuserid"), true),
        None => {
            let uid = uuid::Uuid::new_v5(
                &uuid::Uuid::NAMESPACE_OID,
                format!("{root_bu}/{oid}").as_bytes(),
            )
            .to_string();
            d.system_users.push(json!({
                "systemuserid": uid, "domainname": upn, "azureactivedirectoryobjectid": oid, "fullname": display_name,
                "isdisabled": false, "accessmode": 0, "applicationid": null, "islicensed": true,
                "_businessunitid_value": root_bu, "azuredeletedon": null
            }));
            (uid, false)
        }
    };
    add_user_role(d, &uid, &role);
    Ok(AdminRoleOutcome {
        system_user_id: uid,
        existed,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn apply_admin_role_creates_user_and_associates_root_role() {
        let mut d = DataverseData {
            business_units: vec![
                json!({"businessunitid": "bu-child", "_parentbusinessunitid_value": "bu-root"}),
                json!({"businessunitid": "bu-root", "_parentbusinessunitid_value": null}),
            ],
            roles: vec![
                json!({"roleid": "r-child", "_roletemplateid_value": SYSTEM_ADMIN_TEMPLATE_ID, "_businessunitid_value": "bu-child"}),
                json!({"roleid": "r-root", "_roletemplateid_value": SYSTEM_ADMIN_TEMPLATE_ID, "_businessunitid_value": "bu-root"}),
            ],
            ..DataverseData::default()
        };
        let out = apply_admin_role(&mut d, "oid-1", "a@x", "A").unwrap();
        assert!(!out.existed);
        assert_eq!(
            d.user_roles,
            vec![(out.system_user_id.clone(), "r-root".to_string())]
        );
        let again = apply_admin_role(&mut d, "OID-1", "a@x", "A").unwrap();
        assert!(again.existed);
        assert_eq!(d.user_roles.len(), 1);
        assert_eq!(
            key_from_url("https://o/api/data/v9.2/roles(abc)", "roles").as_deref(),
            Some("abc")
        );
    }
}
