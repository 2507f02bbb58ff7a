//! `ppgov apply`: re-read each target, skip what drifted, write with bounded concurrency (one
//! write at a time per resource), poll lifecycle operations, verify each effect, and journal
//! every step ("started" before the write, "done" after), so a rerun after a crash never repeats
//! a side effect.

use crate::ActError;
use crate::actions::{self, Ctx, Observed, same};
use crate::plan::{Plan, Step};
use futures::StreamExt;
use ppgov_store::{JournalEntry, JournalPhase, NewJournalEntry, Records};
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
    /// Where notices go (PPG-ACT-009 tells the maker before it acts); a step that needs a notice
    /// fails without one.
    pub notifier: Option<Arc<ppgov_notify::Notifier>>,
}

impl Default for ApplyOptions {
    fn default() -> Self {
        ApplyOptions {
            concurrency: 4,
            max_changes: None,
            actor: String::new(),
            busy_wait: Duration::from_secs(300),
            busy_poll: Duration::from_secs(2),
            notifier: None,
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
    /// The people concerned were told; the step is due after its grace period (`apply --due`).
    Noticed,
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
            StepOutcome::Noticed => "noticed",
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

pub(crate) struct Shared {
    ctx: Ctx,
    pub(crate) store: Mutex<Box<dyn Records>>,
    pub(crate) plan: Plan,
    apply_id: String,
    pub(crate) opts: ApplyOptions,
    changes: AtomicUsize,
    last_phase: HashMap<u32, JournalPhase>,
}

impl Shared {
    pub(crate) fn journal(
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

impl Shared {
    /// Asks the next crawl to read a changed app, flow or connection again in full: sharing,
    /// owners, quarantine and state change without moving `lastModifiedTime`. A mark that cannot
    /// be stored only costs freshness (the facet's maximum age still applies), so it is logged.
    fn mark_for_refresh(&self, step: &Step) {
        let kind = match step.target.kind.as_str() {
            "app" => ppgov_core::ResourceKind::App,
            "flow" => ppgov_core::ResourceKind::Flow,
            "connection" => ppgov_core::ResourceKind::Connection,
            _ => return,
        };
        let r = ppgov_core::ResourceRef {
            kind,
            id: step.target.id.clone(),
            name: step.target.name.clone(),
            environment_id: step.target.environment.clone(),
        };
        let marked = self
            .store
            .lock()
            .map_err(|_| "the store lock was poisoned".to_string())
            .and_then(|mut s| {
                s.mark_for_refresh(&[r], &format!("changed by apply {}", self.apply_id))
                    .map_err(|e| e.to_string())
            });
        if let Err(e) = marked {
            tracing::warn!(target = %step.target, error = %e, "not marked for refresh");
        }
    }
}

/// The phase each step of a plan last reached in the journal.
pub fn last_phases(
    store: &dyn Records,
    digest: &str,
) -> Result<HashMap<u32, JournalPhase>, ActError> {
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
    store: Box<dyn Records>,
    plan: Plan,
    opts: ApplyOptions,
) -> Result<(ApplyReport, Box<dyn Records>), ActError> {
    let last_phase = last_phases(store.as_ref(), &plan.digest)?;
    let shared = Arc::new(Shared {
        ctx,
        store: Mutex::new(store),
        apply_id: uuid::Uuid::new_v4().to_string(),
        plan,
        opts,
        changes: AtomicUsize::new(0),
        last_phase,
    });
    // Steps that tell people first are noticed together: one digest per recipient.
    let (pending, acting): (Vec<usize>, Vec<usize>) =
        (0..shared.plan.steps.len()).partition(|&i| crate::grace::pending(&shared.plan.steps[i]));
    let noticed = crate::grace::notice_all(&shared, &pending).await;
    // One lane per resource, lanes in parallel.
    let mut lanes: BTreeMap<String, Vec<usize>> = BTreeMap::new();
    for i in acting {
        lanes
            .entry(shared.plan.steps[i].target.lane())
            .or_default()
            .push(i);
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
    flat.extend(noticed);
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

pub(crate) fn result(step: &Step, outcome: StepOutcome, detail: String) -> StepResult {
    StepResult {
        index: step.index,
        action: step.action.clone(),
        target: step.target.to_string(),
        outcome,
        detail,
    }
}

async fn run_step(shared: &Shared, step: &Step) -> StepResult {
    let r = match step_inner(shared, step).await {
        Ok((outcome, detail)) => result(step, outcome, detail),
        Err(e) => failed_journaled(shared, step, e),
    };
    tracing::info!(step = step.index, action = %step.action, target = %step.target, outcome = r.outcome.as_str(), "step");
    r
}

/// A step that could not run: journaled as failed, with why.
pub(crate) fn failed_journaled(shared: &Shared, step: &Step, e: ActError) -> StepResult {
    let detail = e.to_string();
    let _ = shared.journal(step, JournalPhase::Failed, None, None, None, &detail);
    result(step, StepOutcome::Failed, detail)
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

/// Before a step writes: done already, in the desired state, or drifted (each journaled), or
/// ready with the target as read just now.
pub(crate) enum Pre {
    /// Nothing more to do.
    Finished(StepOutcome, String),
    /// The target is what the plan expected.
    Ready(Observed),
}

pub(crate) async fn precheck(shared: &Shared, step: &Step) -> Result<Pre, ActError> {
    let last = shared.last_phase.get(&step.index).copied();
    if last == Some(JournalPhase::Done) {
        return Ok(Pre::Finished(
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
        return Ok(Pre::Finished(outcome, why.into()));
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
        return Ok(Pre::Finished(StepOutcome::Drifted, why));
    }
    Ok(Pre::Ready(before))
}

async fn step_inner(shared: &Shared, step: &Step) -> Result<(StepOutcome, String), ActError> {
    let before = match precheck(shared, step).await? {
        Pre::Finished(o, d) => return Ok((o, d)),
        Pre::Ready(b) => b,
    };
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
        shared.mark_for_refresh(step);
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
