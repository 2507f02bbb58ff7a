//! Alerts to the notification sinks: each incident (an alert key) is told once, to every
//! `[notify] it_recipients` address, in one digest per recipient however many incidents a run
//! opened; an incident that grows later is not told again. Which incidents were told is kept in
//! the event store's state, written only after every sink accepted the digests, so a failed
//! delivery is retried by the next run and a delivered one is never repeated.

use crate::AuditError;
use ppgov_core::Severity;
use ppgov_notify::{Notice, NoticeFinding, NoticeResource, Notifier, Role, build_digests};
use ppgov_store::{AlertRow, EventStore};
use std::collections::BTreeSet;

/// The state key holding the incidents already told (a JSON array of alert keys).
pub const NOTIFIED_KEY: &str = "notify.alerts";
/// The state key holding the incidents whose delivery failed, retried by the next run.
pub const PENDING_KEY: &str = "notify.alerts.pending";

/// What one delivery did.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Delivery {
    /// Incidents told now.
    pub told: Vec<String>,
    /// Incidents told by an earlier run, left alone.
    pub already: usize,
    /// Deliveries that failed (recipient, sink, why); their incidents are retried next run.
    pub failed: Vec<String>,
}

fn time(ms: i64) -> String {
    chrono::DateTime::from_timestamp_millis(ms)
        .map(|t| t.format("%Y-%m-%d %H:%M UTC").to_string())
        .unwrap_or_else(|| ms.to_string())
}

/// One notice per (incident, recipient).
pub fn notices(alerts: &[&AlertRow], recipients: &[String]) -> Vec<Notice> {
    let mut out = Vec::new();
    for a in alerts {
        let resource = NoticeResource {
            kind: "alert".into(),
            id: a.key.clone(),
            name: format!("{} by {}", a.detection_id, a.actor),
            environment: a.environment_id.clone(),
        };
        let finding = NoticeFinding {
            rule_id: a.detection_id.clone(),
            title: a.reason.clone(),
            severity: a.severity.parse().unwrap_or(Severity::High),
        };
        let action = format!(
            "Investigate {} event(s) by {} between {} and {}: `ppgov audit alerts --detection {}`.",
            a.event_ids.len(),
            a.actor,
            time(a.first_seen),
            time(a.last_seen),
            a.detection_id
        );
        for r in recipients {
            out.push(Notice {
                role: Role::It,
                recipient: r.clone(),
                resource: resource.clone(),
                findings: vec![finding.clone()],
                action: action.clone(),
                due: None,
            });
        }
    }
    out
}

fn keys_at<S: EventStore + ?Sized>(store: &S, key: &str) -> Result<BTreeSet<String>, AuditError> {
    Ok(match store.state(key)? {
        Some(s) => serde_json::from_str(&s).map_err(|e| {
            AuditError::Config(format!(
                "the event store's `{key}` state is not a list of alert keys ({e})"
            ))
        })?,
        None => BTreeSet::new(),
    })
}

fn save_keys<S: EventStore + ?Sized>(
    store: &mut S,
    key: &str,
    keys: &BTreeSet<String>,
) -> Result<(), AuditError> {
    let json = serde_json::to_string(keys)
        .map_err(|e| AuditError::Config(format!("encoding the alert keys of `{key}`: {e}")))?;
    Ok(store.set_state(key, &json)?)
}

/// Tells `recipients` about every incident of `alerts` not told before.
pub async fn deliver<S: EventStore + ?Sized>(
    store: &mut S,
    alerts: &[AlertRow],
    recipients: &[String],
    notifier: &Notifier,
) -> Result<Delivery, AuditError> {
    let mut done = keys_at(store, NOTIFIED_KEY)?;
    let mut pending = keys_at(store, PENDING_KEY)?;
    // This run's alerts, and the incidents an earlier run could not deliver.
    let stored: Vec<AlertRow> = if pending.is_empty() {
        Vec::new()
    } else {
        store
            .alerts(None, None)?
            .into_iter()
            .filter(|a| pending.contains(&a.key))
            .collect()
    };
    let mut fresh_keys = BTreeSet::new();
    let mut keys = BTreeSet::new();
    let mut fresh: Vec<&AlertRow> = Vec::new();
    for a in alerts.iter().chain(&stored) {
        keys.insert(a.key.as_str());
        if !done.contains(&a.key) && fresh_keys.insert(a.key.as_str()) {
            fresh.push(a);
        }
    }
    let mut out = Delivery {
        already: keys.len() - fresh_keys.len(),
        ..Default::default()
    };
    if fresh.is_empty() {
        return Ok(out);
    }
    if recipients.is_empty() {
        return Err(AuditError::Config(
            "alerts go to `[notify] it_recipients`, and none is configured; add the security team's address to ppgov.toml".into(),
        ));
    }
    let outcomes = notifier
        .send_all(&build_digests(notices(&fresh, recipients)))
        .await;
    for o in &outcomes {
        if let Err(e) = &o.result {
            out.failed
                .push(format!("{} via {}: {e}", o.recipient, o.sink));
        }
    }
    if out.failed.is_empty() {
        for a in &fresh {
            done.insert(a.key.clone());
            pending.remove(&a.key);
            out.told.push(a.key.clone());
        }
        save_keys(store, NOTIFIED_KEY, &done)?;
    } else {
        pending.extend(fresh.iter().map(|a| a.key.clone()));
    }
    save_keys(store, PENDING_KEY, &pending)?;
    Ok(out)
}
