//! PPG-DET-005: a connection created (`PutConnection`) in a sensitive environment.

use super::config::has;
use super::{Detection, DetectionConfig, Ev, Meta, single};
use ppgov_store::AlertRow;

static META: Meta = Meta {
    id: "PPG-DET-005",
    title: "Connection created in a sensitive environment",
    severity: "low",
    mitre: "T1567 Exfiltration Over Web Service",
    source: "Sentinel",
};

pub(crate) struct SensitiveConnection;

impl Detection for SensitiveConnection {
    fn meta(&self) -> &'static Meta {
        &META
    }

    fn observe(&mut self, e: &Ev<'_>, cfg: &DetectionConfig, out: &mut Vec<AlertRow>) {
        if e.op() == "PutConnection" && has(&cfg.sensitive_environments, &e.row.environment_id) {
            out.push(single(
                &META,
                &e.row.id,
                e,
                format!(
                    "connection created in sensitive environment {}",
                    e.row.environment_id
                ),
            ));
        }
    }
}
