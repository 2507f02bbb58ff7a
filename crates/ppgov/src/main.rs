//! The `ppgov` binary: parses arguments, sets up logging, runs one command, maps its outcome to an
//! exit code (0 clean, 1 findings at or above `--fail-on`, 2 error). No business logic lives here.

mod cli;
mod cli_act;
mod commands;
mod output;

use clap::Parser;
use std::process::ExitCode;

/// jemalloc gives freed memory back to the system; glibc's per-thread arenas hold on to it under a
/// crawl's pattern (many threads, many short-lived JSON buffers). See the README's figures.
#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

fn main() -> ExitCode {
    let cli = cli::Cli::parse();
    output::init_logging(&cli);
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::from(2);
        }
    };
    match runtime.block_on(commands::run(cli)) {
        Ok(code) => code.into(),
        Err(err) => {
            output::print_error(&err);
            ExitCode::from(2)
        }
    }
}
