//! The shared server state: the tenant (mutable: writes show up in later reads), a bounded cache
//! of per-environment content, tokens, throttling buckets, lifecycle operations and counters.
//!
//! Locks are `std::sync` locks: handlers take them briefly and never hold a guard across `.await`.

use std::collections::{BTreeMap, HashMap, HashSet, VecDeque};
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, RwLock, RwLockReadGuard, RwLockWriteGuard};
use std::time::Duration;

use chrono::{DateTime, Utc};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use crate::tenant::{EnvContent, EnvSpec, Tenant};

use super::auth::{DeviceCodeGrant, RefreshGrant};
use super::bap::LifecycleOp;
use super::throttle::Bucket;

/// What every handler and every family module's router gets: `axum::Router<AppState>`.
pub type AppState = Arc<State>;

/// Builds one environment's content from the tenant (normally `Tenant::env_content`).
pub type ContentFn = Arc<dyn Fn(&Tenant, usize) -> EnvContent + Send + Sync>;

/// Shared environment content; take the lock briefly, never across `.await`.
pub type SharedContent = Arc<RwLock<EnvContent>>;

/// How many untouched environments stay cached (mutated ones are pinned on top of this).
const ENV_CACHE_CAPACITY: usize = 64;

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
    content_fn: ContentFn,
    envs: Mutex<EnvCache>,
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
}

impl std::fmt::Debug for State {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Deliberately terse: the state holds secrets (signing key, passwords).
        f.debug_struct("State")
            .field("base_url", &self.base_url)
            .finish_non_exhaustive()
    }
}

#[derive(Default)]
struct EnvCache {
    map: HashMap<usize, SharedContent>,
    /// Least recently used first (untouched environments only).
    order: VecDeque<usize>,
    pinned: HashSet<usize>,
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
        let mut key = vec![0u8; 32];
        rand::rng().fill_bytes(&mut key);
        let seed = tenant.seed;
        State {
            base_url,
            tenant: RwLock::new(tenant),
            env_index,
            content_fn,
            envs: Mutex::new(EnvCache::default()),
            signing_key: key,
            token_lifetime_secs: AtomicI64::new(3599),
            behaviour: RwLock::new(behaviour),
            audit_enabled: AtomicBool::new(audit_enabled),
            requests: AtomicU64::new(0),
            buckets: Mutex::new(HashMap::new()),
            fault_rng: Mutex::new(ChaCha8Rng::seed_from_u64(seed ^ 0x5eed_fa17)),
            device_code_lifetime_secs: AtomicI64::new(900),
            device_poll_min_gap: RwLock::new(Duration::from_secs(1)),
            device_codes: Mutex::new(HashMap::new()),
            refresh_tokens: Mutex::new(HashMap::new()),
            operations: Mutex::new(BTreeMap::new()),
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

    /// A copy of the environment's spec (its BAP document included).
    pub fn env_spec(&self, name: &str) -> Option<EnvSpec> {
        let idx = self.env_index(name)?;
        self.tenant().environments.get(idx).cloned()
    }

    /// The content of environment `index`, built on first use and cached (bounded LRU).
    /// Mutate it through [`State::env_content_mut`] so the change is pinned and never evicted.
    pub fn env_content(&self, index: usize) -> SharedContent {
        {
            let mut cache = lock(&self.envs);
            if let Some(c) = cache.map.get(&index).cloned() {
                if !cache.pinned.contains(&index) {
                    cache.order.retain(|i| *i != index);
                    cache.order.push_back(index);
                }
                return c;
            }
        }
        // Build outside the cache lock: a large environment takes a while.
        let built = {
            let tenant = self.tenant();
            (self.content_fn)(&tenant, index)
        };
        let mut cache = lock(&self.envs);
        if let Some(c) = cache.map.get(&index).cloned() {
            return c;
        }
        let shared: SharedContent = Arc::new(RwLock::new(built));
        cache.map.insert(index, shared.clone());
        cache.order.push_back(index);
        while cache.order.len() > ENV_CACHE_CAPACITY {
            if let Some(old) = cache.order.pop_front() {
                cache.map.remove(&old);
            }
        }
        shared
    }

    /// Runs `f` on the environment's content for writing and pins it, so the write survives eviction.
    pub fn env_content_mut<R>(&self, index: usize, f: impl FnOnce(&mut EnvContent) -> R) -> R {
        let shared = self.env_content(index);
        {
            let mut cache = lock(&self.envs);
            cache.pinned.insert(index);
            cache.order.retain(|i| *i != index);
            cache.map.insert(index, shared.clone());
        }
        let mut guard = write(&shared);
        f(&mut guard)
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
