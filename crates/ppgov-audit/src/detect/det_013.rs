//! PPG-DET-013: activity spike: an actor's operations in one UTC hour exceed `factor` times the
//! median of the actor's non-zero hourly counts over the previous 14 days (and at least
//! `min_events`). An actor with no history has no baseline and is not judged.

use super::{DAY, Detection, DetectionConfig, Ev, HOUR, Meta, alert, from_state, to_state};
use ppgov_store::AlertRow;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::{BTreeMap, HashMap};

static META: Meta = Meta {
    id: "PPG-DET-013",
    title: "Activity spike",
    severity: "medium",
    mitre: "T1078 Valid Accounts",
    source: "seed 002",
};

const BASELINE: i64 = 14 * DAY;

#[derive(Default, Serialize, Deserialize)]
struct Actor {
    /// Hour -> operations.
    hours: BTreeMap<i64, u32>,
    /// The current hour, its baseline median and its event ids.
    cur: i64,
    median: Option<f64>,
    /// Whether `median` was computed for `cur`: only once the hour's count reaches
    /// `min_events`, so the 14-day baseline is not sorted for every quiet actor-hour.
    #[serde(default)]
    judged: bool,
    ids: Vec<String>,
    fired: bool,
    first: i64,
}

#[derive(Default, Serialize, Deserialize)]
pub(crate) struct ActivitySpike {
    actors: HashMap<String, Actor>,
}

impl Detection for ActivitySpike {
    fn meta(&self) -> &'static Meta {
        &META
    }

    fn observe(&mut self, e: &Ev<'_>, cfg: &DetectionConfig, out: &mut Vec<AlertRow>) {
        if e.row.actor.is_empty() {
            return;
        }
        let c = &cfg.activity_spike;
        let h = e.t().div_euclid(HOUR);
        if !self.actors.contains_key(&e.row.actor) {
            self.actors.insert(e.row.actor.clone(), Actor::default());
        }
        let Some(a) = self.actors.get_mut(&e.row.actor) else {
            return;
        };
        *a.hours.entry(h).or_default() += 1;
        if h < a.cur {
            // A late event of an hour already judged: counted in the baseline only.
            return;
        }
        if h > a.cur {
            a.cur = h;
            a.ids.clear();
            a.fired = false;
            a.judged = false;
            a.median = None;
            a.first = e.t();
        }
        let count = a.hours.get(&h).copied().unwrap_or(0);
        // Built only when an alert is pushed: this runs for every event.
        let key = || format!("{}|{h}", e.row.actor);
        if a.fired {
            if let Some(median) = a.median {
                out.push(alert(
                    &META,
                    &key(),
                    e,
                    vec![e.row.id.clone()],
                    e.t(),
                    spike_reason(count, median),
                ));
            }
            return;
        }
        a.ids.push(e.row.id.clone());
        if count < c.min_events {
            return;
        }
        if !a.judged {
            a.judged = true;
            let lo = h - BASELINE / HOUR;
            let mut v: Vec<u32> = a
                .hours
                .range(lo..h)
                .map(|(_, n)| *n)
                .filter(|n| *n > 0)
                .collect();
            v.sort_unstable();
            a.median = v.get(v.len() / 2).map(|m| f64::from(*m));
        }
        let Some(median) = a.median else {
            return;
        };
        if f64::from(count) > c.factor * median {
            a.fired = true;
            let ids = std::mem::take(&mut a.ids);
            out.push(alert(
                &META,
                &key(),
                e,
                ids,
                a.first,
                spike_reason(count, median),
            ));
        }
    }

    fn sweep(&mut self, now: i64, _cfg: &DetectionConfig) {
        let oldest = (now - BASELINE).div_euclid(HOUR);
        let cur = now.div_euclid(HOUR);
        self.actors.retain(|_, a| {
            a.hours.retain(|k, _| *k >= oldest);
            if a.cur < cur - 1 {
                a.ids.clear();
            }
            !a.hours.is_empty()
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

fn spike_reason(count: u32, median: f64) -> String {
    format!("{count} operations in one hour against a usual {median} per active hour")
}
