//! Notice first, act later (PPG-ACT-009 with PPG-ACT-013): the first apply of a step with a
//! [`Grace`] tells its recipients, records the step as a due action `period_hours` later (the
//! notice time is the due plan's `noticed_at` and the due action's creation time in the store),
//! and journals the notice as the step's completion, so a rerun of the plan never tells anyone
//! twice. `apply --due` applies the due plan, whose step acts because its notice went out.
//!
//! A notice that was not delivered to every sink fails the step: nothing is scheduled, and the
//! next apply tries again. A crash after the notice went out and before it was journaled sends
//! it again on the rerun: ppgov prefers a repeated notice to acting on a resource nobody was
//! told about.

use crate::ActError;
use crate::apply::{Pre, Shared, StepOutcome, StepResult, failed_journaled, precheck, result};
use crate::plan::{Grace, Plan, Step};
use chrono::{DateTime, Duration, Utc};
use ppgov_core::Severity;
use ppgov_notify::{Notice, NoticeFinding, NoticeResource, Role, build_digests, normalise_address};
use ppgov_store::JournalPhase;
use serde_json::{Value, json};
use std::collections::BTreeMap;

/// What the maker is asked to do, and what happens otherwise.
fn action_text(step: &Step, due: &str) -> String {
    let then = if crate::actions::act_009::is_delete(&step.change) {
        "it will be deleted"
    } else if step.target.kind == "app" {
        "it will be quarantined (nobody but you can launch it)"
    } else {
        "it will be turned off"
    };
    format!(
        "By {due}, move '{}' to your own environment or ask IT to add you to the approved makers; after that {then}.",
        if step.target.name.is_empty() {
            &step.target.id
        } else {
            &step.target.name
        }
    )
}

fn notices(step: &Step, grace: &Grace, due: DateTime<Utc>) -> Vec<Notice> {
    let resource = NoticeResource {
        kind: step.target.kind.clone(),
        id: step.target.id.clone(),
        name: step.target.name.clone(),
        environment: step.target.environment.clone(),
    };
    let finding = NoticeFinding {
        rule_id: grace.rule_id.clone(),
        title: grace.message.clone(),
        severity: Severity::Medium,
    };
    let action = action_text(step, &due.format("%Y-%m-%d %H:%M UTC").to_string());
    grace
        .recipients
        .iter()
        .map(|r| Notice {
            role: Role::Maker,
            recipient: r.clone(),
            resource: resource.clone(),
            findings: vec![finding.clone()],
            action: action.clone(),
            due: Some(due.date_naive()),
        })
        .collect()
}

/// Whether a step still has to tell people before it acts.
pub(crate) fn pending(step: &Step) -> bool {
    step.grace.as_ref().is_some_and(|g| g.noticed_at.is_none())
}

/// Whether applying `plan` tells people first (PPG-ACT-009 steps not yet noticed): its apply
/// then needs a notifier in [`crate::ApplyOptions`], or those steps fail.
pub fn tells_first(plan: &crate::Plan) -> bool {
    plan.steps.iter().any(pending)
}

/// Notices every pending step of `idx` together (one digest per recipient) and schedules each
/// step whose recipients were all reached.
pub(crate) async fn notice_all(shared: &Shared, idx: &[usize]) -> Vec<(usize, StepResult)> {
    let mut out = Vec::new();
    let mut ready: Vec<(usize, &Step, &Grace, Value)> = Vec::new();
    for &i in idx {
        let step = &shared.plan.steps[i];
        let Some(grace) = step.grace.as_ref() else {
            continue;
        };
        match precheck(shared, step).await {
            Ok(Pre::Finished(outcome, detail)) => out.push((i, result(step, outcome, detail))),
            Ok(Pre::Ready(before)) => ready.push((i, step, grace, before.state)),
            Err(e) => out.push((i, failed_journaled(shared, step, e))),
        }
    }
    if ready.is_empty() {
        return out;
    }
    let notifier = match shared
        .opts
        .notifier
        .as_ref()
        .filter(|n| !n.sinks().is_empty())
    {
        Some(n) => n,
        None => {
            for (i, step, grace, _) in ready {
                let e = ActError::Invalid(format!(
                    "{} tells {} before it acts, and no notification sink is configured; add [notify.smtp] or [[notify.webhooks]] to ppgov.toml",
                    step.action,
                    grace.recipients.join(", ")
                ));
                out.push((i, failed_journaled(shared, step, e)));
            }
            return out;
        }
    };
    let now = Utc::now();
    let due_of = |g: &Grace| now + Duration::hours(g.period_hours.max(0));
    let all: Vec<Notice> = ready
        .iter()
        .flat_map(|(_, step, grace, _)| notices(step, grace, due_of(grace)))
        .collect();
    let outcomes = notifier.send_all(&build_digests(all)).await;
    let mut failures: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for o in &outcomes {
        if let Err(e) = &o.result {
            failures
                .entry(normalise_address(&o.recipient))
                .or_default()
                .push(format!("{} via {}: {e}", o.recipient, o.sink));
        }
    }
    for (i, step, grace, state) in ready {
        let failed: Vec<&String> = grace
            .recipients
            .iter()
            .filter_map(|r| failures.get(&normalise_address(r)))
            .flatten()
            .collect();
        let r = if failed.is_empty() {
            schedule(shared, step, grace, state, now, due_of(grace))
        } else {
            let why = format!(
                "the notice was not delivered ({}); nothing is scheduled, apply again to retry",
                failed
                    .iter()
                    .map(|s| s.as_str())
                    .collect::<Vec<_>>()
                    .join("; ")
            );
            shared
                .journal(step, JournalPhase::Failed, None, Some(state), None, &why)
                .map(|_| (StepOutcome::Failed, why))
        };
        out.push((
            i,
            match r {
                Ok((outcome, detail)) => result(step, outcome, detail),
                Err(e) => failed_journaled(shared, step, e),
            },
        ));
    }
    out
}

/// Records the step as due at `due` (its notice went out at `now`) and journals the notice.
fn schedule(
    shared: &Shared,
    step: &Step,
    grace: &Grace,
    state: Value,
    now: DateTime<Utc>,
    due: DateTime<Utc>,
) -> Result<(StepOutcome, String), ActError> {
    let mut later = step.clone();
    if let Some(g) = later.grace.as_mut() {
        g.noticed_at = Some(now);
    }
    let plan = Plan::new(
        &shared.plan.tenant_id,
        shared.plan.author.clone(),
        &format!(
            "grace period of plan {} step {} ({} told {})",
            shared.plan.id,
            step.index,
            grace.recipients.join(", "),
            now.to_rfc3339()
        ),
        vec![later],
    )?;
    let due_id = {
        let mut store = shared.store.lock().map_err(|_| {
            ActError::Invalid("the store lock was poisoned by an earlier failure".into())
        })?;
        store.add_due_action(
            &shared.plan.tenant_id,
            due,
            &format!("{} on {} after notice", step.action, step.target),
            &plan.to_json()?,
        )?
    };
    let why = format!(
        "told {}; acts at {} (due action {due_id}, `ppgov apply --due`)",
        grace.recipients.join(", "),
        due.to_rfc3339()
    );
    shared.journal(
        step,
        JournalPhase::Done,
        None,
        Some(state.clone()),
        Some(json!({ "noticed_at": now, "due_at": due, "due_action": due_id, "state": state })),
        &why,
    )?;
    tracing::info!(step = step.index, action = %step.action, target = %step.target, due = %due, "noticed");
    Ok((StepOutcome::Noticed, why))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::plan::{Target, Undo};

    fn step(kind: &str, change: Value) -> Step {
        Step {
            index: 1,
            action: "PPG-ACT-009".into(),
            target: Target {
                kind: kind.into(),
                id: "x1".into(),
                environment: Some("Default-t".into()),
                name: "Payroll <export>".into(),
            },
            expected: Value::Null,
            change,
            why: String::new(),
            undo: Undo::Restore { state: Value::Null },
            warnings: vec![],
            grace: None,
        }
    }

    #[test]
    fn the_notice_says_what_happens_and_when() {
        let g = Grace {
            recipients: vec!["ada@contoso.example".into()],
            period_hours: 48,
            rule_id: "PPG-DEF-006".into(),
            message: "made outside the group".into(),
            noticed_at: None,
        };
        let due = Utc::now() + Duration::hours(48);
        let n = notices(
            &step("app", json!({"quarantineStatus": "Quarantined"})),
            &g,
            due,
        );
        assert_eq!(n.len(), 1);
        assert_eq!(n[0].recipient, "ada@contoso.example");
        assert_eq!(n[0].due, Some(due.date_naive()));
        assert!(n[0].action.contains("quarantined"), "{}", n[0].action);
        let n = notices(&step("flow", json!({"exists": false})), &g, due);
        assert!(n[0].action.contains("deleted"), "{}", n[0].action);
        let n = notices(&step("flow", json!({"state": "Stopped"})), &g, due);
        assert!(n[0].action.contains("turned off"), "{}", n[0].action);
    }
}
