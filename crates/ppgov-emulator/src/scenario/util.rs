//! Small deterministic helpers: RNG derivation, GUIDs, skewed picks, time formats.

use chrono::{DateTime, Utc};
use rand::{Rng, RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// SplitMix64 finaliser: spreads (seed, stream) pairs so derived RNGs are unrelated.
fn mix(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// An RNG for one purpose (`stream`) of one seed; the same inputs always give the same stream,
/// whatever else was generated before.
pub fn rng_for(seed: u64, stream: u64) -> ChaCha8Rng {
    ChaCha8Rng::seed_from_u64(mix(seed ^ mix(stream)))
}

/// Stream ids for the tenant-wide RNGs; environment `i` uses `ENV_STREAM_BASE + i`.
pub const STREAM_DIRECTORY: u64 = 1;
/// Environments and plans.
pub const STREAM_ENVS: u64 = 2;
/// Tenant settings and DLP.
pub const STREAM_POLICY: u64 = 3;
/// Audit records.
pub const STREAM_AUDIT: u64 = 4;
/// Base of per-environment streams.
pub const ENV_STREAM_BASE: u64 = 1 << 32;

/// A random lower-case GUID (version 4 layout).
pub fn guid(rng: &mut ChaCha8Rng) -> String {
    let mut b = [0u8; 16];
    rng.fill_bytes(&mut b);
    uuid::Builder::from_random_bytes(b).into_uuid().to_string()
}

/// A skewed index in `0..n`: small indices are much more likely (few makers own most things).
pub fn skewed(rng: &mut ChaCha8Rng, n: usize) -> usize {
    if n == 0 {
        return 0;
    }
    let u: f64 = rng.random();
    let i = (n as f64 * u.powi(3)) as usize;
    i.min(n - 1)
}

/// A uniform index in `0..n` (0 when `n` is 0).
pub fn pick(rng: &mut ChaCha8Rng, n: usize) -> usize {
    if n == 0 { 0 } else { rng.random_range(0..n) }
}

/// RFC 3339 with six fractional digits and `Z`, as the admin APIs write times.
pub fn iso(t: DateTime<Utc>) -> String {
    t.format("%Y-%m-%dT%H:%M:%S%.6fZ").to_string()
}

/// RFC 3339 in whole seconds with `Z`, as the flow list writes times (the single-flow GET adds
/// seven fractional digits).
pub fn iso_secs(t: DateTime<Utc>) -> String {
    t.format("%Y-%m-%dT%H:%M:%SZ").to_string()
}

/// Audit `CreationTime`: no fraction, no zone suffix.
pub fn audit_time(t: DateTime<Utc>) -> String {
    t.format("%Y-%m-%dT%H:%M:%S").to_string()
}

/// `now - days` plus a random offset within that day.
pub fn days_ago(
    rng: &mut ChaCha8Rng,
    now: DateTime<Utc>,
    min_days: i64,
    max_days: i64,
) -> DateTime<Utc> {
    let lo = min_days * 86_400;
    let hi = (max_days * 86_400).max(lo + 1);
    now - chrono::Duration::seconds(rng.random_range(lo..hi))
}

const FIRST: [&str; 32] = [
    "Ada", "Ben", "Chloe", "David", "Elena", "Farid", "Grace", "Hiro", "Ines", "Jonas", "Kira",
    "Liam", "Maya", "Noah", "Olga", "Pavel", "Quinn", "Rosa", "Sven", "Tara", "Umar", "Vera",
    "Wei", "Xena", "Yusuf", "Zoe", "Anton", "Bianca", "Carlos", "Dana", "Emil", "Fatima",
];
const LAST: [&str; 24] = [
    "Adams", "Berg", "Costa", "Dubois", "Eriksen", "Fischer", "Garcia", "Hansen", "Ivanova",
    "Jensen", "Kowalski", "Lopez", "Meyer", "Novak", "Olsen", "Petrov", "Rossi", "Schmidt",
    "Tanaka", "Umeh", "Varga", "Weber", "Young", "Zimmer",
];

/// A person's name for user number `i` (unique combined with the number).
pub fn person(i: usize) -> (String, String) {
    let f = FIRST[i % FIRST.len()];
    let l = LAST[(i / FIRST.len()) % LAST.len()];
    (f.to_string(), l.to_string())
}

const NOUNS: [&str; 24] = [
    "Invoice",
    "Expense",
    "Onboarding",
    "Leave",
    "Asset",
    "Contract",
    "Ticket",
    "Vendor",
    "Budget",
    "Timesheet",
    "Travel",
    "Inventory",
    "Survey",
    "Incident",
    "Order",
    "Customer",
    "Project",
    "Audit",
    "Training",
    "Purchase",
    "Shift",
    "Visitor",
    "Payroll",
    "Quality",
];
const VERBS: [&str; 12] = [
    "sync",
    "approval",
    "tracker",
    "reminder",
    "digest",
    "intake",
    "archive",
    "report",
    "notifier",
    "review",
    "export",
    "dashboard",
];

/// A plausible resource display name.
pub fn resource_name(rng: &mut ChaCha8Rng) -> String {
    format!(
        "{} {}",
        NOUNS[pick(rng, NOUNS.len())],
        VERBS[pick(rng, VERBS.len())]
    )
}
