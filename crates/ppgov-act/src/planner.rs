//! Turning findings, presets and explicit requests into plan steps. Each step's expected state
//! is read live when planning, so a plan says what it will find; a target already in the desired
//! state plans no step (an unchanged tenant plans zero steps).

use crate::ActError;
use crate::actions::{
    self, Ctx, act_001, act_002, act_003, act_004, act_006, act_007, act_011, same,
};
use crate::plan::{Step, Target, Undo};
pub use crate::presets::{LockdownInputs, default_environment, lockdown_default_env};
use ppgov_config::RemediationConfig;
use ppgov_core::{Finding, ResourceKind};
use serde_json::Value;
use std::collections::BTreeSet;

/// Steps planned, and what could not be planned (with why).
#[derive(Debug, Default)]
pub struct Planned {
    /// The steps.
    pub steps: Vec<Step>,
    /// Findings or requests left out, each with the reason.
    pub notes: Vec<String>,
}

impl Planned {
    pub(crate) fn push_unique(&mut self, step: Option<Step>) {
        if let Some(s) = step {
            let dup = self
                .steps
                .iter()
                .any(|x| x.action == s.action && x.target == s.target);
            if !dup {
                self.steps.push(s);
            }
        }
    }
}

/// Users per share the developer preset allows when a finding does not say
/// (`[posture.thresholds] developer_env_max_share_users` defaults to it too).
const DEFAULT_MAX_SHARE_USERS: i64 = 5;

/// Plans one step: reads the target; `None` when it already is in the desired state.
pub async fn plan_step(
    ctx: &Ctx,
    action: &str,
    target: Target,
    change: serde_json::Value,
    why: String,
    warnings: Vec<String>,
) -> Result<Option<Step>, ActError> {
    let mut step = Step {
        index: 0,
        action: action.into(),
        target,
        expected: Value::Null,
        change,
        why,
        undo: Undo::Restore { state: Value::Null },
        warnings,
        grace: None,
    };
    let observed = actions::read(ctx, &step).await?;
    if same(&observed.state, &step.change) {
        return Ok(None);
    }
    step.expected = observed.state.clone();
    step.undo = match crate::action::meta(action).map(|m| m.undo) {
        Some(crate::action::Reversibility::NotReversible) => Undo::NotReversible {
            reason: "the action cannot be undone".into(),
        },
        _ => Undo::Restore {
            state: observed.state,
        },
    };
    Ok(Some(step))
}

pub(crate) fn env_target(id: &str, name: &str) -> Target {
    Target {
        kind: "environment".into(),
        id: id.into(),
        environment: None,
        name: name.into(),
    }
}

pub(crate) fn tenant_target(tenant: &str) -> Target {
    Target {
        kind: "tenant".into(),
        id: tenant.into(),
        environment: None,
        name: "tenant settings".into(),
    }
}

/// The security group step, refused on the default environment without the opt-in.
pub(crate) async fn security_group_step(
    ctx: &Ctx,
    cfg: &RemediationConfig,
    env: &str,
    name: &str,
    is_default: bool,
    group: &str,
    why: String,
) -> Result<Option<Step>, ActError> {
    let mut warnings = vec![];
    if is_default {
        if !cfg.allow_unsupported {
            return Err(ActError::Unplannable {
                action: act_001::META.id.into(),
                reason: format!(
                    "environment {env} is the default environment: {}; opt in with `[remediation] allow_unsupported = true` in ppgov.toml",
                    act_001::DEFAULT_ENV_WARNING
                ),
            });
        }
        warnings.push(act_001::DEFAULT_ENV_WARNING.to_string());
    }
    plan_step(
        ctx,
        act_001::META.id,
        env_target(env, name),
        act_001::desired(group),
        why,
        warnings,
    )
    .await
}

/// Whether an environment is the default one (read live).
async fn is_default_env(ctx: &Ctx, env: &str) -> Result<bool, ActError> {
    Ok(actions::is_default_env(&actions::env_doc(ctx, env).await?))
}

/// Steps for findings whose remediation names a plannable action; `rules` filters by rule id.
pub async fn from_findings(
    ctx: &Ctx,
    cfg: &RemediationConfig,
    tenant_id: &str,
    findings: &[Finding],
    rules: &[String],
) -> Result<Planned, ActError> {
    let mut out = Planned::default();
    let mut seen = BTreeSet::new();
    // The co-owner's kind (user or group), read from Graph once.
    let mut owner_kind: Option<String> = None;
    for f in findings {
        if f.suppressed.is_some() {
            continue;
        }
        if !rules.is_empty() && !rules.iter().any(|r| r.eq_ignore_ascii_case(&f.rule_id)) {
            continue;
        }
        let Some(action) = f.remediation.action_id.as_deref() else {
            continue;
        };
        let why = format!("{}: {}", f.rule_id, f.message);
        let key = (action.to_string(), f.resource.id.clone());
        if !seen.insert(key) {
            continue;
        }
        match (action, f.resource.kind) {
            ("PPG-ACT-001", ResourceKind::Environment) => {
                let Some(group) = cfg.security_group_id.as_deref() else {
                    out.notes.push(format!("{why}: not planned; set `[remediation] security_group_id` to the group to assign"));
                    continue;
                };
                let default = is_default_env(ctx, &f.resource.id).await?;
                match security_group_step(
                    ctx,
                    cfg,
                    &f.resource.id,
                    &f.resource.name,
                    default,
                    group,
                    why.clone(),
                )
                .await
                {
                    Ok(s) => out.push_unique(s),
                    Err(ActError::Unplannable { reason, .. }) => {
                        out.notes.push(format!("{why}: refused: {reason}"))
                    }
                    Err(e) => return Err(e),
                }
            }
            ("PPG-ACT-002", ResourceKind::Environment) => {
                let s = plan_step(
                    ctx,
                    act_002::META.id,
                    env_target(&f.resource.id, &f.resource.name),
                    act_002::desired(),
                    why,
                    vec![],
                )
                .await?;
                out.push_unique(s);
            }
            ("PPG-ACT-003", _) => {
                let s = plan_step(
                    ctx,
                    act_003::META.id,
                    tenant_target(tenant_id),
                    act_003::desired(),
                    why,
                    vec![],
                )
                .await?;
                out.push_unique(s);
            }
            ("PPG-ACT-004", ResourceKind::Environment) => {
                let change = if f.rule_id.eq_ignore_ascii_case("PPG-ENV-003") {
                    act_004::managed_only()
                } else {
                    // RTE-003/004 carry the threshold they judged against.
                    let max = f
                        .evidence
                        .get("max_share_users")
                        .and_then(Value::as_i64)
                        .unwrap_or(DEFAULT_MAX_SHARE_USERS);
                    let doc = actions::env_doc(ctx, &f.resource.id).await?;
                    act_004::developer_preset(&doc, max)
                };
                let s = plan_step(
                    ctx,
                    act_004::META.id,
                    env_target(&f.resource.id, &f.resource.name),
                    change,
                    why,
                    vec![],
                )
                .await?;
                out.push_unique(s);
            }
            ("PPG-ACT-007", ResourceKind::Flow) => {
                let Some(env) = f.resource.environment_id.clone() else {
                    continue;
                };
                let target = Target {
                    kind: "flow".into(),
                    id: f.resource.id.clone(),
                    environment: Some(env),
                    name: f.resource.name.clone(),
                };
                let s = plan_step(
                    ctx,
                    act_007::META.id,
                    target,
                    act_007::desired(true),
                    why,
                    vec![],
                )
                .await?;
                out.push_unique(s);
            }
            ("PPG-ACT-008", ResourceKind::Flow | ResourceKind::App) => {
                let Some(owner) = cfg.orphan_owner.as_deref() else {
                    out.notes.push(format!("{why}: not planned; set `[remediation] orphan_owner` to the user or group that takes over"));
                    continue;
                };
                let kind = match &owner_kind {
                    Some(k) => k.clone(),
                    None => {
                        let k = crate::reassign::principal_kind(ctx, owner).await?;
                        owner_kind = Some(k.clone());
                        k
                    }
                };
                // PPG-FLW-002 ends only with an active user among the owners: a group
                // co-owner leaves nobody accountable (the rule's documentation says why).
                if kind != "User" && f.rule_id.eq_ignore_ascii_case("PPG-FLW-002") {
                    out.notes.push(format!("{why}: not planned; an orphaned flow needs an active user as co-owner and `[remediation] orphan_owner` is a {kind}"));
                    continue;
                }
                match crate::reassign::co_owner_step(ctx, &f.resource, owner, &kind, why.clone())
                    .await
                {
                    Ok(s) => out.push_unique(s),
                    Err(ActError::Unplannable { reason, .. }) => {
                        out.notes.push(format!("{why}: not planned; {reason}"))
                    }
                    Err(e) => return Err(e),
                }
            }
            ("PPG-ACT-009", ResourceKind::App | ResourceKind::Flow) => {
                match crate::cleanup::step_for(ctx, cfg, f, why.clone()).await? {
                    Ok(s) => out.push_unique(s),
                    Err(reason) => out.notes.push(format!("{why}: not planned; {reason}")),
                }
            }
            ("PPG-ACT-010", ResourceKind::Connection) => {
                let Some(env) = f.resource.environment_id.as_deref() else {
                    continue;
                };
                let s = crate::reassign::remove_connection_step(
                    ctx,
                    env,
                    &f.resource.id,
                    &f.resource.name,
                    why,
                )
                .await?;
                out.push_unique(s);
            }
            (a, _) => {
                let why_not = match crate::action::meta(a) {
                    Some(m) if a == act_011::META.id => format!(
                        "{} is planned by `ppgov roles remove` from a reviewed list of users, never from a scan",
                        m.title
                    ),
                    Some(m) if a == act_006::META.id => {
                        format!("{} needs a declared desired state (`--desired`)", m.title)
                    }
                    Some(m) => format!("{} is not plannable in this build", m.title),
                    None => format!("unknown action {a}"),
                };
                out.notes.push(format!("{why}: not planned; {why_not}"));
            }
        }
    }
    Ok(out)
}

/// `--action ID --target T [--value V]`: one explicit step.
pub async fn single(
    ctx: &Ctx,
    cfg: &RemediationConfig,
    tenant_id: &str,
    action: &str,
    target: &str,
    value: Option<&str>,
) -> Result<Planned, ActError> {
    let mut out = Planned::default();
    let why = format!("requested: {action} on {target}");
    let meta = crate::action::meta(action).ok_or_else(|| {
        ActError::Invalid(format!(
            "unknown action {action}; hint: `ppgov plan --list-actions`"
        ))
    })?;
    if !meta.plannable {
        return Err(ActError::Unplannable {
            action: meta.id.into(),
            reason: "not plannable in this build".into(),
        });
    }
    let step = match meta.id {
        "PPG-ACT-001" => {
            let group = value.or(cfg.security_group_id.as_deref()).ok_or_else(|| ActError::Invalid("PPG-ACT-001 needs the group: --value GROUP_ID or `[remediation] security_group_id`".into()))?;
            let default = is_default_env(ctx, target).await?;
            security_group_step(ctx, cfg, target, "", default, group, why).await?
        }
        "PPG-ACT-002" => {
            plan_step(
                ctx,
                meta.id,
                env_target(target, ""),
                act_002::desired(),
                why,
                vec![],
            )
            .await?
        }
        "PPG-ACT-003" => {
            plan_step(
                ctx,
                meta.id,
                tenant_target(tenant_id),
                act_003::desired(),
                why,
                vec![],
            )
            .await?
        }
        "PPG-ACT-004" => {
            let change = match value.unwrap_or("developer") {
                "managed" => act_004::managed_only(),
                "developer" => {
                    let doc = actions::env_doc(ctx, target).await?;
                    act_004::developer_preset(&doc, DEFAULT_MAX_SHARE_USERS)
                }
                other => {
                    return Err(ActError::Invalid(format!(
                        "PPG-ACT-004 --value is `developer` (the routing preset) or `managed` (managed, settings kept), not `{other}`"
                    )));
                }
            };
            plan_step(ctx, meta.id, env_target(target, ""), change, why, vec![]).await?
        }
        "PPG-ACT-006" => {
            let (pointer, v) = value
                .and_then(|v| v.split_once('='))
                .ok_or_else(|| ActError::Invalid("PPG-ACT-006 needs --value /json/pointer=VALUE (VALUE as JSON: true, 3, \"text\")".into()))?;
            let v: Value = serde_json::from_str(v).unwrap_or_else(|_| Value::from(v));
            let mut m = serde_json::Map::new();
            m.insert(pointer.to_string(), v);
            plan_step(
                ctx,
                meta.id,
                tenant_target(tenant_id),
                Value::Object(m),
                why,
                vec![],
            )
            .await?
        }
        "PPG-ACT-007" => {
            let (env, flow) = target.split_once('/').ok_or_else(|| {
                ActError::Invalid("PPG-ACT-007 --target is ENVIRONMENT/FLOW".into())
            })?;
            let stop = !matches!(value, Some("enable" | "start" | "Started"));
            let t = Target {
                kind: "flow".into(),
                id: flow.into(),
                environment: Some(env.into()),
                name: String::new(),
            };
            plan_step(ctx, meta.id, t, act_007::desired(stop), why, vec![]).await?
        }
        "PPG-ACT-008" => {
            let owner = value.or(cfg.orphan_owner.as_deref()).ok_or_else(|| {
                ActError::Invalid(
                    "PPG-ACT-008 needs the new co-owner: --value OBJECT_ID or `[remediation] orphan_owner`"
                        .into(),
                )
            })?;
            let resource = crate::reassign::parse_resource(target)?;
            let kind = crate::reassign::principal_kind(ctx, owner).await?;
            crate::reassign::co_owner_step(ctx, &resource, owner, &kind, why).await?
        }
        "PPG-ACT-010" => {
            let (env, conn) = target
                .split_once('/')
                .filter(|(e, c)| !e.is_empty() && !c.is_empty())
                .ok_or_else(|| {
                    ActError::Invalid("PPG-ACT-010 --target is ENVIRONMENT/CONNECTION".into())
                })?;
            crate::reassign::remove_connection_step(ctx, env, conn, "", why).await?
        }
        other => {
            return Err(ActError::Unplannable {
                action: other.into(),
                reason: "use its own command (`ppgov roles remove`, `ppgov elevate`)".into(),
            });
        }
    };
    match step {
        Some(s) => out.steps.push(s),
        None => out.notes.push(format!(
            "{target} is already in the desired state; nothing to plan"
        )),
    }
    Ok(out)
}

/// The undo of an apply, from the journal's before-states of its completed steps (latest first).
pub fn revert_steps(entries: &[ppgov_store::JournalEntry]) -> Planned {
    let mut out = Planned::default();
    for e in entries.iter().rev() {
        if e.entry.phase != ppgov_store::JournalPhase::Done
            || e.entry.action == crate::APPROVE_ACTION
        {
            continue;
        }
        let (Some(before), Some(after)) = (&e.entry.before, &e.entry.after) else {
            continue;
        };
        if same(before, after) {
            continue;
        }
        let meta = crate::action::meta(&e.entry.action);
        if meta.map(|m| m.undo) == Some(crate::action::Reversibility::NotReversible)
            || (e.entry.action == actions::act_009::META.id && actions::act_009::is_delete(before))
        {
            out.notes.push(format!(
                "step {} ({} on {}) is not reversible",
                e.entry.step, e.entry.action, e.entry.target
            ));
            continue;
        }
        let Ok(target) = serde_json::from_str::<Target>(&e.entry.target) else {
            out.notes.push(format!(
                "step {}: the journal's target `{}` is not readable",
                e.entry.step, e.entry.target
            ));
            continue;
        };
        out.push_unique(Some(Step {
            index: 0,
            action: e.entry.action.clone(),
            target,
            expected: after.clone(),
            change: before.clone(),
            why: format!("revert of apply {} step {}", e.entry.apply_id, e.entry.step),
            undo: Undo::Restore {
                state: after.clone(),
            },
            warnings: vec![],
            grace: None,
        }));
    }
    out
}
