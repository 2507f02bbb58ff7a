//! The shared server state: the tenant (mutable: writes show up in later reads), a cache of
//! per-environment content bounded by size, tokens, throttling buckets, lifecycle operations and
//! counters.
//!
//! # The environment cache
//!
//! Environment content is built on first use by the [`ContentFn`] (normally
//! `Tenant::env_content`), converted to compact text ([`StoredEnv`]) and cached. The cache is
//! bounded by the approximate bytes of that text ([`DEFAULT_ENV_CACHE_BYTES`], changeable with
//! [`State::set_env_cache_budget`]): untouched environments are dropped least recently used first
//! and rebuilt (deterministically, identically) when asked for again. Writes are never lost: every
//! write records the records it touched in the environment's [`EnvDelta`], which the cache keeps
//! for the server's lifetime (deltas are small: only the changed records). Rebuilding a written
//! environment generates it and applies its delta, so a written environment can be dropped like any
//! other and reads after a write always see it. The write and its delta are recorded under the
//! cache lock, so a concurrent rebuild can never miss a write. Concurrent requests for an
//! uncached environment wait for one build instead of each building it.
//!
//! Locks are `std::sync` locks: handlers take them briefly and never hold a guard across `.await`.

use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, RwLock, RwLockReadGuard, RwLockWriteGuard};
use std::time::Duration;

use chrono::{DateTime, Utc};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use crate::tenant::{EnvContent, EnvSpec, Tenant, User};

use super::store::{EnvDelta, StoredEnv};

use super::auth::{DeviceCodeGrant, RefreshGrant};
use super::bap::LifecycleOp;
use super::throttle::Bucket;

/// What every handler and every family module's router gets: `axum::Router<AppState>`.
pub type AppState = Arc<State>;

/// Builds one environment's content from the tenant (normally `Tenant::env_content`).
pub type ContentFn = Arc<dyn Fn(&Tenant, usize) -> EnvContent + Send + Sync>;

/// Shared environment content; take the lock briefly, never across `.await`.
pub type SharedContent = Arc<RwLock<StoredEnv>>;

/// Default budget of the environment cache: approximate bytes of compact content (the deltas of
/// written environments are kept on top of it).
pub const DEFAULT_ENV_CACHE_BYTES: usize = 256 * 1024 * 1024;

/// Knobs that shape every API answer (never the token endpoint).
#[derive(Debug, Clone, Default)]
pub struct Behaviour {
    /// Sleep before answering.
    pub latency: Duration,
    /// Requests per second per identity; `None` = unlimited.
    pub rate_limit: Option<f64>,
    /// Probability (0..=1) that an API call fails (half 500/503, half dropped connection).
    pub fault_rate: f64,
}

/// The server state shared by every handler.
pub struct State {
    /// `http://127.0.0.1:PORT`: the origin every absolute URL (nextLink, Location) starts with.
    pub base_url: String,
    /// The tenant; tenant-wide writes (settings, DLP, environment documents) go here.
    tenant: RwLock<Tenant>,
    /// Lower-cased environment name -> index in `tenant.environments`.
    env_index: BTreeMap<String, usize>,
    /// Lower-cased user id and UPN -> position in `tenant.directory.users` (live users; the
    /// directory's membership is fixed once served, so Graph lookups need not scan 50k users).
    user_index: HashMap<String, usize>,
    /// How many users there were when `user_index` was built.
    indexed_users: usize,
    content_fn: ContentFn,
    envs: Mutex<EnvCache>,
    /// One gate per environment being built, so concurrent requests for an uncached environment
    /// build it once (a large one costs a second of CPU and a transient `Value` tree).
    builds: Mutex<HashMap<usize, Arc<Mutex<()>>>>,
    /// Builds running at once: each makes a transient `Value` tree (over 100 MB for the largest
    /// environment of `large`) and is pure CPU, so more than two at a time only costs memory.
    building: (Mutex<usize>, std::sync::Condvar),
    /// HS256 key for issued access tokens (random per process).
    pub signing_key: Vec<u8>,
    /// Lifetime of issued access tokens in seconds (tests may shorten it, even below zero).
    pub token_lifetime_secs: AtomicI64,
    /// Latency, rate limit, faults.
    pub behaviour: RwLock<Behaviour>,
    /// Whether the Management Activity API serves audit content.
    pub audit_enabled: AtomicBool,
    /// API requests seen (token endpoint excluded).
    pub requests: AtomicU64,
    /// Microsoft Graph requests among them (tests that compare crawls leave the principal
    /// resolver's batching out).
    pub graph_requests: AtomicU64,
    /// Units charged against rate limits (a Graph `$batch` is charged once plus once per item).
    pub charged: AtomicU64,
    /// Token buckets per identity (`oid`).
    pub buckets: Mutex<HashMap<String, Bucket>>,
    /// Fault dice (seeded, so a run is repeatable).
    pub fault_rng: Mutex<ChaCha8Rng>,
    /// Lifetime of device codes (`expires_in`), seconds.
    pub device_code_lifetime_secs: AtomicI64,
    /// Polls closer together than this answer `slow_down` (tests may set zero).
    pub device_poll_min_gap: RwLock<Duration>,
    /// Outstanding device codes by `device_code`.
    pub device_codes: Mutex<HashMap<String, DeviceCodeGrant>>,
    /// Issued refresh tokens.
    pub refresh_tokens: Mutex<HashMap<String, RefreshGrant>>,
    /// BAP lifecycle operations by id.
    pub operations: Mutex<BTreeMap<String, LifecycleOp>>,
    /// When set, every API call but the BAP environment list answers 403 (a sign-in that may
    /// list environments and read nothing else; tests of fail-closed scans).
    pub forbid_all_but_environment_list: AtomicBool,
    /// Single-flow GETs answered (each returns a definition), so tests can see refetches.
    pub flow_definition_reads: AtomicU64,
    /// Accepted writes per target (tests read it to prove no write was repeated).
    pub writes: super::writes::WriteLog,
    /// OpenID Connect: the ID-token signing key and outstanding authorization codes.
    pub oidc: super::auth::OidcState,
    /// Hold audit blob requests, writes, or every request after a number of them (`gate.rs`).
    pub blob_gate: super::gate::Gate,
    /// See `blob_gate`.
    pub write_gate: super::gate::Gate,
    /// See `blob_gate`.
    pub request_gate: super::gate::Gate,
}

impl std::fmt::Debug for State {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Deliberately terse: the state holds secrets (signing key, passwords).
        f.debug_struct("State")
            .field("base_url", &self.base_url)
            .finish_non_exhaustive()
    }
}

/// One cached environment.
struct Entry {
    content: SharedContent,
    /// Approximate size, as last measured.
    bytes: usize,
    /// Key in `EnvCache::lru`.
    tick: u64,
}

/// The size-bounded cache of environment content; see the module docs.
struct EnvCache {
    map: HashMap<usize, Entry>,
    /// Use tick -> environment index, least recently used first.
    lru: BTreeMap<u64, usize>,
    tick: u64,
    /// Sum of `Entry::bytes`.
    bytes: usize,
    budget: usize,
    /// The writes made to each environment, kept for good: rebuilding applies them.
    deltas: HashMap<usize, EnvDelta>,
    /// Writes per environment, so derived views (the inventory table) know what to rebuild.
    writes: HashMap<usize, u64>,
}

impl EnvCache {
    fn new(budget: usize) -> EnvCache {
        EnvCache {
            map: HashMap::new(),
            lru: BTreeMap::new(),
            tick: 0,
            bytes: 0,
            budget,
            deltas: HashMap::new(),
            writes: HashMap::new(),
        }
    }

    /// The cached content of `index`, marked as just used.
    fn get(&mut self, index: usize) -> Option<SharedContent> {
        self.tick += 1;
        let tick = self.tick;
        let entry = self.map.get_mut(&index)?;
        self.lru.remove(&entry.tick);
        entry.tick = tick;
        self.lru.insert(tick, index);
        Some(entry.content.clone())
    }

    /// Caches `content` as the content of `index`, then evicts down to the budget.
    fn insert(&mut self, index: usize, content: SharedContent, bytes: usize) {
        self.tick += 1;
        let tick = self.tick;
        if let Some(old) = self.map.remove(&index) {
            self.bytes -= old.bytes;
            self.lru.remove(&old.tick);
        }
        self.lru.insert(tick, index);
        self.bytes += bytes;
        self.map.insert(
            index,
            Entry {
                content,
                bytes,
                tick,
            },
        );
        self.evict();
    }

    /// Records the new size of an environment after a write.
    fn resize(&mut self, index: usize, bytes: usize) {
        if let Some(entry) = self.map.get_mut(&index) {
            self.bytes = self.bytes - entry.bytes + bytes;
            entry.bytes = bytes;
        }
        self.evict();
    }

    /// Drops environments, least recently used first, until the cache fits its budget. Nothing is
    /// lost: writes live on in `deltas`.
    fn evict(&mut self) {
        while self.bytes > self.budget {
            let Some((_, index)) = self.lru.pop_first() else {
                break;
            };
            if let Some(old) = self.map.remove(&index) {
                self.bytes -= old.bytes;
            }
        }
    }
}

/// What the environment cache holds (for tests and benchmarks).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CacheStats {
    /// Environments cached.
    pub environments: usize,
    /// Approximate bytes of all cached content.
    pub bytes: usize,
    /// The budget.
    pub budget: usize,
    /// Environments written to (each has a delta, cached or not).
    pub written: usize,
    /// Approximate bytes of all deltas.
    pub delta_bytes: usize,
}

/// Takes a mutex even if a previous holder panicked (the data is still usable for an emulator).
pub fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// Read side of [`lock`] for `RwLock`.
pub fn read<T>(m: &RwLock<T>) -> RwLockReadGuard<'_, T> {
    m.read().unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// Write side of [`lock`] for `RwLock`.
pub fn write<T>(m: &RwLock<T>) -> RwLockWriteGuard<'_, T> {
    m.write().unwrap_or_else(std::sync::PoisonError::into_inner)
}

impl State {
    /// Builds the state around a tenant.
    pub fn new(
        base_url: String,
        tenant: Tenant,
        content_fn: ContentFn,
        behaviour: Behaviour,
        audit_enabled: bool,
    ) -> State {
        let env_index = tenant
            .environments
            .iter()
            .map(|e| (e.name.to_ascii_lowercase(), e.index))
            .collect();
        let indexed_users = tenant.directory.users.len();
        let mut user_index = HashMap::new();
        for (i, u) in tenant.directory.users.iter().enumerate() {
            if !u.deleted {
                user_index.entry(u.id.to_ascii_lowercase()).or_insert(i);
                user_index.entry(u.upn.to_ascii_lowercase()).or_insert(i);
            }
        }
        let mut key = vec![0u8; 32];
        rand::rng().fill_bytes(&mut key);
        let seed = tenant.seed;
        State {
            base_url,
            tenant: RwLock::new(tenant),
            env_index,
            indexed_users,
            user_index,
            content_fn,
            envs: Mutex::new(EnvCache::new(DEFAULT_ENV_CACHE_BYTES)),
            builds: Mutex::new(HashMap::new()),
            building: (Mutex::new(0), std::sync::Condvar::new()),
            signing_key: key,
            token_lifetime_secs: AtomicI64::new(3599),
            behaviour: RwLock::new(behaviour),
            audit_enabled: AtomicBool::new(audit_enabled),
            requests: AtomicU64::new(0),
            graph_requests: AtomicU64::new(0),
            charged: AtomicU64::new(0),
            buckets: Mutex::new(HashMap::new()),
            fault_rng: Mutex::new(ChaCha8Rng::seed_from_u64(seed ^ 0x5eed_fa17)),
            device_code_lifetime_secs: AtomicI64::new(900),
            device_poll_min_gap: RwLock::new(Duration::from_secs(1)),
            device_codes: Mutex::new(HashMap::new()),
            refresh_tokens: Mutex::new(HashMap::new()),
            operations: Mutex::new(BTreeMap::new()),
            forbid_all_but_environment_list: AtomicBool::new(false),
            flow_definition_reads: AtomicU64::new(0),
            writes: Default::default(),
            oidc: Default::default(),
            blob_gate: Default::default(),
            write_gate: Default::default(),
            request_gate: Default::default(),
        }
    }

    /// Read access to the tenant. Do not hold it across `.await`.
    pub fn tenant(&self) -> RwLockReadGuard<'_, Tenant> {
        read(&self.tenant)
    }

    /// Write access to the tenant. Do not hold it across `.await`.
    pub fn tenant_mut(&self) -> RwLockWriteGuard<'_, Tenant> {
        write(&self.tenant)
    }

    /// Wall-clock now (token expiry, lifecycle operations). Scenario data uses `tenant().now`.
    pub fn now(&self) -> DateTime<Utc> {
        Utc::now()
    }

    /// Index of the environment named `name` (case-insensitive), if it exists.
    pub fn env_index(&self, name: &str) -> Option<usize> {
        self.env_index.get(&name.to_ascii_lowercase()).copied()
    }

    /// The live (not deleted) user whose id or UPN is `key` (case-insensitive), looked up in an
    /// index. Users are never added or removed while serving; if one changed in place (tests
    /// may), the lookup falls back to a scan.
    pub fn find_user<'t>(&self, tenant: &'t Tenant, key: &str) -> Option<&'t User> {
        let matches = |u: &User| {
            !u.deleted && (u.id.eq_ignore_ascii_case(key) || u.upn.eq_ignore_ascii_case(key))
        };
        match self.user_index.get(&key.to_ascii_lowercase()) {
            Some(i) => match tenant.directory.users.get(*i).filter(|u| matches(u)) {
                Some(u) => Some(u),
                None => tenant.directory.users.iter().find(|u| matches(u)),
            },
            // Not indexed: a miss, unless users were added since the index was built.
            None if tenant.directory.users.len() == self.indexed_users => None,
            None => tenant.directory.users.iter().find(|u| matches(u)),
        }
    }

    /// The `name` of environment `index`.
    pub fn env_name(&self, index: usize) -> Option<String> {
        self.tenant()
            .environments
            .get(index)
            .map(|e| e.name.clone())
    }

    /// A copy of the environment's spec (its BAP document included).
    pub fn env_spec(&self, name: &str) -> Option<EnvSpec> {
        let idx = self.env_index(name)?;
        self.tenant().environments.get(idx).cloned()
    }

    /// The content of environment `index`, built on first use and cached (see the module docs).
    /// Write to it only through [`State::env_content_mut`], so the write is recorded.
    pub fn env_content(&self, index: usize) -> SharedContent {
        if let Some(c) = lock(&self.envs).get(index) {
            return c;
        }
        let build = || {
            let gate = lock(&self.builds).entry(index).or_default().clone();
            let _building = lock(&gate);
            let out = self.build_and_cache(index);
            lock(&self.builds).remove(&index);
            out
        };
        // Building (or waiting for another request's build) blocks for up to a second: tell a
        // multi-threaded runtime, so the worker's other tasks (a crawler's, in the benchmark) move
        // to another thread meanwhile. Elsewhere (single-threaded tests, plain threads) just build.
        let multi_thread = tokio::runtime::Handle::try_current()
            .is_ok_and(|h| h.runtime_flavor() == tokio::runtime::RuntimeFlavor::MultiThread);
        if multi_thread {
            tokio::task::block_in_place(build)
        } else {
            build()
        }
    }

    /// How many writes each written environment has had (environments never written are absent).
    pub fn env_writes(&self) -> HashMap<usize, u64> {
        lock(&self.envs).writes.clone()
    }

    /// The cached content of `index`, or builds it (outside the cache lock: a large environment
    /// takes a while) and caches it. Called with the environment's build gate held.
    fn build_and_cache(&self, index: usize) -> SharedContent {
        // Whoever held the gate before us has probably built it.
        if let Some(c) = lock(&self.envs).get(index) {
            return c;
        }
        let mut built = {
            let _slot = BuildSlot::take(&self.building);
            let tenant = self.tenant();
            StoredEnv::from((self.content_fn)(&tenant, index))
        };
        let mut cache = lock(&self.envs);
        // Another request may have built it meanwhile: the cached copy wins.
        if let Some(c) = cache.get(index) {
            return c;
        }
        // Writes made up to now (under this lock, so none can slip in between).
        if let Some(delta) = cache.deltas.get(&index) {
            built.apply(delta);
        }
        let bytes = built.approx_bytes();
        let shared: SharedContent = Arc::new(RwLock::new(built));
        cache.insert(index, shared.clone(), bytes);
        shared
    }

    /// Runs `f` on the environment's content for writing and records what it changed in the
    /// environment's delta, all under the cache lock, so the write survives any eviction and no
    /// concurrent rebuild misses it. `f` must not call back into the cache.
    pub fn env_content_mut<R>(&self, index: usize, f: impl FnOnce(&mut StoredEnv) -> R) -> R {
        let shared = self.env_content(index);
        let mut cache = lock(&self.envs);
        let target = match cache.get(index) {
            Some(cached) => cached,
            None => {
                // Dropped between the two locks: bring the copy we hold up to date and re-cache it.
                let bytes = {
                    let mut guard = write(&shared);
                    if let Some(delta) = cache.deltas.get(&index) {
                        guard.apply(delta);
                    }
                    guard.approx_bytes()
                };
                cache.insert(index, shared.clone(), bytes);
                shared
            }
        };
        let (out, changes, bytes) = {
            let mut guard = write(&target);
            let out = f(&mut guard);
            let changes = guard.take_changes();
            (out, changes, guard.approx_bytes())
        };
        if !changes.is_empty() {
            cache.deltas.entry(index).or_default().merge(changes);
            *cache.writes.entry(index).or_default() += 1;
        }
        cache.resize(index, bytes);
        out
    }

    /// Changes the environment cache's budget (approximate bytes of compact content) and drops
    /// untouched environments until it fits.
    pub fn set_env_cache_budget(&self, bytes: usize) {
        let mut cache = lock(&self.envs);
        cache.budget = bytes;
        cache.evict();
    }

    /// What the environment cache holds now.
    pub fn env_cache_stats(&self) -> CacheStats {
        let cache = lock(&self.envs);
        CacheStats {
            environments: cache.map.len(),
            bytes: cache.bytes,
            budget: cache.budget,
            written: cache.deltas.len(),
            delta_bytes: cache.deltas.values().map(EnvDelta::approx_bytes).sum(),
        }
    }

    /// The current behaviour knobs.
    pub fn behaviour(&self) -> Behaviour {
        read(&self.behaviour).clone()
    }

    /// Counts one API request.
    pub fn count_request(&self) {
        self.requests.fetch_add(1, Ordering::Relaxed);
    }
}

/// Builds allowed at once (see `State::building`).
const PARALLEL_BUILDS: usize = 2;

/// One of the [`PARALLEL_BUILDS`] build slots, released on drop.
struct BuildSlot<'a>(&'a (Mutex<usize>, std::sync::Condvar));

impl<'a> BuildSlot<'a> {
    fn take(gate: &'a (Mutex<usize>, std::sync::Condvar)) -> BuildSlot<'a> {
        let mut running = lock(&gate.0);
        while *running >= PARALLEL_BUILDS {
            running = gate
                .1
                .wait(running)
                .unwrap_or_else(std::sync::PoisonError::into_inner);
        }
        *running += 1;
        BuildSlot(gate)
    }
}

impl Drop for BuildSlot<'_> {
    fn drop(&mut self) {
        *lock(&self.0.0) -= 1;
        self.0.1.notify_one();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tenant::{FlowRecord, RunPlan, ScenarioConfig, Size};
    use std::sync::atomic::AtomicUsize;

    const THREADS: usize = 8;

    #[test]
    fn concurrent_requests_build_an_environment_once() {
        let tenant = crate::scenario::generate(&ScenarioConfig {
            seed: 3,
            size: Size::Small,
            base_url: "http://127.0.0.1:9".into(),
            now: Utc::now(),
        });
        let started = Arc::new(AtomicUsize::new(0));
        let builds = Arc::new(AtomicUsize::new(0));
        let (s2, b2) = (started.clone(), builds.clone());
        let content: ContentFn = Arc::new(move |_: &Tenant, _: usize| {
            b2.fetch_add(1, Ordering::SeqCst);
            // Hold the build until every thread has asked, so the others find it being built.
            let deadline = std::time::Instant::now() + Duration::from_secs(5);
            while s2.load(Ordering::SeqCst) < THREADS && std::time::Instant::now() < deadline {
                std::thread::yield_now();
            }
            EnvContent {
                flows: vec![FlowRecord {
                    doc: serde_json::json!({"name": "f"}),
                    definition: serde_json::json!({}),
                    permissions: vec![],
                    runs: RunPlan::default(),
                }],
                ..Default::default()
            }
        });
        let state = Arc::new(State::new(
            "http://127.0.0.1:9".into(),
            tenant,
            content,
            Behaviour::default(),
            false,
        ));
        let handles: Vec<_> = (0..THREADS)
            .map(|_| {
                let (state, started) = (state.clone(), started.clone());
                std::thread::spawn(move || {
                    started.fetch_add(1, Ordering::SeqCst);
                    read(&state.env_content(0)).flows().len()
                })
            })
            .collect();
        for h in handles {
            assert_eq!(h.join().unwrap(), 1);
        }
        assert_eq!(builds.load(Ordering::SeqCst), 1);
        assert_eq!(state.env_cache_stats().environments, 1);
    }
}
