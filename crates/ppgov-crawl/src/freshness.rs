//! What an incremental crawl reads again.
//!
//! A resource's definition is read again when its `lastModifiedTime` moved (compared at the
//! precision both sources share) or it was marked for refresh. Its other facets (permissions,
//! runs; principals' state) change without `lastModifiedTime` moving, so each is read again when
//! its last observation failed, is missing, or is past its maximum age (`[crawl.max_age]`).
//!
//! Spreading: a facet is due once its age passes `max_age * (1 - 0.25 * u)`, where `u` in `[0, 1)`
//! is a fixed hash of the facet and the resource id. Resources first read together (one full
//! crawl) thus fall due over the last quarter of their age window instead of all in the same
//! crawl, and each keeps its phase afterwards, so a tenant crawled every hour with 24 h ages
//! re-reads about 1/6 of its facets per crawl in steady state rather than everything once a day.
//! No facet is carried past its maximum age (a crawl after that reads it again); `0` reads it on
//! every crawl; `unlimited` never by age.

use crate::crawler::FacetCount;
use chrono::{DateTime, Duration, Utc};
use ppgov_config::MaxAges;
use ppgov_core::{Facet, Observation};
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};

/// A fixed number in `[0, 1)` per facet and id (FNV-1a; stable across runs and builds).
fn phase(facet: Facet, id: &str) -> f64 {
    let h = facet
        .as_str()
        .bytes()
        .chain([0u8])
        .chain(id.to_ascii_lowercase().bytes())
        .fold(0xcbf2_9ce4_8422_2325u64, |h, b| {
            (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
        });
    (h >> 11) as f64 / (1u64 << 53) as f64
}

/// True when the facet must be read again.
pub fn due(
    obs: Option<Observation>,
    facet: Facet,
    id: &str,
    now: DateTime<Utc>,
    ages: &MaxAges,
) -> bool {
    let Some(obs) = obs else { return true };
    if !obs.ok {
        return true;
    }
    let Some(limit) = ages.of(facet) else {
        return false;
    };
    if limit <= Duration::zero() {
        return true;
    }
    let age = now - obs.at;
    let threshold_ms = limit.num_milliseconds() as f64 * (1.0 - 0.25 * phase(facet, id));
    age.num_milliseconds() as f64 >= threshold_ms
}

/// Fractional-second digits of an RFC 3339 time as written (`...:05Z` 0, `...:05.1234567Z` 7).
pub fn fraction_digits(text: &str) -> u32 {
    let Some((_, rest)) = text.split_once('.') else {
        return 0;
    };
    rest.chars().take_while(char::is_ascii_digit).count() as u32
}

/// `t` cut to `digits` fractional digits (at most 9).
fn truncate(t: DateTime<Utc>, digits: u32) -> (i64, u32) {
    let unit = 10u32.pow(9 - digits.min(9));
    (t.timestamp(), t.timestamp_subsec_nanos() / unit * unit)
}

/// The store keeps microseconds.
const STORED_DIGITS: u32 = 6;

/// Whether a listed time (as written, parsed as `listed`) is the same instant as the one stored,
/// compared at the precision both share: the flow list writes whole seconds, the single-flow GET
/// seven digits, the store six.
pub fn same_time(stored: DateTime<Utc>, listed_text: &str, listed: DateTime<Utc>) -> bool {
    let digits = fraction_digits(listed_text).min(STORED_DIGITS);
    truncate(stored, digits) == truncate(listed, digits)
}

/// Facets read and carried during one crawl, counted by the shards.
#[derive(Debug, Default)]
pub struct Counts {
    read: [AtomicU64; 5],
    carried: [AtomicU64; 5],
}

const FACETS: [Facet; 5] = [
    Facet::Definition,
    Facet::Permissions,
    Facet::Runs,
    Facet::PrincipalState,
    Facet::RoleHolders,
];

fn slot(f: Facet) -> usize {
    FACETS.iter().position(|x| *x == f).unwrap_or(0)
}

impl Counts {
    /// `n` resources had `facet` read.
    pub fn read(&self, facet: Facet, n: usize) {
        self.read[slot(facet)].fetch_add(n as u64, Ordering::Relaxed);
    }

    /// `n` resources carried `facet` forward.
    pub fn carried(&self, facet: Facet, n: usize) {
        self.carried[slot(facet)].fetch_add(n as u64, Ordering::Relaxed);
    }

    /// The counts so far, for the crawl summary.
    pub fn summary(&self) -> BTreeMap<Facet, FacetCount> {
        FACETS
            .iter()
            .map(|f| {
                (
                    *f,
                    FacetCount {
                        read: self.read[slot(*f)].load(Ordering::Relaxed),
                        carried: self.carried[slot(*f)].load(Ordering::Relaxed),
                    },
                )
            })
            .filter(|(_, c)| c.read + c.carried > 0)
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    #[test]
    fn precision_is_the_one_both_sides_share() {
        let get = t("2026-03-08T09:35:31.4632469Z");
        assert!(same_time(
            get,
            "2026-03-08T09:35:31Z",
            t("2026-03-08T09:35:31Z")
        ));
        assert!(!same_time(
            get,
            "2026-03-08T09:35:32Z",
            t("2026-03-08T09:35:32Z")
        ));
        let l = "2026-03-08T09:35:31.463246Z";
        assert!(same_time(get, l, t(l)));
        let l = "2026-03-08T09:35:31.4632469Z";
        assert!(same_time(t("2026-03-08T09:35:31.463246Z"), l, t(l)));
        let l = "2026-03-08T09:35:31.5Z";
        assert!(!same_time(get, l, t(l)));
        assert_eq!(fraction_digits("2026-03-08T09:35:31Z"), 0);
        assert_eq!(fraction_digits("2026-03-08T09:35:31.4632469Z"), 7);
    }

    #[test]
    fn due_by_failure_age_and_limit() {
        let now = t("2026-03-08T12:00:00Z");
        let ages = MaxAges::default();
        let ok = |h: i64| {
            Some(Observation {
                at: now - Duration::hours(h),
                ok: true,
            })
        };
        assert!(due(None, Facet::Runs, "f", now, &ages));
        let failed = Some(Observation { at: now, ok: false });
        assert!(due(failed, Facet::Runs, "f", now, &ages));
        assert!(!due(ok(1), Facet::Runs, "f", now, &ages));
        assert!(due(ok(24), Facet::Runs, "f", now, &ages));
        // Definitions have no age by default.
        assert!(!due(ok(10_000), Facet::Definition, "f", now, &ages));
        assert!(due(ok(0), Facet::Runs, "f", now, &MaxAges::zero()));
    }

    #[test]
    fn refreshes_spread_over_the_last_quarter_of_the_window() {
        let now = t("2026-03-08T12:00:00Z");
        let ages = MaxAges::default();
        let at = |h: i64| {
            Some(Observation {
                at: now - Duration::hours(h),
                ok: true,
            })
        };
        let ids: Vec<String> = (0..1000).map(|i| format!("flow-{i}")).collect();
        let due_at = |h: i64| {
            ids.iter()
                .filter(|id| due(at(h), Facet::Permissions, id, now, &ages))
                .count()
        };
        assert_eq!(due_at(17), 0);
        let (d19, d21, d23) = (due_at(19), due_at(21), due_at(23));
        assert!(
            d19 > 50 && d19 < d21 && d21 < d23 && d23 < 1000,
            "{d19} {d21} {d23}"
        );
        assert_eq!(due_at(24), 1000);
    }
}
