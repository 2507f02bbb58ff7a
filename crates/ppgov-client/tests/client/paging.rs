//! Every paging style over a 5,000-item listing: each item exactly once, pages fetched lazily,
//! loops detected.

use crate::support::*;
use axum::extract::{Query, State};
use axum::http::HeaderMap;
use axum::response::IntoResponse;
use axum::routing::{get, post};
use futures::{StreamExt, TryStreamExt};
use ppgov_client::{
    ClientError, GraphClient, ManagementClient, PowerAppsClient, PowerPlatformClient,
};
use ppgov_config::Endpoints;
use serde_json::{Value, json};
use std::collections::{BTreeMap, BTreeSet};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

const TOTAL: usize = 5000;

#[derive(Clone)]
struct Srv {
    base: Arc<Mutex<String>>,
    hits: Arc<AtomicUsize>,
    bodies: Arc<Mutex<Vec<Value>>>,
}

impl Srv {
    fn new() -> Self {
        Srv {
            base: Arc::new(Mutex::new(String::new())),
            hits: Arc::new(AtomicUsize::new(0)),
            bodies: Arc::new(Mutex::new(Vec::new())),
        }
    }
    fn base(&self) -> String {
        self.base.lock().unwrap().clone()
    }
}

fn items(from: usize, n: usize) -> Vec<Value> {
    (from..(from + n).min(TOTAL))
        .map(|i| json!({"name": format!("item-{i:05}")}))
        .collect()
}

async fn start(srv: &Srv, router: axum::Router<Srv>) -> url::Url {
    let base = serve(router.with_state(srv.clone())).await;
    *srv.base.lock().unwrap() = base.as_str().trim_end_matches('/').to_owned();
    base
}

fn assert_all_once(names: Vec<String>) {
    assert_eq!(names.len(), TOTAL);
    let set: BTreeSet<String> = names.into_iter().collect();
    assert_eq!(set.len(), TOTAL, "duplicates");
    let expected: BTreeSet<String> = (0..TOTAL).map(|i| format!("item-{i:05}")).collect();
    assert_eq!(set, expected);
}

fn name(v: Value) -> String {
    v["name"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn next_link_listing_is_complete_and_lazy() {
    let srv = Srv::new();
    let router = axum::Router::new().route(
        "/providers/Microsoft.PowerApps/scopes/admin/environments/{env}/apps",
        get(|State(s): State<Srv>, Query(q): Query<BTreeMap<String, String>>| async move {
            s.hits.fetch_add(1, Ordering::SeqCst);
            assert_eq!(q.get("api-version").map(String::as_str), Some("2023-06-01"));
            let top: usize = q.get("$top").unwrap().parse().unwrap();
            let skip: usize = q.get("$skiptoken").map(|t| t.parse().unwrap()).unwrap_or(0);
            let mut body = json!({"value": items(skip, top)});
            if skip + top < TOTAL {
                body["nextLink"] = json!(format!("{}/providers/Microsoft.PowerApps/scopes/admin/environments/e1/apps?api-version=2023-06-01&$top={top}&%24skiptoken={}", s.base(), skip + top));
            }
            axum::Json(body)
        }),
    );
    let base = start(&srv, router).await;
    let pa = PowerAppsClient::new(transport(), &Endpoints::all_at(&base));
    let mut stream = pa.list_apps::<Value>("e1");
    let first = stream.next().await.unwrap().unwrap();
    assert_eq!(name(first), "item-00000");
    assert_eq!(
        srv.hits.load(Ordering::SeqCst),
        1,
        "only the first page is fetched before it is drained"
    );
    let mut names = vec!["item-00000".to_owned()];
    names.extend(stream.map_ok(name).try_collect::<Vec<_>>().await.unwrap());
    assert_all_once(names);
    assert_eq!(srv.hits.load(Ordering::SeqCst), TOTAL / 250);
}

#[tokio::test]
async fn odata_next_link_listing_is_complete() {
    let srv = Srv::new();
    let router = axum::Router::new().route(
        "/v1.0/groups/{id}/members",
        get(
            |State(s): State<Srv>, Query(q): Query<BTreeMap<String, String>>| async move {
                let skip: usize = q.get("$skiptoken").map(|t| t.parse().unwrap()).unwrap_or(0);
                let mut body = json!({"@odata.context": "x", "value": items(skip, 999)});
                if skip + 999 < TOTAL {
                    body["@odata.nextLink"] = json!(format!(
                        "{}/v1.0/groups/g/members?$skiptoken={}",
                        s.base(),
                        skip + 999
                    ));
                }
                axum::Json(body)
            },
        ),
    );
    let base = start(&srv, router).await;
    let g = GraphClient::new(transport(), &Endpoints::all_at(&base));
    let names = g
        .group_members::<Value>("g")
        .map_ok(name)
        .try_collect::<Vec<_>>()
        .await
        .unwrap();
    assert_all_once(names);
}

#[tokio::test]
async fn inventory_skip_token_listing_is_complete() {
    let srv = Srv::new();
    let router = axum::Router::new().route(
        "/resourcequery/resources/query",
        post(|State(s): State<Srv>, axum::Json(body): axum::Json<Value>| async move {
            s.bodies.lock().unwrap().push(body.clone());
            let top = body["Options"]["Top"].as_u64().unwrap() as usize;
            let skip: usize = body["Options"].get("SkipToken").map(|t| t.as_str().unwrap().parse().unwrap()).unwrap_or(0);
            let rows = items(skip, top);
            let mut resp = json!({"totalRecords": TOTAL, "count": rows.len(), "resultTruncated": 1, "data": rows});
            // The last page says "no more" with an empty token.
            resp["skipToken"] = if skip + top < TOTAL { json!((skip + top).to_string()) } else { json!("") };
            axum::Json(resp)
        }),
    );
    let base = start(&srv, router).await;
    let pp = PowerPlatformClient::new(transport(), &Endpoints::all_at(&base));
    let query = json!({"TableName": "PowerPlatformResources", "Clauses": [{"$type": "where", "FieldName": "type", "Operator": "==", "Values": ["'microsoft.powerapps/canvasapps'"]}]});
    let names = pp
        .inventory_query::<Value>(&query, 1000)
        .map_ok(name)
        .try_collect::<Vec<_>>()
        .await
        .unwrap();
    assert_all_once(names);
    let bodies = srv.bodies.lock().unwrap();
    assert_eq!(bodies.len(), 5);
    for (i, b) in bodies.iter().enumerate() {
        assert_eq!(b["TableName"], "PowerPlatformResources");
        assert_eq!(b["Clauses"], query["Clauses"]);
        assert!(b["Options"].get("Skip").is_none(), "never Skip");
        assert_eq!(b["Options"]["Top"], 1000);
        assert_eq!(b["Options"].get("SkipToken").is_some(), i > 0);
    }
}

#[tokio::test]
async fn management_next_page_header_listing_is_complete() {
    let srv = Srv::new();
    let router = axum::Router::new().route(
        "/api/v1.0/{tenant}/activity/feed/subscriptions/content",
        get(|State(s): State<Srv>, Query(q): Query<BTreeMap<String, String>>| async move {
            assert_eq!(q.get("PublisherIdentifier").map(String::as_str), Some("pub-1"));
            assert_eq!(q.get("startTime").map(String::as_str), Some("2026-11-20T00:00:00"));
            let skip: usize = q.get("nextPage").map(|t| t.parse().unwrap()).unwrap_or(0);
            let mut headers = HeaderMap::new();
            if skip + 700 < TOTAL {
                // Header name case varies; both spellings are accepted.
                let name = if skip.is_multiple_of(1400) { "NextPageUri" } else { "nextpageurl" };
                let next = format!("{}/api/v1.0/t1/activity/feed/subscriptions/content?contentType=Audit.General&startTime=2026-11-20T00:00:00&endTime=2026-11-20T12:00:00&PublisherIdentifier=pub-1&nextPage={}", s.base(), skip + 700);
                headers.insert(axum::http::HeaderName::from_bytes(name.as_bytes()).unwrap(), next.parse().unwrap());
            }
            (headers, axum::Json(Value::Array(items(skip, 700)))).into_response()
        }),
    );
    let base = start(&srv, router).await;
    let m = ManagementClient::new(
        transport(),
        &Endpoints::all_at(&base),
        "t1",
        Some("pub-1".into()),
    )
    .unwrap();
    let start_t = chrono::DateTime::parse_from_rfc3339("2026-11-20T00:00:00Z")
        .unwrap()
        .to_utc();
    let end_t = start_t + chrono::Duration::hours(12);
    let names = m
        .list_content::<Value>("Audit.General", start_t, end_t)
        .map_ok(name)
        .try_collect::<Vec<_>>()
        .await
        .unwrap();
    assert_all_once(names);
}

#[tokio::test]
async fn repeated_next_link_is_an_error_not_a_loop() {
    let srv = Srv::new();
    let router = axum::Router::new()
        .route(
            "/providers/Microsoft.PowerApps/scopes/admin/environments/{env}/connections",
            get(|State(s): State<Srv>, Query(q): Query<BTreeMap<String, String>>| async move {
                s.hits.fetch_add(1, Ordering::SeqCst);
                // Page 1 -> page 2 -> page 1 again.
                let page = q.get("p").cloned().unwrap_or_else(|| "1".into());
                let next = if page == "1" { "2" } else { "1" };
                axum::Json(json!({"value": [{"name": page}], "nextLink": format!("{}/providers/Microsoft.PowerApps/scopes/admin/environments/e/connections?api-version=2016-11-01&p={next}", s.base())}))
            }),
        )
        .route(
            "/resourcequery/resources/query",
            post(|| async { axum::Json(json!({"totalRecords": 10, "data": [{"name": "x"}], "skipToken": "same"})) }),
        );
    let base = start(&srv, router).await;
    let e = Endpoints::all_at(&base);
    let pa = PowerAppsClient::new(transport(), &e);
    let res: Vec<Result<Value, ClientError>> = pa.list_connections::<Value>("e").collect().await;
    assert!(res.len() <= 4, "stopped quickly: {}", res.len());
    assert!(
        matches!(res.last(), Some(Err(ClientError::PagingLoop { .. }))),
        "{res:?}"
    );
    let pp = PowerPlatformClient::new(transport(), &e);
    let res: Vec<Result<Value, ClientError>> = pp
        .inventory_query::<Value>(
            &json!({"TableName":"PowerPlatformResources","Clauses":[]}),
            10,
        )
        .collect()
        .await;
    assert!(
        matches!(res.last(), Some(Err(ClientError::PagingLoop { .. }))),
        "{res:?}"
    );
    assert!(res.len() <= 3);
}

#[tokio::test]
async fn next_link_to_a_foreign_host_is_refused() {
    let srv = Srv::new();
    let router = axum::Router::new().route(
        "/v1.0/groups/{id}/members",
        get(|| async {
            axum::Json(
                json!({"value": [{"name": "a"}], "@odata.nextLink": "http://203.0.113.9/steal"}),
            )
        }),
    );
    let base = start(&srv, router).await;
    let g = GraphClient::new(transport(), &Endpoints::all_at(&base));
    let res: Vec<Result<Value, ClientError>> = g.group_members::<Value>("g").collect().await;
    assert!(
        matches!(res.last(), Some(Err(ClientError::InvalidRequest(_)))),
        "{res:?}"
    );
}
