//! Telling the next person: every step of a request notifies whoever acts next (reviewers,
//! approvers, admins from `[console]`, the maker by their sign-in name) through the tenant's
//! `[notify]` sinks. A notification that fails is logged and shown; it never undoes the step.

use ppgov_notify::{Notice, NoticeResource, Role, build_digests};
use ppgov_store::ConnectorRequest;

/// Sends `action` about request `r` to `recipients`; returns a problem to show, if any.
pub(crate) async fn tell(
    tenant: &ppgov_serve::Tenant,
    r: &ConnectorRequest,
    recipients: &[String],
    maker: bool,
    action: String,
    due: Option<chrono::NaiveDate>,
) -> Option<String> {
    let notifier = match tenant.notifier() {
        Ok(Some(n)) => n,
        Ok(None) => return None,
        Err(e) => return Some(format!("no one was told: {e}")),
    };
    let notices: Vec<Notice> = recipients
        .iter()
        .filter(|a| !a.is_empty())
        .map(|to| Notice {
            role: if maker { Role::Maker } else { Role::It },
            recipient: to.clone(),
            resource: NoticeResource {
                kind: "connector_request".into(),
                id: r.id.to_string(),
                name: r.connector.clone(),
                environment: Some(r.environment_id.clone()),
            },
            findings: vec![],
            action: action.clone(),
            due,
        })
        .collect();
    if notices.is_empty() {
        return None;
    }
    let failed: Vec<String> = notifier
        .send_all(&build_digests(notices))
        .await
        .into_iter()
        .filter_map(|o| {
            o.result
                .err()
                .map(|e| format!("{} via {}: {e}", o.recipient, o.sink))
        })
        .collect();
    if failed.is_empty() {
        None
    } else {
        tracing::warn!(request = r.id, failures = ?failed, "a request notification failed");
        Some(format!("telling people failed: {}", failed.join("; ")))
    }
}
