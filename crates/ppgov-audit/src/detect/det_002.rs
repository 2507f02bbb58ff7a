//! PPG-DET-002: many apps deleted by one actor: at least `bulk_app_delete.min` `DeletePowerApp`
//! (or apps in at least `min_environments` environments) within the window.

use super::window::Sliding;
use super::{Detection, DetectionConfig, Ev, MINUTE, Meta, alert, from_state, to_state};
use ppgov_store::AlertRow;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::HashMap;

static META: Meta = Meta {
    id: "PPG-DET-002",
    title: "Many apps deleted by one actor",
    severity: "medium",
    mitre: "T1485 Data Destruction",
    source: "Sentinel",
};

#[derive(Default, Serialize, Deserialize)]
pub(crate) struct BulkAppDeletion {
    windows: HashMap<String, Sliding>,
}

impl Detection for BulkAppDeletion {
    fn meta(&self) -> &'static Meta {
        &META
    }

    fn observe(&mut self, e: &Ev<'_>, cfg: &DetectionConfig, out: &mut Vec<AlertRow>) {
        if e.op() != "DeletePowerApp" && e.op() != "AdminDeleteApp" {
            return;
        }
        let c = &cfg.bulk_app_delete;
        let window = c.window_minutes * MINUTE;
        let w = self.windows.entry(e.row.actor.clone()).or_default();
        w.push(e.t(), &e.row.id, &e.row.environment_id, window);
        let (count, envs) = (w.events.len(), w.distinct());
        let fires = count >= c.min as usize
            || (c.min_environments > 0 && envs >= c.min_environments as usize);
        if let Some((key, ids, first)) = w.incident(e.t(), &e.row.id, window, fires, &e.row.actor) {
            let reason = format!(
                "{count} apps deleted in {envs} environments within {} minutes",
                c.window_minutes
            );
            out.push(alert(&META, &key, e, ids, first, reason));
        }
    }

    fn sweep(&mut self, now: i64, cfg: &DetectionConfig) {
        let window = cfg.bulk_app_delete.window_minutes * MINUTE;
        self.windows.retain(|_, w| !w.stale(now, window));
    }

    fn save(&self) -> Value {
        to_state(self)
    }

    fn load(&mut self, v: Value) -> Result<(), String> {
        *self = from_state(v)?;
        Ok(())
    }
}
