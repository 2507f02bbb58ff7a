//! PPG-DET-006: a DLP policy deleted, or updated more than `dlp_update_grace_minutes` after its
//! creation (or with no creation seen).

use super::{DAY, Detection, DetectionConfig, Ev, MINUTE, Meta, from_state, single, to_state};
use crate::event::attr;
use ppgov_store::AlertRow;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::HashMap;

static META: Meta = Meta {
    id: "PPG-DET-006",
    title: "DLP policy updated or deleted",
    severity: "low",
    mitre: "T1562 Impair Defenses",
    source: "Sentinel",
};

#[derive(Default, Serialize, Deserialize)]
pub(crate) struct DlpChanged {
    /// Policy id -> creation time (kept one day: longer than any grace period).
    created: HashMap<String, i64>,
}

impl Detection for DlpChanged {
    fn meta(&self) -> &'static Meta {
        &META
    }

    fn observe(&mut self, e: &Ev<'_>, cfg: &DetectionConfig, out: &mut Vec<AlertRow>) {
        if e.row.resource_kind != "dlp_policy" {
            return;
        }
        let policy = e.row.resource_id.clone();
        match e.attr(attr::POLICY_OP) {
            Some("CreateDlpPolicy") => {
                self.created.insert(policy, e.t());
            }
            Some("DeleteDlpPolicy") => {
                out.push(single(
                    &META,
                    &e.row.id,
                    e,
                    format!("DLP policy {policy} deleted"),
                ));
            }
            Some("UpdateDlpPolicy") => {
                let grace = cfg.dlp_update_grace_minutes * MINUTE;
                let fresh = self
                    .created
                    .get(&policy)
                    .is_some_and(|c| *c <= e.t() && e.t() - c <= grace);
                if !fresh {
                    out.push(single(
                        &META,
                        &e.row.id,
                        e,
                        format!("DLP policy {policy} updated"),
                    ));
                }
            }
            _ => {}
        }
    }

    fn sweep(&mut self, now: i64, _cfg: &DetectionConfig) {
        self.created.retain(|_, t| *t >= now - DAY);
    }

    fn save(&self) -> Value {
        to_state(self)
    }

    fn load(&mut self, v: Value) -> Result<(), String> {
        *self = from_state(v)?;
        Ok(())
    }
}
