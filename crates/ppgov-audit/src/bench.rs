//! `ppgov bench audit`: generate N realistic events with planted attacks into a JSON-lines file,
//! ingest them into a fresh store, run the detections, and report throughput, peak memory and
//! bytes per stored event; optionally the same detections as SQL in DuckDB (Python package) over
//! the same file, when `python3 -c "import duckdb"` works.

use crate::AuditError;
use crate::detect::{DetectionConfig, Engine};
use crate::ingest::Ingestor;
use ppgov_store::{EventStore, Store};
use serde::Serialize;
use std::io::Write;
use std::path::Path;
use std::time::Instant;

/// The figures.
#[derive(Debug, Clone, Serialize)]
pub struct BenchReport {
    /// Events generated.
    pub events: u64,
    /// Ingest throughput (parse, normalise, de-duplicate, store).
    pub ingest_events_per_s: f64,
    /// Detection throughput over the stored events (streamed from the store).
    pub detect_events_per_s: f64,
    /// Reading the stored events alone, as detection streams them (no detection): the ceiling
    /// detection throughput has on this store.
    pub read_events_per_s: f64,
    /// Peak resident set size of the process, MB.
    pub peak_rss_mb: Option<f64>,
    /// Resident set size when detection starts (after ingestion), MB.
    pub detect_start_rss_mb: Option<f64>,
    /// Peak resident set size during detection alone, MB (the kernel's peak is reset when
    /// detection starts; `None` where it cannot be).
    pub detect_peak_rss_mb: Option<f64>,
    /// Peak resident set size while the stored events are read alone (no detection), MB: what
    /// reading the store costs of `detect_peak_rss_mb`.
    pub read_peak_rss_mb: Option<f64>,
    /// The detections' saved state after the run (windows, baselines, chains), KB: what their
    /// memory is bounded by.
    pub detect_state_kb: f64,
    /// Store bytes per stored event.
    pub bytes_per_event: f64,
    /// DuckDB over the same file with the same windowed detections as SQL, when installed.
    pub duckdb_detect_events_per_s: Option<f64>,
    /// Why the DuckDB figure is there or not: `measured`, `skipped: not asked for`,
    /// `skipped: the duckdb Python package is not installed (pip install duckdb)`, or
    /// `failed: <why>` (installed, but the comparison did not run: a problem to look at).
    pub duckdb_status: String,
    /// Alerts raised.
    pub alerts: usize,
    /// Attacks planted.
    pub planted: usize,
}

/// A small deterministic generator (SplitMix64).
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
}

const TENANT: &str = "bench.example";
/// Background span: 14 days of business hours ending at this time (ms).
const END_MS: i64 = 1_780_000_000_000;

fn ts(ms: i64) -> String {
    chrono::DateTime::from_timestamp_millis(ms)
        .unwrap_or_default()
        .format("%Y-%m-%dT%H:%M:%S")
        .to_string()
}

fn record(id: u64, t: i64, op: &str, user: &str, env: &str, ip: &str) -> String {
    let rt = match op {
        "CreateFlow" | "EditFlow" | "DeleteFlow" | "PutPermissions" => 30,
        "Retrieve" | "Update" | "Delete" => 21,
        _ => 256,
    };
    let id = format!(
        "{:08x}-0000-4000-8000-{:012x}",
        id >> 48,
        id & 0xFFFF_FFFF_FFFF
    );
    match rt {
        30 => format!(
            r#"{{"Id":"{id}","RecordType":30,"CreationTime":"{}","Operation":"{op}","OrganizationId":"t","UserType":0,"UserKey":"k","Workload":"MicrosoftFlow","ResultStatus":"Succeeded","ObjectId":"f{id}","UserId":"{user}","ClientIP":"{ip}","FlowDetailsUrl":"https://make.powerautomate.com/environments/{env}/flows/f{id}/details","FlowConnectorNames":"SharePoint, Office 365 Outlook","UserUPN":"{user}"}}"#,
            ts(t)
        ),
        21 => format!(
            r#"{{"Id":"{id}","RecordType":21,"CreationTime":"{}","Operation":"{op}","OrganizationId":"t","UserType":0,"UserKey":"k","Workload":"CRM","ClientIP":"{ip}","UserId":"{user}","Message":"{op}","EntityName":"contact","EntityId":"e{id}","InstanceUrl":"https://{env}.crm.dynamics.com"}}"#,
            ts(t)
        ),
        _ => format!(
            r#"{{"Id":"{id}","RecordType":256,"CreationTime":"{}","Operation":"{op}","OrganizationId":"t","UserType":0,"UserKey":"k","Workload":"PowerPlatform","UserId":"{user}","ClientIP":"{ip}","EnvironmentId":"{env}","PropertyCollection":[{{"Name":"powerplatform.analytics.resource.power_app.id","Value":"a{id}"}},{{"Name":"enduser.ip_address","Value":"::ffff:{ip}"}}]}}"#,
            ts(t)
        ),
    }
}

/// The configuration the generated attacks assume.
pub fn bench_config() -> DetectionConfig {
    DetectionConfig {
        tenant_domains: vec![TENANT.into()],
        country_deny_list: vec!["KP".into()],
        ip_ranges: vec![
            crate::detect::IpRange {
                cidr: "20.0.0.0/8".into(),
                country: "NL".into(),
            },
            crate::detect::IpRange {
                cidr: "203.0.113.0/24".into(),
                country: "KP".into(),
            },
        ],
        ..DetectionConfig::default()
    }
}

/// Writes `n` events (background plus planted attacks) to `path`; returns the attacks planted.
pub fn generate(path: &Path, n: u64, seed: u64) -> Result<usize, AuditError> {
    let io = |source| AuditError::Io {
        path: path.to_path_buf(),
        source,
    };
    let mut w = std::io::BufWriter::new(std::fs::File::create(path).map_err(io)?);
    let mut rng = Rng(seed);
    let users = (n / 200).clamp(20, 20_000);
    let span = 14 * 86_400_000i64;
    let mut planted = 0;
    let mut id = 0u64;
    let ops = [
        "LaunchPowerApp",
        "EditFlow",
        "Retrieve",
        "Update",
        "CreateFlow",
    ];
    let attack_every = 50_000u64;
    let mut written = 0u64;
    while written < n {
        id += 1;
        if id.is_multiple_of(attack_every) && written + 12 <= n {
            // A planted attack: 12 flow deletions by a fresh actor within 45 minutes, by day.
            let t0 = END_MS - span + (rng.below(13) as i64) * 86_400_000 + 10 * 3_600_000;
            let who = format!("deleter{id}@{TENANT}");
            for k in 0..12 {
                id += 1;
                let line = record(
                    id,
                    t0 + k * 225_000,
                    "DeleteFlow",
                    &who,
                    "env-1",
                    "20.1.1.1",
                );
                writeln!(w, "{line}").map_err(io)?;
                written += 1;
            }
            planted += 1;
            continue;
        }
        // Background: weekday business hours, tenant users, allowed addresses.
        let day = rng.below(14) as i64;
        let t = END_MS - span + day * 86_400_000 + 8 * 3_600_000 + rng.below(9 * 3_600_000) as i64;
        let user = format!("user{}@{TENANT}", rng.below(users));
        let env = format!("env-{}", rng.below(20));
        let ip = format!(
            "20.{}.{}.{}",
            rng.below(256),
            rng.below(256),
            1 + rng.below(250)
        );
        let op = ops[rng.below(ops.len() as u64) as usize];
        writeln!(w, "{}", record(id, t, op, &user, &env, &ip)).map_err(io)?;
        written += 1;
    }
    w.flush().map_err(io)?;
    Ok(planted)
}

/// Peak resident set size of this process in MB (Linux `VmHWM`).
pub fn peak_rss_mb() -> Option<f64> {
    status_mb("VmHWM:")
}

/// A memory figure of `/proc/self/status` (`VmHWM:`, `VmRSS:`), MB.
fn status_mb(field: &str) -> Option<f64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with(field))?;
    let kb: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb / 1024.0)
}

const DUCKDB_SQL: &str = r#"
import duckdb, sys, time
path = sys.argv[1]
con = duckdb.connect()
# Newer DuckDB draws a progress bar on stdout, where the rate is read.
con.execute("SET enable_progress_bar = false")
t = time.perf_counter()
con.execute(f"CREATE TABLE ev AS SELECT Id AS id, CAST(CreationTime AS TIMESTAMP) AS t, Operation AS op, lower(UserId) AS actor, ClientIP AS ip FROM read_json('{path}', format='newline_delimited', union_by_name=true, ignore_errors=true)")
n = con.execute("SELECT count(*) FROM (SELECT DISTINCT id FROM ev)").fetchone()[0]
con.execute("""
  SELECT actor, count(*) FROM (
    SELECT actor, t, count(*) OVER (PARTITION BY actor ORDER BY t RANGE BETWEEN INTERVAL 1 HOUR PRECEDING AND CURRENT ROW) AS c
    FROM (SELECT DISTINCT id, t, actor FROM ev WHERE op = 'DeleteFlow')) WHERE c >= 10 GROUP BY actor
""").fetchall()
con.execute("""
  WITH h AS (SELECT actor, date_trunc('hour', t) AS hr, count(*) AS c FROM (SELECT DISTINCT id, t, actor FROM ev) GROUP BY 1, 2),
  m AS (SELECT actor, median(c) AS med FROM h GROUP BY 1)
  SELECT h.actor, h.hr FROM h JOIN m USING (actor) WHERE h.c >= 20 AND h.c > 10 * m.med
""").fetchall()
con.execute("SELECT count(*) FROM ev WHERE actor NOT LIKE '%@bench.example'").fetchall()
print(n / (time.perf_counter() - t))
"#;

/// Runs DuckDB (Python package) over the file with `python`, telling "not installed" apart
/// from "installed but failed".
fn duckdb(python: &str, path: &Path) -> (Option<f64>, String) {
    let installed = std::process::Command::new(python)
        .args(["-c", "import duckdb"])
        .output();
    match installed {
        Err(e) => {
            return (
                None,
                format!(
                    "skipped: {python} cannot be started ({e}); install Python 3 and pip install duckdb"
                ),
            );
        }
        Ok(o) if !o.status.success() => {
            return (
                None,
                "skipped: the duckdb Python package is not installed (pip install duckdb)".into(),
            );
        }
        Ok(_) => {}
    }
    let out = match std::process::Command::new(python)
        .arg("-c")
        .arg(DUCKDB_SQL)
        .arg(path)
        .output()
    {
        Ok(o) => o,
        Err(e) => return (None, format!("failed: {e}")),
    };
    classify(out.status.success(), &out.stdout, &out.stderr)
}

/// Reads the comparison script's outcome.
fn classify(success: bool, stdout: &[u8], stderr: &[u8]) -> (Option<f64>, String) {
    if !success {
        let err = String::from_utf8_lossy(stderr);
        let last = err
            .lines()
            .rev()
            .find(|l| !l.trim().is_empty())
            .unwrap_or("no error output");
        return (None, format!("failed: {}", last.trim()));
    }
    match String::from_utf8_lossy(stdout).trim().parse::<f64>() {
        Ok(v) if v.is_finite() && v > 0.0 => (Some(v), "measured".into()),
        _ => (
            None,
            format!(
                "failed: the script printed `{}` instead of a rate",
                String::from_utf8_lossy(stdout)
                    .trim()
                    .chars()
                    .take(60)
                    .collect::<String>()
            ),
        ),
    }
}

/// Generates, ingests, detects and measures in `dir`.
pub fn run(dir: &Path, n: u64, with_duckdb: bool) -> Result<BenchReport, AuditError> {
    let file = dir.join("bench-audit.jsonl");
    let planted = generate(&file, n, 42)?;
    let db = dir.join("bench-audit.db");
    for f in [
        db.clone(),
        db.with_extension("db-wal"),
        db.with_extension("db-shm"),
    ] {
        let _ = std::fs::remove_file(f);
    }
    let mut store = Store::open(&db)?;
    let t = Instant::now();
    let mut ing = Ingestor::new(&mut store);
    crate::files::read_path(&file, None, &mut |(pos, raw)| ing.push(pos, raw))?;
    let out = ing.finish()?;
    let ingest_s = t.elapsed().as_secs_f64();
    let mut engine = Engine::new(bench_config());
    let ingest_peak = peak_rss_mb();
    let detect_start = status_mb("VmRSS:");
    // Writing 5 to clear_refs resets the kernel's peak (VmHWM) to the current RSS.
    let reset = std::fs::write("/proc/self/clear_refs", "5").is_ok();
    let t = Instant::now();
    let alerts = engine.run(&mut store)?;
    let detect_s = t.elapsed().as_secs_f64();
    let detect_peak = if reset { peak_rss_mb() } else { None };
    let detect_state_kb = engine.save().len() as f64 / 1024.0;
    // After detection, so detection meets the store as ingestion left it.
    let reset = std::fs::write("/proc/self/clear_refs", "5").is_ok();
    let t = Instant::now();
    let read = store.scan_after(0, &mut |_| Ok(()))?;
    let read_s = t.elapsed().as_secs_f64();
    let read_peak = if reset { peak_rss_mb() } else { None };
    let stats = store.event_stats()?;
    let (duckdb_rate, duckdb_status) = if with_duckdb {
        duckdb("python3", &file)
    } else {
        (None, "skipped: not asked for (--no-duckdb)".to_string())
    };
    Ok(BenchReport {
        events: n,
        ingest_events_per_s: out.read as f64 / ingest_s.max(1e-9),
        detect_events_per_s: engine.processed as f64 / detect_s.max(1e-9),
        read_events_per_s: read as f64 / read_s.max(1e-9),
        peak_rss_mb: [ingest_peak, detect_peak, peak_rss_mb()]
            .into_iter()
            .flatten()
            .reduce(f64::max),
        detect_start_rss_mb: detect_start,
        detect_peak_rss_mb: detect_peak,
        read_peak_rss_mb: read_peak,
        detect_state_kb,
        bytes_per_event: stats.bytes as f64 / (stats.events.max(1) as f64),
        duckdb_detect_events_per_s: duckdb_rate,
        duckdb_status,
        alerts: alerts
            .iter()
            .filter(|a| a.detection_id == "PPG-DET-001")
            .count(),
        planted,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_duckdb_figure_says_why_it_is_missing() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let f = dir.path().join("x.jsonl");
        let (v, why) = duckdb("/nonexistent/python3", &f);
        assert!(
            v.is_none() && why.starts_with("skipped: /nonexistent/python3 cannot be started"),
            "{why}"
        );
        // `false` starts but fails the import check: reported as not installed, not as failed.
        let (v, why) = duckdb("false", &f);
        assert!(v.is_none() && why.contains("not installed"), "{why}");
        let (v, why) = classify(
            false,
            b"",
            b"Traceback\nduckdb.IOException: cannot open x\n",
        );
        assert_eq!(
            (v, why.as_str()),
            (None, "failed: duckdb.IOException: cannot open x")
        );
        let (v, why) = classify(true, b"nan\n", b"");
        assert!(v.is_none() && why.starts_with("failed:"), "{why}");
        assert_eq!(
            classify(true, b"912345.5\n", b""),
            (Some(912_345.5), "measured".to_string())
        );
    }

    #[test]
    fn tiny_bench_finds_every_planted_attack() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let r = run(dir.path(), 60_000, false).unwrap_or_else(|e| panic!("{e}"));
        assert!(r.planted >= 1);
        assert_eq!(
            r.alerts, r.planted,
            "one bulk-deletion alert per planted attack"
        );
        assert!(r.bytes_per_event > 100.0);
        assert!(r.detect_events_per_s > 0.0);
    }
}
