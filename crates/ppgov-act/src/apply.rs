//! `ppgov apply`: re-read each target, skip what drifted, write with bounded concurrency (one
//! write at a time per resource), poll lifecycle operations, verify each effect, and journal
//! every step ("started" before the write, "done" after), so a rerun after a crash never repeats
//! a side effect.

use crate::ActError;
use crate::actions::{self, Ctx, Observed, same};
use crate::plan::{Plan, Step};
use futures::StreamExt;
use ppgov_store::{JournalEntry, JournalPhase, NewJournalEntry, Store};
use serde::Serialize;
use serde_json::Value;
use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// How an apply runs.
#[derive(Debug, Clone)]
pub struct ApplyOptions {
    /// Most writes at once (different resources; one resource's writes are sequential).
    pub concurrency: usize,
    /// Stop writing after this many changes (the rest are reported as capped).
    pub max_changes: Option<usize>,
    /// Who applies (journaled).
    pub actor: String,
    /// How long to wait for a busy target's running operation before giving up on the step.
    pub busy_wait: Duration,
    /// Pause between re-reads of a busy target.
    pub busy_poll: Duration,
}

impl Default for ApplyOptions {
    fn default() -> Self {
        ApplyOptions {
            concurrency: 4,
            max_changes: None,
            actor: String::new(),
            busy_wait: Duration::from_secs(300),
            busy_poll: Duration::from_secs(2),
        }
    }
}

/// What happened to one step.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum StepOutcome {
    /// Written and verified.
    Applied,
    /// Found in the desired state already; nothing written.
    AlreadyInDesiredState,
    /// Journaled as done by an earlier apply of this plan; not touched.
    AlreadyDone,
    /// The target was neither what the plan expected nor the desired state; nothing written.
    Drifted,
    /// Not written: `--max-changes` reached.
    Capped,
    /// The write or its verification failed.
    Failed,
}

impl StepOutcome {
    /// A short word for tables.
    pub fn as_str(self) -> &'static str {
        match self {
            StepOutcome::Applied => "applied",
            StepOutcome::AlreadyInDesiredState => "already-desired",
            StepOutcome::AlreadyDone => "already-done",
            StepOutcome::Drifted => "drifted",
            StepOutcome::Capped => "capped",
            StepOutcome::Failed => "failed",
        }
    }
}

/// One step's result.
#[derive(Debug, Clone, Serialize)]
pub struct StepResult {
    /// Step number.
    pub index: u32,
    /// Action id.
    pub action: String,
    /// The target, in words.
    pub target: String,
    /// What happened.
    pub outcome: StepOutcome,
    /// Details.
    pub detail: String,
}

/// The whole apply's result.
#[derive(Debug, Clone, Serialize)]
pub struct ApplyReport {
    /// This run's id (for `ppgov revert`).
    pub apply_id: String,
    /// The plan.
    pub plan_id: String,
    /// Its digest.
    pub plan_digest: String,
    /// Per step, in plan order.
    pub steps: Vec<StepResult>,
}

impl ApplyReport {
    /// Whether any step failed.
    pub fn failed(&self) -> bool {
        self.steps.iter().any(|s| s.outcome == StepOutcome::Failed)
    }

    /// Steps with this outcome.
    pub fn count(&self, o: StepOutcome) -> usize {
        self.steps.iter().filter(|s| s.outcome == o).count()
    }

    /// A plain table.
    pub fn to_text(&self) -> String {
        let mut out = format!("apply {} of plan {}\n", self.apply_id, self.plan_id);
        for s in &self.steps {
            out.push_str(&format!(
                "{:>3}  {:<15}  {}  {}: {}\n",
                s.index,
                s.outcome.as_str(),
                s.action,
                s.target,
                s.detail
            ));
        }
        out
    }
}

struct Shared {
    ctx: Ctx,
    store: Mutex<Store>,
    plan: Plan,
    apply_id: String,
    opts: ApplyOptions,
    changes: AtomicUsize,
    last_phase: HashMap<u32, JournalPhase>,
}

impl Shared {
    fn journal(
        &self,
        step: &Step,
        phase: JournalPhase,
        request_id: Option<String>,
        before: Option<Value>,
        after: Option<Value>,
        result: &str,
    ) -> Result<JournalEntry, ActError> {
        let e = NewJournalEntry {
            tenant_id: self.plan.tenant_id.clone(),
            actor: self.opts.actor.clone(),
            apply_id: self.apply_id.clone(),
            plan_id: self.plan.id.clone(),
            plan_digest: self.plan.digest.clone(),
            step: step.index,
            action: step.action.clone(),
            target: serde_json::to_string(&step.target).unwrap_or_else(|_| step.target.to_string()),
            phase,
            request_id: request_id.filter(|r| !r.is_empty()),
            before,
            after,
            result: result.into(),
        };
        let mut store = self.store.lock().map_err(|_| {
            ActError::Invalid("the store lock was poisoned by an earlier failure".into())
        })?;
        Ok(store.append_journal(&e)?)
    }
}

/// The phase each step of a plan last reached in the journal.
pub fn last_phases(store: &Store, digest: &str) -> Result<HashMap<u32, JournalPhase>, ActError> {
    let mut out = HashMap::new();
    for e in store.journal_for_plan(digest)? {
        if e.entry.action == crate::APPROVE_ACTION {
            continue;
        }
        out.insert(e.entry.step, e.entry.phase);
    }
    Ok(out)
}

/// Applies an admitted plan (see [`crate::plan::admit`]); the store receives the journal.
pub async fn apply(
    ctx: Ctx,
    store: Store,
    plan: Plan,
    opts: ApplyOptions,
) -> Result<(ApplyReport, Store), ActError> {
    let last_phase = last_phases(&store, &plan.digest)?;
    let shared = Arc::new(Shared {
        ctx,
        store: Mutex::new(store),
        apply_id: uuid::Uuid::new_v4().to_string(),
        plan,
        opts,
        changes: AtomicUsize::new(0),
        last_phase,
    });
    // One lane per resource, lanes in parallel.
    let mut lanes: BTreeMap<String, Vec<usize>> = BTreeMap::new();
    for (i, s) in shared.plan.steps.iter().enumerate() {
        lanes.entry(s.target.lane()).or_default().push(i);
    }
    let concurrency = shared.opts.concurrency.max(1);
    let results: Vec<Vec<(usize, StepResult)>> =
        futures::stream::iter(lanes.into_values().map(|idx| {
            let shared = shared.clone();
            async move {
                let mut out = Vec::new();
                for i in idx {
                    let step = &shared.plan.steps[i];
                    let r = run_step(&shared, step).await;
                    out.push((i, r));
                }
                out
            }
        }))
        .buffer_unordered(concurrency)
        .collect()
        .await;
    let mut flat: Vec<(usize, StepResult)> = results.into_iter().flatten().collect();
    flat.sort_by_key(|(i, _)| *i);
    let report = ApplyReport {
        apply_id: shared.apply_id.clone(),
        plan_id: shared.plan.id.clone(),
        plan_digest: shared.plan.digest.clone(),
        steps: flat.into_iter().map(|(_, r)| r).collect(),
    };
    let shared = Arc::try_unwrap(shared)
        .map_err(|_| ActError::Invalid("apply tasks still hold the store".into()))?;
    let store = shared
        .store
        .into_inner()
        .map_err(|_| ActError::Invalid("the store lock was poisoned".into()))?;
    Ok((report, store))
}

async fn run_step(shared: &Shared, step: &Step) -> StepResult {
    let mut r = StepResult {
        index: step.index,
        action: step.action.clone(),
        target: step.target.to_string(),
        outcome: StepOutcome::Failed,
        detail: String::new(),
    };
    match step_inner(shared, step).await {
        Ok((o, d)) => {
            r.outcome = o;
            r.detail = d;
        }
        Err(e) => {
            r.detail = e.to_string();
            let _ = shared.journal(step, JournalPhase::Failed, None, None, None, &r.detail);
        }
    }
    tracing::info!(step = step.index, action = %step.action, target = %step.target, outcome = r.outcome.as_str(), "step");
    r
}

/// Reads the target, waiting while a lifecycle operation runs on it.
async fn settled_read(shared: &Shared, step: &Step) -> Result<Observed, ActError> {
    let started = tokio::time::Instant::now();
    loop {
        let o = actions::read(&shared.ctx, step).await?;
        if !o.busy {
            return Ok(o);
        }
        if started.elapsed() >= shared.opts.busy_wait {
            return Err(ActError::Invalid(format!(
                "{} is still busy with a lifecycle operation after {} s; run apply again later",
                step.target,
                shared.opts.busy_wait.as_secs()
            )));
        }
        tokio::time::sleep(shared.opts.busy_poll).await;
    }
}

async fn step_inner(shared: &Shared, step: &Step) -> Result<(StepOutcome, String), ActError> {
    let last = shared.last_phase.get(&step.index).copied();
    if last == Some(JournalPhase::Done) {
        return Ok((
            StepOutcome::AlreadyDone,
            "journaled as done by an earlier apply of this plan".into(),
        ));
    }
    let before = settled_read(shared, step).await?;
    if same(&before.state, &step.change) {
        let why = if last == Some(JournalPhase::Started) {
            "the write of an interrupted apply took effect; journaled as done, not repeated"
        } else {
            "already in the desired state; nothing written"
        };
        let phase = if last == Some(JournalPhase::Started) {
            JournalPhase::Done
        } else {
            JournalPhase::Skipped
        };
        shared.journal(
            step,
            phase,
            None,
            Some(before.state.clone()),
            Some(before.state),
            why,
        )?;
        let outcome = if phase == JournalPhase::Done {
            StepOutcome::Applied
        } else {
            StepOutcome::AlreadyInDesiredState
        };
        return Ok((outcome, why.into()));
    }
    if !same(&before.state, &step.expected) {
        let why = format!(
            "drifted since the plan: expected {}, found {}; skipped",
            step.expected, before.state
        );
        shared.journal(
            step,
            JournalPhase::Skipped,
            None,
            Some(before.state),
            None,
            &why,
        )?;
        return Ok((StepOutcome::Drifted, why));
    }
    if let Some(max) = shared.opts.max_changes
        && shared.changes.fetch_add(1, Ordering::SeqCst) >= max
    {
        {
            let why = format!("not written: --max-changes {max} reached");
            shared.journal(
                step,
                JournalPhase::Skipped,
                None,
                Some(before.state),
                None,
                &why,
            )?;
            return Ok((StepOutcome::Capped, why));
        }
    }
    shared.journal(
        step,
        JournalPhase::Started,
        None,
        Some(before.state.clone()),
        None,
        "writing",
    )?;
    let request_id = match actions::write(&shared.ctx, step, &before).await {
        Ok(id) => id,
        Err(e) => {
            let after = actions::read(&shared.ctx, step).await.ok().map(|o| o.state);
            let why = format!("write failed: {e}");
            shared.journal(
                step,
                JournalPhase::Failed,
                None,
                Some(before.state),
                after,
                &why,
            )?;
            return Ok((StepOutcome::Failed, why));
        }
    };
    let after = settled_read(shared, step).await?;
    if same(&after.state, &step.change) {
        shared.journal(
            step,
            JournalPhase::Done,
            Some(request_id),
            Some(before.state),
            Some(after.state),
            "applied and verified",
        )?;
        Ok((StepOutcome::Applied, "applied and verified".into()))
    } else {
        let why = format!(
            "written, but the target reads {} instead of {}",
            after.state, step.change
        );
        shared.journal(
            step,
            JournalPhase::Failed,
            Some(request_id),
            Some(before.state),
            Some(after.state),
            &why,
        )?;
        Ok((StepOutcome::Failed, why))
    }
}
