//! PPG-DET-001: bulk deletion of flows by one actor: at least `bulk_flow_delete.min`
//! `DeleteFlow` within the window, and more than the actor's 14-day hourly baseline (mean plus
//! three standard deviations of the actor's hourly deletion counts before the window).

use super::window::Sliding;
use super::{DAY, Detection, DetectionConfig, Ev, HOUR, MINUTE, Meta, alert, from_state, to_state};
use ppgov_store::AlertRow;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::{BTreeMap, HashMap};

static META: Meta = Meta {
    id: "PPG-DET-001",
    title: "Bulk deletion of flows by one actor",
    severity: "medium",
    mitre: "T1485 Data Destruction",
    source: "Sentinel",
};

const BASELINE: i64 = 14 * DAY;

#[derive(Default, Serialize, Deserialize)]
pub(crate) struct BulkFlowDeletion {
    windows: HashMap<String, Sliding>,
    /// Actor -> hour -> deletions.
    hours: HashMap<String, BTreeMap<i64, u32>>,
}

impl Detection for BulkFlowDeletion {
    fn meta(&self) -> &'static Meta {
        &META
    }

    fn observe(&mut self, e: &Ev<'_>, cfg: &DetectionConfig, out: &mut Vec<AlertRow>) {
        if e.op() != "DeleteFlow" {
            return;
        }
        let c = &cfg.bulk_flow_delete;
        let window = c.window_minutes * MINUTE;
        let actor = &e.row.actor;
        let t = e.t();
        let hours = self.hours.entry(actor.clone()).or_default();
        // Baseline: hourly counts in the 14 days before the window.
        let (lo, hi) = (
            (t - window - BASELINE).div_euclid(HOUR),
            (t - window).div_euclid(HOUR),
        );
        let counts: Vec<f64> = (lo..hi)
            .map(|h| f64::from(hours.get(&h).copied().unwrap_or(0)))
            .collect();
        let n = counts.len().max(1) as f64;
        let mean = counts.iter().sum::<f64>() / n;
        let var = counts.iter().map(|x| (x - mean) * (x - mean)).sum::<f64>() / n;
        let baseline = mean + 3.0 * var.sqrt();
        *hours.entry(t.div_euclid(HOUR)).or_default() += 1;
        let w = self.windows.entry(actor.clone()).or_default();
        w.push(t, &e.row.id, "", window);
        let count = w.events.len();
        let fires = count >= c.min as usize && count as f64 > baseline;
        if let Some((key, ids, first)) = w.incident(t, &e.row.id, window, fires, actor) {
            let reason = format!(
                "{count} flow deletions within {} minutes (baseline {baseline:.1} per hour)",
                c.window_minutes
            );
            out.push(alert(&META, &key, e, ids, first, reason));
        }
    }

    fn sweep(&mut self, now: i64, cfg: &DetectionConfig) {
        let window = cfg.bulk_flow_delete.window_minutes * MINUTE;
        self.windows.retain(|_, w| !w.stale(now, window));
        let oldest = (now - window - BASELINE).div_euclid(HOUR);
        self.hours.retain(|_, h| {
            h.retain(|k, _| *k >= oldest);
            !h.is_empty()
        });
    }

    fn save(&self) -> Value {
        to_state(self)
    }

    fn load(&mut self, v: Value) -> Result<(), String> {
        *self = from_state(v)?;
        Ok(())
    }
}
