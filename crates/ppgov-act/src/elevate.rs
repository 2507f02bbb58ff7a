//! `ppgov elevate` (PPG-ACT-012, seed 003): `applyAdminRole` as the signed-in admin, journaled;
//! with `--for`, the removal at expiry is recorded as a due plan that `ppgov apply --due` runs.

use crate::ActError;
use crate::actions::{Ctx, act_011, act_012};
use crate::plan::{Identity, Plan, Step, Target, Undo};
use ppgov_config::AuthMethod;
use ppgov_store::{JournalPhase, NewJournalEntry, Records};
use serde::Serialize;
use serde_json::{Value, json};

/// The api-versions accepted: the documented preview (seed 003) and the GA version.
pub const API_VERSIONS: &[&str] = &["2022-03-01-preview", "2022-03-01"];

/// Refuses app-only sign-ins before any call: `applyAdminRole` elevates the caller itself.
pub fn require_delegated(method: AuthMethod) -> Result<(), ActError> {
    match method {
        AuthMethod::Password | AuthMethod::DeviceCode => Ok(()),
        AuthMethod::ClientSecret | AuthMethod::Certificate => Err(ActError::Invalid(format!(
            "`ppgov elevate` needs a delegated sign-in: applyAdminRole makes the signed-in user System Administrator and cannot act for an application; this configuration signs in as an app ({}); hint: sign in as the admin (`[auth] method = \"device_code\"` or `\"password\"`)",
            method.as_str()
        ))),
    }
}

/// What the service said.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ElevateOutcome {
    /// HTTP status.
    pub status: u16,
    /// The `Code`s of `information` (`UserExists`, ...); empty for an empty body.
    pub codes: Vec<String>,
    /// The decoded `Description` lines.
    pub information: Vec<String>,
    /// The request id.
    pub request_id: String,
}

/// Parses an applyAdminRole answer: an empty body is success; `errors` must be empty.
pub fn parse_answer(
    status: u16,
    body: &[u8],
    request_id: &str,
) -> Result<ElevateOutcome, ActError> {
    let mut out = ElevateOutcome {
        status,
        codes: vec![],
        information: vec![],
        request_id: request_id.into(),
    };
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(out);
    }
    let v: Value = serde_json::from_slice(body).map_err(|e| {
        ActError::Invalid(format!(
            "applyAdminRole answered {status} with a body that is not JSON ({e})"
        ))
    })?;
    if let Some(errs) = v
        .get("errors")
        .and_then(Value::as_array)
        .filter(|a| !a.is_empty())
    {
        return Err(ActError::Invalid(format!(
            "applyAdminRole reported errors: {}",
            Value::Array(errs.clone())
        )));
    }
    for info in v
        .get("information")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        if let Some(c) = info
            .get("Code")
            .or_else(|| info.get("code"))
            .and_then(Value::as_str)
        {
            out.codes.push(c.to_string());
        }
        let desc = info
            .get("Description")
            .or_else(|| info.get("description"))
            .and_then(Value::as_str)
            .unwrap_or("");
        // `Description` is a JSON-encoded array of strings.
        match serde_json::from_str::<Vec<String>>(desc) {
            Ok(lines) => out.information.extend(lines),
            Err(_) if !desc.is_empty() => out.information.push(desc.to_string()),
            Err(_) => {}
        }
    }
    Ok(out)
}

/// The result of `elevate`.
#[derive(Debug, Clone, Serialize)]
pub struct Elevation {
    /// The journal's apply id.
    pub apply_id: String,
    /// The answer.
    pub outcome: ElevateOutcome,
    /// Whether the user held the role before (then nothing is removed at expiry).
    pub held_before: Option<bool>,
    /// The due action recorded for the removal, when `--for` was given.
    pub due_id: Option<i64>,
    /// Notes for the user.
    pub notes: Vec<String>,
}

/// Elevates `who` in `env`, journals it, and with `until` records the removal due then.
pub async fn elevate(
    ctx: &Ctx,
    store: &mut dyn Records,
    tenant_id: &str,
    who: &Identity,
    env: &str,
    api_version: &str,
    until: Option<chrono::DateTime<chrono::Utc>>,
) -> Result<Elevation, ActError> {
    if !API_VERSIONS.contains(&api_version) {
        return Err(ActError::Invalid(format!(
            "api-version `{api_version}` is not one of {}",
            API_VERSIONS.join(", ")
        )));
    }
    if who.kind != "user" {
        return Err(ActError::Invalid(
            "the token is app-only; applyAdminRole needs the admin's own delegated token".into(),
        ));
    }
    let mut notes = vec![];
    let before = match act_011::holdings(ctx, env, &who.name).await {
        Ok((held, _)) => Some(held),
        Err(e) => {
            notes.push(format!("could not read the role's members before elevating ({e}); the removal at expiry will remove the role whatever was held before"));
            None
        }
    };
    let apply_id = uuid::Uuid::new_v4().to_string();
    let target = Target {
        kind: "role_assignment".into(),
        id: who.name.clone(),
        environment: Some(env.into()),
        name: act_011::SYSTEM_ADMINISTRATOR.into(),
    };
    let target_json = serde_json::to_string(&target).unwrap_or_default();
    let entry =
        |phase, request_id: Option<String>, after: Option<Value>, result: String| NewJournalEntry {
            tenant_id: tenant_id.into(),
            actor: who.to_actor(),
            apply_id: apply_id.clone(),
            plan_id: "elevate".into(),
            plan_digest: format!("elevate:{apply_id}"),
            step: 1,
            action: act_012::META.id.into(),
            target: target_json.clone(),
            phase,
            request_id,
            before: before.as_ref().map(|b| json!({ "roles": b })),
            after,
            result,
        };
    store.append_journal(&entry(
        JournalPhase::Started,
        None,
        None,
        "calling applyAdminRole".into(),
    ))?;
    let resp = ctx
        .clients
        .powerplatform
        .apply_admin_role_at(env, api_version)
        .await;
    let outcome = match resp {
        Ok(r) => parse_answer(r.status, &r.body, &r.request_id),
        Err(e) => Err(ActError::Client {
            context: format!("elevating in environment {env}"),
            source: Box::new(e),
        }),
    };
    let outcome = match outcome {
        Ok(o) => o,
        Err(e) => {
            store.append_journal(&entry(JournalPhase::Failed, None, None, e.to_string()))?;
            return Err(e);
        }
    };
    let after = act_011::holdings(ctx, env, &who.name)
        .await
        .ok()
        .map(|(h, _)| h);
    store.append_journal(&entry(
        JournalPhase::Done,
        Some(outcome.request_id.clone()),
        Some(json!({ "roles": after.clone().unwrap_or_default(), "codes": outcome.codes })),
        format!(
            "elevated ({})",
            if outcome.codes.is_empty() {
                "empty answer".to_string()
            } else {
                outcome.codes.join(", ")
            }
        ),
    ))?;
    let held_before = before.as_ref().map(|b| !b.is_empty());
    let mut due_id = None;
    if let Some(until) = until {
        if held_before == Some(true) {
            notes.push(
                "the role was held before elevating; nothing is scheduled for removal at expiry"
                    .into(),
            );
        } else {
            let held = after.unwrap_or_default();
            let step = Step {
                index: 0,
                action: act_011::META.id.into(),
                target,
                expected: json!({ "roles": held }),
                change: act_011::desired(),
                why: format!("elevation {apply_id} expires at {}", until.to_rfc3339()),
                undo: Undo::Restore {
                    state: json!({ "roles": held }),
                },
                warnings: vec![],
                grace: None,
            };
            let plan = Plan::new(
                tenant_id,
                who.clone(),
                &format!("elevate --for (apply {apply_id})"),
                vec![step],
            )?;
            due_id = Some(store.add_due_action(
                tenant_id,
                until,
                &format!("end of elevation {apply_id} of {who} in {env}"),
                &plan.to_json()?,
            )?);
        }
    }
    Ok(Elevation {
        apply_id,
        outcome,
        held_before,
        due_id,
        notes,
    })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn an_empty_answer_is_success() {
        let o = parse_answer(200, b"", "r1").unwrap();
        assert!(o.codes.is_empty() && o.information.is_empty());
        assert_eq!(parse_answer(204, b"  \n", "r1").unwrap().status, 204);
    }

    #[test]
    fn an_already_admin_answer_is_success_with_its_lines() {
        let body = br#"{"errors":[],"information":[{"Subject":"Result","Description":"[\"SyncMode: Default\",\"SystemUser with Id:11fa, objectId:d111 exists in instance\"]","Code":"UserExists"}]}"#;
        let o = parse_answer(200, body, "r1").unwrap();
        assert_eq!(o.codes, ["UserExists"]);
        assert_eq!(o.information.len(), 2);
        assert!(o.information[1].contains("exists in instance"));
    }

    #[test]
    fn reported_errors_and_garbage_are_failures() {
        let e =
            parse_answer(200, br#"{"errors":[{"Code":"X"}],"information":[]}"#, "r").unwrap_err();
        assert!(e.to_string().contains("reported errors"));
        assert!(parse_answer(200, b"<html>", "r").is_err());
    }

    #[test]
    fn app_only_sign_ins_are_refused_and_delegated_ones_pass() {
        assert!(require_delegated(AuthMethod::Certificate).is_err());
        assert!(require_delegated(AuthMethod::ClientSecret).is_err());
        assert!(require_delegated(AuthMethod::Password).is_ok());
        assert!(require_delegated(AuthMethod::DeviceCode).is_ok());
    }
}
