//! PPG-DET-017: mass deletion or export of Dataverse records: more than
//! `mass_record_operations.min` records deleted (`Delete`, `BulkDelete`) or exported
//! (`ExportToExcel`, counting the records it returned) by one user in one UTC day.

use super::{Detection, DetectionConfig, Ev, Meta, alert, day_of, from_state, to_state};
use crate::event::attr;
use ppgov_store::AlertRow;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::HashMap;

static META: Meta = Meta {
    id: "PPG-DET-017",
    title: "Mass deletion or export of Dataverse records",
    severity: "high",
    mitre: "T1485 Data Destruction",
    source: "Sentinel",
};

#[derive(Default, Serialize, Deserialize)]
struct Day {
    day: i64,
    first: i64,
    count: u64,
    ids: Vec<String>,
    fired: bool,
}

#[derive(Default, Serialize, Deserialize)]
pub(crate) struct MassRecords {
    /// (actor|kind) -> the current day.
    days: HashMap<String, Day>,
}

impl Detection for MassRecords {
    fn meta(&self) -> &'static Meta {
        &META
    }

    fn observe(&mut self, e: &Ev<'_>, cfg: &DetectionConfig, out: &mut Vec<AlertRow>) {
        if e.row.record_type != 21 {
            return;
        }
        let (kind, n) = match e.op() {
            "Delete" | "BulkDelete" => ("deleted", 1),
            "ExportToExcel" => (
                "exported",
                e.attr(attr::RECORDS)
                    .and_then(|r| r.parse().ok())
                    .unwrap_or(1u64),
            ),
            _ => return,
        };
        let day = day_of(e.t());
        let k = format!("{}|{kind}", e.row.actor);
        let d = self.days.entry(k.clone()).or_default();
        if day < d.day {
            return;
        }
        if day > d.day {
            *d = Day {
                day,
                first: e.t(),
                ..Day::default()
            };
        }
        d.count += n;
        let key = format!("{k}|{day}");
        let reason = format!("{} records {kind} in one day", d.count);
        if d.fired {
            out.push(alert(&META, &key, e, vec![e.row.id.clone()], e.t(), reason));
            return;
        }
        d.ids.push(e.row.id.clone());
        if d.count > cfg.mass_record_operations.min {
            d.fired = true;
            let ids = std::mem::take(&mut d.ids);
            out.push(alert(&META, &key, e, ids, d.first, reason));
        }
    }

    fn sweep(&mut self, now: i64, _cfg: &DetectionConfig) {
        let today = day_of(now);
        self.days.retain(|_, d| d.day >= today - 1);
    }

    fn save(&self) -> Value {
        to_state(self)
    }

    fn load(&mut self, v: Value) -> Result<(), String> {
        *self = from_state(v)?;
        Ok(())
    }
}
