//! PPG-DET-007: defence impairment chain: tenant isolation turned off, then an environment's
//! security group removed, by the same actor within `impairment_chain_days`.

use super::{DAY, Detection, DetectionConfig, Ev, Meta, alert, from_state, to_state};
use crate::event::attr;
use ppgov_store::AlertRow;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::HashMap;

static META: Meta = Meta {
    id: "PPG-DET-007",
    title: "Defence impairment: tenant isolation off and a security group removed",
    severity: "high",
    mitre: "T1562 Impair Defenses",
    source: "Sentinel",
};

#[derive(Default, Serialize, Deserialize)]
pub(crate) struct DefenceImpairment {
    /// Actor -> (time, id) of isolation turned off.
    off: HashMap<String, Vec<(i64, String)>>,
}

impl Detection for DefenceImpairment {
    fn meta(&self) -> &'static Meta {
        &META
    }

    fn observe(&mut self, e: &Ev<'_>, cfg: &DetectionConfig, out: &mut Vec<AlertRow>) {
        let span = cfg.impairment_chain_days * DAY;
        if e.op() == "TenantIsolationOperation" {
            if e.attr(attr::ISOLATION)
                .is_some_and(|v| v.eq_ignore_ascii_case("false"))
            {
                self.off
                    .entry(e.row.actor.clone())
                    .or_default()
                    .push((e.t(), e.row.id.clone()));
            }
            return;
        }
        if e.op() == "EnvironmentPropertyChange"
            && e.attr(attr::SG_REMOVED) == Some("true")
            && let Some(offs) = self.off.get(&e.row.actor)
        {
            for (t, id) in offs {
                if *t <= e.t() && e.t() - t <= span {
                    let reason = format!(
                        "tenant isolation turned off, then the security group of environment {} removed",
                        e.row.environment_id
                    );
                    out.push(alert(
                        &META,
                        &format!("{}|{id}", e.row.actor),
                        e,
                        vec![id.clone(), e.row.id.clone()],
                        *t,
                        reason,
                    ));
                }
            }
        }
    }

    fn sweep(&mut self, now: i64, cfg: &DetectionConfig) {
        let span = cfg.impairment_chain_days * DAY;
        self.off.retain(|_, v| {
            v.retain(|(t, _)| *t >= now - span);
            !v.is_empty()
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
