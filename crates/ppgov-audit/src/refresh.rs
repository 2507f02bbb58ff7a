//! The inventory kept current from the audit log: which resources an event marks for refresh.
//!
//! Pure mapping from a normalised event to `(kind, id, reason)`; the crawler's refresh-marks
//! API (ppgov-store, incremental crawl) takes these marks and refreshes those resources first,
//! whatever their facet's age. Kinds use the store's resource kind names.

use crate::event::attr;
use crate::event::attr_of;
use ppgov_store::EventRow;
use serde::Serialize;

/// One resource to refresh.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct RefreshMark {
    /// Resource kind (`flow`, `app`, `connection`, `dlp_policy`, `environment`).
    pub kind: &'static str,
    /// Resource id (for environment-scoped refreshes: the environment id).
    pub id: String,
    /// Environment the resource is in, when known.
    pub environment_id: Option<String>,
    /// Why: the operation and the event id.
    pub reason: String,
}

/// The resources `e` changed, if any.
pub fn marks(e: &EventRow) -> Vec<RefreshMark> {
    let env = Some(e.environment_id.clone()).filter(|x| !x.is_empty());
    let reason = format!("{} (audit event {})", e.operation, e.id);
    let mark = |kind: &'static str, id: &str| RefreshMark {
        kind,
        id: id.to_string(),
        environment_id: env.clone(),
        reason: reason.clone(),
    };
    let mut out = Vec::new();
    match (e.record_type, e.operation.as_str()) {
        (30, "CreateFlow" | "EditFlow" | "PutPermissions" | "DeletePermissions" | "DeleteFlow") => {
            if !e.resource_id.is_empty() {
                out.push(mark("flow", &e.resource_id));
            } else if let Some(env) = &env {
                // A deletion names no flow: the environment's flows are listed again.
                out.push(mark("environment_flows", env));
            }
        }
        (
            _,
            "PowerAppPermissionEdited"
            | "PowerAppPermissionDeleted"
            | "AdminModifyAppPermissions"
            | "AdminModifyAppOwner"
            | "CreatePowerApp"
            | "PublishPowerApp"
            | "DeletePowerApp"
            | "AdminDeleteApp"
            | "AdminQuarantineApp"
            | "UpdatePowerApp"
            | "ImportNewCanvasApp",
        ) => {
            if let Some(app) =
                attr_of(e, attr::APP).or(Some(e.resource_id.clone()).filter(|x| !x.is_empty()))
            {
                out.push(mark("app", &app));
            }
        }
        (_, "PutConnection" | "DeleteConnection" | "PutConnectionPermission") => {
            if !e.resource_id.is_empty() {
                out.push(mark("connection", &e.resource_id));
            } else if let Some(env) = &env {
                out.push(mark("environment_connections", env));
            }
        }
        (79, _) if !e.resource_id.is_empty() => {
            out.push(mark("connection", &e.resource_id));
        }
        (187, _) | (_, "GovernanceApiPolicyOperation") if !e.resource_id.is_empty() => {
            out.push(mark("dlp_policy", &e.resource_id));
        }
        (_, "EnvironmentPropertyChange" | "TenantIsolationOperation" | "ApplyAdminRole") => {
            if let Some(env) = &env {
                out.push(mark("environment", env));
            }
        }
        _ => {}
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::normalise;

    #[test]
    fn sharing_a_flow_marks_the_flow() {
        let e = normalise(r#"{"Id":"1","RecordType":30,"CreationTime":"2026-03-01T10:00:00","Operation":"PutPermissions",
            "UserId":"a@c.com","FlowDetailsUrl":"https://make.powerautomate.com/environments/Default-t/flows/f1/details","RecipientUPN":"b@c.com"}"#).unwrap();
        assert_eq!(
            marks(&e),
            vec![RefreshMark {
                kind: "flow",
                id: "f1".into(),
                environment_id: Some("Default-t".into()),
                reason: "PutPermissions (audit event 1)".into()
            }]
        );
        let e = normalise(r#"{"Id":"2","RecordType":256,"CreationTime":"2026-03-01T10:00:00","Operation":"GovernanceApiPolicyOperation",
            "PropertyCollection":[{"Name":"powerplatform.analytics.resource.id","Value":"p1"},{"Name":"powerplatform.analytics.resource.type","Value":"ApiPolicy"}]}"#).unwrap();
        assert_eq!(marks(&e)[0].kind, "dlp_policy");
        assert_eq!(marks(&e)[0].id, "p1");
        let e = normalise(r#"{"Id":"3","RecordType":30,"CreationTime":"2026-03-01T10:00:00","Operation":"LaunchFlow"}"#).unwrap();
        assert!(marks(&e).is_empty());
    }
}
