//! A sliding window of events for one key, with the incident it may have opened.

use serde::{Deserialize, Serialize};
use std::collections::VecDeque;

/// Events of one key within a window, in time order.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub(crate) struct Sliding {
    /// (time ms, event id, a value the detection counts distinct: environment, target).
    pub events: VecDeque<(i64, String, String)>,
    /// The open incident: its key and last event time.
    pub open: Option<(String, i64)>,
}

impl Sliding {
    /// Adds an event and drops those older than `window` before it.
    pub fn push(&mut self, t: i64, id: &str, v: &str, window: i64) {
        let pos = self.events.partition_point(|(x, _, _)| *x <= t);
        self.events.insert(pos, (t, id.to_string(), v.to_string()));
        let newest = self.events.back().map(|e| e.0).unwrap_or(t);
        while self.events.front().is_some_and(|e| e.0 < newest - window) {
            self.events.pop_front();
        }
    }

    /// Distinct values in the window.
    pub fn distinct(&self) -> usize {
        let mut v: Vec<&str> = self.events.iter().map(|e| e.2.as_str()).collect();
        v.sort_unstable();
        v.dedup();
        v.len()
    }

    /// True when nothing in it is newer than `now - keep`.
    pub fn stale(&self, now: i64, keep: i64) -> bool {
        self.events.back().is_none_or(|e| e.0 < now - keep)
    }

    /// The incident this event belongs to: `Some((key, ids))` when the window fires or an open
    /// incident continues. `fires` says whether the window's condition holds now.
    pub fn incident(
        &mut self,
        t: i64,
        id: &str,
        window: i64,
        fires: bool,
        key_prefix: &str,
    ) -> Option<(String, Vec<String>, i64)> {
        if let Some((k, last)) = &mut self.open
            && t - *last <= window
        {
            *last = (*last).max(t);
            return Some((k.clone(), vec![id.to_string()], t));
        }
        self.open = None;
        if fires {
            let first = self.events.front().map(|e| e.0).unwrap_or(t);
            let key = format!("{key_prefix}|{first}");
            self.open = Some((key.clone(), t));
            let ids = self.events.iter().map(|e| e.1.clone()).collect();
            return Some((key, ids, first));
        }
        None
    }
}
