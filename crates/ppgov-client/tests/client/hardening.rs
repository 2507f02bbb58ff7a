//! Hostile answers: bodies past the cap, every odd `Retry-After`, redirects to another host.

use crate::support::*;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::routing::get;
use ppgov_auth::StaticToken;
use ppgov_client::{ClientError, RetryConfig, Transport, TransportConfig};
use ppgov_core::Secret;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

fn transport_with(cfg: TransportConfig) -> Transport {
    Transport::with_config(Arc::new(StaticToken(Secret::new("tok".into()))), cfg).unwrap()
}

#[tokio::test]
async fn a_body_over_the_cap_is_refused_naming_the_url() {
    let big = "x".repeat(300_000);
    let app = axum::Router::new()
        .route("/sized", get(move || async move { big.clone() }))
        .route(
            "/streamed",
            get(|| async {
                // No Content-Length: the cap is enforced while reading.
                let chunks = (0..40).map(|_| Ok::<_, std::io::Error>(vec![b'y'; 10_000]));
                axum::body::Body::from_stream(futures::stream::iter(chunks))
            }),
        )
        .route("/small", get(|| async { "{\"ok\":true}" }));
    let base = serve(app).await;
    let t = transport_with(TransportConfig {
        max_body_bytes: 100_000,
        ..fast_config()
    });
    for path in ["/sized", "/streamed"] {
        let err = t
            .send(ppgov_client::Request::get(url(&base, path), SCOPE))
            .await
            .unwrap_err();
        match &err {
            ClientError::BodyTooLarge { url, limit } => {
                assert!(url.ends_with(path), "{url}");
                assert_eq!(*limit, 100_000);
            }
            other => panic!("{path}: {other}"),
        }
        assert!(err.to_string().contains(path), "{err}");
    }
    let v: serde_json::Value = t.get_json(url(&base, "/small"), SCOPE).await.unwrap();
    assert_eq!(v["ok"], true);
    assert_eq!(t.counters().requests, 3, "an oversized body is not retried");
}

#[tokio::test]
async fn every_odd_retry_after_gives_a_bounded_wait_and_no_panic() {
    let values = [
        "18446744073709551615",
        "99999999999999999999999",
        "1e300",
        "inf",
        "NaN",
        "-5",
        "-1e300",
        "0.25",
        "Fri, 31 Dec 9999 23:59:59 GMT",
        "Thu, 01 Jan 1970 00:00:00 GMT",
        "soon",
        "",
    ];
    let max_delay = Duration::from_millis(200);
    for v in values {
        let hits = Arc::new(AtomicUsize::new(0));
        let app = axum::Router::new()
            .route(
                "/r",
                get(move |State(h): State<Arc<AtomicUsize>>| async move {
                    if h.fetch_add(1, Ordering::SeqCst) == 0 {
                        (
                            StatusCode::TOO_MANY_REQUESTS,
                            [("retry-after", v)],
                            "slow down",
                        )
                            .into_response()
                    } else {
                        "{\"ok\":true}".into_response()
                    }
                }),
            )
            .with_state(hits.clone());
        let base = serve(app).await;
        let t = transport_with(TransportConfig {
            retry: RetryConfig {
                max_delay,
                default_throttle_delay: Duration::from_millis(20),
                ..fast_config().retry
            },
            ..fast_config()
        });
        let r: serde_json::Value = t.get_json(url(&base, "/r"), SCOPE).await.unwrap();
        assert_eq!(r["ok"], true, "{v:?}");
        let c = t.counters();
        assert_eq!((c.requests, c.throttled), (2, 1), "{v:?}");
        // The wait the transport chose (not the wall clock): capped, plus at most 100 ms of
        // jitter and a little limiter pacing.
        assert!(
            c.wait_ms <= u64::try_from(max_delay.as_millis()).unwrap() + 150,
            "{v:?}: waited {} ms",
            c.wait_ms
        );
        assert_eq!(hits.load(Ordering::SeqCst), 2);
    }
}

#[tokio::test]
async fn authenticated_calls_never_follow_a_redirect_to_another_host() {
    let elsewhere_hits = Arc::new(AtomicUsize::new(0));
    let elsewhere = serve(
        axum::Router::new()
            .route(
                "/steal",
                get(|State(h): State<Arc<AtomicUsize>>| async move {
                    h.fetch_add(1, Ordering::SeqCst);
                    "{}"
                }),
            )
            .with_state(elsewhere_hits.clone()),
    )
    .await;
    let away = format!("{elsewhere}steal");
    let hits = Arc::new(AtomicUsize::new(0));
    let app = axum::Router::new()
        .route(
            "/away",
            get(move |State(h): State<Arc<AtomicUsize>>| async move {
                h.fetch_add(1, Ordering::SeqCst);
                (StatusCode::TEMPORARY_REDIRECT, [("location", away)]).into_response()
            }),
        )
        .route(
            "/here",
            get(|| async { (StatusCode::FOUND, [("location", "/ok")]).into_response() }),
        )
        .route("/ok", get(|| async { "{\"ok\":true}" }))
        .with_state(hits.clone());
    let base = serve(app).await;
    let t = transport();
    let err = t
        .get_json::<serde_json::Value>(url(&base, "/away"), SCOPE)
        .await
        .unwrap_err();
    let msg = err.to_string();
    assert!(
        msg.contains("refused a redirect") && msg.contains("another host"),
        "{msg}"
    );
    assert_eq!(
        elsewhere_hits.load(Ordering::SeqCst),
        0,
        "the other host got nothing"
    );
    assert_eq!(
        hits.load(Ordering::SeqCst),
        1,
        "a refused redirect is not retried"
    );
    // A redirect on the same origin is followed.
    let v: serde_json::Value = t.get_json(url(&base, "/here"), SCOPE).await.unwrap();
    assert_eq!(v["ok"], true);
}
