//! The catalogue's actions, one file each, and the dispatch from a plan step to its action.

pub mod act_001;
pub mod act_002;
pub mod act_003;
pub mod act_004;
pub mod act_005;
pub mod act_006;
pub mod act_007;
pub mod act_008;
pub mod act_009;
pub mod act_010;
pub mod act_011;
pub mod act_012;
pub mod act_013;

use crate::ActError;
use crate::plan::Step;
use ppgov_client::{Clients, DataverseClient};
use serde_json::Value;
use std::collections::HashMap;
use std::sync::Mutex;

/// What the live clients and caches an action needs.
#[derive(Debug)]
pub struct Ctx {
    /// Every API client.
    pub clients: Clients,
    /// Environment documents read so far, by lower-cased name (instance URLs for Dataverse).
    envs: Mutex<HashMap<String, Value>>,
}

impl Ctx {
    /// A context on `clients`.
    pub fn new(clients: Clients) -> Ctx {
        Ctx {
            clients,
            envs: Mutex::new(HashMap::new()),
        }
    }

    fn cached(&self, env: &str) -> Option<Value> {
        self.envs
            .lock()
            .ok()
            .and_then(|m| m.get(&env.to_ascii_lowercase()).cloned())
    }

    fn remember(&self, env: &str, doc: &Value) {
        if let Ok(mut m) = self.envs.lock() {
            m.insert(env.to_ascii_lowercase(), doc.clone());
        }
    }
}

/// A target as read just now.
#[derive(Debug, Clone, PartialEq)]
pub struct Observed {
    /// The normalised state of the fields the action controls.
    pub state: Value,
    /// A lifecycle operation runs on the target; its state may be about to change.
    pub busy: bool,
    /// What the write needs besides the state (an organisation id, a user id).
    pub handle: Value,
}

/// Reads an environment document afresh (and caches it for instance URLs).
pub(crate) async fn env_doc(ctx: &Ctx, env: &str) -> Result<Value, ActError> {
    let doc: Value = ctx
        .clients
        .bap
        .get_environment(env, &[])
        .await
        .map_err(ActError::client(format!("reading environment {env}")))?;
    ctx.remember(env, &doc);
    Ok(doc)
}

/// Whether an environment document is the tenant's default environment.
pub(crate) fn is_default_env(doc: &Value) -> bool {
    doc.pointer("/properties/isDefault")
        .and_then(Value::as_bool)
        == Some(true)
        || doc
            .pointer("/properties/environmentSku")
            .and_then(Value::as_str)
            == Some("Default")
}

/// Whether a lifecycle operation runs on an environment (`states.management.id` "Running").
pub(crate) fn env_busy(doc: &Value) -> bool {
    doc.pointer("/properties/states/management/id")
        .and_then(Value::as_str)
        == Some("Running")
}

/// The Dataverse client of an environment.
pub(crate) async fn dataverse_of(ctx: &Ctx, env: &str) -> Result<DataverseClient, ActError> {
    let doc = match ctx.cached(env) {
        Some(d) => d,
        None => env_doc(ctx, env).await?,
    };
    let url = doc
        .pointer("/properties/linkedEnvironmentMetadata/instanceUrl")
        .and_then(Value::as_str)
        .filter(|u| !u.is_empty())
        .ok_or_else(|| {
            ActError::Invalid(format!(
                "environment {env} has no Dataverse instance URL; the action needs Dataverse"
            ))
        })?;
    let url = url::Url::parse(url).map_err(|e| {
        ActError::Invalid(format!(
            "environment {env} has an invalid instance URL: {e}"
        ))
    })?;
    ctx.clients
        .dataverse(&url, 500)
        .map_err(ActError::client(format!(
            "connecting to the Dataverse of environment {env}"
        )))
}

/// Reads the state a step's action controls.
pub async fn read(ctx: &Ctx, step: &Step) -> Result<Observed, ActError> {
    match step.action.as_str() {
        "PPG-ACT-001" => act_001::read(ctx, step).await,
        "PPG-ACT-002" => act_002::read(ctx, step).await,
        "PPG-ACT-003" | "PPG-ACT-006" => act_006::read(ctx, step).await,
        "PPG-ACT-004" => act_004::read(ctx, step).await,
        "PPG-ACT-005" => act_005::read(ctx, step).await,
        "PPG-ACT-007" => act_007::read(ctx, step).await,
        "PPG-ACT-008" => act_008::read(ctx, step).await,
        "PPG-ACT-009" => act_009::read(ctx, step).await,
        "PPG-ACT-010" => act_010::read(ctx, step).await,
        "PPG-ACT-011" => act_011::read(ctx, step).await,
        other => Err(ActError::Unplannable {
            action: other.into(),
            reason: "not executable in this build".into(),
        }),
    }
}

/// Sends a step's write; returns the request id of the (last) request.
pub async fn write(ctx: &Ctx, step: &Step, observed: &Observed) -> Result<String, ActError> {
    match step.action.as_str() {
        "PPG-ACT-001" => act_001::write(ctx, step, observed).await,
        "PPG-ACT-002" => act_002::write(ctx, step, observed).await,
        "PPG-ACT-003" | "PPG-ACT-006" => act_006::write(ctx, step, observed).await,
        "PPG-ACT-004" => act_004::write(ctx, step, observed).await,
        "PPG-ACT-005" => act_005::write(ctx, step, observed).await,
        "PPG-ACT-007" => act_007::write(ctx, step, observed).await,
        "PPG-ACT-008" => act_008::write(ctx, step, observed).await,
        "PPG-ACT-009" => act_009::write(ctx, step, observed).await,
        "PPG-ACT-010" => act_010::write(ctx, step, observed).await,
        "PPG-ACT-011" => act_011::write(ctx, step, observed).await,
        other => Err(ActError::Unplannable {
            action: other.into(),
            reason: "not executable in this build".into(),
        }),
    }
}

/// Normalises a state for comparison: GUID-like strings lower-cased, arrays compared as sets
/// (sorted), so ordering and id casing the API varies never make a diff.
pub fn normalise(v: &Value) -> Value {
    match v {
        Value::String(s) if looks_like_id(s) => Value::String(s.to_ascii_lowercase()),
        Value::Array(a) => {
            let mut items: Vec<Value> = a.iter().map(normalise).collect();
            items.sort_by_key(|x| x.to_string());
            items.dedup();
            Value::Array(items)
        }
        Value::Object(m) => {
            Value::Object(m.iter().map(|(k, x)| (k.clone(), normalise(x))).collect())
        }
        other => other.clone(),
    }
}

fn looks_like_id(s: &str) -> bool {
    s.len() == 36 && s.chars().all(|c| c.is_ascii_hexdigit() || c == '-')
}

/// Whether two states are the same once normalised (only the keys of `want` count).
pub fn same(have: &Value, want: &Value) -> bool {
    match (normalise(have), normalise(want)) {
        (Value::Object(h), Value::Object(w)) => {
            w.iter().all(|(k, v)| h.get(k).unwrap_or(&Value::Null) == v)
        }
        (h, w) => h == w,
    }
}
