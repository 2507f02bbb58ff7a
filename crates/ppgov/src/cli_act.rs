//! Command-line definitions of remediation: `plan`, `apply`, `journal`, `revert`, `roles`,
//! `elevate`. Implementations live in `commands/act.rs`.

use clap::{Args, Subcommand, ValueEnum};
use std::path::PathBuf;

/// `ppgov plan`.
#[derive(Debug, Args)]
#[command(args_conflicts_with_subcommands = true)]
pub struct PlanArgs {
    /// Review or approve a plan file.
    #[command(subcommand)]
    pub command: Option<PlanCommand>,
    /// Plan the fixes of the latest snapshot's findings that name an action.
    #[arg(long, conflicts_with_all = ["preset", "action"])]
    pub from_scan: bool,
    /// With --from-scan: only these rules (repeatable).
    #[arg(long = "rule", value_name = "ID", requires = "from_scan")]
    pub rules: Vec<String>,
    /// A composed preset: `lockdown-default-env` (seeds 000 and 001).
    #[arg(long, value_name = "NAME", conflicts_with = "action")]
    pub preset: Option<String>,
    /// Bring the tenant to the `[desired]` state declared in FILE (tenant settings, Managed
    /// Environments, DLP policies); an unchanged tenant plans nothing.
    #[arg(long, value_name = "FILE", conflicts_with_all = ["from_scan", "preset", "action"])]
    pub desired: Option<PathBuf>,
    /// One action (`PPG-ACT-007`) on --target.
    #[arg(long, value_name = "ID", requires = "target")]
    pub action: Option<String>,
    /// The action's target: an environment, `tenant`, `ENVIRONMENT/FLOW`.
    #[arg(long, value_name = "TARGET")]
    pub target: Option<String>,
    /// The action's value: a group id (ACT-001), `enable` (ACT-007), `/pointer=VALUE` (ACT-006).
    #[arg(long, value_name = "VALUE")]
    pub value: Option<String>,
    /// Where to write the plan.
    #[arg(long, value_name = "FILE", default_value = "plan.json")]
    pub out: PathBuf,
    /// List the catalogue's actions and what each declares, then exit.
    #[arg(long)]
    pub list_actions: bool,
}

/// `ppgov plan show|approve`.
#[derive(Debug, Subcommand)]
pub enum PlanCommand {
    /// Render a plan for review.
    Show {
        /// The plan file.
        file: PathBuf,
        /// Output format.
        #[arg(long, value_enum, default_value_t = PlanFormat::Table)]
        format: PlanFormat,
    },
    /// Approve a plan as the signed-in identity (four eyes: never its author).
    Approve {
        /// The plan file (its approvals list is updated; its digest is not).
        file: PathBuf,
    },
}

/// Plan renderings.
#[derive(Debug, Clone, Copy, ValueEnum, PartialEq, Eq)]
pub enum PlanFormat {
    /// Text.
    Table,
    /// Markdown for a change ticket.
    Md,
    /// The plan's JSON.
    Json,
}

/// `ppgov apply`.
#[derive(Debug, Args)]
pub struct ApplyArgs {
    /// The plan file.
    #[arg(required_unless_present = "due")]
    pub plan: Option<PathBuf>,
    /// Carry out the actions whose time has come (an elevation's end); cron-friendly.
    #[arg(long, conflicts_with = "plan")]
    pub due: bool,
    /// Do not ask for confirmation.
    #[arg(long)]
    pub yes: bool,
    /// Write at most this many changes.
    #[arg(long, value_name = "N")]
    pub max_changes: Option<usize>,
    /// Writes at once (default `[remediation] concurrency`).
    #[arg(long)]
    pub concurrency: Option<usize>,
    /// Print the result as JSON.
    #[arg(long)]
    pub json: bool,
}

/// `ppgov journal ...`.
#[derive(Debug, Subcommand)]
pub enum JournalCommand {
    /// List journal entries.
    Show {
        /// Only this apply's.
        #[arg(long, value_name = "APPLY_ID")]
        apply: Option<String>,
        /// JSON instead of text.
        #[arg(long)]
        json: bool,
    },
    /// Check the hash chain: exits 2 when an entry was modified, deleted, inserted or moved.
    Verify,
}

/// `ppgov revert`.
#[derive(Debug, Args)]
pub struct RevertArgs {
    /// The apply to undo (from `ppgov apply` or `ppgov journal show`).
    pub apply_id: String,
    /// Where to write the undo plan.
    #[arg(long, value_name = "FILE", default_value = "revert-plan.json")]
    pub out: PathBuf,
}

/// `ppgov roles ...`.
#[derive(Debug, Subcommand)]
pub enum RolesCommand {
    /// Remove a security role from the users of a CSV, in one environment or all (seed 003).
    Remove(RolesRemoveArgs),
}

/// `ppgov roles remove`.
#[derive(Debug, Args)]
pub struct RolesRemoveArgs {
    /// The role.
    #[arg(long, default_value = "System Administrator")]
    pub role: String,
    /// CSV of user principal names, one per line.
    #[arg(long, value_name = "users.csv")]
    pub users: PathBuf,
    /// One environment: its id or its instance URL.
    #[arg(
        long,
        value_name = "URL_OR_ID",
        required_unless_present = "all_environments",
        conflicts_with = "all_environments"
    )]
    pub environment: Option<String>,
    /// Every environment.
    #[arg(long)]
    pub all_environments: bool,
    /// Only environments of this geo (NA, EMEA, ...).
    #[arg(long)]
    pub geo: Option<String>,
    /// Where the per-environment logs go (files 0600).
    #[arg(long, value_name = "DIR")]
    pub log_dir: PathBuf,
    /// Remove from break-glass users too.
    #[arg(long)]
    pub force: bool,
    /// Only write the plan here (for approval); apply it later with `ppgov apply`.
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
    /// Do not ask for confirmation.
    #[arg(long)]
    pub yes: bool,
}

/// `ppgov elevate`.
#[derive(Debug, Args)]
pub struct ElevateArgs {
    /// The environment's id.
    #[arg(long, value_name = "ID")]
    pub environment: String,
    /// Remove the role again after this long (`2h`, `30m`, `1d`), via `ppgov apply --due`.
    #[arg(long = "for", value_name = "DURATION")]
    pub duration: Option<String>,
    /// The applyAdminRole api-version.
    #[arg(long, default_value = "2022-03-01-preview")]
    pub api_version: String,
}
