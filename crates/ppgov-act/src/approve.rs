//! Four eyes: an approval records the approver's signed-in identity and the plan digest, in the
//! store's hash-chained journal (authoritative) and in the plan file (for the reader).

use crate::ActError;
use crate::plan::{Approval, Identity, Plan};
use ppgov_store::{JournalPhase, NewJournalEntry, Records};

/// The journal's action name for approvals.
pub const APPROVE_ACTION: &str = "approve";

/// Records `approver`'s approval of `plan`; refuses the plan's own author.
pub fn approve(
    store: &mut dyn Records,
    plan: &mut Plan,
    approver: &Identity,
) -> Result<Approval, ActError> {
    if approver.same_as(&plan.author) {
        return Err(ActError::SelfApproved {
            author: plan.author.to_string(),
        });
    }
    if !approver.tenant.is_empty() && !approver.tenant.eq_ignore_ascii_case(&plan.tenant_id) {
        return Err(ActError::OtherTenant {
            plan: plan.tenant_id.clone(),
            configured: approver.tenant.clone(),
        });
    }
    let entry = store.append_journal(&NewJournalEntry {
        tenant_id: plan.tenant_id.clone(),
        actor: approver.to_actor(),
        apply_id: format!("approval:{}", uuid::Uuid::new_v4()),
        plan_id: plan.id.clone(),
        plan_digest: plan.digest.clone(),
        step: 0,
        action: APPROVE_ACTION.into(),
        target: format!("plan {}", plan.id),
        phase: JournalPhase::Done,
        request_id: None,
        before: None,
        after: None,
        result: format!("approved by {approver}"),
    })?;
    let approval = Approval {
        approver: approver.clone(),
        at: entry.at,
        digest: plan.digest.clone(),
    };
    plan.approvals.push(approval.clone());
    Ok(approval)
}

/// The identities that approved this digest, as the journal records them.
pub fn recorded_approvals(store: &dyn Records, plan: &Plan) -> Result<Vec<Identity>, ActError> {
    Ok(store
        .journal_for_plan(&plan.digest)?
        .into_iter()
        .filter(|e| e.entry.action == APPROVE_ACTION && e.entry.phase == JournalPhase::Done)
        .map(|e| Identity::from_actor(&e.entry.actor, &e.entry.tenant_id))
        .collect())
}
