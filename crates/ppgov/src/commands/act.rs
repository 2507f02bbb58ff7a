//! `ppgov plan|apply|journal|revert|roles|elevate`: wiring of `ppgov-act`.

use crate::cli_act::{
    ApplyArgs, ElevateArgs, JournalCommand, PlanArgs, PlanCommand, PlanFormat, RevertArgs,
    RolesRemoveArgs,
};
use crate::commands::Outcome;
use anyhow::{Context as _, bail};
use ppgov_act::{Admission, ApplyOptions, Ctx, Identity, Plan, planner};
use ppgov_config::Config;
use std::io::IsTerminal;
use std::path::PathBuf;

struct Session {
    config: Config,
    conn: super::context::Connection,
}

fn session(file: Option<PathBuf>) -> anyhow::Result<Session> {
    let config = super::context::config(file)?;
    let conn = super::context::connect(&config, Default::default())?;
    Ok(Session { config, conn })
}

impl Session {
    fn ctx(&self) -> Ctx {
        Ctx::new(self.conn.clients.clone())
    }

    async fn me(&self) -> anyhow::Result<Identity> {
        let scope = self.config.endpoints().scopes.powerapps.clone();
        Ok(ppgov_act::whoami(self.conn.tokens.as_ref(), &scope).await?)
    }
}

fn print_notes(notes: &[String]) {
    for n in notes {
        eprintln!("note: {n}");
    }
}

pub async fn plan(file: Option<PathBuf>, args: PlanArgs) -> anyhow::Result<Outcome> {
    match args.command {
        Some(PlanCommand::Show { file: plan, format }) => return show(&plan, format),
        Some(PlanCommand::Approve { file: plan }) => return approve(file, &plan).await,
        None => {}
    }
    if args.list_actions {
        for m in ppgov_act::catalogue() {
            println!(
                "{}  {}{}\n    resource: {}\n    preconditions: {}\n    permissions: {}\n    verification: {}\n    undo: {}",
                m.id,
                m.title,
                if m.plannable {
                    ""
                } else {
                    "  (declared; not plannable in this build)"
                },
                m.resource,
                m.preconditions.join("; "),
                m.permissions.join("; "),
                m.verification,
                m.undo_text
            );
        }
        return Ok(Outcome::Clean);
    }
    let s = session(file.clone())?;
    let ctx = s.ctx();
    let tenant = s.config.tenant.id.clone();
    let cfg = &s.config.remediation;
    let (planned, source) = if args.from_scan {
        let store = super::context::snapshots(&s.config)?;
        let snapshot = super::context::latest(store.as_ref(), &tenant)?;
        // Judged as `ppgov scan` judges it: a finding suppressed in the console is not planned.
        let records = super::context::records(&s.config)?;
        let posture = ppgov_serve::judging_posture(&s.config, records.as_ref())?;
        let report = super::scan::evaluate(&snapshot, &posture, None)?;
        let p = planner::from_findings(&ctx, cfg, &tenant, &report.findings, &args.rules).await?;
        let src = if args.rules.is_empty() {
            format!("--from-scan (snapshot {})", snapshot.id)
        } else {
            format!(
                "--from-scan --rule {} (snapshot {})",
                args.rules.join(","),
                snapshot.id
            )
        };
        (p, src)
    } else if let Some(preset) = &args.preset {
        if preset != "lockdown-default-env" {
            bail!("unknown preset `{preset}`; hint: lockdown-default-env");
        }
        (
            planner::lockdown_default_env(
                &ctx,
                cfg,
                &tenant,
                planner::LockdownInputs {
                    core: &s.config.posture.connectors.default_env_core,
                    max_share_users: s.config.posture.thresholds.developer_env_max_share_users,
                },
            )
            .await?,
            format!("--preset {preset}"),
        )
    } else if let Some(file) = &args.desired {
        let desired = ppgov_config::desired::load(file)?;
        let source = format!("--desired {}", file.display());
        (
            ppgov_act::desired::from_desired(&ctx, &tenant, &desired, &file.display().to_string())
                .await?,
            source,
        )
    } else if let (Some(action), Some(target)) = (&args.action, &args.target) {
        (
            planner::single(&ctx, cfg, &tenant, action, target, args.value.as_deref()).await?,
            format!("--action {action} --target {target}"),
        )
    } else {
        bail!(
            "say what to plan: --from-scan, --preset NAME, --desired FILE or --action ID --target T; hint: `ppgov plan --list-actions`"
        );
    };
    print_notes(&planned.notes);
    let me = s.me().await?;
    let plan = Plan::new(&tenant, me, &source, planned.steps)?;
    plan.write(&args.out)?;
    eprintln!(
        "wrote {} with {} step(s); review with `ppgov plan show {}`",
        args.out.display(),
        plan.steps.len(),
        args.out.display()
    );
    Ok(Outcome::Clean)
}

fn show(path: &std::path::Path, format: PlanFormat) -> anyhow::Result<Outcome> {
    let plan = Plan::read(path)?;
    let text = match format {
        PlanFormat::Table => ppgov_act::render::table(&plan),
        PlanFormat::Md => ppgov_act::render::markdown(&plan),
        PlanFormat::Json => plan.to_json()?,
    };
    println!("{text}");
    Ok(Outcome::Clean)
}

async fn approve(file: Option<PathBuf>, path: &std::path::Path) -> anyhow::Result<Outcome> {
    let mut plan = Plan::read(path)?;
    let s = session(file)?;
    if !plan.tenant_id.eq_ignore_ascii_case(&s.config.tenant.id) {
        return Err(ppgov_act::ActError::OtherTenant {
            plan: plan.tenant_id.clone(),
            configured: s.config.tenant.id.clone(),
        }
        .into());
    }
    let me = s.me().await?;
    let mut store = super::context::records(&s.config)?;
    let a = ppgov_act::approve(store.as_mut(), &mut plan, &me)?;
    plan.write(path)?;
    println!(
        "approved plan {} (digest {}) as {}",
        plan.id, a.digest, a.approver
    );
    Ok(Outcome::Clean)
}

fn confirm(plan: &Plan, yes: bool) -> anyhow::Result<()> {
    if yes {
        return Ok(());
    }
    if !std::io::stdin().is_terminal() {
        bail!(
            "apply changes the tenant and asks first; not on a terminal, so pass --yes after reviewing the plan"
        );
    }
    eprintln!("{}", ppgov_act::render::table(plan));
    eprint!(
        "apply these {} change(s) to tenant {}? type yes: ",
        plan.steps.len(),
        plan.tenant_id
    );
    let mut line = String::new();
    std::io::stdin().read_line(&mut line)?;
    if line.trim() != "yes" {
        bail!("not applied");
    }
    Ok(())
}

async fn run_apply(
    s: &Session,
    plan: Plan,
    opts: ApplyOptions,
) -> anyhow::Result<ppgov_act::ApplyReport> {
    let store = super::context::records(&s.config)?;
    let (report, _store) = ppgov_act::apply(s.ctx(), store, plan, opts).await?;
    Ok(report)
}

fn admit_in_store(
    config: &Config,
    plan: &Plan,
    now: chrono::DateTime<chrono::Utc>,
) -> anyhow::Result<()> {
    let store = super::context::records(config)?;
    let recorded = ppgov_act::recorded_approvals(store.as_ref(), plan)?;
    ppgov_act::admit(
        plan,
        &Admission {
            tenant_id: &config.tenant.id,
            max_age_hours: config.remediation.max_plan_age_hours,
            require_approval: config.remediation.require_approval,
            recorded_approvals: &recorded,
            now,
        },
    )?;
    Ok(())
}

fn print_report(report: &ppgov_act::ApplyReport, json: bool) -> anyhow::Result<()> {
    if json {
        println!("{}", serde_json::to_string_pretty(report)?);
    } else {
        print!("{}", report.to_text());
    }
    Ok(())
}

pub async fn apply(file: Option<PathBuf>, args: ApplyArgs) -> anyhow::Result<Outcome> {
    // Every refusal happens here, before any network call.
    let config = super::context::config(file.clone())?;
    let mut opts = ApplyOptions {
        concurrency: args.concurrency.unwrap_or(config.remediation.concurrency),
        max_changes: args.max_changes,
        ..Default::default()
    };
    if args.due {
        let now = chrono::Utc::now();
        // Every due plan is admitted before any network call.
        let records = super::context::records(&config)?;
        if ppgov_act::due::admitted(&config, records.as_ref(), now)?.is_empty() {
            println!("nothing due");
            return Ok(Outcome::Clean);
        }
        let s = Session {
            conn: super::context::connect(&config, Default::default())?,
            config,
        };
        opts.actor = s.me().await?.to_actor();
        let run = ppgov_act::due::run(&s.config, &s.conn.clients, opts, now, records).await?;
        for (_, report) in &run.applied {
            print_report(report, args.json)?;
        }
        if run.failed() {
            bail!("a due action failed; it stays due and runs again next time");
        }
        return Ok(Outcome::Clean);
    }
    let Some(path) = args.plan else {
        bail!("give a plan file, or --due")
    };
    let plan = Plan::read(&path)?;
    admit_in_store(&config, &plan, chrono::Utc::now())?;
    confirm(&plan, args.yes)?;
    opts.notifier = notifier_for(&config, &plan)?;
    let s = Session {
        conn: super::context::connect(&config, Default::default())?,
        config,
    };
    opts.actor = s.me().await?.to_actor();
    let report = run_apply(&s, plan, opts).await?;
    print_report(&report, args.json)?;
    if report.failed() {
        bail!(
            "at least one step failed; see above. A rerun skips the steps done and retries the others"
        );
    }
    Ok(Outcome::Clean)
}

/// The notifier, when a step tells people before it acts (PPG-ACT-009); refused before any call
/// when its sinks cannot be set up.
fn notifier_for(
    config: &Config,
    plan: &Plan,
) -> anyhow::Result<Option<std::sync::Arc<ppgov_notify::Notifier>>> {
    if !ppgov_act::tells_first(plan) {
        return Ok(None);
    }
    let n = ppgov_notify::notifier_from_config(&config.notify, &|k| std::env::var(k).ok())
        .map_err(|e| {
            anyhow::anyhow!(
                "the plan tells makers before it acts, but the notification sinks cannot be set up:\n{e}\nhint: `ppgov notify test --to ADDRESS`"
            )
        })?;
    if n.sinks().is_empty() {
        bail!(
            "the plan tells makers before it acts (PPG-ACT-009), and no notification sink is configured; add [notify.smtp] or [[notify.webhooks]] to ppgov.toml"
        );
    }
    Ok(Some(std::sync::Arc::new(n)))
}

pub fn journal(file: Option<PathBuf>, cmd: JournalCommand) -> anyhow::Result<Outcome> {
    let config = super::context::config(file)?;
    let store = super::context::records(&config)?;
    match cmd {
        JournalCommand::Show { apply, json } => {
            let entries = store.journal(apply.as_deref())?;
            if json {
                println!("{}", serde_json::to_string_pretty(&entries)?);
            } else {
                for e in entries {
                    println!(
                        "{:>5}  {}  {:<8} {}  step {}  {}  {}  by {}  apply {}  {}",
                        e.seq,
                        e.at.format("%Y-%m-%d %H:%M:%S"),
                        e.entry.phase.as_str(),
                        e.entry.action,
                        e.entry.step,
                        e.entry.target,
                        e.entry.request_id.as_deref().unwrap_or("-"),
                        e.entry.actor,
                        e.entry.apply_id,
                        e.entry.result
                    );
                }
            }
            Ok(Outcome::Clean)
        }
        JournalCommand::Verify => {
            let r = store.verify_journal()?;
            if r.breaks.is_empty() {
                println!("journal intact: {} entries, head {}", r.entries, r.head);
                return Ok(Outcome::Clean);
            }
            for b in &r.breaks {
                println!("entry {}: {}", b.seq, b.problem);
            }
            bail!(
                "the journal was tampered with: {} problem(s) found over {} entries",
                r.breaks.len(),
                r.entries
            )
        }
    }
}

pub async fn revert(file: Option<PathBuf>, args: RevertArgs) -> anyhow::Result<Outcome> {
    let s = session(file)?;
    let store = super::context::records(&s.config)?;
    let entries = store.journal(Some(&args.apply_id))?;
    if entries.is_empty() {
        bail!(
            "no journal entries for apply {}; hint: `ppgov journal show` lists applies",
            args.apply_id
        );
    }
    let planned = planner::revert_steps(&entries);
    print_notes(&planned.notes);
    let me = s.me().await?;
    let plan = Plan::new(
        &s.config.tenant.id,
        me,
        &format!("revert {}", args.apply_id),
        planned.steps,
    )?;
    plan.write(&args.out)?;
    eprintln!(
        "wrote {} with {} step(s); apply it with `ppgov apply {}`",
        args.out.display(),
        plan.steps.len(),
        args.out.display()
    );
    Ok(Outcome::Clean)
}

pub async fn roles_remove(file: Option<PathBuf>, args: RolesRemoveArgs) -> anyhow::Result<Outcome> {
    let text = std::fs::read_to_string(&args.users)
        .with_context(|| format!("cannot read {}", args.users.display()))?;
    let users = ppgov_act::roles::read_users(&text)?;
    let s = session(file)?;
    if args.out.is_none() && s.config.remediation.require_approval {
        bail!(
            "`[remediation] require_approval` is on: write the plan with --out FILE, have it approved, then `ppgov apply FILE`"
        );
    }
    let ctx = s.ctx();
    let envs =
        ppgov_act::roles::environments(&ctx, args.environment.as_deref(), args.geo.as_deref())
            .await?;
    let ppgov_act::roles::Removal {
        planned,
        logs,
        still_held,
    } = ppgov_act::roles::plan_removal(
        &ctx,
        &args.role,
        &users,
        &envs,
        &s.config.posture.break_glass_admins,
        args.force,
    )
    .await?;
    let me = s.me().await?;
    let plan = Plan::new(
        &s.config.tenant.id,
        me.clone(),
        &format!(
            "roles remove --role {:?} ({} users, {} environments)",
            args.role,
            users.len(),
            envs.len()
        ),
        planned.steps,
    )?;
    if let Some(out) = &args.out {
        plan.write(out)?;
        let written = ppgov_act::roles::write_logs(&args.log_dir, logs, &plan.steps, None)?;
        eprintln!(
            "wrote {} with {} removal(s) and {} log(s) in {}",
            out.display(),
            plan.steps.len(),
            written.len(),
            args.log_dir.display()
        );
        still_held_through_groups(&args.role, &still_held)?;
        return Ok(Outcome::Clean);
    }
    eprintln!(
        "{} removal(s) over {} environment(s)",
        plan.steps.len(),
        envs.len()
    );
    if !plan.steps.is_empty() {
        confirm(&plan, args.yes)?;
    }
    let steps = plan.steps.clone();
    let opts = ApplyOptions {
        concurrency: s.config.remediation.concurrency,
        actor: me.to_actor(),
        ..Default::default()
    };
    let report = run_apply(&s, plan, opts).await?;
    let written = ppgov_act::roles::write_logs(&args.log_dir, logs, &steps, Some(&report))?;
    print!("{}", report.to_text());
    eprintln!(
        "wrote {} log(s) in {}",
        written.len(),
        args.log_dir.display()
    );
    if report.failed() {
        bail!(
            "at least one removal failed; see the logs. Run the same command again: done removals are not repeated"
        );
    }
    still_held_through_groups(&args.role, &still_held)?;
    Ok(Outcome::Clean)
}

/// Fails when a listed user keeps the role through a group team: the removal asked for did not
/// take the role away, so the command does not report success.
fn still_held_through_groups(role: &str, still_held: &[String]) -> anyhow::Result<()> {
    if still_held.is_empty() {
        return Ok(());
    }
    for h in still_held {
        eprintln!("still {role}: {h}");
    }
    bail!(
        "{} listed user(s) still hold {role} through Microsoft Entra group teams (see above and the logs); remove them from those groups, or the role from the teams",
        still_held.len()
    )
}

fn parse_duration(s: &str) -> anyhow::Result<chrono::Duration> {
    let s = s.trim();
    let (num, unit) = s.split_at(s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len()));
    let n: i64 = num
        .parse()
        .with_context(|| format!("--for {s}: expected a number and a unit (30m, 2h, 1d)"))?;
    Ok(match unit {
        "m" | "min" => chrono::Duration::minutes(n),
        "h" | "" => chrono::Duration::hours(n),
        "d" => chrono::Duration::days(n),
        other => bail!("--for {s}: unknown unit `{other}`; use m, h or d"),
    })
}

pub async fn elevate(file: Option<PathBuf>, args: ElevateArgs) -> anyhow::Result<Outcome> {
    let config = super::context::config(file)?;
    // Refused before any call, token endpoint included.
    ppgov_act::elevate::require_delegated(config.auth.method)?;
    let until = args
        .duration
        .as_deref()
        .map(parse_duration)
        .transpose()?
        .map(|d| chrono::Utc::now() + d);
    let s = Session {
        conn: super::context::connect(&config, Default::default())?,
        config,
    };
    let me = s.me().await?;
    let mut store = super::context::records(&s.config)?;
    let e = ppgov_act::elevate::elevate(
        &s.ctx(),
        store.as_mut(),
        &s.config.tenant.id,
        &me,
        &args.environment,
        &args.api_version,
        until,
    )
    .await?;
    print_notes(&e.notes);
    println!(
        "elevated {me} to System Administrator in {} ({}); journal apply {}",
        args.environment,
        if e.outcome.codes.is_empty() {
            "empty answer".to_string()
        } else {
            e.outcome.codes.join(", ")
        },
        e.apply_id
    );
    if let (Some(id), Some(until)) = (e.due_id, until) {
        println!(
            "removal due at {} (due action {id}); run `ppgov apply --due` from cron",
            until.to_rfc3339()
        );
    }
    Ok(Outcome::Clean)
}
