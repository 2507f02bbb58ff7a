//! PPG-DET-011: a high-risk operation outside business hours (configured days, hours and time
//! zone; the zone is `UTC` or a fixed offset).

use super::config::{BusinessHours, has};
use super::{Detection, DetectionConfig, Ev, MINUTE, Meta, single};
use chrono::{Datelike, Timelike};
use ppgov_store::AlertRow;

static META: Meta = Meta {
    id: "PPG-DET-011",
    title: "High-risk operation outside business hours",
    severity: "low",
    mitre: "T1078 Valid Accounts",
    source: "seed 002",
};

/// Parsed business hours.
pub(crate) struct Hours {
    offset_min: i64,
    days: [bool; 7],
    start: u32,
    end: u32,
}

fn hhmm(s: &str) -> Option<u32> {
    let (h, m) = s.trim().split_once(':')?;
    let (h, m): (u32, u32) = (h.parse().ok()?, m.parse().ok()?);
    (h <= 24 && m < 60).then_some(h * 60 + m)
}

impl Hours {
    pub(crate) fn parse(b: &BusinessHours) -> Result<Hours, ()> {
        let tz = b.time_zone.trim();
        let offset_min = if tz.eq_ignore_ascii_case("utc") || tz == "Z" {
            0
        } else {
            let sign = match tz.as_bytes().first() {
                Some(b'+') => 1,
                Some(b'-') => -1,
                _ => return Err(()),
            };
            i64::from(hhmm(&tz[1..]).ok_or(())?) * sign
        };
        let mut days = [false; 7];
        for d in &b.days {
            let i = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
                .iter()
                .position(|x| d.to_ascii_lowercase().starts_with(x))
                .ok_or(())?;
            days[i] = true;
        }
        Ok(Hours {
            offset_min,
            days,
            start: hhmm(&b.start).ok_or(())?,
            end: hhmm(&b.end).ok_or(())?,
        })
    }

    fn open(&self, t: i64) -> bool {
        let Some(local) = chrono::DateTime::from_timestamp_millis(t + self.offset_min * MINUTE)
        else {
            return true;
        };
        let m = local.hour() * 60 + local.minute();
        self.days[local.weekday().num_days_from_monday() as usize]
            && m >= self.start
            && m < self.end
    }
}

pub(crate) struct OffHours;

impl Detection for OffHours {
    fn meta(&self) -> &'static Meta {
        &META
    }

    fn observe(&mut self, e: &Ev<'_>, cfg: &DetectionConfig, out: &mut Vec<AlertRow>) {
        if !has(&cfg.high_risk_operations, e.op()) {
            return;
        }
        // Validated when the configuration was loaded; an invalid one never judges.
        let Ok(h) = Hours::parse(&cfg.business_hours) else {
            return;
        };
        if !h.open(e.t()) {
            out.push(single(
                &META,
                &e.row.id,
                e,
                format!("high-risk {} outside business hours", e.op()),
            ));
        }
    }
}
