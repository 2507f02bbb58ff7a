//! 202 + Location polling and 409 OperationNotStartable waits.

use crate::support::*;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::routing::{get, patch};
use ppgov_client::{BapClient, ClientError};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

#[derive(Clone, Default)]
struct Ops {
    patches: Arc<AtomicUsize>,
    polls: Arc<AtomicUsize>,
}

const ENV_PATH: &str = "/providers/Microsoft.BusinessAppPlatform/scopes/admin/environments/{env}";

fn router(ops: Ops, busy_times: usize, final_state: &'static str) -> axum::Router {
    axum::Router::new()
        .route(
            ENV_PATH,
            patch(move |State(o): State<Ops>, axum::extract::Path(env): axum::extract::Path<String>| async move {
                let n = o.patches.fetch_add(1, Ordering::SeqCst);
                if n < busy_times {
                    return (
                        StatusCode::CONFLICT,
                        axum::Json(serde_json::json!({"error":{"code":"OperationNotStartable","message":"active lifecycle operation","detailUrlType":"NotSpecified"}})),
                    )
                        .into_response();
                }
                (StatusCode::ACCEPTED, [("location", format!("/providers/Microsoft.BusinessAppPlatform/lifecycleOperations/{env}?api-version=2023-06-01")), ("retry-after", "0".into())], "").into_response()
            }),
        )
        .route(
            "/providers/Microsoft.BusinessAppPlatform/lifecycleOperations/{op}",
            get(move |State(o): State<Ops>, axum::extract::Path(op): axum::extract::Path<String>| async move {
                let n = o.polls.fetch_add(1, Ordering::SeqCst);
                if op == "gone" && n >= 1 {
                    return (StatusCode::NOT_FOUND, "").into_response();
                }
                let state = if n < 2 { "Running" } else { final_state };
                axum::Json(serde_json::json!({"id": op, "state": {"id": state}, "error": {"message": "quota exceeded"}})).into_response()
            }),
        )
        .with_state(ops)
}

#[tokio::test]
async fn accepted_write_is_polled_to_success() {
    let ops = Ops::default();
    let base = serve(router(ops.clone(), 0, "Succeeded")).await;
    let bap = BapClient::new(transport(), &ppgov_config::Endpoints::all_at(&base));
    let r = bap
        .patch_environment("env1", &serde_json::json!({"properties":{}}))
        .await
        .unwrap();
    assert_eq!(r.status, 200);
    assert_eq!(
        r.json::<serde_json::Value>().unwrap()["state"]["id"],
        "Succeeded"
    );
    assert_eq!(ops.polls.load(Ordering::SeqCst), 3);
}

#[tokio::test]
async fn operation_gone_counts_as_done_and_failure_is_reported() {
    let ops = Ops::default();
    let base = serve(router(ops.clone(), 0, "Failed")).await;
    let bap = BapClient::new(transport(), &ppgov_config::Endpoints::all_at(&base));
    let r = bap
        .patch_environment("gone", &serde_json::json!({}))
        .await
        .unwrap();
    assert_eq!(
        r.status, 202,
        "404 on the operation: done, the 202 is returned"
    );
    ops.polls.store(0, Ordering::SeqCst);
    let e = bap
        .patch_environment("env2", &serde_json::json!({}))
        .await
        .unwrap_err();
    match e {
        ClientError::LifecycleFailed { state, message, .. } => {
            assert_eq!(state, "Failed");
            assert_eq!(message, "quota exceeded");
        }
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn operation_not_startable_is_waited_out() {
    let ops = Ops::default();
    let base = serve(router(ops.clone(), 2, "Succeeded")).await;
    let bap = BapClient::new(transport(), &ppgov_config::Endpoints::all_at(&base));
    bap.patch_environment("env1", &serde_json::json!({}))
        .await
        .unwrap();
    assert_eq!(ops.patches.load(Ordering::SeqCst), 3);
    // Busy for longer than the bound: a typed timeout, not an endless loop.
    let ops = Ops::default();
    let base = serve(router(ops.clone(), 100, "Succeeded")).await;
    let bap = BapClient::new(transport(), &ppgov_config::Endpoints::all_at(&base));
    let e = bap
        .patch_environment("env1", &serde_json::json!({}))
        .await
        .unwrap_err();
    assert!(matches!(e, ClientError::Http { status: 409, .. }), "{e:?}");
    assert_eq!(
        ops.patches.load(Ordering::SeqCst),
        6,
        "first try plus 5 waits"
    );
}
