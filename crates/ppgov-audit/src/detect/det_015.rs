//! PPG-DET-015: consent granted to an app (Power Apps `RecordScopesConsent`, Entra
//! `Consent to application.`).

use super::{Detection, DetectionConfig, Ev, Meta, single};
use ppgov_store::AlertRow;

static META: Meta = Meta {
    id: "PPG-DET-015",
    title: "Consent granted to an app",
    severity: "medium",
    mitre: "T1528 Steal Application Access Token",
    source: "seed 002",
};

pub(crate) struct Consent;

impl Detection for Consent {
    fn meta(&self) -> &'static Meta {
        &META
    }

    fn observe(&mut self, e: &Ev<'_>, _cfg: &DetectionConfig, out: &mut Vec<AlertRow>) {
        if e.op() == "RecordScopesConsent" || e.op() == "Consent to application." {
            out.push(single(
                &META,
                &e.row.id,
                e,
                format!("{} on {}", e.op(), e.row.resource_id),
            ));
        }
    }
}
