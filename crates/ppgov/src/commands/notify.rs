//! `ppgov notify preview|test|send`: wiring of `ppgov-notify` (sinks, templates) and
//! `ppgov_act::notices` (who is told what, PPG-ACT-013).

use crate::commands::Outcome;
use anyhow::{Context as _, bail};
use chrono::NaiveDate;
use clap::{Args, Subcommand, ValueEnum};
use ppgov_act::notices::{GraphManagers, Prepared, prepare};
use ppgov_notify::{Digest, Notifier, Templates};
use std::io::IsTerminal;
use std::path::PathBuf;

/// `ppgov notify`.
#[derive(Debug, Subcommand)]
pub enum NotifyCommand {
    /// Render the digests the latest scan would send (one per recipient), sending nothing.
    Preview(PreviewArgs),
    /// Send a test message through every configured sink and report each one's fate.
    Test(TestArgs),
    /// Send the latest scan's digests (maker, owners, IT, and managers with --managers).
    Send(SendArgs),
}

/// Which findings, and whether managers are told.
#[derive(Debug, Args)]
pub struct Selection {
    /// Only findings of these rules (repeatable).
    #[arg(long = "rule", value_name = "ID")]
    pub rules: Vec<String>,
    /// Also tell each maker's and owner's manager (Microsoft Graph `/users/{id}/manager`; signs in).
    #[arg(long)]
    pub managers: bool,
    /// The date the notice asks people to act by (YYYY-MM-DD).
    #[arg(long, value_name = "DATE")]
    pub due: Option<NaiveDate>,
}

/// `ppgov notify preview`.
#[derive(Debug, Args)]
pub struct PreviewArgs {
    #[command(flatten)]
    pub selection: Selection,
    /// Render the built-in example digest instead of a scan (no tenant, no store needed).
    #[arg(long)]
    pub sample: bool,
    /// Only this recipient's digest.
    #[arg(long, value_name = "ADDRESS")]
    pub recipient: Option<String>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = PreviewFormat::Text)]
    pub format: PreviewFormat,
}

/// How a preview is printed.
#[derive(Debug, Clone, Copy, ValueEnum, PartialEq, Eq)]
pub enum PreviewFormat {
    /// Subject and plain-text body per recipient.
    Text,
    /// Subject, text and HTML per recipient, as JSON.
    Json,
}

/// `ppgov notify test`.
#[derive(Debug, Args)]
pub struct TestArgs {
    /// Where the test e-mail goes (webhooks get a message naming it).
    #[arg(long, value_name = "ADDRESS")]
    pub to: String,
}

/// `ppgov notify send`.
#[derive(Debug, Args)]
pub struct SendArgs {
    #[command(flatten)]
    pub selection: Selection,
    /// Send without asking (after reviewing `ppgov notify preview`).
    #[arg(long)]
    pub yes: bool,
}

pub async fn run(file: Option<PathBuf>, cmd: NotifyCommand) -> anyhow::Result<Outcome> {
    match cmd {
        NotifyCommand::Preview(args) => preview(file, args).await,
        NotifyCommand::Test(args) => test(file, args).await,
        NotifyCommand::Send(args) => send(file, args).await,
    }
}

fn env_var(name: &str) -> Option<String> {
    std::env::var(name).ok()
}

/// The digests of the latest scan, with managers when asked (which signs in).
async fn from_scan(file: Option<PathBuf>, sel: &Selection) -> anyhow::Result<Prepared> {
    let config = super::context::config(file)?;
    let store = super::context::snapshots(&config)?;
    let snapshot = super::context::latest(store.as_ref(), &config.tenant.id)?;
    // Judged as `ppgov scan` judges it: nobody is told about a finding suppressed in the console.
    let records = super::context::records(&config)?;
    let posture = ppgov_serve::judging_posture(&config, records.as_ref())?;
    let report = super::scan::evaluate(&snapshot, &posture, None)?;
    let conn = if sel.managers {
        Some(super::context::connect(&config, Default::default())?)
    } else {
        None
    };
    let managers = conn.as_ref().map(|c| GraphManagers(&c.clients.graph));
    let prepared = prepare(
        &snapshot,
        &report.findings,
        &sel.rules,
        &config.notify,
        managers,
        sel.due,
    )
    .await;
    for r in &prepared.unaddressed {
        eprintln!(
            "note: {} {} ({}) has no maker or owner with a known address; only IT is told",
            r.kind.as_str(),
            r.id,
            r.name
        );
    }
    for f in &prepared.lookup_failures {
        eprintln!("warning: no manager notice for {}: {}", f.user, f.reason);
    }
    Ok(prepared)
}

async fn preview(file: Option<PathBuf>, args: PreviewArgs) -> anyhow::Result<Outcome> {
    let notify = ppgov_config::notify(&super::context::sources(file.clone()))?;
    let templates = Templates::load(notify.templates_dir.as_deref())?;
    let mut digests: Vec<Digest> = if args.sample {
        vec![ppgov_notify::sample_digest()]
    } else {
        from_scan(file, &args.selection).await?.digests
    };
    if let Some(r) = &args.recipient {
        let want = ppgov_notify::normalise_address(r);
        digests.retain(|d| ppgov_notify::normalise_address(&d.recipient) == want);
    }
    let mut json = Vec::new();
    for d in &digests {
        let r = templates
            .render(d)
            .with_context(|| format!("rendering the digest for {}", d.recipient))?;
        let roles: Vec<&str> = d.roles.iter().map(|r| r.as_str()).collect();
        match args.format {
            PreviewFormat::Text => {
                println!(
                    "=== to {} ({}), {} finding(s)\nSubject: {}\n\n{}\n",
                    d.recipient,
                    roles.join(", "),
                    d.finding_count(),
                    r.subject,
                    r.text.trim_end()
                );
            }
            PreviewFormat::Json => json.push(serde_json::json!({
                "recipient": d.recipient,
                "roles": roles,
                "findings": d.finding_count(),
                "subject": r.subject,
                "text": r.text,
                "html": r.html,
            })),
        }
    }
    match args.format {
        PreviewFormat::Json => println!("{}", serde_json::to_string_pretty(&json)?),
        PreviewFormat::Text => eprintln!("{} digest(s); nothing was sent", digests.len()),
    }
    Ok(Outcome::Clean)
}

async fn test(file: Option<PathBuf>, args: TestArgs) -> anyhow::Result<Outcome> {
    let notify = ppgov_config::notify(&super::context::sources(file))?;
    let (notifier, problems) = ppgov_notify::notifier_lenient(&notify, &env_var)?;
    for p in &problems {
        eprintln!("not set up: {p}");
    }
    if notifier.sinks().is_empty() && problems.is_empty() {
        bail!(
            "no notification sink is configured; add [notify.smtp] or [[notify.webhooks]] to ppgov.toml"
        );
    }
    let outcomes = notifier.send_test(&args.to).await;
    let failed = report(&outcomes);
    if failed > 0 || !problems.is_empty() {
        bail!(
            "{} sink(s) failed and {} could not be set up; see above",
            failed,
            problems.len()
        );
    }
    Ok(Outcome::Clean)
}

async fn send(file: Option<PathBuf>, args: SendArgs) -> anyhow::Result<Outcome> {
    let config = super::context::config(file.clone())?;
    let notifier: Notifier =
        ppgov_notify::notifier_from_config(&config.notify, &env_var).map_err(|e| {
            anyhow::anyhow!("{e}\nhint: `ppgov notify test --to ADDRESS` checks each sink")
        })?;
    if notifier.sinks().is_empty() {
        bail!(
            "no notification sink is configured; add [notify.smtp] or [[notify.webhooks]] to ppgov.toml"
        );
    }
    let prepared = from_scan(file, &args.selection).await?;
    if prepared.digests.is_empty() {
        eprintln!("nothing to send: no finding has a recipient");
        return Ok(Outcome::Clean);
    }
    if !args.yes {
        if !std::io::stdin().is_terminal() {
            bail!(
                "notify send e-mails people and asks first; not on a terminal, so pass --yes after `ppgov notify preview`"
            );
        }
        eprint!(
            "send {} digest(s) through {} sink(s)? type yes: ",
            prepared.digests.len(),
            notifier.sinks().len()
        );
        let mut line = String::new();
        std::io::stdin().read_line(&mut line)?;
        if line.trim() != "yes" {
            bail!("not sent");
        }
    }
    let outcomes = notifier.send_all(&prepared.digests).await;
    let failed = report(&outcomes);
    if failed > 0 {
        bail!(
            "{failed} of {} deliveries failed; see above",
            outcomes.len()
        );
    }
    Ok(Outcome::Clean)
}

/// Prints one line per delivery; returns how many failed.
fn report(outcomes: &[ppgov_notify::Outcome]) -> usize {
    let mut failed = 0;
    for o in outcomes {
        match &o.result {
            Ok(d) => println!(
                "sent      {} via {} ({} attempt(s))",
                o.recipient, o.sink, d.attempts
            ),
            Err(e) => {
                failed += 1;
                println!("FAILED    {} via {}: {e}", o.recipient, o.sink);
            }
        }
    }
    failed
}
