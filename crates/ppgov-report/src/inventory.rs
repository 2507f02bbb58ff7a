//! The standard evidence set built from a snapshot and its scan, for the evidence package.

use crate::{EvidenceItem, ReportError, views};
use ppgov_core::{ScanReport, Snapshot};

/// Every DLP policy as pretty JSON (the normalised policy plus the document the API returned).
pub fn dlp_policies_json(snapshot: &Snapshot) -> Result<Vec<u8>, ReportError> {
    let mut v =
        serde_json::to_vec_pretty(&snapshot.dlp_policies).map_err(|source| ReportError::Json {
            what: "dlp policies",
            source,
        })?;
    v.push(b'\n');
    Ok(v)
}

/// The standard evidence set of a scan: DLP policies, role assignments, environment, flow, app
/// and connection inventories, the findings as JSON and CSV, and the snapshot's collection
/// status (what could not be collected is evidence too: an auditor must see the gaps). Add audit
/// events (when collected) before packaging.
pub fn standard_evidence(
    snapshot: &Snapshot,
    report: &ScanReport,
) -> Result<Vec<EvidenceItem>, ReportError> {
    Ok(vec![
        EvidenceItem::new("dlp/policies.json", dlp_policies_json(snapshot)?),
        EvidenceItem::new(
            "admins/role_assignments.csv",
            views::roles(snapshot, None).to_csv()?,
        ),
        EvidenceItem::new(
            "inventory/environments.csv",
            views::environments(snapshot, None).to_csv()?,
        ),
        EvidenceItem::new(
            "inventory/flows.csv",
            views::flows(snapshot, None).to_csv()?,
        ),
        EvidenceItem::new("inventory/apps.csv", views::apps(snapshot, None).to_csv()?),
        EvidenceItem::new(
            "inventory/connections.csv",
            views::connections(snapshot, None).to_csv()?,
        ),
        EvidenceItem::new("findings/findings.json", crate::json(report)?.into_bytes()),
        EvidenceItem::new("findings/findings.csv", crate::csv(report)?),
        EvidenceItem::new(
            "collection-status.json",
            serde_json::to_vec_pretty(&snapshot.collection).map_err(|source| {
                ReportError::Json {
                    what: "the collection status",
                    source,
                }
            })?,
        ),
    ])
}
