//! `apply --due`: the steps that fell due (just-in-time elevation expiries, grace periods ended),
//! each applied as its own plan, for the CLI and for `ppgov serve`'s `due` job alike.

use crate::{ActError, Admission, ApplyOptions, ApplyReport, Ctx, Plan, admit, recorded_approvals};
use chrono::{DateTime, Utc};
use ppgov_config::Config;
use ppgov_store::Records;

/// What one run of the due steps did.
#[derive(Debug, Default)]
pub struct DueRun {
    /// Each due action applied: its id and the apply report.
    pub applied: Vec<(i64, ApplyReport)>,
}

impl DueRun {
    /// True when at least one due action failed (it stays due and runs again next time).
    pub fn failed(&self) -> bool {
        self.applied.iter().any(|(_, r)| r.failed())
    }
}

/// The due actions of `config`'s tenant at `now`, each parsed and admitted. A due plan ends an
/// elevation ppgov made, or carries out a step whose plan was admitted (and approved) when its
/// notice went out: its age counts from when it fell due, and it needs no new approval.
pub fn admitted(
    config: &Config,
    store: &dyn Records,
    now: DateTime<Utc>,
) -> Result<Vec<(i64, Plan)>, ActError> {
    let due = store.due_actions(&config.tenant.id, Some(now))?;
    let mut plans = Vec::new();
    for d in &due {
        let plan = Plan::parse(&d.plan)
            .map_err(|e| ActError::CorruptPlan(format!("due action {}: {e}", d.id)))?;
        let recorded = recorded_approvals(store, &plan)?;
        admit(
            &plan,
            &Admission {
                tenant_id: &config.tenant.id,
                max_age_hours: config.remediation.max_plan_age_hours,
                require_approval: false,
                recorded_approvals: &recorded,
                now: plan.created_at + (now - d.due_at),
            },
        )?;
        plans.push((d.id, plan));
    }
    Ok(plans)
}

/// Applies every action due at `now` (see [`admitted`]) with the tenant's records `store`; one
/// that succeeds is marked done, one that fails stays due.
pub async fn run(
    config: &Config,
    clients: &ppgov_client::Clients,
    opts: ApplyOptions,
    now: DateTime<Utc>,
    mut store: Box<dyn Records>,
) -> Result<DueRun, ActError> {
    let mut out = DueRun::default();
    for (id, plan) in admitted(config, store.as_ref(), now)? {
        let (report, mut back) =
            crate::apply(Ctx::new(clients.clone()), store, plan, opts.clone()).await?;
        if !report.failed() {
            back.finish_due_action(id, &report.apply_id)?;
        }
        store = back;
        out.applied.push((id, report));
    }
    Ok(out)
}
