//! Retries, throttling, 401 handling and error mapping.

use crate::support::*;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::IntoResponse;
use axum::routing::{get, post};
use ppgov_client::{ClientError, Request, Transport};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

#[derive(Clone, Default)]
struct Seen {
    hits: Arc<AtomicUsize>,
    headers: Arc<Mutex<Vec<HeaderMap>>>,
}

impl Seen {
    fn hit(&self, h: &HeaderMap) -> usize {
        self.headers.lock().unwrap().push(h.clone());
        self.hits.fetch_add(1, Ordering::SeqCst)
    }
}

fn ok_json() -> axum::response::Response {
    (StatusCode::OK, axum::Json(serde_json::json!({"ok": true}))).into_response()
}

#[tokio::test]
async fn retry_after_seconds_is_honoured_and_headers_are_set() {
    let seen = Seen::default();
    let app = axum::Router::new()
        .route(
            "/r",
            get(|State(s): State<Seen>, h: HeaderMap| async move {
                if s.hit(&h) == 0 {
                    (
                        StatusCode::TOO_MANY_REQUESTS,
                        [("retry-after", "1")],
                        "slow down",
                    )
                        .into_response()
                } else {
                    ok_json()
                }
            }),
        )
        .with_state(seen.clone());
    let base = serve(app).await;
    let t = transport();
    let v: serde_json::Value = t.get_json(url(&base, "/r"), SCOPE).await.unwrap();
    assert_eq!(v["ok"], true);
    let c = t.counters();
    // What the transport chose to wait, not the wall clock (which a loaded machine stretches).
    assert!(c.wait_ms >= 1000, "waited only {} ms", c.wait_ms);
    assert_eq!((c.requests, c.retries, c.throttled), (2, 1, 1));
    let h = seen.headers.lock().unwrap();
    assert_eq!(h[0]["authorization"], "Bearer tok");
    assert_eq!(h[0]["accept"], "application/json");
    assert!(h[0]["user-agent"].to_str().unwrap().starts_with("ppgov/"));
    let id0 = h[0]["x-ms-client-request-id"].to_str().unwrap().to_owned();
    let id1 = h[1]["x-ms-client-request-id"].to_str().unwrap().to_owned();
    assert_ne!(id0, id1, "a new request id per attempt");
    assert!(uuid::Uuid::parse_str(&id0).is_ok());
}

#[tokio::test]
async fn retry_after_http_date_is_honoured_even_for_writes() {
    let seen = Seen::default();
    let app = axum::Router::new()
        .route(
            "/r",
            post(|State(s): State<Seen>, h: HeaderMap| async move {
                if s.hit(&h) == 0 {
                    let at = httpdate::fmt_http_date(SystemTime::now() + Duration::from_secs(2));
                    (
                        StatusCode::SERVICE_UNAVAILABLE,
                        [("retry-after", at)],
                        "busy",
                    )
                        .into_response()
                } else {
                    ok_json()
                }
            }),
        )
        .with_state(seen.clone());
    let base = serve(app).await;
    let t = transport();
    // A POST: 503 + Retry-After says it was not processed, so even a write is retried.
    let v: serde_json::Value = t
        .send_json(Request::post(url(&base, "/r"), SCOPE))
        .await
        .unwrap();
    assert_eq!(v["ok"], true);
    // The date (one-second resolution) is at most 2 s away: the transport waits until then (plus
    // half a second of rounding and at most 0.1 s of jitter), never retrying at once. Its chosen
    // wait is counted, not timed.
    let c = t.counters();
    assert_eq!((c.requests, c.retries), (2, 1));
    assert!(
        c.wait_ms > 0 && c.wait_ms <= 2600,
        "waited {} ms for a date at most 2 s away",
        c.wait_ms
    );
}

#[tokio::test]
async fn management_af429_403_is_throttling_but_other_403_is_final() {
    let seen = Seen::default();
    let app = axum::Router::new()
        .route(
            "/feed",
            get(|State(s): State<Seen>, h: HeaderMap| async move {
                if s.hit(&h) < 2 {
                    (StatusCode::FORBIDDEN, axum::Json(serde_json::json!({"error":{"code":"AF429","message":"Too many requests. Method=GetBlob"}}))).into_response()
                } else {
                    ok_json()
                }
            }),
        )
        .route(
            "/denied",
            get(|| async { (StatusCode::FORBIDDEN, axum::Json(serde_json::json!({"error":{"code":"AF10001","message":"no ActivityFeed.Read"}}))) }),
        )
        .with_state(seen.clone());
    let base = serve(app).await;
    let t = transport();
    let v: serde_json::Value = t.get_json(url(&base, "/feed"), SCOPE).await.unwrap();
    assert_eq!(v["ok"], true);
    assert_eq!(t.counters().throttled, 2);
    let e = t
        .get_json::<serde_json::Value>(url(&base, "/denied"), SCOPE)
        .await
        .unwrap_err();
    assert_eq!(e.status(), Some(403));
    assert_eq!(e.code(), Some("AF10001"));
    assert!(e.to_string().contains("no ActivityFeed.Read"), "{e}");
    assert_eq!(t.counters().requests, 4);
}

#[tokio::test]
async fn writes_are_not_retried_on_500_but_reads_are() {
    let seen = Seen::default();
    let app = axum::Router::new()
        .route(
            "/w",
            post(|State(s): State<Seen>, h: HeaderMap| async move {
                s.hit(&h);
                (
                    StatusCode::INTERNAL_SERVER_ERROR,
                    axum::Json(
                        serde_json::json!({"error":{"code":"InternalError","message":"boom"}}),
                    ),
                )
            })
            .get(|State(s): State<Seen>, h: HeaderMap| async move {
                if s.hit(&h) == 1 {
                    (StatusCode::BAD_GATEWAY, "bad gateway").into_response()
                } else {
                    ok_json()
                }
            }),
        )
        .with_state(seen.clone());
    let base = serve(app).await;
    let t = transport();
    let e = t
        .send(
            Request::post(url(&base, "/w"), SCOPE)
                .json(&serde_json::json!({"a":1}))
                .unwrap(),
        )
        .await
        .unwrap_err();
    assert_eq!(e.status(), Some(500));
    assert_eq!(
        seen.hits.load(Ordering::SeqCst),
        1,
        "a POST answered 500 must not be repeated"
    );
    let v: serde_json::Value = t.get_json(url(&base, "/w"), SCOPE).await.unwrap();
    assert_eq!(v["ok"], true);
    assert_eq!(seen.hits.load(Ordering::SeqCst), 3);
    // A write the caller marks idempotent is retried.
    let e = t
        .send(Request::post(url(&base, "/w"), SCOPE).idempotent(true))
        .await
        .unwrap_err();
    assert_eq!(e.status(), Some(500));
    assert_eq!(seen.hits.load(Ordering::SeqCst), 3 + 4);
}

#[tokio::test]
async fn a_401_invalidates_the_token_once() {
    let seen = Seen::default();
    let app = axum::Router::new()
        .route(
            "/me",
            get(|State(s): State<Seen>, h: HeaderMap| async move {
                s.hit(&h);
                if h["authorization"] == "Bearer tok-1" { ok_json() } else { (StatusCode::UNAUTHORIZED, "expired").into_response() }
            }),
        )
        .route(
            "/never",
            get(|State(s): State<Seen>, h: HeaderMap| async move {
                s.hit(&h);
                (StatusCode::UNAUTHORIZED, axum::Json(serde_json::json!({"error":{"code":"AuthorizationHeaderInvalid","message":"bad token"}})))
            }),
        )
        .with_state(seen.clone());
    let base = serve(app).await;
    let tokens = Arc::new(CountingToken::default());
    let t = Transport::with_config(tokens.clone(), fast_config()).unwrap();
    let v: serde_json::Value = t.get_json(url(&base, "/me"), SCOPE).await.unwrap();
    assert_eq!(v["ok"], true);
    assert_eq!(tokens.invalidations.load(Ordering::SeqCst), 1);
    let e = t
        .get_json::<serde_json::Value>(url(&base, "/never"), SCOPE)
        .await
        .unwrap_err();
    assert_eq!(e.status(), Some(401));
    assert_eq!(
        tokens.invalidations.load(Ordering::SeqCst),
        2,
        "one more invalidation, then give up"
    );
    assert_eq!(seen.hits.load(Ordering::SeqCst), 4);
}

#[tokio::test]
async fn unregistered_service_principal_gets_a_registration_hint() {
    let app = axum::Router::new().route(
        "/providers/Microsoft.BusinessAppPlatform/scopes/admin/environments",
        get(|| async {
            (StatusCode::FORBIDDEN, axum::Json(serde_json::json!({"error":{"code":"Forbidden","message":"The service principal with id 'x' does not have permission to access the path '/providers/...' in tenant 't'."}})))
        }),
    );
    let base = serve(app).await;
    let bap = ppgov_client::BapClient::new(transport(), &ppgov_config::Endpoints::all_at(&base));
    use futures::StreamExt;
    let first = bap
        .list_environments::<serde_json::Value>(&[])
        .next()
        .await
        .unwrap()
        .unwrap_err();
    assert!(
        matches!(first, ClientError::NotManagementApp { .. }),
        "{first:?}"
    );
    let msg = first.to_string();
    assert!(
        msg.contains("adminApplications/<client-id>?api-version=2020-10-01"),
        "{msg}"
    );
}

#[tokio::test]
async fn throttling_without_end_gives_a_typed_error() {
    let app = axum::Router::new().route(
        "/t",
        get(|| async { (StatusCode::TOO_MANY_REQUESTS, [("retry-after", "0")], "no") }),
    );
    let base = serve(app).await;
    let t = transport();
    let e = t
        .get_json::<serde_json::Value>(url(&base, "/t"), SCOPE)
        .await
        .unwrap_err();
    assert!(
        matches!(e, ClientError::Throttled { attempts: 6, .. }),
        "{e:?}"
    );
}

#[tokio::test]
async fn connection_refused_is_a_transport_error() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    drop(listener);
    let t = transport();
    let e = t
        .get_json::<serde_json::Value>(
            url::Url::parse(&format!("http://{addr}/x?secret=1")).unwrap(),
            SCOPE,
        )
        .await
        .unwrap_err();
    assert!(
        matches!(e, ClientError::Transport { attempts: 4, .. }),
        "{e:?}"
    );
    assert!(!e.to_string().contains("secret"), "{e}");
}

#[tokio::test]
async fn decode_errors_name_the_failing_field() {
    let app = axum::Router::new().route(
        "/d",
        get(|| async { axum::Json(serde_json::json!({"value":[{"n":1},{"n":"two"}]})) }),
    );
    let base = serve(app).await;
    #[derive(serde::Deserialize, Debug)]
    struct N {
        #[allow(dead_code)]
        n: u32,
    }
    #[derive(serde::Deserialize, Debug)]
    struct P {
        #[allow(dead_code)]
        value: Vec<N>,
    }
    let e = transport()
        .get_json::<P>(url(&base, "/d?x=1"), SCOPE)
        .await
        .unwrap_err();
    match e {
        ClientError::Decode { path, url, .. } => {
            assert_eq!(path, "value[1].n");
            assert!(!url.contains("x=1"));
        }
        other => panic!("{other:?}"),
    }
}
