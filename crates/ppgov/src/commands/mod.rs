//! One module per command: each turns parsed arguments into calls on the library crates.

mod act;
pub mod audit;
mod audit_notify;
mod auth;
mod bench;
mod config;
mod context;
mod crawl;
mod demo;
mod dlp;
mod doctor;
mod emulator;
mod evidence;
mod inventory;
pub mod notify;
mod policy;
mod rules;
mod scan;
pub mod serve;

use crate::cli::{Cli, Command};

/// What a command asks the process to exit with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Exit 0.
    Clean,
    /// Exit 1: findings at or above `--fail-on`.
    Findings,
    /// Exit 2: a gate could not be judged (`scan --fail-on` with rules in error).
    Incomplete,
}

impl From<Outcome> for std::process::ExitCode {
    fn from(o: Outcome) -> Self {
        match o {
            Outcome::Clean => std::process::ExitCode::SUCCESS,
            Outcome::Findings => std::process::ExitCode::from(1),
            Outcome::Incomplete => std::process::ExitCode::from(2),
        }
    }
}

/// Runs one command.
pub async fn run(cli: Cli) -> anyhow::Result<Outcome> {
    use crate::cli::{
        AuthCommand, ConfigCommand, DlpCommand, EmulatorCommand, PolicyCommand, SnapshotCommand,
    };
    let file = cli.config;
    context::set_flags(&cli.overrides)?;
    match cli.command {
        Command::Demo(args) => demo::run(args, cli.quiet).await,
        Command::Emulator(EmulatorCommand::Serve(args)) => emulator::serve(args).await,
        Command::Config(ConfigCommand::Validate) => config::validate(file),
        Command::Auth(AuthCommand::Test) => auth::test(file).await,
        Command::Doctor => doctor::run(file).await,
        Command::Crawl(args) => crawl::run(file, cli.quiet, args).await,
        Command::Inventory(args) => inventory::run(file, args),
        Command::Snapshot(SnapshotCommand::Export { file: target, id }) => {
            inventory::export(file, target, id)
        }
        Command::Scan(args) => scan::run(file, args),
        Command::Dlp(DlpCommand::Simulate(args)) => dlp::run(file, args),
        Command::Policy(PolicyCommand::Test { dir }) => policy::test(&dir),
        Command::Evidence(args) => evidence::run(file, args),
        Command::Bench(cmd) => bench::run(cmd).await,
        Command::Rules(args) => rules::run(args),
        Command::Audit(cmd) => audit::run(file, cmd).await,
        Command::Plan(args) => act::plan(file, args).await,
        Command::Apply(args) => act::apply(file, args).await,
        Command::Journal(cmd) => act::journal(file, cmd),
        Command::Revert(args) => act::revert(file, args).await,
        Command::Roles(crate::cli_act::RolesCommand::Remove(args)) => {
            act::roles_remove(file, args).await
        }
        Command::Elevate(args) => act::elevate(file, args).await,
        Command::Notify(cmd) => notify::run(file, cmd).await,
        Command::Serve(args) => serve::serve(file, args).await,
        Command::Jobs(cmd) => serve::jobs(file, cmd),
    }
}
