//! PPG-DET-016: Dataverse auditing disabled or audit data deleted.

use super::{Detection, DetectionConfig, Ev, Meta, single};
use ppgov_store::AlertRow;

static META: Meta = Meta {
    id: "PPG-DET-016",
    title: "Dataverse auditing disabled or audit data deleted",
    severity: "high",
    mitre: "T1562.008 Impair Defenses: Disable or Modify Cloud Logs",
    source: "Sentinel",
};

const OPS: [&str; 4] = [
    "Disable Organization Audit",
    "User Access Audit is disabled on the organization",
    "DeleteAuditData",
    "DeleteRecordChangeHistory",
];

pub(crate) struct AuditImpairment;

impl Detection for AuditImpairment {
    fn meta(&self) -> &'static Meta {
        &META
    }

    fn observe(&mut self, e: &Ev<'_>, _cfg: &DetectionConfig, out: &mut Vec<AlertRow>) {
        if OPS.contains(&e.op()) {
            out.push(single(
                &META,
                &e.row.id,
                e,
                format!("{} in {}", e.op(), e.row.environment_id),
            ));
        }
    }
}
