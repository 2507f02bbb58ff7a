//! Detection thresholds and lists. Read from a TOML or JSON file (`--detections FILE`); the
//! emulator's ground-truth `detection_config` has the same shape. Every threshold has the
//! catalogue's default; lists are empty (and their detections off) until configured.

use crate::AuditError;
use serde::{Deserialize, Serialize};
use std::net::IpAddr;

/// Business hours: days, start and end (local `HH:MM`) in a time zone given as `UTC`, a fixed
/// offset (`+01:00`, `-05:00`) or an IANA name (`Europe/Berlin`, daylight saving time followed).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct BusinessHours {
    /// `UTC` or `±HH:MM`.
    pub time_zone: String,
    /// `Mon` .. `Sun`.
    pub days: Vec<String>,
    /// `HH:MM`.
    pub start: String,
    /// `HH:MM` (exclusive).
    pub end: String,
}

impl Default for BusinessHours {
    fn default() -> Self {
        BusinessHours {
            time_zone: "UTC".into(),
            days: ["Mon", "Tue", "Wed", "Thu", "Fri"]
                .map(String::from)
                .to_vec(),
            start: "08:00".into(),
            end: "18:00".into(),
        }
    }
}

/// A CIDR range and the country it is in.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct IpRange {
    /// `a.b.c.d/n` or IPv6 `x::/n`.
    pub cidr: String,
    /// ISO 3166 alpha-2 country code.
    pub country: String,
}

/// A blocked connector: its id and display name (`FlowConnectorNames` has display names).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Connector {
    /// `/providers/Microsoft.PowerApps/apis/shared_ftp` or `shared_ftp`.
    #[serde(default)]
    pub id: String,
    /// Display name (`FTP`).
    #[serde(default)]
    pub name: String,
}

/// A count within a window.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct Window {
    /// Minimum count.
    pub min: u32,
    /// Distinct environments that also fire (bulk app deletion).
    pub min_environments: u32,
    /// Guest age (days) for new-guest sharing.
    pub guest_age_days: i64,
    /// Window length.
    pub window_minutes: i64,
}

impl Default for Window {
    fn default() -> Self {
        Window {
            min: 10,
            min_environments: 0,
            guest_age_days: 14,
            window_minutes: 60,
        }
    }
}

/// Activity spike settings.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct Spike {
    /// Count must exceed this many times the median.
    pub factor: f64,
    /// And be at least this.
    pub min_events: u32,
    /// Free text (ignored).
    pub baseline: Option<String>,
}

impl Default for Spike {
    fn default() -> Self {
        Spike {
            factor: 10.0,
            min_events: 20,
            baseline: None,
        }
    }
}

/// Mass Dataverse record operations.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct Mass {
    /// More than this many per user per UTC day.
    pub min: u64,
    /// Free text (ignored).
    pub per: Option<String>,
}

impl Default for Mass {
    fn default() -> Self {
        Mass {
            min: 10_000,
            per: None,
        }
    }
}

/// An approved window for self-elevation (a change ticket's slot).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ElevationWindow {
    /// The admin (UPN) it is for, or `*` for every allow-listed admin.
    pub actor: String,
    /// The environment id it is for; absent for every environment.
    #[serde(default)]
    pub environment: Option<String>,
    /// Start, RFC 3339 (`2026-12-01T08:00:00Z`).
    pub start: String,
    /// End (exclusive), RFC 3339.
    pub end: String,
    /// Why (the change ticket), shown in the alert's reason when it does not cover.
    #[serde(default)]
    pub reference: Option<String>,
}

impl ElevationWindow {
    /// Start and end in ms, or why not.
    pub(crate) fn span(&self) -> Result<(i64, i64), String> {
        let t = |s: &str| {
            chrono::DateTime::parse_from_rfc3339(s.trim())
                .map(|d| d.timestamp_millis())
                .map_err(|e| {
                    format!(
                        "elevation window for {}: `{s}` is not an RFC 3339 time ({e})",
                        self.actor
                    )
                })
        };
        let (a, b) = (t(&self.start)?, t(&self.end)?);
        if b <= a {
            return Err(format!(
                "elevation window for {}: end {} is not after start {}",
                self.actor, self.end, self.start
            ));
        }
        Ok((a, b))
    }

    /// Whether it covers `actor` elevating in `environment` at `t` (ms).
    pub(crate) fn covers(&self, actor: &str, environment: &str, t: i64) -> bool {
        let who = self.actor.trim() == "*" || self.actor.eq_ignore_ascii_case(actor);
        let env = self
            .environment
            .as_deref()
            .is_none_or(|e| e.eq_ignore_ascii_case(environment));
        who && env && self.span().is_ok_and(|(a, b)| a <= t && t < b)
    }
}

/// Every detection setting.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct DetectionConfig {
    /// UPNs of departing users (DET-003).
    pub departing_users: Vec<String>,
    /// Environment ids that are sensitive (DET-005).
    pub sensitive_environments: Vec<String>,
    /// Who may share (DET-010; off when empty).
    pub authorised_sharers: Vec<String>,
    /// Business hours (DET-011).
    pub business_hours: BusinessHours,
    /// Operations judged high-risk outside business hours (DET-011).
    pub high_risk_operations: Vec<String>,
    /// Denied countries (DET-012).
    pub country_deny_list: Vec<String>,
    /// IP ranges to countries (DET-012).
    pub ip_ranges: Vec<IpRange>,
    /// Who may self-elevate (DET-014).
    pub elevation_allow_list: Vec<String>,
    /// Approved elevation windows (DET-014): when any is configured, an allow-listed admin's
    /// elevation outside every window that names them (and the environment, when it names one)
    /// is alerted too.
    pub elevation_windows: Vec<ElevationWindow>,
    /// Blocked connectors (DET-009).
    pub blocked_connectors: Vec<Connector>,
    /// The tenant's domains (DET-008; off when empty).
    pub tenant_domains: Vec<String>,
    /// DET-001.
    pub bulk_flow_delete: Window,
    /// DET-002.
    pub bulk_app_delete: Window,
    /// DET-004.
    pub new_guest_sharing: Window,
    /// DET-006: an update this soon after creation is not alerted.
    pub dlp_update_grace_minutes: i64,
    /// DET-007: the chain's span.
    pub impairment_chain_days: i64,
    /// DET-013.
    pub activity_spike: Spike,
    /// DET-017.
    pub mass_record_operations: Mass,
}

impl Default for DetectionConfig {
    fn default() -> Self {
        DetectionConfig {
            departing_users: Vec::new(),
            sensitive_environments: Vec::new(),
            authorised_sharers: Vec::new(),
            business_hours: BusinessHours::default(),
            high_risk_operations: [
                "PutConnection",
                "PutPermissions",
                "PowerAppPermissionEdited",
                "RecordScopesConsent",
                "Consent to application.",
            ]
            .map(String::from)
            .to_vec(),
            country_deny_list: Vec::new(),
            ip_ranges: Vec::new(),
            elevation_allow_list: Vec::new(),
            elevation_windows: Vec::new(),
            blocked_connectors: Vec::new(),
            tenant_domains: Vec::new(),
            bulk_flow_delete: Window::default(),
            bulk_app_delete: Window {
                min: 25,
                min_environments: 10,
                ..Window::default()
            },
            new_guest_sharing: Window {
                min: 5,
                ..Window::default()
            },
            dlp_update_grace_minutes: 10,
            impairment_chain_days: 14,
            activity_spike: Spike::default(),
            mass_record_operations: Mass::default(),
        }
    }
}

/// Parsed CIDR.
#[derive(Debug, Clone)]
pub(crate) struct Cidr {
    net: u128,
    mask: u128,
    v4: bool,
    pub country: String,
}

fn bits(ip: IpAddr) -> (u128, bool) {
    match ip {
        IpAddr::V4(a) => (u128::from(u32::from(a)), true),
        IpAddr::V6(a) => match a.to_ipv4_mapped() {
            Some(v4) => (u128::from(u32::from(v4)), true),
            None => (u128::from(a), false),
        },
    }
}

impl Cidr {
    pub(crate) fn parse(r: &IpRange) -> Result<Cidr, String> {
        let (a, n) = r
            .cidr
            .split_once('/')
            .ok_or_else(|| format!("ip range `{}` is not a CIDR (a.b.c.d/n)", r.cidr))?;
        let ip: IpAddr = a
            .parse()
            .map_err(|_| format!("ip range `{}`: `{a}` is not an IP address", r.cidr))?;
        let (net, v4) = bits(ip);
        let width = if v4 { 32 } else { 128 };
        let n: u32 = n
            .parse()
            .ok()
            .filter(|n| *n <= width)
            .ok_or_else(|| format!("ip range `{}`: prefix must be 0..={width}", r.cidr))?;
        let mask = if n == 0 {
            0
        } else {
            (u128::MAX << (128 - n)) >> (128 - width)
        };
        Ok(Cidr {
            net: net & mask,
            mask,
            v4,
            country: r.country.to_ascii_uppercase(),
        })
    }

    pub(crate) fn contains(&self, ip: IpAddr) -> bool {
        let (b, v4) = bits(ip);
        v4 == self.v4 && b & self.mask == self.net
    }
}

impl DetectionConfig {
    /// The `[detections]` section of a `ppgov.toml`, or the defaults when there is no file or
    /// no such section (the CLI and `ppgov serve` read it the same way).
    pub fn from_ppgov_toml(file: Option<&std::path::Path>) -> Result<Self, AuditError> {
        let Some(path) = file else {
            return Ok(DetectionConfig::default());
        };
        let text = std::fs::read_to_string(path).map_err(|source| AuditError::Io {
            path: path.to_path_buf(),
            source,
        })?;
        let has_section = toml::from_str::<toml::Table>(&text)
            .map(|t| t.contains_key("detections"))
            .unwrap_or(false);
        if has_section {
            DetectionConfig::from_file(path)
        } else {
            Ok(DetectionConfig::default())
        }
    }

    /// Reads a TOML (`.toml`) or JSON file; a TOML file may keep the settings under `[detections]`.
    pub fn from_file(path: &std::path::Path) -> Result<Self, AuditError> {
        let text = std::fs::read_to_string(path).map_err(|source| AuditError::Io {
            path: path.to_path_buf(),
            source,
        })?;
        let cfg: DetectionConfig = if path.extension().is_some_and(|e| e == "toml") {
            let v: toml::Value = toml::from_str(&text)
                .map_err(|e| AuditError::Config(format!("{}: {e}", path.display())))?;
            let v = v.get("detections").cloned().unwrap_or(v);
            v.try_into()
                .map_err(|e| AuditError::Config(format!("{}: {e}", path.display())))?
        } else {
            let v: serde_json::Value = serde_json::from_str(&text)
                .map_err(|e| AuditError::Config(format!("{}: {e}", path.display())))?;
            let v = v.get("detection_config").cloned().unwrap_or(v);
            serde_json::from_value(v)
                .map_err(|e| AuditError::Config(format!("{}: {e}", path.display())))?
        };
        cfg.validate()?;
        Ok(cfg)
    }

    /// Checks every value, reporting all problems.
    pub fn validate(&self) -> Result<(), AuditError> {
        let mut errs = Vec::new();
        for r in &self.ip_ranges {
            if let Err(e) = Cidr::parse(r) {
                errs.push(e);
            }
        }
        for w in &self.elevation_windows {
            if let Err(e) = w.span() {
                errs.push(e);
            }
        }
        if crate::detect::det_011::Hours::parse(&self.business_hours).is_err() {
            errs.push(format!(
                "business_hours: time_zone `{}` must be UTC, ±HH:MM or an IANA name (Europe/Berlin), start/end HH:MM, days Mon..Sun",
                self.business_hours.time_zone
            ));
        }
        if errs.is_empty() {
            Ok(())
        } else {
            Err(AuditError::Config(errs.join("; ")))
        }
    }

    /// Adds departing users from a CSV whose first column (or `UserPrincipalName`/`upn` column)
    /// holds UPNs.
    pub fn add_departing_csv(&mut self, path: &std::path::Path) -> Result<(), AuditError> {
        let mut rdr = csv::ReaderBuilder::new()
            .has_headers(true)
            .flexible(true)
            .from_path(path)
            .map_err(|e| AuditError::Config(format!("{}: {e}", path.display())))?;
        let col = rdr
            .headers()
            .map(|h| {
                h.iter()
                    .position(|c| {
                        let c = c.trim().to_ascii_lowercase();
                        c == "userprincipalname" || c == "upn" || c == "user"
                    })
                    .unwrap_or(0)
            })
            .unwrap_or(0);
        for r in rdr.records() {
            let r = r.map_err(|e| AuditError::Config(format!("{}: {e}", path.display())))?;
            if let Some(u) = r.get(col).map(str::trim).filter(|u| u.contains('@')) {
                self.departing_users.push(u.to_lowercase());
            }
        }
        Ok(())
    }
}

/// Case-insensitive membership.
pub(crate) fn has(list: &[String], v: &str) -> bool {
    list.iter().any(|x| x.eq_ignore_ascii_case(v))
}
