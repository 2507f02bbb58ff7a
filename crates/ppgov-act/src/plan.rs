//! The plan file: versioned JSON with an integrity digest, the tenant, creation time, author, and
//! steps (action, target, expected state, change, why, undo). `ppgov plan` writes it and changes
//! nothing; `ppgov apply` refuses it when the digest, tenant, age or approvals do not hold.

use crate::ActError;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::path::Path;

/// The `format` every plan file carries.
pub const PLAN_FORMAT: &str = "ppgov-plan";
/// The plan file version this build writes and reads.
pub const PLAN_VERSION: u32 = 1;

/// Who did something, from the token's claims.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Identity {
    /// `user` (delegated) or `app` (app-only).
    pub kind: String,
    /// The UPN, or the application id.
    pub name: String,
    /// The token's tenant.
    pub tenant: String,
}

impl Identity {
    /// Same person or app (case-insensitive name, same kind).
    pub fn same_as(&self, other: &Identity) -> bool {
        self.kind == other.kind && self.name.eq_ignore_ascii_case(&other.name)
    }
}

impl std::fmt::Display for Identity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {}", self.kind, self.name)
    }
}

/// What a step acts on.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Target {
    /// `tenant`, `environment`, `flow`, `role_assignment`.
    pub kind: String,
    /// Its id: environment name, flow name, user principal name, tenant id.
    pub id: String,
    /// The environment it lives in (flows, role assignments).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub environment: Option<String>,
    /// A display name, for people.
    #[serde(default)]
    pub name: String,
}

impl std::fmt::Display for Target {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.environment {
            Some(e) => write!(f, "{} {} in {e}", self.kind, self.id),
            None => write!(f, "{} {}", self.kind, self.id),
        }
    }
}

impl Target {
    /// Key for serialising writes on one resource (one environment's writes run one at a time).
    pub fn lane(&self) -> String {
        match self.kind.as_str() {
            "environment" => format!("env:{}", self.id.to_ascii_lowercase()),
            "tenant" => "tenant".into(),
            _ => format!(
                "{}:{}:{}",
                self.kind,
                self.environment
                    .clone()
                    .unwrap_or_default()
                    .to_ascii_lowercase(),
                self.id.to_ascii_lowercase()
            ),
        }
    }
}

/// How to undo a step.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "kind")]
pub enum Undo {
    /// Write this state back (the state found when planning; the journal's before-state wins).
    Restore {
        /// The state to restore.
        state: Value,
    },
    /// Cannot be undone.
    NotReversible {
        /// Why.
        reason: String,
    },
}

/// One change.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Step {
    /// Position, from 1.
    pub index: u32,
    /// Action id (`PPG-ACT-001`).
    pub action: String,
    /// What it acts on.
    pub target: Target,
    /// The state the step expects to find; anything else is drift and the step is skipped.
    pub expected: Value,
    /// The state it sets.
    pub change: Value,
    /// Why: the finding or the desired-state line.
    pub why: String,
    /// How to undo it.
    pub undo: Undo,
    /// Warnings a reviewer must read (unsupported changes).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<String>,
    /// Notice first, act after a grace period (PPG-ACT-009): `apply` tells the people listed and
    /// records the step as due; `apply --due` carries it out once the period has passed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub grace: Option<Grace>,
}

/// A step that acts only after its notice and grace period.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Grace {
    /// Who is told first (the maker's address).
    pub recipients: Vec<String>,
    /// Hours between the notice and the action.
    pub period_hours: i64,
    /// The finding the notice is about.
    pub rule_id: String,
    /// Its message, as the notice shows it.
    pub message: String,
    /// When the notice went out: set on the due plan `apply` records, so `apply --due` acts.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub noticed_at: Option<DateTime<Utc>>,
}

/// An approval recorded in the plan file (the store's journal holds the authoritative copy).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Approval {
    /// Who approved, from their token.
    pub approver: Identity,
    /// When.
    pub at: DateTime<Utc>,
    /// The digest they approved.
    pub digest: String,
}

/// A plan file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Plan {
    /// Always [`PLAN_FORMAT`].
    pub format: String,
    /// Always [`PLAN_VERSION`] for this build.
    pub version: u32,
    /// Unique id.
    pub id: String,
    /// The tenant it is for.
    pub tenant_id: String,
    /// When it was made.
    pub created_at: DateTime<Utc>,
    /// Who made it.
    pub author: Identity,
    /// How it was made (`--from-scan`, `--preset lockdown-default-env`, ...).
    pub source: String,
    /// The changes, in order.
    pub steps: Vec<Step>,
    /// SHA-256 of everything above (canonical JSON); a changed plan no longer matches.
    pub digest: String,
    /// Approvals (outside the digest: approving does not change what is approved).
    #[serde(default)]
    pub approvals: Vec<Approval>,
}

/// Sorts object keys recursively, so the digest does not depend on key order in the file.
fn canonical(v: &Value) -> Value {
    match v {
        Value::Object(m) => {
            let mut keys: Vec<&String> = m.keys().collect();
            keys.sort();
            Value::Object(
                keys.into_iter()
                    .map(|k| (k.clone(), canonical(&m[k])))
                    .collect(),
            )
        }
        Value::Array(a) => Value::Array(a.iter().map(canonical).collect()),
        other => other.clone(),
    }
}

pub(crate) fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::Digest;
    ppgov_core::hex(&sha2::Sha256::digest(bytes))
}

impl Plan {
    /// A new plan (digest computed).
    pub fn new(
        tenant_id: &str,
        author: Identity,
        source: &str,
        steps: Vec<Step>,
    ) -> Result<Plan, ActError> {
        let mut plan = Plan {
            format: PLAN_FORMAT.into(),
            version: PLAN_VERSION,
            id: uuid::Uuid::new_v4().to_string(),
            tenant_id: tenant_id.into(),
            created_at: Utc::now(),
            author,
            source: source.into(),
            steps,
            digest: String::new(),
            approvals: vec![],
        };
        for (i, s) in plan.steps.iter_mut().enumerate() {
            s.index = u32::try_from(i + 1).unwrap_or(u32::MAX);
        }
        plan.digest = plan.compute_digest()?;
        Ok(plan)
    }

    /// The digest of the plan's content (everything but `digest` and `approvals`).
    pub fn compute_digest(&self) -> Result<String, ActError> {
        let mut v = serde_json::to_value(self).map_err(|source| ActError::Encode {
            what: "plan".into(),
            source,
        })?;
        if let Value::Object(m) = &mut v {
            m.remove("digest");
            m.remove("approvals");
        }
        let text = serde_json::to_string(&canonical(&v)).map_err(|source| ActError::Encode {
            what: "plan".into(),
            source,
        })?;
        Ok(sha256_hex(text.as_bytes()))
    }

    /// Parses a plan and checks its format, version and digest.
    pub fn parse(text: &str) -> Result<Plan, ActError> {
        let v: Value = serde_json::from_str(text)
            .map_err(|e| ActError::CorruptPlan(format!("not JSON ({e})")))?;
        if v.get("format").and_then(Value::as_str) != Some(PLAN_FORMAT) {
            return Err(ActError::CorruptPlan(
                "not a ppgov plan file (no \"format\": \"ppgov-plan\")".into(),
            ));
        }
        match v.get("version").and_then(Value::as_u64) {
            Some(n) if n == u64::from(PLAN_VERSION) => {}
            Some(n) => {
                return Err(ActError::CorruptPlan(format!(
                    "plan version {n} is not the version {PLAN_VERSION} this ppgov reads"
                )));
            }
            None => return Err(ActError::CorruptPlan("the plan has no version".into())),
        }
        let plan: Plan = serde_json::from_value(v)
            .map_err(|e| ActError::CorruptPlan(format!("malformed plan: {e}")))?;
        let digest = plan.compute_digest()?;
        if digest != plan.digest {
            return Err(ActError::CorruptPlan(format!(
                "its content does not match its digest {} (it was edited or damaged after it was made)",
                plan.digest
            )));
        }
        Ok(plan)
    }

    /// Reads and checks a plan file.
    pub fn read(path: &Path) -> Result<Plan, ActError> {
        let text = std::fs::read_to_string(path).map_err(|source| ActError::ReadPlan {
            path: path.into(),
            source,
        })?;
        Plan::parse(&text)
    }

    /// The plan as pretty JSON.
    pub fn to_json(&self) -> Result<String, ActError> {
        serde_json::to_string_pretty(self).map_err(|source| ActError::Encode {
            what: "plan".into(),
            source,
        })
    }

    /// Writes the plan file atomically (temporary file, then rename).
    pub fn write(&self, path: &Path) -> Result<(), ActError> {
        let text = self.to_json()?;
        let tmp = path.with_extension("partial");
        let io = |source| ActError::WritePlan {
            path: path.into(),
            source,
        };
        std::fs::write(&tmp, text.as_bytes()).map_err(io)?;
        std::fs::rename(&tmp, path).map_err(|source| ActError::WritePlan {
            path: path.into(),
            source,
        })
    }
}

/// What `apply` demands of a plan, checked before any call.
#[derive(Debug, Clone)]
pub struct Admission<'a> {
    /// The configured tenant.
    pub tenant_id: &'a str,
    /// `[remediation] max_plan_age_hours`.
    pub max_age_hours: i64,
    /// `[remediation] require_approval`.
    pub require_approval: bool,
    /// Approvals of this digest recorded in the store's journal (approver identities).
    pub recorded_approvals: &'a [Identity],
    /// Age is measured from this time (now; a due action's due time).
    pub now: DateTime<Utc>,
}

/// Refuses a plan for another tenant, too old, unapproved or self-approved. No call is made.
pub fn admit(plan: &Plan, a: &Admission<'_>) -> Result<(), ActError> {
    if !plan.tenant_id.eq_ignore_ascii_case(a.tenant_id) {
        return Err(ActError::OtherTenant {
            plan: plan.tenant_id.clone(),
            configured: a.tenant_id.into(),
        });
    }
    let age = a.now.signed_duration_since(plan.created_at);
    if age.num_minutes() > a.max_age_hours.saturating_mul(60) {
        return Err(ActError::TooOld {
            age_hours: age.num_hours(),
            max_hours: a.max_age_hours,
        });
    }
    if age.num_minutes() < -5 {
        return Err(ActError::CorruptPlan(
            "it was made in the future (check the clock)".into(),
        ));
    }
    if a.require_approval {
        if a.recorded_approvals.is_empty() {
            return Err(ActError::Unapproved {
                digest: plan.digest.clone(),
            });
        }
        if a.recorded_approvals.iter().all(|x| x.same_as(&plan.author)) {
            return Err(ActError::SelfApproved {
                author: plan.author.to_string(),
            });
        }
    }
    Ok(())
}
