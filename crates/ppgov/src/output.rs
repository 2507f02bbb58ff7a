//! Where things go: results to stdout, logs and progress to stderr, errors with `hint:` lines.

use crate::cli::{Cli, LogFormat};
use std::io::IsTerminal;
use tracing_subscriber::EnvFilter;

/// Sets up `tracing` on stderr: `RUST_LOG` wins, else `-v` levels; nothing but errors with `--quiet`.
pub fn init_logging(cli: &Cli) {
    let default = if cli.quiet {
        "error"
    } else {
        match cli.verbose {
            0 => "warn",
            1 => "info",
            2 => "debug",
            _ => "trace",
        }
    };
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(default));
    let color = std::env::var_os("NO_COLOR").is_none() && std::io::stderr().is_terminal();
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_target(false);
    // A second initialisation (tests running main twice) is harmless; ignore its error.
    let _ = match cli.log_format {
        LogFormat::Json => builder.json().try_init(),
        LogFormat::Text => builder.with_ansi(color).try_init(),
    };
}

/// Prints an error chain and any hints on stderr.
pub fn print_error(err: &anyhow::Error) {
    eprintln!("error: {err}");
    for cause in err.chain().skip(1) {
        eprintln!("  caused by: {cause}");
    }
}

/// True when progress bars may be drawn (stderr is a terminal and not quiet).
pub fn interactive(quiet: bool) -> bool {
    !quiet && std::io::stderr().is_terminal()
}

/// The width of the terminal stdout is, when it is one (tables wrap to fit it); `None` for pipes
/// and files, which get every cell in full.
pub fn terminal_width() -> Option<u16> {
    if !std::io::stdout().is_terminal() {
        return None;
    }
    comfy_table::Table::new().width()
}
