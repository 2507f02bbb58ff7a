//! An approved connector request (the console's workflow, seed 002) as a plan: PPG-ACT-005
//! steps that let the connector be used in the environment, and the apply of that plan once
//! someone other than its author approved it.
//!
//! Every live DLP policy whose scope covers the environment and keeps the connector out of the
//! group the data needs (Business for Internal, Confidential and Highly Confidential data;
//! Non-Business for Public data) gets one step: the policy as it is, with the connector moved
//! into that group. A policy that already has it there gets none. The steps re-read each policy
//! before writing and skip it when it drifted, as every ACT-005 step does.

use crate::ActError;
use crate::actions::{Ctx, act_005};
use crate::apply::{ApplyOptions, ApplyReport};
use crate::plan::{Admission, Plan, Target};
use crate::planner::{Planned, plan_step};
use futures::TryStreamExt;
use ppgov_config::Config;
use ppgov_core::connector_key;
use ppgov_store::Records;
use serde_json::Value;

/// The data classifications a request names, as seed 002 lists them.
pub const CLASSIFICATIONS: [&str; 4] =
    ["Public", "Internal", "Confidential", "Highly Confidential"];

/// The ACT-005 group (`business`, `non_business`) data of this classification needs.
pub fn group_for(classification: &str) -> &'static str {
    if classification.eq_ignore_ascii_case("public") {
        "non_business"
    } else {
        "business"
    }
}

fn names(state: &Value, group: &str) -> Vec<String> {
    state[group]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .map(str::to_string)
        .collect()
}

/// The ACT-005 state `state` with `connector` moved into `group`; `None` when it is there
/// already (listed, or unlisted and the default group is that group).
pub fn with_connector(state: &Value, connector: &str, group: &str) -> Option<Value> {
    let key = connector_key(connector);
    let listed = ["business", "non_business", "blocked"]
        .into_iter()
        .find(|g| names(state, g).contains(&key));
    let default = match state["default_group"].as_str() {
        Some("Confidential") => "business",
        Some("Blocked") => "blocked",
        _ => "non_business",
    };
    if listed.unwrap_or(default) == group {
        return None;
    }
    let mut out = state.clone();
    for g in ["business", "non_business", "blocked"] {
        let mut list: Vec<String> = names(state, g).into_iter().filter(|k| *k != key).collect();
        if g == group {
            list.push(key.clone());
        }
        list.sort();
        out[g] = Value::from(list);
    }
    Some(out)
}

/// The steps that allow `connector` in `environment` for data of `classification`.
pub async fn allow_connector(
    ctx: &Ctx,
    environment: &str,
    connector: &str,
    classification: &str,
    why: &str,
) -> Result<Planned, ActError> {
    let group = group_for(classification);
    let list: Vec<Value> = ctx
        .clients
        .dlp
        .list_policies_v2()
        .try_collect()
        .await
        .map_err(ActError::client("listing DLP policies"))?;
    let mut out = Planned::default();
    for p in &list {
        let Some(name) = p.pointer("/policyDefinition/name").and_then(Value::as_str) else {
            continue;
        };
        let doc: Value = ctx
            .clients
            .dlp
            .get_policy_v2(name)
            .await
            .map_err(ActError::client(format!("reading DLP policy {name}")))?;
        if !act_005::applies_to(&doc, environment) {
            continue;
        }
        let state = act_005::state_of(&doc);
        let display = state["display_name"].as_str().unwrap_or(name).to_string();
        let Some(want) = with_connector(&state, connector, group) else {
            out.notes.push(format!(
                "DLP policy '{display}' already puts {connector} in {group}"
            ));
            continue;
        };
        let target = Target {
            kind: "dlp_policy".into(),
            id: display.clone(),
            environment: None,
            name: display.clone(),
        };
        let warning = format!(
            "{connector} becomes usable with {group} connectors in every environment policy '{display}' covers, not only {environment}; review the scope before approving"
        );
        let step = plan_step(
            ctx,
            act_005::META.id,
            target,
            want,
            why.to_string(),
            vec![warning],
        )
        .await?;
        out.push_unique(step);
    }
    if out.steps.is_empty() && out.notes.is_empty() {
        out.notes.push(format!(
            "no DLP policy covers environment {environment}: nothing keeps {connector} from being used"
        ));
    }
    Ok(out)
}

/// Applies a plan drafted from a request: refused unless someone other than its author
/// approved it (recorded in the store's journal), whatever `[remediation] require_approval`
/// says, and unless it is for this tenant and young enough.
pub async fn apply_approved(
    ctx: Ctx,
    config: &Config,
    store: Box<dyn Records>,
    plan: Plan,
    opts: ApplyOptions,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<(ApplyReport, Box<dyn Records>), ActError> {
    let recorded = crate::recorded_approvals(store.as_ref(), &plan)?;
    crate::admit(
        &plan,
        &Admission {
            tenant_id: &config.tenant.id,
            max_age_hours: config.remediation.max_plan_age_hours,
            require_approval: true,
            recorded_approvals: &recorded,
            now,
        },
    )?;
    crate::apply(ctx, store, plan, opts).await
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn state(default: &str) -> Value {
        json!({"exists": true, "display_name": "p", "default_group": default,
               "business": ["shared_sharepointonline"], "non_business": ["shared_twitter"],
               "blocked": ["shared_gmail"]})
    }

    #[test]
    fn the_connector_moves_into_the_group_its_data_needs() {
        let s = state("General");
        let want = with_connector(&s, "shared_gmail", "business").unwrap();
        assert_eq!(
            want["business"],
            json!(["shared_gmail", "shared_sharepointonline"])
        );
        assert_eq!(want["blocked"], json!([]));
        assert_eq!(want["non_business"], json!(["shared_twitter"]));
        assert!(with_connector(&s, "shared_twitter", "non_business").is_none());
        // Unlisted, default group General: already non-business, needs a move for business.
        assert!(with_connector(&s, "shared_x", "non_business").is_none());
        let want = with_connector(
            &state("Blocked"),
            "/providers/Microsoft.PowerApps/apis/shared_x",
            "non_business",
        )
        .unwrap();
        assert_eq!(want["non_business"], json!(["shared_twitter", "shared_x"]));
        assert_eq!(group_for("Public"), "non_business");
        assert_eq!(group_for("Highly Confidential"), "business");
    }
}
