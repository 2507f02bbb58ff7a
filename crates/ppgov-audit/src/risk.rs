//! Seed 002's operation risk levels: created flow medium, updated flow low, deleted flow medium,
//! created connection, shared flow and consent high. The rest of the list follows the same
//! reasoning (access control, credentials, defence impairment: high; destruction: medium).

/// An event's risk level.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Risk {
    /// Normal operations.
    Low,
    /// Review.
    Medium,
    /// Access control, credentials, data access.
    High,
}

impl Risk {
    /// `low`, `medium`, `high`.
    pub fn as_str(self) -> &'static str {
        match self {
            Risk::Low => "low",
            Risk::Medium => "medium",
            Risk::High => "high",
        }
    }
}

/// The risk level of an operation.
pub fn level(operation: &str) -> Risk {
    match operation {
        "PutConnection"
        | "PutPermissions"
        | "DeletePermissions"
        | "PowerAppPermissionEdited"
        | "RecordScopesConsent"
        | "Consent to application."
        | "ApplyAdminRole"
        | "TenantIsolationOperation"
        | "GovernanceApiPolicyOperation"
        | "PutConnectionPermission"
        | "AdminModifyAppPermissions"
        | "AdminModifyAppOwner"
        | "AdminSetAppBypassConsent"
        | "Disable Organization Audit"
        | "User Access Audit is disabled on the organization"
        | "DeleteAuditData"
        | "DeleteRecordChangeHistory"
        | "Invite external user."
        | "EnvironmentPropertyChange"
        | "ExportToExcel"
        | "BulkDelete" => Risk::High,
        "CreateFlow"
        | "DeleteFlow"
        | "DeletePowerApp"
        | "AdminDeleteApp"
        | "CreatePowerApp"
        | "PublishPowerApp"
        | "Delete"
        | "PowerAppPermissionDeleted"
        | "DeleteConnection"
        | "LockboxRequestOperation" => Risk::Medium,
        _ => Risk::Low,
    }
}

/// Parses `low|medium|high`.
pub fn parse(s: &str) -> Option<Risk> {
    match s.to_ascii_lowercase().as_str() {
        "low" => Some(Risk::Low),
        "medium" => Some(Risk::Medium),
        "high" => Some(Risk::High),
        _ => None,
    }
}
