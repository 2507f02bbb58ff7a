//! Crawl progress on stderr: a live display on a terminal, plain lines otherwise, nothing when quiet.

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use std::collections::BTreeMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// How progress is shown.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProgressMode {
    /// A live bar (stderr is a terminal).
    Live,
    /// A plain line every few seconds (stderr is a file or pipe).
    Lines,
    /// Nothing.
    Quiet,
}

/// Counts what the crawl has done so far; cheap to update from many tasks.
#[derive(Debug)]
pub struct Progress {
    mode: ProgressMode,
    started: Instant,
    environments_total: AtomicU64,
    environments_done: AtomicU64,
    kinds: Mutex<BTreeMap<&'static str, u64>>,
    bar: Option<ProgressBar>,
    last_line: Mutex<Instant>,
}

impl Progress {
    /// A new display.
    pub fn new(mode: ProgressMode) -> Progress {
        let bar = (mode == ProgressMode::Live).then(|| {
            let b = ProgressBar::with_draw_target(Some(0), ProgressDrawTarget::stderr());
            if let Ok(style) = ProgressStyle::with_template(
                "{spinner} {pos}/{len} environments [{elapsed_precise}, eta {eta}] {msg}",
            ) {
                b.set_style(style);
            }
            b.enable_steady_tick(Duration::from_millis(200));
            b
        });
        Progress {
            mode,
            started: Instant::now(),
            environments_total: AtomicU64::new(0),
            environments_done: AtomicU64::new(0),
            kinds: Mutex::new(BTreeMap::new()),
            bar,
            last_line: Mutex::new(Instant::now()),
        }
    }

    /// Sets the number of environments to crawl.
    pub fn set_environments(&self, n: u64) {
        self.environments_total.store(n, Ordering::Relaxed);
        if let Some(b) = &self.bar {
            b.set_length(n);
        }
    }

    /// Adds `n` resources of a kind.
    pub fn add(&self, kind: &'static str, n: u64) {
        if let Ok(mut k) = self.kinds.lock() {
            *k.entry(kind).or_default() += n;
        }
    }

    /// One more environment finished; `stats` is the transport's current view (requests, waits).
    pub fn environment_done(&self, stats: &str) {
        let done = self.environments_done.fetch_add(1, Ordering::Relaxed) + 1;
        let msg = format!("{} | {stats}", self.kinds_line());
        match self.mode {
            ProgressMode::Live => {
                if let Some(b) = &self.bar {
                    b.set_position(done);
                    b.set_message(msg);
                }
            }
            ProgressMode::Lines => {
                let total = self.environments_total.load(Ordering::Relaxed);
                let now = Instant::now();
                let due = self.last_line.lock().map(|mut last| {
                    let due = now.duration_since(*last) >= Duration::from_secs(5) || done == total;
                    if due {
                        *last = now;
                    }
                    due
                });
                if due.unwrap_or(false) {
                    let eta = self
                        .eta(done, total)
                        .map(|d| format!(", eta {}s", d.as_secs()))
                        .unwrap_or_default();
                    eprintln!("crawl: {done}/{total} environments{eta}; {msg}");
                }
            }
            ProgressMode::Quiet => {}
        }
    }

    fn eta(&self, done: u64, total: u64) -> Option<Duration> {
        if done == 0 || done >= total {
            return None;
        }
        let per = self.started.elapsed().as_secs_f64() / done as f64;
        Some(Duration::from_secs_f64(per * (total - done) as f64))
    }

    fn kinds_line(&self) -> String {
        self.kinds
            .lock()
            .map(|k| {
                k.iter()
                    .map(|(k, v)| format!("{k} {v}"))
                    .collect::<Vec<_>>()
                    .join(", ")
            })
            .unwrap_or_default()
    }

    /// Clears the live display.
    pub fn finish(&self) {
        if let Some(b) = &self.bar {
            b.finish_and_clear();
        }
    }

    /// Per-kind counts so far.
    pub fn counts(&self) -> BTreeMap<&'static str, u64> {
        self.kinds.lock().map(|k| k.clone()).unwrap_or_default()
    }
}
