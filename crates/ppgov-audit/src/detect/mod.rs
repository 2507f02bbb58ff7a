//! Streaming, stateful detections PPG-DET-001..017 (`CATALOGUE.md`), one file each.
//!
//! The [`Engine`] feeds every event to every detection in time order. Detections keep only the
//! state their windows need (sliding windows, per-actor hourly baselines, chain halves), swept
//! as time moves on, so memory is bounded by the windows, not by the number of events. They
//! emit [`AlertRow`]s keyed by incident: later events of the same incident extend the same
//! alert (the store merges event ids), so there is one alert per incident, not per event.
//!
//! State survives restarts: [`Engine::save`] serialises every detection's state together with
//! the sequence number of the last event processed, and the store writes both with the alerts in
//! one transaction. The next run resumes after that sequence number, so a window spanning two
//! runs is not lost and no event is counted twice.
//!
//! Extension point for notifications: [`Engine::run`] returns the alerts created or extended in
//! the run; the CLI hands them to the notification sinks of the remediation crate when that is
//! configured (one call per incident key).

mod config;
mod det_001;
mod det_002;
mod det_003;
mod det_004;
mod det_005;
mod det_006;
mod det_007;
mod det_008;
mod det_009;
mod det_010;
mod det_011;
mod det_012;
mod det_013;
mod det_014;
mod det_015;
mod det_016;
mod det_017;
mod window;

pub use config::{BusinessHours, DetectionConfig, IpRange};

use crate::AuditError;
use crate::event::attr_of;
use ppgov_store::{AlertRow, EventRow, EventStore};
use serde_json::Value;
use std::cell::OnceCell;
use std::collections::BTreeMap;

/// Milliseconds per minute, hour, day.
pub(crate) const MINUTE: i64 = 60_000;
pub(crate) const HOUR: i64 = 60 * MINUTE;
pub(crate) const DAY: i64 = 24 * HOUR;

/// A detection's catalogue metadata.
#[derive(Debug, Clone, Copy, serde::Serialize)]
pub struct Meta {
    /// `PPG-DET-0NN`.
    pub id: &'static str,
    /// Title.
    pub title: &'static str,
    /// `low`, `medium`, `high`.
    pub severity: &'static str,
    /// MITRE ATT&CK technique.
    pub mitre: &'static str,
    /// Where the detection comes from (Sentinel, seed 002, seed 003).
    pub source: &'static str,
}

/// An event as a detection sees it: the stored row and its attributes, parsed on first use.
pub struct Ev<'a> {
    /// The row.
    pub row: &'a EventRow,
    attrs: OnceCell<BTreeMap<String, String>>,
}

impl<'a> Ev<'a> {
    /// Wraps a row.
    pub fn new(row: &'a EventRow) -> Self {
        Ev {
            row,
            attrs: OnceCell::new(),
        }
    }

    /// One attribute (see [`crate::event::attr`]).
    pub fn attr(&self, key: &str) -> Option<&str> {
        self.attrs
            .get_or_init(|| {
                if self.row.attrs.is_empty() {
                    return BTreeMap::new();
                }
                serde_json::from_str(&self.row.attrs).unwrap_or_default()
            })
            .get(key)
            .map(String::as_str)
    }

    /// Operation.
    pub fn op(&self) -> &str {
        &self.row.operation
    }

    /// Time, ms.
    pub fn t(&self) -> i64 {
        self.row.time_ms
    }
}

/// One detection: metadata, a streaming step, and its state as JSON.
pub trait Detection: Send {
    /// Catalogue metadata.
    fn meta(&self) -> &'static Meta;
    /// Looks at one event; pushes alerts (new or extended incidents) to `out`.
    fn observe(&mut self, e: &Ev<'_>, cfg: &DetectionConfig, out: &mut Vec<AlertRow>);
    /// Drops state older than the windows need, given the latest event time seen.
    fn sweep(&mut self, _now_ms: i64, _cfg: &DetectionConfig) {}
    /// The state to persist.
    fn save(&self) -> Value {
        Value::Null
    }
    /// Restores persisted state.
    fn load(&mut self, _v: Value) -> Result<(), String> {
        Ok(())
    }
}

/// Builds an alert for one incident.
pub(crate) fn alert(
    m: &Meta,
    key: &str,
    e: &Ev<'_>,
    ids: Vec<String>,
    first: i64,
    reason: String,
) -> AlertRow {
    AlertRow {
        key: format!("{}|{key}", m.id),
        detection_id: m.id.to_string(),
        severity: m.severity.to_string(),
        actor: e.row.actor.clone(),
        environment_id: Some(e.row.environment_id.clone()).filter(|x| !x.is_empty()),
        first_seen: first.min(e.t()),
        last_seen: e.t(),
        event_ids: ids,
        reason,
    }
}

/// An alert made of this one event.
pub(crate) fn single(m: &Meta, key: &str, e: &Ev<'_>, reason: String) -> AlertRow {
    alert(m, key, e, vec![e.row.id.clone()], e.t(), reason)
}

/// The UTC day number of a time.
pub(crate) fn day_of(t: i64) -> i64 {
    t.div_euclid(DAY)
}

/// Serialises a detection's state as one JSON string (errors map to `Null`; they never happen
/// for these types). A string, not a tree of values: a `Value` tree of per-actor baselines is
/// about twenty-five times the size of their JSON, and it was the engine's peak memory.
pub(crate) fn to_state<T: serde::Serialize>(v: &T) -> Value {
    serde_json::to_string(v).map_or(Value::Null, Value::String)
}

/// Restores a detection's state: a JSON string as [`to_state`] writes it, or the JSON object
/// earlier versions saved (`Null` keeps the default).
pub(crate) fn from_state<T: serde::de::DeserializeOwned + Default>(v: Value) -> Result<T, String> {
    match v {
        Value::Null => Ok(T::default()),
        Value::String(s) => serde_json::from_str(&s).map_err(|e| e.to_string()),
        v => serde_json::from_value(v).map_err(|e| e.to_string()),
    }
}

/// Every detection, in catalogue order.
pub fn all() -> Vec<Box<dyn Detection>> {
    vec![
        Box::new(det_001::BulkFlowDeletion::default()),
        Box::new(det_002::BulkAppDeletion::default()),
        Box::new(det_003::DepartingUserFlows),
        Box::new(det_004::GuestBulkSharing::default()),
        Box::new(det_005::SensitiveConnection),
        Box::new(det_006::DlpChanged::default()),
        Box::new(det_007::DefenceImpairment::default()),
        Box::new(det_008::OutsideDomain),
        Box::new(det_009::BlockedConnector),
        Box::new(det_010::UnauthorisedSharing),
        Box::new(det_011::OffHours),
        Box::new(det_012::DeniedCountry::default()),
        Box::new(det_013::ActivitySpike::default()),
        Box::new(det_014::SelfElevation),
        Box::new(det_015::Consent),
        Box::new(det_016::AuditImpairment),
        Box::new(det_017::MassRecords::default()),
    ]
}

/// The metadata of every detection.
pub fn catalogue() -> Vec<&'static Meta> {
    all().iter().map(|d| d.meta()).collect()
}

/// State key of the engine in the store.
pub const STATE_KEY: &str = "detect.state";

/// Runs the detections over events; keeps and persists their state.
pub struct Engine {
    cfg: DetectionConfig,
    dets: Vec<Box<dyn Detection>>,
    /// Highest sequence number processed.
    pub after_seq: i64,
    latest: i64,
    since_sweep: usize,
    pending: BTreeMap<String, AlertRow>,
    /// Events processed by this engine (this run).
    pub processed: u64,
}

/// Events between two sweeps of stale window state.
const SWEEP_EVERY: usize = 50_000;

impl Engine {
    /// A fresh engine.
    pub fn new(cfg: DetectionConfig) -> Self {
        Engine {
            cfg,
            dets: all(),
            after_seq: 0,
            latest: i64::MIN,
            since_sweep: 0,
            pending: BTreeMap::new(),
            processed: 0,
        }
    }

    /// Restores the engine from a store's saved state (fresh when none).
    pub fn resume<S: EventStore + ?Sized>(
        cfg: DetectionConfig,
        store: &S,
    ) -> Result<Self, AuditError> {
        let mut e = Engine::new(cfg);
        if let Some(text) = store.state(STATE_KEY)? {
            let v: Value =
                serde_json::from_str(&text).map_err(|x| AuditError::State(x.to_string()))?;
            e.after_seq = v.get("after_seq").and_then(Value::as_i64).unwrap_or(0);
            e.latest = v.get("latest").and_then(Value::as_i64).unwrap_or(i64::MIN);
            let states = v.get("detections").cloned().unwrap_or(Value::Null);
            for d in &mut e.dets {
                let s = states.get(d.meta().id).cloned().unwrap_or(Value::Null);
                d.load(s)
                    .map_err(|x| AuditError::State(format!("{}: {x}", d.meta().id)))?;
            }
        }
        Ok(e)
    }

    /// Feeds one event.
    pub fn observe(&mut self, row: &EventRow) {
        let ev = Ev::new(row);
        let mut out = Vec::new();
        for d in &mut self.dets {
            d.observe(&ev, &self.cfg, &mut out);
        }
        for a in out {
            match self.pending.get_mut(&a.key) {
                Some(p) => {
                    p.event_ids.extend(a.event_ids);
                    p.first_seen = p.first_seen.min(a.first_seen);
                    p.last_seen = p.last_seen.max(a.last_seen);
                }
                None => {
                    self.pending.insert(a.key.clone(), a);
                }
            }
        }
        self.after_seq = self.after_seq.max(row.seq);
        self.latest = self.latest.max(row.time_ms);
        self.processed += 1;
        self.since_sweep += 1;
        if self.since_sweep >= SWEEP_EVERY {
            self.sweep();
        }
    }

    fn sweep(&mut self) {
        self.since_sweep = 0;
        for d in &mut self.dets {
            d.sweep(self.latest, &self.cfg);
        }
    }

    /// Alerts created or extended since the last [`Engine::take_alerts`], ids sorted and unique.
    pub fn take_alerts(&mut self) -> Vec<AlertRow> {
        let mut v: Vec<AlertRow> = std::mem::take(&mut self.pending).into_values().collect();
        for a in &mut v {
            a.event_ids.sort();
            a.event_ids.dedup();
        }
        v
    }

    /// The engine state as JSON.
    pub fn save(&mut self) -> String {
        self.sweep();
        let mut dets = serde_json::Map::new();
        for d in &self.dets {
            dets.insert(d.meta().id.to_string(), d.save());
        }
        serde_json::json!({"after_seq": self.after_seq, "latest": self.latest, "detections": dets})
            .to_string()
    }

    /// Processes every stored event after the saved sequence number and saves alerts and state
    /// in one transaction. Returns the alerts created or extended.
    pub fn run<S: EventStore + ?Sized>(
        &mut self,
        store: &mut S,
    ) -> Result<Vec<AlertRow>, AuditError> {
        let after = self.after_seq;
        store.scan_after(after, &mut |row| {
            self.observe(&row);
            Ok(())
        })?;
        let alerts = self.take_alerts();
        let state = self.save();
        store.save_alerts(&alerts, &[(STATE_KEY, &state)])?;
        Ok(alerts)
    }
}

/// The attribute of a stored row (for callers outside the engine).
pub fn attr(row: &EventRow, key: &str) -> Option<String> {
    attr_of(row, key)
}

#[cfg(test)]
mod state_tests {
    use super::{from_state, to_state};
    use serde_json::{Value, json};
    use std::collections::BTreeMap;

    #[test]
    fn state_is_saved_as_one_string_and_older_objects_still_load() {
        let mut m = BTreeMap::new();
        m.insert("alice@contoso.example".to_string(), vec![1_i64, 2, 3]);
        let saved = to_state(&m);
        assert!(matches!(saved, Value::String(_)), "{saved}");
        assert_eq!(
            from_state::<BTreeMap<String, Vec<i64>>>(saved),
            Ok(m.clone())
        );
        // What earlier versions wrote: the state as a JSON object.
        let old = json!({"alice@contoso.example": [1, 2, 3]});
        assert_eq!(from_state::<BTreeMap<String, Vec<i64>>>(old), Ok(m));
        assert_eq!(
            from_state::<BTreeMap<String, Vec<i64>>>(Value::Null),
            Ok(BTreeMap::new())
        );
        assert!(from_state::<BTreeMap<String, Vec<i64>>>(json!("{not json")).is_err());
    }
}
