//! Planning PPG-ACT-009 from PPG-DEF-006 findings: the maker is resolved to an address now, so
//! the plan shows who will be told, and the step carries the notice and grace period.

use crate::ActError;
use crate::actions::{Ctx, act_009};
use crate::plan::{Grace, Step, Target, Undo};
use crate::planner::plan_step;
use ppgov_client::UserLookup;
use ppgov_config::{CleanupMode, RemediationConfig};
use ppgov_core::{Finding, ResourceKind};
use serde_json::Value;

/// The maker's address (mail, else user principal name) from Graph; `None` when Entra has no
/// such user or no address.
async fn address_of(ctx: &Ctx, maker: &str) -> Result<Option<String>, ActError> {
    let found: UserLookup<Value> = ctx
        .clients
        .graph
        .get_user(maker, "id,mail,userPrincipalName")
        .await
        .map_err(ActError::client(format!("reading user {maker} from Graph")))?;
    Ok(match found {
        UserLookup::Found(u) => crate::notices::address_of(&u),
        _ => None,
    })
}

/// The ACT-009 step for one PPG-DEF-006 finding, or why it is not planned.
pub async fn step_for(
    ctx: &Ctx,
    cfg: &RemediationConfig,
    f: &Finding,
    why: String,
) -> Result<Result<Option<Step>, String>, ActError> {
    let Some(mode) = cfg.default_env_cleanup else {
        return Ok(Err("set `[remediation] default_env_cleanup` to `quarantine` or `delete` to clean up after notice".into()));
    };
    if cfg.grace_period_hours < 0 {
        return Ok(Err(format!(
            "`[remediation] grace_period_hours` is {}; it must be 0 or more",
            cfg.grace_period_hours
        )));
    }
    let kind = match f.resource.kind {
        ResourceKind::App => "app",
        ResourceKind::Flow => "flow",
        other => {
            return Ok(Err(format!(
                "PPG-ACT-009 acts on apps and flows, not a {}",
                other.as_str()
            )));
        }
    };
    let Some(env) = f.resource.environment_id.clone() else {
        return Ok(Err("the finding names no environment".into()));
    };
    let Some(maker) = f.evidence.get("maker").and_then(Value::as_str) else {
        return Ok(Err("the finding names no maker to tell".into()));
    };
    let Some(address) = address_of(ctx, maker).await? else {
        return Ok(Err(format!(
            "its maker {maker} has no address in Entra, so nobody can be told before it is cleaned up"
        )));
    };
    let delete = mode == CleanupMode::Delete;
    let target = Target {
        kind: kind.into(),
        id: f.resource.id.clone(),
        environment: Some(env),
        name: f.resource.name.clone(),
    };
    let mut warnings = vec![];
    if delete {
        warnings.push(format!(
            "deletes the {kind} after the grace period; a delete cannot be undone"
        ));
    }
    let step = plan_step(
        ctx,
        act_009::META.id,
        target,
        act_009::desired(kind, delete),
        why,
        warnings,
    )
    .await?;
    Ok(Ok(step.map(|mut s| {
        if delete {
            s.undo = Undo::NotReversible {
                reason: "a deleted app or flow cannot be restored by ppgov".into(),
            };
        }
        s.grace = Some(Grace {
            recipients: vec![address],
            period_hours: cfg.grace_period_hours,
            rule_id: f.rule_id.clone(),
            message: f.message.clone(),
            noticed_at: None,
        });
        s
    })))
}
