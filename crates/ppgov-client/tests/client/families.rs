//! Family-specific behaviour: Graph `$batch`, Dataverse OData headers and role references,
//! tenant isolation 404, tenant settings keep unknown keys.

use crate::support::*;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::IntoResponse;
use axum::routing::{get, post};
use futures::TryStreamExt;
use ppgov_client::{BapClient, DataverseClient, GraphClient, UserLookup};
use ppgov_config::Endpoints;
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

#[derive(Clone, Default)]
struct Log {
    batches: Arc<Mutex<Vec<usize>>>,
    throttled_once: Arc<Mutex<BTreeMap<String, bool>>>,
    headers: Arc<Mutex<Vec<HeaderMap>>>,
    bodies: Arc<Mutex<Vec<(String, Value)>>>,
}

#[tokio::test]
async fn graph_batch_chunks_by_20_and_retries_throttled_items() {
    let log = Log::default();
    let app = axum::Router::new()
        .route(
            "/v1.0/$batch",
            post(|State(l): State<Log>, axum::Json(b): axum::Json<Value>| async move {
                let reqs = b["requests"].as_array().unwrap().clone();
                l.batches.lock().unwrap().push(reqs.len());
                assert!(reqs.len() <= 20);
                let mut out = Vec::new();
                // Answer in reverse order: order is not guaranteed.
                for r in reqs.iter().rev() {
                    let id = r["id"].as_str().unwrap().to_owned();
                    let u = r["url"].as_str().unwrap().to_owned();
                    let user = u.trim_start_matches("/users/").split('?').next().unwrap().to_owned();
                    let n: usize = user.trim_start_matches('u').parse().unwrap();
                    let mut once = l.throttled_once.lock().unwrap();
                    if n.is_multiple_of(7) && !once.contains_key(&user) {
                        once.insert(user, true);
                        out.push(json!({"id": id, "status": 429, "headers": {"Retry-After": "0"}}));
                    } else if n.is_multiple_of(5) {
                        out.push(json!({"id": id, "status": 404, "body": {"error": {"code": "Request_ResourceNotFound", "message": "gone"}}}));
                    } else {
                        out.push(json!({"id": id, "status": 200, "body": {"id": user, "userType": "Member"}}));
                    }
                }
                axum::Json(json!({"responses": out}))
            }),
        )
        .with_state(log.clone());
    let base = serve(app).await;
    let t = transport();
    let g = GraphClient::new(t.clone(), &Endpoints::all_at(&base));
    let ids: Vec<String> = (1..=45).map(|i| format!("u{i}")).collect();
    let res = g.get_users::<Value>(&ids, "id,userType").await.unwrap();
    assert_eq!(res.len(), 45);
    for (i, (id, r)) in res.iter().enumerate() {
        let n = i + 1;
        assert_eq!(id, &format!("u{n}"));
        if n.is_multiple_of(5) {
            assert_eq!(r, &UserLookup::Deleted);
        } else {
            assert_eq!(
                r,
                &UserLookup::Found(json!({"id": id, "userType": "Member"})),
                "{id}"
            );
        }
    }
    let batches = log.batches.lock().unwrap().clone();
    // 3 chunks (20, 20, 5), each with its throttled items (u7,u14 / u21,u28,u35 / u42) re-sent.
    assert_eq!(batches, vec![20, 2, 20, 3, 5, 1]);
    assert_eq!(t.counters().throttled, 3);
}

#[tokio::test]
async fn graph_user_404_is_deleted() {
    let app = axum::Router::new().route(
        "/v1.0/users/{id}",
        get(
            |axum::extract::Path(id): axum::extract::Path<String>| async move {
                if id == "gone" {
                    (
                        StatusCode::NOT_FOUND,
                        axum::Json(
                            json!({"error":{"code":"Request_ResourceNotFound","message":"no"}}),
                        ),
                    )
                        .into_response()
                } else {
                    axum::Json(json!({"id": id})).into_response()
                }
            },
        ),
    );
    let base = serve(app).await;
    let g = GraphClient::new(transport(), &Endpoints::all_at(&base));
    assert_eq!(
        g.get_user::<Value>("gone", "id").await.unwrap(),
        UserLookup::Deleted
    );
    assert_eq!(
        g.get_user::<Value>("a", "id").await.unwrap(),
        UserLookup::Found(json!({"id":"a"}))
    );
}

#[tokio::test]
async fn dataverse_sends_odata_headers_and_role_references() {
    let log = Log::default();
    let app = axum::Router::new()
        .route(
            "/org1/api/data/v9.2/roles",
            get(|State(l): State<Log>, h: HeaderMap, Query(q): Query<BTreeMap<String, String>>| async move {
                l.headers.lock().unwrap().push(h);
                assert_eq!(q["$filter"], "_roletemplateid_value eq 627090ff-40a3-4053-8790-584edc5be201");
                axum::Json(json!({"@odata.context": "c", "value": [{"roleid": "r1"}, {"roleid": "r2"}]}))
            }),
        )
        .route(
            "/org1/api/data/v9.2/{user}/systemuserroles_association/$ref",
            post(|State(l): State<Log>, axum::extract::Path(id): axum::extract::Path<String>, axum::Json(b): axum::Json<Value>| async move {
                let id = id.trim_start_matches("systemusers(").trim_end_matches(')').to_owned();
                l.bodies.lock().unwrap().push((id, b));
                StatusCode::NO_CONTENT
            })
            .delete(|State(l): State<Log>, Query(q): Query<BTreeMap<String, String>>| async move {
                l.bodies.lock().unwrap().push(("delete".into(), json!(q["$id"])));
                StatusCode::NO_CONTENT
            }),
        )
        .with_state(log.clone());
    let base = serve(app).await;
    let instance = base.join("org1/").unwrap();
    let dv = DataverseClient::new(transport(), &instance, 500).unwrap();
    let roles: Vec<Value> = dv
        .roles_by_template(ppgov_core::SYSTEM_ADMINISTRATOR_TEMPLATE_ID)
        .try_collect()
        .await
        .unwrap();
    assert_eq!(roles.len(), 2);
    {
        let h = log.headers.lock().unwrap();
        assert_eq!(h[0]["prefer"], "odata.maxpagesize=500");
        assert_eq!(h[0]["odata-version"], "4.0");
        assert_eq!(h[0]["odata-maxversion"], "4.0");
    }
    let uid = "11111111-1111-1111-1111-111111111111";
    let rid = "22222222-2222-2222-2222-222222222222";
    assert_eq!(dv.associate_role(uid, rid).await.unwrap().status, 204);
    assert_eq!(dv.disassociate_role(uid, rid).await.unwrap().status, 204);
    let bodies = log.bodies.lock().unwrap();
    let role_ref = format!("{}api/data/v9.2/roles({rid})", instance);
    assert_eq!(bodies[0], (uid.to_owned(), json!({"@odata.id": role_ref})));
    assert_eq!(bodies[1], ("delete".to_owned(), json!(role_ref)));
}

#[tokio::test]
async fn tenant_isolation_404_is_none_and_settings_keep_unknown_keys() {
    let app = axum::Router::new()
        .route(
            "/providers/PowerPlatform.Governance/v1/tenants/{t}/tenantIsolationPolicy",
            get(|| async { (StatusCode::NOT_FOUND, "") }),
        )
        .route(
            "/providers/Microsoft.BusinessAppPlatform/listTenantSettings",
            post(|Query(q): Query<BTreeMap<String, String>>| async move {
                assert_eq!(q["api-version"], "2023-06-01");
                axum::Json(json!({"walkMeOptOut": false, "brandNewSetting": {"x": 1}}))
            }),
        );
    let base = serve(app).await;
    let bap = BapClient::new(transport(), &Endpoints::all_at(&base));
    assert_eq!(bap.tenant_isolation::<Value>("t1").await.unwrap(), None);
    let s: Value = bap.list_tenant_settings().await.unwrap();
    assert_eq!(s["brandNewSetting"]["x"], 1);
}
