//! The presets `ppgov plan --preset` composes. `lockdown-default-env` is seed 000 (the security
//! group with its opt-in, solutions by default, a strict DLP policy for the default environment)
//! and seed 001 (routing with its prerequisite, and the managed developer preset on every
//! developer environment). Every step is read live, so a tenant already locked down plans none.

use crate::ActError;
use crate::actions::{Ctx, act_002, act_003, act_004, act_005};
use crate::plan::Target;
use crate::planner::{Planned, env_target, plan_step, security_group_step, tenant_target};
use futures::TryStreamExt;
use ppgov_config::RemediationConfig;
use serde_json::Value;
use std::collections::BTreeSet;

/// What the lockdown preset takes from the posture configuration.
#[derive(Debug, Clone, Copy)]
pub struct LockdownInputs<'a> {
    /// The connectors the default environment keeps (`[posture.connectors] default_env_core`).
    pub core: &'a [String],
    /// Users one share may reach in a developer environment
    /// (`[posture.thresholds] developer_env_max_share_users`).
    pub max_share_users: i64,
}

async fn environments(ctx: &Ctx) -> Result<Vec<Value>, ActError> {
    ctx.clients
        .bap
        .list_environments(&[])
        .try_collect()
        .await
        .map_err(ActError::client("listing environments"))
}

fn names(e: &Value) -> (String, String) {
    (
        e.get("name")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string(),
        e.pointer("/properties/displayName")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string(),
    )
}

/// The default environment's name and display name.
pub async fn default_environment(ctx: &Ctx) -> Result<(String, String), ActError> {
    environments(ctx)
        .await?
        .iter()
        .find(|e| crate::actions::is_default_env(e))
        .map(names)
        .ok_or_else(|| ActError::Invalid("the tenant has no default environment".into()))
}

/// `--preset lockdown-default-env`: seed 000 (security group with opt-in, solutions by default,
/// a strict DLP policy for the default environment that allows only `core`, the
/// `[posture.connectors] default_env_core` list) and seed 001 (routing with its prerequisite).
pub async fn lockdown_default_env(
    ctx: &Ctx,
    cfg: &RemediationConfig,
    tenant_id: &str,
    inputs: LockdownInputs<'_>,
) -> Result<Planned, ActError> {
    let mut out = Planned::default();
    let envs = environments(ctx).await?;
    let (env, name) = envs
        .iter()
        .find(|e| crate::actions::is_default_env(e))
        .map(names)
        .ok_or_else(|| ActError::Invalid("the tenant has no default environment".into()))?;
    match cfg.security_group_id.as_deref() {
        Some(group) => {
            let s = security_group_step(ctx, cfg, &env, &name, true, group, "preset lockdown-default-env (seed 000): only the security group's members use the default environment".into()).await?;
            out.push_unique(s);
        }
        None => {
            return Err(ActError::Invalid("the lockdown preset assigns a security group to the default environment; set `[remediation] security_group_id` (and `allow_unsupported = true`) in ppgov.toml".into()));
        }
    }
    let s = plan_step(
        ctx,
        act_002::META.id,
        env_target(&env, &name),
        act_002::desired(),
        "preset lockdown-default-env (seed 000): new canvas apps and flows go into solutions"
            .into(),
        vec![],
    )
    .await?;
    out.push_unique(s);
    let s = strict_dlp_step(ctx, &env, inputs.core).await?;
    out.push_unique(s);
    let s = plan_step(ctx, act_003::META.id, tenant_target(tenant_id), act_003::desired(), "preset lockdown-default-env (seed 001): makers are routed to their own developer environments".into(), vec![]).await?;
    out.push_unique(s);
    for e in envs.iter().filter(|e| {
        e.pointer("/properties/environmentSku")
            .and_then(Value::as_str)
            .is_some_and(|s| s.eq_ignore_ascii_case("Developer"))
    }) {
        let (id, display) = names(e);
        let doc = crate::actions::env_doc(ctx, &id).await?;
        let s = plan_step(
            ctx,
            act_004::META.id,
            env_target(&id, &display),
            act_004::developer_preset(&doc, inputs.max_share_users),
            "preset lockdown-default-env (seed 001): developer environments are managed, share with at most a few users and run the solution checker".into(),
            vec![],
        )
        .await?;
        out.push_unique(s);
    }
    Ok(out)
}

/// The strict default-environment DLP policy step (PPG-ACT-005): every connector any applicable
/// policy lists, other than `core` and the unblockable ones, blocked; read live.
async fn strict_dlp_step(
    ctx: &Ctx,
    env: &str,
    core: &[String],
) -> Result<Option<crate::plan::Step>, ActError> {
    let list: Vec<Value> = ctx
        .clients
        .dlp
        .list_policies_v2()
        .try_collect()
        .await
        .map_err(ActError::client("listing DLP policies"))?;
    let mut listed = BTreeSet::new();
    for item in &list {
        let Some(name) = item
            .pointer("/policyDefinition/name")
            .and_then(Value::as_str)
        else {
            continue;
        };
        let doc: Value = ctx
            .clients
            .dlp
            .get_policy_v2(name)
            .await
            .map_err(ActError::client(format!("reading DLP policy {name}")))?;
        if !act_005::applies_to(&doc, env) {
            continue;
        }
        let state = act_005::state_of(&doc);
        for g in ["business", "non_business", "blocked"] {
            listed.extend(
                state[g]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter_map(Value::as_str)
                    .map(str::to_string),
            );
        }
    }
    let unblockable: Vec<Value> = ctx
        .clients
        .dlp
        .unblockable_connectors()
        .await
        .map_err(ActError::client("reading the unblockable connectors"))?;
    let unblockable: BTreeSet<String> = unblockable
        .iter()
        .filter(|e| e.pointer("/metadata/unblockable").and_then(Value::as_bool) != Some(false))
        .filter_map(|e| e.get("id").and_then(Value::as_str))
        .map(ppgov_core::connector_key)
        .collect();
    let target = Target {
        kind: "dlp_policy".into(),
        id: act_005::STRICT_NAME.into(),
        environment: None,
        name: act_005::STRICT_NAME.into(),
    };
    plan_step(
        ctx,
        act_005::META.id,
        target,
        act_005::strict_default_env(env, core, &listed, &unblockable),
        "preset lockdown-default-env (seed 000): the default environment's DLP allows only the core connectors".into(),
        vec![act_005::STRICT_WARNING.into()],
    )
    .await
}
