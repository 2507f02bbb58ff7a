//! `/t/{tenant}/evidence`: what the compliance evidence package holds, and
//! `/t/{tenant}/evidence.zip`: the package of the latest complete snapshot, judged with the
//! tenant's posture exactly as `ppgov evidence` judges it.

use super::audit::file_part;
use super::{blocking, frame, problem, render};
use crate::Console;
use crate::roles::Permission;
use crate::web;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use minijinja::context;
use ppgov_core::Snapshot;
use ppgov_engine::ScanOptions;
use ppgov_report::EvidenceItem;
use ppgov_store::Records;
use std::sync::Arc;

/// The files of the package, in words (the names `ppgov_report::standard_evidence` writes,
/// the collection status, and the manifests).
const FILES: &[(&str, &str)] = &[
    (
        "dlp/policies.json",
        "every DLP policy: its scope, environments and connector groups",
    ),
    (
        "admins/role_assignments.csv",
        "who holds which administrative role",
    ),
    (
        "inventory/environments.csv",
        "the environments, their type, region and security group",
    ),
    (
        "inventory/flows.csv",
        "every cloud flow with its owner, state and connectors",
    ),
    (
        "inventory/apps.csv",
        "every canvas and model-driven app with its owner and sharing",
    ),
    (
        "inventory/connections.csv",
        "every connection with its connector and owner",
    ),
    (
        "findings/findings.json",
        "the scan: every finding with its evidence, remediation and framework controls",
    ),
    ("findings/findings.csv", "the same findings as a table"),
    (
        "collection-status.json",
        "what could not be collected, and why (the gaps an auditor must see)",
    ),
    (
        "manifest.json",
        "each file's name, SHA-256 and size (format ppgov-evidence/1)",
    ),
    (
        "MANIFEST.sha256",
        "the same hashes, checkable with `sha256sum -c MANIFEST.sha256`",
    ),
];

/// The package's files for a snapshot of the tenant, judged as `ppgov evidence` judges it:
/// `ppgov scan`'s evaluation without custom policies, with the `[posture]` suppressions and
/// those recorded in the console; the collection status included.
pub(crate) fn items(
    records: &dyn Records,
    config: &ppgov_config::Config,
    snapshot: &Snapshot,
) -> Result<Vec<EvidenceItem>, String> {
    let posture = ppgov_serve::judging_posture(config, records).map_err(|e| e.to_string())?;
    let report = ppgov_engine::scan(snapshot, &posture, &ScanOptions::default());
    ppgov_report::standard_evidence(snapshot, &report).map_err(|e| e.to_string())
}

/// `GET /t/{tenant}/evidence`.
pub(crate) async fn page(
    State(c): State<Arc<Console>>,
    Path(tenant): Path<String>,
    headers: HeaderMap,
) -> Response {
    let s = match web::signed_for(
        &c,
        &headers,
        &tenant,
        &format!("/t/{tenant}/evidence"),
        true,
        Permission::DownloadEvidence,
    ) {
        Ok(s) => s,
        Err(r) => return r.into_response(),
    };
    let Some(t) = c.serve.tenant(&tenant).cloned() else {
        return StatusCode::NOT_FOUND.into_response();
    };
    let latest = blocking(move || {
        let store = t.snapshots()?;
        store
            .latest_snapshot(t.id(), true)
            .map_err(|e| e.to_string())
    })
    .await;
    let latest = match latest {
        Ok(l) => l,
        Err(e) => {
            return problem(
                &c,
                Some(&s),
                StatusCode::SERVICE_UNAVAILABLE,
                "The store cannot be read",
                &e,
            );
        }
    };
    let files: Vec<_> = FILES
        .iter()
        .map(|&(name, what)| context! { name => name, what => what })
        .collect();
    let ctx = context! {
        title => "Evidence package",
        files => files,
        snapshot => latest.map(|i| context! {
            id => i.id.0,
            taken => i.started_at.format("%Y-%m-%d %H:%M:%S UTC").to_string(),
        }),
        may_run_jobs => s.session.grants.allows(&tenant, Permission::RunJobs),
        ..frame(&c, Some(&s), Some(&tenant))
    };
    render(&c, StatusCode::OK, "evidence.html", ctx)
}

/// What building the package found.
enum Built {
    Zip(Vec<u8>),
    NoSnapshot,
}

/// `GET /t/{tenant}/evidence.zip`.
pub(crate) async fn download(
    State(c): State<Arc<Console>>,
    Path(tenant): Path<String>,
    headers: HeaderMap,
) -> Response {
    let s = match web::signed_for(
        &c,
        &headers,
        &tenant,
        &format!("/t/{tenant}/evidence"),
        true,
        Permission::DownloadEvidence,
    ) {
        Ok(s) => s,
        Err(r) => return r.into_response(),
    };
    let Some(t) = c.serve.tenant(&tenant).cloned() else {
        return StatusCode::NOT_FOUND.into_response();
    };
    let built = blocking(move || {
        let store = t.snapshots()?;
        let Some(info) = store
            .latest_snapshot(t.id(), true)
            .map_err(|e| e.to_string())?
        else {
            return Ok(Built::NoSnapshot);
        };
        let snapshot = store.load_snapshot(&info.id).map_err(|e| e.to_string())?;
        let items = items(t.records()?.as_ref(), &t.config, &snapshot)?;
        let zip = ppgov_report::evidence_package(&items)
            .map_err(|e| format!("cannot build the evidence package: {e}"))?;
        Ok(Built::Zip(zip))
    })
    .await;
    let zip = match built {
        Ok(Built::Zip(z)) => z,
        Ok(Built::NoSnapshot) => {
            return problem(
                &c,
                Some(&s),
                StatusCode::NOT_FOUND,
                "No complete snapshot yet",
                "the evidence package is built from the latest complete snapshot, and this tenant has none; run a crawl first (an admin starts one from the overview, or `ppgov crawl`), then download again",
            );
        }
        Err(e) => {
            tracing::error!(error = %e, tenant, "evidence package failed");
            return problem(
                &c,
                Some(&s),
                StatusCode::SERVICE_UNAVAILABLE,
                "The evidence package cannot be built",
                &e,
            );
        }
    };
    let date = chrono::DateTime::from_timestamp_millis(c.serve.now_ms())
        .unwrap_or_default()
        .format("%Y-%m-%d");
    let name = format!("ppgov-evidence-{}-{date}.zip", file_part(&tenant));
    tracing::info!(user = %s.session.who.username, tenant, "evidence package downloaded");
    (
        [
            (header::CONTENT_TYPE, "application/zip".to_string()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{name}\""),
            ),
            (header::CACHE_CONTROL, "no-store".to_string()),
        ],
        zip,
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_page_names_every_file_and_says_when_there_is_no_snapshot() {
        let pages = crate::pages::Pages::new().unwrap();
        let files: Vec<_> = FILES
            .iter()
            .map(|&(name, what)| context! { name => name, what => what })
            .collect();
        let html = pages
            .render(
                "evidence.html",
                context! { title => "Evidence package", files => files, tenant_id => "t1" },
            )
            .unwrap();
        assert!(html.contains("id=\"no-snapshot\""), "{html}");
        assert!(!html.contains("id=\"download-evidence\""), "{html}");
        for (name, _) in FILES {
            // minijinja writes `/` as `&#x2f;`.
            assert!(
                html.contains(&name.replace('/', "&#x2f;")),
                "{name}\n{html}"
            );
        }
    }
}
