//! PPG-DET-011: a high-risk operation outside business hours (configured days, hours and time
//! zone; the zone is `UTC`, a fixed offset such as `+01:00`, or an IANA name such as
//! `Europe/Berlin`, whose daylight saving time is followed).

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

/// A business-hours time zone.
enum Zone {
    /// Minutes east of UTC.
    Fixed(i64),
    /// An IANA zone, daylight saving time included.
    Named(chrono_tz::Tz),
}

/// Parsed business hours.
pub(crate) struct Hours {
    zone: Zone,
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
        let zone = if tz.eq_ignore_ascii_case("utc") || tz == "Z" {
            Zone::Fixed(0)
        } else {
            match tz.as_bytes().first() {
                Some(b'+') => Zone::Fixed(i64::from(hhmm(&tz[1..]).ok_or(())?)),
                Some(b'-') => Zone::Fixed(-i64::from(hhmm(&tz[1..]).ok_or(())?)),
                _ => Zone::Named(tz.parse::<chrono_tz::Tz>().map_err(|_| ())?),
            }
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
            zone,
            days,
            start: hhmm(&b.start).ok_or(())?,
            end: hhmm(&b.end).ok_or(())?,
        })
    }

    /// The local weekday (Monday 0) and minute of the day at `t` (ms).
    fn local(&self, t: i64) -> Option<(usize, u32)> {
        let (day, hour, minute) = match &self.zone {
            Zone::Fixed(off) => {
                let l = chrono::DateTime::from_timestamp_millis(t + off * MINUTE)?;
                (l.weekday(), l.hour(), l.minute())
            }
            Zone::Named(tz) => {
                let l = chrono::DateTime::from_timestamp_millis(t)?.with_timezone(tz);
                (l.weekday(), l.hour(), l.minute())
            }
        };
        Some((day.num_days_from_monday() as usize, hour * 60 + minute))
    }

    fn open(&self, t: i64) -> bool {
        let Some((day, m)) = self.local(t) else {
            return true;
        };
        self.days[day] && m >= self.start && m < self.end
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

#[cfg(test)]
mod tests {
    use super::*;

    fn hours(tz: &str) -> Result<Hours, ()> {
        Hours::parse(&BusinessHours {
            time_zone: tz.into(),
            days: ["Mon", "Tue", "Wed", "Thu", "Fri"].map(String::from).into(),
            start: "09:00".into(),
            end: "17:00".into(),
        })
    }

    fn ms(s: &str) -> i64 {
        chrono::DateTime::parse_from_rfc3339(s)
            .map(|t| t.timestamp_millis())
            .unwrap_or_default()
    }

    #[test]
    fn a_named_zone_follows_daylight_saving_time() {
        let berlin = hours("Europe/Berlin").unwrap_or_else(|()| panic!("a valid zone"));
        // 07:30 UTC is 09:30 in a Berlin summer (CEST) and 08:30 in its winter (CET).
        assert!(berlin.open(ms("2026-07-06T07:30:00Z")));
        assert!(!berlin.open(ms("2026-01-05T07:30:00Z")));
        // A fixed offset does not move with the seasons.
        let fixed = hours("+01:00").unwrap_or_else(|()| panic!("a valid offset"));
        assert!(!fixed.open(ms("2026-07-06T07:30:00Z")));
        // Saturday is closed in any zone.
        assert!(!berlin.open(ms("2026-07-04T10:00:00Z")));
        assert!(hours("Mars/Olympus_Mons").is_err());
        assert!(hours("UTC").is_ok());
    }
}
