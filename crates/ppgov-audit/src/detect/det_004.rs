//! PPG-DET-004: an app shared in bulk to newly invited guests: at least `new_guest_sharing.min`
//! distinct guest targets, each invited (Entra `Invite external user.`) within
//! `guest_age_days` before the share, per app and sharer within the window. Sentinel declares
//! this threshold and never applies it; here it is applied.

use super::window::Sliding;
use super::{DAY, Detection, DetectionConfig, Ev, MINUTE, Meta, alert, from_state, to_state};
use crate::event::attr;
use ppgov_store::AlertRow;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::HashMap;

static META: Meta = Meta {
    id: "PPG-DET-004",
    title: "Apps shared in bulk to newly invited guests",
    severity: "medium",
    mitre: "T1098 Account Manipulation",
    source: "Sentinel",
};

#[derive(Default, Serialize, Deserialize)]
pub(crate) struct GuestBulkSharing {
    /// Guest object id -> invitation time.
    invited: HashMap<String, i64>,
    /// (app, sharer) -> shares to new guests.
    windows: HashMap<String, Sliding>,
}

impl Detection for GuestBulkSharing {
    fn meta(&self) -> &'static Meta {
        &META
    }

    fn observe(&mut self, e: &Ev<'_>, cfg: &DetectionConfig, out: &mut Vec<AlertRow>) {
        let c = &cfg.new_guest_sharing;
        if e.row.record_type == 8 && e.op().starts_with("Invite external user") {
            if let Some(ids) = e.attr(attr::INVITED) {
                for id in ids.split(' ') {
                    self.invited.insert(id.to_string(), e.t());
                }
            }
            return;
        }
        if e.op() != "PowerAppPermissionEdited" {
            return;
        }
        let (Some(target), Some(app)) = (e.attr(attr::TARGET_USER), e.attr(attr::APP)) else {
            return;
        };
        let target = target.to_lowercase();
        let new_guest = self
            .invited
            .get(&target)
            .is_some_and(|inv| *inv <= e.t() && e.t() - inv <= c.guest_age_days * DAY);
        if !new_guest {
            return;
        }
        let window = c.window_minutes * MINUTE;
        let key = format!("{app}|{}", e.row.actor);
        let w = self.windows.entry(key.clone()).or_default();
        w.push(e.t(), &e.row.id, &target, window);
        let n = w.distinct();
        if let Some((k, ids, first)) =
            w.incident(e.t(), &e.row.id, window, n >= c.min as usize, &key)
        {
            let reason = format!(
                "app {app} shared to {n} guests invited in the last {} days",
                c.guest_age_days
            );
            out.push(alert(&META, &k, e, ids, first, reason));
        }
    }

    fn sweep(&mut self, now: i64, cfg: &DetectionConfig) {
        let c = &cfg.new_guest_sharing;
        self.invited
            .retain(|_, t| *t >= now - c.guest_age_days * DAY);
        self.windows
            .retain(|_, w| !w.stale(now, c.window_minutes * MINUTE));
    }

    fn save(&self) -> Value {
        to_state(self)
    }

    fn load(&mut self, v: Value) -> Result<(), String> {
        *self = from_state(v)?;
        Ok(())
    }
}
