//! `[crawl]`: how an incremental crawl decides what to read again.
//!
//! ```toml
//! [crawl.max_age]
//! permissions = "24h"       # app, flow and connection access lists
//! runs = "24h"              # flow run history
//! principal_state = "24h"   # a user's or group's state in Entra (deleted, disabled, guest)
//! role_holders = "24h"      # environment admins (BAP roles, System Administrators, group teams)
//! definition = "unlimited"  # a flow's definition; lastModifiedTime says when it changed
//! ```
//!
//! Durations are a whole number with a unit `s`, `m`, `h` or `d` (`"90m"`, `"7d"`), `"0"` (read
//! on every crawl), or `"unlimited"` (only when the resource's `lastModifiedTime` moves).

use crate::error::{ConfigError, Location};
use chrono::Duration;
use ppgov_core::Facet;

/// The longest an incremental crawl may carry each facet forward; `None` is unlimited.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MaxAges {
    /// Flow definitions (default unlimited: `lastModifiedTime` covers them).
    pub definition: Option<Duration>,
    /// Access lists (default 24 h).
    pub permissions: Option<Duration>,
    /// Flow run history (default 24 h).
    pub runs: Option<Duration>,
    /// Principals' state in Entra (default 24 h).
    pub principal_state: Option<Duration>,
    /// Environment role holders (default 24 h).
    pub role_holders: Option<Duration>,
}

impl Default for MaxAges {
    fn default() -> Self {
        MaxAges {
            definition: None,
            permissions: Some(Duration::hours(24)),
            runs: Some(Duration::hours(24)),
            principal_state: Some(Duration::hours(24)),
            role_holders: Some(Duration::hours(24)),
        }
    }
}

impl MaxAges {
    /// Every facet read again on every crawl (what `--full` does, and what tests use to compare
    /// an incremental crawl with a full one).
    pub fn zero() -> MaxAges {
        let z = Some(Duration::zero());
        MaxAges {
            definition: z,
            permissions: z,
            runs: z,
            principal_state: z,
            role_holders: z,
        }
    }

    /// The limit of one facet; `None` is unlimited.
    pub fn of(&self, facet: Facet) -> Option<Duration> {
        match facet {
            Facet::Definition => self.definition,
            Facet::Permissions => self.permissions,
            Facet::Runs => self.runs,
            Facet::PrincipalState => self.principal_state,
            Facet::RoleHolders => self.role_holders,
        }
    }
}

/// `[crawl]`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CrawlConfig {
    /// `[crawl.max_age]`.
    pub max_age: MaxAges,
}

/// Parses `"24h"`, `"90m"`, `"7d"`, `"30s"`, `"0"` or `"unlimited"`.
pub fn parse_max_age(text: &str) -> Result<Option<Duration>, String> {
    let t = text.trim();
    if t.eq_ignore_ascii_case("unlimited") {
        return Ok(None);
    }
    if t == "0" {
        return Ok(Some(Duration::zero()));
    }
    let (digits, unit) = t.split_at(t.len().saturating_sub(1));
    let n: i64 = digits
        .parse()
        .ok()
        .filter(|n| *n >= 0 && *n <= 36_500 * 86_400)
        .ok_or_else(|| format!("`{text}` is not a duration"))?;
    match unit {
        "s" => Ok(Some(Duration::seconds(n))),
        "m" => Ok(Some(Duration::minutes(n))),
        "h" => Ok(Some(Duration::hours(n))),
        "d" => Ok(Some(Duration::days(n))),
        _ => Err(format!("`{text}` has no unit")),
    }
}

/// The facets `[crawl.max_age]` knows, by key.
pub(crate) const FACET_KEYS: &[(&str, Facet)] = &[
    ("definition", Facet::Definition),
    ("permissions", Facet::Permissions),
    ("runs", Facet::Runs),
    ("principal_state", Facet::PrincipalState),
    ("role_holders", Facet::RoleHolders),
];

/// Resolves `[crawl]` from the merged scalars (`crawl.max_age.<facet>`).
pub(crate) fn resolve(
    get: &dyn Fn(&str) -> Option<(String, Location)>,
    errs: &mut Vec<ConfigError>,
) -> CrawlConfig {
    let mut c = CrawlConfig::default();
    for (name, facet) in FACET_KEYS {
        let key = format!("crawl.max_age.{name}");
        let Some((value, location)) = get(&key) else {
            continue;
        };
        match parse_max_age(&value) {
            Ok(limit) => {
                let slot = match facet {
                    Facet::Definition => &mut c.max_age.definition,
                    Facet::Permissions => &mut c.max_age.permissions,
                    Facet::Runs => &mut c.max_age.runs,
                    Facet::PrincipalState => &mut c.max_age.principal_state,
                    Facet::RoleHolders => &mut c.max_age.role_holders,
                };
                *slot = limit;
            }
            Err(msg) => errs.push(
                ConfigError::new(location, key, msg)
                    .fix("write a whole number with a unit (\"30m\", \"24h\", \"7d\"), \"0\" or \"unlimited\""),
            ),
        }
    }
    c
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_parse_or_are_refused() {
        assert_eq!(parse_max_age("24h"), Ok(Some(Duration::hours(24))));
        assert_eq!(parse_max_age("90m"), Ok(Some(Duration::minutes(90))));
        assert_eq!(parse_max_age("7d"), Ok(Some(Duration::days(7))));
        assert_eq!(parse_max_age("0"), Ok(Some(Duration::zero())));
        assert_eq!(parse_max_age("unlimited"), Ok(None));
        for bad in ["", "h", "24", "-1h", "1.5h", "24 hours", "1w"] {
            assert!(parse_max_age(bad).is_err(), "{bad} accepted");
        }
    }
}
