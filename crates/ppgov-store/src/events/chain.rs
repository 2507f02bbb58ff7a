//! The backend-neutral half of the event store: month arithmetic, the digests of batch parts,
//! the batch hash and the verification of a chain from rows a backend fetched. Both backends
//! (SQLite here, PostgreSQL in `ppgov-store-pg`) call these, so they chain and verify alike;
//! a backend only reads and writes rows.

use super::{EventRow, VerifyProblem, VerifyReport};
use ppgov_core::hex;
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;

/// One part of a batch: its month (`YYYYMM`), how many events and their digest (hex).
pub type Part = (String, i64, String);

/// `YYYYMM` of a time in ms.
pub fn month_of(time_ms: i64) -> String {
    chrono::DateTime::from_timestamp_millis(time_ms)
        .unwrap_or_default()
        .format("%Y%m")
        .to_string()
}

/// The first millisecond of the month after `month` (`YYYYMM`); `None` when `month` is not one.
pub fn month_end_ms(month: &str) -> Option<i64> {
    let y: i32 = month.get(0..4)?.parse().ok()?;
    let m: u32 = month.get(4..6)?.parse().ok()?;
    let (y, m) = if m == 12 { (y + 1, 1) } else { (y, m + 1) };
    chrono::NaiveDate::from_ymd_opt(y, m, 1)?
        .and_hms_opt(0, 0, 0)
        .map(|d| d.and_utc().timestamp_millis())
}

/// Feeds one event into a part digest: every stored column, length-prefixed.
pub fn feed(h: &mut Sha256, e: &EventRow) {
    let seq = e.seq.to_le_bytes();
    let time = e.time_ms.to_le_bytes();
    let rt = e.record_type.to_le_bytes();
    let fields: [&[u8]; 14] = [
        &seq,
        e.id.as_bytes(),
        &time,
        &rt,
        e.operation.as_bytes(),
        e.workload.as_bytes(),
        e.actor.as_bytes(),
        e.environment_id.as_bytes(),
        e.resource_kind.as_bytes(),
        e.resource_id.as_bytes(),
        e.client_ip.as_bytes(),
        e.risk.as_bytes(),
        e.attrs.as_bytes(),
        e.raw.as_bytes(),
    ];
    for f in fields {
        h.update((f.len() as u64).to_le_bytes());
        h.update(f);
    }
}

/// The batch hash: previous hash, metadata and the part digests in month order.
pub fn batch_hash(
    prev: &str,
    seq: i64,
    kind: &str,
    at: &str,
    count: i64,
    detail: &str,
    parts: &[Part],
) -> String {
    let mut h = Sha256::new();
    for f in [prev, &seq.to_string(), kind, at, &count.to_string(), detail] {
        h.update((f.len() as u64).to_le_bytes());
        h.update(f.as_bytes());
    }
    for (m, c, d) in parts {
        h.update(m.as_bytes());
        h.update(c.to_le_bytes());
        h.update(d.as_bytes());
    }
    hex(&h.finalize())
}

/// The time a batch is recorded at, as its `at` field holds it (RFC 3339, ms, UTC).
pub fn now_text() -> String {
    chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

/// The months a prune batch's `detail` names (none when the detail is not a prune's).
pub fn months_of_prune(detail: &str) -> Vec<String> {
    serde_json::from_str::<serde_json::Value>(detail)
        .ok()
        .and_then(|v| {
            v.get("months").and_then(|m| m.as_array()).map(|a| {
                a.iter()
                    .filter_map(|x| x.as_str().map(String::from))
                    .collect()
            })
        })
        .unwrap_or_default()
}

/// The part digests of one batch being appended, built event by event in sequence order.
#[derive(Default)]
pub struct PartDigests {
    parts: BTreeMap<String, (i64, Sha256)>,
}

impl PartDigests {
    /// No parts yet.
    pub fn new() -> PartDigests {
        PartDigests::default()
    }

    /// Adds a stored event (its `seq` set) to its month's part.
    pub fn add(&mut self, month: &str, e: &EventRow) {
        let p = self
            .parts
            .entry(month.to_string())
            .or_insert_with(|| (0, Sha256::new()));
        p.0 += 1;
        feed(&mut p.1, e);
    }

    /// The parts in month order.
    pub fn finish(self) -> Vec<Part> {
        self.parts
            .into_iter()
            .map(|(m, (c, h))| (m, c, hex(&h.finalize())))
            .collect()
    }
}

/// One batch row with its parts, as a backend read them for [`ChainVerifier::finish`].
#[derive(Debug, Clone, Default)]
pub struct BatchRecord {
    /// Batch sequence number.
    pub seq: i64,
    /// `append` or `prune`.
    pub kind: String,
    /// When it was written ([`now_text`]).
    pub at: String,
    /// Events stored (append) or removed (prune).
    pub count: i64,
    /// Metadata (a prune's months).
    pub detail: String,
    /// The previous batch's hash as recorded.
    pub prev_hash: String,
    /// This batch's hash as recorded.
    pub hash: String,
    /// Its parts, in month order.
    pub parts: Vec<Part>,
}

/// Verification of one chain: a backend feeds it the stored months and events, then the
/// batches, and gets the [`VerifyReport`].
pub struct ChainVerifier {
    months: BTreeMap<String, bool>,
    computed: BTreeMap<(i64, String), (i64, Sha256)>,
    last_seq: BTreeMap<(i64, String), i64>,
    report: VerifyReport,
}

impl ChainVerifier {
    /// Starts with the months the store knows, each with whether it was pruned.
    pub fn new(months: BTreeMap<String, bool>) -> ChainVerifier {
        ChainVerifier {
            months,
            computed: BTreeMap::new(),
            last_seq: BTreeMap::new(),
            report: VerifyReport::default(),
        }
    }

    /// Reports that a month not pruned has lost its partition.
    pub fn missing_month(&mut self, month: &str) {
        self.report.problems.push(VerifyProblem {
            batch: 0,
            month: Some(month.to_string()),
            message: format!("the partition of month {month} is gone and no prune removed it"),
        });
    }

    /// Adds one stored event of `batch` in `month`; events of one (batch, month) must come in
    /// sequence order.
    pub fn event(&mut self, batch: i64, month: &str, e: &EventRow) {
        let key = (batch, month.to_string());
        let p = self
            .computed
            .entry(key.clone())
            .or_insert_with(|| (0, Sha256::new()));
        p.0 += 1;
        feed(&mut p.1, e);
        self.last_seq.insert(key, e.seq);
        self.report.events += 1;
    }

    /// Checks the batches (in sequence order, parts in month order) against the events fed.
    pub fn finish(self, batches: &[BatchRecord]) -> VerifyReport {
        let ChainVerifier {
            months,
            computed,
            last_seq,
            mut report,
        } = self;
        let mut computed: BTreeMap<(i64, String), (i64, String)> = computed
            .into_iter()
            .map(|(k, (c, h))| (k, (c, hex(&h.finalize()))))
            .collect();
        // Months a prune recorded in the chain (the prune comes after the batches it covers).
        let pruned_months: Vec<String> = batches
            .iter()
            .filter(|b| b.kind == "prune")
            .flat_map(|b| months_of_prune(&b.detail))
            .collect();
        let mut prev = String::new();
        let mut expect_seq = 1;
        for b in batches {
            let seq = b.seq;
            report.batches += 1;
            let problem = |m: Option<String>, msg: String| VerifyProblem {
                batch: seq,
                month: m,
                message: msg,
            };
            if seq != expect_seq {
                report.problems.push(problem(
                    None,
                    format!("batch {expect_seq} is missing from the chain (next found: {seq})"),
                ));
            }
            expect_seq = seq + 1;
            if b.prev_hash != prev {
                report.problems.push(problem(
                    None,
                    "the batch does not link to the previous batch's hash".into(),
                ));
            }
            let want = batch_hash(
                &b.prev_hash,
                seq,
                &b.kind,
                &b.at,
                b.count,
                &b.detail,
                &b.parts,
            );
            if want != b.hash {
                report.problems.push(problem(
                    None,
                    "the batch's hash does not match its contents (batch row or parts changed)"
                        .into(),
                ));
            }
            if b.kind == "prune" {
                report.prunes.push((seq, months_of_prune(&b.detail)));
            }
            let mut total = 0;
            for (m, c, d) in &b.parts {
                total += c;
                match computed.remove(&(seq, m.clone())) {
                    Some((cc, dd)) => {
                        if cc != *c {
                            report.problems.push(problem(
                                Some(m.clone()),
                                format!("{c} events were stored in this part, {cc} are there now (events deleted or inserted)"),
                            ));
                        } else if dd != *d {
                            report.problems.push(problem(
                                Some(m.clone()),
                                "the events of this part were modified or reordered".into(),
                            ));
                        }
                    }
                    None => {
                        let dropped =
                            months.get(m).copied().unwrap_or(false) && pruned_months.contains(m);
                        if !dropped {
                            report.problems.push(problem(
                                Some(m.clone()),
                                format!("{c} events of this part are gone and no prune in the chain removed month {m}"),
                            ));
                        }
                    }
                }
            }
            if b.kind == "append" && total != b.count {
                report.problems.push(problem(
                    None,
                    format!(
                        "the batch says {} events but its parts hold {total}",
                        b.count
                    ),
                ));
            }
            prev = b.hash.clone();
        }
        for ((b, m), (c, _)) in computed {
            let last = last_seq.get(&(b, m.clone())).copied().unwrap_or_default();
            report.problems.push(VerifyProblem {
                batch: b,
                month: Some(m),
                message: format!(
                    "{c} events (last seq {last}) belong to no recorded batch part (inserted)"
                ),
            });
        }
        report.head = prev;
        report
    }
}
