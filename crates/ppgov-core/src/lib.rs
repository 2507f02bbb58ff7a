//! Domain vocabulary shared by everything above the wire: the snapshot of a tenant and its
//! collection status, resource kinds, findings and severities, and `Secret<T>`.
//!
//! Nothing here knows a wire format (that is `ppgov-model`) or does I/O. The crawler maps wire
//! types into these; the store persists them; the engine judges them; the report renders them.

pub mod domain;
pub mod finding;
pub mod groups;
pub mod hex;
pub mod observed;
pub mod resource;
pub mod secret;
pub mod severity;
pub mod snapshot;

pub use finding::{
    Finding, FrameworkRef, Gate, Remediation, RuleResult, RuleStatus, ScanReport, ScanSummary,
    Suppressed,
};
pub use groups::GroupMembers;
pub use hex::hex;
pub use observed::{Facet, Observation, Observations};
pub use resource::{ResourceKind, ResourceRef};
pub use secret::Secret;
pub use severity::Severity;
pub use snapshot::*;

/// The role template id of Dataverse's System Administrator role, the same in every environment.
pub const SYSTEM_ADMINISTRATOR_TEMPLATE_ID: &str = "627090ff-40a3-4053-8790-584edc5be201";

/// Lower-cases a connector id and keeps its last path segment:
/// `/providers/Microsoft.PowerApps/apis/shared_sharepointonline` becomes `shared_sharepointonline`.
///
/// Power Apps writes api ids in lower case, flows in mixed case, DLP policies in either; every
/// comparison between connectors goes through this one function.
pub fn connector_key(id: &str) -> String {
    id.trim()
        .trim_end_matches('/')
        .rsplit('/')
        .next()
        .unwrap_or_default()
        .to_ascii_lowercase()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn connector_key_normalises_every_form() {
        assert_eq!(
            connector_key("/providers/Microsoft.PowerApps/apis/shared_sharepointonline"),
            "shared_sharepointonline"
        );
        assert_eq!(
            connector_key("/providers/microsoft.powerapps/apis/Shared_SQL"),
            "shared_sql"
        );
        assert_eq!(connector_key("Http"), "http");
    }
}
