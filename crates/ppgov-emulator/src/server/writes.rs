//! Write counters per target, for tests that must prove a write was not repeated (an apply
//! killed and rerun). Only writes the emulator accepted (2xx) count; reads never do, including
//! the reads Microsoft serves on POST (tenant settings, Graph `$batch` of GETs, inventory queries, `directoryObjects/getByIds`).

use std::collections::BTreeMap;
use std::sync::Mutex;

use axum::http::Method;

use super::state::lock;

/// Accepted writes by `"METHOD /path"` (path lower-cased, query dropped).
#[derive(Debug, Default)]
pub struct WriteLog {
    counts: Mutex<BTreeMap<String, u64>>,
}

impl WriteLog {
    /// Counts one accepted write.
    pub fn record(&self, method: &Method, path: &str) {
        if !is_write(method, path) {
            return;
        }
        *lock(&self.counts)
            .entry(format!("{method} {}", path.to_ascii_lowercase()))
            .or_insert(0) += 1;
    }

    /// Every count so far.
    pub fn counts(&self) -> BTreeMap<String, u64> {
        lock(&self.counts).clone()
    }

    /// Accepted writes whose key contains `needle` (case-insensitive).
    pub fn count_matching(&self, needle: &str) -> u64 {
        let needle = needle.to_ascii_lowercase();
        lock(&self.counts)
            .iter()
            .filter(|(k, _)| k.contains(&needle))
            .map(|(_, n)| n)
            .sum()
    }
}

/// Whether a request writes (what this log counts).
pub(crate) fn is_write(method: &Method, path: &str) -> bool {
    !(matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS) || is_read_post(path))
}

/// POSTs that only read.
fn is_read_post(path: &str) -> bool {
    let p = path.to_ascii_lowercase();
    [
        "/listtenantsettings",
        "/v1.0/$batch",
        "/resourcequery",
        "/v1.0/directoryobjects/getbyids",
    ]
    .iter()
    .any(|suffix| p.ends_with(suffix))
}
